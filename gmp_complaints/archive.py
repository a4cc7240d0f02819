"""The archive package of a closed complaint (SOP §8): one zip with the printed records, the original
attachments, the complaint's verifiable audit bundle and a manifest listing the SHA-256 of every file,
signed by the site key. ``gmp archive verify FILE.zip`` checks it offline, without the database.

The same data, print time and audit anchor give the same bytes: members are written in name order
with fixed timestamps, and the print time and anchor are stated in the manifest.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ARCHIVE_FORMAT = "gmp-complaint-archive/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
KEYS = "keys.json"
AUDIT_BUNDLE = "audit/audit-bundle.zip"
#: the manifest's ``personal_data``: the package as the people who talk to the complainant see it, or as every
#: other reader sees it (SEC-11); a package made before the two variants existed has no such key and is clear
CLEAR = "clear"
MASKED = "masked"


#: the longest file name kept in an entry name (characters, extension included): well under the 255 bytes a file
#: system allows, once the UTF-8 of Chinese text (3 bytes a character) and the record's prefix are added
ENTRY_NAME_LENGTH = 80
#: characters no entry name keeps: path separators, what Windows refuses in a file name, control characters
_REFUSED_IN_NAMES = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


def entry_name(filename: str) -> str:
    """An uploaded file's name as the last part of a zip entry name: never a path (no folder, drive, "..", leading
    dot, control character or character Windows refuses), at most ``ENTRY_NAME_LENGTH`` characters with its
    extension kept, never empty. The caller prefixes the record's id, which keeps entry names unique."""
    name = _REFUSED_IN_NAMES.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = name.strip(" .") or "file"
    if len(name) > ENTRY_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        extension = dot + extension if dot and stem and len(extension) <= 16 else ""
        name = name[:ENTRY_NAME_LENGTH - len(extension)].rstrip(" .") + extension
    return name


def pack(files: dict[str, bytes]) -> bytes:
    from audit.export import deterministic_zip

    return deterministic_zip(files)


def manifest_for(files: dict[str, bytes], about: dict) -> bytes:
    """The manifest: what the package is about and the SHA-256 of every file in it."""
    manifest = {"format": ARCHIVE_FORMAT, **about,
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}}
    return json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False).encode()


def signature_for(manifest: bytes, signer) -> bytes:
    """The site key's Ed25519 signature over the manifest, with the key's id (``audit.keys.Signer``)."""
    return json.dumps({"key_id": signer.key_id.hex(), "name": signer.name,
                       "signature": base64.b64encode(signer.sign_bytes(manifest)).decode()}, indent=1).encode()


@dataclass
class ArchiveReport:
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    audit_events: int = 0
    personal_data: str = CLEAR

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_archive(data: bytes, trusted_keys: list[dict] | None = None) -> ArchiveReport:
    """Offline check: every file against the manifest, the manifest against the site key, and the audit
    bundle inside with the audit verifier. ``trusted_keys`` (a ``keys.json`` obtained separately)
    guards against a package whose keys were replaced along with its content."""
    from audit.verify import verify_bundle

    report = ArchiveReport()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, KeyError) as exc:
        report.problems.append(f"not a readable zip: {exc}")
        return report
    if MANIFEST not in members or SIGNATURE not in members or KEYS not in members:
        report.problems.append("manifest.json, manifest.sig or keys.json is missing")
        return report
    manifest = json.loads(members[MANIFEST])
    if manifest.get("format") != ARCHIVE_FORMAT:
        report.problems.append(f"unknown format {manifest.get('format')!r}")
        return report
    report.personal_data = manifest.get("personal_data", CLEAR)
    if report.personal_data not in (CLEAR, MASKED):
        report.problems.append(f"unknown personal_data {report.personal_data!r}")
    listed = manifest.get("files", {})
    for name in sorted(set(members) - {MANIFEST, SIGNATURE}):
        if name not in listed:
            report.problems.append(f"{name}: not listed in the manifest")
    for name, digest in sorted(listed.items()):
        if name not in members:
            report.problems.append(f"{name}: listed but missing")
        elif hashlib.sha256(members[name]).hexdigest() != digest:
            report.problems.append(f"{name}: SHA-256 differs from the manifest")
        else:
            report.files_checked += 1
    keys = trusted_keys if trusted_keys is not None else json.loads(members[KEYS])
    signature = json.loads(members[SIGNATURE])
    candidates = [k for k in keys if k.get("key_id") == signature.get("key_id")]
    if not candidates:
        report.problems.append(f"manifest signed by unknown key {signature.get('key_id')}")
    else:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(candidates[0]["public_key"]))
        try:
            public.verify(base64.b64decode(signature["signature"]), members[MANIFEST])
        except (InvalidSignature, ValueError):
            report.problems.append("the manifest signature does not verify")
    if AUDIT_BUNDLE in members:
        bundle = verify_bundle(members[AUDIT_BUNDLE], trusted_keys=keys)
        report.audit_events = bundle.events
        report.problems += [f"audit bundle: {problem}" for problem in bundle.problems]
    else:
        report.problems.append(f"{AUDIT_BUNDLE} is missing")
    return report

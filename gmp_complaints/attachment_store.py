"""Complaint attachments: what may be uploaded, and a content-addressed store that keeps files as received.

REC-03: attachments are stored read-only at registration with their SHA-256 recorded. A file's name in the store
*is* its SHA-256, so the hash kept on the complaint both finds the file and proves it unchanged; every read
checks it. RET-03: ``ContentStore.verify_all`` re-hashes the whole store for the periodic integrity job.

Uploads are checked against an allow-list: the content's magic bytes decide the type and the file name's
extension has to agree, so a renamed executable or web page never gets in. Standard library only.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

MiB = 1024 * 1024
FIELD = "file"

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
TIFF = "image/tiff"
TEXT = "text/plain"
CSV = "text/csv"
JCAMP = "chemical/x-jcamp-dx"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AttachmentRejected(ValueError):
    """An upload that is not accepted. ``fields`` is ready for the API's error shape (``{"file": [reason]}``)."""

    field = FIELD
    too_large = "too_large"
    empty = "empty"
    not_allowed = "type_not_allowed"
    mismatch = "extension_mismatch"

    def __init__(self, code: str, reason: str):
        super().__init__(f"{FIELD}: {reason}")
        self.code = code
        self.reason = reason
        self.fields = {FIELD: [reason]}


class StoredFileCorrupted(Exception):
    """A stored file no longer has the SHA-256 it is stored under: an integrity incident to investigate."""

    def __init__(self, sha256: str, actual: str):
        super().__init__(f"Stored file {sha256} is corrupted: its content now hashes to {actual}.")
        self.sha256 = sha256
        self.actual = actual


class StoredFileMissing(FileNotFoundError):
    """No file is stored under this SHA-256."""


# --- what may be uploaded ------------------------------------------------------------------------------------


class FileType(NamedTuple):
    """An allowed type: the file-name extensions it may carry (lower case, with the dot) and its content test."""

    extensions: frozenset[str]
    matches: Callable[[bytes], bool]


_EXECUTABLE_SIGNATURES = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                          b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_BINARY_SIGNATURES = (b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00",
                      b"MM\x00*", b"PK\x03\x04") + _EXECUTABLE_SIGNATURES
# A text that opens with a tag or a processing instruction is markup (HTML, SVG, XML), which a browser may run.
_MARKUP_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<[!?a-zA-Z]")
# Control characters other than tab, line feed, vertical tab, form feed and carriage return mean binary content.
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")


def _is_text(data: bytes) -> bool:
    """UTF-8 text (a BOM allowed) without NUL or other control characters, and neither markup nor a binary format."""
    if data.startswith(_BINARY_SIGNATURES) or _CONTROL.search(data) or _MARKUP_START.match(data):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_jcamp(data: bytes) -> bool:
    # JCAMP-DX is labelled text: its first record is "##TITLE=".
    return _is_text(data) and data.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"##")


def _is_office(marker: str) -> Callable[[bytes], bool]:
    """An Office Open XML package: a zip with ``[Content_Types].xml`` and the part that names its kind.

    Only the zip's directory is read (nothing is decompressed), so a zip bomb costs nothing here.
    """
    def matches(data: bytes) -> bool:
        if not data.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError):
            return False
        return "[Content_Types].xml" in names and marker in names
    return matches


DEFAULT_ALLOWED: dict[str, FileType] = {
    PDF: FileType(frozenset({".pdf"}), lambda data: data.startswith(b"%PDF-")),
    PNG: FileType(frozenset({".png"}), lambda data: data.startswith(b"\x89PNG\r\n\x1a\n")),
    JPEG: FileType(frozenset({".jpg", ".jpeg"}), lambda data: data.startswith(b"\xff\xd8\xff")),
    GIF: FileType(frozenset({".gif"}), lambda data: data.startswith((b"GIF87a", b"GIF89a"))),
    TIFF: FileType(frozenset({".tif", ".tiff"}), lambda data: data.startswith((b"II*\x00", b"MM\x00*"))),
    DOCX: FileType(frozenset({".docx"}), _is_office("word/document.xml")),
    XLSX: FileType(frozenset({".xlsx"}), _is_office("xl/workbook.xml")),
    TEXT: FileType(frozenset({".txt"}), _is_text),
    CSV: FileType(frozenset({".csv"}), _is_text),
    JCAMP: FileType(frozenset({".jdx", ".dx", ".jcamp"}), _is_jcamp),
}


def _extension(filename: str) -> str:
    # Browsers on Windows may send the whole client path; only the last component counts.
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    stem, dot, extension = name.rpartition(".")
    return f".{extension.lower()}" if dot and stem else ""


class AttachmentPolicy:
    """Which uploads are accepted: at most ``max_bytes`` (default 20 MiB), of a type in ``allowed``.

    ``allowed`` maps a media type to the extensions it may carry and a test of its content (magic bytes).
    Both have to agree: the content decides what the file is, and its name must say the same.
    """

    def __init__(self, max_bytes: int = 20 * MiB, allowed: dict[str, FileType] | None = None):
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self.max_bytes = max_bytes
        self.allowed = dict(DEFAULT_ALLOWED if allowed is None else allowed)

    def check_upload(self, filename: str, data: bytes) -> str:
        """The media type of an acceptable upload; otherwise ``AttachmentRejected`` saying why."""
        if not data:
            raise AttachmentRejected(AttachmentRejected.empty, "The file is empty.")
        if len(data) > self.max_bytes:
            raise AttachmentRejected(
                AttachmentRejected.too_large,
                f"The file is too large ({_size(len(data))}); the limit is {_size(self.max_bytes)}.")
        if data.startswith(_EXECUTABLE_SIGNATURES):
            raise AttachmentRejected(AttachmentRejected.not_allowed, "Programs (executable files) are not accepted.")
        if _MARKUP_START.match(data):
            raise AttachmentRejected(AttachmentRejected.not_allowed,
                                     "Web pages, SVG images and other markup files are not accepted.")

        extension = _extension(filename)
        detected = [media_type for media_type, kind in self.allowed.items() if kind.matches(data)]
        for media_type in detected:
            if extension in self.allowed[media_type].extensions:
                return media_type

        if not any(extension in kind.extensions for kind in self.allowed.values()):
            shown = extension or "(no extension)"
            raise AttachmentRejected(
                AttachmentRejected.not_allowed,
                f"Files of type {shown} are not accepted; allowed: {self.allowed_extensions()}.")
        if detected:
            raise AttachmentRejected(
                AttachmentRejected.mismatch,
                f"The extension {extension} does not match the content, which is {detected[0]}.")
        raise AttachmentRejected(
            AttachmentRejected.mismatch,
            f"The extension {extension} does not match the content, which is not an accepted type.")

    def allowed_extensions(self) -> str:
        return ", ".join(sorted({e for kind in self.allowed.values() for e in kind.extensions}))


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"


def check_upload(filename: str, data: bytes, policy: AttachmentPolicy | None = None) -> str:
    """``AttachmentPolicy.check_upload`` with the default policy unless one is given."""
    return (policy or AttachmentPolicy()).check_upload(filename, data)


# --- the store -----------------------------------------------------------------------------------------------

_SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")
_CHUNK = 1024 * 1024


class ContentStore:
    """Files kept under their SHA-256 at ``root/ab/cd/<sha256>``, read-only (mode 0440), written once.

    Equal content is stored once. There is deliberately no delete method: nothing of a complaint may be deleted
    before its retention date (DESIGN §2, Retention), and disposal after it is a signed act with its own audit
    trail, to be built as such; it will not be a plain file removal.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256 (hex).

        Idempotent: when the content is already stored, the existing file is checked against its hash and kept.
        A file that fails the check raises ``StoredFileCorrupted`` rather than being silently replaced: the
        damaged file is evidence of an integrity incident.
        """
        sha256 = hashlib.sha256(data).hexdigest()
        path = self._path(sha256)
        if path.exists():
            self._verify(path, sha256)
            return sha256
        path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        # Written under a temporary name and renamed: a reader never sees a half-written file under a hash.
        temporary = path.with_name(f".{sha256}.{secrets.token_hex(8)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o440)  # explicit: the mode given to os.open is narrowed by the umask only
            # Two uploads of the same content may race here; both write identical bytes, so either may win.
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_directory(path.parent)
        return sha256

    def open(self, sha256: str) -> bytes:
        """The stored content, checked against its hash (``StoredFileCorrupted`` if it differs)."""
        path = self._path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoredFileMissing(f"No stored file has the SHA-256 {sha256}.") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise StoredFileCorrupted(sha256, actual)
        return data

    def remove(self, sha256: str) -> bool:
        """Remove a stored file: only a signed disposal after the retention date does this. True when one was."""
        path = self._path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def verify_all(self, expected: Iterable[str] = ()) -> list[str]:
        """The hashes that fail, sorted: stored files whose content no longer matches their name or cannot be read,
        and hashes listed in ``expected`` (those the database refers to) that are not stored at all."""
        failing = set()
        for path in self.root.glob("??/??/*"):
            sha256 = path.name
            if not _SHA256.match(sha256) or path.parent.parent.name + path.parent.name != sha256[:4]:
                continue  # temporary files of a write in progress, or not ours
            try:
                if _file_sha256(path) != sha256:
                    failing.add(sha256)
            except OSError:
                failing.add(sha256)  # unreadable counts as failing (RET-03: accessibility and readability)
        failing.update(sha256 for sha256 in expected if not self.exists(sha256))
        return sorted(failing)

    def _path(self, sha256: str) -> Path:
        # The hash becomes a path: accept nothing but 64 lower-case hex digits (no "../", no other names).
        if not isinstance(sha256, str) or not _SHA256.match(sha256):
            raise ValueError(f"Not a SHA-256 in lower-case hex: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def _verify(self, path: Path, sha256: str) -> None:
        actual = _file_sha256(path)
        if actual != sha256:
            raise StoredFileCorrupted(sha256, actual)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    # The file is durable only once the directory entry that names it is.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

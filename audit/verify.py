#!/usr/bin/env python3
"""Offline verification of an audit-trail export bundle — and the primitives it rests on.

This file stands alone: it needs only the Python standard library and ``cryptography``, so an
inspector can copy it and run ``python verify.py BUNDLE.zip [--trusted-keys keys.json]`` with no
database and no application. The application imports its primitives from here (canonical JSON,
RFC 6962 hashing, compact ranges, proof checks, C2SP signed notes), so the writer and the verifier
share one definition of each.

Bundle layout (zip):
  manifest.json        format, scope, counts, SHA-256 of every other file
  events.jsonl         one event per line, the exact canonical bytes that were sealed
  leaves.txt           the sealed leaf hash (hex) of each event line, as stored in the log
  checkpoints.json     signed checkpoints (C2SP tlog-checkpoint in signed-note form)
  keys.json            public keys with validity windows
  proofs.jsonl         partial exports only: inclusion proof of each event in the anchor checkpoint
  consistency.json     consistency proofs between consecutive checkpoints
"""
from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import io
import json
import multiprocessing
import os
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

BUNDLE_FORMAT = "gmp-audit-bundle/1"
CANON_VERSION = 1

# --- canonical JSON -----------------------------------------------------------------------------


def canonical_value(value):
    """Restrict a value to the canonical JSON model: str, int, bool, None, lists and str-keyed dicts.

    Instants become RFC 3339 UTC strings with microseconds and ``Z``; dates ``YYYY-MM-DD``;
    decimals plain strings. Floats are refused: their text form is not stable across encoders.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Enum):
        return canonical_value(value.value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an audit event")
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (list, tuple, frozenset, set)):
        items = [canonical_value(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict):
        # RFC 8785 orders members by the UTF-16 code units of their names, which differs from code-point
        # order only where a name holds a character above U+FFFF next to one from U+E000 to U+FFFF.
        members = sorted(((str(k), canonical_value(v)) for k, v in value.items()),
                         key=lambda member: member[0].encode("utf-16-be"))
        return dict(members)
    if isinstance(value, float):
        raise ValueError("floats are not allowed in canonical JSON")
    raise ValueError(f"cannot put {type(value).__name__} into canonical JSON")


def canonical_bytes(obj) -> bytes:
    """The one encoding of an event: sorted keys, no spaces, UTF-8 (equals RFC 8785 for this model)."""
    return json.dumps(canonical_value(obj), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --- RFC 6962 Merkle tree -------------------------------------------------------------------------

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The k of RFC 6962 §2.1: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class CompactRange:
    """The right edge of an RFC 6962 tree: one perfect-subtree root per set bit of ``size``.

    O(log n) state; appending a leaf and reading the root never touch earlier leaves.
    """

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None):
        self.size = size
        self.hashes = list(hashes or [])
        if len(self.hashes) != bin(size).count("1"):
            raise ValueError("compact range does not match its size")

    def append(self, leaf: bytes) -> None:
        h, s = leaf, self.size
        while s & 1:
            h = node_hash(self.hashes.pop(), h)
            s >>= 1
        self.hashes.append(h)
        self.size += 1

    def append_subtree(self, root: bytes, height: int) -> None:
        """Append a perfect subtree of 2**height leaves; the range's size must be a multiple of it."""
        if self.size % (1 << height):
            raise ValueError("subtree not aligned with the range")
        h, s = root, self.size >> height
        while s & 1:
            h = node_hash(self.hashes.pop(), h)
            s >>= 1
        self.hashes.append(h)
        self.size += 1 << height

    def extend(self, leaves: list[bytes]) -> None:
        """Append many leaves: aligned perfect subtrees are hashed level by level, which is several times
        faster in Python than one leaf at a time and gives the same range."""
        position, end = 0, len(leaves)
        sha256 = hashlib.sha256
        while position < end:
            height = 0
            while (self.size % (2 << height) == 0) and position + (2 << height) <= end:
                height += 1
            level = leaves[position:position + (1 << height)]
            while len(level) > 1:
                level = [sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
            self.append_subtree(level[0], height)
            position += 1 << height

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            root = node_hash(h, root)
        return root


def root_of(leaves: list[bytes]) -> bytes:
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


def _are_hashes(*values: bytes) -> bool:
    return all(len(v) == 32 for v in values)


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2. Every hash must be a SHA-256 value: anything else is refused outright."""
    if index < 0 or index >= size or not _are_hashes(leaf, root, *proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes) -> bool:
    """RFC 9162 §2.1.4.2, with transparency-dev/merkle's rules for the edge cases."""
    if size1 < 0 or size2 < size1:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if not _are_hashes(root1, root2, *proof):
        return False
    if size1 == 0:
        return False  # a consistency proof from the empty tree is meaningless
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


# --- C2SP signed notes and checkpoints ------------------------------------------------------------

SIGNATURE_PREFIX = "\u2014 "  # em dash and space
ED25519_ALGORITHM = b"\x01"


def ed25519_key_id(name: str, public_key: bytes) -> bytes:
    """C2SP signed-note key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_ALGORITHM + public_key).digest()[:4]


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root: bytes
    time: str | None
    body: str
    signatures: tuple[tuple[str, bytes, bytes], ...]  # (key name, key id, signature)


def checkpoint_body(origin: str, tree_size: int, root: bytes, time: str) -> str:
    return f"{origin}\n{tree_size}\n{base64.b64encode(root).decode()}\ntime {time}\n"


def parse_checkpoint(note: str) -> Checkpoint:
    body, sep, signature_block = note.partition("\n\n")
    if not sep:
        raise ValueError("no signature block")
    body += "\n"
    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise ValueError("checkpoint body too short")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise ValueError("tree size is not a decimal without leading zeros")
    root = base64.b64decode(root_text, validate=True)
    if len(root) != 32:
        raise ValueError("root hash is not 32 bytes")
    time = next((line[5:] for line in lines[3:] if line.startswith("time ")), None)
    signatures = []
    for line in signature_block.split("\n"):
        if not line:
            continue
        if not line.startswith(SIGNATURE_PREFIX):
            raise ValueError("malformed signature line")
        name, _, blob = line[len(SIGNATURE_PREFIX):].rpartition(" ")
        raw = base64.b64decode(blob, validate=True)
        if len(raw) < 5:
            raise ValueError("signature too short")
        signatures.append((name, raw[:4], raw[4:]))
    if not signatures:
        raise ValueError("no signature lines")
    return Checkpoint(origin, int(size_text), root, time, body, tuple(signatures))


@dataclass(frozen=True)
class PublicKey:
    name: str
    key_id: bytes
    key: bytes
    valid_from: str
    valid_until: str | None


def load_keys(entries: list[dict]) -> dict[tuple[str, bytes], PublicKey]:
    keys = {}
    for entry in entries:
        raw = base64.b64decode(entry["public_key"])
        key_id = ed25519_key_id(entry["name"], raw)
        keys[(entry["name"], key_id)] = PublicKey(
            entry["name"], key_id, raw, entry["valid_from"], entry.get("valid_until"))
    return keys


def checkpoint_signed_by(checkpoint: Checkpoint, keys: dict[tuple[str, bytes], PublicKey]) -> PublicKey | None:
    """The first known key, valid at the checkpoint's time, whose signature verifies. Unknown keys are
    ignored (C2SP), which is what lets old keys keep verifying old checkpoints after a rotation."""
    for name, key_id, signature in checkpoint.signatures:
        key = keys.get((name, key_id))
        if key is None:
            continue
        if checkpoint.time is None or checkpoint.time < key.valid_from or (
                key.valid_until is not None and checkpoint.time >= key.valid_until):
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.key).verify(signature, checkpoint.body.encode())
        except InvalidSignature:
            continue
        return key
    return None


# --- checkpoints kept outside the database --------------------------------------------------------
# Every checkpoint the application signs is also appended to a folder outside the database (``gmp`` writes
# ``audit-checkpoints/checkpoints-<host>-<yyyy-mm>.jsonl``: one JSON object per line, ``{"tree_size": N, "note":
# "<C2SP signed note>"}``, and ``latest.note``, the newest signed note as plain text). A database whose log lost
# its tail, or was rewritten, no longer matches them.

OUTSIDE_LINES_SUFFIX = ".jsonl"
OUTSIDE_NOTE_SUFFIX = ".note"


@dataclass(frozen=True)
class OutsideCheckpoint:
    #: file and line it was read from
    where: str
    checkpoint: Checkpoint | None
    #: why the entry is not a signed checkpoint (a damaged or forged file)
    error: str | None = None


def read_outside_checkpoints(path: str) -> list[OutsideCheckpoint]:
    """The checkpoints of a file of lines, of a file holding one signed note, or of every such file in a folder.
    A last line without its newline (a write cut short by a crash) is left out; any other unreadable line is
    returned with its error."""
    if os.path.isdir(path):
        found = []
        for name in sorted(os.listdir(path)):
            if name.endswith((OUTSIDE_LINES_SUFFIX, OUTSIDE_NOTE_SUFFIX)):
                found += read_outside_checkpoints(os.path.join(path, name))
        return found
    with open(path, "rb") as handle:
        data = handle.read()
    if not path.endswith(OUTSIDE_LINES_SUFFIX):
        try:
            return [OutsideCheckpoint(path, parse_checkpoint(data.decode("utf-8")))]
        except (ValueError, UnicodeDecodeError) as exc:
            return [OutsideCheckpoint(path, None, f"not a signed checkpoint ({exc})")]
    found = []
    for number, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            found.append(OutsideCheckpoint(f"{path}:{number}", parse_checkpoint(json.loads(line)["note"])))
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            found.append(OutsideCheckpoint(f"{path}:{number}", None, f"not a signed checkpoint ({exc})"))
    return found


def outside_sizes(outside: list[OutsideCheckpoint], origin: str) -> set[int]:
    """The tree sizes at which the log's root is needed to compare it with ``outside``."""
    return {item.checkpoint.tree_size for item in outside
            if item.checkpoint is not None and item.checkpoint.origin == origin}


def roots_at_sizes(leaves: list[bytes], sizes) -> dict[int, bytes]:
    """The RFC 6962 root of the first ``size`` leaves, for each size the leaves reach."""
    compact, roots = CompactRange(), {}
    for size in sorted(size for size in set(sizes) if 0 < size <= len(leaves)):
        compact.extend(leaves[compact.size:size])
        roots[size] = compact.root()
    return roots


def compare_with_outside(outside: list[OutsideCheckpoint], origin: str, tree_size: int, roots: dict[int, bytes],
                         keys: dict[tuple[str, bytes], PublicKey]) -> tuple[list[str], OutsideCheckpoint | None]:
    """A log of ``tree_size`` leaves (``roots``: its root at each size in ``outside_sizes``) against the checkpoints
    kept outside the database: the log must reach every one's size and have its root there. Returns the problems
    and the newest checkpoint the log agrees with. Checkpoints of another log (origin) are left aside. A signature
    is checked where it decides: on the newest agreeing checkpoint and on every disagreeing one (a signed one that
    disagrees shows a log that lost or rewrote events; an unsigned one, a damaged or forged file)."""
    problems: list[str] = []
    newest: OutsideCheckpoint | None = None
    beyond: list[OutsideCheckpoint] = []
    rewritten: list[OutsideCheckpoint] = []
    unsigned: list[OutsideCheckpoint] = []
    for item in outside:
        if item.error is not None:
            problems.append(f"{item.where}: {item.error}")
            continue
        checkpoint = item.checkpoint
        if checkpoint.origin != origin:
            continue
        if checkpoint.tree_size <= tree_size and roots.get(checkpoint.tree_size, EMPTY_ROOT if checkpoint.tree_size
                                                           == 0 else None) == checkpoint.root:
            if newest is None or checkpoint.tree_size > newest.checkpoint.tree_size:
                newest = item
            continue
        if checkpoint_signed_by(checkpoint, keys) is None:
            unsigned.append(item)
        elif checkpoint.tree_size > tree_size:
            beyond.append(item)
        else:
            rewritten.append(item)
    if beyond:
        top = max(beyond, key=lambda item: item.checkpoint.tree_size)
        problems.append(
            f"the log holds {tree_size} events, but the checkpoint kept outside the database at {top.where} (signed "
            f"{top.checkpoint.time}) covers {top.checkpoint.tree_size}: events {tree_size} to "
            f"{top.checkpoint.tree_size - 1} are missing (the tail was removed?)"
            + (f"; {len(beyond) - 1} more outside checkpoints are beyond the log" if len(beyond) > 1 else ""))
    if rewritten:
        first = min(rewritten, key=lambda item: item.checkpoint.tree_size)
        problems.append(
            f"the log's root at tree size {first.checkpoint.tree_size} differs from the checkpoint kept outside the "
            f"database at {first.where} (signed {first.checkpoint.time}): the log was rewritten"
            + (f"; {len(rewritten) - 1} more outside checkpoints disagree" if len(rewritten) > 1 else ""))
    if unsigned:
        problems.append(f"{unsigned[0].where}: a checkpoint of size {unsigned[0].checkpoint.tree_size} that no known "
                        f"key signed" + (f" (and {len(unsigned) - 1} more)" if len(unsigned) > 1 else ""))
    if newest is not None and checkpoint_signed_by(newest.checkpoint, keys) is None:
        problems.append(f"{newest.where}: a checkpoint of size {newest.checkpoint.tree_size} that no known key signed")
        newest = None
    return problems, newest


# --- bundle verification --------------------------------------------------------------------------


@dataclass
class Report:
    events: int = 0
    checkpoints: int = 0
    scope: str = ""
    problems: list[str] = field(default_factory=list)
    first_failing_index: int | None = None
    first_failure: str | None = None
    notes: list[str] = field(default_factory=list)
    #: events whose record was disposed of after its retention date: bodies removed, sealed leaves checked
    disposed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, message: str, index: int | None = None) -> None:
        if index is not None and (self.first_failing_index is None or index < self.first_failing_index):
            self.first_failing_index = index
            self.first_failure = message
        self.problems.append(message)


def _read_members(archive: zipfile.ZipFile, report: Report) -> dict[str, bytes]:
    members = {}
    for name in archive.namelist():
        try:
            members[name] = archive.read(name)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            report.fail(f"bundle: {name} cannot be read ({exc})")
    return members


def _check_manifest(members: dict[str, bytes], report: Report) -> dict | None:
    if "manifest.json" not in members:
        report.fail("bundle: manifest.json is missing")
        return None
    manifest = json.loads(members["manifest.json"])
    if manifest.get("format") != BUNDLE_FORMAT:
        report.fail(f"manifest: unknown format {manifest.get('format')!r}")
    for name, digest in manifest.get("files", {}).items():
        if name not in members:
            report.fail(f"manifest: {name} is listed but missing from the bundle")
        elif hashlib.sha256(members[name]).hexdigest() != digest:
            report.fail(f"manifest: SHA-256 of {name} does not match")
    for name in members:
        if name != "manifest.json" and name not in manifest.get("files", {}):
            report.fail(f"manifest: {name} is in the bundle but not in the manifest")
    return manifest


def verify_bundle(data: bytes, trusted_keys: list[dict] | None = None, strict: bool = False,
                  outside: list[OutsideCheckpoint] | None = None) -> Report:
    """Check a bundle. Integrity (every event's bytes against its sealed leaf, the leaves against the
    signed roots, the signatures against the keys) is always checked. ``strict`` also re-encodes every
    event to prove its bytes are in canonical form: a check of the writer, about three times slower.
    ``outside``: checkpoints kept outside the database; the bundle's log must extend (or equal) each of them."""
    report = Report()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        report.fail(f"bundle: not a readable zip file ({exc}); truncated?")
        return report
    members = _read_members(archive, report)
    manifest = _check_manifest(members, report)
    if manifest is None:
        return report
    report.scope = manifest.get("scope", "")
    try:
        key_entries = trusted_keys if trusted_keys is not None else json.loads(members.get("keys.json", b"[]"))
        keys = load_keys(key_entries)
        if trusted_keys is None:
            report.notes.append("keys taken from the bundle itself; pass --trusted-keys to pin them")
        checkpoint_notes = json.loads(members.get("checkpoints.json", b"[]"))
    except (ValueError, KeyError) as exc:
        report.fail(f"bundle: keys or checkpoints unreadable ({exc})")
        return report

    checkpoints = {}
    for position, note in enumerate(checkpoint_notes):
        try:
            checkpoint = parse_checkpoint(note)
        except ValueError as exc:
            report.fail(f"checkpoint #{position}: malformed ({exc})")
            continue
        if checkpoint_signed_by(checkpoint, keys) is None:
            report.fail(f"checkpoint at tree size {checkpoint.tree_size}: no valid signature by a known key")
            continue
        checkpoints[checkpoint.tree_size] = checkpoint
    report.checkpoints = len(checkpoints)
    if not checkpoints:
        report.fail("checkpoints: none verified")
        return report

    events_blob, leaves_blob = members.get("events.jsonl", b""), members.get("leaves.txt", b"")
    line_count, leaf_count = _count_lines(events_blob), _count_lines(leaves_blob)
    if leaf_count != line_count:
        report.fail(f"bundle: {line_count} events but {leaf_count} leaf hashes; truncated?",
                    index=(manifest.get("first_index") or 0) + min(line_count, leaf_count))
    origin = manifest.get("origin") or next(iter(checkpoints.values())).origin
    wanted = outside_sizes(outside, origin) if outside is not None else set()
    if report.scope == "full":
        roots: dict[int, bytes] = {}

        # The Merkle tree is rebuilt here while worker processes check the events.
        def rebuild_tree():
            roots.update(_verify_full_tree(_parse_leaves(leaves_blob), checkpoints, manifest, report, wanted))

        _verify_events(events_blob, leaves_blob, line_count, True, strict, report, while_waiting=rebuild_tree)
    else:
        indices = _verify_events(events_blob, leaves_blob, line_count, False, strict, report)
        _verify_partial(members, indices, _parse_leaves(leaves_blob), checkpoints, manifest, report)
    _verify_consistency(members, checkpoints, report)
    if outside is not None:
        if report.scope == "full":
            _verify_outside(outside, origin, leaf_count, roots, keys, report)
        else:
            # A partial export knows the roots of its signed checkpoints only (consistent with each other).
            anchor_size = manifest.get("anchor_tree_size") or 0
            known = {size: checkpoint.root for size, checkpoint in checkpoints.items()}
            unknown = sorted(size for size in wanted if size <= anchor_size and size not in known)
            if unknown:
                report.fail(f"outside checkpoints of tree sizes {unknown[:5]}{' ...' if len(unknown) > 5 else ''}: a "
                            f"partial export cannot show that its log extends them; verify a full export")
            _verify_outside([item for item in outside if item.checkpoint is None
                             or item.checkpoint.tree_size not in unknown], origin, anchor_size, known, keys, report)
    return report


def _verify_outside(outside, origin: str, tree_size: int, roots: dict, keys, report: Report) -> None:
    problems, newest = compare_with_outside(outside, origin, tree_size, roots, keys)
    for problem in problems:
        report.fail(f"outside checkpoint: {problem}")
    if newest is None and not problems:
        report.fail(f"outside checkpoint: none of this log ({origin}) was given")
    elif newest is not None:
        report.notes.append(f"the log extends the checkpoint kept outside the database at {newest.where} (tree size "
                            f"{newest.checkpoint.tree_size}, signed {newest.checkpoint.time})")


class _OutsideTheModel:
    """A number with a fraction or an exponent, NaN or Infinity, as ``--strict`` reads it: the canonical model
    has none (``canonical_value`` refuses floats), and neither encoder takes this object."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_DECODER = json.JSONDecoder()
_STRICT_DECODER = json.JSONDecoder(parse_float=_OutsideTheModel, parse_constant=_OutsideTheModel)
#: every byte but the UTF-8 lead bytes of characters from U+E000 up: where code-point order of names may differ
#: from RFC 8785's UTF-16 order (a character above U+FFFF next to one from U+E000 to U+FFFF). Deleting these
#: leaves nothing in an ordinary line (four times faster than a regular expression's search).
_BELOW_U_E000 = bytes(range(0xEE))


def _fast_codec(strict: bool = False):
    """The C scanner and encoder of the json module, built once (the json functions rebuild the encoder
    on every call); the pure-Python path where the accelerator is missing. Same results either way. The strict
    scanner reads numbers outside the canonical model as ``_OutsideTheModel``."""
    from json import encoder as json_encoder

    decoder = _STRICT_DECODER if strict else _DECODER
    if json_encoder.c_make_encoder is None:
        return (lambda text: decoder.raw_decode(text)), _ENCODER.encode
    c_encoder = json_encoder.c_make_encoder(
        None, _ENCODER.default, json_encoder.encode_basestring, None, ":", ",", True, False, True)
    return (lambda text: decoder.scan_once(text, 0)), (lambda obj: "".join(c_encoder(obj, 0)))


#: below this many events one process is faster than starting workers
PARALLEL_FROM = 100_000
LEAF_LINE = 65  # 64 hex digits and a newline
# Set before worker processes fork: they read their slice of these two byte strings (one object each,
# so no copy-on-write of millions of small objects) instead of receiving lines through pipes.
_SHARED: tuple = ()


def _worker_range(bounds: tuple[int, int, int, int]):
    """A worker's own lines and sealed hashes, cut from the shared bundle bytes."""
    events_blob, leaves_blob, full, strict = _SHARED
    line_start, line_end, byte_start, byte_end = bounds
    lines = _split_lines(events_blob[byte_start:byte_end])
    sealed = _parse_leaves(leaves_blob[line_start * LEAF_LINE: line_end * LEAF_LINE])
    return _check_event_range(lines, sealed, line_start, full, strict)


def _check_event_range(lines: list[bytes], sealed: list[bytes], base: int, full: bool, strict: bool = False):
    """Lines at positions ``base``...: each canonical, at its expected index (full scope), hashing to its
    sealed leaf. Returns (failures, indices, disposed markers, disposal records) so the parent reports them in
    order.

    The hot loop of verification: written for speed (locals, no per-line function layers). Without ``strict``, an
    event whose bytes hash to its sealed leaf and have the canonical shape of an event (``{"action":"...`` first,
    and after ``"index"`` only names holding strings or numbers, as sorted names put them) has its index read
    from its bytes rather than parsed: its content is proven by the hash, and ``strict`` parses every event.
    """
    failures: list[tuple[int | None, str]] = []
    indices: list[int] = []
    disposed: list[tuple[int, object]] = []
    records: list[tuple[str, object]] = []
    add_index, add_failure, add_disposed, add_record = indices.append, failures.append, disposed.append, records.append
    scan, encode = _fast_codec(strict)
    sha256 = hashlib.sha256
    sealed_count = len(sealed)
    previous = -1
    for offset, line in enumerate(lines):
        position = base + offset
        sealed_ok = offset < sealed_count and sha256(b"\x00" + line).digest() == sealed[offset]
        if sealed_ok and not strict and line[:11] == b'{"action":"' and line[-1:] == b"}" \
                and line[11:29] != b'disposal.recorded"':
            # Names after "index" hold strings (where a quote is always escaped) or numbers: its last occurrence
            # is the event's own.
            start = line.rfind(b',"index":') + 9
            end = line.find(b",", start)
            digits = line[start:end]
            if start > 9 and digits.isdigit() and (digits[0] != 48 or len(digits) == 1):  # 48: "0"
                index = int(digits)
                add_index(index)
                if full:
                    if index != position:
                        add_failure((min(position, index), f"event {position}: missing or out of order "
                                                           f"(line {position + 1} holds event {index})"))
                elif index <= previous:
                    add_failure((index, f"event {index}: out of order or repeated"))
                previous = index
                continue
        try:
            text = line.decode("utf-8")
            event, consumed = scan(text)
            if consumed != len(text) or type(event) is not dict:
                raise ValueError("not one JSON object")
        except (ValueError, StopIteration):
            add_failure((position if full else None, f"event at line {position + 1}: not valid JSON"))
            add_index(-1)
            continue
        index = event.get("index")
        if type(index) is not int:
            add_failure((position if full else None, f"event at line {position + 1}: no index"))
            add_index(-1)
            continue
        add_index(index)
        if full:
            if index != position:
                add_failure((min(position, index),
                             f"event {position}: missing or out of order (line {position + 1} holds event {index})"))
        elif index <= previous:
            add_failure((index, f"event {index}: out of order or repeated"))
        previous = index
        if "action" not in event and "disposal" in event:
            # Disposed of after its retention date: the body is gone, the sealed leaf counts in the tree and the
            # disposal's own event must list it (checked once every line is read).
            add_disposed((index, event["disposal"]))
            continue
        if event.get("action") == "disposal.recorded":
            listed = (event.get("changes") or {}).get("disposed_events")
            entity = event.get("entity")
            add_record((str(entity.get("id")) if type(entity) is dict else "",
                        listed[1] if type(listed) is list and len(listed) == 2 else None))
        if strict:
            try:
                # The fast encoder orders names by code point, RFC 8785 by UTF-16 units: the same order unless the
                # line holds a character from U+E000 up, and then the exact (slower) encoding decides.
                canonical = (canonical_bytes(event) == line if line.translate(None, _BELOW_U_E000)
                             else encode(event) == text)
            except (TypeError, ValueError):  # a fraction, an exponent, NaN or Infinity: outside the model
                canonical = False
            if not canonical:
                add_failure((index, f"event {index}: not in canonical form"))
        if not sealed_ok:
            add_failure((index, f"event {index}: content does not match its sealed leaf hash"))
    return failures, indices, disposed, records


def _count_lines(blob: bytes) -> int:
    return blob.count(b"\n") + (1 if blob and not blob.endswith(b"\n") else 0)


def _split_lines(blob: bytes) -> list[bytes]:
    lines = blob.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _parse_leaves(blob: bytes) -> list[bytes]:
    """Sealed leaf hashes; a malformed line becomes an empty hash, which then fails its event's check."""
    count = _count_lines(blob)
    if len(blob) == LEAF_LINE * count and blob[64::LEAF_LINE] == b"\n" * count:
        try:
            raw = bytes.fromhex(blob.decode("ascii"))  # one call; fromhex skips the newlines
        except ValueError:
            raw = None  # a bad digit somewhere: fall back to line by line, to name the line
        if raw is not None:
            return [raw[i:i + 32] for i in range(0, len(raw), 32)]
    sealed = []
    for text in _split_lines(blob):
        try:
            sealed.append(bytes.fromhex(text.decode("ascii")))
        except ValueError:
            sealed.append(b"")
    return sealed


def _verify_events(events_blob: bytes, leaves_blob: bytes, line_count: int, full: bool, strict: bool,
                   report: Report, while_waiting=None) -> list[int]:
    """Check every event line; large bundles are split across the machine's cores.

    ``while_waiting`` runs in this process meanwhile (the Merkle tree), so all cores are busy.
    """
    global _SHARED
    workers = min(os.cpu_count() or 1, 8)
    fixed_width = (len(leaves_blob) == LEAF_LINE * line_count and leaves_blob[64::LEAF_LINE] == b"\n" * line_count)
    if (line_count >= PARALLEL_FROM and workers > 1 and fixed_width and events_blob.endswith(b"\n")
            and "fork" in multiprocessing.get_all_start_methods()):
        chunks, byte_start, line_start = [], 0, 0
        for part in range(1, workers + 1):
            byte_end = len(events_blob) if part == workers else events_blob.find(
                b"\n", max(byte_start, len(events_blob) * part // workers)) + 1
            if byte_end <= byte_start:
                continue
            line_end = line_start + events_blob.count(b"\n", byte_start, byte_end)
            chunks.append((line_start, line_end, byte_start, byte_end))
            byte_start, line_start = byte_end, line_end
        _SHARED = (events_blob, leaves_blob, full, strict)
        gc.freeze()  # the children's collector must not walk (and so copy) the parent's objects
        try:
            with multiprocessing.get_context("fork").Pool(len(chunks)) as pool:
                pending = pool.map_async(_worker_range, chunks)
                if while_waiting:
                    while_waiting()
                results = pending.get()
        finally:
            gc.unfreeze()
            _SHARED = ()
    else:
        results = [_check_event_range(_split_lines(events_blob), _parse_leaves(leaves_blob), 0, full, strict)]
        if while_waiting:
            while_waiting()
    indices: list[int] = []
    disposed: list[tuple[int, object]] = []
    listed: dict[str, set] = {}
    for failures, chunk_indices, chunk_disposed, chunk_records in results:
        if indices and chunk_indices and not full and 0 <= chunk_indices[0] <= indices[-1]:
            report.fail(f"event {chunk_indices[0]}: out of order or repeated", index=chunk_indices[0])
        for index, message in failures:
            report.fail(message, index=index)
        indices.extend(chunk_indices)
        disposed.extend(chunk_disposed)
        for disposal, events in chunk_records:
            listed.setdefault(disposal, set()).update(events if type(events) is list else ())
    for index, disposal in disposed:
        if index not in listed.get(str(disposal), ()):
            report.fail(f"event {index}: marked disposed, but no disposal in the bundle lists it", index=index)
    report.disposed = len(disposed)
    if disposed:
        report.notes.append(f"{len(disposed)} events disposed of after their retention date: their bodies are "
                            f"removed, their sealed leaves verified in the signed tree")
    report.events = line_count
    return indices


def _verify_full_tree(sealed: list[bytes], checkpoints: dict, manifest: dict, report: Report,
                      wanted: set[int] = frozenset()) -> dict[int, bytes]:
    """The signed roots against the leaves; returns the roots at the ``wanted`` sizes (outside checkpoints)."""
    compact = CompactRange()
    roots = {}
    for size in sorted(size for size in set(checkpoints) | set(wanted) if 0 < size <= len(sealed)):
        compact.extend(sealed[compact.size:size])
        root = compact.root()
        if size in wanted:
            roots[size] = root
        if size in checkpoints and root != checkpoints[size].root:
            report.fail(f"checkpoint at tree size {size}: root does not match the events", index=size - 1)
    top = max(checkpoints)
    if top != len(sealed):
        report.fail(f"bundle: the latest checkpoint covers {top} events but the export holds {len(sealed)}",
                    index=min(top, len(sealed)))
    if manifest.get("event_count") != len(sealed):
        report.fail(f"manifest: {manifest.get('event_count')} events announced, {len(sealed)} present",
                    index=min(manifest.get("event_count") or 0, len(sealed)))
    return roots


def _verify_partial(members, indices, sealed, checkpoints, manifest, report: Report) -> None:
    anchor = checkpoints.get(manifest.get("anchor_tree_size"))
    if anchor is None:
        report.fail("partial export: the anchor checkpoint is missing or unverified")
        return
    proofs = [json.loads(line) for line in members.get("proofs.jsonl", b"").split(b"\n") if line]
    by_index = {p["index"]: [base64.b64decode(h) for h in p["proof"]] for p in proofs}
    for position, index in enumerate(indices):
        if position >= len(sealed) or index < 0:
            continue
        proof = by_index.get(index)
        if proof is None or not verify_inclusion(index, anchor.tree_size, sealed[position], proof, anchor.root):
            report.fail(f"event {index}: not included in the signed checkpoint of size {anchor.tree_size}",
                        index=index)
    if manifest.get("event_count") != len(indices):
        report.fail(f"manifest: {manifest.get('event_count')} events announced, {len(indices)} present")


def _verify_consistency(members, checkpoints: dict, report: Report) -> None:
    for entry in json.loads(members.get("consistency.json", b"[]")):
        first, second = checkpoints.get(entry["size1"]), checkpoints.get(entry["size2"])
        if first is None or second is None:
            continue
        proof = [base64.b64decode(h) for h in entry["proof"]]
        if not verify_consistency(first.tree_size, second.tree_size, proof, first.root, second.root):
            report.fail(f"checkpoints {first.tree_size} and {second.tree_size}: not consistent (log rewritten?)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a GMP audit-trail export bundle offline.")
    parser.add_argument("bundle")
    parser.add_argument("--trusted-keys", help="keys.json from a trusted source (pins the public keys)")
    parser.add_argument("--strict", action="store_true",
                        help="also prove every event is in canonical JSON form (slower; checks the writer)")
    parser.add_argument("--checkpoint", action="append", metavar="FILE_OR_FOLDER",
                        help="a checkpoint kept outside the database (a signed note, a .jsonl file of them, or their "
                             "folder): the bundle's log must extend it; repeatable")
    args = parser.parse_args(argv)
    trusted = None
    if args.trusted_keys:
        with open(args.trusted_keys, encoding="utf-8") as handle:
            trusted = json.load(handle)
    outside = None
    if args.checkpoint:
        outside = []
        for path in args.checkpoint:
            try:
                outside += read_outside_checkpoints(path)
            except OSError as exc:
                print(f"FAIL: cannot read {path}: {exc}")
                return 1
    try:
        with open(args.bundle, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        print(f"FAIL: cannot read {args.bundle}: {exc}")
        return 1
    report = verify_bundle(data, trusted, strict=args.strict, outside=outside)
    for note in report.notes:
        print(f"note: {note}")
    if report.ok:
        mode = ", canonical form checked" if args.strict else ""
        print(f"OK: {report.events} events, {report.checkpoints} signed checkpoints{mode}, scope {report.scope}")
        return 0
    if report.first_failing_index is not None:
        print(f"FAIL at event index {report.first_failing_index}: {report.first_failure}")
        shown = report.first_failure
    else:
        print(f"FAIL: {report.problems[0]}")
        shown = report.problems[0]
    for problem in [p for p in report.problems if p != shown][:20]:
        print(f"  also: {problem}")
    if len(report.problems) > 20:
        print(f"  ... and {len(report.problems) - 20} more")
    return 1


if __name__ == "__main__":
    sys.exit(main())

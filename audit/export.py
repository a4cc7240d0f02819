"""Export bundles that an inspector verifies offline with ``audit/verify.py``.

A full export holds every event up to the latest checkpoint; a partial one (a record, a date range)
holds the matching events with an inclusion proof of each in the signed anchor checkpoint.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

import sqlalchemy as sa

from audit.keys import public_keys
from audit.models import AuditCheckpoint, AuditEvent
from audit.service import EventFilter, filtered_query, record_export, seal
from audit.verify import BUNDLE_FORMAT, canonical_bytes, canonical_value, largest_power_of_two_below, node_hash
from gmp_complaints.domain.errors import ConflictError, Msg

# Fixed member timestamps: the same data gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class LeafTree:
    """All leaf hashes of the log with every perfect subtree precomputed, for RFC 6962 proofs."""

    def __init__(self, leaves: list[bytes]):
        self.levels = [leaves]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    def subtree_root(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        height = n.bit_length() - 1
        if n & (n - 1) == 0 and lo % n == 0:
            return self.levels[height][lo >> height]
        k = largest_power_of_two_below(n)
        return node_hash(self.subtree_root(lo, lo + k), self.subtree_root(lo + k, hi))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 6962 §2.1.1 PATH(m, D[n]), leaf-to-root order."""
        proof = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = largest_power_of_two_below(hi - lo)
            if index < lo + k:
                proof.append(self.subtree_root(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self.subtree_root(lo, lo + k))
                lo = lo + k
        return list(reversed(proof))

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 6962 §2.1.2 PROOF(m, D[n])."""
        def subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
            n = hi - lo
            if m == n:
                return [] if complete else [self.subtree_root(lo, hi)]
            k = largest_power_of_two_below(n)
            if m <= k:
                return subproof(m, lo, lo + k, complete) + [self.subtree_root(lo + k, hi)]
            return subproof(m - k, lo + k, hi, False) + [self.subtree_root(lo, lo + k)]

        return subproof(size1, 0, size2, True)


def _refuse_a_log_behind_its_outside_checkpoints(uow) -> None:
    """Issue 19: a log that lost its tail or was rewritten (a database restored from an old backup, events deleted
    by an administrator) is never sealed and signed into an export: the checkpoints kept outside the database say
    what it held."""
    from audit import outside_checkpoints
    from audit.integrity import outside_checkpoint_problems

    outside = outside_checkpoints.read(uow.settings)  # before the snapshot: everything in it was committed
    if not outside:
        return
    with uow:
        problems = outside_checkpoint_problems(uow.session, uow.settings, outside)
    if problems:
        raise ConflictError(Msg("The audit log in the database does not match the checkpoints kept outside it, so "
                                "nothing was exported: %(problem)s. Run gmp integrity-check and investigate.",
                                problem=problems[0]))


@dataclass(frozen=True)
class ExportResult:
    data: bytes
    sha256: str
    event_count: int
    anchor_tree_size: int
    scope: str


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in items]


def deterministic_zip(files: dict[str, bytes]) -> bytes:
    """Members in name order with fixed timestamps: the same files give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def _event_line(row) -> bytes:
    """The event's sealed bytes; for an event whose record was disposed of, a marker naming the disposal (the
    verifier checks its sealed leaf in the tree and that the disposal's own event lists it)."""
    if row.disposal_id is None:
        return row.canonical
    return canonical_bytes({"disposal": row.disposal_id, "index": row.log_index})


def build_bundle(uow, event_filter: EventFilter | None, visible_types: frozenset[str] | None, *,
                 records: dict[str, list[str]] | None = None, anchor_tree_size: int | None = None) -> ExportResult:
    """Read one consistent snapshot of the log and pack it. Seals first, so the export is complete.

    ``records`` (entity type -> ids) exports the events of those records (a complaint and its parts);
    ``anchor_tree_size`` pins the anchor checkpoint, so the same request gives the same bytes later.
    """
    _refuse_a_log_behind_its_outside_checkpoints(uow)
    if anchor_tree_size is None:
        seal(uow)
    partial = (event_filter is not None and bool(event_filter.describe()) or visible_types is not None
               or records is not None)
    with uow:
        session = uow.session
        anchors = sa.select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
        if anchor_tree_size is not None:
            anchors = sa.select(AuditCheckpoint).where(AuditCheckpoint.tree_size == anchor_tree_size)
        anchor = session.scalars(anchors).one()
        if partial:
            query = filtered_query(event_filter or EventFilter(), visible_types, uow.settings.site_timezone)
            if records is not None:
                query = query.where(sa.or_(*[sa.and_(AuditEvent.entity_type == entity_type,
                                                     AuditEvent.entity_id.in_(ids))
                                             for entity_type, ids in records.items() if ids] or [sa.false()]))
            rows = session.execute(
                query.with_only_columns(AuditEvent.log_index, AuditEvent.canonical, AuditEvent.leaf_hash,
                                        AuditEvent.disposal_id)
                .where(AuditEvent.log_index < anchor.tree_size).order_by(AuditEvent.log_index)).all()
        else:
            rows = session.execute(
                sa.select(AuditEvent.log_index, AuditEvent.canonical, AuditEvent.leaf_hash, AuditEvent.disposal_id)
                .where(AuditEvent.log_index < anchor.tree_size).order_by(AuditEvent.log_index)).all()
        checkpoints = session.scalars(
            sa.select(AuditCheckpoint).where(AuditCheckpoint.tree_size <= anchor.tree_size)
            .order_by(AuditCheckpoint.tree_size)).all()
        keys = public_keys(session)
        files = {
            "events.jsonl": b"".join(_event_line(row) + b"\n" for row in rows),
            "leaves.txt": "".join(row.leaf_hash.hex() + "\n" for row in rows).encode(),
            "keys.json": json.dumps(keys, indent=1).encode(),
        }
        if partial:
            all_leaves = list(session.scalars(
                sa.select(AuditEvent.leaf_hash).where(AuditEvent.log_index < anchor.tree_size)
                .order_by(AuditEvent.log_index)))
            tree = LeafTree(all_leaves)
            files["proofs.jsonl"] = b"".join(
                json.dumps({"index": row.log_index,
                            "proof": _b64(tree.inclusion_proof(row.log_index, anchor.tree_size))}).encode() + b"\n"
                for row in rows)
            files["consistency.json"] = json.dumps([
                {"size1": a.tree_size, "size2": b.tree_size, "proof": _b64(tree.consistency_proof(a.tree_size, b.tree_size))}
                for a, b in zip(checkpoints, checkpoints[1:])], indent=1).encode()
        files["checkpoints.json"] = json.dumps([c.signed_note for c in checkpoints], indent=1, ensure_ascii=False).encode()
        scope = "partial" if partial else "full"
        manifest = {
            "format": BUNDLE_FORMAT,
            "scope": scope,
            "filter": {**(event_filter or EventFilter()).describe(),
                       **({"records": {t: sorted(ids) for t, ids in sorted(records.items()) if ids}} if records else {})},
            "origin": uow.settings.audit_origin,
            "anchor_tree_size": anchor.tree_size,
            "anchor_created_at": canonical_value(anchor.created_at),
            "event_count": len(rows),
            "first_index": rows[0].log_index if rows else None,
            "files": {name: hashlib.sha256(content).hexdigest() for name, content in sorted(files.items())},
        }
        files["manifest.json"] = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False).encode()
        anchor_size = anchor.tree_size
    data = deterministic_zip(files)
    return ExportResult(data, hashlib.sha256(data).hexdigest(), len(rows), anchor_size, scope)


def export_audit_trail(uow, *, actor_id: int | None, event_filter: EventFilter | None = None,
                       visible_types: frozenset[str] | None = None, source_ip: str | None = None) -> ExportResult:
    result = build_bundle(uow, event_filter, visible_types)
    record_export(uow, action="audit.exported", actor_id=actor_id,
                  scope={"scope": result.scope, **(event_filter or EventFilter()).describe()},
                  file_sha256=result.sha256, event_count=result.event_count, source_ip=source_ip)
    return result

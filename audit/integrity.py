"""``gmp integrity-check``: the log checks itself, then the trail is replayed against the live tables.

Replaying folds every event's new values per record; any live row whose stored values differ, any row
the trail never saw, and any recorded row that is gone is listed. An edit made outside the application
(SQL console, restored backup, disk editor) shows up here even where no trigger could stop it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import inspect

from audit import outside_checkpoints
from audit.keys import public_keys
from audit.models import AuditCheckpoint, AuditEvent, AuditLogHead
from audit.verify import (
    CompactRange,
    canonical_value,
    checkpoint_signed_by,
    compare_with_outside,
    leaf_hash,
    load_keys,
    outside_sizes,
    parse_checkpoint,
    roots_at_sizes,
)
from gmp_complaints.db import Base
from gmp_complaints.domain.events import DomainEvent

# Importing the models registers every audited table with the metadata: without them there would be nothing
# to compare and the check could not fail (a console script imports nothing else).
from gmp_complaints.models import Disposal


@dataclass(frozen=True)
class Difference:
    entity_type: str
    entity_id: str | None
    field: str | None
    expected: object
    actual: object
    problem: str

    def describe(self) -> str:
        where = f"{self.entity_type}:{self.entity_id}" if self.entity_id is not None else self.entity_type
        if self.field:
            return f"{where} {self.field}: trail says {self.expected!r}, table holds {self.actual!r} ({self.problem})"
        return f"{where}: {self.problem}"


def _audited_classes():
    found = [(mapper.class_, mapper.class_.__audit__) for mapper in Base.registry.mappers
             if getattr(mapper.class_, "__audit__", None) is not None]
    if not found:
        raise RuntimeError("No audited table is known: the integrity check would compare nothing.")
    return found


def live_snapshots(session) -> dict[tuple[str, str], dict]:
    """Every audited record as the tables hold it now, in canonical values."""
    snapshots: dict[tuple[str, str], dict] = {}
    owned = []
    for cls, spec in _audited_classes():
        if spec.owner_id is not None:
            owned.append((cls, spec))
            continue
        for obj in session.scalars(sa.select(cls)):
            key = (spec.entity_type, ":".join(str(p) for p in inspect(obj).identity))
            snapshots[key] = {attr.key: canonical_value(getattr(obj, attr.key))
                              for attr in inspect(cls).column_attrs if attr.key not in spec.excluded}
    main_types = {key[0] for key in snapshots}
    for cls, spec in owned:
        values: dict[tuple[str, str], list] = {}
        for obj in session.scalars(sa.select(cls)):
            values.setdefault((spec.entity_type, str(spec.owner_id(obj))), []).append(canonical_value(spec.owner_value(obj)))
        if spec.entity_type not in main_types:
            # An entity made only of rows (a calendar: its days and years) exists where it has rows.
            for key in values:
                snapshots.setdefault(key, {})
        for key, snapshot in snapshots.items():
            if key[0] == spec.entity_type:
                snapshot[spec.owner_field] = sorted(values.get(key, []))
    return snapshots


def check_log(session, settings) -> list[Difference]:
    """Leaf hashes against the stored bytes, indices without gaps, checkpoints against the leaves, and the log
    against every checkpoint kept outside the database (a removed tail or a rewritten log)."""
    # Read before the database: every checkpoint found there was committed before this check's first query.
    outside = outside_checkpoints.read(settings)
    wanted = outside_sizes(outside, settings.audit_origin)
    roots: dict[int, bytes] = {}
    problems = []
    keys = load_keys(public_keys(session))
    checkpoints = {c.tree_size: c for c in session.scalars(sa.select(AuditCheckpoint))}
    compact = CompactRange()
    expected = 0
    disposals = set(session.scalars(sa.select(Disposal.id)))
    # What each disposal says it disposed of (its own event, never itself disposed of): a body removed outside
    # that list was removed by someone else.
    listed: dict[int, set] = {}
    for entity_id, canonical in session.execute(sa.select(AuditEvent.entity_id, AuditEvent.canonical).where(
            AuditEvent.action == "disposal.recorded", AuditEvent.disposal_id.is_(None))):
        pair = (json.loads(canonical).get("changes") or {}).get("disposed_events") or [None, []]
        listed[int(entity_id)] = set(pair[1] or [])
    for row in session.execute(sa.select(AuditEvent.log_index, AuditEvent.canonical, AuditEvent.leaf_hash,
                                         AuditEvent.disposal_id).order_by(AuditEvent.log_index)).yield_per(5000):
        if row.log_index != expected:
            problems.append(Difference("audit", str(expected), None, None, None, "event missing from the log"))
            expected = row.log_index
        if row.disposal_id is not None:
            # A disposed event's body is gone; its sealed leaf still counts in the tree and the checkpoints.
            if row.disposal_id not in disposals or row.canonical or row.log_index not in listed.get(row.disposal_id, ()):
                problems.append(Difference("audit", str(row.log_index), None, None, None,
                                           "event body removed without a recorded disposal that lists it"))
        elif leaf_hash(row.canonical) != row.leaf_hash:
            problems.append(Difference("audit", str(row.log_index), None, None, None,
                                       "event bytes do not match their sealed hash"))
        compact.append(row.leaf_hash)
        expected += 1
        if compact.size in wanted:
            roots[compact.size] = compact.root()
        checkpoint = checkpoints.get(compact.size)
        if checkpoint is not None:
            parsed = parse_checkpoint(checkpoint.signed_note)
            if parsed.root != compact.root() or checkpoint.root_hash != compact.root():
                problems.append(Difference("audit", str(compact.size), None, None, None,
                                           "checkpoint root does not match the events"))
            if checkpoint_signed_by(parsed, keys) is None:
                problems.append(Difference("audit", str(compact.size), None, None, None,
                                           "checkpoint signature does not verify"))
    head = session.get(AuditLogHead, 1)
    if head.tree_size != compact.size or head.compact_range != " ".join(h.hex() for h in compact.hashes):
        problems.append(Difference("audit", None, None, head.tree_size, compact.size,
                                   "log head does not match the events"))
    found, _newest = compare_with_outside(outside, settings.audit_origin, compact.size, roots, keys)
    problems += [Difference("audit", None, None, None, None, problem) for problem in found]
    return problems


def outside_checkpoint_problems(session, settings, outside) -> list[str]:
    """The database's log (its sealed leaves, as stored) against the checkpoints kept outside the database
    (``outside``, read before this transaction began): what an export must not sign over."""
    leaves = list(session.scalars(sa.select(AuditEvent.leaf_hash).order_by(AuditEvent.log_index)))
    roots = roots_at_sizes(leaves, outside_sizes(outside, settings.audit_origin))
    found, _newest = compare_with_outside(outside, settings.audit_origin, len(leaves), roots,
                                          load_keys(public_keys(session)))
    return found


def replay(session) -> dict[tuple[str, str], dict]:
    """What the trail says each record holds now."""
    state: dict[tuple[str, str], dict] = {}
    for row in session.execute(sa.select(AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.canonical)
                               .where(AuditEvent.entity_id.is_not(None), AuditEvent.disposal_id.is_(None))
                               .order_by(AuditEvent.log_index)).yield_per(5000):
        changes = json.loads(row.canonical).get("changes") or {}
        record = state.setdefault((row.entity_type, row.entity_id), {})
        for name, pair in changes.items():
            if isinstance(pair, list) and len(pair) == 2:
                record[name] = pair[1]
    return state


def compare(trail: dict[tuple[str, str], dict], live: dict[tuple[str, str], dict],
            audited_types: set[str]) -> list[Difference]:
    differences = []
    for key, snapshot in sorted(live.items()):
        expected = trail.get(key)
        if expected is None:
            differences.append(Difference(key[0], key[1], None, None, None, "row exists but the trail never recorded it"))
            continue
        for name, value in sorted(snapshot.items()):
            if name in expected and expected[name] != value:
                differences.append(Difference(key[0], key[1], name, expected[name], value, "changed outside the application"))
    for key in sorted(set(trail) - set(live)):
        if key[0] in audited_types:
            differences.append(Difference(key[0], key[1], None, None, None, "recorded row is missing from the table"))
    return differences


def signature_differences(session, trail: dict[tuple[str, str], dict]) -> list[Difference]:
    """Every signature row against its signed manifest and the site key, and every signature the trail
    recorded against the table (a deleted signature row is a difference too)."""
    from gmp_complaints.models import SignatureRow
    from signatures.service import signature_problems

    differences = [Difference("signature", str(signature_id), None, None, None, problem)
                   for signature_id, problem in signature_problems(session)]
    stored = {str(i) for i in session.scalars(sa.select(SignatureRow.id))}
    recorded = {entity_id for entity_type, entity_id in trail if entity_type == "signature"}
    differences += [Difference("signature", signature_id, None, None, None, "recorded signature is missing from the table")
                    for signature_id in sorted(recorded - stored, key=int)]
    differences += [Difference("signature", signature_id, None, None, None, "signature row the trail never recorded")
                    for signature_id in sorted(stored - recorded, key=int)]
    # A row swapped for another validly signed one (its manifest and system signature intact) still differs from
    # what the trail recorded when this signature was made.
    for row in session.scalars(sa.select(SignatureRow).order_by(SignatureRow.id)):
        expected = trail.get(("signature", str(row.id)))
        if expected is None:
            continue
        held = {"record": f"{row.record_type}:{row.record_id}", "record_number": row.record_number,
                "record_version": row.record_version, "record_hash": row.record_hash, "step": row.step,
                "meaning": row.meaning, "signed_role": row.signed_role, "printed_name": row.printed_name,
                "subject": row.subject, "comment": row.comment}
        differences += [Difference("signature", str(row.id), name, expected[name], value,
                                   "differs from what the trail recorded when it was signed")
                        for name, value in held.items() if name in expected and expected[name] != value]
    return differences


def stored_file_differences(session, settings) -> list[Difference]:
    """Every stored file re-hashed against the SHA-256 its row holds (RET-03): attachments, CAPA evidence,
    letters kept as sent and copies of what was sent to an authority in the content store, and the archive
    packages and other job results in the exports folder. A file changed, truncated or removed on disk is a
    difference."""
    from gmp_complaints.attachment_store import ContentStore
    from gmp_complaints.models import Attachment, CapaEvidence, Complaint, Job, Notification, SentLetter

    referenced: dict[str, list[tuple[str, str]]] = {}
    # The files of a complaint disposed of after its retention date are gone by that signed act.
    disposed = sa.select(Complaint.id).where(Complaint.disposed_at.is_not(None))
    for entity_type, model, column, where in (
            ("attachment", Attachment, Attachment.sha256, ~Attachment.complaint_id.in_(disposed)),
            ("capa_evidence", CapaEvidence, CapaEvidence.sha256, sa.true()),
            ("sent_letter", SentLetter, SentLetter.sha256, ~SentLetter.complaint_id.in_(disposed)),
            ("notification", Notification, Notification.copy_sha256, sa.true())):
        for row_id, sha256 in session.execute(sa.select(model.id, column).where(column.is_not(None), where)):
            referenced.setdefault(sha256, []).append((entity_type, str(row_id)))
    differences = []
    for sha256 in ContentStore(settings.attachment_root).verify_all(referenced):
        for entity_type, row_id in referenced.get(sha256, [("stored_file", sha256)]):
            differences.append(Difference(entity_type, row_id, "sha256", sha256, None,
                                          "stored file is missing or its content no longer matches its SHA-256"))
    exports = settings.instance_path / "exports"
    for job_id, name, sha256 in session.execute(sa.select(Job.id, Job.result_file, Job.result_sha256).where(
            Job.result_file.is_not(None), Job.result_sha256.is_not(None)).order_by(Job.id)):
        path = exports / name
        try:
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            actual = None
        if actual != sha256:
            differences.append(Difference("job", str(job_id), "result_sha256", sha256, actual,
                                          "the result file (an archive package, a list) is missing or changed"))
    return differences


def stored_file_count(session, settings) -> int:
    """How many stored files the periodic verification re-hashes (for its record)."""
    from gmp_complaints.models import Attachment, CapaEvidence, Job, Notification, SentLetter

    counts = [session.scalar(sa.select(sa.func.count(sa.distinct(column))).where(column.is_not(None)))
              for column in (Attachment.sha256, CapaEvidence.sha256, SentLetter.sha256, Notification.copy_sha256)]
    jobs = session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.result_file.is_not(None)))
    return sum(counts) + jobs


def storage_verification_due(uow, *, every_days: int) -> bool:
    """Whether the periodic verification is due: never run, or last run ``every_days`` or more ago."""
    from datetime import timedelta

    with uow:
        last = uow.session.scalar(sa.select(sa.func.max(AuditEvent.occurred_at)).where(
            AuditEvent.action == "storage.verified"))
        return last is None or uow.now() - last >= timedelta(days=every_days)


def verify_storage(uow, *, actor_id: int | None = None) -> tuple[list[Difference], int]:
    """The periodic verification (RET-03): every stored file re-hashed, the audit log and its checkpoints, every
    signature against its manifest and the site key. Writes the result to the audit trail and tells the head
    of quality of any difference. Returns (differences, files checked)."""
    from gmp_complaints.domain.notices import NoticeKind
    from gmp_complaints.domain.roles import Role
    from gmp_complaints.services.notices import holders_of, notify
    from signatures.service import signature_problems

    with uow:
        session = uow.session
        differences = check_log(session, uow.settings)
        differences += [Difference("signature", str(signature_id), None, None, None, problem)
                        for signature_id, problem in signature_problems(session)]
        differences += stored_file_differences(session, uow.settings)
        files = stored_file_count(session, uow.settings)
    with uow:
        event = DomainEvent("storage.verified", "storage", None, {
            "files": [None, files], "differences": [None, len(differences)],
            "detail": [None, [d.describe() for d in differences[:20]] or None]}, actor_id=actor_id)
        uow.record(event)
        if differences:
            notify(uow, holders_of(uow.session, Role.qa_head), NoticeKind.storage_verification_failed,
                   subject_type="storage", subject_id=0, record_label=str(len(differences)), actor_id=actor_id)
        uow.commit()
    return differences, files


def integrity_check(uow, *, actor_id: int | None = None) -> list[Difference]:
    with uow:
        session = uow.session
        differences = check_log(session, uow.settings)
        audited_types = {spec.entity_type for _cls, spec in _audited_classes()}
        trail = replay(session)
        differences += compare(trail, live_snapshots(session), audited_types)
        differences += signature_differences(session, trail)
        differences += stored_file_differences(session, uow.settings)
    with uow:
        uow.record(DomainEvent(
            "audit.integrity_checked", "audit", None,
            {"differences": [None, len(differences)]}, actor_id=actor_id))
        uow.commit()
    return differences

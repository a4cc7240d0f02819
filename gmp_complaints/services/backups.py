"""Backups, test restores and schema upgrades in the audit trail (RET-04, RET-05; Annex 11 §7.2, §4.8).

Every backup (written by `gmp backup` or by `gmp tick` into the backup folder), every failed scheduled backup,
every test restore (drill) and every reconciled schema upgrade is an event of the live audit trail with what it
found: the file's SHA-256, the audit log's tree size and root hash, and the record counts. A failed scheduled
backup also tells the head of quality and the administrator (notice and e-mail)."""
from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from audit.models import AuditEvent
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.notices import NoticeKind
from gmp_complaints.domain.roles import Role
from gmp_complaints.services.notices import holders_of, notify
from gmp_complaints.uow import UnitOfWork

BACKED_UP = "instance.backed_up"
RESTORED = "instance.restored"
BACKUP_FAILED = "instance.backup_failed"
DRILLED = "instance.restore_drilled"
#: the ``entity_id`` of the instance events of `gmp tick`'s scheduled backups
SCHEDULED = "scheduled"
#: how many differences an event lists (the count is always complete)
DETAIL_LIMIT = 20


def backup_due(uow: UnitOfWork, *, every_days: int) -> bool:
    """A scheduled backup is due: none written yet, or the last one ``every_days`` or more ago (0: at every tick).
    A failed attempt does not count: the next tick tries again."""
    if every_days == 0:
        return True
    with uow:
        last = uow.session.scalar(sa.select(sa.func.max(AuditEvent.occurred_at)).where(
            AuditEvent.action == BACKED_UP, AuditEvent.entity_id == SCHEDULED))
        return last is None or uow.now() - last >= timedelta(days=every_days)


def _counts(manifest: dict) -> dict:
    tables = manifest.get("tables") or {}
    return {"tables": [None, len(tables)], "rows": [None, sum(t["rows"] for t in tables.values())],
            "table_rows": [None, {name: t["rows"] for name, t in sorted(tables.items())}]}


def record_backup(uow: UnitOfWork, *, file: str, sha256: str, manifest: dict, scheduled: bool,
                  rotated_out=()) -> None:
    """A backup written: which file and its SHA-256, the audit log it holds, the rows per table."""
    changes = {"file": [None, file], "file_sha256": [None, sha256], "tree_size": [None, manifest["tree_size"]],
               "root_hash": [None, manifest["root_hash"]], "backup_created_at": [None, manifest["created_at"]],
               **_counts(manifest)}
    if rotated_out:
        changes["rotated_out"] = [None, list(rotated_out)]
    with uow:
        uow.record(DomainEvent(BACKED_UP, "instance", SCHEDULED if scheduled else None, changes))
        uow.commit()


def record_backup_failure(uow: UnitOfWork, *, directory: str, error: str) -> int:
    """A scheduled backup that failed: in the trail, and the head of quality and the administrator are told
    (notice, and e-mail through the outbox where mail is configured). Returns how many were told."""
    with uow:
        uow.record(DomainEvent(BACKUP_FAILED, "instance", SCHEDULED,
                               {"directory": [None, directory], "error": [None, error[:2000]]}))
        told = notify(uow, holders_of(uow.session, Role.qa_head, Role.admin), NoticeKind.backup_failed,
                      subject_type="backup", subject_id=0, record_label=directory[-64:], actor_id=None)
        uow.commit()
    return told


def recorded_backup_files(uow: UnitOfWork) -> frozenset[str]:
    """The SHA-256 of every backup file this instance's audit trail recorded as written or restored."""
    with uow:
        bodies = uow.session.scalars(sa.select(AuditEvent.canonical).where(
            AuditEvent.action.in_([BACKED_UP, RESTORED]), AuditEvent.disposal_id.is_(None)))
        found = set()
        for body in bodies:
            pair = (json.loads(bytes(body)).get("changes") or {}).get("file_sha256") or [None, None]
            if pair[1]:
                found.add(pair[1])
        return frozenset(found)


def record_drill(uow: UnitOfWork, *, file: str, sha256: str, passed: bool, manifest: dict | None, tables: int,
                 rows: int, differences: list[str]) -> None:
    """The result of a test restore in the live trail: pass or fail, what was reconciled, the differences."""
    changes = {"result": [None, "pass" if passed else "fail"], "file": [None, file], "file_sha256": [None, sha256],
               "tables": [None, tables], "rows": [None, rows], "differences": [None, len(differences)],
               "detail": [None, differences[:DETAIL_LIMIT] or None]}
    if manifest:
        changes |= {"tree_size": [None, manifest.get("tree_size")], "root_hash": [None, manifest.get("root_hash")],
                    "backup_created_at": [None, manifest.get("created_at")]}
    with uow:
        uow.record(DomainEvent(DRILLED, "instance", None, changes))
        uow.commit()


def record_schema_upgrade(uow: UnitOfWork, *, from_revision: str | None, to_revision: str | None, tables: int,
                          rows: int, declared: list[str], refused: list[str]) -> None:
    """A schema upgrade over a database that held records (RET-05): what was reconciled, the changes the
    migrations declared, and — for a refused upgrade, rolled back — the undeclared differences."""
    changes = {"from_revision": [None, from_revision], "to_revision": [None, to_revision],
               "tables": [None, tables], "rows": [None, rows], "declared": [None, declared[:DETAIL_LIMIT] or None],
               "differences": [None, len(refused)], "detail": [None, refused[:DETAIL_LIMIT] or None]}
    with uow:
        uow.record(DomainEvent("schema.upgrade_refused" if refused else "schema.upgraded", "schema",
                               to_revision, changes))
        uow.commit()

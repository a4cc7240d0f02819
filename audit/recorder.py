"""The only writer of the audit trail. Called by the unit of work inside the transaction of the change.

It locks the log head, gives each event the next gapless index, stores the canonical bytes and their
RFC 6962 leaf hash, extends the compact range and, when due, writes a signed checkpoint.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from audit.keys import Signer
from audit.models import AuditCheckpoint, AuditEvent, AuditLogHead
from audit.verify import CANON_VERSION, CompactRange, canonical_bytes, canonical_value, leaf_hash


@dataclass(frozen=True)
class AuditEntry:
    """An event ready to be sealed: who, when, what, why."""

    occurred_at: datetime
    tx_id: str
    actor_id: int | None
    actor_name: str
    action: str
    entity_type: str
    entity_id: str | None
    changes: dict[str, list[Any]]
    reason: str | None
    source_ip: str | None

    def document(self, index: int) -> dict:
        return {
            "v": CANON_VERSION,
            "index": index,
            "occurred_at": self.occurred_at,
            "tx": self.tx_id,
            "actor": {"id": self.actor_id, "name": self.actor_name},
            "action": self.action,
            "entity": {"type": self.entity_type, "id": self.entity_id},
            "changes": self.changes,
            "reason": self.reason,
            "source_ip": self.source_ip,
        }


@dataclass(frozen=True)
class CheckpointPolicy:
    every_events: int = 1000
    every_minutes: int = 5


_HEAD = AuditLogHead.__table__
_EVENTS = AuditEvent.__table__


@dataclass
class _Head:
    tree_size: int
    compact_range: str
    last_checkpoint_size: int
    last_checkpoint_at: datetime | None
    #: the signed checkpoint of the head as ``record`` left it, for the copy kept outside the database
    signed_note: str | None = None


_STATEMENTS: dict[str, tuple] = {}


def _statements(dialect_name: str) -> tuple:
    """The sealing statements, built once per dialect: they run inside every write."""
    if dialect_name not in _STATEMENTS:
        from gmp_complaints.db import database_clock_expression
        from gmp_complaints.models import User

        actor = sa.select(User).where(User.id == sa.bindparam("actor_id"))
        actor_name = actor.with_only_columns(User.printed_name).scalar_subquery()
        actor_username = actor.with_only_columns(User.username).scalar_subquery()
        lock = (sa.select(_HEAD.c.tree_size, _HEAD.c.compact_range, _HEAD.c.last_checkpoint_size,
                          _HEAD.c.last_checkpoint_at, actor_name.label("actor_name"),
                          actor_username.label("actor_username"),
                          database_clock_expression(dialect_name).label("clock"))
                .where(_HEAD.c.id == 1).with_for_update(of=_HEAD))
        save = _HEAD.update().where(_HEAD.c.id == 1).values(
            tree_size=sa.bindparam("tree_size"), compact_range=sa.bindparam("compact_range"),
            last_checkpoint_size=sa.bindparam("last_checkpoint_size"),
            last_checkpoint_at=sa.bindparam("last_checkpoint_at", type_=_HEAD.c.last_checkpoint_at.type))
        _STATEMENTS[dialect_name] = (lock, save, _EVENTS.insert())
    return _STATEMENTS[dialect_name]


def _lock_head(session, actor_id: int | None = None) -> tuple[_Head, tuple[str, str] | None, datetime]:
    """Lock the head row for the rest of the transaction; with it, the acting user's printed name and
    user name, and the database clock (one round trip instead of three)."""
    from gmp_complaints.db import parse_database_clock

    connection = session.connection()
    lock, _save, _insert = _statements(connection.dialect.name)
    row = connection.execute(lock, {"actor_id": actor_id}).one()
    head = _Head(row.tree_size, row.compact_range, row.last_checkpoint_size, row.last_checkpoint_at)
    actor = (row.actor_name, row.actor_username) if row.actor_username is not None else None
    return head, actor, parse_database_clock(row.clock)


def _compact(head: _Head) -> CompactRange:
    hashes = [bytes.fromhex(h) for h in head.compact_range.split()] if head.compact_range else []
    return CompactRange(head.tree_size, hashes)


def _save_head(session, head: _Head) -> None:
    connection = session.connection()
    _lock, save, _insert = _statements(connection.dialect.name)
    connection.execute(save, {"tree_size": head.tree_size, "compact_range": head.compact_range,
                              "last_checkpoint_size": head.last_checkpoint_size,
                              "last_checkpoint_at": head.last_checkpoint_at})


def lock_log(session, actor_id: int | None) -> tuple[_Head, tuple[str, str] | None, datetime]:
    """Step one of sealing: take the log's lock (with the actor's printed name and user name, and the
    database clock)."""
    return _lock_head(session, actor_id)


def record(session, head: _Head, entries: list[AuditEntry], *, signer: Signer, origin: str,
           policy: CheckpointPolicy, now: datetime, force_checkpoint: bool = False) -> list[int]:
    """Seal ``entries`` into the log locked by ``lock_log``; returns their indices. Never commits.

    Core statements, not ORM objects: this runs inside every write and must stay cheap. The new head is always
    signed (``head.signed_note``, about 0.1 ms): the unit of work writes that checkpoint outside the database once
    the transaction is committed. The database keeps a checkpoint row only as ``policy`` says (or when forced), so
    the table and the export bundles do not grow by one checkpoint per commit.
    """
    compact = _compact(head)
    indices, rows = [], []
    for entry in entries:
        index = compact.size
        data = canonical_bytes(entry.document(index))
        leaf = leaf_hash(data)
        rows.append({
            "log_index": index, "occurred_at": entry.occurred_at, "tx_id": entry.tx_id, "actor_id": entry.actor_id,
            "actor_name": entry.actor_name, "action": entry.action, "entity_type": entry.entity_type,
            "entity_id": entry.entity_id, "reason": entry.reason, "canonical": data, "leaf_hash": leaf,
        })
        compact.append(leaf)
        indices.append(index)
    connection = session.connection()
    connection.execute(_statements(connection.dialect.name)[2], rows)
    head.tree_size = compact.size
    head.compact_range = " ".join(h.hex() for h in compact.hashes)
    unsealed = head.tree_size - head.last_checkpoint_size
    due = unsealed >= policy.every_events or (
        unsealed > 0 and (head.last_checkpoint_at is None
                          or now - head.last_checkpoint_at >= timedelta(minutes=policy.every_minutes)))
    if force_checkpoint or due:
        _write_checkpoint(session, head, compact, signer, origin, now)
    if head.signed_note is None:
        head.signed_note = signer.sign_checkpoint(origin, head.tree_size, compact.root(), canonical_value(now))
    _save_head(session, head)
    return indices


def _write_checkpoint(session, head: _Head, compact: CompactRange, signer: Signer, origin: str,
                      now: datetime) -> bool:
    if head.tree_size == head.last_checkpoint_size and head.last_checkpoint_at is not None:
        return False  # nothing new since the last one: the same head is already signed
    root = compact.root()
    note = signer.sign_checkpoint(origin, head.tree_size, root, canonical_value(now))
    session.add(AuditCheckpoint(
        tree_size=head.tree_size, root_hash=root, signed_note=note, key_id=signer.key_id.hex(), created_at=now))
    head.last_checkpoint_size = head.tree_size
    head.last_checkpoint_at = now
    head.signed_note = note
    return True


def checkpoint_now(session, *, signer: Signer, origin: str, now: datetime, notes: list[str] | None = None) -> int:
    """Sign the current head if anything is unsealed (``gmp tick``, exports). Returns the tree size; the new
    checkpoint's note is appended to ``notes`` (for the copy kept outside the database)."""
    head, _, _ = _lock_head(session)
    if head.tree_size > 0 and _write_checkpoint(session, head, _compact(head), signer, origin, now):
        _save_head(session, head)
        if notes is not None:
            notes.append(head.signed_note)
    return head.tree_size

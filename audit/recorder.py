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


def _lock_head(session) -> AuditLogHead:
    return session.scalars(sa.select(AuditLogHead).where(AuditLogHead.id == 1).with_for_update()).one()


def _compact(head: AuditLogHead) -> CompactRange:
    hashes = [bytes.fromhex(h) for h in head.compact_range.split()] if head.compact_range else []
    return CompactRange(head.tree_size, hashes)


def record(session, entries: list[AuditEntry], *, signer: Signer, origin: str, policy: CheckpointPolicy,
           now: datetime, force_checkpoint: bool = False) -> list[int]:
    """Seal ``entries`` into the log; returns their indices. Never commits."""
    head = _lock_head(session)
    compact = _compact(head)
    indices = []
    for entry in entries:
        index = compact.size
        data = canonical_bytes(entry.document(index))
        leaf = leaf_hash(data)
        session.add(AuditEvent(
            log_index=index, occurred_at=entry.occurred_at, tx_id=entry.tx_id, actor_id=entry.actor_id,
            actor_name=entry.actor_name, action=entry.action, entity_type=entry.entity_type,
            entity_id=entry.entity_id, reason=entry.reason, canonical=data, leaf_hash=leaf,
        ))
        compact.append(leaf)
        indices.append(index)
    head.tree_size = compact.size
    head.compact_range = " ".join(h.hex() for h in compact.hashes)
    unsealed = head.tree_size - head.last_checkpoint_size
    due = unsealed >= policy.every_events or (
        unsealed > 0 and (head.last_checkpoint_at is None
                          or now - head.last_checkpoint_at >= timedelta(minutes=policy.every_minutes)))
    if force_checkpoint or due:
        _write_checkpoint(session, head, compact, signer, origin, now)
    return indices


def _write_checkpoint(session, head: AuditLogHead, compact: CompactRange, signer: Signer, origin: str,
                      now: datetime) -> AuditCheckpoint | None:
    if head.tree_size == head.last_checkpoint_size and head.last_checkpoint_at is not None:
        return None  # nothing new since the last one: the same head is already signed
    root = compact.root()
    note = signer.sign_checkpoint(origin, head.tree_size, root, canonical_value(now))
    checkpoint = AuditCheckpoint(
        tree_size=head.tree_size, root_hash=root, signed_note=note, key_id=signer.key_id.hex(), created_at=now)
    session.add(checkpoint)
    head.last_checkpoint_size = head.tree_size
    head.last_checkpoint_at = now
    return checkpoint


def checkpoint_now(session, *, signer: Signer, origin: str, now: datetime) -> int:
    """Sign the current head if anything is unsealed (``gmp tick``, exports). Returns the tree size."""
    head = _lock_head(session)
    if head.tree_size > 0:
        _write_checkpoint(session, head, _compact(head), signer, origin, now)
    return head.tree_size

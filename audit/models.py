"""Audit tables. Append-only in the database itself (triggers; on PostgreSQL also grants)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gmp_complaints.db import Base, UTCDateTime


class AuditEvent(Base):
    """One audit event and its place in the Merkle log. ``canonical`` holds the exact bytes that were
    hashed; every other column is a copy of a field of those bytes, kept for searching."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_entity", "entity_type", "entity_id", "log_index"),
        sa.CheckConstraint("log_index >= 0", name="log_index_not_negative"),
    )

    log_index: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    tx_id: Mapped[str] = mapped_column(sa.String(36))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_name: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    entity_type: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[str | None] = mapped_column(sa.String(64))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    canonical: Mapped[bytes] = mapped_column(sa.LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    #: set when the record the event is about was disposed of: ``canonical`` is then empty, the leaf hash stays
    disposal_id: Mapped[int | None] = mapped_column(sa.Integer)


class AuditLogHead(Base):
    """The sequencer's state: tree size and compact range. One row, locked by every writer, so log
    indices are gapless and in commit order."""

    __tablename__ = "audit_log_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(sa.BigInteger)
    #: hex hashes of the compact range, space-separated
    compact_range: Mapped[str] = mapped_column(sa.Text)
    last_checkpoint_size: Mapped[int] = mapped_column(sa.BigInteger)
    last_checkpoint_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditCheckpoint(Base):
    """A signed tree head: C2SP tlog-checkpoint text in signed-note form."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    signed_note: Mapped[str] = mapped_column(sa.Text)
    key_id: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SigningKey(Base):
    """Public half of a site signing key. The private half never enters the database.

    A key is valid from ``valid_from`` until the next key's ``valid_from``: rotation adds a row and
    changes none, so the table stays append-only.
    """

    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)

"""The unit of work: one transaction per service call, one commit, one place for audit events.

Services do ``with uow: ...; uow.commit()``. Leaving the block without committing rolls back, so a
request that fails half-way stores nothing. ``commit`` turns the events the services recorded into
sealed audit records in the same transaction (``audit.recorder`` is the only writer).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from audit import recorder, tracking
from audit.actions import ActionKind, action_spec
from audit.keys import load_signer
from gmp_complaints.config import Settings
from gmp_complaints.db import database_now
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.events import DomainEvent


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker, settings: Settings, system_actor: str = "system"):
        self.session_factory = session_factory
        self.settings = settings
        #: who acts when no user does: "anonymous" on a log-in page, the CLI command, the timer
        self.system_actor = system_actor
        self.session: Session | None = None
        self.events: list[DomainEvent] = []
        self.force_checkpoint = False
        self._now: datetime | None = None

    def __enter__(self) -> "UnitOfWork":
        self.session = self.session_factory()
        self.events = []
        self.force_checkpoint = False
        self._now = None
        return self

    def __exit__(self, *exc_info) -> None:
        self.session.rollback()
        self.session.close()
        self.session = None

    def now(self) -> datetime:
        """The database clock, read once so that every write of this unit carries the same instant."""
        if self._now is None:
            self._now = database_now(self.session)
        return self._now

    def record(self, event: DomainEvent) -> None:
        self.events.append(event)

    def commit(self) -> None:
        self.session.flush()
        self._emit_audit_events()
        self.session.commit()
        self.events = []
        self.force_checkpoint = False
        self._now = None

    def _emit_audit_events(self) -> None:
        """The one place where collected events become audit records, inside the transaction."""
        if not self.events:
            return
        pending = tracking.take_pending(self.session)
        tx_id = tracking.transaction_id(self.session)
        actor_ids = {e.actor_id for e in self.events if e.actor_id is not None}
        # Locking the log first serialises writers here, late in the transaction, and fetches the
        # usual single actor's printed name in the same round trip.
        head, first_name, clock = recorder.lock_log(self.session, next(iter(actor_ids)) if actor_ids else None)
        if self._now is None:
            self._now = clock
        names = {next(iter(actor_ids)): first_name} if actor_ids else {}
        if len(actor_ids) > 1:
            names = self._actor_names(actor_ids)
        entries = []
        attached: set[tuple[str, str]] = set()
        for event in self.events:
            spec = action_spec(event.action)
            if spec.kind is ActionKind.change and not (event.reason or "").strip():
                raise ValidationError(Msg("A reason is required."), {"reason": [Msg("Give the reason for this change.")]})
            changes: dict = {}
            key = (event.entity_type, event.entity_id)
            if event.entity_id is not None:
                tracking.claim(self.session, key)
                if key in pending and key not in attached:
                    # Column diffs go with the first event about the row; explicit changes win.
                    changes.update({k: list(v) for k, v in pending[key].changes.items()})
                    attached.add(key)
            changes.update(event.changes)
            entries.append(recorder.AuditEntry(
                occurred_at=self.now(), tx_id=tx_id, actor_id=event.actor_id,
                actor_name=names.get(event.actor_id, self.system_actor), action=event.action,
                entity_type=event.entity_type, entity_id=event.entity_id, changes=changes,
                reason=event.reason, source_ip=event.source_ip,
            ))
        recorder.record(
            self.session, head, entries,
            signer=load_signer(self.settings.signing_key_file, self.settings.audit_origin),
            origin=self.settings.audit_origin,
            policy=recorder.CheckpointPolicy(self.settings.checkpoint_every_events,
                                             self.settings.checkpoint_every_minutes),
            now=self.now(),
            force_checkpoint=self.force_checkpoint,
        )

    def _actor_names(self, actor_ids: set[int]) -> dict[int, str]:
        if not actor_ids:
            return {}
        from gmp_complaints.models import User

        rows = self.session.execute(sa.select(User.id, User.printed_name).where(User.id.in_(actor_ids)))
        return dict(rows.all())

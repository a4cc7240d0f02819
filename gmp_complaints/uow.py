"""The unit of work: one transaction per service call, one commit, one place for audit events.

Services do ``with uow: ...; uow.commit()``, and only the use case at the top commits: nothing below it
commits or rolls back on its own. Leaving the block without committing rolls back the transaction *and*
drops the events collected in it, so a request that fails half-way stores nothing and claims nothing.
``commit`` turns the events the services recorded into sealed audit records in the same transaction
(``audit.recorder`` is the only writer).

A refused act (wrong password, role not allowed, locked account) must leave one trace: the security
record. Code that refuses registers it with ``on_refusal`` and raises; when the block is left with that
error, the main transaction is rolled back first and the security record is then written in a short
transaction of its own. The record, its version and its business events stay exactly as they were.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from audit import outside_checkpoints, recorder, tracking
from audit.actions import ActionKind, action_spec
from audit.keys import load_signer
from gmp_complaints.config import Settings
from gmp_complaints.db import database_now
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.people import note_person


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker, settings: Settings, system_actor: str = "system"):
        self.session_factory = session_factory
        self.settings = settings
        #: who acts when no user does: "anonymous" on a log-in page, the CLI command, the timer
        self.system_actor = system_actor
        #: the address of the web request this unit serves (None at the command line): a password check that was
        #: not given one counts its failures, lockout and rate limit against it
        self.client_address: str | None = None
        self.session: Session | None = None
        self.events: list[DomainEvent] = []
        self.force_checkpoint = False
        #: signed checkpoints of this transaction, written outside the database once it is committed: (note, also
        #: stored in the database)
        self.checkpoint_notes: list[tuple[str, bool]] = []
        self._now: datetime | None = None
        self._refusal_records: list[Callable[["UnitOfWork"], None]] = []
        self.recorded_acts: list[tuple[str, str]] = []

    def __enter__(self) -> "UnitOfWork":
        if self.session is not None:
            raise RuntimeError("A unit of work is not re-entered: one use case, one transaction.")
        self.session = self.session_factory()
        self._reset()
        self._refusal_records = []
        #: (action, entity type) of every event recorded in this block, kept across its commit: what was
        #: written here (a view may skip reading a table it knows to be empty only if nothing was added)
        self.recorded_acts: list[tuple[str, str]] = []
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        records, self._refusal_records = self._refusal_records, []
        try:
            self.rollback()
        finally:
            self.session.close()
            self.session = None
        if exc is not None and records:
            self._write_refusal_records(records)

    def _reset(self) -> None:
        self.events = []
        self.force_checkpoint = False
        self.checkpoint_notes = []
        self._now = None

    def rollback(self) -> None:
        """Undo the transaction and forget the events collected in it."""
        self.session.rollback()
        self._reset()

    def on_refusal(self, write: Callable[["UnitOfWork"], None]) -> None:
        """Register the security record of an act about to be refused. ``write(uow)`` runs only if the
        block ends with an error, after the main transaction is rolled back, in its own transaction;
        it records its events (and may change e.g. a failed-login counter) and the unit commits them."""
        self._refusal_records.append(write)

    def _write_refusal_records(self, records) -> None:
        with self:
            for write in records:
                write(self)
            self.commit()

    def now(self) -> datetime:
        """The database clock, read once so that every write of this unit carries the same instant."""
        if self._now is None:
            self._now = database_now(self.session)
        return self._now

    def note_database_clock(self, clock: datetime) -> None:
        """A database clock reading that came back with another statement: the unit's "now" if it has none."""
        if self._now is None:
            self._now = clock

    def record(self, event: DomainEvent) -> None:
        self.events.append(event)
        self.recorded_acts.append((event.action, event.entity_type))

    def commit(self) -> None:
        self.session.flush()
        self._emit_audit_events()
        self.session.commit()
        notes = self.checkpoint_notes
        self._reset()
        if notes:
            outside_checkpoints.publish_after_commit(self.settings, notes)

    def _emit_audit_events(self) -> None:
        """The one place where collected events become audit records, inside the transaction."""
        if not self.events:
            return
        pending = tracking.take_pending(self.session)
        tx_id = tracking.transaction_id(self.session)
        actor_ids = {e.actor_id for e in self.events if e.actor_id is not None}
        # Locking the log first serialises writers here, late in the transaction, and fetches the
        # usual single actor's printed name in the same round trip.
        first_id = next(iter(actor_ids)) if actor_ids else None
        head, first_actor, clock = recorder.lock_log(self.session, first_id)
        if self._now is None:
            self._now = clock
        names = {}
        if first_actor is not None:
            names[first_id] = first_actor[0]
            note_person(self.session, first_id, username=first_actor[1], printed_name=first_actor[0])
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
            ref = (event.change_control_ref or "").strip()
            if spec.change_control and event.actor_id is not None and not ref:
                # AT-10: the safety net behind every configuration use case, which asks for it first.
                raise ValidationError(Msg("A change-control reference is required."), {"change_control_ref": [
                    Msg("Give the change-control reference this configuration change is made under.")]})
            if ref:
                changes["change_control_ref"] = [None, ref]
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
        self.checkpoint_notes.append((head.signed_note, head.last_checkpoint_size == head.tree_size))

    def _actor_names(self, actor_ids: set[int]) -> dict[int, str]:
        if not actor_ids:
            return {}
        from gmp_complaints.models import User

        rows = self.session.execute(sa.select(User.id, User.printed_name).where(User.id.in_(actor_ids)))
        return dict(rows.all())

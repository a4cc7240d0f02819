"""The unit of work: one transaction per service call, one commit, one place for audit events.

Services do ``with uow: ...; uow.commit()``. Leaving the block without committing rolls back, so a
request that fails half-way stores nothing.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from gmp_complaints.config import Settings
from gmp_complaints.db import database_now
from gmp_complaints.domain.events import DomainEvent

audit_log = logging.getLogger("gmp.audit")


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker, settings: Settings):
        self.session_factory = session_factory
        self.settings = settings
        self.session: Session | None = None
        self.events: list[DomainEvent] = []
        self._now: datetime | None = None

    def __enter__(self) -> "UnitOfWork":
        self.session = self.session_factory()
        self.events = []
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
        self._now = None

    def _emit_audit_events(self) -> None:
        """The one place where collected events become audit records, inside the transaction.

        The audit trail tables arrive with the audit issue; until then security events go to the
        ``gmp.audit`` logger.
        """
        for event in self.events:
            audit_log.info(
                "%s %s:%s actor=%s ip=%s changes=%s reason=%s",
                event.action, event.entity_type, event.entity_id, event.actor_id,
                event.source_ip, event.changes, event.reason,
            )

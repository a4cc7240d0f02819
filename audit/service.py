"""Audit-trail use cases: signing keys, checkpoints on demand, reading events for people."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from audit import recorder
from audit.keys import (
    create_key_file_if_missing,
    load_signer,
    register_public_key,
    registered_key,
    retire_key_file,
)
from audit.models import AuditEvent
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.events import DomainEvent


def ensure_signing_key(uow) -> str:
    """Create the site signing key if missing and register its public half. Idempotent."""
    settings = uow.settings
    create_key_file_if_missing(settings.signing_key_file)
    signer = load_signer(settings.signing_key_file, settings.audit_origin)
    with uow:
        if registered_key(uow.session, signer) is None:
            register_public_key(uow.session, signer, uow.now())
            uow.record(DomainEvent(
                "audit.key_registered", "signing_key", signer.key_id.hex(),
                {"key_id": [None, signer.key_id.hex()], "name": [None, signer.name]}))
            uow.force_checkpoint = True
            uow.commit()
    return signer.key_id.hex()


def rotate_signing_key(uow, *, reason: str) -> tuple[str, str]:
    """A new key signs from now on; the old public key stays registered and verifies old checkpoints."""
    settings = uow.settings
    if not (reason or "").strip():
        raise ValidationError(Msg("A reason is required."), {"reason": [Msg("Give the reason for this change.")]})
    old = load_signer(settings.signing_key_file, settings.audit_origin)
    # Seal everything signed so far under the old key before it retires.
    seal(uow)
    retired = retire_key_file(settings.signing_key_file, old.key_id.hex())
    try:
        new_id = ensure_signing_key(uow)
    except Exception:
        retired.rename(settings.signing_key_file)  # nothing was registered: put the old key back
        raise
    return old.key_id.hex(), new_id


def seal(uow) -> int:
    """Sign a checkpoint over everything recorded so far (``gmp tick``, before exports)."""
    settings = uow.settings
    with uow:
        notes: list[str] = []
        size = recorder.checkpoint_now(
            uow.session, signer=load_signer(settings.signing_key_file, settings.audit_origin),
            origin=settings.audit_origin, now=uow.now(), notes=notes)
        uow.checkpoint_notes += [(note, True) for note in notes]
        uow.commit()
    return size


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    entity_type: str | None = None
    entity_id: str | None = None
    actor_id: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    #: a record and its parts (entity type -> ids): the events of any of them (the filter of ``complaint:7``
    #: then also finds its replies, signatures, attachments …); the entity fields name what was asked for
    records: dict | None = None

    def describe(self) -> dict:
        """What was asked for (the parts a record's filter takes in follow from its entity)."""
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items()
                if v is not None and k != "records"}


def parse_entity(text: str | None) -> tuple[str | None, str | None]:
    """``complaint:12`` → ("complaint", "12"); ``user`` → ("user", None)."""
    if not text:
        return None, None
    entity_type, _, entity_id = text.strip().partition(":")
    if not entity_type or not entity_type.replace("_", "").isalnum():
        raise ValidationError(Msg("Unknown record."), {"entity": [Msg("Write the record as type:id, e.g. user:12.")]})
    return entity_type, entity_id or None


def day_bounds(day: date, site_timezone: str, end: bool = False) -> datetime:
    """The UTC instant a site-local day starts (or, with ``end``, the next day starts)."""
    local = datetime.combine(day + timedelta(days=1) if end else day, time.min, ZoneInfo(site_timezone))
    return local


def filtered_query(event_filter: EventFilter, visible_types: frozenset[str] | None, site_timezone: str):
    query = sa.select(AuditEvent)
    if visible_types is not None:
        query = query.where(AuditEvent.entity_type.in_(sorted(visible_types)))
    if event_filter.records is not None:
        query = query.where(sa.or_(*[sa.and_(AuditEvent.entity_type == entity_type, AuditEvent.entity_id.in_(ids))
                                     for entity_type, ids in event_filter.records.items() if ids] or [sa.false()]))
    else:
        if event_filter.entity_type:
            query = query.where(AuditEvent.entity_type == event_filter.entity_type)
        if event_filter.entity_id:
            query = query.where(AuditEvent.entity_id == event_filter.entity_id)
    if event_filter.actor_id is not None:
        query = query.where(AuditEvent.actor_id == event_filter.actor_id)
    if event_filter.action:
        query = query.where(AuditEvent.action == event_filter.action)
    if event_filter.date_from:
        query = query.where(AuditEvent.occurred_at >= day_bounds(event_filter.date_from, site_timezone))
    if event_filter.date_to:
        query = query.where(AuditEvent.occurred_at < day_bounds(event_filter.date_to, site_timezone, end=True))
    return query


@dataclass(frozen=True)
class EventView:
    index: int
    occurred_at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    entity_type: str
    entity_id: str | None
    changes: dict
    reason: str | None
    source_ip: str | None
    #: the record was disposed of after its retention date: the event keeps its place, its body is gone
    disposed: bool = False


def _view(row: AuditEvent) -> EventView:
    import json

    document = json.loads(row.canonical) if row.canonical else {}
    return EventView(row.log_index, row.occurred_at, row.actor_id, row.actor_name, row.action, row.entity_type,
                     row.entity_id, document.get("changes") or {}, row.reason, document.get("source_ip"),
                     disposed=row.disposal_id is not None)


def list_events(uow, event_filter: EventFilter, visible_types: frozenset[str] | None, *,
                limit: int, offset: int = 0, oldest_first: bool = False) -> tuple[list[EventView], int]:
    with uow:
        query = filtered_query(event_filter, visible_types, uow.settings.site_timezone)
        total = uow.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
        order = AuditEvent.log_index if oldest_first else AuditEvent.log_index.desc()
        rows = uow.session.scalars(query.order_by(order).limit(limit).offset(offset)).all()
        return [_view(r) for r in rows], total


def events_of_records(session, records: dict[str, list[str]], *, after_index: int = -1) -> list[EventView]:
    """Events about any of ``records`` (entity type -> ids), oldest first, after ``after_index``."""
    conditions = [sa.and_(AuditEvent.entity_type == entity_type, AuditEvent.entity_id.in_(ids))
                  for entity_type, ids in records.items() if ids]
    if not conditions:
        return []
    rows = session.scalars(sa.select(AuditEvent).where(sa.or_(*conditions), AuditEvent.log_index > after_index)
                           .order_by(AuditEvent.log_index))
    return [_view(row) for row in rows]


def actions_of_records(session, records: dict[str, list[str]]) -> set[tuple[str, int | None]]:
    """Who did what to any of ``records``: the distinct (action, actor id) pairs of their events, for
    the four-eyes rule (an author never approves their own work)."""
    conditions = [sa.and_(AuditEvent.entity_type == entity_type, AuditEvent.entity_id.in_(ids))
                  for entity_type, ids in records.items() if ids]
    if not conditions:
        return set()
    return {(action, actor_id) for action, actor_id in session.execute(
        sa.select(AuditEvent.action, AuditEvent.actor_id).where(sa.or_(*conditions)).distinct())}


def iter_events(uow, event_filter: EventFilter, visible_types: frozenset[str] | None, batch: int = 2000):
    """All matching events, oldest first, read in batches (for CSV)."""
    with uow:
        query = filtered_query(event_filter, visible_types, uow.settings.site_timezone).order_by(AuditEvent.log_index)
        last = -1
        while True:
            rows = uow.session.scalars(query.where(AuditEvent.log_index > last).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield _view(row)
            last = rows[-1].log_index


def record_export(uow, *, action: str, actor_id: int | None, scope: dict, file_sha256: str | None,
                  event_count: int, source_ip: str | None) -> None:
    """An export is itself an audit event, followed by a checkpoint (DESIGN §3)."""
    with uow:
        uow.record(DomainEvent(
            action, "audit", None,
            {"scope": [None, scope], "file_sha256": [None, file_sha256], "event_count": [None, event_count]},
            actor_id=actor_id, source_ip=source_ip))
        uow.force_checkpoint = True
        uow.commit()

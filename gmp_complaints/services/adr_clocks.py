"""The ADR reporting clocks per market as master data (HO-01): loaded by migration 0046 with today's rules,
taken into the audit trail by ``gmp init``, changed by the administrator with a reason. A hand-off takes the
clocks in force when it is created and stores its due dates with it; a later change does not touch it."""
from __future__ import annotations

import sqlalchemy as sa

from audit.models import AuditEvent
from gmp_complaints.domain.adr import (
    CLOCK_MARKETS,
    CLOCKS_LOADED,
    DEFAULT_ADR_CLOCKS,
    ClockRule,
    check_clock_days,
    clock_rule,
)
from gmp_complaints.domain.errors import Msg, NotFoundError, PermissionDeniedError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.models import AdrClockRow, adr_clock_line
from gmp_complaints.services import schemas
from gmp_complaints.services.reference_data import reference
from gmp_complaints.uow import UnitOfWork

ENTITY = ("configuration", "adr_clocks")


def _load(session) -> dict[ClockRule, int]:
    clocks = dict(DEFAULT_ADR_CLOCKS)  # a rule without a row (never expected: the migration loads them all)
    clocks.update({ClockRule(row.rule): row.days for row in session.scalars(sa.select(AdrClockRow))})
    return clocks


def adr_clocks(session) -> dict[ClockRule, int]:
    """The clocks in force, in calendar days after day 0 (the process's copy while the database holds the same)."""
    return reference(session, "adr_clocks", _load)


def _lines(session) -> list[str]:
    """The configuration as the audit trail states it (sorted lines of ``models.adr_clock_line``)."""
    return sorted(adr_clock_line(row) for row in session.scalars(sa.select(AdrClockRow)))


def seed_adr_clocks(uow: UnitOfWork) -> bool:
    """``gmp init``: the clocks the migration loaded are taken into the audit trail once (with any rule missing
    added at today's value). Inside the caller's unit of work; the caller commits. Idempotent."""
    session = uow.session
    recorded = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == ENTITY[0], AuditEvent.entity_id == ENTITY[1]))
    present = set(session.scalars(sa.select(AdrClockRow.rule)))
    missing = [rule for rule in ClockRule if rule.value not in present]
    if recorded and not missing:
        return False
    before = _lines(session) if recorded else None
    for rule in missing:
        session.add(AdrClockRow(rule=rule.value, market=CLOCK_MARKETS[rule], days=DEFAULT_ADR_CLOCKS[rule],
                                updated_at=uow.now()))
    session.flush()
    uow.record(DomainEvent("adr_clock.loaded", *ENTITY, {"adr_clocks": [before, _lines(session)]},
                           reason=str(CLOCKS_LOADED)))
    return True


def _view(rule: ClockRule, days: int, row: AdrClockRow | None) -> dict:
    return {"rule": rule.value, "market": CLOCK_MARKETS[rule], "days": days, "default_days": DEFAULT_ADR_CLOCKS[rule],
            "text": str(clock_rule(rule, days)),
            "updated_at": row.updated_at.isoformat() if row is not None else None}


def list_adr_clocks(uow: UnitOfWork) -> list[dict]:
    """``GET /adr-clocks``: every clock in force, with today's rule beside it."""
    with uow:
        rows = {row.rule: row for row in uow.session.scalars(sa.select(AdrClockRow))}
        return [_view(rule, days, rows.get(rule.value)) for rule, days in _load(uow.session).items()]


def change_adr_clock(uow: UnitOfWork, code: str, data: dict, *, actor: Actor) -> list[dict]:
    """``POST /adr-clocks/<rule> {days, reason, change_control_ref}``: the administrator changes one market's
    clock with a reason (an audited configuration change under change control, AT-10). Hand-offs created
    afterwards take the new clock; those made before keep the due dates they were given."""
    if Role.admin not in actor.roles:
        raise PermissionDeniedError(Msg("Only the administrator changes the ADR reporting clocks."))
    try:
        rule = ClockRule(code)
    except ValueError:
        raise NotFoundError(Msg("No ADR reporting clock %(rule)s.", rule=code)) from None
    fields = schemas.load(schemas.AdrClockChange, data)
    days = check_clock_days(fields["days"])
    with uow:
        session = uow.session
        row = session.get(AdrClockRow, rule.value, with_for_update=True)
        before = _lines(session)
        old = row.days if row is not None else DEFAULT_ADR_CLOCKS[rule]
        if row is not None and row.days == days:
            raise ValidationError(Msg("Nothing to change."), {"days": [Msg(
                "The clock is already %(days)s days.", days=days)]})
        if row is None:
            row = AdrClockRow(rule=rule.value, market=CLOCK_MARKETS[rule])
            session.add(row)
        row.days, row.updated_at, row.updated_by_id = days, uow.now(), actor.id
        session.flush()
        uow.record(DomainEvent("adr_clock.changed", *ENTITY, {
            "adr_clocks": [before, _lines(session)], "rule": [None, rule.value], "days": [old, days]},
            reason=fields["reason"], actor_id=actor.id, change_control_ref=fields["change_control_ref"]))
        uow.commit()
    return list_adr_clocks(uow)

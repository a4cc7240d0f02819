"""Compensation's records as read (SOP 5.5.1): each compensation's view with its signatures, and the
configuration — the approval ladder (the most each level approves, in CNY) and who holds each level,
audited and kept by the administrator. The use cases that agree and approve are in
``services.compensation``."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from gmp_complaints.domain.compensation import DEFAULT_LADDER, LEVEL_ORDER, ApprovalLevel, check_ladder
from gmp_complaints.domain.errors import Msg, NotFoundError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.models import (
    Compensation,
    CompensationAuthority,
    CompensationLimit,
    User,
    compensation_limit_line,
)
from gmp_complaints.people import person
from gmp_complaints.services import schemas
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.binding import canonical_snapshot_hash
from signatures.scopes import compensation_snapshot

CENT = Decimal("0.01")



def seed_compensation_ladder(uow: UnitOfWork) -> bool:
    """The company rules' defaults, when absent (``gmp init``); the caller's unit commits. Idempotent."""
    session = uow.session
    present = set(session.scalars(sa.select(CompensationLimit.level)))
    missing = [level for level in LEVEL_ORDER if level.value not in present]
    if not missing:
        return False
    before = _ladder_lines(session)
    for level in missing:
        limit = DEFAULT_LADDER[level]
        session.add(CompensationLimit(level=level.value, max_amount_cny=limit.quantize(CENT) if limit else None,
                                      updated_at=uow.now()))
    session.flush()
    uow.record(DomainEvent("configuration.compensation_ladder_seeded", "configuration", "compensation_ladder",
                           {"compensation_ladder": [before or None, _ladder_lines(session)]}))
    return True


def load_ladder(session) -> dict[ApprovalLevel, Decimal | None]:
    rows = {row.level: row.max_amount_cny for row in session.scalars(sa.select(CompensationLimit))}
    return {level: rows.get(level.value, DEFAULT_LADDER[level]) for level in LEVEL_ORDER}


def _ladder_lines(session) -> list[str]:
    return sorted(compensation_limit_line(row) for row in session.scalars(sa.select(CompensationLimit)))


def _authority_lines(session) -> list[str]:
    return sorted(f"{row.user_id}={row.level}" for row in session.scalars(sa.select(CompensationAuthority)))


def configuration_view(uow: UnitOfWork) -> dict:
    """``GET /compensation-authorities``: the ladder and who holds each level."""
    with uow:
        session = uow.session
        ladder = load_ladder(session)
        holders = session.execute(sa.select(CompensationAuthority, User).join(
            User, User.id == CompensationAuthority.user_id).order_by(User.username)).all()
        return {"ladder": [{"level": level.value, "max_amount_cny": money(limit)} for level, limit in ladder.items()],
                "authorities": [{"username": user.username, "printed_name": user.printed_name, "level": row.level}
                                for row, user in holders]}


def change_limit(uow: UnitOfWork, data: dict, *, actor_id: int) -> dict:
    """``POST /compensation-ladder {level, limit, reason}``: a level's limit in CNY (the general manager's
    stays unlimited); a configuration change with its reason."""
    fields = schemas.load(schemas.CompensationLimitChange, data)
    level, limit = fields["level"], fields["limit"]
    with uow:
        session = uow.session
        ladder = load_ladder(session)
        ladder[level] = limit.quantize(CENT) if limit is not None else None
        check_ladder(ladder)
        row = session.get(CompensationLimit, level.value)
        if row is None:
            raise NotFoundError(Msg("No approval ladder: run gmp init."))
        if row.max_amount_cny == ladder[level]:
            raise ValidationError(Msg("Nothing changed."), {"limit": [Msg("The level already has this limit.")]})
        before = _ladder_lines(session)
        row.max_amount_cny, row.updated_at, row.updated_by_id = ladder[level], uow.now(), actor_id
        session.flush()
        uow.record(DomainEvent("configuration.compensation_ladder_changed", "configuration", "compensation_ladder",
                               {"compensation_ladder": [before, _ladder_lines(session)]}, reason=fields["reason"],
                               actor_id=actor_id, change_control_ref=fields["change_control_ref"]))
        uow.commit()
    return configuration_view(uow)


def set_authority(uow: UnitOfWork, data: dict, *, actor_id: int) -> dict:
    """``POST /compensation-authorities {username, level, reason}``: grant a level to a user, change it, or
    withdraw it (``level`` null); a configuration change with its reason."""
    fields = schemas.load(schemas.CompensationAuthorityChange, data)
    with uow:
        session = uow.session
        user = session.scalars(sa.select(User).where(User.username == fields["username"])).one_or_none()
        if user is None or user.deactivated_at is not None:
            raise ValidationError(Msg("Unknown user."), {"username": [Msg("No active user has this user name.")]})
        row = session.get(CompensationAuthority, user.id)
        level = fields["level"]
        if (row.level if row else None) == (level.value if level else None):
            raise ValidationError(Msg("Nothing changed."), {"level": [Msg("The user already holds this level.")]})
        before = _authority_lines(session)
        if level is None:
            session.delete(row)
        elif row is None:
            session.add(CompensationAuthority(user_id=user.id, level=level.value, granted_at=uow.now(),
                                              granted_by_id=actor_id))
        else:
            row.level, row.granted_at, row.granted_by_id = level.value, uow.now(), actor_id
        session.flush()
        uow.record(DomainEvent("configuration.compensation_authority_changed", "configuration",
                               "compensation_authorities",
                               {"compensation_authorities": [before, _authority_lines(session)]},
                               reason=fields["reason"], actor_id=actor_id,
                               change_control_ref=fields["change_control_ref"]))
        uow.commit()
    return configuration_view(uow)


def money(value: Decimal | None) -> str | None:
    """Amounts as text with two decimals (JSON numbers would be floats)."""
    return None if value is None else format(Decimal(value).quantize(CENT), "f")


def compensations_of(session, complaint, tz) -> list[dict]:
    return [compensation_view(session, complaint, row, tz) for row in session.scalars(
        sa.select(Compensation).where(Compensation.complaint_id == complaint.id).order_by(Compensation.sequence))]


def compensation_view(session, complaint, row: Compensation, tz, *, with_signatures: bool = True) -> dict:
    view = {"complaint": complaint.number or complaint.intake_ref, "sequence": row.sequence,
            "amount": money(row.amount), "currency": row.currency, "amount_cny": money(row.amount_cny),
            "agreed_on": row.agreed_on.isoformat(), "finance_reference": row.finance_reference, "note": row.note,
            "required_level": row.required_level, "status": row.status,
            "decided_at": row.decided_at.astimezone(tz).isoformat(timespec="seconds") if row.decided_at else None,
            "recorded_by": person(session, row.created_by_id), "signatures": []}
    if with_signatures:
        current = canonical_snapshot_hash(compensation_snapshot(view, "compensation"))
        view["signatures"] = [signing.signature_view(s, current, tz)
                              for s in signing.signatures_of(session, "compensation", str(row.id))]
    return view

"""Working-day due dates keep the calendar they were calculated on (WF-05).

A calendar change (the official notice loaded, provisional years added, a calendar seeded) never silently moves a
due date that was already calculated: in the same transaction, just before the calendar's rows change, every open
complaint's working-day dates that are not yet kept are stored as the calendar gave them until then
(``keep_due_dates``, a system act on each complaint's audit trail). Afterwards every reader (the complaint, the
lists, the dashboard, the closure check and ``gmp tick``) uses the kept dates. Those still to be met that the new
calendar would put on another day are listed as "due dates calculated on an earlier calendar" (a time limit already
met keeps the date it was met against); QA moves them only by an explicit recalculation with a reason, audited
with the old and the new dates (``recalculate_due_dates`` for one complaint, ``recalculate_listed_due_dates`` for
the list). A date that counts from something new (a new reply, a reminder sent, another class) is a new calculation
on the calendar in force.

The initial field alert (HO-04) is due at the time its register entry was given when it was made; its reminders
on working days 1 and 2 are kept like the complaint's dates, on the US federal calendar.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gmp_complaints.clock import end_of_day
from gmp_complaints.domain.calendar import KeptDate, Recalculation, Term, dates_to_keep
from gmp_complaints.domain.complaints import Status
from gmp_complaints.domain.deadlines import DUE_FIELDS
from gmp_complaints.domain.errors import ConflictError, Msg, PermissionDeniedError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.models import Complaint, KeptDueDate, Notification, kept_due_date_line
from gmp_complaints.services import schemas
from gmp_complaints.services.calendar_store import SITE_CALENDAR, US_CALENDAR, load_calendar
from gmp_complaints.services.complaint_records import answered
from gmp_complaints.services.complaint_repository import (
    FIELD_ALERT,
    DeadlineRules,
    due_date_terms,
    load_complaint,
    load_deadline_rules,
    on_earlier_calendar,
    pending_field_alerts,
)
from gmp_complaints.services.configuration import load_timer_configuration
from gmp_complaints.uow import UnitOfWork

#: who recalculates due dates kept on an earlier calendar: QA (the complaint administrator and the QA head)
RECALCULATING_ROLES = frozenset({Role.qa_officer, Role.qa_head})
#: complaints whose dates still count: everything but closed and void
_STILL_COUNTING = [s.value for s in Status if s not in (Status.closed, Status.void)]


def due_field(kind: str) -> str:
    """The name a kept date has in the complaint's audit trail (the ``deadlines`` field where it has one)."""
    return DUE_FIELDS.get(kind, f"{kind}_due_on")


def _lines(complaint: Complaint) -> list[str]:
    return sorted(kept_due_date_line(row) for row in complaint.kept_due_dates)


def _counting(session, ids=None, *, lock: bool = False) -> list[Complaint]:
    query = sa.select(Complaint).where(Complaint.status.in_(_STILL_COUNTING), Complaint.disposed_at.is_(None))
    if ids is not None:
        query = query.where(Complaint.id.in_(list(ids)))
    if lock:
        query = query.with_for_update(of=Complaint)
    return list(session.scalars(query.order_by(Complaint.id)))


def keep_due_dates(uow: UnitOfWork, code: str) -> int:
    """Inside a change of calendar ``code``, before its rows change: store every date still counting on it that is
    not kept yet, as the calendar gives it now (what was shown and acted on until now). The complaints are
    locked, so no step calculates a date on the old calendar meanwhile. Returns how many complaints had dates
    kept now."""
    session = uow.session
    calendar = load_calendar(session, code)  # as it stands: the change has not touched it yet
    config = load_timer_configuration(session)
    if code == SITE_CALENDAR:
        complaints = _counting(session, lock=True)
    else:
        owed = sa.select(Notification.subject_id).where(
            Notification.kind == "field_alert", Notification.subject_type == "complaint",
            Notification.follows_id.is_(None), Notification.sent_at.is_(None))
        complaints = _counting(session, session.scalars(owed).all(), lock=True)
    field_alerts = pending_field_alerts(session, [c.id for c in complaints]) if code == US_CALENDAR else {}
    count = 0
    for complaint in complaints:
        terms = {kind: term for kind, (calendar_code, term)
                 in due_date_terms(complaint, config, field_alerts.get(complaint.id)).items()
                 if calendar_code == code and kind != FIELD_ALERT}  # the field alert's due time is stored already
        kept = {row.kind: KeptDate(_term(row), row.due_on, row.provisional) for row in complaint.kept_due_dates}
        new = dates_to_keep(terms, kept, calendar)
        if new:
            _store(uow, complaint, code, new)
            count += 1
    return count


def _term(row: KeptDueDate) -> Term:
    return Term(row.start_on, row.working_days)


def _store(uow: UnitOfWork, complaint: Complaint, code: str, new: dict[str, KeptDate]) -> None:
    """The dates kept as one system act on the complaint's trail (the old and the new list)."""
    before = _lines(complaint)
    rows = {row.kind: row for row in complaint.kept_due_dates}
    for kind, kept in new.items():
        row = rows.get(kind)
        if row is None:
            row = KeptDueDate(complaint_id=complaint.id, kind=kind)
            complaint.kept_due_dates.append(row)
        row.calendar_code, row.start_on, row.working_days = code, kept.term.start_on, kept.term.working_days
        row.due_on, row.provisional, row.kept_at = kept.due_on, kept.provisional, uow.now()
    uow.session.flush()
    uow.record(DomainEvent("complaint.due_dates_kept", "complaint", str(complaint.id), {
        "due_dates": [before, _lines(complaint)], "calendar_code": [None, code]}))


def _fresh_rules(session) -> DeadlineRules:
    """The calendars and time limits as this transaction sees them (a calendar change may not be committed)."""
    return DeadlineRules(load_calendar(session), load_timer_configuration(session), load_calendar(session, US_CALENDAR))


def _waiting(session, settings, rules: DeadlineRules, ids=None, *,
             lock: bool = False) -> list[tuple[Complaint, Notification | None, list[Recalculation]]]:
    """The complaints still counting whose kept dates the calendar in force puts elsewhere, with those dates.
    Only a complaint with kept dates or an initial field alert still owed can have any."""
    tz = ZoneInfo(settings.site_timezone)
    with_kept = sa.select(KeptDueDate.complaint_id)
    owed = sa.select(Notification.subject_id).where(
        Notification.kind == "field_alert", Notification.subject_type == "complaint",
        Notification.follows_id.is_(None), Notification.sent_at.is_(None))
    candidates = set(session.scalars(with_kept)) | set(session.scalars(owed))
    if ids is not None:
        candidates &= set(ids)
    complaints = _counting(session, candidates, lock=lock) if candidates else []
    field_alerts = pending_field_alerts(session, [c.id for c in complaints])
    result = []
    for complaint in complaints:
        items = on_earlier_calendar(complaint, rules, field_alerts.get(complaint.id), tz)
        if items:
            result.append((complaint, field_alerts.get(complaint.id), items))
    return result


def count_on_earlier_calendar(uow: UnitOfWork) -> int:
    """How many complaints still counting have due dates calculated on an earlier calendar (inside the caller's
    unit of work: a calendar change states it in its own audit event)."""
    return len(_waiting(uow.session, uow.settings, _fresh_rules(uow.session)))


def _items_view(items: list[Recalculation]) -> list[dict]:
    return [{"kind": item.kind, "calendar": US_CALENDAR if item.kind.startswith(FIELD_ALERT) else SITE_CALENDAR,
             "counted_from": item.term.start_on.isoformat(), "working_days": item.term.working_days,
             "due_on": item.kept_on.isoformat(), "on_calendar_in_force": item.recalculated.due_on.isoformat(),
             "provisional": item.recalculated.provisional} for item in items]


def due_dates_to_recalculate(uow: UnitOfWork) -> list[dict]:
    """``GET /deadline-recalculations``: the complaints with due dates calculated on an earlier calendar, each
    with the kept date and the date on the calendar in force."""
    with uow:
        rules = load_deadline_rules(uow.session)
        return [{"id": complaint.id, "intake_ref": complaint.intake_ref, "number": complaint.number,
                 "status": complaint.status, "received_on": complaint.received_on.isoformat(),
                 "due_dates": _items_view(items)}
                for complaint, field_alert, items in _waiting(uow.session, uow.settings, rules)]


def _check_may_recalculate(actor: Actor) -> None:
    if not actor.roles & RECALCULATING_ROLES:
        raise PermissionDeniedError(Msg("Only QA recalculates due dates calculated on an earlier calendar."))


def _recalculate(uow: UnitOfWork, complaint: Complaint, field_alert: Notification | None,
                 items: list[Recalculation], *, reason: str, actor_id: int) -> None:
    """Move the listed dates to the calendar in force: one audited act on the complaint naming each date's old
    and new value (and, for the field alert, its register entry's new due time)."""
    before = _lines(complaint)
    rows = {row.kind: row for row in complaint.kept_due_dates}
    changes = {}
    for item in items:
        changes[due_field(item.kind)] = [item.kept_on.isoformat(), item.recalculated.due_on.isoformat()]
        if item.kind == FIELD_ALERT:
            field_alert.due_at = end_of_day(item.recalculated.due_on, uow.settings)
            uow.record(DomainEvent("notification.due_recalculated", "notification", str(field_alert.id),
                                   reason=reason, actor_id=actor_id))
            continue
        row = rows[item.kind]
        row.due_on, row.provisional, row.kept_at = item.recalculated.due_on, item.recalculated.provisional, uow.now()
    uow.session.flush()
    uow.record(DomainEvent("complaint.due_dates_recalculated", "complaint", str(complaint.id),
                           {**changes, "due_dates": [before, _lines(complaint)]}, reason=reason, actor_id=actor_id))


def recalculate_due_dates(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /complaints/<id>/deadline-recalculation {reason}``: QA moves the complaint's due dates calculated
    on an earlier calendar to the calendar in force. 409 for a closed or void complaint and when none waits."""
    _check_may_recalculate(actor)
    fields = schemas.load(schemas.DeadlineRecalculation, data)
    with uow:
        complaint = load_complaint(uow, complaint_id)
        if complaint.status in (Status.closed.value, Status.void.value) or complaint.disposed_at is not None:
            raise ConflictError(Msg("A closed or void complaint keeps its due dates: nothing is recalculated."))
        field_alert = pending_field_alerts(uow.session, [complaint.id]).get(complaint.id)
        items = on_earlier_calendar(complaint, load_deadline_rules(uow.session), field_alert,
                                    ZoneInfo(uow.settings.site_timezone))
        if not items:
            raise ConflictError(Msg("The due dates of this complaint follow the calendar in force: nothing to "
                                    "recalculate."))
        _recalculate(uow, complaint, field_alert, items, reason=fields["reason"], actor_id=actor.id)
        return answered(uow, complaint, actor.roles)


def recalculate_listed_due_dates(uow: UnitOfWork, data: dict, *, actor: Actor) -> dict:
    """``POST /deadline-recalculations {reason, complaint_ids}``: the listed complaints' due dates (all of them,
    or those named) moved to the calendar in force, one audited act per complaint, in one transaction."""
    _check_may_recalculate(actor)
    fields = schemas.load(schemas.DeadlineRecalculations, data)
    named = fields["complaint_ids"]
    with uow:
        waiting = _waiting(uow.session, uow.settings, load_deadline_rules(uow.session), named, lock=True)
        if named:
            missing = sorted(set(named) - {complaint.id for complaint, _far, _items in waiting})
            if missing:
                raise ValidationError(Msg("Not waiting for a recalculation."), {"complaint_ids": [Msg(
                    "No due date calculated on an earlier calendar waits on complaint(s) %(ids)s.",
                    ids=", ".join(map(str, missing)))]})
        if not waiting:
            raise ConflictError(Msg("No open complaint has due dates calculated on an earlier calendar."))
        for complaint, field_alert, items in waiting:
            _recalculate(uow, complaint, field_alert, items, reason=fields["reason"], actor_id=actor.id)
        uow.commit()
        return {"recalculated": [{"id": complaint.id, "number": complaint.number, "intake_ref": complaint.intake_ref,
                                  "due_dates": _items_view(items)}
                                 for complaint, field_alert, items in waiting]}

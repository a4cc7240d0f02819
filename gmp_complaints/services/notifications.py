"""The regulator-notification register (DESIGN §4, §6): everything due to an authority and what was sent.

Entries are created by the records that owe them (a decided recall today); regulatory affairs, QA or the
recall coordinator record the sending. A progress report of a running recall, once sent, makes the next
one due. ``gmp tick`` escalates what is overdue to the QA head and the QP, once per entry.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gmp_complaints.clock import business_today, end_of_day
from gmp_complaints.domain.calendar import KeptDate, Term
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.field_alert import REMINDER_WORKING_DAYS, check_report_sent, reminder_due
from gmp_complaints.domain.recall import RecallLevel, RecallStatus, recall_deadlines
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.models import Complaint, KeptDueDate, Notification, Recall
from gmp_complaints.services import schemas
from gmp_complaints.services.attachments import checked_media_type, read_stored, store_bytes
from gmp_complaints.services.calendar_store import US_CALENDAR, load_calendar
from gmp_complaints.services.configuration import load_timer_configuration
from gmp_complaints.services.recalls import add_notification, notification_view, recall_clocks
from gmp_complaints.uow import UnitOfWork

STATUSES = ("due", "overdue", "sent")
#: whose dashboard shows what is due to the authorities (the QA head and the QP see overdue items in red)
REGISTER_WATCHERS = frozenset({Role.qa_head, Role.qp, Role.qa_officer, Role.recall_coordinator,
                               Role.regulatory_affairs, Role.pv_officer})


def status_of(row: Notification, now: datetime) -> str:
    if row.sent_at is not None:
        return "sent"
    return "overdue" if row.due_at < now else "due"


def list_notifications(uow: UnitOfWork, *, status: str | None = None) -> list[dict]:
    """``GET /notifications[?status=due|overdue|sent]``, by due time."""
    if status is not None and status not in STATUSES:
        raise ValidationError(Msg("Unknown status."), {"status": [Msg("One of due, overdue or sent.")]})
    with uow:
        now = uow.now()
        query = sa.select(Notification).order_by(Notification.due_at, Notification.id)
        if status == "sent":
            query = query.where(Notification.sent_at.is_not(None))
        elif status == "due":
            query = query.where(Notification.sent_at.is_(None), Notification.due_at >= now)
        elif status == "overdue":
            query = query.where(Notification.sent_at.is_(None), Notification.due_at < now)
        tz = ZoneInfo(uow.settings.site_timezone)
        return [{**notification_view(row, tz), "status": status_of(row, now)} for row in uow.session.scalars(query)]


def mark_sent(uow: UnitOfWork, notification_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /notifications/<id>/sent {sent_at, method, reference, recipient, final}``: never in the
    future, never before the entry existed; once sent, an entry is not sent again. A field alert names
    the FDA office and says whether it was the final report; if not, the next follow-up is due (HO-04)."""
    fields = schemas.load(schemas.NotificationSent, data)
    with uow:
        session = uow.session
        row = session.scalars(sa.select(Notification).where(Notification.id == notification_id)
                              .with_for_update()).one_or_none()
        if row is None:
            raise NotFoundError(Msg("No notification with id %(id)s.", id=notification_id))
        if row.sent_at is not None:
            raise ConflictError(Msg("This notification is already recorded as sent."))
        now, sent_at = uow.now(), fields["sent_at"]
        if sent_at > now:
            raise ValidationError(Msg("Sent in the future."), {"sent_at": [Msg("Not later than now.")]})
        if sent_at < row.created_at.replace(second=0, microsecond=0):  # times are written to the minute
            raise ValidationError(Msg("Sent before it was due."), {"sent_at": [Msg(
                "Not before the entry was created.")]})
        check_report_sent(row.kind, final=fields["final"], recipient=fields["recipient"])
        row.sent_at, row.method, row.reference, row.sent_by_id = sent_at, fields["method"], fields["reference"], actor.id
        row.recipient = fields["recipient"]
        if row.kind == "field_alert":
            row.final_report = fields["final"]
        uow.record(DomainEvent("notification.sent", "notification", str(row.id), actor_id=actor.id))
        if row.kind == "field_alert" and not row.final_report:
            _owe_follow_up_report(uow, row, actor.id)
        if row.kind == "recall_progress" and row.subject_type == "recall":
            recall = session.get(Recall, row.subject_id)
            if RecallStatus(recall.status) is RecallStatus.in_progress:
                clock = recall_clocks(session)[RecallLevel(recall.level)]
                deadlines = recall_deadlines(decided_at=recall.decided_at, clock=clock,
                                             status=RecallStatus.in_progress, last_progress_report_at=sent_at)
                add_notification(uow, kind="recall_progress", subject=recall,
                                 due_at=deadlines.next_progress_report_by, actor_id=actor.id)
        session.flush()
        uow.commit()
        return {**notification_view(row, ZoneInfo(uow.settings.site_timezone)), "status": "sent"}


def _owe_follow_up_report(uow: UnitOfWork, sent: Notification, actor_id: int) -> None:
    """The field alert chain goes on until its final report: the next follow-up is due the configured
    number of US working days after this one was sent, at the end of that day."""
    sent_on = sent.sent_at.astimezone(ZoneInfo(uow.settings.site_timezone)).date()
    days = load_timer_configuration(uow.session).field_alert_follow_up
    due_on = load_calendar(uow.session, US_CALENDAR).add_working_days(sent_on, days)
    subject = uow.session.get(Complaint, sent.subject_id)
    add_notification(uow, kind="field_alert", subject=subject, due_at=end_of_day(due_on, uow.settings),
                     actor_id=actor_id, authority=sent.authority, follows=sent)


def open_field_alerts(session, complaint_id: int) -> list[Notification]:
    """The complaint's field alert reports not yet sent: while any is, the chain has no final report."""
    return list(session.scalars(sa.select(Notification).where(
        Notification.kind == "field_alert", Notification.subject_type == "complaint",
        Notification.subject_id == complaint_id, Notification.sent_at.is_(None))))


def _kept_reminders(session, complaint_ids) -> dict[int, dict[str, KeptDate]]:
    """The reminder dates of initial field alerts kept when the US calendar changed (WF-05), by complaint."""
    kept: dict[int, dict[str, KeptDate]] = {}
    if not complaint_ids:
        return kept
    for row in session.scalars(sa.select(KeptDueDate).where(KeptDueDate.complaint_id.in_(complaint_ids),
                                                            KeptDueDate.calendar_code == US_CALENDAR)):
        kept.setdefault(row.complaint_id, {})[row.kind] = KeptDate(Term(row.start_on, row.working_days), row.due_on,
                                                                   row.provisional)
    return kept


def remind_field_alerts(uow: UnitOfWork) -> int:
    """``gmp tick``: an initial field alert not yet sent reminds regulatory affairs and the QA head on
    working days 1 and 2 of its 3-working-day clock (HO-04), once each."""
    with uow:
        pending = uow.session.execute(sa.select(Notification.id, Complaint.received_on, Complaint.id).join(
            Complaint, Complaint.id == Notification.subject_id).where(
            Notification.kind == "field_alert", Notification.subject_type == "complaint",
            Notification.follows_id.is_(None), Notification.sent_at.is_(None),
            Notification.reminders_sent < len(REMINDER_WORKING_DAYS))).all()
        calendar = load_calendar(uow.session, US_CALENDAR)
        today = business_today(uow.settings)
        kept = _kept_reminders(uow.session, [complaint_id for _n, _r, complaint_id in pending])
    count = 0
    for notification_id, received_on, complaint_id in pending:
        with uow:
            row = uow.session.scalars(sa.select(Notification).where(Notification.id == notification_id)
                                      .with_for_update()).one()
            day = reminder_due(received_on, calendar, today, row.reminders_sent, kept.get(complaint_id))
            due_on = row.due_at.astimezone(ZoneInfo(uow.settings.site_timezone)).date()
            if day is None or row.sent_at is not None or today > due_on:
                continue  # sent meanwhile, or overdue: then the escalation speaks
            row.reminders_sent = day
            uow.record(DomainEvent("notification.reminded", "notification", str(row.id), {
                "working_day": [None, day], "to": [None, ["regulatory_affairs", "qa_head"]]}))
            uow.commit()
            count += 1
    return count


def unsent_notifications(session, now: datetime, tz) -> list[dict]:
    """What is still owed to an authority, the earliest first (the dashboard)."""
    rows = session.scalars(sa.select(Notification).where(Notification.sent_at.is_(None))
                           .order_by(Notification.due_at, Notification.id))
    return [{**notification_view(row, tz), "status": status_of(row, now)} for row in rows]


def record_register_export(uow: UnitOfWork, *, status: str | None, rows: int, sha256: str, actor_id: int) -> None:
    with uow:
        uow.record(DomainEvent("notification.register_exported", "notification", None, {
            "status": [None, status], "rows": [None, rows], "file_sha256": [None, sha256]}, actor_id=actor_id))
        uow.commit()


def overdue_notifications(session, now: datetime) -> list[Notification]:
    return list(session.scalars(sa.select(Notification).where(
        Notification.sent_at.is_(None), Notification.due_at < now).order_by(Notification.due_at)))


def escalate_overdue_notifications(uow: UnitOfWork) -> int:
    """``gmp tick``: every overdue entry is escalated to the QA head and the QP, once."""
    with uow:
        due = uow.session.scalars(sa.select(Notification.id).where(
            Notification.sent_at.is_(None), Notification.due_at < uow.now(), Notification.escalated_at.is_(None))
            .order_by(Notification.due_at)).all()
    count = 0
    for notification_id in due:
        with uow:
            row = uow.session.scalars(sa.select(Notification).where(Notification.id == notification_id)
                                      .with_for_update()).one()
            if row.escalated_at is not None or row.sent_at is not None:
                continue
            row.escalated_at = uow.now()
            uow.record(DomainEvent("notification.escalated", "notification", str(row.id),
                                   {"to": [None, ["qa_head", "qp"]]}))
            uow.commit()
            count += 1
    return count


def attach_copy(uow: UnitOfWork, notification_id: int, *, filename: str, data: bytes, actor: Actor) -> dict:
    """``POST /notifications/<id>/copy`` (a file): the copy of what was sent (HO-13), checked like every
    upload, stored under its SHA-256. Once sent and once only: the copy of what went out never changes."""
    media_type = checked_media_type(uow, filename, data)
    with uow:
        row = uow.session.scalars(sa.select(Notification).where(Notification.id == notification_id)
                                  .with_for_update()).one_or_none()
        if row is None:
            raise NotFoundError(Msg("No notification with id %(id)s.", id=notification_id))
        if row.sent_at is None:
            raise ConflictError(Msg("Record the entry as sent first; then keep the copy of what was sent."))
        if row.copy_sha256 is not None:
            raise ConflictError(Msg("The copy of what was sent is already kept with this entry."))
        row.copy_sha256 = store_bytes(uow, data)
        row.copy_filename, row.copy_media_type, row.copy_size = filename[:255], media_type, len(data)
        row.copy_added_at, row.copy_added_by_id = uow.now(), actor.id
        uow.record(DomainEvent("notification.copy_kept", "notification", str(row.id), actor_id=actor.id))
        uow.commit()
        return notification_view(row, ZoneInfo(uow.settings.site_timezone))


def read_copy(uow: UnitOfWork, notification_id: int) -> tuple[dict, bytes]:
    """The kept copy, its hash verified on reading."""
    with uow:
        row = uow.session.get(Notification, notification_id)
        if row is None or row.copy_sha256 is None:
            raise NotFoundError(Msg("No copy is kept with this entry."))
        return notification_view(row, ZoneInfo(uow.settings.site_timezone)), read_stored(uow, row.copy_sha256)

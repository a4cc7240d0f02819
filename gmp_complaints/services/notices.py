"""Notices to people (WF-10, WF-11; issue 16): written in the unit of work of the act that causes them,
one audit event each (who was told of what), in the app at once and e-mailed through the outbox where
the person has an address and mail is configured. Reading them is the person's own state; acknowledging a
notice that asks for it (the QP's of a risk-reducing action or a recall) is an audited act. The delivery of
every notice (in the app, e-mail queued, retrying, delivered, failed) is listed for QA and the administrator."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from gmp_complaints.domain.errors import Msg, NotFoundError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.notices import (
    ACKNOWLEDGED_KINDS,
    MAX_DELIVERY_ATTEMPTS,
    NoticeKind,
    check_acknowledgement,
    delivery,
    notice_mail,
    recipients,
)
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.models import NoticeAcknowledgement, NoticeRead, OutboxMessage, User, UserNotice, UserRole
from gmp_complaints.services.personal_data import cipher_for
from gmp_complaints.uow import UnitOfWork

#: where a notice's record is opened, by record type
LINKS = {"complaint": "/complaints/{id}", "capa": "/capas/{id}", "storage": "/audit/?action=storage.verified",
         "security_alert": "/security-alerts#alert-{id}", "access_request": "/access-requests#request-{id}",
         "backup": "/audit/?action=instance.backup_failed", "recall": "/recalls/{id}", "return": "/returns/{id}"}
#: how many notices the delivery log lists at once
DELIVERY_PAGE = 500
#: the record types the delivery log filters on
SUBJECT_TYPES = tuple(LINKS)
#: how many notices the notices page lists
PAGE = 100


def holders_of(session, *roles: Role) -> list[int]:
    """The active users holding any of ``roles``, by id."""
    return list(session.scalars(sa.select(User.id).join(UserRole, UserRole.user_id == User.id).where(
        UserRole.role.in_([r.value for r in roles]), User.is_active.is_(True)).distinct().order_by(User.id)))


def notify(uow: UnitOfWork, user_ids, kind: NoticeKind, *, subject_type: str, subject_id: int, record_label: str,
           actor_id: int | None, mail_details: str | None = None) -> int:
    """Tell each of ``user_ids`` (never the actor) of ``kind`` on the record; returns how many were told.
    ``mail_details`` go into the e-mail after the link (the page shows the record itself)."""
    session = uow.session
    told = 0
    for user_id in recipients(user_ids, except_user=actor_id):
        user = session.get(User, user_id)
        if user is None or not user.is_active or _still_unread(session, user_id, kind, subject_type, subject_id):
            continue
        notice = UserNotice(user_id=user.id, kind=kind.value, subject_type=subject_type, subject_id=subject_id,
                            record_label=record_label, created_at=uow.now())
        notice.outbox_message_id = _queue_mail(uow, user, kind, subject_type, subject_id, record_label, mail_details)
        session.add(notice)
        session.flush()
        uow.record(DomainEvent("user_notice.created", "user_notice", str(notice.id), actor_id=actor_id))
        told += 1
    return told


def _still_unread(session, user_id: int, kind: NoticeKind, subject_type: str, subject_id: int) -> bool:
    """The person has this very notice unread already (a second action planned, say): once is enough."""
    return session.scalar(_unread(user_id).where(
        UserNotice.kind == kind.value, UserNotice.subject_type == subject_type, UserNotice.subject_id == subject_id)
        .with_only_columns(UserNotice.id).limit(1)) is not None


def notify_complaint(uow: UnitOfWork, complaint, kind: NoticeKind, roles, *, actor_id: int | None) -> int:
    """Tell the holders of ``roles`` of ``kind`` on a complaint, named by its number (or intake reference)."""
    return notify(uow, holders_of(uow.session, *roles), kind, subject_type="complaint", subject_id=complaint.id,
                  record_label=complaint.number or complaint.intake_ref, actor_id=actor_id)


def _queue_mail(uow: UnitOfWork, user: User, kind: NoticeKind, subject_type: str, subject_id: int,
                record_label: str, details: str | None = None) -> int | None:
    if not uow.settings.smtp_host or not user.email:
        return None
    link = uow.settings.public_url + LINKS[subject_type].format(id=subject_id)
    subject, body = notice_mail(kind, record_label, link, details)
    row = OutboxMessage(complaint_id=subject_id if subject_type == "complaint" else None, purpose="user_notice",
                        recipient=cipher_for(uow.settings).encrypt(user.email), subject=subject, body=body,
                        status="pending", attempts=0, created_at=uow.now())
    uow.session.add(row)
    uow.session.flush()
    uow.record(DomainEvent("outbox_message.queued", "outbox_message", str(row.id),
                           {"purpose": [None, row.purpose], "user_id": [None, user.id]}))
    return row.id


def _unread(user_id: int):
    return (sa.select(UserNotice).where(UserNotice.user_id == user_id)
            .where(~sa.exists().where(NoticeRead.notice_id == UserNotice.id)))


def unread_count(uow: UnitOfWork, user_id: int) -> int:
    with uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(_unread(user_id).subquery()))


def my_notices(uow: UnitOfWork, user_id: int) -> list[dict]:
    """The person's latest notices, newest first, with whether each was read and, where the notice asks for
    it, whether it was acknowledged."""
    with uow:
        rows = uow.session.execute(
            sa.select(UserNotice, NoticeRead.read_at, NoticeAcknowledgement.acknowledged_at)
            .outerjoin(NoticeRead, NoticeRead.notice_id == UserNotice.id)
            .outerjoin(NoticeAcknowledgement, NoticeAcknowledgement.notice_id == UserNotice.id)
            .where(UserNotice.user_id == user_id).order_by(UserNotice.id.desc()).limit(PAGE)).all()
        return [{"id": n.id, "kind": n.kind, "subject_type": n.subject_type, "subject_id": n.subject_id,
                 "record_label": n.record_label, "created_at": n.created_at, "read_at": read_at,
                 "link": LINKS[n.subject_type].format(id=n.subject_id), "emailed": n.outbox_message_id is not None,
                 "acknowledgement_required": n.kind in ACKNOWLEDGED_KINDS, "acknowledged_at": acknowledged_at}
                for n, read_at, acknowledged_at in rows]


def acknowledge_notice(uow: UnitOfWork, notice_id: int, *, actor: Actor) -> dict:
    """WF-10: the person told acknowledges a notice that asks for it (the QP's of a quarantine request, an
    interim risk decision, a recall): when and by whom, once, audited; the notice counts as read. Someone
    else's notice is 403, a notice that asks for no acknowledgement or one already acknowledged 409."""
    with uow:
        session = uow.session
        notice = session.get(UserNotice, notice_id)
        if notice is None:
            raise NotFoundError(Msg("No notice %(id)s.", id=notice_id))
        done = session.get(NoticeAcknowledgement, notice.id) is not None
        check_acknowledgement(notice.kind, recipient_id=notice.user_id, actor_id=actor.id, acknowledged=done)
        now = uow.now()
        session.add(NoticeAcknowledgement(notice_id=notice.id, acknowledged_at=now, acknowledged_by_id=actor.id))
        if session.get(NoticeRead, notice.id) is None:
            session.add(NoticeRead(notice_id=notice.id, read_at=now))
        session.flush()
        uow.record(DomainEvent("user_notice.acknowledged", "notice_acknowledgement", str(notice.id),
                               {"kind": [None, notice.kind], "subject_type": [None, notice.subject_type],
                                "subject_id": [None, notice.subject_id]}, actor_id=actor.id))
        uow.commit()
        return {"id": notice.id, "kind": notice.kind, "record_label": notice.record_label,
                "acknowledged_at": now.isoformat(), "acknowledged_by": actor.id}


def _delivery_query(subject_type: str | None, subject_id: int | None, kind: str | None):
    recipient, acknowledger = aliased(User), aliased(User)
    query = (sa.select(UserNotice, recipient.username, recipient.printed_name, OutboxMessage.status,
                       OutboxMessage.attempts, OutboxMessage.sent_at, OutboxMessage.last_error, NoticeRead.read_at,
                       NoticeAcknowledgement.acknowledged_at, acknowledger.printed_name)
             .join(recipient, recipient.id == UserNotice.user_id)
             .outerjoin(OutboxMessage, OutboxMessage.id == UserNotice.outbox_message_id)
             .outerjoin(NoticeRead, NoticeRead.notice_id == UserNotice.id)
             .outerjoin(NoticeAcknowledgement, NoticeAcknowledgement.notice_id == UserNotice.id)
             .outerjoin(acknowledger, acknowledger.id == NoticeAcknowledgement.acknowledged_by_id))
    if subject_type:
        query = query.where(UserNotice.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(UserNotice.subject_id == subject_id)
    if kind:
        query = query.where(UserNotice.kind == kind)
    return query.order_by(UserNotice.id.desc()).limit(DELIVERY_PAGE)


def notices_of(session, settings, *, subject_type: str | None = None, subject_id: int | None = None,
               kind: str | None = None) -> list[dict]:
    """WF-11: every notice (newest first, at most ``DELIVERY_PAGE``), to whom, read or not, acknowledged (when,
    by whom) and how its e-mail fared: in the app only, waiting in the outbox, retrying (with the last error),
    delivered to the mail server (when) or failed after the last attempt. Times in the site zone."""
    tz = ZoneInfo(settings.site_timezone)

    def at(moment):
        return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None

    return [{"id": n.id, "kind": n.kind, "subject_type": n.subject_type, "subject_id": n.subject_id,
             "record_label": n.record_label, "link": LINKS[n.subject_type].format(id=n.subject_id),
             "recipient": {"username": username, "printed_name": printed_name},
             "created_at": at(n.created_at), "read_at": at(read_at),
             "acknowledgement_required": n.kind in ACKNOWLEDGED_KINDS,
             "acknowledged_at": at(acknowledged_at), "acknowledged_by": acknowledged_by,
             "delivery": {"status": delivery(status, attempts or 0, MAX_DELIVERY_ATTEMPTS).value,
                          "attempts": attempts or 0, "sent_at": at(sent_at), "last_error": last_error}}
            for (n, username, printed_name, status, attempts, sent_at, last_error, read_at, acknowledged_at,
                 acknowledged_by) in session.execute(_delivery_query(subject_type, subject_id, kind))]


def delivery_log(uow: UnitOfWork, *, subject_type: str | None = None, subject_id: int | None = None,
                 kind: str | None = None) -> list[dict]:
    """``GET /notices/delivery``: the delivery log of the notices, filtered by record or kind."""
    errors = {}
    if subject_type and subject_type not in SUBJECT_TYPES:
        errors["subject_type"] = [Msg("One of: %(values)s.", values=", ".join(SUBJECT_TYPES))]
    if kind and kind not in {k.value for k in NoticeKind}:
        errors["kind"] = [Msg("Unknown notice kind.")]
    if errors:
        raise ValidationError(Msg("The request has invalid fields."), errors)
    with uow:
        return notices_of(uow.session, uow.settings, subject_type=subject_type, subject_id=subject_id, kind=kind)


def mark_read(uow: UnitOfWork, user_id: int) -> int:
    """Every unread notice of the person marked read now; returns how many."""
    with uow:
        ids = list(uow.session.scalars(_unread(user_id).with_only_columns(UserNotice.id)))
        now = uow.now()
        uow.session.add_all(NoticeRead(notice_id=notice_id, read_at=now) for notice_id in ids)
        uow.commit()
        return len(ids)

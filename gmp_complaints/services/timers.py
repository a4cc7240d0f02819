"""``gmp tick``: the timers of SOP 5.8 and §6, and delivery of queued e-mail.

- a customer reminder at ``reminder_due_on`` (a system action; the letter is queued as e-mail when
  mail is configured and the complainant gave an address);
- closure pending at ``close_eligible_on`` when the customer has not answered (never a closure);
- an escalation to the QA head for every time limit that is overdue (once per item and due date); an overdue
  class I interim risk decision (WF-09) also notifies the head of quality and the QP.

Idempotent and safe when two run at once: each complaint is handled under its row lock and re-read
there, and the unique escalation key makes a second run find nothing left to do.
"""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage

import sqlalchemy as sa

from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaints import Status, Step
from gmp_complaints.domain.deadlines import Deadlines
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.notices import MAX_DELIVERY_ATTEMPTS, NoticeKind
from gmp_complaints.domain.roles import Role
from gmp_complaints.models import Complaint, Escalation, OutboxMessage
from gmp_complaints.services.complaint_records import add_reminder, move
from gmp_complaints.services.complaint_repository import (
    compute_deadlines,
    load_complaint,
    load_deadline_rules,
    open_time_limits,
)
from gmp_complaints.services.notices import notify_complaint
from gmp_complaints.services.personal_data import cipher_for
from gmp_complaints.services.recalls import note_notice_delivered
from gmp_complaints.uow import UnitOfWork

OPEN_STATUSES = [s.value for s in Status if s not in (Status.closed, Status.void, Status.closure_pending)]


def _overdue_unescalated(complaint: Complaint, deadlines: Deadlines, today: date,
                         escalated: set) -> list[tuple[str, date]]:
    """Time limits past their date and not yet escalated; the timer itself acts on reminder and closure."""
    return [(kind, due_on) for kind, due_on in open_time_limits(complaint, deadlines)
            if kind not in ("reminder", "close_eligible") and due_on < today and (kind, due_on) not in escalated]


def _due_actions(complaint: Complaint, deadlines: Deadlines, today: date, escalated: set) -> list[str]:
    """What the timer has to do for one complaint today; ``escalated`` holds its (kind, due date) pairs."""
    actions = []
    if complaint.status == Status.awaiting_customer.value and complaint.replies:
        reply_row = complaint.replies[-1]
        reminded = any(r.reply_id == reply_row.id for r in complaint.reminders)
        if not reminded and deadlines.reminder_due_on and today >= deadlines.reminder_due_on:
            actions.append("remind")
        elif reminded and deadlines.close_eligible_on and today >= deadlines.close_eligible_on:
            actions.append("closure_pending")
    if _overdue_unescalated(complaint, deadlines, today, escalated):
        actions.append("escalate")
    return actions


def _escalated(session, complaint_id: int | None = None) -> dict[int, set]:
    """Escalations so far: complaint id -> {(kind, due date)}; of one complaint, or of every open one (those
    of closed complaints pile up over the years and no longer count)."""
    query = sa.select(Escalation.complaint_id, Escalation.kind, Escalation.due_on)
    if complaint_id is not None:
        query = query.where(Escalation.complaint_id == complaint_id)
    else:
        query = query.join(Complaint, Complaint.id == Escalation.complaint_id).where(
            Complaint.status.in_(OPEN_STATUSES))
    result: dict[int, set] = {}
    for owner, kind, due_on in session.execute(query):
        result.setdefault(owner, set()).add((kind, due_on))
    return result


#: the read pass loads what the timer rules read (``deadline_facts``, ``kept_dates``), each collection in one
#: statement for all open complaints, and nothing else: no product, batch links, reports or their authors
_READ_PASS = (sa.select(Complaint).where(Complaint.status.in_(OPEN_STATUSES))
              .options(sa.orm.lazyload("*"),
                       sa.orm.selectinload(Complaint.replies).lazyload("*"),
                       sa.orm.selectinload(Complaint.reminders), sa.orm.selectinload(Complaint.extensions),
                       sa.orm.selectinload(Complaint.kept_due_dates)))


def tick(uow: UnitOfWork) -> dict:
    today = business_today(uow.settings)
    with uow:
        rules = load_deadline_rules(uow.session)
        escalated = _escalated(uow.session)
        # A read pass without locks finds the few complaints with something to do.
        candidates = [complaint.id for complaint in uow.session.scalars(_READ_PASS)
                      if _due_actions(complaint, compute_deadlines(complaint, rules), today,
                                      escalated.get(complaint.id, set()))]
    done = {"reminders": 0, "closure_pending": 0, "escalations": 0, "emails_queued": 0}
    for complaint_id in candidates:
        with uow:
            # row lock: a concurrent tick waits here, then re-reads; the timer rules never read the batches
            complaint = load_complaint(uow, complaint_id, batches=False)
            deadlines = compute_deadlines(complaint, rules)
            already = _escalated(uow.session, complaint.id).get(complaint.id, set())
            actions = _due_actions(complaint, deadlines, today, already)
            if "remind" in actions:
                reminder = add_reminder(uow, complaint, today, None, by_system=True)
                done["reminders"] += 1
                done["emails_queued"] += _queue_reminder_mail(uow, complaint, reminder)
            if "closure_pending" in actions:
                move(uow, complaint, Step.no_response_closure_pending, None,
                      changes={"close_eligible_on": [None, deadlines.close_eligible_on.isoformat()]})
                done["closure_pending"] += 1
            if "escalate" in actions:
                done["escalations"] += _escalate(uow, complaint, _overdue_unescalated(complaint, deadlines, today,
                                                                                      already), today)
            if actions:
                uow.commit()
    return done


def _escalate(uow: UnitOfWork, complaint: Complaint, overdue: list[tuple[str, date]], today: date) -> int:
    """Once per item and due date (the escalation's unique key); the complaint's rows written in one statement.
    An overdue class I interim risk decision (WF-09) goes to the head of quality and the QP, who sign it, as a
    notice each (in-app and e-mail). Returns how many were escalated."""
    rows = [Escalation(complaint_id=complaint.id, kind=kind, due_on=due_on, escalated_on=today, created_at=uow.now())
            for kind, due_on in overdue]
    uow.session.add_all(rows)
    uow.session.flush()
    for row in rows:
        changes = {"complaint_id": [None, complaint.id], "kind": [None, row.kind],
                   "due_on": [None, row.due_on.isoformat()]}
        if row.kind == "interim_decision":
            changes["to"] = [None, [Role.qa_head.value, Role.qp.value]]
        uow.record(DomainEvent("escalation.created", "escalation", str(row.id), changes))
        if row.kind == "interim_decision":
            notify_complaint(uow, complaint, NoticeKind.interim_decision_overdue, (Role.qa_head, Role.qp),
                             actor_id=None)
    return len(rows)


def _queue_reminder_mail(uow: UnitOfWork, complaint: Complaint, reminder) -> int:
    """Queue the reminder letter as e-mail in the same transaction (outbox), when mail is configured."""
    if not uow.settings.smtp_host or not complaint.complainant_email:
        return 0
    cipher = cipher_for(uow.settings)
    if not cipher.decrypt(complaint.complainant_email):
        return 0
    row = OutboxMessage(complaint_id=complaint.id, purpose="customer_reminder", recipient=complaint.complainant_email,
                        subject=f"投诉 {complaint.number or complaint.intake_ref} 提醒 / Reminder",
                        body=reminder.letter_text, status="pending", attempts=0, created_at=uow.now())
    uow.session.add(row)
    uow.session.flush()
    uow.record(DomainEvent("outbox_message.queued", "outbox_message", str(row.id),
                           {"complaint_id": [None, complaint.id], "purpose": [None, row.purpose]}))
    return 1


@dataclass(frozen=True)
class Mail:
    """One message as the mail server receives it."""

    recipient: str
    subject: str
    body: str
    attachment_name: str | None = None
    attachment: bytes | None = None


def smtp_sender(settings):
    """Send one message through the configured SMTP server (raises on failure)."""
    def send(mail: Mail) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = settings.smtp_sender, mail.recipient, mail.subject
        message.set_content(mail.body)
        if mail.attachment is not None:
            message.add_attachment(mail.attachment, maintype="application", subtype="pdf",
                                   filename=mail.attachment_name)
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as client:
            if settings.smtp_starttls:
                client.starttls()
            if settings.smtp_user:
                client.login(settings.smtp_user, settings.smtp_password or "")
            client.send_message(message)
    return send


def deliver_outbox(uow: UnitOfWork, send=None) -> dict:
    """Send what is pending; a failure keeps the message pending with the error, for the next run. An
    e-mailed recall notice counts as sent when the mail server takes it, in the same transaction."""
    if not uow.settings.smtp_host and send is None:
        return {"sent": 0, "failed": 0}
    send = send or smtp_sender(uow.settings)
    with uow:
        pending = uow.session.scalars(sa.select(OutboxMessage.id).where(
            OutboxMessage.status == "pending", OutboxMessage.attempts < MAX_DELIVERY_ATTEMPTS)
            .order_by(OutboxMessage.id)).all()
    result = {"sent": 0, "failed": 0}
    cipher = cipher_for(uow.settings)
    for message_id in pending:
        with uow:
            query = sa.select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update(skip_locked=True)
            row = uow.session.scalars(query).one_or_none()
            if row is None or row.status != "pending":
                continue  # another run has it
            row.attempts += 1
            mail = Mail(cipher.decrypt(row.recipient), row.subject, row.body, row.attachment_name,
                        cipher.decrypt_bytes(row.attachment) if row.attachment else None)
            try:
                send(mail)
            except (OSError, smtplib.SMTPException) as exc:
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                uow.record(DomainEvent("outbox_message.failed", "outbox_message", str(row.id)))
                result["failed"] += 1
            else:
                row.status, row.sent_at, row.last_error = "sent", uow.now(), None
                uow.record(DomainEvent("outbox_message.sent", "outbox_message", str(row.id)))
                if row.recall_notice_id is not None:
                    note_notice_delivered(uow, row)
                result["sent"] += 1
            uow.commit()
    return result

"""Loading a complaint and the data its rules need: the row with its lock, its batches, the inputs of
its retention date and of its deadlines (the site calendar and configured time limits, cached per
process and checked per transaction). The rules themselves are in ``domain.complaints`` and
``domain.deadlines``; this module only reads what they decide on."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from gmp_complaints.domain.complaints import ComplaintClass, Status, retention_until
from gmp_complaints.domain.criteria import TimerConfiguration
from gmp_complaints.domain.deadlines import DeadlineFacts, Deadlines, deadlines_for
from gmp_complaints.domain.deadlines import open_time_limits as open_limits
from gmp_complaints.domain.errors import Msg, NotFoundError, ValidationError
from gmp_complaints.models import Batch, Complaint, Distribution, Product
from gmp_complaints.services.calendars import load_calendar
from gmp_complaints.services.configuration import load_timer_configuration
from gmp_complaints.services.reference_data import reference
from gmp_complaints.uow import UnitOfWork


def load_complaint(uow: UnitOfWork, complaint_id: int, *, for_update: bool = True) -> Complaint:
    query = sa.select(Complaint).where(Complaint.id == complaint_id)
    if for_update:
        query = query.with_for_update()
    complaint = uow.session.scalars(query).one_or_none()
    if complaint is None:
        raise NotFoundError(Msg("No complaint with id %(id)s.", id=complaint_id))
    return complaint


def checklist_of(complaint: Complaint) -> dict:
    return json.loads(complaint.investigation_checklist) if complaint.investigation_checklist else {}


def computed_retention(session, complaint: Complaint) -> date:
    product = session.get(Product, complaint.product_id)
    batch_ids = [link.batch_id for link in complaint.batch_links]
    expiries, last_shipped = [], None
    if batch_ids:
        expiries = [b.expires_on for b in session.scalars(sa.select(Batch).where(Batch.id.in_(batch_ids)))
                    if b.expires_on]
        last_shipped = session.scalar(sa.select(sa.func.max(Distribution.shipped_on))
                                      .where(Distribution.batch_id.in_(batch_ids)))
    return retention_until(received_on=complaint.received_on, batch_expiry_dates=expiries,
                           product_has_expiry=product.has_expiry, last_distribution_on=last_shipped)


def recompute_retention(session, complaint: Complaint) -> None:
    """DESIGN §2: recomputed when batch links change; never earlier without a QA head signature."""
    computed = computed_retention(session, complaint)
    if complaint.retention_until is None or computed > complaint.retention_until:
        complaint.retention_until = computed


def find_batches(session, product_id: int, batch_nos: list[str]) -> list[Batch]:
    batches = []
    for batch_no in dict.fromkeys(b.strip() for b in batch_nos):
        batch = session.scalars(sa.select(Batch).where(Batch.product_id == product_id,
                                                       Batch.batch_no == batch_no)).one_or_none()
        if batch is None:
            other = session.scalar(sa.select(sa.func.count()).select_from(Batch).where(Batch.batch_no == batch_no))
            message = (Msg("Batch %(batch)s belongs to another product.", batch=batch_no) if other
                       else Msg("Unknown batch %(batch)s.", batch=batch_no))
            raise ValidationError(Msg("Unknown batch."), {"batch_nos": [message]})
        batches.append(batch)
    return batches


@dataclass(frozen=True)
class DeadlineRules:
    """The site calendar and the configured time limits: what every deadline is computed from."""

    calendar: object
    config: TimerConfiguration


def load_deadline_rules(session) -> DeadlineRules:
    """The calendar and time limits: the process's copy while the database holds the same (checked once
    per transaction), so a page or a step does not read hundreds of calendar rows again."""
    cached = session.info.get("deadline_rules")
    if cached is None:
        cached = session.info["deadline_rules"] = reference(
            session, "deadline_rules", lambda s: DeadlineRules(load_calendar(s), load_timer_configuration(s)))
    return cached


def deadline_facts(complaint: Complaint) -> DeadlineFacts:
    """What the deadlines of the complaint depend on, read off the loaded row."""
    last_reply = complaint.replies[-1] if complaint.replies else None
    reminder = next((r for r in complaint.reminders if r.reply_id == last_reply.id), None) if last_reply else None
    return DeadlineFacts(
        status=Status(complaint.status),
        complaint_class=ComplaintClass(complaint.complaint_class) if complaint.complaint_class else None,
        received_on=complaint.received_on, substantiated=complaint.substantiated,
        acknowledged=complaint.acknowledged_on is not None, classified=complaint.classified_on is not None,
        approved_extensions=tuple((e.kind, e.new_due_on) for e in complaint.extensions if e.status == "approved"),
        last_reply_on=last_reply.replied_on if last_reply else None,
        last_reply_reminded_on=reminder.sent_on if reminder else None, customer_due_on=complaint.customer_due_on)


def compute_deadlines(complaint: Complaint, rules: DeadlineRules) -> Deadlines:
    """All the dates the complaint is measured against (``domain.deadlines``), as dates."""
    return deadlines_for(deadline_facts(complaint), rules.calendar, rules.config)


def open_time_limits(complaint: Complaint, deadlines: Deadlines) -> list[tuple[str, date]]:
    """The time limits the complaint still has to meet: (kind, due date)."""
    return open_limits(deadline_facts(complaint), deadlines)

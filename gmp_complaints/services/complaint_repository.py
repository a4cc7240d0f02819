"""Loading a complaint and the data its rules need: the row with its lock, its batches, the inputs of
its retention date and of its deadlines (the site calendar and configured time limits, cached per
process and checked per transaction). The rules themselves are in ``domain.complaints`` and
``domain.deadlines``; this module only reads what they decide on."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from gmp_complaints.domain.calendar import KeptDate, Recalculation, Term, recalculations
from gmp_complaints.domain.complaints import ComplaintClass, Status, eu_batch_documentation_dates, retention_until
from gmp_complaints.domain.criteria import TimerConfiguration
from gmp_complaints.domain.deadlines import DeadlineFacts, Deadlines, complaint_terms, deadlines_for
from gmp_complaints.domain.deadlines import open_time_limits as open_limits
from gmp_complaints.domain.errors import Msg, NotFoundError, ValidationError
from gmp_complaints.domain.field_alert import field_alert_term, reminder_terms
from gmp_complaints.domain.markets import split_markets
from gmp_complaints.models import (
    AdrCase,
    Attachment,
    Batch,
    CapaComplaint,
    Compensation,
    Complaint,
    ComplaintBatch,
    Distribution,
    FollowUpCall,
    Notification,
    Product,
    SignatureRow,
)
from gmp_complaints.services.calendar_store import SITE_CALENDAR, US_CALENDAR, load_calendar
from gmp_complaints.services.configuration import load_timer_configuration
from gmp_complaints.services.reference_data import fingerprint_columns, note_fingerprint, reference
from gmp_complaints.uow import UnitOfWork

#: the complaint's own collections (relationships of ``Complaint``)
COLLECTIONS = ("batch_links", "replies", "responses", "reminders", "extensions", "void_requests",
               "quarantine_requests", "kept_due_dates")
#: records about the complaint kept in other tables, which its view lists
SIDE_RECORDS = ("attachments", "capas", "signatures", "follow_ups", "adr_cases", "follow_up_calls", "compensations")

_LOADS: dict[bool, tuple] = {}


def _load_statements(for_update: bool) -> tuple:
    """Built once: the complaint with its product, whether each collection and side record has rows, and
    the reference-data fingerprint, in one statement; and its batch links with their batches."""
    if for_update not in _LOADS:
        mapper = sa.inspect(Complaint)
        follow_up = sa.orm.aliased(Complaint)
        has = [sa.exists().where(mapper.relationships[key].mapper.class_.complaint_id == Complaint.id).label(key)
               for key in COLLECTIONS]
        has += [sa.exists().where(Attachment.complaint_id == Complaint.id).label("attachments"),
                sa.exists().where(CapaComplaint.complaint_id == Complaint.id).label("capas"),
                sa.exists().where(SignatureRow.record_type == "complaint",
                                  SignatureRow.record_id == sa.cast(Complaint.id, sa.String)).label("signatures"),
                sa.exists().where(follow_up.follow_up_of_id == Complaint.id).label("follow_ups"),
                sa.exists().where(AdrCase.complaint_id == Complaint.id).label("adr_cases"),
                sa.exists().where(FollowUpCall.complaint_id == Complaint.id).label("follow_up_calls"),
                sa.exists().where(Compensation.complaint_id == Complaint.id).label("compensations")]
        complaint = (sa.select(Complaint, Product).join(Product, Product.id == Complaint.product_id)
                     .where(Complaint.id == sa.bindparam("complaint_id"))
                     .options(sa.orm.contains_eager(Complaint.product), sa.orm.lazyload("*")))
        contents = (sa.select(*has, *fingerprint_columns()).select_from(Complaint)
                    .where(Complaint.id == sa.bindparam("complaint_id")))
        if for_update:
            # The lock first, what hangs off the complaint after it: a statement that waited for the lock
            # sees the complaint row as the other transaction left it, but its subqueries would still read
            # the snapshot from before the wait (PostgreSQL, read committed) and miss, say, the reminder
            # that transaction just added.
            complaint = complaint.with_for_update(of=Complaint)  # the complaint's row, not its product's
        else:
            complaint, contents = complaint.add_columns(*contents.selected_columns), None
        links = (sa.select(ComplaintBatch).join(ComplaintBatch.batch)
                 .where(ComplaintBatch.complaint_id == sa.bindparam("complaint_id"))
                 .options(sa.orm.contains_eager(ComplaintBatch.batch)).order_by(ComplaintBatch.batch_id))
        _LOADS[for_update] = (complaint, contents, links)
    return _LOADS[for_update]


def load_complaint(uow: UnitOfWork, complaint_id: int, *, for_update: bool = True, batches: bool = True) -> Complaint:
    """The complaint, locked for the rest of the transaction when a step changes it. Which of its
    collections and side records (attachments, CAPAs, signatures, follow-ups) have rows is read with it
    (after the lock); empty collections are set without a query, the batch links come with their
    batches (unless ``batches`` is false: then they load when first read), and the empty side records are
    noted for its view."""
    session = uow.session
    query, contents, links = _load_statements(for_update)
    row = session.execute(query, {"complaint_id": complaint_id}).one_or_none()
    if row is None:
        raise NotFoundError(Msg("No complaint with id %(id)s.", id=complaint_id))
    complaint = row[0]
    if contents is not None:
        row = session.execute(contents, {"complaint_id": complaint_id}).one()
    values = row._mapping
    note_fingerprint(session, row)
    unloaded = sa.inspect(complaint).unloaded  # never overwrite a collection this session already changed
    if values["batch_links"] and "batch_links" in unloaded and batches:
        set_committed_value(complaint, "batch_links",
                            session.scalars(links, {"complaint_id": complaint.id}).all())
    for key in COLLECTIONS:
        if not values[key] and key in unloaded:
            set_committed_value(complaint, key, [])
    note_empty_side_records(session, complaint.id, [name for name in SIDE_RECORDS if not values[name]])
    return complaint


def note_empty_side_records(session, complaint_id: int, names) -> None:
    session.info.setdefault("empty_side_records", {})[complaint_id] = frozenset(names)


def empty_side_records(session, complaint_id: int) -> frozenset:
    """The side records found empty when the complaint was loaded in this session."""
    return session.info.get("empty_side_records", {}).get(complaint_id, frozenset())


def checklist_of(complaint: Complaint) -> dict:
    return json.loads(complaint.investigation_checklist) if complaint.investigation_checklist else {}


def computed_retention(session, complaint: Complaint, settings) -> date:
    """The retention date the rules require now (RET-01): the linked batches' expiry and, where the site's SOP
    files the complaint as batch documentation (``settings.retention_eu_batch_documentation``), their QP
    certification; the received date; the last distribution of a product without expiry dating."""
    product = session.get(Product, complaint.product_id)
    batch_ids = [link.batch_id for link in complaint.batch_links]
    expiries, last_shipped, released = [], None, []
    if batch_ids:
        batches = [session.get(Batch, i) for i in batch_ids]
        expiries = [batch.expires_on for batch in batches if batch.expires_on]
        released = [batch.released_on for batch in batches]
        noted = session.info.get("last_shipped", {})
        if all(i in noted for i in batch_ids):
            last_shipped = max((noted[i] for i in batch_ids if noted[i] is not None), default=None)
        else:
            last_shipped = session.scalar(sa.select(sa.func.max(Distribution.shipped_on))
                                          .where(Distribution.batch_id.in_(batch_ids)))
    certified = eu_batch_documentation_dates(enabled=settings.retention_eu_batch_documentation,
                                             product_markets=split_markets(product.markets), release_dates=released)
    return retention_until(received_on=complaint.received_on, batch_expiry_dates=expiries,
                           product_has_expiry=product.has_expiry, last_distribution_on=last_shipped,
                           qp_certification_dates=certified)


def recompute_retention(session, complaint: Complaint, settings) -> None:
    """DESIGN §2: recomputed when batch links change; never earlier without a QA head signature."""
    computed = computed_retention(session, complaint, settings)
    if complaint.retention_until is None or computed > complaint.retention_until:
        complaint.retention_until = computed


_FIND_PRODUCT = sa.select(Product, *fingerprint_columns()).where(Product.code == sa.bindparam("code"))


def find_product(session, code: str) -> Product:
    """The product by code (400 naming the field when unknown), with the reference-data fingerprint read in
    the same statement."""
    row = session.execute(_FIND_PRODUCT, {"code": code}).one_or_none()
    if row is None:
        raise ValidationError(Msg("Unknown product."), {"product_code": [Msg("No product has this code.")]})
    note_fingerprint(session, row)
    return row[0]


_FIND_BATCH = (sa.select(Batch, sa.select(sa.func.max(Distribution.shipped_on)).where(Distribution.batch_id == Batch.id)
                         .scalar_subquery().label("last_shipped"))
               .where(Batch.product_id == sa.bindparam("product_id"), Batch.batch_no == sa.bindparam("batch_no")))


def find_batches(session, product_id: int, batch_nos: list[str]) -> list[Batch]:
    """The product's batches by number (400 naming the unknown one), each with its last shipment noted
    for the retention date."""
    batches = []
    for batch_no in dict.fromkeys(b.strip() for b in batch_nos):
        row = session.execute(_FIND_BATCH, {"product_id": product_id, "batch_no": batch_no}).one_or_none()
        if row is None:
            other = session.scalar(sa.select(sa.func.count()).select_from(Batch).where(Batch.batch_no == batch_no))
            message = (Msg("Batch %(batch)s belongs to another product.", batch=batch_no) if other
                       else Msg("Unknown batch %(batch)s.", batch=batch_no))
            raise ValidationError(Msg("Unknown batch."), {"batch_nos": [message]})
        session.info.setdefault("last_shipped", {})[row[0].id] = row.last_shipped
        batches.append(row[0])
    return batches


@dataclass(frozen=True)
class DeadlineRules:
    """The site calendar and the configured time limits: what every deadline is computed from; and the US
    federal calendar, which the field alert counts in."""

    calendar: object
    config: TimerConfiguration
    us_calendar: object = None

    def calendar_of(self, code: str):
        return self.us_calendar if code == US_CALENDAR else self.calendar


def load_deadline_rules(session) -> DeadlineRules:
    """The calendars and time limits: the process's copy while the database holds the same (checked once
    per transaction), so a page or a step does not read hundreds of calendar rows again."""
    cached = session.info.get("deadline_rules")
    if cached is None:
        cached = session.info["deadline_rules"] = reference(
            session, "deadline_rules", lambda s: DeadlineRules(load_calendar(s), load_timer_configuration(s),
                                                               load_calendar(s, US_CALENDAR)))
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
        last_reply_reminded_on=reminder.sent_on if reminder else None, customer_due_on=complaint.customer_due_on,
        interim_decision_due_on=complaint.interim_decision_due_on, interim_decided=complaint.interim_decided_at is not None)


def kept_dates(complaint: Complaint, code: str = SITE_CALENDAR) -> dict[str, KeptDate]:
    """The due dates the complaint keeps on calendar ``code`` (WF-05), by kind."""
    return {row.kind: KeptDate(Term(row.start_on, row.working_days), row.due_on, row.provisional)
            for row in complaint.kept_due_dates if row.calendar_code == code}


def compute_deadlines(complaint: Complaint, rules: DeadlineRules) -> Deadlines:
    """All the dates the complaint is measured against (``domain.deadlines``), as dates: the dates kept
    when the calendar changed stay as they were calculated (WF-05)."""
    return deadlines_for(deadline_facts(complaint), rules.calendar, rules.config, kept_dates(complaint))


def open_time_limits(complaint: Complaint, deadlines: Deadlines) -> list[tuple[str, date]]:
    """The time limits the complaint still has to meet: (kind, due date)."""
    return open_limits(deadline_facts(complaint), deadlines)


#: the kept date of the initial field alert itself is the due time of its register entry
FIELD_ALERT = "field_alert"


def pending_field_alerts(session, complaint_ids) -> dict[int, Notification]:
    """The initial field alert each complaint still owes (not sent), by complaint id."""
    ids = list(complaint_ids)
    if not ids:
        return {}
    rows = session.scalars(sa.select(Notification).where(
        Notification.kind == "field_alert", Notification.subject_type == "complaint",
        Notification.subject_id.in_(ids), Notification.follows_id.is_(None), Notification.sent_at.is_(None)))
    return {row.subject_id: row for row in rows}


def due_date_terms(complaint: Complaint, config: TimerConfiguration,
                   field_alert: Notification | None) -> dict[str, tuple[str, Term]]:
    """Every working-day due date of the complaint that still counts, kind -> (calendar, term): the time
    limits and SOP 5.8's dates on the site calendar; the initial field alert still owed and its reminders not
    yet sent on the US federal calendar."""
    terms = {kind: (SITE_CALENDAR, term) for kind, term in complaint_terms(deadline_facts(complaint), config).items()}
    if field_alert is not None:
        terms[FIELD_ALERT] = (US_CALENDAR, field_alert_term(complaint.received_on))
        terms.update({kind: (US_CALENDAR, term)
                      for kind, term in reminder_terms(complaint.received_on, field_alert.reminders_sent).items()})
    return terms


def all_kept_dates(complaint: Complaint, field_alert: Notification | None, site_timezone) -> dict[str, KeptDate]:
    """The complaint's kept dates on every calendar, with the initial field alert's due day as its register
    entry holds it (stored when the entry was made)."""
    kept = {row.kind: KeptDate(Term(row.start_on, row.working_days), row.due_on, row.provisional)
            for row in complaint.kept_due_dates}
    if field_alert is not None:
        kept[FIELD_ALERT] = KeptDate(field_alert_term(complaint.received_on),
                                     field_alert.due_at.astimezone(site_timezone).date(), False)
    return kept


def on_earlier_calendar(complaint: Complaint, rules: DeadlineRules, field_alert: Notification | None,
                        site_timezone) -> list[Recalculation]:
    """The complaint's kept due dates still to be met that the calendar in force would now put on another day:
    calculated on an earlier calendar, listed for QA's explicit recalculation (WF-05). A time limit already met
    keeps the date it was met against; a closed or void complaint lists none."""
    if complaint.status in (Status.closed.value, Status.void.value) or complaint.disposed_at is not None:
        return []
    still_open = {kind for kind, _due_on in open_time_limits(complaint, compute_deadlines(complaint, rules))}
    terms = {kind: entry for kind, entry in due_date_terms(complaint, rules.config, field_alert).items()
             if entry[0] == US_CALENDAR or kind in still_open}
    kept = all_kept_dates(complaint, field_alert, site_timezone)
    result = []
    for code in (SITE_CALENDAR, US_CALENDAR):
        mine = {kind: term for kind, (calendar_code, term) in terms.items() if calendar_code == code}
        if mine:
            result += recalculations(mine, kept, rules.calendar_of(code))
    return result

"""Complaints come in (SOP 5.1): registration with an intake reference at once, and the follow-up
complaint a customer's word after closure opens (WF-07). Each function is one unit of work."""
from __future__ import annotations

from gmp_complaints.clock import business_today, site_time_now
from gmp_complaints.domain.complaints import (
    ORAL_CHANNELS,
    Status,
    check_event_date,
    intake_reference,
)
from gmp_complaints.domain.errors import ConflictError, Msg
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.follow_up import check_may_call
from gmp_complaints.domain.notices import NoticeKind
from gmp_complaints.domain.plausibility import customer_due_problem, received_date_problem
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.models import (
    Complaint,
    ComplaintBatch,
    FollowUpCall,
)
from gmp_complaints.services import inputs, schemas
from gmp_complaints.services.complaint_records import answered, answered_after_numbering, prepare_view
from gmp_complaints.services.complaint_repository import (
    SIDE_RECORDS,
    find_batches,
    find_product,
    load_complaint,
    note_empty_side_records,
    recompute_retention,
)
from gmp_complaints.services.notices import holders_of, notify
from gmp_complaints.services.numbering import take_serial
from gmp_complaints.services.personal_data import cipher_for
from gmp_complaints.uow import UnitOfWork

# --- register ------------------------------------------------------------------------------------


def register_complaint(uow: UnitOfWork, data: dict, *, actor: Actor, is_demo: bool = False) -> dict:
    """SOP 5.1: the complaint as received, with an intake reference at once."""
    today = business_today(uow.settings)
    fields = schemas.load(schemas.Registration, data)
    errors: dict = {}
    received_on, channel, complaint_type = fields["received_on"], fields["channel"], fields["complaint_type"]
    description, product_code = fields["description"], fields["product_code"]
    complainant = fields["complainant"]
    name, organisation = complainant["name"], complainant.get("organisation")
    phone, email = complainant.get("phone"), complainant.get("email")
    batch_nos = fields["batch_nos"] or []
    batch_unknown_reason = fields["batch_unknown_reason"]
    if not batch_nos and not batch_unknown_reason:
        errors["batch_nos"] = [Msg("Pick the batch, or give the reason it is unknown (batch_unknown_reason).")]
    if batch_nos and batch_unknown_reason:
        errors["batch_unknown_reason"] = [Msg("Give a reason only when no batch is known.")]
    sample_available = bool(fields["sample_available"])
    customer_due_on = fields["customer_due_on"]
    received_problem = received_date_problem(received_on, today=today, earliest=uow.settings.earliest_received_on)
    if received_problem is not None:
        errors["received_on"] = [received_problem]
    due_problem = customer_due_problem(customer_due_on, received_on=received_on) if customer_due_on else None
    if due_problem is not None:
        errors["customer_due_on"] = [due_problem]
    received_time = fields["received_time"]
    now = site_time_now(uow.settings)
    if received_time and received_on == today and now is not None and received_time > now:
        errors["received_time"] = [Msg("The time cannot be in the future.")]
    paper_reference, late_reason = fields["paper_reference"], fields["entered_late_reason"]
    if paper_reference and not late_reason:
        errors["entered_late_reason"] = [Msg("Say why the paper record is entered late (the outage).")]
    if late_reason and not paper_reference:
        errors["paper_reference"] = [Msg("Give the reference of the paper form the record is entered from.")]
    inputs.raise_if_any(errors)

    with uow:
        session = uow.session
        product = find_product(session, product_code)
        batches = find_batches(session, product.id, batch_nos)
        cipher = cipher_for(uow.settings)
        complaint = Complaint(
            status=Status.registered.value, channel=channel.value,
            received_on=received_on, received_time=received_time, received_by_id=actor.id,
            complainant_name=cipher.encrypt(name), complainant_organisation=organisation,
            complainant_phone=cipher.encrypt(phone), complainant_email=cipher.encrypt(email),
            product_id=product.id, batch_unknown_reason=batch_unknown_reason, complaint_type=complaint_type.value,
            description=description, sample_available=sample_available,
            written_confirmation_requested=channel in ORAL_CHANNELS, customer_due_on=customer_due_on,
            version=1, is_demo=is_demo, owner_id=actor.id if actor.roles & {Role.qa_officer, Role.qa_head} else None,
            paper_reference=paper_reference, entered_late_reason=late_reason,
            batch_links=[ComplaintBatch(batch_id=b.id) for b in batches], **NEW_COLLECTIONS)
        recompute_retention(session, complaint, uow.settings)
        return _file_new_complaint(uow, complaint, today, actor, "complaint.registered", {})



def open_follow_up(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """WF-07: the customer comes back after closure. A new complaint is opened, linked to the closed
    one (which stays exactly as it was closed: record, version and signatures); what the customer said
    is its description, and further files and communications go to it."""
    fields = schemas.load(schemas.FollowUp, data)
    received_on, text = fields["received_on"], fields["text"]
    with uow:
        closed = load_complaint(uow, complaint_id, for_update=False)
        if closed.status != Status.closed.value:
            raise ConflictError(Msg("A follow-up complaint is opened from a closed complaint; record the response "
                                    "on the open complaint instead."))
        check_event_date("received_on", received_on, today=business_today(uow.settings),
                         not_before=closed.closed_on or closed.received_on, not_before_label=Msg("the closure"))
        follow_up = Complaint(
            status=Status.registered.value, channel=closed.channel,
            received_on=received_on, received_by_id=actor.id, complainant_name=closed.complainant_name,
            complainant_organisation=closed.complainant_organisation, complainant_phone=closed.complainant_phone,
            complainant_email=closed.complainant_email, product_id=closed.product_id,
            batch_unknown_reason=closed.batch_unknown_reason, complaint_type=closed.complaint_type,
            description=text, sample_available=False, written_confirmation_requested=False, version=1,
            is_demo=closed.is_demo, owner_id=actor.id if actor.roles & {Role.qa_officer, Role.qa_head} else None,
            follow_up_of_id=closed.id, **NEW_COLLECTIONS,
            batch_links=[ComplaintBatch(batch_id=link.batch_id) for link in closed.batch_links])
        recompute_retention(uow.session, follow_up, uow.settings)
        return _file_new_complaint(uow, follow_up, business_today(uow.settings), actor, "complaint.follow_up_opened",
                                   {"follow_up_of_id": [None, closed.id]})


def record_follow_up_call(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /complaints/<id>/follow-up-calls {called_on, result, note}`` (回访): the customer called back
    after closure; a record of its own, so the closed complaint, its version and signatures stay as they
    were. A dissatisfied customer with a new problem is a follow-up complaint, not this."""
    fields = schemas.load(schemas.FollowUpCall, data)
    with uow:
        complaint = load_complaint(uow, complaint_id, for_update=False)
        check_may_call(complaint.status)
        check_event_date("called_on", fields["called_on"], today=business_today(uow.settings),
                         not_before=complaint.closed_on, not_before_label=Msg("the closure"))
        call = FollowUpCall(complaint_id=complaint.id, called_on=fields["called_on"], called_by_id=actor.id,
                            result=fields["result"].value, note=fields["note"], created_at=uow.now())
        uow.session.add(call)
        uow.session.flush()
        uow.record(DomainEvent("follow_up_call.recorded", "follow_up_call", str(call.id), actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


#: a new complaint's collections are empty: set so, they are never read back
NEW_COLLECTIONS = {"replies": [], "responses": [], "reminders": [], "extensions": [], "void_requests": [],
                   "quarantine_requests": [], "reply_reports": [], "legal_holds": [],
                   "kept_due_dates": []}


def _file_new_complaint(uow: UnitOfWork, complaint: Complaint, today, actor: Actor, action: str,
                        changes: dict) -> dict:
    """Give the new complaint its intake reference (the counter row stays locked until the commit, so what
    the answer needs is read first), store it and record the event."""
    prepare_view(uow, complaint, actor.id)
    serial = take_serial(uow, f"R:{today.year}")
    complaint.intake_ref = intake_reference(today.year, serial)
    complaint.created_at = uow.now()
    uow.session.add(complaint)
    uow.session.flush()
    note_empty_side_records(uow.session, complaint.id, SIDE_RECORDS)
    uow.record(DomainEvent(action, "complaint", str(complaint.id),
                           {**changes, "batch_ids": [None, sorted(link.batch_id for link in complaint.batch_links)],
                            "complainant": [None, "recorded (encrypted)"]}, actor_id=actor.id))
    # SOP 4.2: the QP is told of every complaint.
    notify(uow, holders_of(uow.session, Role.qp), NoticeKind.complaint_registered, subject_type="complaint",
           subject_id=complaint.id, record_label=complaint.intake_ref, actor_id=actor.id)
    return answered_after_numbering(uow, complaint, actor.roles)


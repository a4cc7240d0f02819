"""The complaint use cases of SOP §5: register, acknowledge, validity, classify, investigate, assess,
reply, customer response, reminder, regrade; the timers of SOP 5.8 and §6 (``gmp tick``).

Each public function is one unit of work: it loads the complaint, asks ``domain.complaints`` whether
the step is allowed (409 otherwise, nothing changes), stores the step, records the audit event and
commits once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaints import (
    ORAL_CHANNELS,
    ComplaintClass,
    ComplaintFacts,
    Status,
    Step,
    check_event_date,
    complaint_number,
    intake_reference,
    next_status,
    retention_until,
)
from gmp_complaints.domain.criteria import TimerConfiguration, check_criteria
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, PermissionDeniedError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.investigation import check_checklist, merged_checklist
from gmp_complaints.domain.personal_data import masked_complainant, may_see_personal_data
from gmp_complaints.domain.roles import Role
from gmp_complaints.models import (
    Attachment,
    Batch,
    Complaint,
    ComplaintBatch,
    ComplaintReply,
    CustomerReminder,
    CustomerResponse,
    DeadlineExtension,
    Distribution,
    Product,
    User,
    VoidRequest,
)
from gmp_complaints.services import inputs, schemas
from gmp_complaints.services.calendars import load_calendar
from gmp_complaints.services.configuration import criteria_in_force, load_timer_configuration
from gmp_complaints.services.numbering import take_serial
from gmp_complaints.services.personal_data import cipher_for
from gmp_complaints.services.reference_data import reference
from gmp_complaints.uow import UnitOfWork

ASSESSMENT_ACTIONS = ("compensation", "return_exchange", "recall")
#: time limits that can be extended (SOP §6), with the deadline key they move
EXTENSIBLE = {kind.value: f"{kind.value}_due_on" for kind in schemas.Extensible}


# --- loading and facts ---------------------------------------------------------------------------


def _load(uow: UnitOfWork, complaint_id: int, *, for_update: bool = True) -> Complaint:
    query = sa.select(Complaint).where(Complaint.id == complaint_id)
    if for_update:
        query = query.with_for_update()
    complaint = uow.session.scalars(query).one_or_none()
    if complaint is None:
        raise NotFoundError(Msg("No complaint with id %(id)s.", id=complaint_id))
    return complaint


def _facts(uow: UnitOfWork, complaint: Complaint) -> ComplaintFacts:
    from gmp_complaints.services.approvals import capa_covered

    return ComplaintFacts(
        status=Status(complaint.status), substantiated=complaint.substantiated, numbered=complaint.number is not None,
        investigated=complaint.investigated_on is not None, replies=len(complaint.replies),
        reasonable=complaint.reasonable, acknowledged=complaint.acknowledged_on is not None,
        capa_covered=capa_covered(uow, complaint) if complaint.reasonable else True)


def _move(uow: UnitOfWork, complaint: Complaint, step: Step, actor_id: int | None, *, reason: str | None = None,
          changes: dict | None = None, **facts) -> None:
    """Apply the state machine and record the step as one audit event on the complaint."""
    before = complaint.status
    after = next_status(_facts(uow, complaint), step, **facts)
    complaint.status = after.value
    complaint.version += 1
    event_changes = dict(changes or {})
    if before != after.value:
        event_changes["status"] = [before, after.value]
    uow.record(DomainEvent(f"complaint.{step.value}", "complaint", str(complaint.id), event_changes,
                           reason=reason, actor_id=actor_id))


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _checklist(complaint: Complaint) -> dict:
    return json.loads(complaint.investigation_checklist) if complaint.investigation_checklist else {}


def _last_step_date(complaint: Complaint) -> tuple[date, Msg]:
    """The date of the latest recorded step, which a new event date may not precede."""
    candidates = [(complaint.received_on, Msg("the receipt"))]
    for value, label in ((complaint.acknowledged_on, Msg("the initial feedback")),
                         (complaint.validity_on, Msg("the validity decision")),
                         (complaint.classified_on, Msg("the classification")),
                         (complaint.investigated_on, Msg("the investigation")),
                         (complaint.assessed_on, Msg("the assessment"))):
        if value:
            candidates.append((value, label))
    candidates += [(r.replied_on, Msg("the last reply")) for r in complaint.replies]
    candidates += [(r.received_on, Msg("the last customer response")) for r in complaint.responses]
    candidates += [(r.sent_on, Msg("the last reminder")) for r in complaint.reminders]
    return max(candidates, key=lambda c: c[0])


def _computed_retention(session, complaint: Complaint) -> date:
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


def _recompute_retention(session, complaint: Complaint) -> None:
    """DESIGN §2: recomputed when batch links change; never earlier without a QA head signature."""
    computed = _computed_retention(session, complaint)
    if complaint.retention_until is None or computed > complaint.retention_until:
        complaint.retention_until = computed


# --- register ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    id: int
    roles: frozenset[Role]


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
    if received_on > today:
        errors["received_on"] = [Msg("The date cannot be in the future.")]
    inputs.raise_if_any(errors)

    with uow:
        session = uow.session
        product = session.scalars(sa.select(Product).where(Product.code == product_code)).one_or_none()
        if product is None:
            raise ValidationError(Msg("Unknown product."), {"product_code": [Msg("No product has this code.")]})
        batches = _find_batches(session, product.id, batch_nos)
        cipher = cipher_for(uow.settings)
        serial = take_serial(session, f"R:{today.year}")
        complaint = Complaint(
            intake_ref=intake_reference(today.year, serial), status=Status.registered.value, channel=channel.value,
            received_on=received_on, received_by_id=actor.id,
            complainant_name=cipher.encrypt(name), complainant_organisation=organisation,
            complainant_phone=cipher.encrypt(phone), complainant_email=cipher.encrypt(email),
            product_id=product.id, batch_unknown_reason=batch_unknown_reason, complaint_type=complaint_type.value,
            description=description, sample_available=sample_available,
            written_confirmation_requested=channel in ORAL_CHANNELS, customer_due_on=customer_due_on,
            version=1, is_demo=is_demo, created_at=uow.now(),
            owner_id=actor.id if actor.roles & {Role.qa_officer, Role.qa_head} else None,
            batch_links=[ComplaintBatch(batch_id=b.id) for b in batches],
        )
        _recompute_retention(session, complaint)
        session.add(complaint)
        session.flush()
        uow.record(DomainEvent(
            "complaint.registered", "complaint", str(complaint.id),
            {"batch_ids": [None, sorted(b.id for b in batches)],
             "complainant": [None, "recorded (encrypted)"]}, actor_id=actor.id))
        return answered_after_numbering(uow, complaint, actor.roles)


# --- steps ---------------------------------------------------------------------------------------


def acknowledge(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP 5.2: initial feedback to the customer."""
    fields = schemas.load(schemas.Acknowledgement, data)
    sent_on, method, note = fields["sent_on"], fields["method"], fields["note"]
    with uow:
        complaint = _load(uow, complaint_id)
        check_event_date("sent_on", sent_on, today=business_today(uow.settings),
                         not_before=complaint.received_on, not_before_label=Msg("the receipt"))
        _move(uow, complaint, Step.acknowledge, actor.id)  # 409 when the feedback is already recorded
        complaint.acknowledged_on, complaint.acknowledgement_method, complaint.acknowledgement_note = sent_on, method, note
        return answered(uow, complaint, actor.roles)


def record_validity(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP 5.3: is the information complete, is the complaint substantiated? Not substantiated goes to
    ``assessed`` without a number, and its reply takes it to closure."""
    fields = schemas.load(schemas.Validity, data)
    information_complete, substantiated, reason = (fields["information_complete"], fields["substantiated"],
                                                   fields["reason"])
    if substantiated is False and not reason:
        inputs.raise_if_any({"reason": [Msg("Say why the complaint is not substantiated.")]})
    with uow:
        complaint = _load(uow, complaint_id)
        complaint.information_complete = information_complete
        complaint.validity_reason = reason
        complaint.validity_on = business_today(uow.settings)
        _move(uow, complaint, Step.validity, actor.id, substantiated=substantiated)
        complaint.substantiated = substantiated
        return answered(uow, complaint, actor.roles)


def classify(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP §3, 5.3: class I/II/III with a rationale and the ADR question; assigns the TS number."""
    fields = schemas.load(schemas.Classification, data)
    complaint_class, rationale, adr_suspected = fields["complaint_class"], fields["rationale"], fields["adr_suspected"]
    selected = fields["criteria"] or []
    with uow:
        complaint = _load(uow, complaint_id)
        version, available = criteria_in_force(uow.session, business_today(uow.settings))
        criteria = check_criteria(complaint_class, selected, available)
        _move(uow, complaint, Step.classify, actor.id)
        received_year = complaint.received_on.year  # received_on is already the site-local date
        serial = take_serial(uow.session, f"TS:{complaint_class.value}-{received_year % 100:02d}")
        complaint.number = complaint_number(complaint_class, received_year, serial)
        complaint.complaint_class = complaint.original_class = complaint_class.value
        complaint.class_rationale, complaint.adr_suspected = rationale, adr_suspected
        complaint.classified_on = business_today(uow.settings)
        complaint.criteria_version, complaint.class_criteria = version, " ".join(criteria) or None
        return answered_after_numbering(uow, complaint, actor.roles)


def investigate(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP 5.4: root cause, impact, other batches possibly affected. Sales never own it (EU GMP 8.1)."""
    if actor.roles <= {Role.intake}:
        raise PermissionDeniedError(Msg("Sales staff cannot own an investigation."))
    fields = schemas.load(schemas.Investigation, data)
    root_cause, impact = fields["root_cause"], fields["impact"]
    other_batches, substantiated = fields["other_batches_affected"], fields["substantiated"]
    checklist = check_checklist(fields["checklist"])
    with uow:
        complaint = _load(uow, complaint_id)
        check_may_investigate(actor, complaint.investigator_id)
        if complaint.complaint_class == ComplaintClass.I.value and complaint.status == Status.under_investigation.value:
            from gmp_complaints.services.approvals import interim_decision_missing

            if interim_decision_missing(uow, complaint):
                raise ConflictError(Msg("Class I: the head of quality and the QP sign the interim risk decision "
                                        "before the investigation is recorded."))
        _move(uow, complaint, Step.investigate, actor.id,
              reason="re-investigation" if complaint.investigated_on else None)
        if checklist:
            complaint.investigation_checklist = _canonical(
                merged_checklist(_checklist(complaint), checklist))
        complaint.root_cause, complaint.impact = root_cause, impact
        complaint.other_batches_affected, complaint.investigation_substantiated = other_batches, substantiated
        complaint.investigated_on = business_today(uow.settings)
        return answered(uow, complaint, actor.roles)


def check_may_investigate(actor: Actor, investigator_id: int | None) -> None:
    """Only the assigned investigator records the investigation, or QA (who coordinate it, SOP 5.4);
    an investigator of another department cannot write over a colleague's assignment."""
    if actor.roles & {Role.qa_officer, Role.qa_head} or actor.id == investigator_id:
        return
    raise PermissionDeniedError(Msg("Only the investigator assigned to this complaint, or QA, records its "
                                    "investigation."))


def assess(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP 5.5: reasonable or not; compensation / return / recall; ADR; report to the regulator."""
    fields = schemas.load(schemas.Assessment, data)
    reasonable, actions = fields["reasonable"], fields["actions"] or []
    adr_confirmed, regulator = fields["adr_confirmed"], fields["regulator_report_required"]
    errors: dict = {}
    if any(a not in ASSESSMENT_ACTIONS for a in actions):
        errors["actions"] = [Msg("A list of: %(choices)s.", choices=", ".join(ASSESSMENT_ACTIONS))]
    elif reasonable is False and actions:
        errors["actions"] = [Msg("An unreasonable complaint takes no actions.")]
    inputs.raise_if_any(errors)
    with uow:
        complaint = _load(uow, complaint_id)
        _move(uow, complaint, Step.assess, actor.id)
        complaint.reasonable, complaint.actions = reasonable, " ".join(sorted(set(actions))) or None
        complaint.adr_confirmed, complaint.regulator_report_required = adr_confirmed, regulator
        complaint.assessed_on = business_today(uow.settings)
        return answered(uow, complaint, actor.roles)


def reply(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP 5.6: the formal reply, or the 2nd, 3rd... supplementary reply after a challenge."""
    fields = schemas.load(schemas.Reply, data)
    replied_on, summary = fields["replied_on"], fields["summary"]
    with uow:
        complaint = _load(uow, complaint_id)
        last, label = _last_step_date(complaint)
        check_event_date("replied_on", replied_on, today=business_today(uow.settings), not_before=last,
                         not_before_label=label)
        sequence = len(complaint.replies) + 1
        _move(uow, complaint, Step.reply, actor.id, changes={"replies": [sequence - 1, sequence]})
        row = ComplaintReply(sequence=sequence, replied_on=replied_on, summary=summary, created_at=uow.now())
        complaint.replies.append(row)
        uow.session.flush()
        uow.record(DomainEvent("complaint_reply.created", "complaint_reply", str(row.id), actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


def record_customer_response(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """The customer answers the latest reply: satisfied (closure pending) or a challenge (back to
    investigation; the next reply is supplementary). A closed complaint takes no response (409): the
    customer's later word opens a follow-up complaint (``open_follow_up``)."""
    fields = schemas.load(schemas.CustomerResponse, data)
    received_on, satisfied, text = fields["received_on"], fields["satisfied"], fields["text"]
    with uow:
        complaint = _load(uow, complaint_id)
        if complaint.status == Status.closed.value:
            raise ConflictError(Msg("The complaint is closed and never changes: record the customer's response "
                                    "as a follow-up complaint linked to it."))
        last, label = _last_step_date(complaint)
        check_event_date("received_on", received_on, today=business_today(uow.settings), not_before=last,
                         not_before_label=label)
        _move(uow, complaint, Step.customer_response, actor.id, satisfied=satisfied)
        row = CustomerResponse(reply_id=complaint.replies[-1].id, received_on=received_on,
                               satisfied=satisfied, text=text, created_at=uow.now())
        complaint.responses.append(row)
        uow.session.flush()
        uow.record(DomainEvent("customer_response.created", "customer_response", str(row.id), actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


def open_follow_up(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """WF-07: the customer comes back after closure. A new complaint is opened, linked to the closed
    one (which stays exactly as it was closed: record, version and signatures); what the customer said
    is its description, and further files and communications go to it."""
    fields = schemas.load(schemas.FollowUp, data)
    received_on, text = fields["received_on"], fields["text"]
    with uow:
        closed = _load(uow, complaint_id, for_update=False)
        if closed.status != Status.closed.value:
            raise ConflictError(Msg("A follow-up complaint is opened from a closed complaint; record the response "
                                    "on the open complaint instead."))
        check_event_date("received_on", received_on, today=business_today(uow.settings),
                         not_before=closed.closed_on or closed.received_on, not_before_label=Msg("the closure"))
        today = business_today(uow.settings)
        serial = take_serial(uow.session, f"R:{today.year}")
        follow_up = Complaint(
            intake_ref=intake_reference(today.year, serial), status=Status.registered.value, channel=closed.channel,
            received_on=received_on, received_by_id=actor.id, complainant_name=closed.complainant_name,
            complainant_organisation=closed.complainant_organisation, complainant_phone=closed.complainant_phone,
            complainant_email=closed.complainant_email, product_id=closed.product_id,
            batch_unknown_reason=closed.batch_unknown_reason, complaint_type=closed.complaint_type,
            description=text, sample_available=False, written_confirmation_requested=False, version=1,
            is_demo=closed.is_demo, created_at=uow.now(),
            owner_id=actor.id if actor.roles & {Role.qa_officer, Role.qa_head} else None, follow_up_of_id=closed.id,
            batch_links=[ComplaintBatch(batch_id=link.batch_id) for link in closed.batch_links])
        _recompute_retention(uow.session, follow_up)
        uow.session.add(follow_up)
        uow.session.flush()
        uow.record(DomainEvent("complaint.follow_up_opened", "complaint", str(follow_up.id),
                               {"follow_up_of_id": [None, closed.id],
                                "batch_ids": [None, sorted(link.batch_id for link in follow_up.batch_links)],
                                "complainant": [None, "recorded (encrypted)"]}, actor_id=actor.id))
        return answered_after_numbering(uow, follow_up, actor.roles)


def request_void(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """A void is asked for with a reason by one person and decided, signed, by the head of quality —
    another person (SIG-08); until then the complaint stays as it is."""
    reason = schemas.load(schemas.VoidRequest, data)["reason"]
    with uow:
        complaint = _load(uow, complaint_id)
        if Status(complaint.status) in (Status.closed, Status.void):
            raise ConflictError(Msg("A closed or void complaint is not voided."))
        if any(r.status == "requested" for r in complaint.void_requests):
            raise ConflictError(Msg("A void request is already waiting for the head of quality's decision."))
        row = VoidRequest(reason=reason, status="requested", requested_by_id=actor.id, requested_at=uow.now())
        return _file_request(uow, complaint, complaint.void_requests, row, "void_request.created", reason, actor)


def _file_request(uow: UnitOfWork, complaint: Complaint, requests: list, row, action: str, reason: str,
                  actor: Actor) -> dict:
    """A request for the head of quality's signed decision (an extension, a void), filed on the complaint."""
    requests.append(row)
    uow.session.flush()
    uow.record(DomainEvent(action, action.split(".")[0], str(row.id), {"complaint_id": [None, complaint.id]},
                           reason=reason, actor_id=actor.id))
    return answered(uow, complaint, actor.roles)


def reminder_letter(complaint: Complaint, reply_row: ComplaintReply) -> str:
    return (f"尊敬的客户：关于投诉 {complaint.number or complaint.intake_ref}，我公司已于 {reply_row.replied_on.isoformat()} "
            f"发出正式答复报告，至今未收到您的反馈。请您审阅并告知意见。\n"
            f"Dear customer: regarding complaint {complaint.number or complaint.intake_ref}, our formal reply was sent "
            f"on {reply_row.replied_on.isoformat()} and we have not yet received your feedback. Please let us know "
            f"whether the matter is resolved.")


def _add_reminder(uow: UnitOfWork, complaint: Complaint, sent_on: date, actor_id: int | None, by_system: bool):
    next_status(_facts(uow, complaint), Step.remind)  # 409 before anything else when no reminder is due
    reply_row = complaint.replies[-1]
    if any(r.reply_id == reply_row.id for r in complaint.reminders):
        raise ConflictError(Msg("The customer has already been reminded of this reply."))
    _move(uow, complaint, Step.remind, actor_id)
    row = CustomerReminder(reply_id=reply_row.id, sent_on=sent_on, by_system=by_system,
                           letter_text=reminder_letter(complaint, reply_row), created_at=uow.now())
    complaint.reminders.append(row)
    uow.session.flush()
    uow.record(DomainEvent("customer_reminder.created", "customer_reminder", str(row.id), actor_id=actor_id))
    return row


def record_reminder(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    sent_on = schemas.load(schemas.Reminder, data)["sent_on"]
    with uow:
        complaint = _load(uow, complaint_id)
        last, label = _last_step_date(complaint)
        check_event_date("sent_on", sent_on, today=business_today(uow.settings), not_before=last,
                         not_before_label=label)
        _add_reminder(uow, complaint, sent_on, actor.id, by_system=False)
        return answered(uow, complaint, actor.roles)


def regrade(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor, source_ip: str | None = None) -> dict:
    """A later change of class keeps the number; the current class changes, the original stays (REC-05).
    The QA head signs the regrading in the same step (DESIGN §6)."""
    from gmp_complaints.services.approvals import authorize, sign_regrading
    from signatures.matrix import SigningStep

    fields = schemas.load(schemas.Regrading, data)
    complaint_class, reason = fields["complaint_class"], fields["reason"]
    credentials = fields["username"], fields["password"]
    with uow:
        complaint = _load(uow, complaint_id)
        if complaint.complaint_class == complaint_class.value:
            raise ValidationError(Msg("Nothing changed."), {"complaint_class": [Msg("The complaint already has this class.")]})
        next_status(_facts(uow, complaint), Step.regrade)  # 409 before the credentials are even asked
        # Every check of the signature before anything changes (a refusal changes nothing).
        signer = authorize(uow, complaint, SigningStep.regrading, credentials, actor=actor, source_ip=source_ip)
        _move(uow, complaint, Step.regrade, signer.user.id, reason=reason)
        complaint.complaint_class = complaint_class.value
        sign_regrading(uow, complaint, signer, reason=reason, source_ip=source_ip)
        return answered(uow, complaint, actor.roles)


def assign(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """Who administers the complaint (a QA officer) and who investigates it; never sales (EU GMP 8.1)."""
    fields = schemas.load(schemas.Assignment, data)
    reason, owner_name, investigator_name = fields["reason"], fields["owner"], fields["investigator"]
    if not owner_name and not investigator_name:
        inputs.raise_if_any({"owner": [Msg("Name the owner, the investigator, or both.")]})
    with uow:
        complaint = _load(uow, complaint_id)
        if Status(complaint.status) in (Status.closed, Status.void):
            raise ConflictError(Msg("A closed or void complaint is not reassigned."))
        changes: dict = {}
        for field, username, allowed, message in (
                ("owner_id", owner_name, {Role.qa_officer, Role.qa_head},
                 Msg("The complaint administrator must be a QA officer or the head of quality.")),
                ("investigator_id", investigator_name, {Role.investigator, Role.qa_officer, Role.qa_head},
                 Msg("The investigator must hold the investigator, QA officer or head of quality role; "
                     "sales staff cannot own an investigation."))):
            if not username:
                continue
            user = uow.session.scalars(sa.select(User).where(User.username == username)).one_or_none()
            form_field = "owner" if field == "owner_id" else "investigator"
            if user is None or not user.is_active:
                raise ValidationError(Msg("Unknown user."), {form_field: [Msg("No active user with this name.")]})
            if not user.roles & allowed:
                raise ValidationError(Msg("Role not allowed."), {form_field: [message]})
            if getattr(complaint, field) != user.id:
                changes[field] = user.id
        if not changes:
            raise ValidationError(Msg("Nothing changed."), {"owner": [Msg("The complaint already has these people.")]})
        if any(getattr(complaint, f) is not None for f in changes) and not reason:
            raise ValidationError(Msg("A reason is required."), {"reason": [Msg("Say why the complaint is reassigned.")]})
        for field, value in changes.items():
            setattr(complaint, field, value)
        uow.record(DomainEvent("complaint.assigned", "complaint", str(complaint.id), reason=reason or "first assignment",
                               actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


def change_batches(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """Correct the batches of the complaint (with a reason). Retention is recomputed: it may move
    later, never earlier (an earlier date needs the QA head's signed approval)."""
    fields = schemas.load(schemas.BatchCorrection, data)
    batch_nos, reason, unknown_reason = fields["batch_nos"], fields["reason"], fields["batch_unknown_reason"]
    if not batch_nos and not unknown_reason:
        inputs.raise_if_any({"batch_nos": [Msg("Pick the batch, or give the reason it is unknown "
                                               "(batch_unknown_reason).")]})
    with uow:
        complaint = _load(uow, complaint_id)
        if Status(complaint.status) in (Status.closed, Status.void):
            raise ConflictError(Msg("The batches of a closed or void complaint do not change."))
        batches = _find_batches(uow.session, complaint.product_id, batch_nos)
        wanted = {b.id for b in batches}
        current = {link.batch_id for link in complaint.batch_links}
        if wanted == current:
            raise ValidationError(Msg("Nothing changed."), {"batch_nos": [Msg("The complaint already has these batches.")]})
        complaint.batch_links = [link for link in complaint.batch_links if link.batch_id in wanted] + [
            ComplaintBatch(batch_id=batch_id) for batch_id in sorted(wanted - current)]
        complaint.batch_unknown_reason = None if batches else unknown_reason
        complaint.version += 1
        uow.session.flush()
        before = complaint.retention_until
        _recompute_retention(uow.session, complaint)
        uow.record(DomainEvent("complaint.batches_changed", "complaint", str(complaint.id),
                               {"batch_ids": [sorted(current), sorted(wanted)]}, reason=reason, actor_id=actor.id))
        view = complaint_view(uow, complaint, actor.roles)
        view["retention_kept_later"] = _retention_would_move_earlier(uow.session, complaint, before)
        uow.commit()
        return view


def _retention_would_move_earlier(session, complaint: Complaint, before: date) -> bool:
    """True when the new batches alone would give an earlier retention date than the one kept."""
    return complaint.retention_until == before and _computed_retention(session, complaint) < before


def _find_batches(session, product_id: int, batch_nos: list[str]) -> list[Batch]:
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


def refuse_deletion(uow: UnitOfWork, complaint_id: int, *, actor: Actor, attachment_id: int | None = None) -> None:
    """Nothing of a complaint is deleted (DESIGN §2 Retention): before ``retention_until`` the attempt
    is refused and audited; after it, disposal is a signed act that keeps a tombstone, not a delete.
    The refusal is the only trace: it is written after the (empty) act is rolled back."""
    with uow:
        complaint = _load(uow, complaint_id, for_update=False)
        if attachment_id is not None:
            row = uow.session.get(Attachment, attachment_id)
            if row is None or row.complaint_id != complaint.id:
                raise NotFoundError(Msg("No attachment %(id)s on this complaint.", id=attachment_id))
            entity = ("attachment.delete_refused", "attachment", str(attachment_id))
        else:
            entity = ("complaint.delete_refused", "complaint", str(complaint.id))
        retention = complaint.retention_until
        uow.on_refusal(lambda u: u.record(DomainEvent(*entity, {"retention_until": [None, retention.isoformat()]},
                                                      actor_id=actor.id)))
        if business_today(uow.settings) <= retention:
            raise ConflictError(Msg("Kept until %(date)s (retention): nothing of the complaint can be deleted before.",
                                    date=retention.isoformat()))
        raise ConflictError(Msg("Records are never deleted: after the retention date, disposal is a signed act "
                                "that keeps a tombstone."))


# --- timers ------------------------------------------------------------------------------------


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


def compute_deadlines(complaint: Complaint, rules: DeadlineRules) -> dict:
    """All the dates the complaint is measured against, in working days of the site calendar. An
    approved extension replaces the time limit it extends (SOP §6)."""
    calendar, config = rules.calendar, rules.config
    limits = config.per_class[ComplaintClass(complaint.complaint_class or "I")]
    result: dict = {}
    provisional = False
    for key, days in (("initial_feedback_due_on", limits.initial_feedback),
                      ("classification_due_on", limits.classification),
                      ("investigation_due_on", limits.investigation_report),
                      ("formal_reply_due_on", limits.formal_reply)):
        deadline = calendar.deadline(complaint.received_on, days)
        result[key] = deadline.due_on.isoformat()
        provisional = provisional or deadline.provisional
    for extension in complaint.extensions:
        if extension.status == "approved":
            result[EXTENSIBLE[extension.kind]] = extension.new_due_on.isoformat()
    result["reminder_due_on"] = result["close_eligible_on"] = None
    # SOP 5.8's reminder follows the formal reply of a substantiated complaint; a reply that explains
    # why a complaint is not substantiated goes straight to closure.
    if complaint.replies and complaint.substantiated is not False:
        reply_row = complaint.replies[-1]
        due = calendar.deadline(reply_row.replied_on, config.reminder_after_reply)
        result["reminder_due_on"] = due.due_on.isoformat()
        provisional = provisional or due.provisional
        reminder = next((r for r in complaint.reminders if r.reply_id == reply_row.id), None)
        if reminder is not None:
            eligible = calendar.deadline(reminder.sent_on, config.closure_after_reminder)
            result["close_eligible_on"] = eligible.due_on.isoformat()
            provisional = provisional or eligible.provisional
    result["customer_due_on"] = complaint.customer_due_on.isoformat() if complaint.customer_due_on else None
    result["provisional"] = provisional
    return result


def open_time_limits(complaint: Complaint, deadlines: dict) -> list[tuple[str, str]]:
    """The time limits the complaint still has to meet: (kind, due date)."""
    status = Status(complaint.status)
    if status in (Status.closed, Status.void, Status.closure_pending):
        return []
    items = []
    if complaint.acknowledged_on is None:
        items.append(("initial_feedback", deadlines["initial_feedback_due_on"]))
    if complaint.classified_on is None and complaint.substantiated is not False:
        items.append(("classification", deadlines["classification_due_on"]))
    if status is Status.under_investigation:
        items.append(("investigation", deadlines["investigation_due_on"]))
    if status in (Status.under_investigation, Status.assessed) and not complaint.replies:
        items.append(("formal_reply", deadlines["formal_reply_due_on"]))
    if status is Status.awaiting_customer and complaint.replies:
        reminded = any(r.reply_id == complaint.replies[-1].id for r in complaint.reminders)
        items.append(("close_eligible", deadlines["close_eligible_on"]) if reminded
                     else ("reminder", deadlines["reminder_due_on"]))
    if complaint.customer_due_on and not complaint.replies:
        items.append(("customer_due", complaint.customer_due_on.isoformat()))
    return [(kind, due_on) for kind, due_on in items if due_on]


def request_extension(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP §6: a time limit that cannot be met: the new date and the reason, for the QA head's approval
    (an extension takes effect only once approved)."""
    fields = schemas.load(schemas.ExtensionRequest, data)
    kind, new_due_on, reason = fields["kind"].value, fields["new_due_on"], fields["reason"]
    with uow:
        complaint = _load(uow, complaint_id)
        deadlines = compute_deadlines(complaint, load_deadline_rules(uow.session))
        open_kinds = dict(open_time_limits(complaint, deadlines))
        if kind not in open_kinds:
            raise ConflictError(Msg("This time limit is not open: nothing to extend."))
        if any(e.kind == kind and e.status == "requested" for e in complaint.extensions):
            raise ConflictError(Msg("An extension of this time limit is already waiting for approval."))
        current = date.fromisoformat(open_kinds[kind])
        if new_due_on <= current:
            raise ValidationError(Msg("Not an extension."), {"new_due_on": [Msg(
                "The new date must be after the current one (%(date)s).", date=current.isoformat())]})
        row = DeadlineExtension(kind=kind, due_on_before=current, new_due_on=new_due_on, reason=reason,
                                status="requested", requested_by_id=actor.id, requested_at=uow.now())
        return _file_request(uow, complaint, complaint.extensions, row, "deadline_extension.requested", reason,
                             actor)


# --- reading -------------------------------------------------------------------------------------


def answered(uow: UnitOfWork, complaint: Complaint, roles) -> dict:
    """Commit a step and answer with the complaint, built in the step's own transaction (flushed first):
    one transaction per call, not a second one to read back what was just written."""
    uow.session.flush()
    view = complaint_view(uow, complaint, roles)
    uow.commit()
    return view


def answered_after_numbering(uow: UnitOfWork, complaint: Complaint, roles) -> dict:
    """A step that took a serial (intake reference, TS number) commits first and answers after: the
    counter row stays locked until the commit, and every other registration or classification of the
    year waits on it, so nothing that can wait is done while it is held."""
    uow.commit()
    return complaint_view(uow, complaint, roles)


def complaint_view(uow: UnitOfWork, complaint: Complaint, roles, *, with_signatures: bool = True) -> dict:
    """The complaint as the API returns it (DESIGN §6); personal data only for roles that need it."""
    from gmp_complaints.services.capa import capas_of_complaint
    from gmp_complaints.services.investigation import quarantine_view

    view = _content_view(uow, complaint, roles, quarantine_view)
    view["capas"] = [{"id": c.id, "number": c.number, "status": c.status}
                     for c in capas_of_complaint(uow.session, complaint.id)]
    if with_signatures:
        from gmp_complaints.services.approvals import signatures_for_view

        view["signatures"] = signatures_for_view(uow, complaint, view)
        view["capa_justified"] = any(s["step"] == "capa_not_needed" and s["status"] == "valid"
                                     for s in view["signatures"])
    return view


def _content_view(uow: UnitOfWork, complaint: Complaint, roles, quarantine_view) -> dict:
    session = uow.session
    product = session.get(Product, complaint.product_id)
    batch_ids = [link.batch_id for link in complaint.batch_links]
    batches = session.scalars(sa.select(Batch).where(Batch.id.in_(batch_ids)).order_by(Batch.batch_no)).all() \
        if batch_ids else []
    cipher = cipher_for(uow.settings)
    contact = {"name": cipher.decrypt(complaint.complainant_name), "organisation": complaint.complainant_organisation,
               "phone": cipher.decrypt(complaint.complainant_phone), "email": cipher.decrypt(complaint.complainant_email)}
    if not may_see_personal_data(roles):
        contact = masked_complainant(contact)
    return {
        "id": complaint.id,
        "intake_ref": complaint.intake_ref,
        "number": complaint.number,
        "complaint_class": complaint.complaint_class,
        "original_class": complaint.original_class,
        "status": complaint.status,
        "version": complaint.version,
        "channel": complaint.channel,
        "received_on": complaint.received_on.isoformat(),
        "complainant": contact,
        "product_code": product.code,
        "product_name": product.name,
        "batch_nos": [b.batch_no for b in batches],
        "batches": [{"id": b.id, "batch_no": b.batch_no} for b in batches],
        "batch_unknown_reason": complaint.batch_unknown_reason,
        "complaint_type": complaint.complaint_type,
        "description": complaint.description,
        "sample_available": complaint.sample_available,
        "written_confirmation_requested": complaint.written_confirmation_requested,
        "retention_until": complaint.retention_until.isoformat(),
        "acknowledgement": {"sent_on": complaint.acknowledged_on.isoformat(), "method": complaint.acknowledgement_method,
                            "note": complaint.acknowledgement_note} if complaint.acknowledged_on else None,
        "validity": {"information_complete": complaint.information_complete, "substantiated": complaint.substantiated,
                     "reason": complaint.validity_reason} if complaint.validity_on else None,
        "classification": {"complaint_class": complaint.original_class, "rationale": complaint.class_rationale,
                           "adr_suspected": complaint.adr_suspected, "criteria_version": complaint.criteria_version,
                           "classified_on": complaint.classified_on.isoformat()} if complaint.classified_on else None,
        "investigation": {"root_cause": complaint.root_cause, "impact": complaint.impact,
                          "other_batches_affected": complaint.other_batches_affected,
                          "substantiated": complaint.investigation_substantiated,
                          "investigated_on": complaint.investigated_on.isoformat()} if complaint.investigated_on else None,
        "assessment": {"reasonable": complaint.reasonable, "actions": (complaint.actions or "").split(),
                       "adr_confirmed": complaint.adr_confirmed,
                       "regulator_report_required": complaint.regulator_report_required,
                       "assessed_on": complaint.assessed_on.isoformat()} if complaint.assessed_on else None,
        "replies": [{"sequence": r.sequence, "replied_on": r.replied_on.isoformat(), "summary": r.summary}
                    for r in complaint.replies],
        "customer_responses": [{"received_on": r.received_on.isoformat(), "satisfied": r.satisfied, "text": r.text}
                               for r in complaint.responses],
        "reminders": [{"sent_on": r.sent_on.isoformat(), "by_system": r.by_system} for r in complaint.reminders],
        "attachments": [{"id": a.id, "filename": a.filename, "media_type": a.media_type, "size": a.size,
                         "sha256": a.sha256} for a in session.scalars(
            sa.select(Attachment).where(Attachment.complaint_id == complaint.id).order_by(Attachment.id))],
        "deadlines": compute_deadlines(complaint, load_deadline_rules(session)),
        "class_criteria": (complaint.class_criteria or "").split(),
        "investigation_checklist": _checklist(complaint),
        "owner": _person(session, complaint.owner_id),
        "investigator": _person(session, complaint.investigator_id),
        "extensions": [{"id": e.id, "kind": e.kind, "due_on_before": e.due_on_before.isoformat(),
                        "new_due_on": e.new_due_on.isoformat(), "reason": e.reason, "status": e.status}
                       for e in complaint.extensions],
        "quarantine_requests": quarantine_view(session, complaint),
        "closed_on": complaint.closed_on.isoformat() if complaint.closed_on else None,
        "follow_up_of_id": complaint.follow_up_of_id,
        "follow_up_of": _complaint_link(session, complaint.follow_up_of_id),
        "follow_ups": [{"id": f.id, "intake_ref": f.intake_ref, "number": f.number, "status": f.status}
                       for f in session.scalars(sa.select(Complaint).where(Complaint.follow_up_of_id == complaint.id)
                                                .order_by(Complaint.id))],
        "void_requests": [{"id": r.id, "reason": r.reason, "status": r.status,
                           "requested_by": _person(session, r.requested_by_id)} for r in complaint.void_requests],
        "signatures": [],
    }


def _complaint_link(session, complaint_id: int | None) -> dict | None:
    if complaint_id is None:
        return None
    row = session.get(Complaint, complaint_id)
    return {"id": row.id, "intake_ref": row.intake_ref, "number": row.number, "status": row.status}


def _person(session, user_id: int | None) -> dict | None:
    """Who a user is, as a record shows it: three columns, not the account with its roles."""
    if user_id is None:
        return None
    people = session.info.setdefault("people", {})
    if user_id not in people:
        row = session.execute(sa.select(User.id, User.username, User.printed_name).where(User.id == user_id)).one()
        people[user_id] = {"id": row.id, "username": row.username, "printed_name": row.printed_name}
    return dict(people[user_id])


def related_for_investigation(session, complaint: Complaint) -> dict:
    """SOP 5.4 / TR-02: what the investigator must weigh — the batches next to the complained ones
    (5.4.3: stock of adjacent batches) and earlier complaints on the same product and type."""
    from gmp_complaints.services.master_data import adjacent_batches

    linked = {link.batch_id for link in complaint.batch_links}
    adjacent: dict[int, Batch] = {}
    for batch in session.scalars(sa.select(Batch).where(Batch.id.in_(linked))) if linked else []:
        for neighbour in adjacent_batches(session, batch):
            if neighbour.id not in linked:
                adjacent[neighbour.id] = neighbour
    earlier = session.scalars(
        sa.select(Complaint).where(Complaint.product_id == complaint.product_id,
                                   Complaint.complaint_type == complaint.complaint_type,
                                   Complaint.id != complaint.id,
                                   Complaint.received_on <= complaint.received_on)
        .order_by(Complaint.received_on.desc(), Complaint.id.desc()).limit(20)).all()
    return {
        "adjacent_batches": [{"id": b.id, "batch_no": b.batch_no, "manufactured_on": b.manufactured_on.isoformat()}
                             for b in sorted(adjacent.values(), key=lambda b: b.manufactured_on)],
        "earlier_complaints": [{"id": c.id, "intake_ref": c.intake_ref, "number": c.number, "status": c.status,
                                "received_on": c.received_on.isoformat()} for c in earlier],
    }


def get_complaint(uow: UnitOfWork, complaint_id: int, *, roles) -> dict:
    with uow:
        complaint = _load(uow, complaint_id, for_update=False)
        view = complaint_view(uow, complaint, roles)
        view["related"] = related_for_investigation(uow.session, complaint)
        return view


# --- lists and the dashboard -----------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintQuery:
    text: str | None = None  # number, intake reference or batch number
    status: str | None = None
    complaint_class: str | None = None
    product_code: str | None = None
    received_from: date | None = None
    received_to: date | None = None


def list_complaints(uow: UnitOfWork, query: ComplaintQuery, *, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    with uow:
        statement = sa.select(Complaint, Product.code).join(Product, Product.id == Complaint.product_id)
        if query.text:
            like = f"%{query.text.strip()}%"
            batch_match = sa.select(ComplaintBatch.complaint_id).join(Batch).where(Batch.batch_no.ilike(like))
            statement = statement.where(sa.or_(Complaint.number.ilike(like), Complaint.intake_ref.ilike(like),
                                               Complaint.id.in_(batch_match)))
        if query.status:
            statement = statement.where(Complaint.status == query.status)
        if query.complaint_class:
            statement = statement.where(Complaint.complaint_class == query.complaint_class)
        if query.product_code:
            statement = statement.where(Product.code == query.product_code)
        if query.received_from:
            statement = statement.where(Complaint.received_on >= query.received_from)
        if query.received_to:
            statement = statement.where(Complaint.received_on <= query.received_to)
        total = uow.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
        rows = uow.session.execute(statement.order_by(Complaint.received_on.desc(), Complaint.id.desc())
                                   .limit(limit).offset(offset)).all()
        rules = load_deadline_rules(uow.session)
        today = business_today(uow.settings)
        return [_summary(c, code, rules, today) for c, code in rows], total


def _summary(complaint: Complaint, product_code: str, rules: DeadlineRules, today: date) -> dict:
    deadlines = compute_deadlines(complaint, rules)
    return {"id": complaint.id, "intake_ref": complaint.intake_ref, "number": complaint.number,
            "complaint_class": complaint.complaint_class, "status": complaint.status,
            "received_on": complaint.received_on.isoformat(), "product_code": product_code,
            "complaint_type": complaint.complaint_type, "is_demo": complaint.is_demo,
            "next_due": next_due(complaint, deadlines, today)}


def next_due(complaint: Complaint, deadlines: dict, today: date) -> dict | None:
    """The next open time limit of the complaint and whether it is overdue (for lists and dashboards)."""
    items = open_time_limits(complaint, deadlines)
    if not items:
        return None
    kind, due_on = min(items, key=lambda item: item[1])
    return {"kind": kind, "due_on": due_on, "overdue": date.fromisoformat(due_on) < today,
            "provisional": deadlines["provisional"]}


def dashboard(uow: UnitOfWork, *, user_id: int, mine_only: bool, limit: int = 500) -> dict:
    """Open complaints by what is due: overdue first, then due, then those waiting for the customer.
    "Mine" are the complaints I administer, investigate or received; the QA head also sees every
    overdue item that ``gmp tick`` escalated (SOP §6)."""
    from gmp_complaints.models import Escalation

    with uow:
        open_statuses = [s.value for s in Status if s not in (Status.closed, Status.void)]
        statement = (sa.select(Complaint, Product.code).join(Product, Product.id == Complaint.product_id)
                     .where(Complaint.status.in_(open_statuses)))
        if mine_only:
            statement = statement.where(sa.or_(Complaint.owner_id == user_id, Complaint.investigator_id == user_id,
                                               Complaint.received_by_id == user_id))
        rows = uow.session.execute(statement.order_by(Complaint.received_on).limit(limit)).all()
        rules = load_deadline_rules(uow.session)
        today = business_today(uow.settings)
        summaries = [_summary(c, code, rules, today) for c, code in rows]
        escalated_rows = uow.session.execute(
            sa.select(Escalation, Complaint, Product.code).join(Complaint, Complaint.id == Escalation.complaint_id)
            .join(Product, Product.id == Complaint.product_id)
            .where(Complaint.status.in_(open_statuses)).order_by(Escalation.due_on)).all()
        escalated = []
        for escalation, complaint, code in escalated_rows:
            still_open = dict(open_time_limits(complaint, compute_deadlines(complaint, rules)))
            if still_open.get(escalation.kind) == escalation.due_on.isoformat():
                escalated.append({**_summary(complaint, code, rules, today), "escalation": {
                    "kind": escalation.kind, "due_on": escalation.due_on.isoformat(),
                    "escalated_on": escalation.escalated_on.isoformat()}})
    overdue = [s for s in summaries if s["next_due"] and s["next_due"]["overdue"]]
    waiting = [s for s in summaries if s["status"] == Status.awaiting_customer.value and s not in overdue]
    due = [s for s in summaries if s["next_due"] and s not in overdue and s not in waiting]
    return {"today": today.isoformat(), "mine_only": mine_only, "overdue": overdue,
            "due": sorted(due, key=lambda s: s["next_due"]["due_on"]), "awaiting_customer": waiting,
            "closure_pending": [s for s in summaries if s["status"] == Status.closure_pending.value],
            "escalated": escalated}


def allowed_steps_for(complaint: dict) -> list[str]:
    from gmp_complaints.domain.complaints import allowed_steps

    facts = ComplaintFacts(status=Status(complaint["status"]),
                           substantiated=(complaint["validity"] or {}).get("substantiated"),
                           numbered=complaint["number"] is not None, investigated=complaint["investigation"] is not None,
                           replies=len(complaint["replies"]),
                           reasonable=(complaint["assessment"] or {}).get("reasonable"),
                           acknowledged=complaint["acknowledgement"] is not None,
                           capa_covered=bool(complaint["capas"]) or complaint.get("capa_justified", False))
    return [step.value for step in allowed_steps(facts)]

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
)
from gmp_complaints.domain.criteria import check_criteria
from gmp_complaints.domain.deadlines import Deadlines
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, PermissionDeniedError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.investigation import check_checklist, merged_checklist
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.models import (
    Attachment,
    Batch,
    Complaint,
    ComplaintBatch,
    ComplaintReply,
    CustomerResponse,
    DeadlineExtension,
    Product,
    User,
    VoidRequest,
)
from gmp_complaints.services import inputs, schemas
from gmp_complaints.services.configuration import criteria_in_force
from gmp_complaints.services.numbering import take_serial
from gmp_complaints.services.personal_data import cipher_for
from gmp_complaints.services.complaint_records import (
    load_complaint,
    complaint_facts,
    move,
    checklist_of,
    computed_retention,
    recompute_retention,
    find_batches,
    add_reminder,
    DeadlineRules,
    load_deadline_rules,
    compute_deadlines,
    open_time_limits,
    answered,
    answered_after_numbering,
    complaint_view,
)
from gmp_complaints.uow import UnitOfWork

#: time limits that can be extended (SOP §6), with the deadline key they move


# --- loading and facts ---------------------------------------------------------------------------


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


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
    if received_on > today:
        errors["received_on"] = [Msg("The date cannot be in the future.")]
    inputs.raise_if_any(errors)

    with uow:
        session = uow.session
        product = session.scalars(sa.select(Product).where(Product.code == product_code)).one_or_none()
        if product is None:
            raise ValidationError(Msg("Unknown product."), {"product_code": [Msg("No product has this code.")]})
        batches = find_batches(session, product.id, batch_nos)
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
        recompute_retention(session, complaint)
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
        complaint = load_complaint(uow, complaint_id)
        check_event_date("sent_on", sent_on, today=business_today(uow.settings),
                         not_before=complaint.received_on, not_before_label=Msg("the receipt"))
        move(uow, complaint, Step.acknowledge, actor.id)  # 409 when the feedback is already recorded
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
        complaint = load_complaint(uow, complaint_id)
        complaint.information_complete = information_complete
        complaint.validity_reason = reason
        complaint.validity_on = business_today(uow.settings)
        move(uow, complaint, Step.validity, actor.id, substantiated=substantiated)
        complaint.substantiated = substantiated
        return answered(uow, complaint, actor.roles)


def classify(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP §3, 5.3: class I/II/III with a rationale and the ADR question; assigns the TS number."""
    fields = schemas.load(schemas.Classification, data)
    complaint_class, rationale, adr_suspected = fields["complaint_class"], fields["rationale"], fields["adr_suspected"]
    selected = fields["criteria"] or []
    with uow:
        complaint = load_complaint(uow, complaint_id)
        version, available = criteria_in_force(uow.session, business_today(uow.settings))
        criteria = check_criteria(complaint_class, selected, available)
        move(uow, complaint, Step.classify, actor.id)
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
        complaint = load_complaint(uow, complaint_id)
        check_may_investigate(actor, complaint.investigator_id)
        if complaint.complaint_class == ComplaintClass.I.value and complaint.status == Status.under_investigation.value:
            from gmp_complaints.services.approvals import interim_decision_missing

            if interim_decision_missing(uow, complaint):
                raise ConflictError(Msg("Class I: the head of quality and the QP sign the interim risk decision "
                                        "before the investigation is recorded."))
        move(uow, complaint, Step.investigate, actor.id,
              reason="re-investigation" if complaint.investigated_on else None)
        if checklist:
            complaint.investigation_checklist = _canonical(
                merged_checklist(checklist_of(complaint), checklist))
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
    if reasonable is False and actions:
        inputs.raise_if_any({"actions": [Msg("An unreasonable complaint takes no actions.")]})
    with uow:
        complaint = load_complaint(uow, complaint_id)
        move(uow, complaint, Step.assess, actor.id)
        complaint.reasonable, complaint.actions = reasonable, " ".join(sorted(set(actions))) or None
        complaint.adr_confirmed, complaint.regulator_report_required = adr_confirmed, regulator
        complaint.assessed_on = business_today(uow.settings)
        return answered(uow, complaint, actor.roles)


def reply(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP 5.6: the formal reply, or the 2nd, 3rd... supplementary reply after a challenge."""
    fields = schemas.load(schemas.Reply, data)
    replied_on, summary = fields["replied_on"], fields["summary"]
    with uow:
        complaint = load_complaint(uow, complaint_id)
        last, label = _last_step_date(complaint)
        check_event_date("replied_on", replied_on, today=business_today(uow.settings), not_before=last,
                         not_before_label=label)
        sequence = len(complaint.replies) + 1
        move(uow, complaint, Step.reply, actor.id, changes={"replies": [sequence - 1, sequence]})
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
        complaint = load_complaint(uow, complaint_id)
        if complaint.status == Status.closed.value:
            raise ConflictError(Msg("The complaint is closed and never changes: record the customer's response "
                                    "as a follow-up complaint linked to it."))
        last, label = _last_step_date(complaint)
        check_event_date("received_on", received_on, today=business_today(uow.settings), not_before=last,
                         not_before_label=label)
        move(uow, complaint, Step.customer_response, actor.id, satisfied=satisfied)
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
        closed = load_complaint(uow, complaint_id, for_update=False)
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
        recompute_retention(uow.session, follow_up)
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
        complaint = load_complaint(uow, complaint_id)
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


def record_reminder(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    sent_on = schemas.load(schemas.Reminder, data)["sent_on"]
    with uow:
        complaint = load_complaint(uow, complaint_id)
        last, label = _last_step_date(complaint)
        check_event_date("sent_on", sent_on, today=business_today(uow.settings), not_before=last,
                         not_before_label=label)
        add_reminder(uow, complaint, sent_on, actor.id, by_system=False)
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
        complaint = load_complaint(uow, complaint_id)
        if complaint.complaint_class == complaint_class.value:
            raise ValidationError(Msg("Nothing changed."), {"complaint_class": [Msg("The complaint already has this class.")]})
        next_status(complaint_facts(uow, complaint), Step.regrade)  # 409 before the credentials are even asked
        # Every check of the signature before anything changes (a refusal changes nothing).
        signer = authorize(uow, complaint, SigningStep.regrading, credentials, actor=actor, source_ip=source_ip)
        move(uow, complaint, Step.regrade, signer.user.id, reason=reason)
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
        complaint = load_complaint(uow, complaint_id)
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
        complaint = load_complaint(uow, complaint_id)
        if Status(complaint.status) in (Status.closed, Status.void):
            raise ConflictError(Msg("The batches of a closed or void complaint do not change."))
        batches = find_batches(uow.session, complaint.product_id, batch_nos)
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
        recompute_retention(uow.session, complaint)
        uow.record(DomainEvent("complaint.batches_changed", "complaint", str(complaint.id),
                               {"batch_ids": [sorted(current), sorted(wanted)]}, reason=reason, actor_id=actor.id))
        view = complaint_view(uow, complaint, actor.roles)
        view["retention_kept_later"] = _retention_would_move_earlier(uow.session, complaint, before)
        uow.commit()
        return view


def _retention_would_move_earlier(session, complaint: Complaint, before: date) -> bool:
    """True when the new batches alone would give an earlier retention date than the one kept."""
    return complaint.retention_until == before and computed_retention(session, complaint) < before


def refuse_deletion(uow: UnitOfWork, complaint_id: int, *, actor: Actor, attachment_id: int | None = None) -> None:
    """Nothing of a complaint is deleted (DESIGN §2 Retention): before ``retention_until`` the attempt
    is refused and audited; after it, disposal is a signed act that keeps a tombstone, not a delete.
    The refusal is the only trace: it is written after the (empty) act is rolled back."""
    with uow:
        complaint = load_complaint(uow, complaint_id, for_update=False)
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


def request_extension(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP §6: a time limit that cannot be met: the new date and the reason, for the QA head's approval
    (an extension takes effect only once approved)."""
    fields = schemas.load(schemas.ExtensionRequest, data)
    kind, new_due_on, reason = fields["kind"].value, fields["new_due_on"], fields["reason"]
    with uow:
        complaint = load_complaint(uow, complaint_id)
        deadlines = compute_deadlines(complaint, load_deadline_rules(uow.session))
        open_kinds = dict(open_time_limits(complaint, deadlines))
        if kind not in open_kinds:
            raise ConflictError(Msg("This time limit is not open: nothing to extend."))
        if any(e.kind == kind and e.status == "requested" for e in complaint.extensions):
            raise ConflictError(Msg("An extension of this time limit is already waiting for approval."))
        current = open_kinds[kind]
        if new_due_on <= current:
            raise ValidationError(Msg("Not an extension."), {"new_due_on": [Msg(
                "The new date must be after the current one (%(date)s).", date=current.isoformat())]})
        row = DeadlineExtension(kind=kind, due_on_before=current, new_due_on=new_due_on, reason=reason,
                                status="requested", requested_by_id=actor.id, requested_at=uow.now())
        return _file_request(uow, complaint, complaint.extensions, row, "deadline_extension.requested", reason,
                             actor)


# --- reading -------------------------------------------------------------------------------------


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
        complaint = load_complaint(uow, complaint_id, for_update=False)
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


def next_due(complaint: Complaint, deadlines: Deadlines, today: date) -> dict | None:
    """The next open time limit of the complaint and whether it is overdue (for lists and dashboards)."""
    items = open_time_limits(complaint, deadlines)
    if not items:
        return None
    kind, due_on = min(items, key=lambda item: item[1])
    return {"kind": kind, "due_on": due_on.isoformat(), "overdue": due_on < today,
            "provisional": deadlines.provisional}


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
            if still_open.get(escalation.kind) == escalation.due_on:
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

"""The steps of a complaint after registration (SOP 5.2–5.8): initial feedback, validity, classification,
investigation, assessment, reply, customer response, reminder, regrading, assignment, batch correction,
requests for the head of quality's decision (extension, void), and the refused deletion.

Each public function is one unit of work: it loads the complaint with its lock, asks ``domain.complaints``
whether the step is allowed (409 otherwise, nothing changes), stores the step, records the audit event and
commits once."""
from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa

from gmp_complaints.clock import business_today, end_of_day
from gmp_complaints.domain.adr import check_us_adr_triage
from gmp_complaints.domain.complaints import (
    ComplaintClass,
    Status,
    Step,
    check_event_date,
    complaint_number,
    next_status,
)
from gmp_complaints.domain.criteria import check_criteria
from gmp_complaints.domain.deadlines import interim_decision_due_on
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, PermissionDeniedError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.field_alert import FDA_FIELD_ALERT_AUTHORITY, field_alert_due_on, screen_field_alert
from gmp_complaints.domain.grading import check_extension_decision, check_severity
from gmp_complaints.domain.investigation import (
    ExaminedCause,
    check_checklist,
    check_root_cause_category,
    merged_checklist,
)
from gmp_complaints.domain.markets import (
    defect_notice_recipients,
    expired_without_recall,
    partner_notice_recipients,
    split_markets,
)
from gmp_complaints.domain.notices import NoticeKind
from gmp_complaints.domain.recall import LOCAL_AUTHORITY
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.models import (
    Attachment,
    Complaint,
    ComplaintBatch,
    ComplaintReply,
    CustomerResponse,
    DeadlineExtension,
    Notification,
    ReplyReport,
    User,
    VoidRequest,
)
from gmp_complaints.services import grading, inputs, schemas, triage
from gmp_complaints.services.approvals import authorize, interim_decision_missing, sign_regrading
from gmp_complaints.services.calendars import US_CALENDAR, load_calendar
from gmp_complaints.services.complaint_records import (
    add_reminder,
    answered,
    answered_after_numbering,
    complaint_facts,
    complaint_view,
    move,
    prepare_view,
)
from gmp_complaints.services.complaint_repository import (
    checklist_of,
    compute_deadlines,
    computed_retention,
    find_batches,
    load_complaint,
    load_deadline_rules,
    open_time_limits,
    recompute_retention,
)
from gmp_complaints.services.configuration import criteria_in_force
from gmp_complaints.services.notices import notify, notify_complaint
from gmp_complaints.services.numbering import take_serial
from gmp_complaints.services.recalls import add_defect_notices, add_notification
from gmp_complaints.uow import UnitOfWork
from signatures.matrix import SigningStep

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


def record_validity(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor,
                    explicit_answers: bool = False) -> dict:
    """SOP 5.3: is the information complete, is the complaint substantiated? Not substantiated goes to
    ``assessed`` without a number, and its reply takes it to closure. With it the triage (REC-09, WF-02):
    quality defect and falsification suspected, the routing of what is not a quality defect, and the flag
    of a possible failure to meet specification, which holds the complaint in triage. ``explicit_answers``
    (the page) refuses a triage question left unanswered instead of recording it as unknown."""
    fields = schemas.load(schemas.ValidityForm if explicit_answers else schemas.Validity, data)
    information_complete, substantiated, reason = (fields["information_complete"], fields["substantiated"],
                                                   fields["reason"])
    if substantiated is False and not reason:
        inputs.raise_if_any({"reason": [Msg("Say why the complaint is not substantiated.")]})
    answers = triage.triage_answers(fields)
    with uow:
        complaint = load_complaint(uow, complaint_id)
        complaint.information_complete = information_complete
        complaint.validity_reason = reason
        complaint.validity_on = business_today(uow.settings)
        move(uow, complaint, Step.validity, actor.id, substantiated=substantiated,
             spec_failure_suspected=answers.spec_failure_suspected)
        complaint.substantiated = substantiated
        triage.record_triage(uow, complaint, answers, actor_id=actor.id)
        return answered(uow, complaint, actor.roles)


def classify(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor, form: bool = False) -> dict:
    """SOP §3, 5.3: class I/II/III with a rationale and the ADR question; assigns the TS number. With the severity
    and the extent (REC-08): optional through the API (the DESIGN §6 body), stated on the page (``form``)."""
    fields, errors = schemas.load_collecting(schemas.ClassificationForm if form else schemas.Classification, data)
    graded = grading.grading_fields(fields, errors, form=form)
    if fields.get("complaint_class") and "severity" not in errors:
        grading.collect(errors, check_severity, fields["complaint_class"], graded.severity)
    grading.refuse_if_any(errors)  # every field at fault named at once
    complaint_class, rationale, adr_suspected = fields["complaint_class"], fields["rationale"], fields["adr_suspected"]
    selected = fields["criteria"] or []
    with uow:
        complaint = load_complaint(uow, complaint_id)
        version, available = criteria_in_force(uow.session, business_today(uow.settings))
        criteria = check_criteria(complaint_class, selected, available)
        markets = split_markets(complaint.product.markets)
        screen = screen_field_alert(markets, field_alert=fields["field_alert"],
                                    mix_up=fields["field_alert_mix_up"],
                                    quality_defect=fields["field_alert_quality_defect"])
        adr_serious, adr_unexpected = check_us_adr_triage(markets, adr_suspected=adr_suspected,
                                                          serious=fields["adr_serious"],
                                                          unexpected=fields["adr_unexpected"])
        move(uow, complaint, Step.classify, actor.id)
        received_year = complaint.received_on.year  # received_on is already the site-local date
        prepare_view(uow, complaint, actor.id)  # before the counter lock: the answer is built after the commit
        serial = take_serial(uow, f"TS:{complaint_class.value}-{received_year % 100:02d}")
        complaint.number = complaint_number(complaint_class, received_year, serial)
        complaint.complaint_class = complaint.original_class = complaint_class.value
        complaint.class_rationale, complaint.adr_suspected = rationale, adr_suspected
        complaint.classified_on = business_today(uow.settings)
        complaint.criteria_version, complaint.class_criteria = version, " ".join(criteria) or None
        complaint.field_alert_screen = screen.met
        complaint.field_alert_mix_up, complaint.field_alert_quality_defect = screen.mix_up, screen.quality_defect
        complaint.adr_serious, complaint.adr_unexpected = adr_serious, adr_unexpected
        grading.grade(complaint, graded, with_defaults=True)
        if screen.met:
            _owe_field_alert(uow, complaint, actor.id)
        _tell_partners(uow, complaint, actor.id)
        notify_complaint(uow, complaint, NoticeKind.complaint_classified, (Role.qp,), actor_id=actor.id)
        if complaint_class is ComplaintClass.I:
            _start_interim_clock(uow, complaint, complaint.classified_on)
            notify_complaint(uow, complaint, NoticeKind.interim_decision_due, (Role.qa_head, Role.qp),
                             actor_id=actor.id)
        return answered_after_numbering(uow, complaint, actor.roles)


def _start_interim_clock(uow: UnitOfWork, complaint: Complaint, became_class_i_on: date) -> None:
    """WF-09: the signed interim risk decision is due the configured working days after the complaint became
    class I; fixed now (a later change of the configuration or the calendar does not move it)."""
    rules = load_deadline_rules(uow.session)
    complaint.interim_decision_due_on = interim_decision_due_on(
        became_class_i_on, rules.calendar, rules.config.interim_decision_after_class_i)
    complaint.interim_decided_at = None


def _owe_field_alert(uow: UnitOfWork, complaint: Complaint, actor_id: int) -> None:
    """21 CFR 314.81(b)(1) (HO-04): the field alert is due 3 working days of the US federal calendar after
    the company received the information, at the end of that day."""
    due_on = field_alert_due_on(complaint.received_on, load_calendar(uow.session, US_CALENDAR))
    due_at = end_of_day(due_on, uow.settings)
    add_notification(uow, kind="field_alert", subject=complaint, due_at=due_at, actor_id=actor_id,
                     authority=FDA_FIELD_ALERT_AUTHORITY)


def _tell_partners(uow: UnitOfWork, complaint: Complaint, actor_id: int) -> None:
    """HO-14: the contract partner and a marketing authorisation holder other than this site are told of the
    complaint once it is classified, by the end of the configured working day; the register records when,
    how and to whom (the person) it was sent."""
    product = complaint.product
    recipients = partner_notice_recipients(product.marketing_authorisation_holder, product.contract_partner)
    if not recipients:
        return
    rules = load_deadline_rules(uow.session)
    due_on = rules.calendar.add_working_days(complaint.classified_on, rules.config.partner_notice_after_classification)
    for recipient in recipients:
        add_notification(uow, kind="quality_report", subject=complaint, due_at=end_of_day(due_on, uow.settings),
                         actor_id=actor_id, authority=recipient)


def investigate(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor, form: bool = False) -> dict:
    """SOP 5.4: root cause, impact, other batches possibly affected. Sales never own it (EU GMP 8.1). With the
    decision whether it extends to other batches or products (REC-11): optional through the API (the DESIGN §6
    body; a decision recorded stays until restated), required on the page (``form``)."""
    if actor.roles <= {Role.intake}:
        raise PermissionDeniedError(Msg("Sales staff cannot own an investigation."))
    fields, errors = schemas.load_collecting(schemas.Investigation, data)
    decision = grading.collect(errors, check_extension_decision, fields.get("extend_to_other_batches"),
                               fields.get("extension_rationale"), fields.get("extension_batch_nos"),
                               fields.get("extension_product_codes"), required=form)
    grading.refuse_if_any(errors)  # every field at fault named at once
    root_cause, impact = fields["root_cause"], fields["impact"]
    other_batches, substantiated = fields["other_batches_affected"], fields["substantiated"]
    checklist = check_checklist(fields["checklist"])
    cause = check_root_cause_category(fields["root_cause_category"], fields["human_error_justification"],
                                      fields["causes_examined"])
    with uow:
        complaint = load_complaint(uow, complaint_id)
        check_may_investigate(actor, complaint.investigator_id)
        if complaint.complaint_class == ComplaintClass.I.value and complaint.status == Status.under_investigation.value:
            if interim_decision_missing(uow, complaint):
                raise ConflictError(Msg("Class I: the head of quality and the QP sign the interim risk decision "
                                        "before the investigation is recorded."))
        if decision is not None:
            grading.check_extension_targets(uow.session, complaint, decision)
        move(uow, complaint, Step.investigate, actor.id,
              reason="re-investigation" if complaint.investigated_on else None)
        if decision is not None:
            grading.decide_extension(complaint, decision)
        if checklist:
            complaint.investigation_checklist = _canonical(
                merged_checklist(checklist_of(complaint), checklist))
        complaint.root_cause, complaint.impact = root_cause, impact
        complaint.other_batches_affected, complaint.investigation_substantiated = other_batches, substantiated
        complaint.recurring_problem = fields["recurring_problem"]
        # REC-14: the category as this investigation states it (a re-investigation states it anew)
        complaint.root_cause_category = cause.category.value if cause.category else None
        complaint.human_error_justification = cause.human_error_justification
        examined = cause.causes_examined
        complaint.causes_examined_process = examined.get(ExaminedCause.process.value)
        complaint.causes_examined_procedure = examined.get(ExaminedCause.procedure.value)
        complaint.causes_examined_system = examined.get(ExaminedCause.system.value)
        complaint.investigated_on = business_today(uow.settings)
        return answered(uow, complaint, actor.roles)


def decide_other_batches(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """REC-11 (21 CFR 211.192): the decision whether the investigation extends to other batches or products, with its
    rationale, recorded after an investigation recorded without it (the DESIGN §6 body does not carry it), or
    changed with a reason. A complaint assessed reasonable is not closed without it."""
    if actor.roles <= {Role.intake}:
        raise PermissionDeniedError(Msg("Sales staff cannot own an investigation."))
    fields = schemas.load(schemas.OtherBatchesDecision, data)
    decision = check_extension_decision(fields["extend_to_other_batches"], fields["extension_rationale"],
                                        fields["extension_batch_nos"], fields["extension_product_codes"],
                                        required=True)
    with uow:
        complaint = load_complaint(uow, complaint_id)
        check_may_investigate(actor, complaint.investigator_id)
        if complaint.disposed_at is not None or Status(complaint.status) in (Status.closed, Status.void):
            raise ConflictError(Msg("A closed or void complaint does not change."))
        if complaint.investigated_on is None:
            raise ConflictError(Msg("Record the investigation first: the decision on other batches belongs to it."))
        changing = complaint.extend_to_other_batches is not None
        if changing and not fields["reason"]:
            inputs.raise_if_any({"reason": [Msg("A decision is already recorded: say why it changes.")]})
        grading.check_extension_targets(uow.session, complaint, decision)
        if not grading.decide_extension(complaint, decision):
            raise ValidationError(Msg("Nothing changed."), {"extend_to_other_batches": [Msg(
                "This decision is already recorded.")]})
        complaint.version += 1
        uow.record(DomainEvent("complaint.other_batches_decision_changed" if changing
                               else "complaint.other_batches_decided", "complaint", str(complaint.id),
                               reason=fields["reason"], actor_id=actor.id))
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
        if expired_without_recall(reasonable=reasonable, actions=actions, on=complaint.assessed_on,
                                  batch_expiry_dates=[link.batch.expires_on for link in complaint.batch_links]):
            _report_defect_without_recall(uow, complaint, actor.id)
        if regulator:
            _report_quality_problem(uow, complaint, actor.id)
        return answered(uow, complaint, actor.roles)


def _report_quality_problem(uow: UnitOfWork, complaint: Complaint, actor_id: int) -> None:
    """SOP 5.6.1 (China GMP Art. 277): the assessment found enterprise error, deterioration or a major
    quality problem; the local authority's report is due at the end of the configured working day after
    the assessment. Once per complaint: a re-assessment does not owe it again."""
    owed = uow.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.subject_type == "complaint", Notification.subject_id == complaint.id,
        Notification.kind == "quality_report", Notification.authority == LOCAL_AUTHORITY))
    if owed:
        return
    rules = load_deadline_rules(uow.session)
    due_on = rules.calendar.add_working_days(complaint.assessed_on, rules.config.quality_report_after_assessment)
    due_at = end_of_day(due_on, uow.settings)
    add_notification(uow, kind="quality_report", subject=complaint, due_at=due_at, actor_id=actor_id)


def _report_defect_without_recall(uow: UnitOfWork, complaint: Complaint, actor_id: int) -> None:
    """No recall because the batches have expired: the EU authorities are told of the defect all the same
    (HO-08), once per complaint (a re-assessment adds nothing)."""
    product = complaint.product
    authorities = [r.authority for r in defect_notice_recipients(split_markets(product.markets),
                                                                  product.marketing_authorisation_holder)]
    owed = uow.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.subject_type == "complaint", Notification.subject_id == complaint.id,
        Notification.kind == "quality_report", Notification.authority.in_(authorities)))
    if not owed:
        add_defect_notices(uow, complaint, product, actor_id=actor_id)


def reply(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP 5.6: the formal reply, or the 2nd, 3rd... supplementary reply after a challenge, as sent.

    SOP 5.6.1: QA forms the reply report and sales reply to the customer. Where the report was drafted
    and approved, the reply sends it (its text, unchanged); where the site requires it
    (``reply_approval_required``), no reply goes out without an approved report and a named sales sender."""
    fields = schemas.load(schemas.Reply, data)
    replied_on, summary = fields["replied_on"], fields["summary"]
    required = uow.settings.reply_approval_required
    with uow:
        complaint = load_complaint(uow, complaint_id)
        last, label = _last_step_date(complaint)
        check_event_date("replied_on", replied_on, today=business_today(uow.settings), not_before=last,
                         not_before_label=label)
        sequence = len(complaint.replies) + 1
        next_status(complaint_facts(uow, complaint), Step.reply)  # 409 before anything else
        report = _approved_report(complaint, sequence)
        if report is None and required:
            raise ConflictError(Msg("The reply report needs the head of quality's approval before it is sent "
                                    "(SOP 5.6.1)."))
        if report is not None:
            if summary and summary.strip() != report.summary.strip():
                raise ConflictError(Msg("The reply differs from the approved reply report: send the approved "
                                        "text, or draft and approve a new report."))
            summary = report.summary
        if not summary:
            inputs.raise_if_any({"summary": [Msg("This field is required.")]})
        sent_by = _sales_sender(uow, fields["sent_by"], actor)
        if sent_by is None and required:
            inputs.raise_if_any({"sent_by": [Msg("Name the sales person who sent the reply (SOP 5.6.1).")]})
        move(uow, complaint, Step.reply, actor.id, changes={"replies": [sequence - 1, sequence]})
        row = ComplaintReply(sequence=sequence, replied_on=replied_on, summary=summary, created_at=uow.now(),
                             report_id=report.id if report else None, sent_by_id=sent_by.id if sent_by else None)
        complaint.replies.append(row)
        if report is not None:
            report.status = "sent"
            uow.record(DomainEvent("reply_report.sent", "reply_report", str(report.id), actor_id=actor.id))
        uow.session.flush()
        uow.record(DomainEvent("complaint_reply.created", "complaint_reply", str(row.id), actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


def _approved_report(complaint: Complaint, sequence: int) -> ReplyReport | None:
    return next((r for r in complaint.reply_reports if r.sequence == sequence and r.status == "approved"), None)


def _sales_sender(uow: UnitOfWork, username: str | None, actor: Actor) -> User | None:
    """Who in sales sent the reply: the named user (active, holding the sales role), else the person
    recording it when they are sales staff, else nobody named."""
    if not username:
        return uow.session.get(User, actor.id) if Role.intake in actor.roles else None
    user = uow.session.scalars(sa.select(User).where(User.username == username)).one_or_none()
    if user is None or not user.is_active:
        raise ValidationError(Msg("Unknown user."), {"sent_by": [Msg("No active user with this name.")]})
    if Role.intake not in user.roles:
        raise ValidationError(Msg("Role not allowed."), {"sent_by": [Msg(
            "The reply is sent by sales: this user does not hold the sales (intake) role.")]})
    return user


def draft_reply_report(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """SOP 5.6.1: QA forms the reply report (investigation result and CAPA) for the next reply, for the head
    of quality to approve. A new draft for the same reply withdraws the one before, with a reason."""
    fields = schemas.load(schemas.ReplyReportDraft, data)
    with uow:
        complaint = load_complaint(uow, complaint_id)
        next_status(complaint_facts(uow, complaint), Step.reply)  # 409 when no reply is due now
        sequence = len(complaint.replies) + 1
        earlier = [r for r in complaint.reply_reports if r.sequence == sequence and r.status in ("draft", "approved")]
        if earlier and not fields["reason"]:
            inputs.raise_if_any({"reason": [Msg("A report for this reply is already drafted: say why it is "
                                                "replaced.")]})
        for row in earlier:
            row.status = "withdrawn"
            uow.record(DomainEvent("reply_report.withdrawn", "reply_report", str(row.id), reason=fields["reason"],
                                   actor_id=actor.id))
        report = ReplyReport(sequence=sequence, summary=fields["summary"], status="draft", drafted_by_id=actor.id,
                             drafted_at=uow.now())
        complaint.reply_reports.append(report)
        uow.session.flush()
        uow.record(DomainEvent("reply_report.drafted", "reply_report", str(report.id),
                               {"complaint_id": [None, complaint.id]}, actor_id=actor.id))
        notify_complaint(uow, complaint, NoticeKind.reply_report_to_approve, (Role.qa_head,), actor_id=actor.id)
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
    notify_complaint(uow, complaint, NoticeKind.decision_requested, (Role.qa_head,), actor_id=actor.id)
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


def regrade(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor, source_ip: str | None = None,
            form: bool = False) -> dict:
    """A later change of class keeps the number; the current class changes, the original stays (REC-05).
    The QA head signs the regrading in the same step (DESIGN §6). The severity and the extent (REC-08) may change
    with it (the page states them again, ``form``); the severity recorded must suit the new class."""
    fields, errors = schemas.load_collecting(schemas.RegradingForm if form else schemas.Regrading, data)
    graded = grading.grading_fields(fields, errors, form=form)
    grading.refuse_if_any(errors)
    complaint_class, reason = fields["complaint_class"], fields["reason"]
    credentials = fields["username"], fields["password"]
    with uow:
        complaint = load_complaint(uow, complaint_id)
        if complaint.complaint_class == complaint_class.value:
            raise ValidationError(Msg("Nothing changed."), {"complaint_class": [Msg("The complaint already has this class.")]})
        next_status(complaint_facts(uow, complaint), Step.regrade)  # 409 before the credentials are even asked
        check_severity(complaint_class, graded.severity or grading.recorded_severity(complaint))
        # Every check of the signature before anything changes (a refusal changes nothing).
        signer = authorize(uow, complaint, SigningStep.regrading, credentials, actor=actor, source_ip=source_ip)
        move(uow, complaint, Step.regrade, signer.user.id, reason=reason)
        complaint.complaint_class = complaint_class.value
        grading.grade(complaint, graded, with_defaults=False)
        if complaint_class is ComplaintClass.I and complaint.status == Status.under_investigation.value:
            # A new interim decision is due: the earlier signatures covered the earlier class (superseded).
            _start_interim_clock(uow, complaint, business_today(uow.settings))
        elif complaint_class is not ComplaintClass.I:
            complaint.interim_decision_due_on = None
        sign_regrading(uow, complaint, signer, reason=reason, source_ip=source_ip)
        if complaint_class is ComplaintClass.I and complaint.status == Status.under_investigation.value:
            notify_complaint(uow, complaint, NoticeKind.interim_decision_due, (Role.qa_head, Role.qp),
                             actor_id=signer.user.id)
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
        if "investigator_id" in changes:
            notify(uow, [changes["investigator_id"]], NoticeKind.investigation_assigned, subject_type="complaint",
                   subject_id=complaint.id, record_label=complaint.number or complaint.intake_ref, actor_id=actor.id)
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
        recompute_retention(uow.session, complaint, uow.settings)
        uow.record(DomainEvent("complaint.batches_changed", "complaint", str(complaint.id),
                               {"batch_ids": [sorted(current), sorted(wanted)]}, reason=reason, actor_id=actor.id))
        view = complaint_view(uow, complaint, actor.roles)
        view["retention_kept_later"] = _retention_would_move_earlier(uow.session, complaint, before, uow.settings)
        uow.commit()
        return view


def _retention_would_move_earlier(session, complaint: Complaint, before: date, settings) -> bool:
    """True when the new batches alone would give an earlier retention date than the one kept."""
    return complaint.retention_until == before and computed_retention(session, complaint, settings) < before


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


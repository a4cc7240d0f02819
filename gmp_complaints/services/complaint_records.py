"""The complaint as a record: the facts the state machine decides on, a move and its audit event, the
reminder, and the view the API and the pages show (with the signatures' status). Loading is
``complaint_repository``. The use cases (``complaint_intake``, ``complaint_steps``, ``approvals``,
``investigation``, ``timers``) build on this module; it imports none of them.
"""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import object_session

from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaint_file import ComplaintFileFacts, missing_complaint_file_items
from gmp_complaints.domain.complaints import (
    DISPOSED,
    ComplaintFacts,
    Status,
    Step,
    next_status,
)
from gmp_complaints.domain.errors import ConflictError, Msg
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.markets import split_markets
from gmp_complaints.domain.notices import NoticeKind, OfficialScope
from gmp_complaints.domain.personal_data import masked_complainant, may_see_personal_data
from gmp_complaints.domain.roles import Role
from gmp_complaints.domain.triage import spec_failure_pending
from gmp_complaints.models import (
    Attachment,
    Batch,
    Complaint,
    ComplaintReply,
    CustomerReminder,
    Disposal,
    Escalation,
    FollowUpCall,
    OutboxMessage,
    Product,
    SignatureRow,
    User,
)
from gmp_complaints.people import note_people, person
from gmp_complaints.services import schemas
from gmp_complaints.services.adr_records import adr_view
from gmp_complaints.services.capa import capas_of_complaint
from gmp_complaints.services.compensation_records import compensations_of
from gmp_complaints.services.complaint_repository import (
    checklist_of,
    compute_deadlines,
    empty_side_records,
    load_deadline_rules,
    on_earlier_calendar,
    pending_field_alerts,
)
from gmp_complaints.services.grading import extension_view, grading_view
from gmp_complaints.services.notices import notify_complaint
from gmp_complaints.services.personal_data import cipher_for
from gmp_complaints.services.responsible_officials import notify_officials
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.binding import canonical_snapshot_hash
from signatures.matrix import SigningStep, rule_for
from signatures.scopes import complaint_snapshot

ALL_ROLES = frozenset(Role)


EXTENSIBLE = {kind.value: f"{kind.value}_due_on" for kind in schemas.Extensible}


def complaint_facts(uow: UnitOfWork, complaint: Complaint) -> ComplaintFacts:
    return ComplaintFacts(
        status=Status(complaint.status), substantiated=complaint.substantiated, numbered=complaint.number is not None,
        investigated=complaint.investigated_on is not None, replies=len(complaint.replies),
        reasonable=complaint.reasonable, acknowledged=complaint.acknowledged_on is not None,
        capa_covered=capa_covered(uow, complaint) if complaint.reasonable else True,
        spec_failure_suspected=bool(complaint.spec_failure_suspected),
        spec_failure_determined=complaint.spec_determined_at is not None)


def move(uow: UnitOfWork, complaint: Complaint, step: Step, actor_id: int | None, *, reason: str | None = None,
          changes: dict | None = None, **facts) -> None:
    """Apply the state machine and record the step as one audit event on the complaint."""
    before = complaint.status
    after = next_status(complaint_facts(uow, complaint), step, **facts)
    complaint.status = after.value
    complaint.version += 1
    event_changes = dict(changes or {})
    if before != after.value:
        event_changes["status"] = [before, after.value]
    uow.record(DomainEvent(f"complaint.{step.value}", "complaint", str(complaint.id), event_changes,
                           reason=reason, actor_id=actor_id))
    # Who must act next is told (WF-10, WF-11): the QP of the investigation (SOP 4.2), the responsible officials
    # in writing of every investigation (21 CFR 211.180(f), 211.198), the head of quality of a complaint that
    # waits for the closure approval.
    if step is Step.investigate:
        notify_complaint(uow, complaint, NoticeKind.investigation_recorded, (Role.qp,), actor_id=actor_id)
        notify_officials(uow, OfficialScope.investigations, NoticeKind.investigation_conducted,
                         subject_type="complaint", subject_id=complaint.id,
                         record_label=complaint.number or complaint.intake_ref, actor_id=actor_id)
    if after is Status.closure_pending and before != after.value:
        notify_complaint(uow, complaint, NoticeKind.closure_pending, (Role.qa_head,), actor_id=actor_id)


def reminder_letter(complaint: Complaint, reply_row: ComplaintReply) -> str:
    return (f"尊敬的客户：关于投诉 {complaint.number or complaint.intake_ref}，我公司已于 {reply_row.replied_on.isoformat()} "
            f"发出正式答复报告，至今未收到您的反馈。请您审阅并告知意见。\n"
            f"Dear customer: regarding complaint {complaint.number or complaint.intake_ref}, our formal reply was sent "
            f"on {reply_row.replied_on.isoformat()} and we have not yet received your feedback. Please let us know "
            f"whether the matter is resolved.")


def add_reminder(uow: UnitOfWork, complaint: Complaint, sent_on: date, actor_id: int | None, by_system: bool):
    next_status(complaint_facts(uow, complaint), Step.remind)  # 409 before anything else when no reminder is due
    reply_row = complaint.replies[-1]
    if any(r.reply_id == reply_row.id for r in complaint.reminders):
        raise ConflictError(Msg("The customer has already been reminded of this reply."))
    move(uow, complaint, Step.remind, actor_id)
    row = CustomerReminder(reply_id=reply_row.id, sent_on=sent_on, by_system=by_system,
                           letter_text=reminder_letter(complaint, reply_row), created_at=uow.now())
    complaint.reminders.append(row)
    uow.session.flush()
    uow.record(DomainEvent("customer_reminder.created", "customer_reminder", str(row.id), actor_id=actor_id))
    return row


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


#: which recorded acts add a side record of each kind (every write is audited, so none escapes this)
_ADDS_SIDE_RECORD = {
    "attachments": lambda action, entity_type: entity_type == "attachment",
    "capas": lambda action, entity_type: entity_type == "capa",
    "signatures": lambda action, entity_type: entity_type == "signature",
    "follow_ups": lambda action, entity_type: action == "complaint.follow_up_opened",
    "adr_cases": lambda action, entity_type: entity_type == "adr_case",
    "follow_up_calls": lambda action, entity_type: entity_type == "follow_up_call",
    "compensations": lambda action, entity_type: entity_type == "compensation",
}


def _none_of(uow: UnitOfWork, complaint: Complaint, name: str) -> bool:
    """True when the complaint has no side record ``name``, known without a query: found empty when it
    was loaded (or created) in this session, and nothing of the kind written since."""
    if name not in empty_side_records(uow.session, complaint.id):
        return False
    adds = _ADDS_SIDE_RECORD[name]
    return not any(adds(action, entity_type) for action, entity_type in uow.recorded_acts)


def complaint_view(uow: UnitOfWork, complaint: Complaint, roles, *, with_signatures: bool = True) -> dict:
    """The complaint as the API returns it (DESIGN §6); personal data only for roles that need it."""
    view = _content_view(uow, complaint, roles)
    view["capas"] = [] if _none_of(uow, complaint, "capas") else [
        {"id": c.id, "number": c.number, "status": c.status} for c in capas_of_complaint(uow.session, complaint.id)]
    if with_signatures:
        view["signatures"] = [] if _none_of(uow, complaint, "signatures") else signatures_for_view(uow, complaint, view)
        view["capa_justified"] = any(s["step"] == "capa_not_needed" and s["status"] == "valid"
                                     for s in view["signatures"])
    return view


def _content_view(uow: UnitOfWork, complaint: Complaint, roles) -> dict:
    session = uow.session
    product = session.get(Product, complaint.product_id)
    # Loaded with the complaint (or found at registration): the identity map has them.
    batches = sorted((session.get(Batch, link.batch_id) for link in complaint.batch_links), key=lambda b: b.batch_no)
    cipher = cipher_for(uow.settings)
    contact = {"name": cipher.decrypt(complaint.complainant_name), "organisation": complaint.complainant_organisation,
               "phone": cipher.decrypt(complaint.complainant_phone), "email": cipher.decrypt(complaint.complainant_email)}
    complaint_file = _complaint_file_view(complaint, product, contact, batches)  # on the contact as recorded
    if not may_see_personal_data(roles):
        contact = masked_complainant(contact)
    return {
        "id": complaint.id,
        "intake_ref": complaint.intake_ref,
        "number": complaint.number,
        "complaint_class": complaint.complaint_class,
        "original_class": complaint.original_class,
        "status": DISPOSED if complaint.disposed_at else complaint.status,
        "version": complaint.version,
        "channel": complaint.channel,
        "received_on": complaint.received_on.isoformat(),
        "received_time": complaint.received_time,
        "complainant": contact,
        "product_code": product.code,
        "product_name": product.name,
        "product_markets": list(split_markets(product.markets)),
        "partner": {"contract_partner": product.contract_partner,
                    "marketing_authorisation_holder": product.marketing_authorisation_holder,
                    "partner_quality_contact": product.partner_quality_contact}
        if product.contract_partner or product.marketing_authorisation_holder else None,
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
                     "reason": complaint.validity_reason, **_triage_view(complaint)} if complaint.validity_on else None,
        "spec_failure_determination": _determination_view(session, complaint),
        "spec_failure_pending": spec_failure_pending(suspected=complaint.spec_failure_suspected,
                                                     determined=complaint.spec_determined_at is not None),
        "complaint_file": complaint_file,
        "classification": _classification_view(complaint) if complaint.classified_on else None,
        "field_alert": complaint.field_alert_screen,
        # WF-04: the screen's two criteria, where answered one by one (null where not asked or answered as one)
        "field_alert_mix_up": complaint.field_alert_mix_up,
        "field_alert_quality_defect": complaint.field_alert_quality_defect,
        "interim_measures": (complaint.interim_measures or "").split() or None,
        # WF-09: when the second signature completed the class I interim risk decision (due: deadlines)
        "interim_decided_at": complaint.interim_decided_at.astimezone(ZoneInfo(uow.settings.site_timezone))
        .isoformat(timespec="seconds") if complaint.interim_decided_at else None,
        "interim_decision_overdue": bool(
            complaint.complaint_class == "I" and complaint.status == "under_investigation"
            and complaint.interim_decided_at is None and complaint.interim_decision_due_on is not None
            and complaint.interim_decision_due_on < business_today(uow.settings)),
        "investigation": _investigation_view(complaint) if complaint.investigated_on else None,
        "assessment": {"reasonable": complaint.reasonable, "actions": (complaint.actions or "").split(),
                       "adr_confirmed": complaint.adr_confirmed,
                       "regulator_report_required": complaint.regulator_report_required,
                       "assessed_on": complaint.assessed_on.isoformat()} if complaint.assessed_on else None,
        "replies": [{"sequence": r.sequence, "replied_on": r.replied_on.isoformat(), "summary": r.summary,
                     "report_id": r.report_id, "sent_by": _person(r.sent_by)} for r in complaint.replies],
        "legal_holds": [{"id": h.id, "reason": h.reason, "placed_by": _person(h.placed_by),
                         "placed_at": h.placed_at.isoformat(), "released_by": _person(h.released_by),
                         "released_at": h.released_at.isoformat() if h.released_at else None,
                         "release_reason": h.release_reason} for h in complaint.legal_holds],
        "on_legal_hold": any(h.released_at is None for h in complaint.legal_holds),
        "disposal": _disposal_view(session, complaint) if complaint.disposed_at else None,
        "paper_original": {"reference": complaint.paper_reference, "entered_late_reason": complaint.entered_late_reason}
        if complaint.paper_reference else None,
        "migrated": complaint.legacy_import_id is not None,
        "reply_reports": [{"id": r.id, "sequence": r.sequence, "summary": r.summary, "status": r.status,
                           "drafted_by": _person(r.drafted_by), "drafted_at": r.drafted_at.isoformat()}
                          for r in complaint.reply_reports],
        "customer_responses": [{"received_on": r.received_on.isoformat(), "satisfied": r.satisfied, "text": r.text}
                               for r in complaint.responses],
        "reminders": [{"sent_on": r.sent_on.isoformat(), "by_system": r.by_system} for r in complaint.reminders],
        "attachments": [{"id": a.id, "filename": a.filename, "media_type": a.media_type, "size": a.size,
                         "sha256": a.sha256} for a in ([] if _none_of(uow, complaint, "attachments") else session.scalars(
            sa.select(Attachment).where(Attachment.complaint_id == complaint.id).order_by(Attachment.id)))],
        "deadlines": compute_deadlines(complaint, load_deadline_rules(session)).as_view(),
        "due_dates_on_earlier_calendar": _on_earlier_calendar_view(uow, complaint),
        "class_criteria": (complaint.class_criteria or "").split(),
        "investigation_checklist": checklist_of(complaint),
        "owner": person(session, complaint.owner_id),
        "investigator": person(session, complaint.investigator_id),
        "extensions": [{"id": e.id, "kind": e.kind, "due_on_before": e.due_on_before.isoformat(),
                        "new_due_on": e.new_due_on.isoformat(), "reason": e.reason, "status": e.status}
                       for e in complaint.extensions],
        "quarantine_requests": quarantine_view(session, complaint),
        "closed_on": complaint.closed_on.isoformat() if complaint.closed_on else None,
        "follow_up_of_id": complaint.follow_up_of_id,
        "follow_up_of": _complaint_link(session, complaint.follow_up_of_id),
        "follow_ups": [{"id": f.id, "intake_ref": f.intake_ref, "number": f.number, "status": f.status}
                       for f in ([] if _none_of(uow, complaint, "follow_ups") else session.scalars(
                           sa.select(Complaint).where(Complaint.follow_up_of_id == complaint.id).order_by(Complaint.id)))],
        "void_requests": [{"id": r.id, "reason": r.reason, "status": r.status,
                           "requested_by": person(session, r.requested_by_id)} for r in complaint.void_requests],
        "follow_up_calls": [] if _none_of(uow, complaint, "follow_up_calls") else [
            {"called_on": call.called_on.isoformat(), "result": call.result, "note": call.note,
             "called_by": person(session, call.called_by_id)} for call in session.scalars(
                sa.select(FollowUpCall).where(FollowUpCall.complaint_id == complaint.id).order_by(FollowUpCall.id))],
        "compensations": [] if _none_of(uow, complaint, "compensations") else compensations_of(
            session, complaint, ZoneInfo(uow.settings.site_timezone)),
        "adr": None if _none_of(uow, complaint, "adr_cases") else adr_view(
            session, complaint, cipher, roles, ZoneInfo(uow.settings.site_timezone)),
        "signatures": [],
    }


def _on_earlier_calendar_view(uow: UnitOfWork, complaint: Complaint) -> list[dict]:
    """WF-05: the complaint's due dates kept on an earlier calendar that the calendar in force would put elsewhere
    (QA recalculates them explicitly); empty when there are none."""
    field_alert = (pending_field_alerts(uow.session, [complaint.id]).get(complaint.id)
                   if complaint.field_alert_screen else None)
    if not complaint.kept_due_dates and field_alert is None:
        return []
    items = on_earlier_calendar(complaint, load_deadline_rules(uow.session), field_alert,
                                ZoneInfo(uow.settings.site_timezone))
    return [{"kind": item.kind, "due_on": item.kept_on.isoformat(),
             "on_calendar_in_force": item.recalculated.due_on.isoformat()} for item in items]


def _triage_view(complaint: Complaint) -> dict:
    """REC-09, WF-02: the triage answers of the validity step (null on complaints triaged before they were asked)."""
    return {"quality_defect_suspected": complaint.quality_defect_suspected,
            "falsification_suspected": complaint.falsification_suspected,
            "routed_to": complaint.routed_to, "routing_note": complaint.routing_note,
            "spec_failure_suspected": complaint.spec_failure_suspected}


def _determination_view(session, complaint: Complaint) -> dict | None:
    """WF-02: the head of quality's signed determination whether a 21 CFR 211.192 investigation is required."""
    if complaint.spec_determined_at is None:
        return None
    return {"investigation_required": complaint.spec_investigation_required,
            "rationale": complaint.spec_determination_rationale,
            "determined_by": person(session, complaint.spec_determined_by_id),
            "determined_at": complaint.spec_determined_at.isoformat()}


def complaint_file_facts(complaint: Complaint, product: Product, contact: dict, batch_nos) -> ComplaintFileFacts:
    """REC-02: the items of the complaint file as the record holds them (``contact`` decrypted)."""
    return ComplaintFileFacts(
        product_name=product.name, strength=product.strength, dosage_form=product.dosage_form,
        batch_nos=tuple(batch_nos), batch_unknown_reason=complaint.batch_unknown_reason,
        complainant_name=contact.get("name"), complainant_phone=contact.get("phone"),
        complainant_email=contact.get("email"), complaint_type=complaint.complaint_type,
        description=complaint.description, received_on=complaint.received_on,
        replies=tuple((r.summary, r.replied_on) for r in complaint.replies))


def not_known_marks(complaint: Complaint) -> dict[str, str]:
    return {row.item: row.reason for row in complaint.not_known_items}


def _complaint_file_view(complaint: Complaint, product: Product, contact: dict, batches) -> dict:
    """What REC-02 asks of the file before the closure: what is still missing, and what is marked not known."""
    facts = complaint_file_facts(complaint, product, contact, [b.batch_no for b in batches])
    return {"missing": [item.value for item in missing_complaint_file_items(facts, not_known_marks(complaint))],
            "not_known": [{"item": row.item, "reason": row.reason, "marked_by": _person(row.marked_by),
                           "marked_at": row.marked_at.isoformat()} for row in complaint.not_known_items]}


def _investigation_view(complaint: Complaint) -> dict:
    view = {"root_cause": complaint.root_cause, "impact": complaint.impact,
            "other_batches_affected": complaint.other_batches_affected,
            "substantiated": complaint.investigation_substantiated,
            "investigated_on": complaint.investigated_on.isoformat()}
    if complaint.recurring_problem is not None:  # only where answered: earlier signatures keep their hash
        view["recurring_problem"] = complaint.recurring_problem
    # REC-14: the category of the root cause (null on investigations recorded without one)
    examined = {"process": complaint.causes_examined_process, "procedure": complaint.causes_examined_procedure,
                "system": complaint.causes_examined_system}
    view["root_cause_category"] = complaint.root_cause_category
    view["human_error_justification"] = complaint.human_error_justification
    view["causes_examined"] = examined if any(v is not None for v in examined.values()) else None
    # REC-11: the decision whether it extends to other batches or products (null where not recorded)
    view.update(extension_view(complaint))
    return view


def _classification_view(complaint: Complaint) -> dict:
    view = {"complaint_class": complaint.original_class, "rationale": complaint.class_rationale,
            "adr_suspected": complaint.adr_suspected, "criteria_version": complaint.criteria_version,
            "classified_on": complaint.classified_on.isoformat()}
    # Only where asked (US products, WF-03): signed classifications of other products keep their hash.
    if complaint.adr_serious is not None:
        view["adr_serious"], view["adr_unexpected"] = complaint.adr_serious, complaint.adr_unexpected
    # REC-08: the severity and the extent as graded (null where not recorded)
    view.update(grading_view(complaint))
    return view


def _complaint_link(session, complaint_id: int | None) -> dict | None:
    if complaint_id is None:
        return None
    row = session.get(Complaint, complaint_id)
    return {"id": row.id, "intake_ref": row.intake_ref, "number": row.number, "status": row.status}


def prepare_view(uow: UnitOfWork, complaint: Complaint, actor_id: int) -> None:
    """What the complaint's view reads besides the complaint, read now: a step that takes a serial calls
    this before it takes the counter lock, so that after its commit the answer is built without SQL. The
    acting user is left out: sealing the step's audit event reads them anyway."""
    load_deadline_rules(uow.session)
    note_people(uow.session, {complaint.owner_id, complaint.investigator_id, complaint.spec_determined_by_id,
                              *(r.requested_by_id for r in complaint.void_requests)} - {actor_id})


def quarantine_view(session, complaint) -> list[dict]:
    batch_nos = dict(session.execute(sa.select(Batch.id, Batch.batch_no).where(
        Batch.id.in_([q.batch_id for q in complaint.quarantine_requests]))).all()) if complaint.quarantine_requests else {}
    return [{"id": q.id, "batch_no": batch_nos.get(q.batch_id), "reason": q.reason, "status": q.status,
             "requested_on": q.requested_on.isoformat(),
             "answered_on": q.answered_on.isoformat() if q.answered_on else None,
             "quantity": q.quantity, "location": q.location} for q in complaint.quarantine_requests]


def _disposal_view(session, complaint: Complaint) -> dict | None:
    """The tombstone of a complaint disposed of: what was kept, the SHA-256 of what was removed, who, when, why."""
    import json

    row = session.scalars(sa.select(Disposal).where(Disposal.complaint_id == complaint.id)).one_or_none()
    if row is None:
        return None
    by = session.get(User, row.disposed_by_id)
    return {"id": row.id, "tombstone": json.loads(row.tombstone), "removed": json.loads(row.removed),
            "reason": row.reason, "disposed_by": _person(by), "disposed_at": row.disposed_at.isoformat(),
            "events_disposed": row.events_disposed}


def _person(user) -> dict | None:
    return {"id": user.id, "username": user.username, "printed_name": user.printed_name} if user else None


def complaint_records(session, complaint: Complaint) -> dict[str, list[str]]:
    """The complaint and every record that belongs to it, as audit entities (type -> ids)."""
    def ids(rows) -> list[str]:
        return [str(row.id) for row in rows]

    def of(model) -> list[str]:
        return [str(i) for i in session.scalars(sa.select(model.id).where(model.complaint_id == complaint.id))]

    return {
        "complaint": [str(complaint.id)],
        "complaint_reply": ids(complaint.replies), "reply_report": ids(complaint.reply_reports),
        "legal_hold": ids(complaint.legal_holds), "not_known_item": ids(complaint.not_known_items),
        "customer_response": ids(complaint.responses),
        "customer_reminder": ids(complaint.reminders), "deadline_extension": ids(complaint.extensions),
        "quarantine_request": ids(complaint.quarantine_requests), "void_request": ids(complaint.void_requests),
        "attachment": of(Attachment),
        "escalation": of(Escalation), "outbox_message": of(OutboxMessage),
        "signature": [str(i) for i in session.scalars(sa.select(SignatureRow.id).where(
            SignatureRow.record_type == "complaint", SignatureRow.record_id == str(complaint.id)))],
    }


def linked_capas(complaint: Complaint) -> list:
    return capas_of_complaint(object_session(complaint), complaint.id)


def capa_covered(uow: UnitOfWork, complaint: Complaint) -> bool:
    """SOP 5.7: a linked CAPA, or the QA head's valid signed justification that none is needed."""
    if linked_capas(complaint):
        return True
    rows = [r for r in signing.signatures_of(uow.session, "complaint", str(complaint.id))
            if r.step == SigningStep.capa_not_needed]
    if not rows:
        return False
    view = content_for_signing(uow, complaint)
    current = canonical_snapshot_hash(complaint_snapshot(view, "assessment"))
    return any(r.record_hash == current for r in rows)


def signatures_for_view(uow: UnitOfWork, complaint: Complaint, view: dict) -> list[dict]:
    """Every signature on the complaint with its status against the content as it stands now."""
    site_tz = ZoneInfo(uow.settings.site_timezone)
    # The snapshot uses no personal data, so a masked view hashes the same as the full one.
    result = []
    for row in signing.signatures_of(uow.session, "complaint", str(complaint.id)):
        scope = rule_for(row.step).scope
        try:
            current = canonical_snapshot_hash(complaint_snapshot(view, scope, row.subject))
        except StopIteration:  # the approved item no longer exists in the view
            current = ""
        result.append(signing.signature_view(row, current, site_tz))
    return result


def content_for_signing(uow: UnitOfWork, complaint: Complaint) -> dict:
    """The complaint's content as a signature sees it (all fields, no signatures, personal data as stored)."""
    return complaint_view(uow, complaint, ALL_ROLES, with_signatures=False)

"""Approvals of the complaint process (DESIGN §3, §6): what each signature covers, when it is due,
what it does, and the closure. Every approval signs through ``signatures.service``.

A signature covers a snapshot of the content of its scope, never the workflow status: progress that
only adds new content supersedes nothing, while a change to signed content (a regrading, a batch
correction) makes the earlier signature report ``superseded``.
"""
from __future__ import annotations

from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaint_file import FileItem, incomplete_file_message
from gmp_complaints.domain.complaints import (
    ClosurePath,
    ComplaintClass,
    Status,
    Step,
    check_interim_measures,
    closure_path,
)
from gmp_complaints.domain.errors import ConflictError, Msg, ValidationError, joined
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.grading import EXTENSION_DECISION_MISSING, extension_decision_missing
from gmp_complaints.domain.notices import NoticeKind
from gmp_complaints.domain.recall import OPEN_RECALL_STATUSES, RecallStatus
from gmp_complaints.domain.returns import ReturnStatus
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.domain.triage import SPEC_FAILURE_HOLD
from gmp_complaints.models import Complaint, User
from gmp_complaints.services import inputs, schemas
from gmp_complaints.services.adr_records import has_cases, unaccepted_cases, unanswered_requests
from gmp_complaints.services.complaint_records import (
    answered,
    complaint_records,
    content_for_signing,
    linked_capas,
    move,
)
from gmp_complaints.services.complaint_repository import (
    compute_deadlines,
    computed_retention,
    load_complaint,
    load_deadline_rules,
)
from gmp_complaints.services.notices import holders_of, notify
from gmp_complaints.services.notifications import open_field_alerts
from gmp_complaints.services.recalls import recalls_of_complaint
from gmp_complaints.services.returns import returns_of_complaint
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.binding import canonical_snapshot_hash
from signatures.matrix import SigningStep, authors_of, missing_roles, rule_for
from signatures.scopes import complaint_snapshot

ALL_ROLES = frozenset(Role)
#: steps signed through POST .../signatures (DESIGN §6); closure and regrading have their own calls
SIGNATURE_STEPS = ("qp_acknowledgement", "interim_risk_decision", "sales_confirmation", "audit_trail_review",
                   "extension_approval", "extension_rejection", "void_approval", "void_rejection", "capa_not_needed",
                   "reply_approval")
#: the QP's acknowledgement of the investigation (a second acknowledgement, of its own content)
INVESTIGATION_SUBJECT = "investigation"
EXTENSION_DECISIONS = {SigningStep.extension_approval: "approved", SigningStep.extension_rejection: "rejected"}
VOID_DECISIONS = {SigningStep.void_approval: "approved", SigningStep.void_rejection: "rejected"}


def snapshot(view: dict, scope: str, subject: str | None = None) -> dict:
    """The canonical content a signature of ``scope`` covers: the explicit field lists of ``signatures.scopes``."""
    return complaint_snapshot(view, scope, subject)


def signature_request(complaint: Complaint, view: dict, step: str, *, subject=None, comment=None,
                      audit_index=None) -> signing.SigningRequest:
    """What a signature of ``step`` on the complaint binds: its record, version and the snapshot of its scope."""
    rule = rule_for(step)
    return signing.SigningRequest(
        record_type="complaint", record_id=str(complaint.id), record_number=complaint.number or complaint.intake_ref,
        record_version=complaint.version, snapshot=snapshot(view, rule.scope, subject), rule=rule, subject=subject,
        comment=comment, audit_index=audit_index)


def authorize(uow: UnitOfWork, complaint: Complaint, step: str, credentials: tuple[str, str], *, actor: Actor,
              requested_by=(), source_ip: str | None = None) -> signing.AuthorizedSigner:
    """The one gate of every signed act on a complaint, passed before the act changes anything: the
    signer's credentials and standing, the matrix, and four-eyes against everyone who authored a
    step the signature covers (from the audit trail) or requested what is decided."""
    from audit.service import actions_of_records

    rule = rule_for(step)
    recorded = actions_of_records(uow.session, complaint_records(uow.session, complaint))
    username, password = credentials
    return signing.authorize(uow, actor_id=actor.id, username=username, password=password, rule=rule,
                             author_ids=authors_of(rule, recorded, requested_by=requested_by), source_ip=source_ip)


def signed_roles(uow, complaint: Complaint, view: dict, step: str, subject: str | None = None) -> set[str]:
    request = signature_request(complaint, view, step, subject=subject)
    return {row.signed_role for row in signing.valid_signatures(uow.session, request, step)}


def _path(complaint: Complaint) -> ClosurePath:
    last = complaint.responses[-1] if complaint.responses else None
    satisfied = last.satisfied if last is not None and complaint.replies and last.reply_id == complaint.replies[-1].id \
        else None
    return closure_path(substantiated=complaint.substantiated, last_response_satisfied=satisfied)


def _pending_extension(complaint: Complaint, extension_id) -> object:
    pending = [e for e in complaint.extensions if e.status == "requested"]
    if extension_id is not None:
        pending = [e for e in pending if e.id == extension_id]
    if not pending:
        raise ConflictError(Msg("No extension request is waiting for approval."))
    return pending[0]


def _pending_void(complaint: Complaint) -> object:
    pending = [r for r in complaint.void_requests if r.status == "requested"]
    if not pending:
        raise ConflictError(Msg("No void request is waiting for a decision: a QA officer asks for the void first."))
    return pending[0]


def _pending_reply_report(complaint: Complaint) -> object:
    drafts = [r for r in complaint.reply_reports if r.status == "draft"]
    if not drafts:
        raise ConflictError(Msg("No reply report is waiting for approval: QA drafts the report first."))
    return drafts[-1]


def check_due(complaint: Complaint, step: str) -> None:
    """409 when the complaint's state does not call for this signature now. Closed means closed:
    nothing is signed on a closed (or void) complaint."""
    status = Status(complaint.status)
    if status in (Status.void, Status.closed):
        raise ConflictError(Msg("No signature is due on a closed or void complaint."))
    if step == SigningStep.interim_risk_decision and not (
            complaint.complaint_class == ComplaintClass.I.value and status is Status.under_investigation):
        raise ConflictError(Msg("An interim risk decision is signed for a class I complaint under investigation."))
    if step in (SigningStep.sales_confirmation, SigningStep.audit_trail_review) and status is not Status.closure_pending:
        raise ConflictError(Msg("This signature is due when the complaint is pending closure."))
    if step == SigningStep.capa_not_needed and not (
            status is Status.assessed and complaint.reasonable and not linked_capas(complaint)):
        raise ConflictError(Msg("A justification that no CAPA is needed is signed for a reasonable complaint "
                                "without a CAPA, before the formal reply."))
    if step == SigningStep.sales_confirmation and _path(complaint) is not ClosurePath.no_response:
        raise ConflictError(Msg("Sales confirm closure only when the customer has not answered the reply."))


def _last_audit_index(uow: UnitOfWork, complaint: Complaint) -> int | None:
    from audit.service import events_of_records

    events = events_of_records(uow.session, complaint_records(uow.session, complaint))
    return events[-1].index if events else None


def audit_review(uow: UnitOfWork, complaint_id: int) -> dict:
    """What the QA head reviews before closure: the complaint's audit trail since the last signed
    review (all of it, the first time), with the critical fields each event touches (by index)."""
    from audit.service import events_of_records
    from gmp_complaints.domain.review import critical_fields

    with uow:
        complaint = load_complaint(uow, complaint_id, for_update=False)
        reviews = [row for row in signing.signatures_of(uow.session, "complaint", str(complaint.id))
                   if row.step == SigningStep.audit_trail_review]
        last = reviews[-1] if reviews else None
        since = last.audit_index if last is not None and last.audit_index is not None else -1
        events = events_of_records(uow.session, complaint_records(uow.session, complaint), after_index=since)
        return {
            "complaint_id": complaint.id, "number": complaint.number or complaint.intake_ref, "status": complaint.status,
            "last_review": {"audit_index": last.audit_index, "signer_name": last.printed_name,
                            "signed_at": last.signed_at} if last else None,
            "since_index": since, "events": events,
            "critical": {e.index: critical_fields(e.action, e.changes) for e in events
                         if critical_fields(e.action, e.changes)},
        }


def _signing_fields(schema, data: dict, *, comment_required: bool = False) -> dict:
    """A signing body loaded through its schema; a rejection or a void says why (the comment)."""
    fields = schemas.load(schema, data)
    if comment_required and not fields.get("comment"):
        inputs.raise_if_any({"comment": [Msg("This field is required.")]})
    return fields


def sign_step(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor, source_ip: str | None = None) -> dict:
    """``POST /complaints/<id>/signatures {username, password, step, comment}``."""
    step = data.get("step")
    if step in ("closure", "regrading", "retention_change", "spec_failure_determination"):
        raise ValidationError(Msg("Use the step's own call."), {"step": [Msg(
            "Closure, regrading, retention changes and the determination of a possible failure to meet "
            "specification are signed in their own step.")]})
    rule = rule_for(step)  # 400 on an unknown step
    # A void and a rejection say why.
    fields = _signing_fields(schemas.Signing, data, comment_required=step in (
        SigningStep.void_approval, SigningStep.void_rejection, SigningStep.extension_rejection,
        SigningStep.capa_not_needed))
    username, password, comment = fields["username"], fields["password"], fields["comment"]
    extension_id = fields["extension_id"]
    with uow:
        complaint = load_complaint(uow, complaint_id)
        check_due(complaint, rule.step)
        subject, requested_by, extension, void_request = None, (), None, None
        if rule.step is SigningStep.qp_acknowledgement and data.get("subject") == INVESTIGATION_SUBJECT:
            if complaint.investigated_on is None:
                raise ConflictError(Msg("There is no investigation to acknowledge yet."))
            subject = INVESTIGATION_SUBJECT
        if rule.step in EXTENSION_DECISIONS:
            extension = _pending_extension(complaint, extension_id)
            subject, requested_by = f"deadline_extension:{extension.id}", (extension.requested_by_id,)
        if rule.step in VOID_DECISIONS:
            void_request = _pending_void(complaint)
            subject, requested_by = f"void_request:{void_request.id}", (void_request.requested_by_id,)
        report = None
        if rule.step is SigningStep.reply_approval:
            report = _pending_reply_report(complaint)
            subject, requested_by = f"reply_report:{report.id}", (report.drafted_by_id,)
        if rule.step is SigningStep.interim_risk_decision:
            measures = check_interim_measures((complaint.interim_measures or "").split(), fields["measures"])
        signer = authorize(uow, complaint, step, (username, password), actor=actor, requested_by=requested_by,
                           source_ip=source_ip)
        if rule.step is SigningStep.interim_risk_decision and not complaint.interim_measures:
            # The first signer's decision, recorded before the signature so that it covers it.
            complaint.interim_measures = " ".join(measures)
            complaint.version += 1
            uow.record(DomainEvent("complaint.interim_measures", "complaint", str(complaint.id),
                                   actor_id=signer.user.id))
        view = content_for_signing(uow, complaint)
        audit_index = _last_audit_index(uow, complaint) if rule.step is SigningStep.audit_trail_review else None
        signing.sign(uow, signer, signature_request(complaint, view, step, subject=subject, comment=comment,
                                           audit_index=audit_index), source_ip=source_ip)
        signer_id = signer.user.id
        if rule.step is SigningStep.interim_risk_decision and not missing_roles(
                rule, signed_roles(uow, complaint, view, rule.step)):
            # WF-09: the second signature completes the decision; the time limit is met (or was missed) now.
            complaint.interim_decided_at = uow.now()
            uow.record(DomainEvent("complaint.interim_decided", "complaint", str(complaint.id), actor_id=signer_id))
            # WF-10: the decided measures (stop shipment, quarantine …) are risk-reducing actions: every other QP
            # (the one who signed knows) is told and acknowledges.
            signers = {row.signer_id for row in signing.valid_signatures(
                uow.session, signature_request(complaint, view, rule.step), rule.step)}
            notify(uow, [i for i in holders_of(uow.session, Role.qp) if i not in signers],
                   NoticeKind.interim_decision_taken, subject_type="complaint", subject_id=complaint.id,
                   record_label=complaint.number or complaint.intake_ref, actor_id=signer_id)
        if extension is not None:
            decision = EXTENSION_DECISIONS[rule.step]
            extension.status, extension.decided_by_id, extension.decided_at = decision, signer_id, uow.now()
            uow.record(DomainEvent(f"deadline_extension.{decision}", "deadline_extension", str(extension.id),
                                   reason=comment, actor_id=signer_id))
        if void_request is not None:
            decision = VOID_DECISIONS[rule.step]
            void_request.status, void_request.decided_by_id, void_request.decided_at = decision, signer_id, uow.now()
            uow.record(DomainEvent(f"void_request.{decision}", "void_request", str(void_request.id),
                                   reason=comment, actor_id=signer_id))
            if rule.step is SigningStep.void_approval:
                move(uow, complaint, Step.void, signer_id, reason=void_request.reason)
        if report is not None:
            report.status = "approved"
            uow.record(DomainEvent("reply_report.approved", "reply_report", str(report.id), actor_id=signer_id))
        return answered(uow, complaint, actor.roles)


def closure_blockers(uow: UnitOfWork, complaint: Complaint, view: dict) -> list[Msg]:
    """What still stands between a complaint pending closure and its closure (SOP 5.8)."""
    from gmp_complaints.domain.capa import IMPLEMENTED_OR_LATER, CapaStatus

    blockers = []
    if view.get("spec_failure_pending"):
        blockers.append(SPEC_FAILURE_HOLD)
    missing = [FileItem(item) for item in (view.get("complaint_file") or {}).get("missing", [])]
    if missing:  # REC-02: every item of the file recorded, or marked not known with a reason
        blockers.append(incomplete_file_message(missing))
    if extension_decision_missing(reasonable=complaint.reasonable, investigated=complaint.investigated_on is not None,
                                  decided=complaint.extend_to_other_batches is not None):
        blockers.append(EXTENSION_DECISION_MISSING)  # REC-11: extend the investigation to other batches?
    open_capas = [c.number for c in linked_capas(complaint) if CapaStatus(c.status) not in IMPLEMENTED_OR_LATER]
    if open_capas:
        blockers.append(Msg("CAPA not yet implemented: %(numbers)s.", numbers=", ".join(open_capas)))
    recalls = recalls_of_complaint(uow.session, complaint.id)
    open_recalls = [r.number for r in recalls if RecallStatus(r.status) in OPEN_RECALL_STATUSES]
    if open_recalls:
        blockers.append(Msg("Recall not yet closed: %(numbers)s.", numbers=", ".join(open_recalls)))
    if "recall" in (complaint.actions or "").split() and not recalls:
        blockers.append(Msg("The assessment chose a recall, and no recall record is linked to the complaint."))
    returned = returns_of_complaint(uow.session, complaint.id)
    undisposed = [r.number for r in returned if r.status != ReturnStatus.disposed.value]
    if undisposed:
        blockers.append(Msg("Returned goods not yet disposed of: %(numbers)s.", numbers=", ".join(undisposed)))
    if "return_exchange" in (complaint.actions or "").split() and not returned:
        blockers.append(Msg("The assessment chose a return or exchange, and no return record is linked to the "
                            "complaint."))
    unaccepted = unaccepted_cases(uow.session, complaint.id)
    if unaccepted:
        blockers.append(Msg("ADR hand-off not yet accepted by pharmacovigilance: %(numbers)s.",
                            numbers=", ".join(str(n) for n in unaccepted)))
    if (complaint.adr_suspected or complaint.adr_confirmed) and not has_cases(uow.session, complaint.id):
        blockers.append(Msg("An adverse reaction is suspected or confirmed, and nothing is handed to "
                            "pharmacovigilance."))
    if unanswered_requests(uow.session, complaint.id):
        blockers.append(Msg("Pharmacovigilance's request for a batch-quality investigation is not yet answered."))
    if open_field_alerts(uow.session, complaint.id):
        blockers.append(Msg("The field alert reports are not complete: the final field alert report is not "
                            "recorded as sent."))
    if not signed_roles(uow, complaint, view, SigningStep.audit_trail_review):
        blockers.append(Msg("The head of quality's signed review of the audit trail is missing."))
    if _path(complaint) is ClosurePath.no_response:
        if not signed_roles(uow, complaint, view, SigningStep.sales_confirmation):
            blockers.append(Msg("Sales have not confirmed that the customer did not answer."))
        eligible = compute_deadlines(complaint, load_deadline_rules(uow.session)).close_eligible_on
        if eligible is None or business_today(uow.settings) < eligible:
            blockers.append(Msg("Closure without a customer response is possible from %(date)s.",
                                date=eligible.isoformat() if eligible else "—"))
    return blockers


def close(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor, source_ip: str | None = None) -> dict:
    """``POST /complaints/<id>/closure {username, password, comment}``: the QA head's approval signature
    and the closure in one step."""
    fields = _signing_fields(schemas.Closure, data)
    username, password, comment = fields["username"], fields["password"], fields["comment"]
    with uow:
        complaint = load_complaint(uow, complaint_id)
        if Status(complaint.status) is not Status.closure_pending:
            raise ConflictError(Msg("Only a complaint pending closure can be closed."))
        view = content_for_signing(uow, complaint)
        blockers = closure_blockers(uow, complaint, view)
        if blockers:
            raise ConflictError(Msg("Not ready for closure: %(reasons)s", reasons=joined(blockers)))
        signer = authorize(uow, complaint, SigningStep.closure, (username, password), actor=actor,
                           source_ip=source_ip)
        signing.sign(uow, signer, signature_request(complaint, view, SigningStep.closure, comment=comment), source_ip=source_ip)
        complaint.closed_on = business_today(uow.settings)
        move(uow, complaint, Step.close, signer.user.id)
        return answered(uow, complaint, actor.roles)


def change_retention(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor,
                     source_ip: str | None = None) -> dict:
    """Move ``retention_until`` earlier (DESIGN §2): only with the QA head's signature and a reason, and
    never before what the linked batches and the received date require (e.g. after a batch correction)."""
    fields = _signing_fields(schemas.Retention, data)
    new_date, reason = fields["retention_until"], fields["reason"]
    username, password = fields["username"], fields["password"]
    with uow:
        complaint = load_complaint(uow, complaint_id)
        if Status(complaint.status) in (Status.void, Status.closed):
            raise ConflictError(Msg("A closed or void complaint keeps its retention date."))
        minimum = computed_retention(uow.session, complaint, uow.settings)
        if new_date >= complaint.retention_until:
            raise ValidationError(Msg("Not earlier."), {"retention_until": [Msg(
                "Only an earlier date needs this approval; the current date is %(date)s.",
                date=complaint.retention_until.isoformat())]})
        if new_date < minimum:
            raise ValidationError(Msg("Too early."), {"retention_until": [Msg(
                "The batches and the received date require keeping the complaint until at least %(date)s.",
                date=minimum.isoformat())]})
        signer = authorize(uow, complaint, SigningStep.retention_change, (username, password), actor=actor,
                           source_ip=source_ip)
        before = complaint.retention_until
        complaint.retention_until = new_date
        complaint.version += 1
        uow.record(DomainEvent("complaint.retention_changed", "complaint", str(complaint.id),
                               {"retention_until": [before.isoformat(), new_date.isoformat()]}, reason=reason,
                               actor_id=signer.user.id))
        uow.session.flush()
        signing.sign(uow, signer, signature_request(complaint, content_for_signing(uow, complaint), SigningStep.retention_change,
                                           comment=reason), source_ip=source_ip)
        return answered(uow, complaint, actor.roles)


def sign_regrading(uow: UnitOfWork, complaint: Complaint, signer: signing.AuthorizedSigner, *, reason: str,
                   source_ip: str | None = None) -> None:
    """Regrading after numbering: the QA head's signature over the new class, in the regrade's unit."""
    uow.session.flush()
    view = content_for_signing(uow, complaint)
    signing.sign(uow, signer, signature_request(complaint, view, SigningStep.regrading, comment=reason), source_ip=source_ip)


def interim_decision_missing(uow: UnitOfWork, complaint: Complaint) -> frozenset:
    view = content_for_signing(uow, complaint)
    return missing_roles(rule_for(SigningStep.interim_risk_decision),
                         signed_roles(uow, complaint, view, SigningStep.interim_risk_decision))


def open_signature_steps(uow: UnitOfWork, complaint: Complaint, roles: set[str], *,
                         optional: bool = False) -> list[dict]:
    """The signatures due on the complaint now that one of ``roles`` may give and has not given yet,
    each with the manifestation preview the signing dialog shows. ``optional`` adds what may be
    signed but is never waiting (a void, rejecting an extension), for the complaint page."""
    candidates = []
    if complaint.status in (Status.void.value, Status.closed.value):
        return []
    if complaint.number:
        candidates.append((SigningStep.qp_acknowledgement, None))
    if complaint.investigated_on is not None:
        candidates.append((SigningStep.qp_acknowledgement, INVESTIGATION_SUBJECT))
    if complaint.complaint_class == "I" and complaint.status == Status.under_investigation.value:
        candidates.append((SigningStep.interim_risk_decision, None))
    view = None
    if complaint.status == Status.closure_pending.value:
        candidates.append((SigningStep.audit_trail_review, None))
        if _path(complaint) is ClosurePath.no_response:
            candidates.append((SigningStep.sales_confirmation, None))
    for extension in complaint.extensions:
        if extension.status == "requested":
            candidates.append((SigningStep.extension_approval, f"deadline_extension:{extension.id}"))
            if optional:
                candidates.append((SigningStep.extension_rejection, f"deadline_extension:{extension.id}"))
    for void_request in complaint.void_requests:
        if void_request.status == "requested":
            candidates.append((SigningStep.void_approval, f"void_request:{void_request.id}"))
            if optional:
                candidates.append((SigningStep.void_rejection, f"void_request:{void_request.id}"))
    for report in complaint.reply_reports:
        if report.status == "draft":
            candidates.append((SigningStep.reply_approval, f"reply_report:{report.id}"))
    if optional:
        if complaint.status == Status.assessed.value and complaint.reasonable and not linked_capas(complaint):
            candidates.append((SigningStep.capa_not_needed, None))
    relevant = [(s, subj) for s, subj in candidates if roles & {r.value for r in rule_for(s).allowed_roles}]
    if complaint.status == Status.closure_pending.value and Role.qa_head.value in roles:
        relevant.append((SigningStep.closure, None))
    offers = []
    for step, subject in relevant:
        view = view or content_for_signing(uow, complaint)
        if step is SigningStep.closure:
            if closure_blockers(uow, complaint, view) or signed_roles(uow, complaint, view, step):
                continue
        elif not roles & {r.value for r in rule_for(step).allowed_roles} - signed_roles(uow, complaint, view, step,
                                                                                            subject):
            continue
        rule = rule_for(step)
        offers.append({"id": complaint.id, "number": complaint.number, "intake_ref": complaint.intake_ref,
                       "status": complaint.status, "step": step.value, "subject": subject, "meaning": rule.meaning.value,
                       "record_version": complaint.version,
                       "record_hash": canonical_snapshot_hash(snapshot(view, rule.scope, subject))})
    return offers


def signature_offers(uow: UnitOfWork, complaint_id: int, *, user_id: int) -> dict:
    with uow:
        complaint = load_complaint(uow, complaint_id, for_update=False)
        return offers_for(uow, complaint, uow.session.get(User, user_id))


def offers_for(uow: UnitOfWork, complaint: Complaint, user: User) -> dict:
    """The signatures ``user`` may give on the complaint now, and whether they may sign yet: identity
    verified by an admin and the statement accepted (SIG-05); at first use the page leads to the
    statement instead of asking for credentials."""
    offers = open_signature_steps(uow, complaint, {r.value for r in user.roles}, optional=True)
    signer = {"identity_verified": user.identity_verified_at is not None,
              "statement_accepted": user.esignature_accepted_at is not None} if offers else None
    return {"offers": offers, "signer": signer}

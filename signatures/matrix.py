"""The signing matrix: which step is signed with which meaning, by which roles, covering what.

Kept as data in one place so the service, the pages and the validation evidence all read the same
rules (21 CFR 11.10(g) authority checks, SIG-06; four-eyes, SIG-08). No Flask, no database.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from gmp_complaints.domain.errors import ConflictError, Msg, PermissionDeniedError, ValidationError
from gmp_complaints.domain.roles import SIGNING_ROLES, Role


class Meaning(StrEnum):
    """The controlled list of signature meanings (21 CFR 11.50(a)(3), DESIGN §3)."""

    authored = "authored"
    reviewed = "reviewed"
    approved = "approved"
    rejected = "rejected"
    acknowledged = "acknowledged"
    verified = "verified"
    responsible = "responsible"


class SigningStep(StrEnum):
    qp_acknowledgement = "qp_acknowledgement"
    interim_risk_decision = "interim_risk_decision"
    sales_confirmation = "sales_confirmation"
    audit_trail_review = "audit_trail_review"
    extension_approval = "extension_approval"
    extension_rejection = "extension_rejection"
    capa_not_needed = "capa_not_needed"
    action_implementation = "action_implementation"
    action_due_date_change = "action_due_date_change"
    effectiveness_check = "effectiveness_check"
    effectiveness_waiver = "effectiveness_waiver"
    effectiveness_escalation = "effectiveness_escalation"
    capa_closure = "capa_closure"
    void_approval = "void_approval"
    void_rejection = "void_rejection"
    regrading = "regrading"
    spec_failure_determination = "spec_failure_determination"
    retention_change = "retention_change"
    closure = "closure"
    recall_decision = "recall_decision"
    recall_closure = "recall_closure"
    return_disposition = "return_disposition"
    recall_batch_disposition = "recall_batch_disposition"
    compensation_approval = "compensation_approval"
    compensation_rejection = "compensation_rejection"
    trend_no_capa = "trend_no_capa"
    quarterly_review_approval = "quarterly_review_approval"
    reply_approval = "reply_approval"
    capa_plan_approval = "capa_plan_approval"
    legal_hold = "legal_hold"
    legal_hold_release = "legal_hold_release"
    disposal = "disposal"
    legacy_import_reconciliation = "legacy_import_reconciliation"
    disposal_batch = "disposal_batch"
    iq_execution = "iq_execution"
    oq_execution = "oq_execution"


@dataclass(frozen=True)
class StepRule:
    """How one step is signed.

    ``allowed_roles`` may sign the step; each of ``required_roles`` must sign it once before the step
    is complete. ``scope`` names what the signature covers (DESIGN §6, the signature's scope), so the
    service knows which snapshot to hash.
    """

    step: SigningStep
    meaning: Meaning
    allowed_roles: frozenset[Role]
    required_roles: frozenset[Role]
    scope: str
    label: Msg


def _rule(step, meaning, roles, scope, label) -> StepRule:
    # Every step today needs exactly one signature from each role allowed to sign it.
    roles = frozenset(roles)
    return StepRule(step, meaning, roles, roles, scope, label)


SIGNING_MATRIX: dict[SigningStep, StepRule] = {
    rule.step: rule
    for rule in (
        _rule(SigningStep.qp_acknowledgement, Meaning.acknowledged, {Role.qp},
              "registration+classification", Msg("QP acknowledgement")),
        _rule(SigningStep.interim_risk_decision, Meaning.approved, {Role.qa_head, Role.qp},
              "classification+decision", Msg("Interim risk decision")),
        _rule(SigningStep.sales_confirmation, Meaning.verified, {Role.intake},
              "complaint", Msg("Sales confirmation of no customer response")),
        _rule(SigningStep.audit_trail_review, Meaning.reviewed, {Role.qa_head},
              "complaint+audit_trail", Msg("Audit trail review")),
        _rule(SigningStep.extension_rejection, Meaning.rejected, {Role.qa_head},
              "extension", Msg("Extension rejection")),
        _rule(SigningStep.extension_approval, Meaning.approved, {Role.qa_head},
              "extension", Msg("Extension approval")),
        _rule(SigningStep.void_approval, Meaning.approved, {Role.qa_head},
              "void", Msg("Void approval")),
        _rule(SigningStep.void_rejection, Meaning.rejected, {Role.qa_head},
              "void", Msg("Void rejection")),
        _rule(SigningStep.regrading, Meaning.approved, {Role.qa_head},
              "regrading", Msg("Regrading approval")),
        # WF-02 (21 CFR 211.198(a), 211.22(a)): the Quality Unit determines whether a possible failure to meet
        # specification needs a 211.192 investigation; never the person who flagged it
        _rule(SigningStep.spec_failure_determination, Meaning.approved, {Role.qa_head},
              "spec_failure_determination", Msg("Determination whether a 21 CFR 211.192 investigation is required")),
        _rule(SigningStep.retention_change, Meaning.approved, {Role.qa_head},
              "retention", Msg("Retention change approval")),
        _rule(SigningStep.closure, Meaning.approved, {Role.qa_head},
              "complaint", Msg("Closure approval")),
        # RET-02: a legal hold blocks disposal; placed and released by the head of quality
        _rule(SigningStep.legal_hold, Meaning.approved, {Role.qa_head},
              "legal_hold", Msg("Legal hold")),
        _rule(SigningStep.legal_hold_release, Meaning.approved, {Role.qa_head},
              "legal_hold_release", Msg("Release of a legal hold")),
        _rule(SigningStep.disposal, Meaning.approved, {Role.qa_head},
              "disposal", Msg("Disposal after the retention date")),
        _rule(SigningStep.disposal_batch, Meaning.approved, {Role.qa_head},
              "disposal_batch", Msg("Disposal of a list of complaints after their retention date")),
        # VAL-04: the executor of an installation qualification signs its report (QA owns validation)
        _rule(SigningStep.iq_execution, Meaning.responsible, {Role.qa_officer, Role.qa_head},
              "validation_report", Msg("Installation qualification executed")),
        _rule(SigningStep.oq_execution, Meaning.responsible, {Role.qa_officer, Role.qa_head},
              "validation_report", Msg("Operational qualification executed")),
        # RET-05: the reconciliation of a legacy import
        _rule(SigningStep.legacy_import_reconciliation, Meaning.approved, {Role.qa_head},
              "legacy_import", Msg("Legacy import reconciliation")),
        # SOP 5.6.1: the reply report QA formed, approved before sales send it
        _rule(SigningStep.reply_approval, Meaning.approved, {Role.qa_head},
              "reply_report", Msg("Reply report approval")),
        # CAPA (SOP 5.7, DESIGN §4)
        _rule(SigningStep.capa_not_needed, Meaning.approved, {Role.qa_head},
              "assessment", Msg("Justification that no CAPA is needed")),
        _rule(SigningStep.capa_plan_approval, Meaning.approved, {Role.qa_head},
              "capa_plan", Msg("CAPA plan approval")),
        _rule(SigningStep.action_implementation, Meaning.approved, {Role.qa_head},
              "capa_action", Msg("Approval of an action's implementation")),
        _rule(SigningStep.action_due_date_change, Meaning.approved, {Role.qa_head},
              "capa_action_due", Msg("Approval of an action's new due date")),
        _rule(SigningStep.effectiveness_check, Meaning.approved, {Role.qa_head},
              "capa", Msg("Effectiveness check")),
        # WF-14 (EU GMP 8.18): in place of the check, the head of quality justifies why none is needed; a
        # result "not effective" is escalated where no follow-up CAPA answers it
        _rule(SigningStep.effectiveness_waiver, Meaning.approved, {Role.qa_head},
              "capa_effectiveness_waiver", Msg("Justification that no effectiveness check is needed")),
        _rule(SigningStep.effectiveness_escalation, Meaning.approved, {Role.qa_head},
              "capa_escalation", Msg("Escalation of a CAPA found not effective")),
        _rule(SigningStep.capa_closure, Meaning.approved, {Role.qa_head},
              "capa", Msg("CAPA closure")),
        # Recall (SOP 5.5.3, HO-05, HO-10): the QA head and the QP, two persons
        _rule(SigningStep.recall_decision, Meaning.approved, {Role.qa_head, Role.qp},
              "recall", Msg("Recall decision")),
        _rule(SigningStep.recall_closure, Meaning.approved, {Role.qa_head, Role.qp},
              "recall_final", Msg("Recall final report")),
        _rule(SigningStep.recall_batch_disposition, Meaning.approved, {Role.qa_head},
              "recall_batch", Msg("Disposition of a recalled batch")),
        # Returned goods (SOP 5.5.2, HO-12)
        _rule(SigningStep.return_disposition, Meaning.approved, {Role.qa_head},
              "return", Msg("Disposition of returned goods")),
        # Compensation (SOP 5.5.1): one signature of a person whose approval level covers the amount; the
        # level, not the role, is the authority (services.compensation checks it)
        StepRule(SigningStep.compensation_approval, Meaning.approved, SIGNING_ROLES, frozenset(), "compensation",
                 Msg("Compensation approval")),
        StepRule(SigningStep.compensation_rejection, Meaning.rejected, SIGNING_ROLES, frozenset(), "compensation",
                 Msg("Compensation rejection")),
        # Trends (SOP §7, TR-01): the QA head signs why a signal needs no CAPA
        _rule(SigningStep.trend_no_capa, Meaning.reviewed, {Role.qa_head},
              "trend_review", Msg("Trend review: no CAPA needed")),
        _rule(SigningStep.quarterly_review_approval, Meaning.approved, {Role.qa_head},
              "quarterly_review", Msg("Quarterly complaint review")),
    )
}


def rule_for(step: str) -> StepRule:
    """The rule of a step key, or a ``ValidationError`` on the ``step`` field."""
    try:
        return SIGNING_MATRIX[SigningStep(step)]
    except ValueError:
        raise ValidationError(
            Msg("Unknown signing step."),
            {"step": [Msg("Unknown signing step: %(step)s.", step=str(step))]},
        ) from None


_ROLE_KEYS = frozenset(role.value for role in Role)


def _as_roles(values: Iterable) -> frozenset[Role]:
    # Role keys come from the database as strings; a key this code does not know grants nothing.
    return frozenset(Role(value) for value in values if value in _ROLE_KEYS)


def missing_roles(rule: StepRule, signed_roles: Iterable) -> frozenset[Role]:
    """The required roles that have not signed the step yet; empty when the step is complete."""
    return rule.required_roles - _as_roles(signed_roles)


#: Four-eyes (SIG-08): a review or an approval (or its rejection) is never signed by a person who
#: authored any step it covers. An acknowledgement (the QP is told) and a verification of a fact (sales
#: confirm that the customer did not answer) approve nobody's work.
FOUR_EYES_MEANINGS = frozenset({Meaning.reviewed, Meaning.approved, Meaning.rejected})

#: The audited actions that author the content of each scope: their actors may not review or approve
#: it. The record's own request (an extension, a void, a new due date) is named by the caller.
_COMPLAINT_STEPS = frozenset({
    "complaint.registered", "complaint.acknowledge", "complaint.validity", "complaint.classify",
    "complaint.investigate", "complaint.assess", "complaint.reply", "complaint.customer_response",
    "complaint.remind", "complaint.batches_changed", "complaint.follow_up_opened", "complaint_reply.created",
    "customer_response.created", "customer_reminder.created", "attachment.added", "quarantine_request.created",
    "quarantine_request.answered", "reply_report.drafted", "not_known_item.marked",
})
_CAPA_PLANNING = frozenset({
    "capa.created", "capa.complaint_linked", "capa.source_linked", "capa.action_planned", "capa_action.created",
    "capa.plan_details_recorded", "capa.plan_changed",
})
_CAPA_STEPS = _CAPA_PLANNING | {"capa_action.implemented", "capa_evidence.added"}
AUTHORING_ACTIONS: dict[str, frozenset[str]] = {
    "registration+classification": frozenset({"complaint.registered", "complaint.classify"}),
    "classification+decision": frozenset({"complaint.classify"}),
    "regrading": frozenset({"complaint.classify"}),
    "spec_failure_determination": frozenset({"complaint.validity"}),
    "assessment": frozenset({"complaint.classify", "complaint.investigate", "complaint.assess"}),
    "complaint": _COMPLAINT_STEPS,
    "complaint+audit_trail": _COMPLAINT_STEPS,
    "void": frozenset(),
    "extension": frozenset(),
    "retention": frozenset(),
    "reply_report": frozenset({"reply_report.drafted"}),
    "legal_hold": frozenset(),
    "legal_hold_release": frozenset(),
    "disposal": frozenset(),
    "legacy_import": frozenset(),
    "disposal_batch": frozenset(),
    "validation_report": frozenset(),
    "capa": _CAPA_STEPS,
    "capa_plan": _CAPA_PLANNING,
    "capa_effectiveness_waiver": _CAPA_STEPS,
    "capa_escalation": _CAPA_STEPS,
    "capa_action": frozenset({"capa_action.implemented", "capa_evidence.added"}),
    "capa_action_due": frozenset(),
    "recall": frozenset({"recall.proposed", "recall.market_actions_changed"}),
    "recall_final": frozenset({"recall.proposed", "recall.market_actions_changed", "recall_reconciliation.recorded", "recall.completed",
                               "recall_effectiveness_contact.recorded"}),
    "return": frozenset({"return.received", "return.evaluated", "return.re_evaluated"}),
    "recall_batch": frozenset({"recall_reconciliation.recorded", "recall_reconciliation.corrected"}),
    "compensation": frozenset({"compensation.agreed"}),
    "trend_review": frozenset(),
    "quarterly_review": frozenset({"quarterly_review.prepared"}),
}


def authors_of(rule: StepRule, recorded: Iterable[tuple[str, int | None]], *, requested_by=()) -> frozenset[int]:
    """The people whose work a signature of ``rule`` would approve: the actors of the authoring
    actions of its scope among ``recorded`` (action, actor id) pairs, plus whoever requested what is
    decided. Empty where the meaning is not a review or an approval."""
    if rule.meaning not in FOUR_EYES_MEANINGS:
        return frozenset()
    actions = AUTHORING_ACTIONS[rule.scope]
    authors = {actor for action, actor in recorded if action in actions and actor is not None}
    return frozenset(authors | {person for person in requested_by if person is not None})


def check_authority(rule: StepRule, signer_roles: Iterable, *, signer_id, author_ids: Iterable) -> frozenset[Role]:
    """The roles the signer may sign the step as; checked before anything of the act changes.

    :raise PermissionDeniedError: none of the signer's roles may sign the step (SIG-06), or the
        signer authored what the step approves (four-eyes, SIG-08).
    """
    usable = rule.allowed_roles & _as_roles(signer_roles)
    if not usable:
        raise PermissionDeniedError(
            Msg("Your roles do not allow you to sign the step: %(step)s.", step=rule.label))
    if signer_id in set(author_ids):
        raise PermissionDeniedError(Msg("The author of a step cannot approve it."))
    return usable


def choose_role(usable: frozenset[Role], already_signed_roles: Iterable) -> Role:
    """The role the signature is given in.

    :raise ConflictError: every role the signer could sign as has already signed the step.
    """
    open_roles = usable - _as_roles(already_signed_roles)
    if not open_roles:
        raise ConflictError(Msg("This step has already been signed in your role."))
    # Deterministic choice when a user holds two open roles: the order of DESIGN §1.
    return next(role for role in Role if role in open_roles)


def check_signer(rule: StepRule, signer_roles: Iterable, *, signer_id, author_ids: Iterable,
                 already_signed_roles: Iterable) -> Role:
    """The role the signer signs the step as: ``check_authority`` then ``choose_role``."""
    usable = check_authority(rule, signer_roles, signer_id=signer_id, author_ids=author_ids)
    return choose_role(usable, already_signed_roles)

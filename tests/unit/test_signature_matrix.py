"""The signing matrix: meanings, who may sign which step, four-eyes (no database, no Flask)."""
import pytest

from gmp_complaints.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from gmp_complaints.domain.roles import Role
from signatures.matrix import SIGNING_MATRIX, Meaning, SigningStep, authors_of, check_signer, missing_roles, rule_for

# DESIGN §3 and §6, written out once more by hand so a change to the matrix has to be deliberate.
EXPECTED = {
    "qp_acknowledgement": ("acknowledged", {"qp"}, "registration+classification"),
    "interim_risk_decision": ("approved", {"qa_head", "qp"}, "classification+decision"),
    "sales_confirmation": ("verified", {"intake"}, "complaint"),
    "audit_trail_review": ("reviewed", {"qa_head"}, "complaint+audit_trail"),
    "extension_approval": ("approved", {"qa_head"}, "extension"),
    "extension_rejection": ("rejected", {"qa_head"}, "extension"),
    "void_approval": ("approved", {"qa_head"}, "void"),
    "void_rejection": ("rejected", {"qa_head"}, "void"),
    "regrading": ("approved", {"qa_head"}, "regrading"),
    "spec_failure_determination": ("approved", {"qa_head"}, "spec_failure_determination"),
    "retention_change": ("approved", {"qa_head"}, "retention"),
    "closure": ("approved", {"qa_head"}, "complaint"),
    "reply_approval": ("approved", {"qa_head"}, "reply_report"),
    "capa_not_needed": ("approved", {"qa_head"}, "assessment"),
    "capa_plan_approval": ("approved", {"qa_head"}, "capa_plan"),
    "legal_hold": ("approved", {"qa_head"}, "legal_hold"),
    "legal_hold_release": ("approved", {"qa_head"}, "legal_hold_release"),
    "disposal": ("approved", {"qa_head"}, "disposal"),
    "legacy_import_reconciliation": ("approved", {"qa_head"}, "legacy_import"),
    "disposal_batch": ("approved", {"qa_head"}, "disposal_batch"),
    "iq_execution": ("responsible", {"qa_officer", "qa_head"}, "validation_report"),
    "oq_execution": ("responsible", {"qa_officer", "qa_head"}, "validation_report"),
    "action_implementation": ("approved", {"qa_head"}, "capa_action"),
    "action_due_date_change": ("approved", {"qa_head"}, "capa_action_due"),
    "effectiveness_check": ("approved", {"qa_head"}, "capa"),
    "effectiveness_waiver": ("approved", {"qa_head"}, "capa_effectiveness_waiver"),
    "effectiveness_escalation": ("approved", {"qa_head"}, "capa_escalation"),
    "capa_closure": ("approved", {"qa_head"}, "capa"),
    "recall_decision": ("approved", {"qa_head", "qp"}, "recall"),
    "recall_closure": ("approved", {"qa_head", "qp"}, "recall_final"),
    "return_disposition": ("approved", {"qa_head"}, "return"),
    "recall_batch_disposition": ("approved", {"qa_head"}, "recall_batch"),
    "trend_no_capa": ("reviewed", {"qa_head"}, "trend_review"),
    "quarterly_review_approval": ("approved", {"qa_head"}, "quarterly_review"),
}
#: signed by one person whose approval level (not role) covers the amount; every signing role may hold a level
BY_LEVEL = {"compensation_approval": "approved", "compensation_rejection": "rejected"}


def sign_as(step, roles, *, signer_id=7, author_ids=(), already_signed_roles=()):
    return check_signer(rule_for(step), roles, signer_id=signer_id, author_ids=author_ids,
                        already_signed_roles=already_signed_roles)


@pytest.mark.req("SIG-01")
def test_meanings_are_the_controlled_list_of_the_design():
    assert [m.value for m in Meaning] == [
        "authored", "reviewed", "approved", "rejected", "acknowledged", "verified", "responsible"]


@pytest.mark.req("SIG-01", "SIG-06")
@pytest.mark.parametrize("step", list(EXPECTED))
def test_each_step_has_the_meaning_roles_and_scope_of_the_design(step):
    meaning, roles, scope = EXPECTED[step]
    rule = rule_for(step)
    assert rule.step == SigningStep(step)
    assert rule.meaning == meaning
    assert rule.allowed_roles == rule.required_roles == {Role(r) for r in roles}
    assert rule.scope == scope
    assert rule.label  # an English label for the pages


@pytest.mark.req("SIG-06")
def test_the_matrix_covers_every_step_and_no_other():
    assert set(SIGNING_MATRIX) == set(SigningStep) == {SigningStep(s) for s in [*EXPECTED, *BY_LEVEL]}


@pytest.mark.req("SIG-06")
@pytest.mark.parametrize("step", list(BY_LEVEL))
def test_compensation_is_signed_once_by_any_signing_role_and_never_by_admin_or_auditor(step):
    rule = rule_for(step)
    assert rule.meaning == BY_LEVEL[step] and rule.scope == "compensation" and rule.required_roles == frozenset()
    assert Role.admin not in rule.allowed_roles and Role.auditor not in rule.allowed_roles
    assert {Role.intake, Role.qa_head} <= rule.allowed_roles


@pytest.mark.req("SIG-06")
def test_an_unknown_step_is_refused_naming_the_step_field():
    with pytest.raises(ValidationError) as raised:
        rule_for("self_approval")
    assert raised.value.fields == {"step": ["Unknown signing step: self_approval."]}


@pytest.mark.req("SIG-06")
@pytest.mark.parametrize("step", list(EXPECTED))
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_only_the_roles_configured_for_a_step_may_sign_it(step, role):
    _, allowed, _ = EXPECTED[step]
    if role in allowed:
        assert sign_as(step, [role]) == Role(role)
    else:
        with pytest.raises(PermissionDeniedError):
            sign_as(step, [role])


@pytest.mark.req("SIG-06")
def test_administrators_and_auditors_sign_nothing():
    for rule in SIGNING_MATRIX.values():
        assert not rule.allowed_roles & {Role.admin, Role.auditor}


@pytest.mark.req("SIG-06")
def test_an_unknown_role_key_grants_nothing():
    with pytest.raises(PermissionDeniedError):
        sign_as("closure", ["superuser", "QA_HEAD"])


@pytest.mark.req("SIG-08")
def test_the_author_of_a_step_cannot_approve_it():
    with pytest.raises(PermissionDeniedError) as raised:
        sign_as("closure", ["qa_head"], signer_id=7, author_ids={3, 7})
    assert raised.value.message == "The author of a step cannot approve it."
    assert raised.value.http_status == 403


@pytest.mark.req("SIG-08")
def test_another_user_with_the_role_may_approve_what_someone_else_authored():
    assert sign_as("regrading", ["qa_head"], signer_id=8, author_ids={7}) == Role.qa_head


@pytest.mark.req("SIG-06")
def test_interim_risk_decision_needs_one_qa_head_and_one_qp_signature():
    rule = rule_for("interim_risk_decision")
    assert missing_roles(rule, []) == {Role.qa_head, Role.qp}

    first = sign_as("interim_risk_decision", ["qa_head"], signer_id=1)
    assert missing_roles(rule, [first]) == {Role.qp}

    with pytest.raises(ConflictError):
        sign_as("interim_risk_decision", ["qa_head"], signer_id=2, already_signed_roles=[first])

    second = sign_as("interim_risk_decision", ["qp"], signer_id=3, already_signed_roles=[first])
    assert second == Role.qp
    assert missing_roles(rule, ["qa_head", "qp"]) == frozenset()


@pytest.mark.req("SIG-06")
def test_a_user_holding_two_roles_signs_in_the_one_still_open():
    assert sign_as("interim_risk_decision", ["qa_head", "qp"], already_signed_roles=["qa_head"]) == Role.qp
    assert sign_as("interim_risk_decision", ["qp", "qa_head"], already_signed_roles=["qp"]) == Role.qa_head


@pytest.mark.req("SIG-06")
def test_a_step_already_signed_in_the_only_role_is_a_conflict():
    with pytest.raises(ConflictError) as raised:
        sign_as("closure", ["qa_head"], already_signed_roles=["qa_head"])
    assert raised.value.http_status == 409


@pytest.mark.req("SIG-06", "SIG-08")
def test_permission_is_checked_before_four_eyes_and_before_conflict():
    # A user without the role learns only that the role is missing, whatever else is true.
    with pytest.raises(PermissionDeniedError) as raised:
        sign_as("closure", ["qa_officer"], signer_id=7, author_ids={7}, already_signed_roles=["qa_head"])
    assert "roles do not allow" in raised.value.message
    # The author is refused even when the step is already complete.
    with pytest.raises(PermissionDeniedError):
        sign_as("closure", ["qa_head"], signer_id=7, author_ids={7}, already_signed_roles=["qa_head"])


# Who did what on a complaint, as the audit trail says: (action, actor id).
TRAIL = {("complaint.registered", 1), ("complaint.acknowledge", 2), ("complaint.validity", 2),
         ("complaint.classify", 2), ("complaint.investigate", 3), ("complaint.assess", 2), ("complaint.reply", 4),
         ("signature.signed", 5), ("complaint.assigned", 6), ("document.printed", 6), ("escalation.created", None)}


@pytest.mark.req("SIG-08")
def test_authors_of_a_review_or_approval_are_everyone_who_authored_a_step_it_covers():
    # Closure and the audit-trail review cover the whole complaint: every step's author.
    assert authors_of(rule_for("closure"), TRAIL) == {1, 2, 3, 4}
    assert authors_of(rule_for("audit_trail_review"), TRAIL) == {1, 2, 3, 4}
    # Signing, assigning, printing and system work author nothing.
    assert not authors_of(rule_for("closure"), TRAIL) & {5, 6}
    # Narrower scopes: the classification; the classification, investigation and assessment.
    assert authors_of(rule_for("interim_risk_decision"), TRAIL) == {2}
    assert authors_of(rule_for("regrading"), TRAIL) == {2}
    assert authors_of(rule_for("capa_not_needed"), TRAIL) == {2, 3}
    # A decision on a request excludes its requester.
    assert authors_of(rule_for("void_approval"), TRAIL, requested_by=[9]) == {9}
    assert authors_of(rule_for("extension_rejection"), TRAIL, requested_by=[8, None]) == {8}


@pytest.mark.req("WF-02", "SIG-08")
def test_the_determination_of_a_possible_specification_failure_is_never_signed_by_who_flagged_it():
    # The flag is set at the validity step: its author (2) may not sign the determination; nobody else is barred.
    assert authors_of(rule_for("spec_failure_determination"), TRAIL) == {2}


@pytest.mark.req("SIG-08")
def test_an_acknowledgement_or_a_verified_fact_approves_nobodys_work():
    assert authors_of(rule_for("qp_acknowledgement"), TRAIL) == frozenset()
    assert authors_of(rule_for("sales_confirmation"), TRAIL) == frozenset()


@pytest.mark.req("SIG-08")
def test_every_scope_says_which_actions_author_it():
    from signatures.matrix import AUTHORING_ACTIONS

    assert {rule.scope for rule in SIGNING_MATRIX.values()} <= set(AUTHORING_ACTIONS)

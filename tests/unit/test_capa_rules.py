"""CAPA rules without a database (WF-13, WF-14): sources and their references, the plan's change-control
answer and planned check, the justification that no check is needed, and what a closure needs."""
import copy
from datetime import date

import pytest

from gmp_complaints.domain.capa import (
    ActionStatus,
    CapaFacts,
    CapaSource,
    CapaStatus,
    Effectiveness,
    check_change_control,
    check_closure,
    check_effectiveness_due,
    check_escalation,
    check_follow_up_parent,
    check_plan_complete,
    check_source_reference,
    check_waiver,
    plan_gaps,
)
from gmp_complaints.domain.errors import ConflictError, ValidationError

DONE = (ActionStatus.verified,)


def facts(status=CapaStatus.implemented, result=None, follow_up=False, waived=False, escalated=False,
          actions=DONE) -> CapaFacts:
    return CapaFacts(status=status, action_statuses=actions, effectiveness=result, has_follow_up=follow_up,
                     waived=waived, escalated=escalated)


@pytest.mark.req("WF-13")
def test_the_source_types_are_those_of_the_requirement_and_outside_sources_need_their_reference():
    assert {s.value for s in CapaSource} >= {"complaint", "product_rejection", "non_conformance", "recall",
                                             "deviation", "audit", "inspection", "trend"}
    for source in CapaSource:
        if source is CapaSource.complaint:
            check_source_reference(source, None)
            with pytest.raises(ValidationError) as refused:
                check_source_reference(source, "DEV-1")
        else:
            check_source_reference(source, "DEV-2026-031")
            with pytest.raises(ValidationError) as refused:
                check_source_reference(source, None)
        assert list(refused.value.fields) == ["source_reference"]


@pytest.mark.req("WF-13")
def test_the_plan_needs_the_change_control_answer_its_reference_where_yes_and_the_planned_check():
    due = date(2027, 6, 30)
    assert len(plan_gaps(None, None, "c", due)) == 1
    assert len(plan_gaps(True, None, "c", due)) == 1
    assert len(plan_gaps(True, None, None, None)) == 2
    assert plan_gaps(True, "CC-2026-045", "c", due) == [] and plan_gaps(False, None, "c", due) == []
    with pytest.raises(ConflictError):
        check_plan_complete(None, None, "c", due)
    check_plan_complete(False, None, "c", due)
    with pytest.raises(ValidationError) as refused:
        check_change_control(False, "CC-1")
    assert list(refused.value.fields) == ["change_control_ref"]
    check_change_control(None, None)
    check_change_control(True, None)  # the reference may follow; the plan approval waits for it


@pytest.mark.req("WF-14")
def test_a_capa_closes_only_after_the_check_or_its_signed_waiver():
    with pytest.raises(ConflictError):
        check_closure(facts())  # implemented, nothing about effectiveness
    assert check_closure(facts(waived=True)) is CapaStatus.closed
    with pytest.raises(ConflictError):
        check_closure(facts(waived=True, actions=(ActionStatus.implemented,)))
    assert check_closure(facts(CapaStatus.effectiveness_check, Effectiveness.effective)) is CapaStatus.closed
    with pytest.raises(ConflictError):
        check_closure(facts(CapaStatus.closed, Effectiveness.effective))


@pytest.mark.req("WF-14")
def test_not_effective_closes_only_with_a_follow_up_or_an_escalation():
    failed = dict(status=CapaStatus.effectiveness_check, result=Effectiveness.not_effective)
    with pytest.raises(ConflictError):
        check_closure(facts(**failed))
    assert check_closure(facts(**failed, follow_up=True)) is CapaStatus.closed
    assert check_closure(facts(**failed, escalated=True)) is CapaStatus.closed
    check_escalation(facts(**failed))
    for refused in (facts(**failed, escalated=True), facts(CapaStatus.effectiveness_check, Effectiveness.effective),
                    facts(CapaStatus.closed, Effectiveness.not_effective)):
        with pytest.raises(ConflictError):
            check_escalation(refused)
    check_follow_up_parent(facts(**failed))
    for refused in (facts(CapaStatus.effectiveness_check, Effectiveness.effective),
                    facts(CapaStatus.closed, Effectiveness.not_effective)):
        with pytest.raises(ConflictError):
            check_follow_up_parent(refused)


@pytest.mark.req("WF-14")
def test_the_waiver_replaces_the_check_once_every_action_is_implemented():
    check_waiver(facts())
    for refused in (facts(CapaStatus.actions_in_progress, actions=(ActionStatus.open,)), facts(waived=True),
                    facts(CapaStatus.effectiveness_check, Effectiveness.effective), facts(CapaStatus.closed)):
        with pytest.raises(ConflictError):
            check_waiver(refused)
    with pytest.raises(ConflictError):
        check_effectiveness_due(facts(waived=True))
    assert check_effectiveness_due(facts()) is CapaStatus.effectiveness_check


CAPA_VIEW = {
    "id": 1, "number": "CAPA-26-001", "status": "effectiveness_check", "source": "complaint", "version": 5,
    "problem_statement": "p", "root_cause": "r", "risk": "中", "complaints": [{"id": 7}],
    "effectiveness": {"criteria": "c", "due_on": "2027-06-30", "result": "not_effective", "evidence": "e",
                      "checked_on": "2026-11-20"},
    "follow_up_of": None, "actions": [{"id": 3, "kind": "corrective", "description": "d", "owner": None,
                                       "due_on": "2026-12-15", "evidence": "e", "implemented_on": "2026-11-20",
                                       "evidence_files": []}],
}


@pytest.mark.req("WF-13", "SIG-02")
def test_the_plan_approval_covers_change_control_and_sources_and_earlier_capas_hash_as_before():
    from signatures.binding import canonical_snapshot_hash
    from signatures.scopes import capa_snapshot

    before = {scope: canonical_snapshot_hash(capa_snapshot(CAPA_VIEW, scope)) for scope in ("capa_plan", "capa")}
    # A CAPA recorded before the new fields shows them empty: what was signed still hashes the same.
    empty = {**copy.deepcopy(CAPA_VIEW), "sources": [], "change_control": {"required": None, "reference": None},
             "escalation": None}
    empty["effectiveness"]["waiver"] = None
    assert {scope: canonical_snapshot_hash(capa_snapshot(empty, scope)) for scope in before} == before
    answered = copy.deepcopy(empty)
    answered["change_control"] = {"required": True, "reference": "CC-2026-045"}
    sourced = copy.deepcopy(empty)
    sourced["sources"] = [{"id": 1, "source_type": "deviation", "reference": "DEV-2026-031", "recall_id": None,
                           "capa_id": None}]
    for changed in (answered, sourced):
        assert canonical_snapshot_hash(capa_snapshot(changed, "capa_plan")) != before["capa_plan"]
    assert capa_snapshot(answered, "capa_plan")["change_control"] == {"required": True, "reference": "CC-2026-045"}


@pytest.mark.req("WF-14", "SIG-02")
def test_the_waiver_and_the_escalation_cover_their_texts_and_the_escalation_leaves_the_check_as_signed():
    from signatures.binding import canonical_snapshot_hash
    from signatures.scopes import capa_snapshot

    waived = copy.deepcopy(CAPA_VIEW)
    waived["effectiveness"].update(result=None, evidence=None, checked_on=None, waiver="一次性纠正")
    assert capa_snapshot(waived, "capa_effectiveness_waiver")["effectiveness"]["waiver"] == "一次性纠正"
    assert capa_snapshot(waived, "capa")["effectiveness"]["waiver"] == "一次性纠正"  # the closure covers it too
    escalated = {**copy.deepcopy(CAPA_VIEW), "escalation": "上报管理评审"}
    snapshot = capa_snapshot(escalated, "capa_escalation")
    assert snapshot["escalation"] == "上报管理评审" and snapshot["effectiveness"]["result"] == "not_effective"
    # The effectiveness check (scope capa) signed before the escalation stays valid after it.
    assert canonical_snapshot_hash(capa_snapshot(escalated, "capa")) == canonical_snapshot_hash(
        capa_snapshot(CAPA_VIEW, "capa"))

"""The recall rules as plain functions (DESIGN §4; HO-05 … HO-10): number, clocks, state machine,
reconciliation and the reproducible effectiveness sample. No database, no Flask."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from gmp_complaints.domain.errors import ConflictError, ValidationError
from gmp_complaints.domain.recall import (
    DEFAULT_RECALL_CLOCKS,
    EffectivenessLevel,
    RecallFacts,
    RecallLevel,
    RecallStatus,
    check_clock,
    check_may_cancel,
    check_may_close,
    check_may_complete,
    check_may_decide,
    check_may_run,
    check_reconciliation,
    effectiveness_sample,
    recall_deadlines,
    recall_number,
)
from gmp_complaints.domain.roles import Role, check_role_combination

DECIDED = datetime(2026, 12, 3, 2, 30, tzinfo=timezone.utc)


def facts(status=RecallStatus.in_progress, safety_hazard=False, sent=False, lines=3, unreconciled=0):
    return RecallFacts(status, safety_hazard, sent, lines, unreconciled)


def test_recall_numbers_are_rc_year_serial_of_at_least_three_digits():
    assert recall_number(2026, 1) == "RC-26-001"
    assert recall_number(2027, 42) == "RC-27-042"
    assert recall_number(2026, 1000) == "RC-26-1000"


@pytest.mark.req("HO-06")
@pytest.mark.parametrize("level, hours, days, every", [("I", 24, 1, 1), ("II", 48, 3, 3), ("III", 72, 7, 7)])
def test_default_clocks_run_from_the_decision_in_calendar_hours_and_days(level, hours, days, every):
    clock = DEFAULT_RECALL_CLOCKS[RecallLevel(level)]
    deadlines = recall_deadlines(decided_at=DECIDED, clock=clock, status=RecallStatus.in_progress)
    assert deadlines.notify_consignees_by == DECIDED + timedelta(hours=hours)
    assert deadlines.report_and_plan_by == DECIDED + timedelta(days=days)
    assert deadlines.next_progress_report_by == DECIDED + timedelta(days=every)
    later = recall_deadlines(decided_at=DECIDED, clock=clock, status=RecallStatus.in_progress,
                             last_progress_report_at=DECIDED + timedelta(days=5))
    assert later.next_progress_report_by == DECIDED + timedelta(days=5 + every)


@pytest.mark.req("HO-06")
def test_no_clock_runs_before_the_decision_and_progress_reports_stop_at_completion():
    clock = DEFAULT_RECALL_CLOCKS[RecallLevel.I]
    undecided = recall_deadlines(decided_at=None, clock=clock, status=RecallStatus.proposed)
    assert undecided.as_view(ZoneInfo("Asia/Shanghai")) == {
        "notify_consignees_by": None, "report_and_plan_by": None, "next_progress_report_by": None}
    completed = recall_deadlines(decided_at=DECIDED, clock=clock, status=RecallStatus.completed)
    assert completed.next_progress_report_by is None and completed.notify_consignees_by is not None
    shown = recall_deadlines(decided_at=DECIDED, clock=clock, status=RecallStatus.in_progress).as_view(
        ZoneInfo("Asia/Shanghai"))
    assert shown["notify_consignees_by"] == "2026-12-04T10:30:00+08:00"


@pytest.mark.req("HO-06")
@pytest.mark.parametrize("value", [0, -1, True, "24", 24 * 31])
def test_a_clock_outside_its_range_names_the_field(value):
    with pytest.raises(ValidationError) as error:
        check_clock("notify_hours", value)
    assert "notify_hours" in error.value.fields


@pytest.mark.req("HO-07", "HO-10")
def test_the_state_machine_refuses_out_of_turn_acts():
    check_may_decide(facts(RecallStatus.proposed))
    for status in (RecallStatus.in_progress, RecallStatus.closed, RecallStatus.cancelled):
        with pytest.raises(ConflictError):
            check_may_decide(facts(status))
    check_may_cancel(facts(RecallStatus.proposed))
    with pytest.raises(ConflictError):
        check_may_cancel(facts(RecallStatus.in_progress))  # a decided recall runs to its end
    with pytest.raises(ConflictError):
        check_may_run(facts(RecallStatus.proposed))
    with pytest.raises(ConflictError, match="immediate report"):
        check_may_run(facts(safety_hazard=True, sent=False))
    check_may_run(facts(safety_hazard=True, sent=True))
    with pytest.raises(ConflictError, match="not reconciled"):
        check_may_complete(facts(unreconciled=1))
    check_may_complete(facts())
    with pytest.raises(ConflictError, match="not reconciled"):
        check_may_close(facts(RecallStatus.completed, unreconciled=2))
    with pytest.raises(ConflictError):
        check_may_close(facts(RecallStatus.in_progress))
    with pytest.raises(ConflictError, match="not recorded as sent"):
        check_may_close(RecallFacts(RecallStatus.completed, False, True, 3, 0, unsent_notifications=1))
    check_may_close(facts(RecallStatus.completed))


@pytest.mark.req("HO-10")
def test_reconciliation_never_exceeds_what_was_delivered_and_explains_what_is_outstanding():
    with pytest.raises(ValidationError) as error:
        check_reconciliation(100, 101, 0, None)
    assert "quantity_recovered" in error.value.fields
    with pytest.raises(ValidationError) as error:
        check_reconciliation(100, 60, 41, None)
    assert "quantity_destroyed" in error.value.fields
    with pytest.raises(ValidationError) as error:
        check_reconciliation(100, 60, 30, "  ")
    assert "explanation" in error.value.fields
    assert check_reconciliation(100, 60, 30, "10 dispensed to patients").outstanding == 10
    assert check_reconciliation(100, 100, 0, None).outstanding == 0


def test_the_effectiveness_sample_is_reproducible_and_sized_by_level():
    names = [f"consignee {i:03d}" for i in range(200)]
    sample = effectiveness_sample(names, EffectivenessLevel.C, seed="RC-26-001")
    assert len(sample) == 20 and sample == effectiveness_sample(list(reversed(names)), EffectivenessLevel.C,
                                                               seed="RC-26-001")
    assert sample != effectiveness_sample(names, EffectivenessLevel.C, seed="RC-26-002")
    assert effectiveness_sample(names, EffectivenessLevel.A, seed="s") == sorted(names)
    assert effectiveness_sample(names, EffectivenessLevel.E, seed="s") == []
    assert len(effectiveness_sample(names, EffectivenessLevel.D, seed="s")) == 4
    assert len(effectiveness_sample(names[:3], EffectivenessLevel.D, seed="s")) == 1  # never none at a checked level
    # Adding one consignee keeps the others' ranks: the earlier sample stays, give or take the newcomer.
    grown = effectiveness_sample(names + ["consignee new"], EffectivenessLevel.C, seed="RC-26-001")
    assert len(set(grown) - set(sample)) <= 2


def test_the_recall_coordinator_is_independent_of_sales():
    with pytest.raises(ValidationError) as error:
        check_role_combination({Role.recall_coordinator, Role.intake})
    assert "roles" in error.value.fields
    check_role_combination({Role.recall_coordinator, Role.qa_officer})

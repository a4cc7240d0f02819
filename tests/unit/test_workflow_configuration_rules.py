"""Issue 18 rules as plain functions (no database): the US Field-Alert screen's two criteria (WF-04), the class I
interim risk decision's time limit (WF-09), the market-specific actions of a recall decision (HO-05) and which
audited acts are configuration changes that need a change-control reference (AT-10)."""
from datetime import date

import pytest

from audit.actions import ACTIONS, ActionKind
from gmp_complaints.calendar_seed import china_days, china_year_status
from gmp_complaints.domain.calendar import WorkingCalendar
from gmp_complaints.domain.complaints import ComplaintClass, Status
from gmp_complaints.domain.criteria import timer_configuration
from gmp_complaints.domain.deadlines import DeadlineFacts, deadlines_for, interim_decision_due_on, open_time_limits
from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.domain.field_alert import FieldAlertScreen, screen_field_alert
from gmp_complaints.domain.recall import MarketAction, check_market_actions, markets_without_action

CHINA = WorkingCalendar(china_days(2025, 2027), china_year_status(2025, 2027))
US_MARKETS = ("CN", "US")


# --- WF-04 ---------------------------------------------------------------------------------------------------


@pytest.mark.req("WF-04")
@pytest.mark.parametrize("mix_up, quality_defect, owed", [(True, False, True), (False, True, True),
                                                           (True, True, True), (False, False, False)])
def test_either_criterion_of_the_field_alert_screen_owes_a_field_alert(mix_up, quality_defect, owed):
    screen = screen_field_alert(US_MARKETS, field_alert=None, mix_up=mix_up, quality_defect=quality_defect)
    assert screen == FieldAlertScreen(owed, mix_up, quality_defect)
    # The single answer may come along; it must agree with the criteria.
    assert screen_field_alert(US_MARKETS, field_alert=owed, mix_up=mix_up, quality_defect=quality_defect) == screen
    with pytest.raises(ValidationError) as contradicted:
        screen_field_alert(US_MARKETS, field_alert=not owed, mix_up=mix_up, quality_defect=quality_defect)
    assert list(contradicted.value.fields) == ["field_alert"]


@pytest.mark.req("WF-04")
def test_one_criterion_alone_is_refused_naming_the_other():
    for given, missing in (({"mix_up": True, "quality_defect": None}, "field_alert_quality_defect"),
                           ({"mix_up": None, "quality_defect": False}, "field_alert_mix_up")):
        with pytest.raises(ValidationError) as refused:
            screen_field_alert(US_MARKETS, field_alert=True, **given)
        assert list(refused.value.fields) == [missing]


@pytest.mark.req("WF-04")
def test_the_single_answer_still_stands_for_a_criterion_met_and_nothing_is_asked_outside_the_us():
    assert screen_field_alert(US_MARKETS, field_alert=True, mix_up=None, quality_defect=None) == FieldAlertScreen(True)
    assert screen_field_alert(US_MARKETS, field_alert=False, mix_up=None, quality_defect=None) == FieldAlertScreen(False)
    with pytest.raises(ValidationError) as unanswered:
        screen_field_alert(US_MARKETS, field_alert=None, mix_up=None, quality_defect=None)
    assert list(unanswered.value.fields) == ["field_alert"]
    assert screen_field_alert(("CN", "DE"), field_alert=True, mix_up=True, quality_defect=False) == FieldAlertScreen(None)


# --- WF-09 ---------------------------------------------------------------------------------------------------


def facts(**overrides) -> DeadlineFacts:
    base = dict(status=Status.under_investigation, complaint_class=ComplaintClass.I, received_on=date(2026, 9, 28),
                substantiated=True, acknowledged=True, classified=True,
                interim_decision_due_on=date(2026, 9, 30))
    return DeadlineFacts(**{**base, **overrides})


@pytest.mark.req("WF-09")
def test_the_interim_decision_is_due_the_configured_working_days_after_class_i():
    assert timer_configuration({}).interim_decision_after_class_i == 1
    # Classified Wednesday 30 September 2026; 1-7 October is the National Day holiday: due Thursday the 8th.
    assert interim_decision_due_on(date(2026, 9, 30), CHINA, 1) == date(2026, 10, 8)
    assert interim_decision_due_on(date(2026, 9, 28), CHINA, 2) == date(2026, 9, 30)


@pytest.mark.req("WF-09")
def test_an_open_interim_decision_is_a_time_limit_of_a_class_i_complaint_under_investigation_only():
    deadlines = deadlines_for(facts(), CHINA, timer_configuration({}))
    assert deadlines.interim_decision_due_on == date(2026, 9, 30)
    assert deadlines.as_view()["interim_decision_due_on"] == "2026-09-30"
    assert ("interim_decision", date(2026, 9, 30)) in open_time_limits(facts(), deadlines)
    for done in (facts(interim_decided=True), facts(complaint_class=ComplaintClass.II),
                 facts(status=Status.assessed), facts(interim_decision_due_on=None)):
        assert "interim_decision" not in dict(open_time_limits(done, deadlines_for(done, CHINA, timer_configuration({}))))


# --- HO-05 ---------------------------------------------------------------------------------------------------


@pytest.mark.req("HO-05")
def test_market_actions_are_one_per_market_of_the_product_sorted():
    actions = check_market_actions([("us", " FDA 3-day notification "), ("CN", "Report to the provincial MPA")],
                                   ("CN", "DE", "US"))
    assert actions == (MarketAction("CN", "Report to the provincial MPA"), MarketAction("US", "FDA 3-day notification"))
    assert markets_without_action(actions, ("CN", "DE", "US")) == ("DE",)
    assert check_market_actions([], ("CN",)) == ()
    for items in ([("JP", "x")], [("USA", "x")], [("US", "a"), ("us", "b")]):
        with pytest.raises(ValidationError) as refused:
            check_market_actions(items, ("CN", "US"))
        assert list(refused.value.fields) == ["market_actions"]


# --- AT-10 ---------------------------------------------------------------------------------------------------

#: the installation's own loading of its defaults at ``gmp init``: the validated baseline, not a change
BASELINE = {"configuration.time_limits_seeded", "calendar.seeded", "configuration.compensation_ladder_seeded",
            "calendar.extended", "adr_clock.loaded"}


@pytest.mark.req("AT-10")
def test_every_change_of_configuration_needs_a_change_control_reference():
    configuration = {action for action in ACTIONS
                     if action.startswith(("configuration.", "calendar.", "class_criteria.", "recall_clock.",
                                           "adr_clock."))}
    assert configuration - BASELINE == {action for action in configuration if ACTIONS[action].change_control}
    assert ACTIONS["product.markets_changed"].change_control  # markets decide whom a defect is reported to
    # Master data from the ERP (DESIGN §6 bodies) and GMP records are not configuration.
    for action in ("product.created", "batch.created", "distribution.created", "complaint.classify",
                   "recall.market_actions_changed"):
        assert not ACTIONS[action].change_control
    assert all(spec.kind is not ActionKind.security for spec in ACTIONS.values() if spec.change_control)

"""The trend rules (SOP §7; TR-01): periods, proportions, rates, percentiles and the three signal rules,
on plain numbers (no database, no Flask)."""
from datetime import date

import pytest

from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.domain.trends import (
    ComplaintFact,
    Period,
    Quarter,
    SignalConfiguration,
    check_period,
    check_signal_settings,
    class_i_signals,
    median,
    per_million,
    percentile,
    previous_periods,
    proportions,
    recurrence_signals,
    u_chart,
    u_chart_signal,
)


def test_a_period_needs_both_ends_in_order():
    assert check_period(date(2026, 1, 1), date(2026, 3, 31)).days == 90
    with pytest.raises(ValidationError) as backwards:
        check_period(date(2026, 3, 1), date(2026, 2, 28))
    assert list(backwards.value.fields) == ["to"]
    with pytest.raises(ValidationError) as missing:
        check_period(None, None)
    assert set(missing.value.fields) == {"from", "to"}
    one_day = check_period(date(2026, 5, 5), date(2026, 5, 5))
    assert one_day.days == 1 and one_day.previous() == Period(date(2026, 5, 4), date(2026, 5, 4))


def test_previous_periods_have_the_same_length_and_follow_each_other():
    q2 = Period(date(2026, 4, 1), date(2026, 6, 30))
    earlier = previous_periods(q2, 2)
    assert earlier == [Period(date(2025, 12, 31), date(2026, 3, 31)), Period(date(2025, 10, 1), date(2025, 12, 30))]
    assert all(p.days == q2.days for p in earlier)


def test_quarters_and_their_predecessors():
    assert Quarter.of(date(2026, 11, 30)) == Quarter(2026, 4)
    assert Quarter(2026, 4).period == Period(date(2026, 10, 1), date(2026, 12, 31))
    assert [q.label() for q in Quarter(2026, 2).before(3)] == ["2025-Q3", "2025-Q4", "2026-Q1"]


def test_proportions_rates_and_percentiles():
    assert proportions({"a": 1, "b": 3}) == {"b": {"count": 3, "share": 0.75}, "a": {"count": 1, "share": 0.25}}
    assert proportions({}) == {}
    assert per_million(3, 1_500_000) == 2.0 and per_million(3, 0) is None
    assert percentile([5, 1, 3, 2, 4], 0.9) == 5 and percentile([5, 1, 3, 2, 4], 0.5) == 3
    assert percentile([], 0.9) is None
    assert median([4, 1, 3, 2]) == 2.5 and median([7]) == 7 and median([]) is None


def fact(day: str, product="P1", kind="inner_packaging", klass="III", ref=None):
    return ComplaintFact(ref or f"{product}-{kind}-{day}", product, kind, date.fromisoformat(day), klass)


@pytest.mark.req("TR-01")
def test_three_of_a_type_on_a_product_within_90_days_is_a_recurrence_signal():
    config = SignalConfiguration()
    q4 = Period(date(2026, 10, 1), date(2026, 12, 31))
    facts = [fact("2026-08-20"), fact("2026-10-05"), fact("2026-11-15"),  # within 90 days, ending in Q4
             fact("2026-10-02", kind="outer_packaging"), fact("2026-11-02", kind="outer_packaging"),  # only two
             fact("2026-01-02", product="P2"), fact("2026-03-02", product="P2"), fact("2026-04-02", product="P2")]
    [signal] = recurrence_signals(facts, q4, config)
    assert (signal.product_code, signal.complaint_type, signal.count) == ("P1", "inner_packaging", 3)
    assert dict(signal.detail)["from"] == "2026-08-20" and signal.key == "recurrence:P1:inner_packaging"
    # The window is configuration: 60 days no longer holds all three.
    assert recurrence_signals(facts, q4, SignalConfiguration(recurrence_window_days=60)) == []
    # 91 days apart is outside a 90-day window (both days counted).
    spread = [fact("2026-10-01"), fact("2026-11-01"), fact("2026-12-30")]
    assert recurrence_signals(spread, q4, config) == []
    assert recurrence_signals([fact("2026-10-01"), fact("2026-11-01"), fact("2026-12-29")], q4, config)


@pytest.mark.req("TR-01")
def test_every_class_i_complaint_in_the_period_is_a_signal():
    q4 = Period(date(2026, 10, 1), date(2026, 12, 31))
    facts = [fact("2026-10-03", klass="I", ref="TS-I-26-001"), fact("2026-11-03", klass="I", ref="TS-I-26-002"),
             fact("2026-09-30", klass="I", ref="TS-I-26-000"), fact("2026-11-04", klass="II")]
    [signal] = class_i_signals(facts, q4)
    assert signal.complaints == ("TS-I-26-001", "TS-I-26-002") and signal.count == 2


@pytest.mark.req("TR-01")
def test_the_u_chart_judges_a_quarter_against_the_eight_before_it():
    config = SignalConfiguration()
    baseline = {q.label(): (10, 1_000_000) for q in Quarter(2026, 4).before(8)}  # ū = 10 per million
    calm = u_chart(Quarter(2026, 4), {**baseline, "2026-Q4": (14, 1_000_000)}, config)
    # σ = √(10 / 1) ≈ 3.162: alert above 16.325, action above 19.487.
    assert (calm.centre, calm.alert_limit, calm.action_limit, calm.level) == (10.0, 16.325, 19.487, None)
    alert = u_chart(Quarter(2026, 4), {**baseline, "2026-Q4": (17, 1_000_000)}, config)
    action = u_chart(Quarter(2026, 4), {**baseline, "2026-Q4": (20, 1_000_000)}, config)
    assert (alert.level, action.level) == ("alert", "action")
    signal = u_chart_signal("P1", action, 20)
    assert signal.level == "action" and dict(signal.detail)["quarter"] == "2026-Q4"
    assert u_chart_signal("P1", calm, 14) is None
    # More units in the quarter judged: narrower limits.
    wide = u_chart(Quarter(2026, 4), {**baseline, "2026-Q4": (40, 4_000_000)}, config)
    assert wide.rate == 10.0 and wide.alert_limit < calm.alert_limit
    # Nothing distributed, in the baseline or the quarter: no chart and no signal, never a false alarm.
    assert u_chart(Quarter(2026, 4), {"2026-Q4": (5, 1_000_000)}, config).level is None
    assert u_chart(Quarter(2026, 4), baseline, config).rate is None
    # No complaint in the baseline: ū = 0 has no spread, so one complaint is not an "action" signal.
    quiet = {q.label(): (0, 1_000_000) for q in Quarter(2026, 4).before(8)}
    assert u_chart(Quarter(2026, 4), {**quiet, "2026-Q4": (1, 1_000_000)}, config).level is None


@pytest.mark.req("TR-01")
def test_signal_settings_are_checked_and_name_the_setting():
    assert check_signal_settings({"recurrence_window_days": 60, "u_chart_alert_sigma": 2.5}) == {
        "recurrence_window_days": 60, "u_chart_alert_sigma": 2.5}
    for given, field in (({"recurrence_window_days": 0}, "recurrence_window_days"),
                         ({"recurrence_window_days": -5}, "recurrence_window_days"),
                         ({"recurrence_count": 2.5}, "recurrence_count"),
                         ({"u_chart_quarters": True}, "u_chart_quarters"),
                         ({"colour": 3}, "colour")):
        with pytest.raises(ValidationError) as refused:
            check_signal_settings(given)
        assert list(refused.value.fields) == [field]

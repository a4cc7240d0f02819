"""Due dates keep the calendar they were calculated on (WF-05) and the ADR clocks are master data (HO-01):
the rules as plain functions, no database."""
from datetime import date

import pytest

from gmp_complaints.calendar_seed import china_days, china_year_status
from gmp_complaints.domain.adr import (
    DEFAULT_ADR_CLOCKS,
    ClockRule,
    Seriousness,
    check_clock_days,
    clock_rule,
    group_event_clocks,
    reporting_clocks,
)
from gmp_complaints.domain.calendar import (
    CalendarDay,
    DayKind,
    KeptDate,
    Term,
    WorkingCalendar,
    YearStatus,
    dates_to_keep,
    due_date,
    recalculations,
)
from gmp_complaints.domain.complaints import ComplaintClass, Status
from gmp_complaints.domain.criteria import timer_configuration
from gmp_complaints.domain.deadlines import DeadlineFacts, complaint_terms, deadlines_for
from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.domain.field_alert import reminder_due, reminder_terms

CHINA = WorkingCalendar(china_days(2025, 2027), china_year_status(2025, 2027))
DEFAULTS = timer_configuration({})
#: 2026 before its notice was loaded: plain weeks, a provisional year
PLAIN_2026 = WorkingCalendar([], {2026: YearStatus.provisional})


def facts(**overrides) -> DeadlineFacts:
    base = dict(status=Status.under_investigation, complaint_class=ComplaintClass.II, received_on=date(2026, 2, 10),
                substantiated=True, acknowledged=True, classified=True)
    return DeadlineFacts(**{**base, **overrides})


@pytest.mark.req("WF-05")
def test_a_deadline_spanning_chinese_new_year_counts_the_adjusted_saturdays():
    # Received Tuesday 10 February 2026. Spring Festival: 16-20 and 23 February off; Saturdays 14 and 28
    # February are working days (调休). 15 working days: 11, 12, 13, Sat 14, then 24-27, Sat 28, 2-6 and 9 March.
    dates = deadlines_for(facts(), CHINA, DEFAULTS)
    assert dates.investigation_due_on == date(2026, 3, 9)
    assert dates.provisional is False
    # On plain weeks the same count ends on 3 March: the holidays and the two Saturdays both matter.
    assert deadlines_for(facts(), PLAIN_2026, DEFAULTS).investigation_due_on == date(2026, 3, 3)
    assert CHINA.is_working_day(date(2026, 2, 14)) and CHINA.is_working_day(date(2026, 2, 28))


@pytest.mark.req("WF-05")
def test_a_calendar_change_does_not_move_a_kept_date_and_lists_it_for_recalculation():
    terms = complaint_terms(facts(), DEFAULTS)
    # Just before the notice is loaded, the dates are kept as the provisional calendar gave them.
    kept = dates_to_keep(terms, {}, PLAIN_2026)
    assert kept["investigation"] == KeptDate(Term(date(2026, 2, 10), 15), date(2026, 3, 3), True)
    after = deadlines_for(facts(), CHINA, DEFAULTS, kept)
    assert after.investigation_due_on == date(2026, 3, 3)  # not silently moved to 9 March
    assert after.provisional is True  # the kept date was calculated on a provisional year
    listed = {r.kind: (r.kept_on, r.recalculated.due_on) for r in recalculations(terms, kept, CHINA)}
    assert listed["investigation"] == (date(2026, 3, 3), date(2026, 3, 9))
    # Initial feedback (12 February) and classification (13 February) fall before the holiday: not listed.
    assert set(listed) == {"investigation", "formal_reply"}
    # The explicit recalculation stores the calendar's date: nothing is listed any more.
    recalculated = {kind: KeptDate(term, CHINA.deadline(term.start_on, term.working_days).due_on, False)
                    for kind, term in terms.items()}
    assert recalculations(terms, recalculated, CHINA) == []
    assert deadlines_for(facts(), CHINA, DEFAULTS, recalculated).investigation_due_on == date(2026, 3, 9)


@pytest.mark.req("WF-05")
def test_only_dates_not_yet_kept_are_kept_and_a_new_term_is_calculated_on_the_calendar_in_force():
    terms = complaint_terms(facts(), DEFAULTS)
    kept = dates_to_keep(terms, {}, PLAIN_2026)
    assert dates_to_keep(terms, kept, CHINA) == {}  # a second change keeps the first calculation
    # A new class is a new term: counted on the calendar in force, the old kept date no longer applies.
    regraded = facts(complaint_class=ComplaintClass.III)
    assert deadlines_for(regraded, CHINA, DEFAULTS, kept).investigation_due_on == CHINA.add_working_days(
        date(2026, 2, 10), DEFAULTS.per_class[ComplaintClass.III].investigation_report)
    # A reply after the change: its reminder counts on the calendar in force.
    replied = facts(status=Status.awaiting_customer, last_reply_on=date(2026, 2, 12))
    assert deadlines_for(replied, CHINA, DEFAULTS, kept).reminder_due_on == CHINA.add_working_days(
        date(2026, 2, 12), DEFAULTS.reminder_after_reply)
    assert "reminder" in dates_to_keep(complaint_terms(replied, DEFAULTS), kept, CHINA)


@pytest.mark.req("WF-05")
def test_a_kept_date_the_new_calendar_confirms_takes_its_status():
    term = Term(date(2026, 6, 1), 5)
    kept = KeptDate(term, date(2026, 6, 8), True)
    official = WorkingCalendar([], {2026: YearStatus.official})
    assert due_date(term, kept, official).provisional is False
    assert recalculations({"x": term}, {"x": kept}, official) == []


@pytest.mark.req("WF-05", "HO-04")
def test_a_field_alert_reminder_keeps_its_date_across_a_us_calendar_change():
    received = date(2026, 11, 9)  # Monday; Veterans Day, Wednesday 11 November, is a federal holiday
    before = WorkingCalendar([], {2026: YearStatus.official})
    after = WorkingCalendar([CalendarDay(date(2026, 11, 11), DayKind.holiday, "Veterans Day")],
                            {2026: YearStatus.official})
    kept = dates_to_keep(reminder_terms(received, 0), {}, before)
    assert {kind: k.due_on for kind, k in kept.items()} == {"field_alert_reminder_1": date(2026, 11, 10),
                                                            "field_alert_reminder_2": date(2026, 11, 11)}
    assert reminder_due(received, after, date(2026, 11, 11), 1) is None  # the new calendar: day 2 is the 12th
    assert reminder_due(received, after, date(2026, 11, 11), 1, kept) == 2  # the kept date stands
    assert reminder_terms(received, 1) == {"field_alert_reminder_2": Term(received, 2)}


def due(clocks=None, **case):
    body = {"day0": date(2026, 11, 1), "seriousness": Seriousness.hospitalisation, "unexpected": False,
            "markets": ("CN",), **case}
    return [(c.market, c.authority[:3], c.due_on, str(c.rule)) for c in reporting_clocks(**body, clocks=clocks)]


@pytest.mark.req("HO-01")
def test_the_default_clocks_are_todays_rules_and_an_edited_clock_sets_the_due_date():
    assert DEFAULT_ADR_CLOCKS[ClockRule.cn_serious] == 15 and DEFAULT_ADR_CLOCKS[ClockRule.cn_other] == 30
    assert due() == [("CN", "国家药", date(2026, 11, 16), "China: a new or serious reaction within 15 days")]
    edited = {ClockRule.cn_serious: 10}
    assert due(edited) == [("CN", "国家药", date(2026, 11, 11), "China: a new or serious reaction within 10 days")]
    assert due(edited, seriousness=Seriousness.non_serious)[0][2] == date(2026, 12, 1)  # others: still 30
    eu = due({ClockRule.eu_non_serious: 60}, seriousness=Seriousness.non_serious, markets=("FR",))
    assert eu == [("EU", "Eud", date(2026, 12, 31), "EU: a non-serious reaction within 60 days")]
    death = due({ClockRule.cn_death_report: 7}, seriousness=Seriousness.death)
    assert [(d, r) for _m, _a, d, r in death] == [(date(2026, 11, 1), "China: a death is reported at once"),
                                                  (date(2026, 11, 8), "China: the investigation report of a death "
                                                                      "within 7 days")]


@pytest.mark.req("HO-01")
def test_a_group_event_is_still_reported_at_once_whatever_the_other_clocks_say():
    edited = {rule: 5 for rule in ClockRule if rule is not ClockRule.cn_group_event}
    clocks = group_event_clocks(date(2026, 11, 1), edited)
    assert len(clocks) == 3 and {c.due_on for c in clocks} == {date(2026, 11, 1)}
    assert {str(c.rule) for c in clocks} == {"China: a group adverse event is reported at once"}


def test_a_clock_is_0_to_365_calendar_days():
    assert check_clock_days(0) == 0 and check_clock_days(365) == 365
    for bad in (-1, 366, 1.5, "15", True, None):
        with pytest.raises(ValidationError) as refused:
            check_clock_days(bad)
        assert "days" in refused.value.fields
    assert str(clock_rule(ClockRule.cn_death, 1)) == "China: a death is reported within 1 days"

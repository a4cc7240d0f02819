"""Working-day rules (no database, no Flask), on synthetic data and on the seeded China calendar."""
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gmp_complaints.calendar_seed import china_days, china_year_status, cross_check_with_holidays
from gmp_complaints.domain.calendar import (
    CalendarDay,
    CalendarImportError,
    DayKind,
    WorkingCalendar,
    YearStatus,
    parse_notice_csv,
)

CHINA = WorkingCalendar(china_days(2024, 2027), china_year_status(2024, 2027))
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))
counts = st.integers(min_value=0, max_value=60)


@pytest.mark.req("WF-05")
@given(days, st.integers(min_value=1, max_value=60))
def test_the_result_is_a_working_day_with_exactly_n_working_days_up_to_it(start, n):
    due = CHINA.add_working_days(start, n)
    assert due > start and CHINA.is_working_day(due)
    assert CHINA.working_days_between(start, due) == n


@pytest.mark.req("WF-05")
@given(days, counts, counts)
def test_adding_in_two_steps_is_adding_once(start, a, b):
    assert CHINA.add_working_days(CHINA.add_working_days(start, a), b) == CHINA.add_working_days(start, a + b)


@pytest.mark.req("WF-05")
@given(days, days, counts)
def test_later_starts_and_more_days_never_give_earlier_deadlines(first, second, n):
    early, late = sorted((first, second))
    assert CHINA.add_working_days(early, n) <= CHINA.add_working_days(late, n)
    assert CHINA.add_working_days(early, n) <= CHINA.add_working_days(early, n + 1)


@pytest.mark.req("WF-05")
def test_the_2026_mid_autumn_and_national_day_holidays_and_adjusted_working_days():
    off = [date(2026, 9, 25)] + [date(2026, 10, d) for d in range(1, 8)]
    assert not any(CHINA.is_working_day(d) for d in off)
    assert CHINA.is_working_day(date(2026, 9, 20)) and CHINA.is_working_day(date(2026, 10, 10))  # Sun, Sat: 调休
    assert not CHINA.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    # Thu 24 Sep + 25 working days: 28-30 Sep (3), 8-10 Oct (6, Sat 10th works), then 19 more → Thu 5 Nov.
    assert CHINA.add_working_days(date(2026, 9, 24), 25) == date(2026, 11, 5)
    assert CHINA.add_working_days(date(2026, 11, 5), 10) == date(2026, 11, 19)


@pytest.mark.req("WF-05")
def test_chinesecalendar_and_holidays_agree_on_every_day_of_2020_to_2026():
    assert cross_check_with_holidays(2020, 2026) == []


@pytest.mark.req("WF-05")
def test_a_deadline_reaching_into_an_unpublished_year_is_provisional():
    assert CHINA.deadline(date(2026, 6, 1), 20).provisional is False
    late = CHINA.deadline(date(2026, 12, 20), 20)
    assert late.provisional is True and late.due_on.year == 2027
    assert china_year_status(2026, 2027)[2027] is YearStatus.provisional


def test_negative_counts_and_inconsistent_days_are_refused():
    with pytest.raises(ValueError):
        CHINA.add_working_days(date(2026, 1, 5), -1)
    with pytest.raises(ValueError, match="2026-01-05"):
        WorkingCalendar([CalendarDay(date(2026, 1, 5), DayKind.adjusted_workday, "Monday")], {})
    with pytest.raises(ValueError, match="twice"):
        WorkingCalendar([CalendarDay(date(2026, 1, 5), DayKind.holiday, "a"),
                         CalendarDay(date(2026, 1, 5), DayKind.holiday, "b")], {})


def test_plain_weeks_apply_where_no_day_is_listed():
    plain = WorkingCalendar([], {2026: YearStatus.official})
    friday = date(2026, 11, 20)
    assert plain.add_working_days(friday, 1) == friday + timedelta(days=3)


@pytest.mark.req("WF-05")
def test_the_official_notice_loads_from_csv_and_every_bad_row_is_reported():
    days_, years = parse_notice_csv("date,kind,name\n2027-10-01,holiday,国庆节\n2027-09-26,adjusted_workday,国庆调休\n")
    assert [d.kind for d in days_] == [DayKind.holiday, DayKind.adjusted_workday]
    assert years == {2027: YearStatus.official}
    with pytest.raises(CalendarImportError) as raised:
        parse_notice_csv("date,kind,name\n2027-13-01,holiday,x\n2027-10-04,adjusted_workday,Mon\n"
                         "2027-10-02,vacation,x\n2027-10-03,holiday,\n")
    assert [line for line, _ in raised.value.problems] == [2, 3, 4, 5]

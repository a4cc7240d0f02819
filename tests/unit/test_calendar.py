"""Working-day rules on synthetic calendars (no database, no Flask, no calendar package)."""
from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gmp_complaints.domain.calendar import (
    CalendarDay,
    CalendarImportError,
    DayKind,
    Deadline,
    WorkingCalendar,
    YearStatus,
    parse_notice_csv,
)

ONE_DAY = timedelta(days=1)
WINDOW_START = date(2026, 1, 1)
# Listed days fall in a window around a year end, so deadlines also cross into plain (unlisted) weeks.
listed_days = st.integers(min_value=0, max_value=150).map(lambda k: date(2025, 11, 1) + timedelta(days=k))
starts = st.integers(min_value=-30, max_value=200).map(lambda k: date(2025, 11, 1) + timedelta(days=k))
counts = st.integers(min_value=0, max_value=80)
positive_counts = st.integers(min_value=1, max_value=80)


@st.composite
def calendars(draw) -> WorkingCalendar:
    """Random weekend rules with random holidays and adjusted working days (some weekend days left as listed
    holidays, which must change nothing)."""
    weekend = draw(st.sampled_from([frozenset({5, 6}), frozenset({4, 5}), frozenset({6}), frozenset()]))
    days = []
    for day in sorted(draw(st.sets(listed_days, max_size=50))):
        if day.weekday() in weekend and draw(st.booleans()):
            days.append(CalendarDay(day, DayKind.adjusted_workday, "make-up working day"))
        else:
            days.append(CalendarDay(day, DayKind.holiday, "day off"))
    return WorkingCalendar(days, {2025: YearStatus.official, 2026: YearStatus.official}, weekend)


def reference_add(calendar: WorkingCalendar, start: date, n: int) -> date:
    """The definition, stepped day by day: what the fast version must agree with."""
    day = start
    while n:
        day += ONE_DAY
        n -= calendar.is_working_day(day)
    return day


def reference_between(calendar: WorkingCalendar, start: date, end: date) -> int:
    return sum(calendar.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))


def plain(year_status: dict[int, YearStatus] | None = None) -> WorkingCalendar:
    return WorkingCalendar([], year_status or {2026: YearStatus.official})


# --- laws of add_working_days ---------------------------------------------------------------------------------


@pytest.mark.req("WF-05")
@given(calendars(), starts, positive_counts)
def test_the_result_is_the_first_working_day_with_n_working_days_after_the_start(calendar, start, n):
    due = calendar.add_working_days(start, n)
    assert due > start
    assert calendar.is_working_day(due)
    assert calendar.working_days_between(start, due) == n
    # ...and no earlier day already reaches n
    assert calendar.working_days_between(start, due - ONE_DAY) == n - 1


@pytest.mark.req("WF-05")
@given(calendars(), starts, counts)
def test_the_fast_arithmetic_agrees_with_stepping_day_by_day(calendar, start, n):
    assert calendar.add_working_days(start, n) == reference_add(calendar, start, n)


@pytest.mark.req("WF-05")
@given(calendars(), starts, starts)
def test_counting_agrees_with_stepping_day_by_day(calendar, start, end):
    expected = reference_between(calendar, start, end) if end > start else 0
    assert calendar.working_days_between(start, end) == expected


@pytest.mark.req("WF-05")
@given(calendars(), starts, counts, counts)
def test_adding_in_two_steps_is_adding_once(calendar, start, a, b):
    assert calendar.add_working_days(calendar.add_working_days(start, a), b) == calendar.add_working_days(start, a + b)


@pytest.mark.req("WF-05")
@given(calendars(), starts, starts, counts)
def test_more_days_give_a_later_date_and_a_later_start_never_an_earlier_one(calendar, first, second, n):
    early, late = sorted((first, second))
    assert calendar.add_working_days(early, n) < calendar.add_working_days(early, n + 1)
    assert calendar.add_working_days(early, n) <= calendar.add_working_days(late, n)


def test_zero_days_is_the_start_itself_even_on_a_day_off():
    sunday = date(2026, 3, 1)
    assert plain().add_working_days(sunday, 0) == sunday


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError, match="negative"):
        plain().add_working_days(date(2026, 3, 2), -1)


def test_counting_is_zero_when_the_end_is_not_after_the_start():
    monday = date(2026, 3, 2)
    assert plain().working_days_between(monday, monday) == 0
    assert plain().working_days_between(monday + timedelta(days=7), monday) == 0


# --- holidays, adjusted working days, weekends ---------------------------------------------------------------


@pytest.mark.req("WF-05")
def test_plain_weeks_skip_the_weekend():
    friday = date(2026, 11, 20)
    assert plain().add_working_days(friday, 1) == date(2026, 11, 23)
    assert plain().add_working_days(friday, 5) == date(2026, 11, 27)
    assert plain().working_days_between(friday, date(2026, 11, 27)) == 5


@pytest.mark.req("WF-05")
def test_an_adjusted_working_day_counts_and_a_holiday_does_not():
    saturday, monday = date(2026, 3, 7), date(2026, 3, 9)
    calendar = WorkingCalendar([CalendarDay(saturday, DayKind.adjusted_workday, "调休"),
                                CalendarDay(monday, DayKind.holiday, "day off")], {2026: YearStatus.official})
    friday = date(2026, 3, 6)
    assert calendar.is_working_day(saturday) and not calendar.is_working_day(monday)
    assert not calendar.is_working_day(date(2026, 3, 8))  # the Sunday stays a weekend day
    assert calendar.add_working_days(friday, 1) == saturday
    assert calendar.add_working_days(friday, 2) == date(2026, 3, 10)  # Sunday and the Monday holiday skipped
    assert calendar.working_days_between(friday, date(2026, 3, 10)) == 2


@pytest.mark.req("WF-05")
def test_a_holiday_on_a_weekend_day_changes_nothing():
    sunday = date(2026, 3, 8)
    calendar = WorkingCalendar([CalendarDay(sunday, DayKind.holiday, "festival on a Sunday")],
                               {2026: YearStatus.official})
    friday = date(2026, 3, 6)
    assert not calendar.is_working_day(sunday)
    for n in range(0, 15):
        assert calendar.add_working_days(friday, n) == plain().add_working_days(friday, n)
    assert calendar.working_days_between(friday, date(2026, 3, 31)) == plain().working_days_between(
        friday, date(2026, 3, 31))


def test_another_weekend_rule_is_honoured():
    # Friday and Saturday off; a Friday make-up day is allowed, a Sunday one is not.
    calendar = WorkingCalendar([CalendarDay(date(2026, 3, 13), DayKind.adjusted_workday, "make-up Friday")],
                               {2026: YearStatus.official}, weekend=frozenset({4, 5}))
    thursday = date(2026, 3, 5)
    assert calendar.add_working_days(thursday, 1) == date(2026, 3, 8)  # Sunday
    assert calendar.add_working_days(date(2026, 3, 12), 1) == date(2026, 3, 13)
    with pytest.raises(ValueError, match="2026-03-15"):
        WorkingCalendar([CalendarDay(date(2026, 3, 15), DayKind.adjusted_workday, "Sunday")], {},
                        weekend=frozenset({4, 5}))


def test_the_cost_does_not_grow_with_the_length_of_the_period():
    # A day-by-day loop would need ~3.6 million steps per count here, and ~1.4 million per addition.
    calendar = WorkingCalendar([CalendarDay(date(2026, 10, d), DayKind.holiday, "National Day") for d in (1, 2, 5)]
                               + [CalendarDay(date(2026, 10, 10), DayKind.adjusted_workday, "调休")], {})
    began = time.perf_counter()
    for _ in range(200):
        assert calendar.working_days_between(date(1, 1, 1), date(9999, 12, 31)) == 2_608_614 - 3 + 1
        assert calendar.add_working_days(date(2026, 1, 1), 1_000_000) == plain().add_working_days(
            date(2026, 1, 1), 1_000_000 + 3 - 1)
    assert time.perf_counter() - began < 2.0


# --- official and provisional years --------------------------------------------------------------------------


@pytest.mark.req("WF-05")
def test_a_year_is_provisional_unless_marked_official():
    calendar = plain({2026: YearStatus.official, 2027: YearStatus.provisional})
    assert calendar.is_provisional(date(2026, 12, 31)) is False
    assert calendar.is_provisional(date(2027, 1, 1)) is True
    assert calendar.is_provisional(date(2028, 6, 1)) is True  # not in the table at all


@pytest.mark.req("WF-05")
def test_a_deadline_is_provisional_when_any_year_it_runs_through_is_not_official():
    calendar = plain({2025: YearStatus.provisional, 2026: YearStatus.official, 2028: YearStatus.official})
    assert calendar.deadline(date(2026, 6, 1), 25) == Deadline(date(2026, 7, 6), provisional=False)
    # Runs from 2026 into 2027, which has no status.
    assert calendar.deadline(date(2026, 12, 20), 25) == Deadline(date(2027, 1, 22), provisional=True)
    # Starts in 2026, ends in official 2028, but passes through all of 2027.
    long = calendar.deadline(date(2026, 12, 1), 300)
    assert long.due_on.year == 2028 and long.provisional is True
    # The start day itself is not part of the period: 31 Dec 2025 (provisional year) + 1 is in 2026.
    assert calendar.deadline(date(2025, 12, 31), 1) == Deadline(date(2026, 1, 1), provisional=False)
    # With no days to add, the start day is the due day, and its year decides.
    assert calendar.deadline(date(2025, 12, 31), 0) == Deadline(date(2025, 12, 31), provisional=True)


# --- validation ----------------------------------------------------------------------------------------------


def test_a_day_cannot_be_both_a_holiday_and_an_adjusted_working_day():
    saturday = date(2026, 3, 7)
    with pytest.raises(ValueError, match=r"2026-03-07 is listed twice: as both holiday and adjusted_workday"):
        WorkingCalendar([CalendarDay(saturday, DayKind.holiday, "a"),
                         CalendarDay(saturday, DayKind.adjusted_workday, "b")], {})


def test_a_day_cannot_be_listed_twice():
    with pytest.raises(ValueError, match="2026-03-09 is listed twice"):
        WorkingCalendar([CalendarDay(date(2026, 3, 9), DayKind.holiday, "a"),
                         CalendarDay(date(2026, 3, 9), DayKind.holiday, "b")], {})


def test_an_adjusted_working_day_must_be_a_weekend_day():
    with pytest.raises(ValueError, match="2026-03-09 is an adjusted working day but not a weekend day"):
        WorkingCalendar([CalendarDay(date(2026, 3, 9), DayKind.adjusted_workday, "Monday")], {})


def test_a_weekend_rule_must_leave_working_days():
    with pytest.raises(ValueError, match="weekend"):
        WorkingCalendar([], {}, weekend=frozenset(range(7)))
    with pytest.raises(ValueError, match="weekend"):
        WorkingCalendar([], {}, weekend=frozenset({7}))


# --- loading the official notice -----------------------------------------------------------------------------


@pytest.mark.req("WF-05")
def test_the_official_notice_loads_from_csv():
    text = ("\ufeffdate,kind,name\n"
            "2027-10-01,holiday,国庆节\n"
            "\n"
            '2027-09-26,adjusted_workday,"国庆节调休, National Day"\n'
            "2028-01-03, holiday , 元旦 \n")
    days, years = parse_notice_csv(text)
    assert days == [CalendarDay(date(2027, 10, 1), DayKind.holiday, "国庆节"),
                    CalendarDay(date(2027, 9, 26), DayKind.adjusted_workday, "国庆节调休, National Day"),
                    CalendarDay(date(2028, 1, 3), DayKind.holiday, "元旦")]
    assert years == {2027: YearStatus.official, 2028: YearStatus.official}
    calendar = WorkingCalendar(days, years)
    assert calendar.is_working_day(date(2027, 9, 26)) and not calendar.is_working_day(date(2027, 10, 1))


@pytest.mark.req("WF-05")
def test_every_bad_row_of_a_notice_is_reported_with_its_line_number():
    text = ("date,kind,name\n"
            "2027-10-01,holiday,国庆节\n"            # 2 fine
            "2027-13-01,holiday,x\n"                # 3 no such month
            "2027-10-04,adjusted_workday,Monday\n"  # 4 a Monday cannot be a make-up working day
            "2027-10-02,vacation,x\n"               # 5 unknown kind
            "2027-10-03,holiday,\n"                 # 6 no name
            "\n"                                    # 7 blank: skipped
            "2027-10-01,holiday,again\n"            # 8 duplicate of line 2
            "2027-10-05,holiday\n"                  # 9 a column missing
            "20271006,holiday,x\n"                  # 10 not YYYY-MM-DD
            f"2027-10-07,holiday,{'x' * 101}\n"     # 11 name too long for the table
            "2027-10-08,weekday,\n")                # 12 two problems in one row
    with pytest.raises(CalendarImportError) as raised:
        parse_notice_csv(text)
    problems = dict(raised.value.problems)
    assert sorted(problems) == [3, 4, 5, 6, 8, 9, 10, 11, 12]
    assert "2027-13-01" in problems[3]
    assert "Monday" in problems[4] and "weekend" in problems[4]
    assert "vacation" in problems[5]
    assert "name is empty" in problems[6]
    assert "line 2" in problems[8]
    assert "3 columns" in problems[9]
    assert "YYYY-MM-DD" in problems[10]
    assert "100 characters" in problems[11]
    assert "weekday" in problems[12] and "name is empty" in problems[12]
    assert isinstance(raised.value, ValueError) and "line 3" in str(raised.value)


def test_a_notice_without_the_header_is_refused():
    for text in ("", "2027-10-01,holiday,国庆节\n", "date,name,kind\n2027-10-01,国庆节,holiday\n"):
        with pytest.raises(CalendarImportError) as raised:
            parse_notice_csv(text)
        assert raised.value.problems == [(1, "the first line must be: date,kind,name")]

"""The mainland China calendar as seeded from chinesecalendar, cross-checked against the holidays package."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gmp_complaints.calendar_seed import (
    china_days,
    china_year_status,
    cross_check_with_holidays,
    us_federal_days,
)
from gmp_complaints.domain.calendar import CalendarDay, DayKind, Deadline, WorkingCalendar, YearStatus

CHINA_DAYS = china_days(2004, 2027)
CHINA = WorkingCalendar(CHINA_DAYS, china_year_status(2004, 2027))
seeded_dates = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31))


def listed(first: date, last: date) -> list[tuple[date, DayKind]]:
    return [(d.day, d.kind) for d in CHINA_DAYS if first <= d.day <= last]


@pytest.mark.req("WF-05")
def test_the_2026_mid_autumn_and_national_day_period_is_seeded_as_in_the_notice():
    # State Council notice of 2025-11-04: Mid-Autumn Fri 25 – Sun 27 Sep; National Day Thu 1 – Wed 7 Oct;
    # Sun 20 Sep and Sat 10 Oct are worked. Weekend days off (26/27 Sep, 3/4 Oct) need no row.
    assert listed(date(2026, 9, 1), date(2026, 10, 31)) == [
        (date(2026, 9, 20), DayKind.adjusted_workday),
        (date(2026, 9, 25), DayKind.holiday),
        (date(2026, 10, 1), DayKind.holiday),
        (date(2026, 10, 2), DayKind.holiday),
        (date(2026, 10, 5), DayKind.holiday),
        (date(2026, 10, 6), DayKind.holiday),
        (date(2026, 10, 7), DayKind.holiday),
        (date(2026, 10, 10), DayKind.adjusted_workday),
    ]
    names = {d.day: d.name for d in CHINA_DAYS}
    assert names[date(2026, 9, 25)] == "中秋 Mid-autumn Festival"
    assert names[date(2026, 10, 1)] == "国庆节 National Day"
    assert names[date(2026, 10, 10)] == "国庆节调休 National Day (adjusted working day)"
    off = [date(2026, 9, d) for d in (25, 26, 27)] + [date(2026, 10, d) for d in range(1, 8)]
    assert not any(CHINA.is_working_day(d) for d in off)
    assert CHINA.is_working_day(date(2026, 9, 20)) and CHINA.is_working_day(date(2026, 10, 10))
    assert not CHINA.is_working_day(date(2026, 10, 11))  # the Sunday after the make-up Saturday is a plain Sunday


@pytest.mark.req("WF-05", "WF-06")
def test_reminder_and_closure_dates_across_national_day_2026():
    # Reply on Fri 25 Sep (itself a holiday; the start day never counts). Working days after it:
    #   Mon 28 – Wed 30 Sep: 1-3; 1-7 Oct off; Thu 8, Fri 9, Sat 10 (调休): 4-6; Sun 11 off;
    #   12-16 Oct: 7-11; 19-23 Oct: 12-16; 26-30 Oct: 17-21; Mon 2 – Thu 5 Nov: 22-25.
    reminder_due = CHINA.add_working_days(date(2026, 9, 25), 25)
    assert reminder_due == date(2026, 11, 5)
    assert CHINA.add_working_days(date(2026, 9, 24), 25) == date(2026, 11, 5)  # Fri 25 Sep was not a working day
    # Closure eligible 10 working days after the reminder: 6-13 Nov (6), 16-19 Nov (4): Thu 19 Nov.
    assert CHINA.deadline(reminder_due, 10) == Deadline(date(2026, 11, 19), provisional=False)
    # One working day after Fri 18 Sep is the make-up Sunday 20 Sep; after Wed 30 Sep it is Thu 8 Oct.
    assert CHINA.add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)
    assert CHINA.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    # 20 Sep, 21-24 Sep, 28-30 Sep, 8-10 Oct
    assert CHINA.working_days_between(date(2026, 9, 18), date(2026, 10, 11)) == 1 + 4 + 3 + 3


@pytest.mark.req("WF-05")
def test_a_deadline_across_the_2026_spring_festival_and_its_make_up_saturdays():
    # Spring Festival 2026: 15-23 Feb off (weekdays 16-20 and 23 listed); Sat 14 and Sat 28 Feb are worked.
    # From Thu 12 Feb: Fri 13 (1), Sat 14 (2), 15-23 off, Tue 24 (3), Wed 25 (4), Thu 26 (5), Fri 27 (6),
    # Sat 28 (7), Mon 2 Mar (8).
    assert CHINA.add_working_days(date(2026, 2, 12), 5) == date(2026, 2, 26)
    assert CHINA.add_working_days(date(2026, 2, 12), 7) == date(2026, 2, 28)
    assert CHINA.add_working_days(date(2026, 2, 12), 8) == date(2026, 3, 2)


@pytest.mark.req("WF-05")
def test_chinesecalendar_and_holidays_agree_on_every_day_of_2020_to_2026():
    assert cross_check_with_holidays(2020, 2026) == []


@pytest.mark.req("WF-05")
def test_the_only_disagreement_since_2004_is_the_known_error_of_chinesecalendar():
    # The 2006 notice (国办发明电〔2005〕35号) says "12月31日（星期六）上班": Sat 31 Dec 2005 was a working day.
    # holidays has it right, chinesecalendar 1.11.0 marks it as a rest day. Any new difference fails here.
    assert cross_check_with_holidays(2004, 2026) == [
        "2005-12-31 (Sat): chinesecalendar rests, holidays works (no holiday)",
    ]


@pytest.mark.req("WF-05")
def test_a_year_beyond_chinesecalendar_is_provisional_with_its_statutory_holidays():
    status = china_year_status(2025, 2027)
    assert status == {2025: YearStatus.official, 2026: YearStatus.official, 2027: YearStatus.provisional}
    days = {d.day: d for d in china_days(2027, 2027)}
    # The fixed dates of the law (New Year's Day, Labour Day, National Day) and the lunar ones are days off,
    # named provisional; no 调休 working day is guessed (only the State Council's notice sets those).
    for day in (date(2027, 1, 1), date(2027, 2, 5), date(2027, 4, 5), date(2027, 6, 9), date(2027, 9, 15),
                date(2027, 10, 1), date(2027, 10, 4), date(2027, 10, 5)):
        assert days[day].kind is DayKind.holiday and days[day].name.endswith("(provisional)"), day
    assert all(d.kind is DayKind.holiday and d.day.weekday() < 5 for d in days.values())
    assert CHINA.is_provisional(date(2027, 10, 1)) and not CHINA.is_provisional(date(2026, 10, 1))
    assert not CHINA.is_working_day(date(2027, 1, 1))
    # 25 working days from Thu 10 Dec 2026 end in January 2027, whose notice is not out yet: New Year's Day
    # is off all the same, and the date is an estimate and flagged as such.
    assert CHINA.deadline(date(2026, 12, 10), 25) == Deadline(date(2027, 1, 15), provisional=True)
    assert CHINA.deadline(date(2026, 6, 1), 25).provisional is False


@pytest.mark.req("WF-05")
@given(seeded_dates, st.integers(min_value=1, max_value=60))
def test_the_seeded_calendar_obeys_the_laws(start, n):
    due = CHINA.add_working_days(start, n)
    assert due > start and CHINA.is_working_day(due)
    assert CHINA.working_days_between(start, due) == n
    assert CHINA.working_days_between(start, due - timedelta(days=1)) == n - 1


@pytest.mark.req("WF-05")
def test_the_seed_lists_weekday_holidays_and_weekend_working_days_only():
    assert CHINA_DAYS == sorted(CHINA_DAYS, key=lambda d: d.day)
    for entry in CHINA_DAYS:
        weekend = entry.day.weekday() >= 5
        assert entry.kind is (DayKind.adjusted_workday if weekend else DayKind.holiday), entry
        assert entry.name and len(entry.name) <= 100


@pytest.mark.req("WF-05")
def test_us_federal_holidays_are_listed_on_the_day_they_are_observed():
    days = {d.day: d for d in us_federal_days(2021, 2022)}
    assert days[date(2021, 7, 5)] == CalendarDay(date(2021, 7, 5), DayKind.holiday, "Independence Day (observed)")
    assert date(2021, 7, 4) not in days  # the Sunday itself is a weekend day anyway
    # New Year's Day 2022 was a Saturday: observed on Fri 31 Dec 2021.
    assert days[date(2021, 12, 31)].name == "New Year's Day (observed)"
    assert days[date(2022, 11, 24)].name == "Thanksgiving Day"
    assert all(d.weekday() < 5 for d in days)
    assert date(2021, 12, 31) in {d.day for d in us_federal_days(2021, 2021)}
    assert date(2021, 12, 31) not in {d.day for d in us_federal_days(2022, 2022)}
    us = WorkingCalendar(us_federal_days(2021, 2022), {2021: YearStatus.official, 2022: YearStatus.official})
    assert us.add_working_days(date(2021, 12, 30), 1) == date(2022, 1, 3)

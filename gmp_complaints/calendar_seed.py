"""Seed data for working-day calendars from well-kept packages: ``chinesecalendar`` for mainland China
(cross-checked against ``holidays``), ``holidays`` for US federal holidays."""
from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import holidays

from gmp_complaints.domain.calendar import CalendarDay, DayKind, YearStatus


def _days_of(year: int):
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


def china_days(first_year: int, last_year: int) -> list[CalendarDay]:
    """Every day that differs from a plain Monday–Friday week, for the years chinesecalendar covers."""
    result = []
    for year in range(first_year, last_year + 1):
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            continue  # not published yet: the year stays provisional and plain weeks apply
        for day in _days_of(year):
            working = chinese_calendar.is_workday(day)
            weekend = day.weekday() >= 5
            _, name = chinese_calendar.get_holiday_detail(day)
            if weekend and working:
                result.append(CalendarDay(day, DayKind.adjusted_workday, f"{name or 'Working day'} (调休)"))
            elif not weekend and not working:
                result.append(CalendarDay(day, DayKind.holiday, name or "Holiday"))
    return result


def china_year_status(first_year: int, last_year: int) -> dict[int, YearStatus]:
    status = {}
    for year in range(first_year, last_year + 1):
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
            status[year] = YearStatus.official
        except NotImplementedError:
            status[year] = YearStatus.provisional
    return status


def cross_check_with_holidays(first_year: int, last_year: int) -> list[str]:
    """Days on which chinesecalendar and the holidays package disagree about working or not."""
    disagreements = []
    for year in range(first_year, last_year + 1):
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            continue
        other = holidays.China(years=year)
        for day in _days_of(year):
            ours = chinese_calendar.is_workday(day)
            theirs = other.is_working_day(day)
            if ours != theirs:
                disagreements.append(f"{day.isoformat()}: chinesecalendar {'works' if ours else 'rests'}, "
                                     f"holidays {'works' if theirs else 'rests'}")
    return disagreements


def us_federal_days(first_year: int, last_year: int) -> list[CalendarDay]:
    """US federal holidays as observed (weekend holidays move to Friday or Monday)."""
    observed = holidays.US(years=range(first_year, last_year + 1), observed=True)
    return [CalendarDay(day, DayKind.holiday, name) for day, name in sorted(observed.items()) if day.weekday() < 5]

"""Seed data for working-day calendars from well-kept packages: ``chinesecalendar`` for mainland China
(cross-checked against ``holidays``), ``holidays`` for US federal holidays.

Only the days that differ from the plain Monday–Friday week are produced, in the shape the calendar table
stores (``gmp_complaints.domain.calendar.CalendarDay``).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import chinese_calendar
import holidays

from gmp_complaints.domain.calendar import CalendarDay, DayKind, YearStatus


def _days_of(year: int) -> Iterator[date]:
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


def _china_covers(year: int) -> bool:
    # chinesecalendar refuses years it has no notice for, so an unpublished year can never pass as official.
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _china_name(english: str | None, adjusted: bool) -> str:
    """'国庆节 National Day' from chinesecalendar's English holiday name, with 调休 for a make-up working day."""
    if english is None:
        return "调休 Adjusted working day" if adjusted else "休息日 Day off"
    chinese = chinese_calendar.Holiday(english).chinese
    return f"{chinese}调休 {english} (adjusted working day)" if adjusted else f"{chinese} {english}"


def china_days(first_year: int, last_year: int) -> list[CalendarDay]:
    """Every day of mainland China's calendar that differs from a plain Monday–Friday week.

    A non-working Monday–Friday is a ``holiday`` (statutory days and the days off they are swapped to alike); a
    working Saturday or Sunday is an ``adjusted_workday`` (调休). Holidays that fall on a weekend are not listed:
    the weekend rule already makes them days off. A year chinesecalendar does not cover (the State Council's
    notice is not out) gets the statutory holidays the law fixes, as ``holidays`` computes them (lunar dates
    included, a holiday on a weekend observed on a weekday), named provisional: no 调休 working days, which only
    the notice sets; ``china_year_status`` marks the year provisional until the notice is loaded.
    """
    result = []
    for year in range(first_year, last_year + 1):
        if not _china_covers(year):
            result.extend(_provisional_china_days(year))
            continue
        for day in _days_of(year):
            working = chinese_calendar.is_workday(day)
            weekend = day.weekday() >= 5
            if weekend == working:  # a working weekend day, or a weekday off
                _, name = chinese_calendar.get_holiday_detail(day)
                kind = DayKind.adjusted_workday if working else DayKind.holiday
                result.append(CalendarDay(day, kind, _china_name(name, adjusted=working)))
    return result


def _provisional_china_days(year: int) -> list[CalendarDay]:
    statutory = holidays.China(years=year)
    return [CalendarDay(day, DayKind.holiday, f"{name} (provisional)") for day, name in sorted(statutory.items())
            if day.year == year and day.weekday() < 5]


def china_year_status(first_year: int, last_year: int) -> dict[int, YearStatus]:
    """Official for each year chinesecalendar has the State Council notice for, provisional otherwise."""
    return {year: YearStatus.official if _china_covers(year) else YearStatus.provisional
            for year in range(first_year, last_year + 1)}


def cross_check_with_holidays(first_year: int, last_year: int) -> list[str]:
    """Every day on which chinesecalendar and the ``holidays`` package disagree about working or not.

    ``holidays.China`` models 调休 too: its substituted days off are holidays and the weekend days they were
    taken from are in ``weekend_workdays``, which ``is_working_day`` consults. Years chinesecalendar does not
    cover are skipped: ``holidays`` would only extrapolate them from rules (no make-up days), so comparing them
    proves nothing.
    """
    other = holidays.China(years=range(first_year, last_year + 1))
    disagreements = []
    for year in range(first_year, last_year + 1):
        if not _china_covers(year):
            continue
        for day in _days_of(year):
            ours = chinese_calendar.is_workday(day)
            theirs = other.is_working_day(day)
            if ours != theirs:
                disagreements.append(f"{day.isoformat()} ({day.strftime('%a')}): "
                                     f"chinesecalendar {'works' if ours else 'rests'}, "
                                     f"holidays {'works' if theirs else 'rests'} ({other.get(day) or 'no holiday'})")
    return disagreements


def us_federal_days(first_year: int, last_year: int) -> list[CalendarDay]:
    """US federal holidays as observed: a holiday on a Saturday is off on the Friday, on a Sunday on the Monday.

    The weekend date itself is not listed (the weekend rule covers it). An observed day can fall into the
    previous year (New Year's Day on a Saturday is off on 31 December); only days inside the requested years
    are returned.
    """
    observed = holidays.US(years=range(first_year, last_year + 1), observed=True)
    return [CalendarDay(day, DayKind.holiday, name) for day, name in sorted(observed.items())
            if day.weekday() < 5 and first_year <= day.year <= last_year]

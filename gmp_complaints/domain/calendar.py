"""Working days of a site calendar (DESIGN §2 Timers; WF-05): weekends, holidays and adjusted working
days (调休: a Saturday or Sunday that is a working day), each year official or provisional.

Plain data in, dates out: the calendar rows come from the database, the rules live here.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Iterable


class YearStatus(StrEnum):
    official = "official"
    provisional = "provisional"


class DayKind(StrEnum):
    #: a day off that would otherwise be a working day
    holiday = "holiday"
    #: a weekend day that is a working day (调休)
    adjusted_workday = "adjusted_workday"


@dataclass(frozen=True)
class CalendarDay:
    day: date
    kind: DayKind
    name: str


@dataclass(frozen=True)
class Deadline:
    due_on: date
    #: the period runs through a year whose calendar is not yet the official notice
    provisional: bool


class WorkingCalendar:
    def __init__(self, days: Iterable[CalendarDay], year_status: dict[int, YearStatus],
                 weekend: frozenset[int] = frozenset({5, 6})):
        self.weekend = weekend
        self.year_status = dict(year_status)
        self.holidays: set[date] = set()
        self.adjusted_workdays: set[date] = set()
        for entry in days:
            if entry.day in self.holidays or entry.day in self.adjusted_workdays:
                raise ValueError(f"{entry.day.isoformat()} is listed twice")
            if entry.kind is DayKind.adjusted_workday:
                if entry.day.weekday() not in weekend:
                    raise ValueError(f"{entry.day.isoformat()} is an adjusted working day but not a weekend day")
                self.adjusted_workdays.add(entry.day)
            else:
                self.holidays.add(entry.day)

    def is_working_day(self, day: date) -> bool:
        if day in self.adjusted_workdays:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day strictly after ``start`` (n = 0 gives ``start``; negative n is refused:
        time limits run forward)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day, counted = start, 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when end is not after start."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def is_provisional(self, day: date) -> bool:
        return self.year_status.get(day.year) is not YearStatus.official

    def deadline(self, start: date, n: int) -> Deadline:
        due_on = self.add_working_days(start, n)
        first = start + timedelta(days=1) if n else start
        provisional = any(self.year_status.get(year) is not YearStatus.official
                          for year in range(first.year, due_on.year + 1))
        return Deadline(due_on, provisional)


class CalendarImportError(ValueError):
    """A notice file with bad rows; ``problems`` lists every one as (line number, message)."""

    def __init__(self, problems: list[tuple[int, str]]):
        super().__init__(f"{len(problems)} bad row(s)")
        self.problems = problems


def parse_notice_csv(text: str) -> tuple[list[CalendarDay], dict[int, YearStatus]]:
    """The official annual notice as CSV ``date,kind,name``; every year in it becomes official.

    All bad rows are reported at once so the person importing can fix the file in one go.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows = list(reader)
    problems: list[tuple[int, str]] = []
    if not rows or [cell.strip().lower() for cell in rows[0]] != ["date", "kind", "name"]:
        raise CalendarImportError([(1, "the first line must be: date,kind,name")])
    days: list[CalendarDay] = []
    seen: set[date] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            problems.append((number, "expected 3 columns: date,kind,name"))
            continue
        raw_day, raw_kind, name = (cell.strip() for cell in row)
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            problems.append((number, f"not a date (YYYY-MM-DD): {raw_day!r}"))
            continue
        try:
            kind = DayKind(raw_kind)
        except ValueError:
            problems.append((number, f"kind must be holiday or adjusted_workday, not {raw_kind!r}"))
            continue
        if kind is DayKind.adjusted_workday and day.weekday() < 5:
            problems.append((number, f"{raw_day} is a weekday; an adjusted working day is a Saturday or Sunday"))
            continue
        if day in seen:
            problems.append((number, f"{raw_day} appears twice"))
            continue
        if not name:
            problems.append((number, "the name is empty"))
            continue
        seen.add(day)
        days.append(CalendarDay(day, kind, name))
    if problems:
        raise CalendarImportError(problems)
    return days, {d.day.year: YearStatus.official for d in days}

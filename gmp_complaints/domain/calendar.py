"""Working days of a site calendar (DESIGN §2 Timers; WF-05, WF-06): weekends, holidays and adjusted working
days (调休: a Saturday or Sunday that is a working day), each year official or provisional.

Plain data in, dates out: the calendar rows come from the database, the rules live here. Only the days that
differ from the plain week are listed, so a year nobody has loaded yet is simply a plain week (and provisional).
"""
from __future__ import annotations

import csv
import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Iterable

from gmp_complaints.domain.plausibility import EARLIEST_DATE, LATEST_DATE, character_problem, date_span_problem

#: Saturday and Sunday (Monday is 0, as in ``date.weekday()``).
DEFAULT_WEEKEND: frozenset[int] = frozenset({5, 6})

#: The longest day name the calendar table stores (``calendar_days.name``).
NAME_MAX_LENGTH = 100

_ONE_DAY = timedelta(days=1)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class YearStatus(StrEnum):
    #: the year's days were loaded from the published annual notice
    official = "official"
    #: not published yet (or not verified): deadlines in it may still move
    provisional = "provisional"


class DayKind(StrEnum):
    #: a day off; listing one on a weekend day is allowed and changes nothing
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
    """Working-day arithmetic over a weekend rule plus listed holidays and adjusted working days.

    Counting uses sorted lists and ``bisect``: the cost of a query depends on the number of listed days
    (logarithmically), not on the length of the period, so deadlines for many complaints stay cheap.
    """

    def __init__(self, days: Iterable[CalendarDay], year_status: dict[int, YearStatus],
                 weekend: frozenset[int] = DEFAULT_WEEKEND):
        """Check and index the listed days.

        Raises ``ValueError`` (naming the date) when a day is listed twice, in particular as both a holiday and
        an adjusted working day, or when an adjusted working day is not a weekend day; also for a weekend rule
        that is not a proper subset of the week.
        """
        weekend = frozenset(weekend)
        if not weekend <= set(range(7)) or len(weekend) == 7:
            raise ValueError(f"the weekend must be some of the weekdays 0-6 and not all of them, not {sorted(weekend)}")
        self.weekend = weekend
        self.year_status = dict(year_status)
        self.holidays: set[date] = set()
        self.adjusted_workdays: set[date] = set()
        for entry in days:
            kind = DayKind(entry.kind)
            if entry.day in self.holidays or entry.day in self.adjusted_workdays:
                other = DayKind.holiday if entry.day in self.holidays else DayKind.adjusted_workday
                detail = "" if other is kind else f": as both {DayKind.holiday} and {DayKind.adjusted_workday}"
                raise ValueError(f"{entry.day.isoformat()} is listed twice{detail}")
            if kind is DayKind.adjusted_workday:
                if entry.day.weekday() not in weekend:
                    raise ValueError(f"{entry.day.isoformat()} is an adjusted working day but not a weekend day")
                self.adjusted_workdays.add(entry.day)
            else:
                self.holidays.add(entry.day)
        # Only holidays on weekdays change a count; weekend holidays are off anyway.
        self._weekday_holidays = sorted(d for d in self.holidays if d.weekday() not in weekend)
        self._adjusted_sorted = sorted(self.adjusted_workdays)
        self._workdays_per_week = 7 - len(weekend)
        # Plain-week tables, by the weekday w of the day counted from (adding whole weeks keeps the weekday):
        # _plain_in_next[w][r] = weekdays among the r days after it (r < 7);
        # _days_to_nth[w][k] = how many days after it the k-th weekday comes (1 <= k <= workdays per week).
        self._plain_in_next = [[sum((w + i) % 7 not in weekend for i in range(1, r + 1)) for r in range(7)]
                               for w in range(7)]
        self._days_to_nth = [[0] + [i for i in range(1, 8) if (w + i) % 7 not in weekend] for w in range(7)]

    def is_working_day(self, day: date) -> bool:
        """True for a weekday that is not a holiday, and for an adjusted working day."""
        if day in self.adjusted_workdays:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days in (start, end]; 0 when end is not after start."""
        if end <= start:
            return 0
        removed = bisect_right(self._weekday_holidays, end) - bisect_right(self._weekday_holidays, start)
        added = bisect_right(self._adjusted_sorted, end) - bisect_right(self._adjusted_sorted, start)
        return self._plain_between(start, end) - removed + added

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day strictly after ``start``; ``start`` itself for n = 0.

        Raises ``ValueError`` for a negative n: time limits only run forward, and "n working days before" is a
        different question (is ``start`` itself counted?) that nothing in the SOP asks.
        """
        if n < 0:
            raise ValueError(f"the number of working days must not be negative, not {n}")
        if n == 0:
            return start
        # Jump by the plain week, then correct with the exact count: holidays push the jump further,
        # adjusted working days (or landing on a day off) mean walking back a few days.
        low, needed = start, n
        while True:
            candidate = self._plain_add(low, needed)
            counted = self.working_days_between(low, candidate)
            if counted < needed:
                low, needed = candidate, needed - counted
                continue
            # (low, candidate] holds `counted` >= `needed` working days: the answer is the working day at
            # which the count reaches `needed`, found by stepping back over the surplus.
            while not (counted == needed and self.is_working_day(candidate)):
                counted -= self.is_working_day(candidate)
                candidate -= _ONE_DAY
            return candidate

    def is_provisional(self, day: date) -> bool:
        """True when ``day``'s year is not marked official (a year with no status at all included)."""
        return self.year_status.get(day.year) is not YearStatus.official

    def deadline(self, start: date, n: int) -> Deadline:
        """``add_working_days(start, n)``, provisional when any year from the day after ``start`` to the due
        date is not official (a later notice could move the date). For n = 0 the year of ``start`` decides."""
        due_on = self.add_working_days(start, n)
        first = start + _ONE_DAY if n else start
        provisional = any(self.year_status.get(year) is not YearStatus.official
                          for year in range(first.year, due_on.year + 1))
        return Deadline(due_on, provisional)

    def _plain_between(self, start: date, end: date) -> int:
        """Weekdays (by the weekend rule alone) in (start, end], for end > start."""
        weeks, rest = divmod((end - start).days, 7)
        return weeks * self._workdays_per_week + self._plain_in_next[start.weekday()][rest]

    def _plain_add(self, start: date, n: int) -> date:
        """The n-th weekday (by the weekend rule alone) strictly after ``start``, for n >= 1."""
        weeks, rest = divmod(n, self._workdays_per_week)
        if rest == 0:
            weeks, rest = weeks - 1, self._workdays_per_week
        return start + timedelta(days=7 * weeks + self._days_to_nth[start.weekday()][rest])


@dataclass(frozen=True)
class Term:
    """What a working-day due date is counted from: the n-th working day after ``start_on``. A date keeps the
    calendar it was calculated on only for as long as its term stays the same (a new reply is a new term)."""

    start_on: date
    working_days: int


@dataclass(frozen=True)
class KeptDate:
    """A due date as it was stored when it was calculated (WF-05): a later calendar change does not move it;
    only an explicit, logged recalculation does."""

    term: Term
    due_on: date
    provisional: bool


@dataclass(frozen=True)
class Recalculation:
    """A kept date that the calendar now in force would put elsewhere."""

    kind: str
    term: Term
    kept_on: date
    #: the date on the calendar in force
    recalculated: Deadline


def due_date(term: Term, kept: KeptDate | None, calendar: WorkingCalendar) -> Deadline:
    """The due date of ``term``: the kept date where one was kept for this very term, otherwise the date on
    ``calendar``. A kept date that the calendar confirms takes the calendar's provisional status (a year made
    official without moving the date is no longer provisional)."""
    calculated = calendar.deadline(term.start_on, term.working_days)
    if kept is None or kept.term != term or kept.due_on == calculated.due_on:
        return calculated
    return Deadline(kept.due_on, kept.provisional)


def dates_to_keep(terms: dict[str, Term], kept: dict[str, KeptDate],
                  calendar: WorkingCalendar) -> dict[str, KeptDate]:
    """Just before ``calendar`` changes: each due date not yet kept for its current term, as ``calendar``
    gives it now (what was shown and acted on until then). A date already kept stays as it was kept."""
    result = {}
    for kind, term in terms.items():
        mine = kept.get(kind)
        if mine is not None and mine.term == term:
            continue
        deadline = calendar.deadline(term.start_on, term.working_days)
        result[kind] = KeptDate(term, deadline.due_on, deadline.provisional)
    return result


def recalculations(terms: dict[str, Term], kept: dict[str, KeptDate],
                   calendar: WorkingCalendar) -> list[Recalculation]:
    """The kept dates of the current terms that ``calendar`` would now put on another day: calculated on an
    earlier calendar, waiting for an explicit recalculation."""
    result = []
    for kind, term in terms.items():
        mine = kept.get(kind)
        if mine is None or mine.term != term:
            continue
        deadline = calendar.deadline(term.start_on, term.working_days)
        if deadline.due_on != mine.due_on:
            result.append(Recalculation(kind, term, mine.due_on, deadline))
    return result


class CalendarImportError(ValueError):
    """A notice file with bad rows; ``problems`` lists every one as (line number, message)."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        listed = "; ".join(f"line {line}: {message}" for line, message in problems)
        super().__init__(f"{len(problems)} bad row(s): {listed}")


def parse_notice_csv(text: str,
                     weekend: frozenset[int] = DEFAULT_WEEKEND) -> tuple[list[CalendarDay], dict[int, YearStatus]]:
    """Read the official annual notice, typed in as CSV with the header ``date,kind,name``.

    ``kind`` is ``holiday`` or ``adjusted_workday``, ``date`` is YYYY-MM-DD. Every year that appears in the file
    becomes official. Blank lines are skipped. Raises ``CalendarImportError`` listing every bad row with its line
    number, so the person importing can fix the whole file in one go.
    """
    # One CSV record per physical line keeps line numbers exact (a notice has no multi-line names).
    lines = text.removeprefix("\ufeff").splitlines()  # spreadsheet exports start with a BOM
    header = [cell.strip().lower() for cell in next(csv.reader(lines[:1]), [])]
    if header != ["date", "kind", "name"]:
        raise CalendarImportError([(1, "the first line must be: date,kind,name")])
    problems: list[tuple[int, str]] = []
    days: list[CalendarDay] = []
    first_line_of: dict[date, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        row = next(csv.reader([line]))
        if len(row) != 3:
            problems.append((number, f"expected 3 columns (date,kind,name), found {len(row)}"))
            continue
        raw_day, raw_kind, name = (cell.strip() for cell in row)
        row_problems = []
        day: date | None = None
        # fromisoformat alone would also take 20261001 or 2026-W40-4; the notice format is YYYY-MM-DD.
        if _ISO_DATE.fullmatch(raw_day):
            try:
                day = date.fromisoformat(raw_day)
            except ValueError:  # the right shape but no such day, e.g. 2027-02-30
                day = None
        if day is not None and date_span_problem(day) is not None:
            row_problems.append(f"{raw_day} is outside the years a calendar covers "
                                f"({EARLIEST_DATE.year}–{LATEST_DATE.year})")
            day = None
        elif day is None:
            row_problems.append(f"not a date in the form YYYY-MM-DD: {raw_day!r}")
        kind = next((k for k in DayKind if k.value == raw_kind), None)
        if kind is None:
            row_problems.append(f"kind must be {DayKind.holiday} or {DayKind.adjusted_workday}, not {raw_kind!r}")
        if not name:
            row_problems.append("the name is empty")
        elif character_problem(name) is not None:
            row_problems.append(f"the name holds a character text may not hold: {name!r}")
        elif len(name) > NAME_MAX_LENGTH:
            row_problems.append(f"the name is longer than {NAME_MAX_LENGTH} characters")
        if day is not None and kind is DayKind.adjusted_workday and day.weekday() not in weekend:
            row_problems.append(f"{raw_day} is a {day.strftime('%A')}; an adjusted working day is a weekend day")
        if day is not None and day in first_line_of:
            row_problems.append(f"{raw_day} is already listed on line {first_line_of[day]}")
        if row_problems or day is None or kind is None:
            problems.append((number, "; ".join(row_problems)))
            continue
        first_line_of[day] = number
        days.append(CalendarDay(day, kind, name))
    if problems:
        raise CalendarImportError(problems)
    return days, {year: YearStatus.official for year in sorted({d.day.year for d in days})}

"""Working-day calendars in the database: seeded for mainland China, loaded for deadline arithmetic."""
from __future__ import annotations

import sqlalchemy as sa

from gmp_complaints.domain.calendar import CalendarDay, DayKind, WorkingCalendar, YearStatus
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.models import CalendarDayRow, CalendarYearRow
from gmp_complaints.uow import UnitOfWork

SITE_CALENDAR = "CN"


def load_calendar(session, code: str = SITE_CALENDAR) -> WorkingCalendar:
    days = [CalendarDay(row.day, DayKind(row.kind), row.name)
            for row in session.scalars(sa.select(CalendarDayRow).where(CalendarDayRow.calendar_code == code))]
    years = {row.year: YearStatus(row.status)
             for row in session.scalars(sa.select(CalendarYearRow).where(CalendarYearRow.calendar_code == code))}
    return WorkingCalendar(days, years)


def _listing(session, code: str) -> tuple[list[str], list[str]]:
    days = sorted(f"{r.day.isoformat()}:{r.kind}" for r in session.scalars(
        sa.select(CalendarDayRow).where(CalendarDayRow.calendar_code == code)))
    years = sorted(f"{r.year}:{r.status}" for r in session.scalars(
        sa.select(CalendarYearRow).where(CalendarYearRow.calendar_code == code)))
    return days, years


def seed_china_calendar(uow: UnitOfWork, first_year: int = 2004, last_year: int | None = None) -> int:
    """Fill the site calendar from ``chinesecalendar`` when it is empty (``gmp init``). Idempotent."""
    from gmp_complaints.calendar_seed import china_days, china_year_status
    from gmp_complaints.clock import business_today

    last_year = last_year or business_today(uow.settings).year + 1
    with uow:
        session = uow.session
        if session.scalar(sa.select(sa.func.count()).select_from(CalendarDayRow)
                          .where(CalendarDayRow.calendar_code == SITE_CALENDAR)):
            return 0
        days = china_days(first_year, last_year)
        for day in days:
            session.add(CalendarDayRow(calendar_code=SITE_CALENDAR, day=day.day, kind=day.kind.value, name=day.name))
        for year, status in china_year_status(first_year, last_year).items():
            session.add(CalendarYearRow(calendar_code=SITE_CALENDAR, year=year, status=status.value))
        session.flush()
        listed_days, listed_years = _listing(session, SITE_CALENDAR)
        uow.record(DomainEvent("calendar.seeded", "calendar", SITE_CALENDAR,
                               {"days": [None, listed_days], "years": [None, listed_years],
                                "source": [None, "chinesecalendar"]}))
        uow.commit()
        return len(days)

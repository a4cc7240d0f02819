"""Reading a working-day calendar from the database (the rules are ``domain.calendar``). Kept apart from
``calendars``, which changes calendars: what reads deadlines imports this module, and the calendar changes can
then keep the due dates already calculated (``due_dates``) without an import circle."""
from __future__ import annotations

import sqlalchemy as sa

from gmp_complaints.domain.calendar import CalendarDay, DayKind, WorkingCalendar, YearStatus
from gmp_complaints.models import CalendarDayRow, CalendarYearRow

#: the site calendar (mainland China): complaint time limits and SOP 5.8's timers count its working days
SITE_CALENDAR = "CN"
#: the US federal calendar: field alerts are due in its working days
US_CALENDAR = "US"


def load_calendar(session, code: str = SITE_CALENDAR) -> WorkingCalendar:
    days = [CalendarDay(row.day, DayKind(row.kind), row.name)
            for row in session.scalars(sa.select(CalendarDayRow).where(CalendarDayRow.calendar_code == code))]
    years = {row.year: YearStatus(row.status)
             for row in session.scalars(sa.select(CalendarYearRow).where(CalendarYearRow.calendar_code == code))}
    return WorkingCalendar(days, years)

"""Working-day calendars in the database: seeded for mainland China and the US, extended, loaded from the
official notice. Every change keeps the due dates already calculated on the calendar as it was (WF-05,
``due_dates``): a calendar change never silently moves them; it lists them for an explicit recalculation."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from gmp_complaints.domain.calendar import YearStatus
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.models import CalendarDayRow, CalendarYearRow
from gmp_complaints.services.calendar_store import SITE_CALENDAR, US_CALENDAR, load_calendar
from gmp_complaints.uow import UnitOfWork

__all__ = ["SITE_CALENDAR", "US_CALENDAR", "load_calendar", "seed_china_calendar", "seed_us_calendar",
           "extend_china_calendar", "load_official_notice", "calendar_overview"]


def _listing(session, code: str) -> tuple[list[str], list[str]]:
    days = sorted(f"{r.day.isoformat()}:{r.kind}" for r in session.scalars(
        sa.select(CalendarDayRow).where(CalendarDayRow.calendar_code == code)))
    years = sorted(f"{r.year}:{r.status}" for r in session.scalars(
        sa.select(CalendarYearRow).where(CalendarYearRow.calendar_code == code)))
    return days, years


def seed_china_calendar(uow: UnitOfWork, first_year: int = 2004, last_year: int | None = None) -> int:
    """Fill the site calendar from ``chinesecalendar`` when it is empty (``gmp init``). Idempotent."""
    from gmp_complaints.calendar_seed import china_days, china_year_status

    return _seed(uow, SITE_CALENDAR, first_year, last_year, china_days, china_year_status, source="chinesecalendar")


def seed_us_calendar(uow: UnitOfWork, first_year: int = 2004, last_year: int | None = None) -> int:
    """Fill the US federal calendar (field alerts are due in US working days, 21 CFR 314.81(b)(1)) from
    ``holidays`` when it is empty (``gmp init``). Idempotent. Federal holidays are set by law, so every
    seeded year is official."""
    from gmp_complaints.calendar_seed import us_federal_days

    def official(first: int, last: int) -> dict[int, YearStatus]:
        return {year: YearStatus.official for year in range(first, last + 1)}

    return _seed(uow, US_CALENDAR, first_year, last_year, us_federal_days, official,
                 source="holidays (US federal, observed)")


def extend_china_calendar(uow: UnitOfWork) -> int:
    """Keep the site calendar ahead of time (``gmp init`` and ``gmp tick``): the years up to next year are
    listed, and a provisional year that lists no day yet gets its provisional statutory holidays (an
    installation seeded before they were). One audited change when anything is added; returns the days
    added. Years loaded from an official notice are never touched."""
    from gmp_complaints.calendar_seed import china_days, china_year_status
    from gmp_complaints.clock import business_today
    from gmp_complaints.services.due_dates import count_on_earlier_calendar, keep_due_dates

    last_year = business_today(uow.settings).year + 1
    with uow:
        session = uow.session
        # Two ticks at once (issue 19 drill): the second waits here for the first, and the statements below then
        # see what the first added instead of adding the same year again.
        session.execute(sa.select(CalendarYearRow.year).where(CalendarYearRow.calendar_code == SITE_CALENDAR)
                        .with_for_update()).all()
        years = {row.year: row for row in session.scalars(sa.select(CalendarYearRow).where(
            CalendarYearRow.calendar_code == SITE_CALENDAR).execution_options(populate_existing=True))}
        if not years:
            return 0  # not seeded yet: seed_china_calendar does it all
        listed = {day.year for day in session.scalars(sa.select(CalendarDayRow.day).where(
            CalendarDayRow.calendar_code == SITE_CALENDAR))}
        missing_years = range(max(years) + 1, last_year + 1)
        bare = [year for year, row in years.items() if row.status == YearStatus.provisional.value and year not in listed]
        fill = sorted(set(bare) | set(missing_years))
        if not fill:
            return 0
        keep_due_dates(uow, SITE_CALENDAR)  # WF-05: the dates calculated so far do not move with the calendar
        before_days, before_years = _listing(session, SITE_CALENDAR)
        added = [day for year in fill for day in china_days(year, year)]
        for day in added:
            session.add(CalendarDayRow(calendar_code=SITE_CALENDAR, day=day.day, kind=day.kind.value, name=day.name[:100]))
        for year in missing_years:
            status = china_year_status(year, year)[year]
            session.add(CalendarYearRow(calendar_code=SITE_CALENDAR, year=year, status=status.value))
        session.flush()
        after_days, after_years = _listing(session, SITE_CALENDAR)
        uow.record(DomainEvent("calendar.extended", "calendar", SITE_CALENDAR, {
            "days": [before_days, after_days], "years": [before_years, after_years],
            "source": [None, "chinesecalendar; holidays (provisional statutory holidays)"],
            "complaints_on_earlier_calendar": [None, count_on_earlier_calendar(uow)]}))
        uow.commit()
        return len(added)


def _seed(uow: UnitOfWork, code: str, first_year: int, last_year: int | None, days_of, status_of, *,
          source: str) -> int:
    """One calendar's days and year statuses, once, as one audited act (the source named)."""
    from gmp_complaints.clock import business_today
    from gmp_complaints.services.due_dates import count_on_earlier_calendar, keep_due_dates

    last_year = last_year or business_today(uow.settings).year + 1
    with uow:
        session = uow.session
        if session.scalar(sa.select(sa.func.count()).select_from(CalendarYearRow)
                          .where(CalendarYearRow.calendar_code == code)):
            return 0
        keep_due_dates(uow, code)  # WF-05: dates calculated while the calendar was empty do not move either
        days = days_of(first_year, last_year)
        for day in days:
            session.add(CalendarDayRow(calendar_code=code, day=day.day, kind=day.kind.value, name=day.name[:100]))
        for year, status in status_of(first_year, last_year).items():
            session.add(CalendarYearRow(calendar_code=code, year=year, status=status.value))
        session.flush()
        listed_days, listed_years = _listing(session, code)
        uow.record(DomainEvent("calendar.seeded", "calendar", code,
                               {"days": [None, listed_days], "years": [None, listed_years], "source": [None, source],
                                "complaints_on_earlier_calendar": [None, count_on_earlier_calendar(uow)]}))
        uow.commit()
        return len(days)


def _replace_years(uow: UnitOfWork, code: str, days, years: dict, *, action: str, actor_id: int | None,
                   reason: str, source: str, change_control_ref: str | None = None) -> None:
    """Replace the listed years' days with ``days`` and set their status, as one audited change (with the
    change-control reference it is made under, AT-10). The due dates calculated so far keep the calendar as it
    was (WF-05); how many complaints now have dates calculated on an earlier calendar is stated with it."""
    from gmp_complaints.services.due_dates import count_on_earlier_calendar, keep_due_dates

    with uow:
        session = uow.session
        keep_due_dates(uow, code)
        before_days, before_years = _listing(session, code)
        for year in years:
            for row in session.scalars(sa.select(CalendarDayRow).where(
                    CalendarDayRow.calendar_code == code,
                    CalendarDayRow.day >= date(year, 1, 1), CalendarDayRow.day <= date(year, 12, 31))):
                session.delete(row)
        session.flush()
        for day in days:
            session.add(CalendarDayRow(calendar_code=code, day=day.day, kind=day.kind.value, name=day.name[:100]))
        for year, status in years.items():
            row = session.get(CalendarYearRow, (code, year))
            if row is None:
                session.add(CalendarYearRow(calendar_code=code, year=year, status=status.value))
            else:
                row.status = status.value
        session.flush()
        after_days, after_years = _listing(session, code)
        uow.record(DomainEvent(action, "calendar", code,
                               {"days": [before_days, after_days], "years": [before_years, after_years],
                                "source": [None, source],
                                "complaints_on_earlier_calendar": [None, count_on_earlier_calendar(uow)]},
                               reason=reason.strip(), actor_id=actor_id,
                               change_control_ref=change_control_ref))
        uow.commit()


def load_official_notice(uow: UnitOfWork, *, csv_text: str, filename: str, actor_id: int, reason: str,
                         change_control_ref: str | None = None, code: str = SITE_CALENDAR) -> list[int]:
    """The annual notice (国务院办公厅关于部分节假日安排的通知) as CSV replaces its years, marked official: a
    configuration change with its reason and change-control reference (AT-10), checked before the file."""
    from gmp_complaints.domain.calendar import parse_notice_csv
    from gmp_complaints.services import schemas

    fields = schemas.load(schemas.CalendarNoticeLoad, {"reason": reason, "change_control_ref": change_control_ref})
    days, years = parse_notice_csv(csv_text)
    _replace_years(uow, code, days, years, action="calendar.notice_loaded", actor_id=actor_id,
                   reason=fields["reason"], source=f"notice {filename}",
                   change_control_ref=fields["change_control_ref"])
    return sorted(years)


def calendar_overview(uow: UnitOfWork, year: int, code: str = SITE_CALENDAR) -> dict:
    """A year's listed days, each year's status, and how many complaints still counting have due dates
    calculated on an earlier calendar (WF-05: QA recalculates them; the administrator sees only the count)."""
    from gmp_complaints.services.due_dates import count_on_earlier_calendar

    with uow:
        years = {r.year: r.status for r in uow.session.scalars(
            sa.select(CalendarYearRow).where(CalendarYearRow.calendar_code == code).order_by(CalendarYearRow.year))}
        days = uow.session.scalars(sa.select(CalendarDayRow).where(
            CalendarDayRow.calendar_code == code, CalendarDayRow.day >= date(year, 1, 1),
            CalendarDayRow.day <= date(year, 12, 31)).order_by(CalendarDayRow.day)).all()
        return {"code": code, "year": year, "years": years,
                "days": [{"day": d.day.isoformat(), "kind": d.kind, "name": d.name} for d in days],
                "complaints_on_earlier_calendar": count_on_earlier_calendar(uow)}

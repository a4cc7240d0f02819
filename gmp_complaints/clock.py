"""The one clock for business dates ("today" in the site time zone).

Audit and signature timestamps never come from here: they come from the database clock.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from gmp_complaints.config import Settings


def business_today(settings: Settings) -> date:
    if settings.today_override is not None:
        return settings.today_override
    return datetime.now(timezone.utc).astimezone(ZoneInfo(settings.site_timezone)).date()


def end_of_day(day: date, settings: Settings) -> datetime:
    """The last second of ``day`` in the site's time zone: when something due "on" a day is due."""
    return datetime.combine(day, time(23, 59, 59), ZoneInfo(settings.site_timezone))


def site_time_now(settings: Settings) -> str | None:
    """The time of day now in the site's time zone (HH:MM); None while "today" is pinned for tests (a
    pinned day has no "now" to compare a time with)."""
    if settings.today_override is not None:
        return None
    return datetime.now(timezone.utc).astimezone(ZoneInfo(settings.site_timezone)).strftime("%H:%M")

"""The one clock for business dates ("today" in the site time zone).

Audit and signature timestamps never come from here: they come from the database clock.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from gmp_complaints.config import Settings


def business_today(settings: Settings) -> date:
    if settings.today_override is not None:
        return settings.today_override
    return datetime.now(timezone.utc).astimezone(ZoneInfo(settings.site_timezone)).date()

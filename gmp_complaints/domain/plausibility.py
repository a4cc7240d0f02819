"""What an input may be at all, before any rule of the process weighs it (issue 19: no input may reach the
database in a form it cannot store, and no date may be implausible): the range of record ids, the span of dates,
the characters text may hold, and when a complaint can have been received. Plain values, no Flask, no database."""
from __future__ import annotations

import re
from datetime import date

from gmp_complaints.domain.errors import Msg

#: Record ids are 32-bit ``integer`` columns (PostgreSQL's limit; SQLite's are 64-bit): a bigger number names no
#: record and must never reach the database, where it overflows. The app's ``int`` URL converter has the same bound.
MAX_ID = 2**31 - 1

#: The span of any date a record carries. The complaint and recall numbers hold a two-digit year, which cannot tell
#: 1900 from 2000, so no date before 2000 is recorded; 2999 leaves room for expiry and due dates while refusing an
#: ERP's "9999-12-31" placeholder, whose arithmetic (expiry + 1 year) would overflow.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2999, 12, 31)

#: What text may not hold: C0 control characters other than tab, line feed and carriage return (PostgreSQL cannot
#: store NUL; the others break the XML, XLSX and PDF copies) and lone surrogates, which are not characters (they
#: have no UTF-8 form, so neither database can store them).
_FORBIDDEN_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def character_problem(value: str) -> Msg | None:
    """Why text cannot be kept as it is, naming its first forbidden character, or None."""
    found = _FORBIDDEN_CHARACTER.search(value)
    if found is None:
        return None
    code = f"U+{ord(found.group()):04X}"
    if "\ud800" <= found.group() <= "\udfff":
        return Msg("Contains %(code)s, half of a surrogate pair, which is not a character: send the text as "
                   "valid UTF-8.", code=code)
    return Msg("Contains the control character %(code)s, which text may not hold.", code=code)


def date_span_problem(value: date) -> Msg | None:
    """Why ``value`` is outside the span any record's date may take, or None."""
    if value < EARLIEST_DATE:
        return Msg("%(value)s is before %(earliest)s, the earliest date a record may carry.",
                   value=value.isoformat(), earliest=EARLIEST_DATE.isoformat())
    if value > LATEST_DATE:
        return Msg("%(value)s is after %(latest)s, the latest date a record may carry.",
                   value=value.isoformat(), latest=LATEST_DATE.isoformat())
    return None


def received_date_problem(received_on: date, *, today: date, earliest: date) -> Msg | None:
    """A complaint is received no earlier than the site's first records (``GMP_EARLIEST_RECEIVED_ON``) and never
    after today: an earlier date would be numbered and filed in a year's ledger it does not belong to."""
    if received_on < earliest:
        return Msg("%(value)s is before %(earliest)s, the earliest received date this site records.",
                   value=received_on.isoformat(), earliest=earliest.isoformat())
    if received_on > today:
        return Msg("The date cannot be in the future.")
    return None


def customer_due_problem(customer_due_on: date, *, received_on: date) -> Msg | None:
    """The customer's own deadline (SOP 4.4) cannot come before the complaint was received."""
    if customer_due_on < received_on:
        return Msg("The customer's deadline cannot be before the received date (%(received)s).",
                   received=received_on.isoformat())
    return None


def record_id_of(text: str | None) -> int | None:
    """The record id ``text`` writes (ASCII digits, 1 to ``MAX_ID``), or None: an audit event's entity id or a
    form's choice, which may name anything, is looked up only when it can name a record."""
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None

"""Checking request fields, one way for every service: each problem is collected under its field name,
so a request is refused once with all its errors (400), and nothing is stored."""
from __future__ import annotations

import re
from datetime import date

from gmp_complaints.domain.errors import Msg, ValidationError

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def kind_of(value) -> Msg:
    """What a JSON value is, in words, for a message that says which type was expected instead."""
    if isinstance(value, bool):
        return Msg("true or false")
    if isinstance(value, (int, float)):
        return Msg("a number")
    if isinstance(value, str):
        return Msg("text")
    if isinstance(value, list):
        return Msg("a list")
    if isinstance(value, dict):
        return Msg("an object")
    return Msg("null")


def text(errors: dict, data: dict, field: str, max_length: int, *, required: bool = True,
         collapse_spaces: bool = False) -> str | None:
    """Stripped text; ``collapse_spaces`` also folds inner runs of white space (names, codes)."""
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = [Msg("This field is required.")]
        return None
    if not isinstance(value, str):
        errors[field] = [Msg("Expected text, not %(kind)s.", kind=kind_of(value))]
        return None
    value = " ".join(value.split()) if collapse_spaces else value.strip()
    if len(value) > max_length:
        errors[field] = [Msg("At most %(count)s characters.", count=max_length)]
        return None
    return value


def day(errors: dict, data: dict, field: str, *, required: bool = True) -> date | None:
    value = data.get(field)
    if value in (None, ""):
        if required:
            errors[field] = [Msg("This field is required.")]
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        errors[field] = [Msg("Expected a date as text YYYY-MM-DD, not %(kind)s.", kind=kind_of(value))]
        return None
    if not _ISO_DATE.fullmatch(value.strip()):
        errors[field] = [Msg("Use the form YYYY-MM-DD.")]
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[field] = [Msg("%(value)s is not a date of the calendar.", value=value.strip())]
        return None


def boolean(errors: dict, data: dict, field: str, *, required: bool = True) -> bool | None:
    value = data.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, bool):
        errors[field] = [Msg("Expected true or false, not %(kind)s.", kind=kind_of(value))]
        return None
    return value


def choice(errors: dict, data: dict, field: str, enum):
    try:
        return enum(data.get(field))
    except ValueError:
        errors[field] = [Msg("Choose one of: %(choices)s.", choices=", ".join(e.value for e in enum))]
        return None


def raise_if_any(errors: dict, message: Msg = Msg("The request has invalid fields.")) -> None:
    if errors:
        raise ValidationError(message, errors)

"""Checking request fields, one way for every service: each problem is collected under its field name,
so a request is refused once with all its errors (400), and nothing is stored."""
from __future__ import annotations

from datetime import date

from gmp_complaints.domain.errors import Msg, ValidationError


def text(errors: dict, data: dict, field: str, max_length: int, *, required: bool = True,
         collapse_spaces: bool = False) -> str | None:
    """Stripped text; ``collapse_spaces`` also folds inner runs of white space (names, codes)."""
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = [Msg("This field is required.")]
        return None
    if not isinstance(value, str):
        errors[field] = [Msg("At most %(count)s characters of text.", count=max_length)]
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
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[field] = [Msg("Use the form YYYY-MM-DD.")]
        return None


def boolean(errors: dict, data: dict, field: str, *, required: bool = True) -> bool | None:
    value = data.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, bool):
        errors[field] = [Msg("true or false.")]
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

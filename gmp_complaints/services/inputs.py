"""Checking request fields, one way for every service: each problem is collected under its field name,
so a request is refused once with all its errors (400), and nothing is stored."""
from __future__ import annotations

import re
from datetime import date

from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.plausibility import character_problem, date_span_problem

# ASCII digits only: ``\d`` also matches other scripts' digits (２０２６), which no date or number is written in.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


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
    problem = character_problem(value)
    if problem is not None:
        errors[field] = [problem]
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
        parsed = value
    elif not isinstance(value, str):
        errors[field] = [Msg("Expected a date as text YYYY-MM-DD, not %(kind)s.", kind=kind_of(value))]
        return None
    elif not _ISO_DATE.fullmatch(value.strip()):
        errors[field] = [Msg("Use the form YYYY-MM-DD.")]
        return None
    else:
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            errors[field] = [Msg("%(value)s is not a date of the calendar.", value=value.strip())]
            return None
    problem = date_span_problem(parsed)
    if problem is not None:
        errors[field] = [problem]
        return None
    return parsed


def whole_number(errors: dict, data: dict, field: str, *, minimum: int, maximum: int,
                 required: bool = True) -> int | None:
    """A whole number from ``minimum`` to ``maximum``: a JSON integer, or its ASCII digits as text (a query
    string, a form field). Out of range says the range, so a client learns the bound instead of a server error."""
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = [Msg("This field is required.")]
        return None
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        digits = value.strip()
        # beyond 20 digits it is out of any range here (and int() refuses text of more than 4,300 digits)
        value = int(digits) if len(digits) <= 21 else None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        errors[field] = [Msg("A whole number from %(minimum)s to %(maximum)s.", minimum=minimum, maximum=maximum)]
        return None
    return value


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


#: No list in a request needs more items than this (batch numbers, complaint ids): a longer one would also pass the
#: databases' limit of parameters in one statement (PostgreSQL 65,535) when it is looked up.
MAX_LIST_ITEMS = 1000

#: No request needs more levels of nested objects and lists than this (the bodies nest a few: an object holding lists
#: of objects, such as a recall's market actions): deeper JSON is refused before any schema walks it.
MAX_JSON_DEPTH = 20


def check_payload(payload) -> None:
    """A parsed JSON body as a whole, once for every route: no deeper than ``MAX_JSON_DEPTH``, and no key or value
    holding a character text may not hold (so also the keys a schema ignores and the free-form objects it keeps).
    Raises ValidationError naming the first offending field by its dotted path (``complainant.name``,
    ``batch_nos.0``); a bad key is named by the object holding it (``_body`` at the top)."""
    pending = [(payload, "", 1)]  # walked with a list, not recursion: the depth is what is being checked
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, str):
            _refuse_characters(value, path)
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise ValidationError(Msg("The JSON body is nested too deeply."), {"_body": [
                    Msg("At most %(depth)s levels of nested objects and lists.", depth=MAX_JSON_DEPTH)]})
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _refuse_characters(key, path)
                pending.append((item, f"{path}.{key}" if path else str(key), depth + 1))


def _refuse_characters(text: str, path: str) -> None:
    problem = character_problem(text)
    if problem is not None:
        raise ValidationError(Msg("The request has invalid fields."), {path or "_body": [problem]})


def raise_if_any(errors: dict, message: Msg = Msg("The request has invalid fields.")) -> None:
    if errors:
        raise ValidationError(message, errors)

"""Bounds every request meets before its view runs, in one place for the pages and the API (issue 19: no input
produces a 5xx): ids in paths within the database's integers, a body no larger than it needs to be, JSON no deeper
than any request needs, and no text (path segment, query string, form field, upload file name, JSON key or value)
holding a character the databases cannot store. A request out of bounds is refused with 400 naming the field (413
for a body too large, 404 for an id no record can have), before anything is read from or written to the database."""
from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.plausibility import MAX_ID, character_problem
from gmp_complaints.services import inputs

#: any request body but an upload: the longest field (a description of 20,000 characters, JSON-escaped) is a
#: fraction of this
MAX_BODY_BYTES = 1024 * 1024
#: an upload request carries the file and a few form fields
UPLOAD_MARGIN_BYTES = 1024 * 1024
#: the last page number a list accepts (50 rows a page: 50 million rows)
MAX_PAGE = 1_000_000


class RecordIdConverter(IntegerConverter):
    """``<int:...>`` in every route: ASCII digits. A number above ``MAX_ID`` names no record: ``bound_request``
    answers it 404 before any view, instead of overflowing the database's integer (SQLite from 2^63, PostgreSQL
    from 2^31). The converter itself does not refuse it: werkzeug would then take a rule of another method on the
    same path for the match and answer 405 with a wrong ``Allow`` (found by tests/integration/test_api_fuzz.py)."""

    regex = r"[0-9]+"


def install_request_bounds(app: Flask) -> None:
    """Before any route is registered: the ``int`` converter, and the body size an upload may reach."""
    app.url_map.converters["int"] = RecordIdConverter
    app.config["MAX_CONTENT_LENGTH"] = app.config["GMP_SETTINGS"].attachment_max_mb * 1024 * 1024 + UPLOAD_MARGIN_BYTES


def bound_request() -> None:
    """``before_request``: the body's size by kind, then every text the request carries; raises ValidationError
    (the error handlers answer it as JSON under /api/v1 and as a page elsewhere)."""
    if any(isinstance(value, int) and value > MAX_ID for value in (request.view_args or {}).values()):
        raise NotFound()
    if request.mimetype != "multipart/form-data":
        request.max_content_length = MAX_BODY_BYTES
    texts = [(name, value) for name, value in (request.view_args or {}).items() if isinstance(value, str)]
    texts += list(request.args.items(multi=True))
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            texts += list(request.form.items(multi=True))
            texts += [(name, upload.filename or "") for name, upload in request.files.items(multi=True)]
        elif request.is_json:
            inputs.check_payload(_json_body())
    for name, value in texts:
        # a multipart part whose header werkzeug cannot read arrives with no name: nothing to check in it
        _check_name_and_text(name or "", value or "")


def _json_body():
    try:
        return request.get_json(silent=True)
    except RecursionError:
        # Python's reader gives up on nesting some thousand levels deep: the body is refused, not the server
        raise ValidationError(Msg("The JSON body is nested too deeply."), {"_body": [
            Msg("At most %(depth)s levels of nested objects and lists.", depth=inputs.MAX_JSON_DEPTH)]}) from None


def _check_name_and_text(name: str, value: str) -> None:
    problem = character_problem(name)
    if problem is not None:
        raise ValidationError(Msg("The request has invalid fields."), {"_request": [problem]})
    problem = character_problem(value)
    if problem is not None:
        raise ValidationError(Msg("The field %(field)s is invalid: %(problem)s", field=name, problem=problem),
                              {name: [problem]})


def query_number(name: str, *, minimum: int, maximum: int, default: int | None = None) -> int | None:
    """A whole number from the query string or the form (``?page=``, ``?offset=``, ``?year=``, ``?complaint=``),
    ``default`` when absent or empty; anything else is refused with 400 naming the parameter and its range."""
    errors: dict = {}
    value = inputs.whole_number(errors, request.values, name, minimum=minimum, maximum=maximum, required=False)
    inputs.raise_if_any(errors, Msg("The query parameter %(name)s is invalid.", name=name))
    return default if value is None else value


def number_or_text(raw: str | None):
    """A form field that holds a number or an id, for the service's schema: the number when written in ASCII
    digits, else the text as sent (empty as None), which the schema refuses naming its field."""
    raw = (raw or "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 20:
        return int(raw)
    return raw or None

"""Errors mapped to HTTP once: the DESIGN §6 JSON shape under /api/v1, a page elsewhere."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError as SchemaValidationError
from werkzeug.exceptions import HTTPException

from gmp_complaints.domain.errors import DomainError
from gmp_complaints.i18n import translate


def _is_api() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status


def error_page(status: int, message: str):
    return render_template("errors/error.html", status=status, message=message), status


def forbidden(message: str):
    if _is_api():
        return api_error(403, "forbidden", message)
    return error_page(403, _("You are not allowed to open this page."))


#: the page's words for the HTTP errors a user can meet (werkzeug's names are English only)
HTTP_PAGE_MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("Your roles do not allow this page."),
    404: _l("Not found: the page or record does not exist."),
    405: _l("This page does not take this kind of request."),
    413: _l("The upload is too large."),
    429: _l("Too many requests: wait a moment and try again."),
}


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        if _is_api():
            body, status = api_error(exc.http_status, exc.code, exc.message, exc.fields)
        else:
            body, status = error_page(exc.http_status, translate(exc.message))
        retry_after = getattr(exc, "retry_after_seconds", None)
        # A 429 says when to come back (RFC 9110 §10.2.3).
        return body, status, ({"Retry-After": str(retry_after)} if retry_after else {})

    @app.errorhandler(SchemaValidationError)
    def schema_error(exc: SchemaValidationError):
        fields = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return api_error(400, "invalid_input", "The request has invalid fields.", fields)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_page(400, _("The form has expired or was not sent by this application. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if _is_api():
            code = (exc.name or "error").lower().replace(" ", "_")
            body, status = api_error(exc.code or 500, code, exc.description or exc.name)
        else:
            body, status = error_page(exc.code or 500, str(HTTP_PAGE_MESSAGES.get(exc.code, exc.name)))
        # The exception's own headers stay (405's Allow, 429's Retry-After, 401's WWW-Authenticate); the body's
        # content type is ours.
        headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
        return body, status, headers

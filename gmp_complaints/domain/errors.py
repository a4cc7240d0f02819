"""Domain errors. The web and API layers map them to HTTP once, in one place."""
from __future__ import annotations


class Msg(str):
    """A user-facing English message that remembers its template and values.

    It is a plain ``str`` (the English text) for logs and the API; the web layer translates
    ``template`` and fills in ``params``. Marked for extraction with the ``Msg`` keyword.
    """

    def __new__(cls, template: str, **params):
        text = template % params if params else template
        obj = super().__new__(cls, text)
        obj.template = template
        obj.params = params
        return obj


def joined(parts, separator: str = " ") -> Msg:
    """Messages shown together, as one message whose parts are each translated on their own."""
    params = {f"part{n}": part for n, part in enumerate(parts)}
    return Msg(separator.join(f"%({key})s" for key in params), **params)


class DomainError(Exception):
    """Base of every rule violation. ``code`` is the snake_case code of the API error shape."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationError(DomainError):
    """Bad input; ``fields`` names each offending field."""

    code = "invalid_input"


class NotFoundError(DomainError):
    code = "not_found"
    http_status = 404


class ConflictError(DomainError):
    """The record's current state forbids the action; nothing was changed."""

    code = "conflict"
    http_status = 409


class AuthenticationError(DomainError):
    """Bad credentials. One message for an unknown user and a wrong password (no enumeration)."""

    code = "invalid_credentials"
    http_status = 401


class AccountLockedError(DomainError):
    code = "account_locked"
    http_status = 423


class TokenIdleError(AuthenticationError):
    """An API token unused for the idle limit: the caller asks for a new one."""

    code = "token_idle"


class TooManyAttemptsError(DomainError):
    """Too many failed attempts from one source address: refused unchecked until ``retry_after_seconds`` pass."""

    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, retry_after_seconds: int):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class PasswordChangeRequiredError(DomainError):
    code = "password_change_required"
    http_status = 403


class PermissionDeniedError(DomainError):
    code = "forbidden"
    http_status = 403

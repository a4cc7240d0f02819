"""Bearer tokens for /api/v1: who calls, checked before any view runs (with the authorisation matrix)."""
from __future__ import annotations

from flask import g, request

from gmp_complaints.domain.errors import TokenIdleError
from gmp_complaints.services import accounts
from gmp_complaints.web.access import Access
from gmp_complaints.web.errors import api_error


def authenticate_bearer(access: Access, uow):
    """Set ``g.principal`` from the bearer token, or return the refusal (401 / 403)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return api_error(401, "unauthenticated", "A bearer token is required: POST /api/v1/auth/token.")
    try:
        principal = accounts.load_token_principal(uow, token.strip())
    except TokenIdleError as exc:
        return api_error(401, exc.code, exc.message)
    if principal is None:
        return api_error(401, "invalid_token", "The token is unknown, expired or revoked.")
    if principal.password_change_reason is not None and not access.during_password_change:
        return api_error(403, "password_change_required", "The password must be changed: POST /api/v1/auth/password.")
    g.principal = principal
    return None

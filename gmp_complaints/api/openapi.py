"""The OpenAPI description of /api/v1, built with apispec from the same marshmallow schemas."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gmp_complaints.api import PasswordChangeRequest, StatementRequest, TokenRequest

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
        }
    },
}


def _errors(*codes: int) -> dict:
    text = {400: "Invalid input", 401: "Bad credentials or no token", 403: "Role not allowed or password change required",
            404: "Unknown", 409: "Not allowed in the current state", 423: "Account locked"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for c in codes}


def _body(schema: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def build_spec() -> dict:
    spec = APISpec(
        title="GMP complaints API", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
        info={"description": "Customer quality complaints and CAPA under GMP. Errors share one shape."},
    )
    spec.components.schema("Error", ERROR)
    spec.components.schema("TokenRequest", schema=TokenRequest)
    spec.components.schema("PasswordChangeRequest", schema=PasswordChangeRequest)
    spec.components.schema("StatementRequest", schema=StatementRequest)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.path("/api/v1/auth/token", operations={"post": {
        "summary": "Exchange user name and password for a bearer token",
        "requestBody": _body("TokenRequest"),
        "responses": {"200": {"description": "The token", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"token": {"type": "string"}, "token_type": {"type": "string"},
                                             "expires_at": {"type": "string", "format": "date-time"}}}}}},
                      **_errors(400, 401, 403, 423)},
    }})
    spec.path("/api/v1/auth/password", operations={"post": {
        "summary": "Change one's own password (required after a temporary password or expiry)",
        "requestBody": _body("PasswordChangeRequest"),
        "responses": {"204": {"description": "Changed; every token of the user is revoked"}, **_errors(400, 401, 423)},
    }})
    spec.path("/api/v1/auth/esignature-statement", operations={"post": {
        "summary": "Accept the e-signature accountability statement (password re-entered)",
        "security": [{"bearer": []}],
        "requestBody": _body("StatementRequest"),
        "responses": {"204": {"description": "Accepted"}, **_errors(400, 401, 403, 409, 423)},
    }})
    spec.path("/api/v1/me", operations={"get": {
        "summary": "The user of the token",
        "security": [{"bearer": []}],
        "responses": {"200": {"description": "The user"}, **_errors(401, 403)},
    }})
    return spec.to_dict()

"""The request bodies, as marshmallow schemas: the one input layer at the edge of the services.

The API and the pages hand their fields to the same use case, and the use case loads them through its
schema first: a wrong type says which type was expected, every problem is named under its field, and
nothing is stored. The same schemas describe the bodies in the OpenAPI document. The fields delegate to
``services.inputs``, so a rule and its message exist once. Rules that weigh one field against another
or against stored data stay in the use case.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields
from marshmallow import ValidationError as SchemaError

from gmp_complaints.domain.complaints import Channel, ComplaintClass, ComplaintType
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.services import inputs

REQUIRED = Msg("This field is required.")


def _checked(check, value, *args, **kwargs):
    errors: dict = {}
    result = check(errors, {"value": value}, "value", *args, **kwargs)
    if errors:
        raise SchemaError(list(errors["value"]))
    return result


class _Field(fields.Field):
    def __init__(self, *, required: bool = False, metadata: dict | None = None, more: dict | None = None, **kwargs):
        optional = {} if required else {"load_default": None}
        super().__init__(required=required, allow_none=not required, metadata={**(metadata or {}), **(more or {})},
                         error_messages={"required": REQUIRED, "null": REQUIRED}, **optional, **kwargs)


class Text(_Field):
    """Stripped text of at most ``max_length`` characters; blank counts as missing."""

    def __init__(self, max_length: int, *, collapse_spaces: bool = False, **kwargs):
        super().__init__(metadata={"type": "string", "maxLength": max_length}, **kwargs)
        self.max_length, self.collapse_spaces = max_length, collapse_spaces

    def _deserialize(self, value, attr, data, **kwargs):
        return _checked(inputs.text, value, self.max_length, required=self.required,
                        collapse_spaces=self.collapse_spaces)


class Day(_Field):
    """A date written YYYY-MM-DD."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "string", "format": "date"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _checked(inputs.day, value, required=self.required)


class Bool(_Field):
    """true or false (JSON booleans only: "yes" or 1 is refused)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "boolean"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _checked(inputs.boolean, value, required=self.required)


class Choice(_Field):
    """One of an enumeration's values."""

    def __init__(self, enum, **kwargs):
        super().__init__(metadata={"type": "string", "enum": [e.value for e in enum]}, **kwargs)
        self.enum = enum

    def _deserialize(self, value, attr, data, **kwargs):
        return _checked(inputs.choice, value, self.enum)


class Codes(_Field):
    """A list of short texts (batch numbers, criterion codes, actions)."""

    def __init__(self, message: Msg, **kwargs):
        super().__init__(metadata={"type": "array", "items": {"type": "string"}}, **kwargs)
        self.message = message

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise SchemaError([self.message])
        return [v.strip() for v in value]


class Password(_Field):
    """A password as typed: not stripped, never empty."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "string", "format": "password"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise SchemaError([Msg("Expected text, not %(kind)s.", kind=inputs.kind_of(value))])
        if not value:
            raise SchemaError([REQUIRED])
        return value


class Mapping(_Field):
    """A JSON object, checked by the use case's own rules (the investigation checklist)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "object"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return value


class Body(Schema):
    class Meta:
        unknown = EXCLUDE  # the pages and clients send more (CSRF token, credentials of another step)


def load(schema: type[Body], data) -> dict:
    """``data`` loaded through ``schema``, or ``ValidationError`` naming every bad field (dotted when nested)."""
    if not isinstance(data, dict):
        raise ValidationError(Msg("The body must be a JSON object."),
                              {"_body": [Msg("Send a JSON object with Content-Type application/json.")]})
    try:
        return schema().load(data)
    except SchemaError as exc:
        raise ValidationError(Msg("The request has invalid fields."), _flat(exc.messages)) from None


def _flat(messages, prefix: str = "") -> dict:
    flat: dict = {}
    for key, value in (messages.items() if isinstance(messages, dict) else [("_body", messages)]):
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = list(value)
    return flat


# --- the complaint (DESIGN §6) -----------------------------------------------------------------


class Complainant(Body):
    name = Text(200, required=True)
    organisation = Text(200)
    phone = Text(64)
    email = Text(200)


class Registration(Body):
    received_on = Day(required=True)
    channel = Choice(Channel, required=True)
    complainant = fields.Nested(Complainant, required=True, error_messages={
        "required": Msg("Give the complainant's name, organisation, phone and e-mail."),
        "null": Msg("Give the complainant's name, organisation, phone and e-mail."),
        "type": Msg("Give the complainant's name, organisation, phone and e-mail.")})
    product_code = Text(64, required=True)
    batch_nos = Codes(Msg("A list of batch numbers."))
    batch_unknown_reason = Text(2000)
    complaint_type = Choice(ComplaintType, required=True)
    description = Text(20_000, required=True)
    sample_available = Bool()
    customer_due_on = Day()


class Acknowledgement(Body):
    sent_on = Day(required=True)
    method = Text(32, required=True)
    note = Text(5000)


class Validity(Body):
    information_complete = Bool(required=True)
    substantiated = Bool(required=True)
    reason = Text(5000)


class Classification(Body):
    complaint_class = Choice(ComplaintClass, required=True)
    rationale = Text(5000, required=True)
    adr_suspected = Bool(required=True)
    criteria = Codes(Msg("A list of criterion codes."))


class Investigation(Body):
    root_cause = Text(10_000, required=True)
    impact = Text(10_000, required=True)
    other_batches_affected = Text(10_000, required=True)
    substantiated = Bool(required=True)
    checklist = Mapping()


class Reply(Body):
    replied_on = Day(required=True)
    summary = Text(20_000, required=True)


class CustomerResponse(Body):
    received_on = Day(required=True)
    satisfied = Bool(required=True)
    text = Text(20_000, required=True)


class Reminder(Body):
    sent_on = Day(required=True)


class FollowUp(Body):
    received_on = Day(required=True)
    text = Text(20_000, required=True)


class VoidRequest(Body):
    reason = Text(5000, required=True)


class Credentials(Body):
    """The signer's own user name and password, entered again at every signing (21 CFR 11.200)."""

    username = Text(64, required=True)
    password = Password(required=True)


class Regrading(Credentials):
    complaint_class = Choice(ComplaintClass, required=True)
    reason = Text(5000, required=True)


class Closure(Credentials):
    comment = Text(5000)


class Signing(Credentials):
    """``POST /complaints/<id>/signatures``: the step (the meaning follows from it) and a comment."""

    step = Text(40, required=True, more={"enum": ["qp_acknowledgement", "interim_risk_decision",
                                                      "sales_confirmation", "audit_trail_review",
                                                      "extension_approval", "extension_rejection", "void_approval",
                                                      "void_rejection", "capa_not_needed"]})
    comment = Text(5000)
    subject = Text(64)
    extension_id = fields.Integer(allow_none=True, load_default=None, strict=True,
                                  error_messages={"invalid": Msg("The id of the extension request (a number).")})


class Retention(Credentials):
    retention_until = Day(required=True)
    reason = Text(5000, required=True)


#: every body above, by the name the OpenAPI document gives it
SCHEMAS = {cls.__name__: cls for cls in (Complainant, Registration, Acknowledgement, Validity, Classification,
                                          Investigation, Reply, CustomerResponse, Reminder, FollowUp, VoidRequest,
                                          Credentials, Regrading, Closure, Signing, Retention)}

"""The request bodies, as marshmallow schemas: the one input layer at the edge of the services.

The API and the pages hand their fields to the same use case, and the use case loads them through its
schema first: a wrong type says which type was expected, every problem is named under its field, and
nothing is stored. The same schemas describe the bodies in the OpenAPI document. The fields delegate to
``services.inputs``, so a rule and its message exist once. Rules that weigh one field against another
or against stored data stay in the use case.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from enum import StrEnum

from marshmallow import EXCLUDE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from gmp_complaints.domain.accounts import AccessDecision, AccessRequestKind, AccountType
from gmp_complaints.domain.adr import Seriousness
from gmp_complaints.domain.capa import ActionKind, CapaSource, Effectiveness
from gmp_complaints.domain.compensation import ApprovalLevel
from gmp_complaints.domain.complaint_file import FileItem
from gmp_complaints.domain.complaints import ASSESSMENT_ACTION_LABELS, Channel, ComplaintClass, ComplaintType
from gmp_complaints.domain.errors import Msg, ValidationError, joined
from gmp_complaints.domain.follow_up import CallResult
from gmp_complaints.domain.grading import UNKNOWN, Severity
from gmp_complaints.domain.investigation import ExaminedCause, QuarantineStatus, RootCauseCategory
from gmp_complaints.domain.notices import OfficialScope
from gmp_complaints.domain.plausibility import MAX_ID, character_problem
from gmp_complaints.domain.recall import (
    BatchDecision,
    ContactResult,
    EffectivenessLevel,
    FdaClass,
    RecallDepth,
    RecallLevel,
    RecallOrigin,
)
from gmp_complaints.domain.returns import Disposition, ReturnChannel, SampleResult
from gmp_complaints.domain.roles import Role
from gmp_complaints.domain.triage import DEFAULT_ANSWER, Answer, RoutedTo
from gmp_complaints.services import inputs

REQUIRED = Msg("This field is required.")


class Extensible(StrEnum):
    """The time limits that can be extended (SOP §6)."""

    initial_feedback = "initial_feedback"
    classification = "classification"
    investigation = "investigation"
    formal_reply = "formal_reply"


def _checked(check, value, *args, **kwargs):
    errors: dict = {}
    result = check(errors, {"value": value}, "value", *args, **kwargs)
    if errors:
        raise SchemaError(list(errors["value"]))
    return result


class _Field(fields.Field):
    def __init__(self, *, required: bool = False, metadata: dict | None = None, more: dict | None = None,
                 default=None, **kwargs):
        optional = {} if required else {"load_default": default}
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


class Email(Text):
    """An e-mail address (one ``@``, a dotted domain, no spaces); blank counts as missing."""

    _SHAPE = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

    def __init__(self, **kwargs):
        super().__init__(254, **kwargs)
        self.metadata["format"] = "email"

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is not None and not self._SHAPE.fullmatch(text):
            raise SchemaError([Msg("An e-mail address, e.g. qa@example.com.")])
        return text


class Day(_Field):
    """A date written YYYY-MM-DD."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "string", "format": "date"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _checked(inputs.day, value, required=self.required)


_ISO_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}")


class Moment(_Field):
    """A date and time in ISO 8601 with its offset (``2026-12-03T09:30:00+08:00``)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "string", "format": "date-time"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise SchemaError([Msg("Expected text, not %(kind)s.", kind=inputs.kind_of(value))])
        try:
            # the calendar date written YYYY-MM-DD, as every date here (Python also reads week and ordinal dates)
            moment = datetime.fromisoformat(value.strip()) if _ISO_MOMENT.match(value.strip()) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None or not 2000 <= moment.year <= 2999:
            raise SchemaError([Msg("A date and time with its offset, e.g. 2026-12-03T09:30:00+08:00.")])
        return moment.astimezone(timezone.utc)


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

    def __init__(self, message: Msg, *, choices: tuple[str, ...] | None = None, **kwargs):
        items = {"type": "string", **({"enum": list(choices)} if choices else {})}
        super().__init__(metadata={"type": "array", "items": items, "maxItems": inputs.MAX_LIST_ITEMS}, **kwargs)
        self.message, self.choices = message, choices

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value) or \
                (self.choices and any(v.strip() not in self.choices for v in value)):
            raise SchemaError([self.message])
        if len(value) > inputs.MAX_LIST_ITEMS:
            raise SchemaError([Msg("At most %(count)s items.", count=inputs.MAX_LIST_ITEMS)])
        problems = [p for p in map(character_problem, value) if p is not None]
        if problems:
            raise SchemaError(problems[:1])
        return [v.strip() for v in value]


class Money(_Field):
    """An amount with at most two decimals, as a JSON number or as text (``"12500.50"``); exact (Decimal)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip() if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
        if text is None or not re.fullmatch(r"-?[0-9]{1,12}(\.[0-9]{1,2})?", text):
            raise SchemaError([Msg("An amount such as 12500 or 12500.50 (at most two decimals).")])
        return Decimal(text)


class Password(_Field):
    """A password as typed: not stripped, never empty."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "string", "format": "password"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise SchemaError([Msg("Expected text, not %(kind)s.", kind=inputs.kind_of(value))])
        if not value:
            raise SchemaError([REQUIRED])
        problem = character_problem(value)
        if problem is not None:
            raise SchemaError([problem])
        return value


class Quantity(_Field):
    """A whole number greater than 0 (a JSON number, or its digits as text from a CSV file)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "integer", "minimum": 1, "maximum": MAX_ID}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return _checked(inputs.whole_number, value, minimum=1, maximum=MAX_ID)


class Count(_Field):
    """A whole number, 0 or more (a JSON number)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "integer", "minimum": 0, "maximum": MAX_ID}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):  # a JSON number only
            raise SchemaError([Msg("A whole number, 0 or more.")])
        return _checked(inputs.whole_number, value, minimum=0, maximum=MAX_ID)


class CountOrUnknown(_Field):
    """A whole number, 0 or more (a JSON number, or its digits as text from a page), or ``"unknown"`` (REC-08)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"oneOf": [{"type": "integer", "minimum": 0, "maximum": MAX_ID},
                                             {"type": "string", "enum": [UNKNOWN]}]}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.strip().lower() == UNKNOWN:
            return UNKNOWN
        errors: dict = {}
        number = inputs.whole_number(errors, {"value": value}, "value", minimum=0, maximum=MAX_ID)
        if errors:
            raise SchemaError([Msg("A whole number from 0 to %(maximum)s, or \"unknown\".", maximum=MAX_ID)])
        return number


class Number(_Field):
    """A JSON number (true and false are not numbers); ranges are the use case's to check."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "number"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        # NaN and Infinity are not numbers a rule can weigh (Python's JSON reader accepts them)
        if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) < float("inf"):
            raise SchemaError([Msg("A number.")])
        return value


class Id(_Field):
    """The id of a record: a JSON number (true and false are not ids)."""

    def __init__(self, message: Msg, **kwargs):
        super().__init__(metadata={"type": "integer", "minimum": 1, "maximum": MAX_ID}, **kwargs)
        self.message = message

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError([self.message])
        if not 1 <= value <= MAX_ID:
            raise SchemaError([_id_range(self.message)])
        return value


class Ids(_Field):
    """A list of record ids."""

    def __init__(self, message: Msg, **kwargs):
        items = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        super().__init__(metadata={"type": "array", "items": items, "maxItems": inputs.MAX_LIST_ITEMS}, **kwargs)
        self.message = message

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
            raise SchemaError([self.message])
        if len(value) > inputs.MAX_LIST_ITEMS:
            raise SchemaError([Msg("At most %(count)s items.", count=inputs.MAX_LIST_ITEMS)])
        if not all(1 <= i <= MAX_ID for i in value):
            raise SchemaError([_id_range(self.message)])
        return value


def _id_range(message: Msg) -> Msg:
    """The field's own message, and the range no record id leaves (a bigger number names no record)."""
    return joined([message, Msg("Ids run from 1 to %(maximum)s.", maximum=MAX_ID)])


class Mapping(_Field):
    """A JSON object, checked by the use case's own rules (the investigation checklist)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "object"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return value


class Body(Schema):
    class Meta:
        unknown = EXCLUDE  # the pages and clients send more (CSRF token, credentials of another step)


def change_control_ref() -> Text:
    """AT-10 (Annex 11 §10): the change-control record a configuration change is made under, e.g.
    ``CC-2026-014``; required, kept in the audit event of the change."""
    return Text(64, required=True, collapse_spaces=True, more={
        "description": "The change-control reference the configuration change is made under (e.g. CC-2026-014); "
                       "kept in its audit event (AT-10)."})


def load(schema: type[Body], data) -> dict:
    """``data`` loaded through ``schema``, or ``ValidationError`` naming every bad field (dotted when nested)."""
    if not isinstance(data, dict):
        raise ValidationError(Msg("The body must be a JSON object."),
                              {"_body": [Msg("Send a JSON object with Content-Type application/json.")]})
    try:
        return _instance(schema).load(data)
    except SchemaError as exc:
        raise ValidationError(Msg("The request has invalid fields."), _flat(exc.messages)) from None


def load_collecting(schema: type[Body], data) -> tuple[dict, dict]:
    """``data`` loaded through ``schema`` as far as it is valid, and the problems named by field: for a use case
    that checks more of the same request (one field against another) and refuses once, naming all of them."""
    if not isinstance(data, dict):
        load(schema, data)  # raises: not a JSON object
    try:
        return _instance(schema).load(data), {}
    except SchemaError as exc:
        return dict(exc.valid_data or {}), _flat(exc.messages)


_instances: dict[type, Schema] = {}


def _instance(schema: type[Body]) -> Schema:
    """One instance per schema class: marshmallow schemas hold no state between loads, and building one
    (binding every field) costs more than the load itself."""
    instance = _instances.get(schema)
    if instance is None:
        instance = _instances[schema] = schema()
    return instance


def _flat(messages, prefix: str = "") -> dict:
    flat: dict = {}
    for key, value in (messages.items() if isinstance(messages, dict) else [("_body", messages)]):
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = list(value)
    return flat


# --- master data from the ERP (DESIGN §4, §6) ---------------------------------------------------


class Product(Body):
    code = Text(64, required=True, collapse_spaces=True)
    name = Text(200, required=True, collapse_spaces=True)
    strength = Text(100, required=True, collapse_spaces=True)
    dosage_form = Text(100, required=True, collapse_spaces=True)
    has_expiry = Bool()
    markets = Codes(Msg("A list of market codes (CN, US, DE …, EU)."))
    marketing_authorisation_holder = Text(200, collapse_spaces=True)
    contract_partner = Text(200, collapse_spaces=True)
    partner_quality_contact = Text(300, collapse_spaces=True)


class ProductMarkets(Body):
    """``POST /products/<code>/markets``: where the product is marketed now, and by whom; a change to
    master data, so with a reason."""

    markets = Codes(Msg("A list of market codes (CN, US, DE …, EU)."), required=True)
    marketing_authorisation_holder = Text(200, collapse_spaces=True)
    contract_partner = Text(200, collapse_spaces=True)
    partner_quality_contact = Text(300, collapse_spaces=True)
    reason = Text(2000, required=True)
    change_control_ref = change_control_ref()


class Batch(Body):
    product_code = Text(64, required=True, collapse_spaces=True)
    batch_no = Text(64, required=True, collapse_spaces=True)
    manufactured_on = Day(required=True)
    expires_on = Day()
    released_on = Day()


class Distribution(Body):
    product_code = Text(64, required=True, collapse_spaces=True)
    batch_no = Text(64, required=True, collapse_spaces=True)
    consignee = Text(200, required=True, collapse_spaces=True)
    quantity = Quantity(required=True)
    shipped_on = Day(required=True)
    address = Text(1000)
    contact = Text(200, collapse_spaces=True)
    phone = Text(64, collapse_spaces=True)
    email = Email()
    out_of_hours_contact = Text(200, collapse_spaces=True)
    is_export = Bool()
    is_medical_sample = Bool()


# --- the complaint (DESIGN §6) -----------------------------------------------------------------


class Complainant(Body):
    name = Text(200, required=True)
    organisation = Text(200)
    phone = Text(64)
    email = Email()


class ClockTime(_Field):
    """A time of day written HH:MM (24 h, the site's time zone)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value.strip()):
            raise SchemaError([Msg("A time of day such as 09:30 (24 h, site time).")])
        return value.strip()


class Registration(Body):
    received_on = Day(required=True)
    #: when it came in that day (site time): the clocks of ADR and recall reporting run from receipt
    received_time = ClockTime()
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
    #: entered after an outage from the paper form (RET-07): its reference and why it is entered late
    paper_reference = Text(64)
    entered_late_reason = Text(2000)


class Acknowledgement(Body):
    sent_on = Day(required=True)
    method = Text(32, required=True)
    note = Text(5000)


_TRIAGE_DEFAULT = ("Left out, it is recorded as unknown (the page asks for an explicit answer).")


class Validity(Body):
    """``POST /complaints/<id>/validity`` (SOP 5.3) with the triage: the two questions of REC-09 (left out through
    the API, each is recorded as ``unknown``), where a complaint that is not a quality defect goes (``routed_to``,
    required with ``quality_defect_suspected: no``), and the flag of a possible failure to meet specification
    (WF-02), which keeps the complaint in triage until the head of quality's signed determination."""

    information_complete = Bool(required=True)
    substantiated = Bool(required=True)
    reason = Text(5000)
    quality_defect_suspected = Choice(Answer, default=DEFAULT_ANSWER.value, more={"description": _TRIAGE_DEFAULT})
    falsification_suspected = Choice(Answer, default=DEFAULT_ANSWER.value, more={"description": _TRIAGE_DEFAULT})
    routed_to = Choice(RoutedTo, more={"description": "Required when quality_defect_suspected is no."})
    routing_note = Text(5000)
    spec_failure_suspected = Bool(default=False, more={
        "description": "Possible failure to meet specification (WF-02); left out, false."})


class ValidityForm(Validity):
    """The validity step as the page posts it: the triage questions are answered explicitly, never defaulted."""

    quality_defect_suspected = Choice(Answer, required=True)
    falsification_suspected = Choice(Answer, required=True)
    spec_failure_suspected = Bool(required=True)


class NotKnownMark(Body):
    """``POST /complaints/<id>/not-known``: an item of the complaint file that is not known, and why (REC-02)."""

    item = Choice(FileItem, required=True)
    reason = Text(5000, required=True)


_SEVERITY = ("The severity of harm (REC-08): critical (SOP §3.1), major (§3.2), minor (§3.3). The class is the "
             "severity's own class or one class above it (escalated for probability or extent), never below it.")
_BATCHES_DEFAULT = "Batches affected: a whole number, or \"unknown\". Left out: the number of the complaint's batches."
_MARKETS_DEFAULT = "Markets affected (country codes, EU). Left out: the product's markets."
_EXTENSION = ("REC-11: the investigation extends to other batches or products (yes/no). Left out, no decision is "
              "recorded; a complaint assessed reasonable is not closed without it.")


class Classification(Body):
    complaint_class = Choice(ComplaintClass, required=True)
    rationale = Text(5000, required=True)
    adr_suspected = Bool(required=True)
    criteria = Codes(Msg("A list of criterion codes."))
    #: the US field-alert screening (21 CFR 314.81(b)(1)): required for a product marketed in the US, either as
    #: its two criteria (WF-04) or, as before, one answer standing for "a criterion met"
    field_alert = Bool(more={"description": "A criterion of the Field-Alert screen is met (US products). Left out "
                                            "when the two criteria are given; given with them, it must agree."})
    field_alert_mix_up = Bool(more={"description": "21 CFR 314.81(b)(1)(i): the product or its labelling mistaken "
                                                   "for, or applied to, another article (US products)."})
    field_alert_quality_defect = Bool(more={"description": "21 CFR 314.81(b)(1)(ii): bacteriological contamination, "
                                                           "significant chemical/physical change or deterioration, or "
                                                           "a distributed batch failing its application "
                                                           "specifications (US products)."})
    #: US products with a suspected reaction (WF-03): serious? unexpected?
    adr_serious = Bool()
    adr_unexpected = Bool()
    #: REC-08: the severity of harm and the extent. Left out, the severity and the units are not recorded; the
    #: batches default to the complaint's linked batches and the markets to the product's markets.
    severity = Choice(Severity, more={"description": _SEVERITY})
    units_affected = CountOrUnknown(more={"description": "Units affected: a whole number, or \"unknown\"."})
    batches_affected = CountOrUnknown(more={"description": _BATCHES_DEFAULT})
    markets_affected = Codes(Msg("A list of market codes (CN, US, DE …, EU)."), more={"description": _MARKETS_DEFAULT})


class ClassificationForm(Classification):
    """The classification as the page posts it: the severity and the extent are required (REC-08; checked with the
    other fields by the use case); an extent the page marks unknown comes with its own box."""

    units_affected_unknown = Bool()
    batches_affected_unknown = Bool()


class Investigation(Body):
    root_cause = Text(10_000, required=True)
    impact = Text(10_000, required=True)
    other_batches_affected = Text(10_000, required=True)
    substantiated = Bool(required=True)
    checklist = Mapping()
    #: TR-02: whether the problem recurs (earlier complaints of the same product and type are listed)
    recurring_problem = Bool()
    #: REC-14 (EU GMP 8.17): the category of the root cause; ``human_error`` needs its justification and
    #: ``causes_examined: {process: true, procedure: true, system: true}``
    root_cause_category = Choice(RootCauseCategory)
    human_error_justification = Text(10_000)
    causes_examined = Mapping(more={"properties": {c.value: {"type": "boolean"} for c in ExaminedCause},
                                    "additionalProperties": False})
    #: REC-11 (21 CFR 211.192): does the investigation extend to other batches or products? With the decision, its
    #: rationale; with yes, the batches (same product) or the products it extends to
    extend_to_other_batches = Bool(more={"description": _EXTENSION})
    extension_rationale = Text(10_000)
    extension_batch_nos = Codes(Msg("A list of batch numbers."), more={
        "description": "Batches of the same product the investigation extends to (the adjacent batches listed)."})
    extension_product_codes = Codes(Msg("A list of product codes."), more={
        "description": "Other products the investigation extends to."})





class OtherBatchesDecision(Body):
    """``POST /complaints/<id>/other-batches-decision``: the decision whether the investigation extends to other
    batches or products, recorded after an investigation recorded without it (REC-11); changing a decision already
    recorded says why (``reason``)."""

    extend_to_other_batches = Bool(required=True)
    extension_rationale = Text(10_000, required=True)
    extension_batch_nos = Codes(Msg("A list of batch numbers."))
    extension_product_codes = Codes(Msg("A list of product codes."))
    reason = Text(5000)


class Reply(Body):
    """The reply as sent. With an approved reply report, the summary is the report's (and may be left
    out); ``sent_by`` is the user name of the sales person who sent it (SOP 5.6.1)."""

    replied_on = Day(required=True)
    summary = Text(20_000)
    sent_by = Text(150)


class UserEmail(Body):
    """A person's address for their notices (set by the administrator)."""

    email = Email()


class ReplyReportDraft(Body):
    """``POST /complaints/<id>/reply-reports``: QA drafts the reply report for the next reply; redrafting
    one already drafted or approved says why."""

    summary = Text(20_000, required=True)
    reason = Text(5000)


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


class Assessment(Body):
    reasonable = Bool(required=True)
    actions = Codes(Msg("A list of: %(choices)s.", choices=", ".join(ASSESSMENT_ACTION_LABELS)),
                    choices=tuple(ASSESSMENT_ACTION_LABELS))
    adr_confirmed = Bool(required=True)
    regulator_report_required = Bool(required=True)


class AdrHandOff(Body):
    """``POST /complaints/<id>/adr``: a suspected adverse reaction handed to pharmacovigilance (the first
    entry is the initial report, later ones follow-ups)."""

    aware_on = Day(required=True)
    seriousness = Choice(Seriousness, required=True)
    unexpected = Bool(required=True)
    reporter = Text(2000)
    patient = Text(2000)
    reaction = Text(10_000)
    #: part of a group adverse event (药品群体不良事件): reported at once to three authorities
    group_event = Bool()


class AdrElements(Body):
    """``POST /complaints/<id>/adr/<n>/elements``: minimum elements that were missing, or a correction of
    one recorded (with a reason)."""

    reporter = Text(2000)
    patient = Text(2000)
    reaction = Text(10_000)
    reason = Text(2000)


class AdrSubmission(Body):
    """``POST /complaints/<id>/adr/<n>/submission``: the safety-database case and its submission."""

    case_number = Text(64, required=True, collapse_spaces=True)
    submitted_at = Moment(required=True)
    reference = Text(200)


class AdrInvestigationRequestBody(Body):
    """``POST /complaints/<id>/adr/<n>/investigation-requests``: PV asks for a batch-quality
    investigation (HO-03)."""

    question = Text(5000, required=True)
    batch_nos = Codes(Msg("A list of batch numbers."))


class AdrInvestigationAnswer(Body):
    """``POST /complaints/<id>/adr/<n>/investigation-requests/<k>/answer``: QA's answer, fed back to PV."""

    answer = Text(10_000, required=True)


class FollowUpCall(Body):
    """``POST /complaints/<id>/follow-up-calls``: the customer called back after closure (回访)."""

    called_on = Day(required=True)
    result = Choice(CallResult, required=True)
    note = Text(5000)


class Assignment(Body):
    owner = Text(64)
    investigator = Text(64)
    reason = Text(5000)


class BatchCorrection(Body):
    batch_nos = Codes(Msg("A list of batch numbers."), required=True)
    batch_unknown_reason = Text(2000)
    reason = Text(5000, required=True)


class ExtensionRequest(Body):
    kind = Choice(Extensible, required=True)
    new_due_on = Day(required=True)
    reason = Text(5000, required=True)


class QuarantineRequest(Body):
    batch_nos = Codes(Msg("A list of batch numbers."), required=True)
    reason = Text(5000, required=True)


class QuarantineAnswer(Body):
    status = Choice(QuarantineStatus, required=True)
    answered_on = Day(required=True)
    quantity = Text(64)
    location = Text(200)


class Credentials(Body):
    """The signer's own user name and password, entered again at every signing (21 CFR 11.200)."""

    username = Text(64, required=True)
    password = Password(required=True)


class Regrading(Credentials):
    complaint_class = Choice(ComplaintClass, required=True)
    reason = Text(5000, required=True)
    #: REC-08: the grading as the new class stands; each left out stays as recorded
    severity = Choice(Severity, more={"description": "The severity of harm under the new class (REC-08); left out, "
                                                     "the severity recorded stays (and must suit the new class)."})
    units_affected = CountOrUnknown()
    batches_affected = CountOrUnknown()
    markets_affected = Codes(Msg("A list of market codes (CN, US, DE …, EU)."))


class RegradingForm(Regrading):
    """The regrading as the page posts it: the severity and the extent are stated again (REC-08; checked by the use
    case)."""

    units_affected_unknown = Bool()
    batches_affected_unknown = Bool()


class SpecFailureDetermination(Credentials):
    """``POST /complaints/<id>/spec-failure-determination``: the head of quality determines, and signs in the same
    step, whether a possible failure to meet specification needs a 21 CFR 211.192 investigation (WF-02)."""

    investigation_required = Bool(required=True)
    rationale = Text(5000, required=True)


class Closure(Credentials):
    comment = Text(5000)


class Signing(Credentials):
    """``POST /complaints/<id>/signatures``: the step (the meaning follows from it) and a comment."""

    step = Text(40, required=True, more={"enum": ["qp_acknowledgement", "interim_risk_decision",
                                                      "sales_confirmation", "audit_trail_review",
                                                      "extension_approval", "extension_rejection", "void_approval",
                                                      "void_rejection", "capa_not_needed", "reply_approval"]})
    comment = Text(5000)
    subject = Text(64)
    #: the interim risk decision's measures (class I): what is decided, signed by the QA head and the QP
    measures = Codes(Msg("A list of: stop_shipment, quarantine, recall_evaluation, customer_communication, "
                         "authority_communication, monitor_only."))
    extension_id = Id(Msg("The id of the extension request (a number)."))


class LegalHoldPlacing(Credentials):
    reason = Text(5000, required=True)


class LegalHoldRelease(Credentials):
    reason = Text(5000, required=True)


class DisposalBatch(Credentials):
    """``POST /retention/disposal-batches``: the complaints (ids) the head of quality disposes of by one signature."""

    complaint_ids = Ids(Msg("List the complaints (ids)."), required=True, validate=validate.Length(min=1, max=1000))
    reason = Text(5000, required=True)


class Disposing(Credentials):
    """``POST /complaints/<id>/disposal {reason, username, password}``: the head of quality disposes of it."""

    reason = Text(5000, required=True)


class Retention(Credentials):
    retention_until = Day(required=True)
    reason = Text(5000, required=True)


# --- CAPA (SOP 5.7, DESIGN §4) ------------------------------------------------------------------


class CapaCreation(Body):
    source = Choice(CapaSource)
    complaint_ids = Ids(Msg("A list of complaint ids."))
    problem_statement = Text(10_000, required=True)
    root_cause = Text(10_000)
    risk = Text(10_000, required=True)
    effectiveness_criteria = Text(10_000, required=True)
    effectiveness_due_on = Day(required=True)
    follow_up_of = Id(Msg("The id of the CAPA found not effective."))
    #: WF-13: the reference of a source other than complaints (DEV-2026-031; a recall's or CAPA's number)
    source_reference = Text(100, collapse_spaces=True)
    #: WF-13: does the CAPA change a process, a specification or software? (answered before the plan approval)
    change_control_required = Bool()
    change_control_ref = Text(64, collapse_spaces=True)


class CapaLink(Body):
    complaint_id = Id(Msg("The id of a complaint."), required=True)


class CapaActionPlan(Body):
    kind = Choice(ActionKind, required=True)
    description = Text(10_000, required=True)
    owner = Text(64, required=True)
    due_on = Day(required=True)
    #: external rectification: the party that carries the action out (the owner is the internal contact)
    external_party = Text(200, collapse_spaces=True)


class Implementation(Body):
    implemented_on = Day(required=True)
    evidence = Text(20_000, required=True)


class DueDateRequest(Body):
    new_due_on = Day(required=True)
    reason = Text(5000, required=True)


class CapaSigning(Credentials):
    comment = Text(5000)


class EffectivenessCheck(Credentials):
    result = Choice(Effectiveness, required=True)
    evidence = Text(20_000, required=True)
    #: required before the check's due date: why the CAPA can be judged now
    early_reason = Text(5000)


class CapaSourceLinking(Body):
    """``POST /capas/<id>/sources``: a source other than a complaint (complaints link by id)."""

    source_type = Choice(CapaSource, required=True)
    reference = Text(100, required=True, collapse_spaces=True)


class CapaPlanDetails(Body):
    """``POST /capas/<id>/plan-details``: the change-control answer and reference, the planned effectiveness
    check; a field not given stays as it is. Changing what is already recorded needs the reason."""

    change_control_required = Bool()
    change_control_ref = Text(64, collapse_spaces=True)
    effectiveness_criteria = Text(10_000)
    effectiveness_due_on = Day()
    reason = Text(5000)


class CapaFollowUpLink(Body):
    """``POST /capas/<id>/follow-ups``: an existing CAPA answers this one, found not effective."""

    capa_number = Text(16, required=True, collapse_spaces=True)


class EffectivenessWaiver(Credentials):
    """The head of quality's signed justification that no effectiveness check is needed."""

    justification = Text(10_000, required=True)


class EffectivenessEscalation(Credentials):
    """The head of quality's signed escalation of a result "not effective" (where no follow-up CAPA answers it)."""

    reason = Text(10_000, required=True)


# --- configuration ------------------------------------------------------------------------------


CRITERIA_LIST = Msg("A list of criteria, each with complaint_class, code, text_zh and text_en.")


def _not_empty(items: list, message: Msg) -> None:
    if not items:
        raise SchemaError([message])


class Criterion(Body):
    complaint_class = Choice(ComplaintClass, required=True)
    code = Text(48, required=True)
    text_zh = Text(2000, required=True)
    text_en = Text(2000, required=True)


class CriteriaVersion(Body):
    """A new version of the SOP §3 class criteria (never an edit of the one in force)."""

    version = Text(16, required=True, collapse_spaces=True)
    effective_from = Day(required=True)
    reason = Text(5000, required=True)
    change_control_ref = change_control_ref()
    criteria = fields.List(fields.Nested(Criterion), required=True,
                           validate=lambda items: _not_empty(items, CRITERIA_LIST),
                           error_messages={"required": REQUIRED, "null": REQUIRED, "invalid": CRITERIA_LIST})


class CalendarNoticeLoad(Body):
    """The official holiday notice loaded into a calendar (the file comes as an upload): why, and under which
    change control (AT-10)."""

    reason = Text(5000, required=True)
    change_control_ref = change_control_ref()


class TimeLimitChange(Body):
    key = Text(40, required=True)
    working_days = fields.Raw(required=True, metadata={"type": "integer", "minimum": 1, "maximum": 250},
                              error_messages={"required": REQUIRED, "null": REQUIRED})
    reason = Text(5000, required=True)
    change_control_ref = change_control_ref()


#: every body above, by the name the OpenAPI document gives it
SCHEMAS = {cls.__name__: cls for cls in (Product, Batch, Distribution, Complainant, Registration, Acknowledgement, Validity,
                                          SpecFailureDetermination, NotKnownMark, Classification, OtherBatchesDecision,
                                          Investigation, Reply, ReplyReportDraft, CustomerResponse, Reminder, FollowUp, VoidRequest,
                                          Assessment, Assignment, BatchCorrection, ExtensionRequest,
                                          QuarantineRequest, QuarantineAnswer, Credentials, Regrading, Closure,
                                          Signing, Retention, LegalHoldPlacing, LegalHoldRelease, Disposing, DisposalBatch, CapaCreation, CapaLink, CapaActionPlan,
                                          Implementation, DueDateRequest, CapaSigning, EffectivenessCheck,
                                          Criterion, CriteriaVersion, TimeLimitChange, CalendarNoticeLoad)}
SCHEMAS.update({cls.__name__: cls for cls in (CapaSourceLinking, CapaPlanDetails, CapaFollowUpLink,
                                             EffectivenessWaiver, EffectivenessEscalation)})


# --- recall (DESIGN §4, §6) --------------------------------------------------------------------


MARKET_ACTION_LIST = Msg("A list of market actions, each with market and action.")


class MarketAction(Body):
    """HO-05: what the decision requires in one market, e.g. ``{"market": "US", "action": "FDA 3-day
    notification"}``."""

    market = Text(8, required=True, collapse_spaces=True)
    action = Text(2000, required=True)


def _market_actions(required: bool = False):
    return fields.List(fields.Nested(MarketAction), required=required, allow_none=not required,
                       error_messages={"required": REQUIRED, "null": REQUIRED, "invalid": MARKET_ACTION_LIST},
                       metadata={"description": "HO-05: the market-specific actions of the decision, one per market "
                                                "where the affected batches were distributed (the product's markets)."},
                       **({} if required else {"load_default": None}))


class RecallProposal(Body):
    """``POST /recalls``: proposed from complaints, a batch, a trend signal or a regulator's order."""

    complaint_ids = Ids(Msg("A list of complaint ids."))
    batch_nos = Codes(Msg("A list of batch numbers."), required=True)
    product_code = Text(64, collapse_spaces=True)
    origin = Choice(RecallOrigin)
    origin_reference = Text(200)
    level = Choice(RecallLevel, required=True)
    depth = Choice(RecallDepth, required=True)
    fda_class = Choice(FdaClass)
    reason = Text(10_000, required=True)
    safety_hazard = Bool(required=True)
    no_alternative_product = Bool()
    supply_impact = Text(10_000)
    mock = Bool()
    authority_notice_exception = Text(10_000)
    market_actions = _market_actions()


class RecallMarketActions(Body):
    """``POST /recalls/<id>/market-actions``: the market-specific actions set (or replaced) before the decision is
    signed; a change to the proposal, so with a reason. An empty list removes them."""

    market_actions = _market_actions(required=True)
    reason = Text(5000, required=True)


class RecallSigning(Credentials):
    """``POST /recalls/<id>/signatures``."""

    step = Text(40, required=True, more={"enum": ["recall_decision", "recall_closure"]})
    comment = Text(5000)


class RecallReconciliationEntry(Body):
    consignee = Text(200, required=True, collapse_spaces=True)
    batch_no = Text(64, required=True, collapse_spaces=True)
    quantity_recovered = Count(required=True)
    quantity_destroyed = Count(required=True)
    explanation = Text(5000)
    reason = Text(5000)


class RecallCancellation(Body):
    reason = Text(5000, required=True)


class RecallCompletion(Body):
    comment = Text(5000)


class NotificationSent(Body):
    """``POST /notifications/<id>/sent``: when, how and the authority's reference."""

    sent_at = Moment(required=True)
    method = Text(32, required=True, collapse_spaces=True)
    reference = Text(200)
    #: who received it (a field alert: the FDA office; required there)
    recipient = Text(200, collapse_spaces=True)
    #: a field alert only: this was the final FAR (otherwise a follow-up report becomes due)
    final = Bool()


class RecallClockChange(Body):
    notify_hours = Count(required=True)
    report_and_plan_days = Count(required=True)
    progress_every_days = Count(required=True)
    reason = Text(5000, required=True)
    change_control_ref = change_control_ref()


class RecallBatchDispositionEntry(Credentials):
    batch_no = Text(64, required=True, collapse_spaces=True)
    decision = Choice(BatchDecision, required=True)
    rationale = Text(5000)
    test_reference = Text(200)
    comment = Text(5000)


class RecallEffectivenessChoice(Body):
    level = Choice(EffectivenessLevel, required=True)
    seed = Text(64)


class RecallEffectivenessContactEntry(Body):
    consignee = Text(200, required=True, collapse_spaces=True)
    contacted_on = Day(required=True)
    method = Text(32, required=True, collapse_spaces=True)
    result = Choice(ContactResult, required=True)
    note = Text(5000)


class RecallNoticeSent(Body):
    consignee = Text(200, required=True, collapse_spaces=True)
    sent_at = Moment(required=True)
    method = Text(32, required=True, collapse_spaces=True)


class RecallNoticeEmail(Body):
    consignee = Text(200, required=True, collapse_spaces=True)
    lang = Text(8, more={"enum": ["zh", "en"]})


SCHEMAS.update({cls.__name__: cls for cls in (RecallBatchDispositionEntry, RecallEffectivenessChoice,
                                             RecallEffectivenessContactEntry, RecallNoticeSent, RecallNoticeEmail)})
SCHEMAS.update({cls.__name__: cls for cls in (MarketAction, RecallProposal, RecallSigning, RecallReconciliationEntry,
                                             RecallCancellation, RecallCompletion, NotificationSent,
                                             RecallClockChange, RecallMarketActions)})


# --- returned goods (SOP 5.5.2) ----------------------------------------------------------------


class ReturnReceipt(Body):
    """``POST /returns``: what came back, linked to a complaint or standalone."""

    complaint_id = Id(Msg("The id of a complaint."))
    product_code = Text(64, collapse_spaces=True)
    batch_no = Text(64, required=True, collapse_spaces=True)
    #: the consignee of the delivery it came back from, where it was one (checked against the distribution records)
    consignee = Text(200, collapse_spaces=True)
    #: REC-16 (21 CFR 211.204, China GMP Art. 136): through whom it came back, who returned it, from where, and why
    channel = Choice(ReturnChannel, required=True)
    returning_party = Text(200, required=True, collapse_spaces=True)
    returning_party_address = Text(1000, required=True)
    return_reason = Text(5000, required=True)
    quantity_received = Quantity(required=True)
    condition = Text(5000, required=True)
    received_on = Day(required=True)


class ReturnEvaluation(Body):
    storage_conditions = Text(5000, required=True)
    sample_result = Choice(SampleResult, required=True)
    test_reference = Text(200)
    other_batches_implicated = Bool(required=True)
    investigation_ref = Text(200)
    reason = Text(5000)


class ReturnDisposition(Credentials):
    disposition = Choice(Disposition, required=True)
    rationale = Text(5000)
    comment = Text(5000)


SCHEMAS.update({cls.__name__: cls for cls in (ReturnReceipt, ReturnEvaluation, ReturnDisposition)})


class CompensationTerms(Body):
    """``POST /complaints/<id>/compensations``: what sales and finance agreed with the customer."""

    amount = Money(required=True)
    currency = Text(3, required=True, collapse_spaces=True)
    #: the amount in CNY, for another currency (the approval ladder is in CNY)
    amount_cny = Money()
    agreed_on = Day(required=True)
    finance_reference = Text(200, required=True, collapse_spaces=True)
    note = Text(5000)


class CompensationDecision(Credentials):
    """``POST /complaints/<id>/compensations/<n>/decision``: approved or rejected by signature."""

    decision = Text(10, required=True, more={"enum": ["approve", "reject"]})
    comment = Text(5000)


class CompensationLimitChange(Body):
    level = Choice(ApprovalLevel, required=True)
    limit = Money()
    reason = Text(2000, required=True)
    change_control_ref = change_control_ref()


class CompensationAuthorityChange(Body):
    username = Text(64, required=True, collapse_spaces=True)
    level = Choice(ApprovalLevel)
    reason = Text(2000, required=True)
    change_control_ref = change_control_ref()


class TrendEvaluation(Body):
    """``POST /trend-reviews/<id>/evaluation``: the QA head's evaluation of a signal; ``capa`` (a CAPA
    body) with ``decision: capa``, the signer's credentials with ``decision: no_capa``."""

    evaluation = Text(10_000, required=True)
    decision = Text(8, required=True, more={"enum": ["capa", "no_capa"]})
    capa = Mapping()
    username = Text(64)
    password = Password()


class QuarterlyReviewPreparation(Body):
    """``POST /quarterly-reviews``: the quarter (``2026-Q3``) and the administrator's conclusions."""

    quarter = Text(8, required=True, collapse_spaces=True)
    conclusions = Text(20_000, required=True)


class QuarterlyReviewApproval(Credentials):
    """``POST /quarterly-reviews/<id>/approval``: the QA head's signature and a comment."""

    comment = Text(5000)


class TrendRuleChange(Body):
    """``POST /trends/rules``: the signal rules' settings to change, with the reason (TR-01)."""

    recurrence_count = Number()
    recurrence_window_days = Number()
    u_chart_quarters = Number()
    u_chart_alert_sigma = Number()
    u_chart_action_sigma = Number()
    reason = Text(2000, required=True)
    change_control_ref = change_control_ref()


SCHEMAS.update({cls.__name__: cls for cls in (ProductMarkets, AdrHandOff, AdrElements, AdrSubmission, FollowUpCall,
                                             AdrInvestigationRequestBody, AdrInvestigationAnswer, TrendRuleChange,
                                             TrendEvaluation, QuarterlyReviewPreparation, QuarterlyReviewApproval,
                                             CompensationTerms, CompensationDecision, CompensationLimitChange,
                                             CompensationAuthorityChange)})


# --- access changes (SEC-01, SEC-04) -----------------------------------------------------------


class AccessChangeRequest(Body):
    """``POST /access-requests``: the administrator asks for a change of access, with the reason (SEC-04); nothing
    changes until the head of quality approves. ``kind`` ``create_user`` takes ``username``, ``printed_name``,
    ``roles`` (none for a service account), ``account_type`` (``person`` or ``service``, SEC-01), ``email`` and
    ``identity_verified``; ``change_roles`` takes ``user_id`` and the new ``roles``; ``deactivate_user`` takes
    ``user_id``."""

    kind = Choice(AccessRequestKind, required=True)
    reason = Text(1000, required=True)
    user_id = Id(Msg("The id of a user."))
    username = Text(64)
    printed_name = Text(200, collapse_spaces=True)
    roles = Codes(Msg("A list of role keys."), choices=tuple(role.value for role in Role))
    account_type = Choice(AccountType, default=AccountType.person)
    email = Email()
    identity_verified = Bool(default=False)


class AccessDecisionBody(Credentials):
    """``POST /access-requests/<id>/decision``: the head of quality approves or rejects (a rejection says why),
    entering their own user name and password again."""

    decision = Choice(AccessDecision, required=True)
    comment = Text(1000)


SCHEMAS.update({cls.__name__: cls for cls in (AccessChangeRequest, AccessDecisionBody)})


# --- due dates kept on an earlier calendar (WF-05) and the ADR clocks (HO-01) ------------------------------


class DeadlineRecalculation(Body):
    """``POST /complaints/<id>/deadline-recalculation``: why QA moves the complaint's due dates calculated on an
    earlier calendar to the calendar in force."""

    reason = Text(5000, required=True)


class DeadlineRecalculations(Body):
    """``POST /deadline-recalculations``: the listed complaints' due dates (all of them, or those named)."""

    reason = Text(5000, required=True)
    complaint_ids = Ids(Msg("A list of complaint ids."))


class AdrClockChange(Body):
    """``POST /adr-clocks/<rule>``: the clock in calendar days after day 0 (0: at once), with the reason and the
    change-control reference (a configuration change)."""

    days = Count(required=True)
    reason = Text(5000, required=True)
    change_control_ref = change_control_ref()


SCHEMAS.update({cls.__name__: cls for cls in (DeadlineRecalculation, DeadlineRecalculations, AdrClockChange)})


# --- responsible officials (WF-11) --------------------------------------------------------------------------


class ResponsibleOfficialsChange(Body):
    """``POST /responsible-officials``: the whole list of responsible officials of one scope (user names; an empty
    list goes back to the head of quality), with the reason and the change-control reference (a configuration
    change, AT-10)."""

    scope = Choice(OfficialScope, required=True)
    usernames = Codes(Msg("A list of user names."), required=True)
    reason = Text(5000, required=True)
    change_control_ref = change_control_ref()


SCHEMAS.update({cls.__name__: cls for cls in (ResponsibleOfficialsChange,)})

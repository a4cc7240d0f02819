"""The OpenAPI description of /api/v1, built with apispec from the same marshmallow schemas."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gmp_complaints.api import PasswordChangeRequest, StatementRequest, TokenRequest
from gmp_complaints.domain.plausibility import EARLIEST_DATE, LATEST_DATE
from gmp_complaints.services.schemas import SCHEMAS

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
            404: "Unknown", 409: "Not allowed in the current state", 413: "The body is larger than any request needs",
            423: "Account locked", 429: "Too many failed password checks from this address; Retry-After says when to "
                                         "try again"}
    if 423 in codes:  # every call that checks a password may also meet the per-address rate limit
        codes = (*codes, 429)
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for c in codes}


_DATE = {"type": "string", "format": "date"}
_MOMENT = {"type": "string", "format": "date-time"}
_CLASS = {"type": "string", "enum": ["I", "II", "III"], "nullable": True}
#: the answers whose shape DESIGN §6 fixes, as the fuzzer's response checks hold the server to them
RESPONSE_SCHEMAS = {
    "Complaint": {
        "type": "object",
        "required": ["id", "intake_ref", "number", "complaint_class", "original_class", "status", "received_on",
                     "product_code", "batch_nos", "complaint_type", "retention_until", "deadlines", "signatures"],
        "properties": {
            "id": {"type": "integer", "minimum": 1}, "intake_ref": {"type": "string"},
            "number": {"type": "string", "nullable": True}, "complaint_class": _CLASS, "original_class": _CLASS,
            "status": {"type": "string", "enum": ["registered", "under_investigation", "assessed", "awaiting_customer",
                                                  "closure_pending", "closed", "void", "disposed"]},
            "received_on": _DATE, "product_code": {"type": "string"},
            "batch_nos": {"type": "array", "items": {"type": "string"}},
            "complaint_type": {"type": "string", "enum": ["adr", "intrinsic_quality", "inner_packaging",
                                                          "outer_packaging", "packaging_design", "other"]},
            "retention_until": _DATE,
            "deadlines": {"type": "object", "properties": {"reminder_due_on": {**_DATE, "nullable": True},
                                                           "close_eligible_on": {**_DATE, "nullable": True}}},
            "signatures": {"type": "array", "items": {
                "type": "object",
                "required": ["step", "meaning", "signer_name", "signed_at", "record_version", "record_hash", "status"],
                "properties": {"signed_at": _MOMENT, "record_version": {"type": "integer"},
                               "record_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                               "status": {"type": "string", "enum": ["valid", "superseded"]}}}},
        },
    },
    "Recall": {
        "type": "object",
        "required": ["id", "number", "status", "level", "batch_nos", "complaint_ids", "decided_at", "deadlines",
                     "signatures"],
        "properties": {
            "id": {"type": "integer", "minimum": 1}, "number": {"type": "string", "pattern": "^RC-[0-9]{2}-[0-9]{3,}$"},
            "status": {"type": "string", "enum": ["proposed", "in_progress", "completed", "closed", "cancelled"]},
            "level": {"type": "string", "enum": ["I", "II", "III"]},
            "batch_nos": {"type": "array", "items": {"type": "string"}},
            "complaint_ids": {"type": "array", "items": {"type": "integer"}},
            "decided_at": {**_MOMENT, "nullable": True},
            "deadlines": {"type": "object", "properties": {
                name: {**_MOMENT, "nullable": True}
                for name in ("notify_consignees_by", "report_and_plan_by", "next_progress_report_by")}},
            "signatures": {"type": "array", "items": {"type": "object"}},
        },
    },
    "AuditEvents": {
        "type": "object", "required": ["events"],
        "properties": {"total": {"type": "integer", "minimum": 0}, "events": {"type": "array", "items": {
            "type": "object", "required": ["index", "occurred_at", "actor", "action", "entity", "changes", "reason"],
            "properties": {"index": {"type": "integer", "minimum": 0}, "occurred_at": _MOMENT,
                           "actor": {"type": "object", "required": ["id", "name"]}, "action": {"type": "string"},
                           "entity": {"type": "string"}, "reason": {"type": "string", "nullable": True}}}}},
    },
    "Notifications": {
        "type": "object", "required": ["notifications"],
        "properties": {"notifications": {"type": "array", "items": {
            "type": "object", "required": ["id", "kind", "authority", "subject", "due_at", "sent_at", "status",
                                           "reference"],
            "properties": {"kind": {"type": "string", "enum": ["adr_report", "recall_notice", "recall_report_and_plan",
                                                               "recall_progress", "field_alert", "quality_report"]},
                           "due_at": {**_MOMENT, "nullable": True}, "sent_at": {**_MOMENT, "nullable": True}}}}},
    },
}
_COMPLAINT_ANSWERS = ("/api/v1/complaints", "/api/v1/complaints/{complaint_id}/signatures",
                      "/api/v1/complaints/{complaint_id}/closure", "/api/v1/complaints/{complaint_id}/retention",
                      "/api/v1/complaints/{complaint_id}/regrading", "/api/v1/complaints/{complaint_id}/not-known",
                      "/api/v1/complaints/{complaint_id}/spec-failure-determination",
                      "/api/v1/complaints/{complaint_id}/other-batches-decision",
                      "/api/v1/complaints/{complaint_id}/follow-ups",
                      "/api/v1/complaints/{complaint_id}/follow-up-calls",
                      "/api/v1/complaints/{complaint_id}/quarantine-requests",
                      "/api/v1/complaints/{complaint_id}/quarantine-requests/{request_id}/answer",
                      "/api/v1/complaints/{complaint_id}/legal-hold",
                      "/api/v1/complaints/{complaint_id}/legal-hold/release",
                      "/api/v1/complaints/{complaint_id}/disposal", "/api/v1/complaints/{complaint_id}/adr",
                      "/api/v1/complaints/{complaint_id}/adr/{sequence}/elements",
                      "/api/v1/complaints/{complaint_id}/adr/{sequence}/acceptance",
                      "/api/v1/complaints/{complaint_id}/adr/{sequence}/submission",
                      "/api/v1/complaints/{complaint_id}/adr/{sequence}/investigation-requests",
                      "/api/v1/complaints/{complaint_id}/adr/{sequence}/investigation-requests/{number}/answer")
#: (method, path) → the component its success answers with
ANSWERS = {
    ("get", "/api/v1/complaints/{complaint_id}"): "Complaint",
    **{("post", path): "Complaint" for path in _COMPLAINT_ANSWERS},
    **{("post", f"/api/v1/complaints/{{complaint_id}}/{step}"): "Complaint" for step in (
        "acknowledgement", "validity", "classification", "investigation", "assessment", "reply-reports", "replies",
        "customer-responses", "reminders", "assignment", "batches", "extension-requests", "void-requests")},
    ("get", "/api/v1/recalls/{recall_id}"): "Recall",
    ("post", "/api/v1/recalls"): "Recall",
    ("get", "/api/v1/audit/events"): "AuditEvents",
    ("get", "/api/v1/notifications"): "Notifications",
}


def _body(schema) -> dict:
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
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    for name, schema in RESPONSE_SCHEMAS.items():
        spec.components.schema(name, schema)
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
        "responses": {"200": {"description": "The user", "content": {"application/json": {"schema": {
            "type": "object", "required": ["id", "username", "printed_name", "roles"]}}}}, **_errors(400, 401, 403)},
    }})
    _complaint_paths(spec)
    description = spec.to_dict()
    for name, schema in description["components"]["schemas"].items():
        if name != "Error" and name not in RESPONSE_SCHEMAS:
            _describe_text_bounds(schema)
            schema["additionalProperties"] = False
    return description


#: what every text field may hold (services.inputs.character_problem): no C0 control character but tab, line feed
#: and carriage return; a required text is not blank (it is stripped, and blank counts as missing)
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"
REQUIRED_TEXT_PATTERN = ("^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*[^\\s\\u0000-\\u001f]"
                         "[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$")


def _describe_text_bounds(schema: dict) -> None:
    """The bounds every text of a request body meets, written into its JSON schema: free text gets the pattern of
    the characters it may hold (a required one also a character that is not a space); a password is not empty; a
    date says its span. Enumerations, times and fields with a pattern of their own are already narrower."""
    required = set(schema.get("required", []))
    for name, field in schema.get("properties", {}).items():
        _bound_text(field, name in required)


def _bound_text(field: dict, required: bool) -> None:
    if field.get("type") == "object":
        _describe_text_bounds(field)
    elif field.get("type") == "array" and isinstance(field.get("items"), dict):
        _bound_text(field["items"], required=True)
    elif field.get("type") == "string" and not {"enum", "pattern"} & field.keys():
        if field.get("format") == "date":  # domain.plausibility: the span any record's date may take
            field.setdefault("description", f"YYYY-MM-DD, from {EARLIEST_DATE} to {LATEST_DATE}")
        elif field.get("format") == "password":
            field.update(minLength=1, pattern=TEXT_PATTERN)
        elif "format" not in field:
            field["pattern"] = REQUIRED_TEXT_PATTERN if required else TEXT_PATTERN


#: (method, path, summary, success status, error statuses) of the complaint process (DESIGN §6)
COMPLAINT_OPERATIONS = (
    ("post", "/api/v1/products", "Create a product", 201, (400, 401, 403, 409)),
    ("post", "/api/v1/products/{code}/markets", "Change where a product is marketed and its marketing "
     "authorisation holder (with a reason)", 200, (400, 401, 403, 404)),
    ("post", "/api/v1/batches", "Create a batch", 201, (400, 401, 403, 409)),
    ("get", "/api/v1/batches/{batch_id}", "A batch with its complaints, adjacent batches and consignees", 200, (401, 404)),
    ("post", "/api/v1/distributions", "Create a distribution record", 201, (400, 401, 403, 409)),
    ("post", "/api/v1/complaints", "Register a complaint (intake reference at once)", 201, (400, 401, 403)),
    ("get", "/api/v1/complaints/{complaint_id}", "The complaint with deadlines and signatures", 200, (401, 403, 404)),
    ("delete", "/api/v1/complaints/{complaint_id}", "Always refused: retention, then signed disposal", 409, (401, 403, 404)),
    *(("post", f"/api/v1/complaints/{{complaint_id}}/{step}", f"Step: {step}", 200, (400, 401, 403, 404, 409))
      for step in ("acknowledgement", "validity", "classification", "investigation", "assessment", "reply-reports", "replies",
                   "customer-responses", "reminders", "assignment", "batches", "extension-requests",
                   "void-requests")),
    ("post", "/api/v1/complaints/{complaint_id}/regrading",
     "Regrade {complaint_class, reason, username, password}; the QA head signs in the same step", 200,
     (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/complaints/{complaint_id}/other-batches-decision", "REC-11: the decision whether the "
     "investigation extends to other batches or products {extend_to_other_batches, extension_rationale, "
     "extension_batch_nos, extension_product_codes, reason}, after an investigation recorded without it (changing a "
     "recorded decision says why); a complaint assessed reasonable is not closed without it", 200,
     (400, 401, 403, 404, 409)),
    ("post", "/api/v1/complaints/{complaint_id}/spec-failure-determination", "WF-02: the head of quality determines "
     "whether a flagged possible failure to meet specification needs a 21 CFR 211.192 investigation "
     "{investigation_required, rationale, username, password}, signed in the same step; until then classification "
     "and the not-substantiated path are refused (409)", 200, (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/complaints/{complaint_id}/not-known", "REC-02: mark a missing item of the complaint file not "
     "known {item, reason} (QA); the closure is refused while an item is neither recorded nor marked", 200,
     (400, 401, 403, 404, 409)),
    ("post", "/api/v1/complaints/{complaint_id}/adr", "Hand a suspected adverse reaction to pharmacovigilance "
     "(the first is the initial report, later ones follow-ups)", 201, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/complaints/{complaint_id}/adr/{sequence}/elements", "Add the missing minimum elements of an "
     "ADR hand-off (a correction needs a reason)", 200, (400, 401, 403, 404, 409)),
    ("get", "/api/v1/complaints/{complaint_id}/adr/{sequence}/packet", "The hand-off packet PV receives (JSON): the "
     "case, the complaint, the product and batches, attachments by SHA-256", 200, (401, 403, 404)),
    ("get", "/api/v1/complaints/{complaint_id}/adr/{sequence}/packet.pdf", "The hand-off packet as PDF", 200,
     (401, 403, 404)),
    ("post", "/api/v1/complaints/{complaint_id}/adr/{sequence}/acceptance", "The PV officer accepts the hand-off",
     200, (401, 403, 404, 409)),
    ("post", "/api/v1/complaints/{complaint_id}/adr/{sequence}/submission", "The PV officer records the "
     "safety-database case and its submission", 200, (400, 401, 403, 404, 409)),
    ("get", "/api/v1/trends", "Trends of a period (from, to; product_code, complaint_type): counts and shares by "
     "class, type, channel, product, batch and market, rates per million units, previous periods, timeliness, "
     "CAPA, follow-up and signals; format=csv or xlsx for a table", 200, (400, 401, 403)),
    ("get", "/api/v1/trends/rules", "The signal rules in force", 200, (401, 403)),
    ("get", "/api/v1/products/{code}/annual-review", "The annual product review extract of a year (?year=; "
     "format=json|pdf|xlsx): complaints, recalls, returns, ADR hand-offs, CAPA; reproducible, audited", 200,
     (400, 401, 403, 404)),
    ("get", "/api/v1/quarterly-reviews", "The quarterly reviews, the newest first", 200, (401, 403)),
    ("post", "/api/v1/quarterly-reviews", "Prepare the review of a quarter {quarter, conclusions}: its figures "
     "frozen with their SHA-256", 201, (400, 401, 403, 409)),
    ("get", "/api/v1/quarterly-reviews/{review_id}", "A quarterly review: frozen figures, signatures, the quarter's "
     "trend reviews, whether the records still give the same figures", 200, (401, 403, 404)),
    ("post", "/api/v1/quarterly-reviews/{review_id}/approval", "The QA head's signature {username, password, "
     "comment}", 200, (400, 401, 403, 404, 409, 423)),
    ("get", "/api/v1/quarterly-reviews/{review_id}/report.pdf", "The review report (PDF, ?lang=en) from the frozen "
     "figures", 200, (401, 403, 404)),
    ("get", "/api/v1/trend-reviews", "Trend reviews (?status=open|capa_raised|no_capa)", 200, (400, 401, 403)),
    ("get", "/api/v1/trend-reviews/{review_id}", "A trend review with its signatures", 200, (401, 403, 404)),
    ("post", "/api/v1/trend-reviews/{review_id}/evaluation", "The QA head's evaluation: a CAPA (source trend) or a "
     "signed statement why none is needed; once", 200, (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/trends/rules", "Change signal rules {<setting>: value, reason} (QA head; audited)", 200,
     (400, 401, 403)),
    ("get", "/api/v1/complaints/{complaint_id}/adr/{sequence}/e2b.xml", "The minimum case as an ICH E2B(R3) ICSR "
     "message (HL7 v3 XML) for import into the safety database", 200, (401, 403, 404)),
    ("post", "/api/v1/complaints/{complaint_id}/adr/{sequence}/investigation-requests", "PV asks for a "
     "batch-quality investigation {question, batch_nos}", 201, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/complaints/{complaint_id}/adr/{sequence}/investigation-requests/{number}/answer", "QA answers "
     "PV's investigation request {answer}; once", 200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/complaints/{complaint_id}/follow-up-calls", "Record the follow-up call (回访) after "
     "closure {called_on, result, note}; the closed complaint does not change", 201, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/notifications/{notification_id}/copy", "Keep the copy of what was sent with a register entry "
     "(multipart file; once, after it is sent)", 201, (400, 401, 403, 404, 409)),
    ("get", "/api/v1/notifications/{notification_id}/copy", "The kept copy of what was sent", 200, (401, 403, 404)),
    ("post", "/api/v1/complaints/{complaint_id}/compensations", "Record the compensation agreed with the customer "
     "by sales and finance (SOP 5.5.1)", 201, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/complaints/{complaint_id}/compensations/{sequence}/decision", "Approve or reject a "
     "compensation by signature; the signer's approval level must cover the amount in CNY", 200,
     (400, 401, 403, 404, 409, 423)),
    ("get", "/api/v1/compensation-authorities", "The compensation approval ladder and who holds each level", 200,
     (401, 403)),
    ("post", "/api/v1/compensation-authorities", "Grant, change or withdraw a user's compensation approval level "
     "(administrator, with a reason)", 200, (400, 401, 403)),
    ("post", "/api/v1/compensation-ladder", "Change a level's compensation limit in CNY (administrator, with a "
     "reason)", 200, (400, 401, 403)),
    ("post", "/api/v1/complaints/{complaint_id}/follow-ups",
     "Open a follow-up complaint after closure {received_on, text}; the closed complaint does not change", 201,
     (400, 401, 403, 404, 409)),
    ("post", "/api/v1/complaints/{complaint_id}/quarantine-requests", "Request quarantine of stock (SOP 5.4.3)", 201,
     (400, 401, 403, 404, 409)),
    ("post", "/api/v1/complaints/{complaint_id}/quarantine-requests/{request_id}/answer",
     "The warehouse's answer to a quarantine request", 200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/complaints/{complaint_id}/attachments", "Add an attachment (multipart: file)", 201,
     (400, 401, 403, 404, 409)),
    ("get", "/api/v1/complaints/{complaint_id}/attachments/{attachment_id}", "Download an attachment", 200,
     (401, 403, 404)),
    ("delete", "/api/v1/complaints/{complaint_id}/attachments/{attachment_id}",
     "Always refused: attachments are kept with the complaint", 409, (401, 403, 404)),
    ("post", "/api/v1/complaints/{complaint_id}/signatures",
     "Sign a step {username, password, step, comment}; the meaning follows from the step", 201,
     (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/complaints/{complaint_id}/closure", "The QA head's closure signature and the closure", 200,
     (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/complaints/{complaint_id}/retention",
     "Move the retention date earlier {retention_until, reason, username, password} (QA head signs)", 200,
     (400, 401, 403, 404, 409, 423)),
    ("get", "/api/v1/complaints/{complaint_id}/audit-review",
     "The complaint's audit trail since the last signed review, critical fields marked", 200, (401, 403, 404)),
    ("get", "/api/v1/ledger", "The complaint ledger of a year (?year=&class=&status=) with unexplained gaps", 200,
     (400, 401, 403)),
    ("get", "/api/v1/signatures/waiting", "Steps waiting for my signature", 200, (401, 403)),
    ("get", "/api/v1/dashboard", "What is due for me (?scope=mine|all), overdue and escalated", 200, (400, 401, 403)),
    ("get", "/api/v1/class-criteria", "The SOP §3 class criteria, every version", 200, (401,)),
    ("post", "/api/v1/class-criteria", "Publish a new criteria version (QA head)", 201, (400, 401, 403)),
    ("get", "/api/v1/time-limits", "The time limits in working days", 200, (401,)),
    ("post", "/api/v1/time-limits", "Change a time limit with a reason (admin)", 200, (400, 401, 403, 404)),
    ("post", "/api/v1/capas", "Create a CAPA {complaint_ids, problem_statement, root_cause?, risk, "
     "effectiveness_criteria, effectiveness_due_on, follow_up_of?, source?, source_reference?, "
     "change_control_required?, change_control_ref?}: from complaints, or from another source named by its "
     "reference", 201, (400, 401, 403, 409)),
    ("post", "/api/v1/capas/{capa_id}/sources", "Link another source {source_type, reference}: product_rejection, "
     "non_conformance, deviation, audit, inspection or trend by its reference; recall or capa (found not effective: "
     "this CAPA follows it up) by its number", 200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/capas/{capa_id}/follow-ups", "An existing CAPA follows up this one, found not effective "
     "{capa_number}", 200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/capas/{capa_id}/plan-details", "Answer whether the CAPA changes a process, specification or "
     "software, its change-control reference, and the planned effectiveness check {change_control_required?, "
     "change_control_ref?, effectiveness_criteria?, effectiveness_due_on?, reason?} (a change needs the reason); "
     "required before the plan approval", 200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/capas/{capa_id}/effectiveness-waiver", "The QA head signs why no effectiveness check is needed "
     "{justification, username, password}", 200, (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/capas/{capa_id}/escalation", "The QA head escalates a result not effective {reason, username, "
     "password}, signed; in place of a follow-up CAPA", 200, (400, 401, 403, 404, 409, 423)),
    ("get", "/api/v1/capas", "CAPA records (?status=)", 200, (401, 403)),
    ("get", "/api/v1/capas/my-actions", "Open CAPA actions I own, with due dates", 200, (401, 403)),
    ("get", "/api/v1/capas/{capa_id}", "A CAPA with actions, effectiveness and signatures", 200, (401, 403, 404)),
    ("post", "/api/v1/capas/{capa_id}/complaints", "Link another complaint {complaint_id}", 200,
     (400, 401, 403, 404, 409)),
    ("post", "/api/v1/capas/{capa_id}/actions", "Plan an action {kind, description, owner, due_on}", 201,
     (400, 401, 403, 404, 409)),
    ("post", "/api/v1/capas/{capa_id}/actions/{action_id}/implementation",
     "The owner records the implementation {implemented_on, evidence}", 200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/capas/{capa_id}/actions/{action_id}/evidence", "Add an evidence file (multipart: file)", 201,
     (400, 401, 403, 404, 409)),
    ("get", "/api/v1/capas/{capa_id}/evidence/{evidence_id}", "Download an evidence file", 200, (401, 403, 404)),
    ("post", "/api/v1/capas/{capa_id}/actions/{action_id}/due-date-requests",
     "Request a new due date {new_due_on, reason}", 200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/capas/{capa_id}/actions/{action_id}/implementation-approval",
     "The QA head approves the implementation {username, password, comment}", 200, (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/capas/{capa_id}/actions/{action_id}/due-date-approval",
     "The QA head approves the new due date {username, password, comment}", 200, (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/complaints/{complaint_id}/legal-hold", "Place a legal hold {reason, username, password}, signed "
     "by the QA head; disposal is refused while it is in force", 200, (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/complaints/{complaint_id}/legal-hold/release", "Release the legal hold in force {reason, "
     "username, password}, signed by the QA head", 200, (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/complaints/{complaint_id}/disposal", "Dispose of a closed or void complaint after its "
     "retention date {reason, username, password}, signed by the QA head; 409 before the date or under a legal hold",
     200, (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/legacy-imports", "Import complaints from a previous ledger (multipart: file, username, "
     "password): all rows or none, every bad row listed; the reconciliation is signed by the QA head", 201,
     (400, 401, 403, 423)),
    ("post", "/api/v1/retention/disposal-batches", "Dispose of complaints due for disposal {complaint_ids, reason, "
     "username, password}: one signature of the QA head, then a background job", 202, (400, 401, 403, 409, 423)),
    ("get", "/api/v1/retention/disposal-due", "Complaints past their retention date, not yet disposed of", 200,
     (401, 403)),
    ("get", "/api/v1/notices", "My notices, newest first: a new complaint or investigation (QP), an assignment, a "
     "signature due", 200, (401, 403)),
    ("post", "/api/v1/notices/{notice_id}/acknowledgement", "WF-10: the person told (the QP) acknowledges a notice "
     "of a risk-reducing action or a recall (no body): when and by whom, once; 403 for someone else's notice, 409 "
     "for a notice that asks for none or one already acknowledged", 200, (401, 403, 404, 409)),
    ("get", "/api/v1/notices/delivery", "WF-11: the delivery log of the notices (?subject_type=&subject_id=&kind=): "
     "recipient, read, acknowledged, and the e-mail's status (not_emailed, pending, retrying, sent, failed) with "
     "its attempts and last error", 200, (400, 401, 403)),
    ("get", "/api/v1/responsible-officials", "WF-11: the responsible officials per scope (investigations, returns, "
     "recalls) and who is told now (the head of quality where nobody is designated)", 200, (401, 403)),
    ("post", "/api/v1/responsible-officials", "WF-11: set the responsible officials of one scope {scope, usernames, "
     "reason, change_control_ref} (administrator; an empty list goes back to the head of quality)", 200,
     (400, 401, 403)),
    ("post", "/api/v1/capas/{capa_id}/plan-approval",
     "The QA head approves the CAPA plan (actions and owners) {username, password, comment}", 200,
     (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/capas/{capa_id}/effectiveness",
     "Effectiveness result {result, evidence, username, password}, signed by the QA head", 200,
     (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/capas/{capa_id}/closure", "CAPA closure {username, password, comment}, signed by the QA head",
     200, (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/recalls", "Propose a recall {complaint_ids, batch_nos, level, depth, reason, safety_hazard, "
     "mock, market_actions?, ...}: RC-<yy>-<nnn>", 201, (400, 401, 403)),
    ("post", "/api/v1/recalls/{recall_id}/market-actions", "Set the market-specific actions of a proposed recall "
     "before the decision is signed {market_actions: [{market, action}], reason}", 200, (400, 401, 403, 404, 409)),
    ("get", "/api/v1/recalls", "Recalls (?status=)", 200, (401, 403)),
    ("get", "/api/v1/recalls/{recall_id}", "A recall with its deadlines, register entries and signatures", 200,
     (401, 403, 404)),
    ("post", "/api/v1/recalls/{recall_id}/signatures",
     "Sign recall_decision (QA head and QP; the second starts the clocks) or recall_closure (the final report)", 201,
     (400, 401, 403, 404, 409, 423)),
    ("get", "/api/v1/recalls/{recall_id}/consignees",
     "The consignee list from the distribution records of the recalled batches (?format=csv|xlsx|pdf)", 200, (401, 403, 404)),
    ("post", "/api/v1/recalls/{recall_id}/reconciliation",
     "Recovered and destroyed per consignee and batch {consignee, batch_no, quantity_recovered, quantity_destroyed}",
     200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/recalls/{recall_id}/completion", "Every line reconciled: the recall is completed", 200,
     (400, 401, 403, 404, 409)),
    ("post", "/api/v1/recalls/{recall_id}/cancellation", "Cancel a proposal {reason} (QA head)", 200,
     (400, 401, 403, 404, 409)),
    ("post", "/api/v1/recalls/{recall_id}/batch-dispositions", "The QA head's signed disposition of a recalled "
     "batch {batch_no, decision, rationale, test_reference, username, password, comment}", 201,
     (400, 401, 403, 404, 409, 423)),
    ("post", "/api/v1/recalls/{recall_id}/effectiveness-check", "Choose the effectiveness check {level A-E, seed?}; "
     "the sample is drawn reproducibly", 201, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/recalls/{recall_id}/effectiveness-contacts", "Record a sampled consignee's contact "
     "{consignee, contacted_on, method, result, note}", 201, (400, 401, 403, 404, 409)),
    ("get", "/api/v1/recalls/{recall_id}/notice.pdf", "The notice to one consignee (?consignee=&lang=en); the "
     "first copy is recorded as prepared", 200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/recalls/{recall_id}/notice-emails", "E-mail a prepared notice through the outbox "
     "{consignee, lang?} (where mail is configured)", 200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/recalls/{recall_id}/notices", "Record a prepared notice as sent {consignee, sent_at, method}",
     200, (400, 401, 403, 404, 409)),
    ("get", "/api/v1/notifications", "The regulator-notification register (?status=due|overdue|sent)", 200,
     (400, 401, 403)),
    ("post", "/api/v1/notifications/{notification_id}/sent", "Record an entry as sent {sent_at, method, reference}",
     200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/returns", "Receive returned goods into quarantine {complaint_id?, batch_no, channel, "
     "returning_party, returning_party_address, return_reason, consignee?, quantity_received, condition, "
     "received_on}: RT-<yy>-<nnn>, one record per channel", 201, (400, 401, 403)),
    ("get", "/api/v1/returns", "Returned goods (?status=)", 200, (401, 403)),
    ("get", "/api/v1/returns/{return_id}", "A return with its evaluation, disposition and signature", 200,
     (401, 403, 404)),
    ("post", "/api/v1/returns/{return_id}/evaluation", "QA's evaluation (storage, retained-sample test, other "
     "batches)", 200, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/returns/{return_id}/disposition", "The QA head's signed disposition {disposition, rationale, "
     "username, password, comment}", 200, (400, 401, 403, 404, 409, 423)),
    ("get", "/api/v1/recall-clocks", "The recall clocks per level", 200, (401,)),
    ("post", "/api/v1/recall-clocks/{level}", "Change a level's clocks with a reason (admin)", 200,
     (400, 401, 403)),
    ("post", "/api/v1/complaints/{complaint_id}/deadline-recalculation", "WF-05: QA moves the complaint's due "
     "dates calculated on an earlier calendar to the calendar in force {reason}; audited with the old and new "
     "dates; 409 when none waits or the complaint is closed or void", 200, (400, 401, 403, 404, 409)),
    ("get", "/api/v1/deadline-recalculations", "WF-05: the complaints with due dates calculated on an earlier "
     "calendar, each kept date beside the date on the calendar in force", 200, (401, 403)),
    ("post", "/api/v1/deadline-recalculations", "WF-05: recalculate the listed complaints' due dates (all, or "
     "those named) {reason, complaint_ids}", 200, (400, 401, 403, 409)),
    ("get", "/api/v1/adr-clocks", "HO-01: the ADR reporting clocks per market (calendar days after day 0)", 200,
     (401,)),
    ("post", "/api/v1/adr-clocks/{code}", "HO-01: change one clock {days, reason, change_control_ref} "
     "(administrator); hand-offs created afterwards take it, earlier ones keep their due dates", 200,
     (400, 401, 403, 404)),
    ("get", "/api/v1/audit/events", "Audit events (?entity=complaint:<id>)", 200, (400, 401, 403)),
    ("get", "/api/v1/access-requests", "Requested changes of access {pending, decided} (?status=pending|decided, "
     "?user_id=)", 200, (400, 401, 403)),
    ("post", "/api/v1/access-requests", "Request a change of access with a reason (administrator; SEC-04): create an "
     "account (a person, or a service account for a system integration), grant or withdraw roles, deactivate; "
     "effective only on the head of quality's approval. A new account's one-time temporary password comes back "
     "once", 201, (400, 401, 403, 404, 409)),
    ("post", "/api/v1/access-requests/{request_id}/decision", "The head of quality approves or rejects a requested "
     "change of access {decision, comment, username, password}; never the requester, never on their own access",
     200, (400, 401, 403, 404, 409, 423)),
    ("get", "/api/v1/security-alerts", "Alerts on repeated failed log-ins and signings with their event record "
     "(SEC-06)", 200, (401, 403)),
)


#: uploads: a file in multipart/form-data
MULTIPART = ("/api/v1/complaints/{complaint_id}/attachments", "/api/v1/capas/{capa_id}/actions/{action_id}/evidence",
             "/api/v1/notifications/{notification_id}/copy", "/api/v1/legacy-imports")
#: the request body of each path, where it is one of the service schemas (the one input layer)
REQUEST_BODIES = {
    "/api/v1/complaints": "Registration",
    "/api/v1/complaints/{complaint_id}/acknowledgement": "Acknowledgement",
    "/api/v1/complaints/{complaint_id}/validity": "Validity",
    "/api/v1/complaints/{complaint_id}/classification": "Classification",
    "/api/v1/complaints/{complaint_id}/investigation": "Investigation",
    "/api/v1/complaints/{complaint_id}/other-batches-decision": "OtherBatchesDecision",
    "/api/v1/complaints/{complaint_id}/assessment": "Assessment",
    "/api/v1/complaints/{complaint_id}/assignment": "Assignment",
    "/api/v1/complaints/{complaint_id}/batches": "BatchCorrection",
    "/api/v1/complaints/{complaint_id}/extension-requests": "ExtensionRequest",
    "/api/v1/complaints/{complaint_id}/quarantine-requests": "QuarantineRequest",
    "/api/v1/complaints/{complaint_id}/quarantine-requests/{request_id}/answer": "QuarantineAnswer",
    "/api/v1/complaints/{complaint_id}/replies": "Reply",
    "/api/v1/complaints/{complaint_id}/reply-reports": "ReplyReportDraft",
    "/api/v1/complaints/{complaint_id}/customer-responses": "CustomerResponse",
    "/api/v1/complaints/{complaint_id}/reminders": "Reminder",
    "/api/v1/complaints/{complaint_id}/regrading": "Regrading",
    "/api/v1/complaints/{complaint_id}/spec-failure-determination": "SpecFailureDetermination",
    "/api/v1/complaints/{complaint_id}/not-known": "NotKnownMark",
    "/api/v1/complaints/{complaint_id}/void-requests": "VoidRequest",
    "/api/v1/complaints/{complaint_id}/follow-ups": "FollowUp",
    "/api/v1/complaints/{complaint_id}/follow-up-calls": "FollowUpCall",
    "/api/v1/complaints/{complaint_id}/compensations": "CompensationTerms",
    "/api/v1/complaints/{complaint_id}/compensations/{sequence}/decision": "CompensationDecision",
    "/api/v1/compensation-authorities": "CompensationAuthorityChange",
    "/api/v1/compensation-ladder": "CompensationLimitChange",
    "/api/v1/complaints/{complaint_id}/adr": "AdrHandOff",
    "/api/v1/complaints/{complaint_id}/adr/{sequence}/elements": "AdrElements",
    "/api/v1/complaints/{complaint_id}/adr/{sequence}/submission": "AdrSubmission",
    "/api/v1/complaints/{complaint_id}/adr/{sequence}/investigation-requests": "AdrInvestigationRequestBody",
    "/api/v1/trends/rules": "TrendRuleChange",
    "/api/v1/trend-reviews/{review_id}/evaluation": "TrendEvaluation",
    "/api/v1/quarterly-reviews": "QuarterlyReviewPreparation",
    "/api/v1/quarterly-reviews/{review_id}/approval": "QuarterlyReviewApproval",
    "/api/v1/complaints/{complaint_id}/adr/{sequence}/investigation-requests/{number}/answer": "AdrInvestigationAnswer",
    "/api/v1/complaints/{complaint_id}/signatures": "Signing",
    "/api/v1/complaints/{complaint_id}/closure": "Closure",
    "/api/v1/complaints/{complaint_id}/retention": "Retention",
    "/api/v1/class-criteria": "CriteriaVersion",
    "/api/v1/time-limits": "TimeLimitChange",
    "/api/v1/products": "Product",
    "/api/v1/products/{code}/markets": "ProductMarkets",
    "/api/v1/batches": "Batch",
    "/api/v1/distributions": "Distribution",
    "/api/v1/capas": "CapaCreation",
    "/api/v1/capas/{capa_id}/complaints": "CapaLink",
    "/api/v1/capas/{capa_id}/sources": "CapaSourceLinking",
    "/api/v1/capas/{capa_id}/follow-ups": "CapaFollowUpLink",
    "/api/v1/capas/{capa_id}/plan-details": "CapaPlanDetails",
    "/api/v1/capas/{capa_id}/effectiveness-waiver": "EffectivenessWaiver",
    "/api/v1/capas/{capa_id}/escalation": "EffectivenessEscalation",
    "/api/v1/capas/{capa_id}/actions": "CapaActionPlan",
    "/api/v1/capas/{capa_id}/actions/{action_id}/implementation": "Implementation",
    "/api/v1/capas/{capa_id}/actions/{action_id}/due-date-requests": "DueDateRequest",
    "/api/v1/capas/{capa_id}/actions/{action_id}/implementation-approval": "CapaSigning",
    "/api/v1/capas/{capa_id}/actions/{action_id}/due-date-approval": "CapaSigning",
    "/api/v1/capas/{capa_id}/effectiveness": "EffectivenessCheck",
    "/api/v1/capas/{capa_id}/closure": "CapaSigning",
    "/api/v1/capas/{capa_id}/plan-approval": "CapaSigning",
    "/api/v1/complaints/{complaint_id}/legal-hold": "LegalHoldPlacing",
    "/api/v1/complaints/{complaint_id}/disposal": "Disposing",
    "/api/v1/retention/disposal-batches": "DisposalBatch",
    "/api/v1/complaints/{complaint_id}/legal-hold/release": "LegalHoldRelease",
    "/api/v1/recalls": "RecallProposal",
    "/api/v1/recalls/{recall_id}/market-actions": "RecallMarketActions",
    "/api/v1/recalls/{recall_id}/signatures": "RecallSigning",
    "/api/v1/recalls/{recall_id}/reconciliation": "RecallReconciliationEntry",
    "/api/v1/recalls/{recall_id}/completion": "RecallCompletion",
    "/api/v1/recalls/{recall_id}/cancellation": "RecallCancellation",
    "/api/v1/notifications/{notification_id}/sent": "NotificationSent",
    "/api/v1/recall-clocks/{level}": "RecallClockChange",
    "/api/v1/complaints/{complaint_id}/deadline-recalculation": "DeadlineRecalculation",
    "/api/v1/deadline-recalculations": "DeadlineRecalculations",
    "/api/v1/adr-clocks/{code}": "AdrClockChange",
    "/api/v1/responsible-officials": "ResponsibleOfficialsChange",
    "/api/v1/returns": "ReturnReceipt",
    "/api/v1/recalls/{recall_id}/notices": "RecallNoticeSent",
    "/api/v1/recalls/{recall_id}/notice-emails": "RecallNoticeEmail",
    "/api/v1/recalls/{recall_id}/batch-dispositions": "RecallBatchDispositionEntry",
    "/api/v1/recalls/{recall_id}/effectiveness-check": "RecallEffectivenessChoice",
    "/api/v1/recalls/{recall_id}/effectiveness-contacts": "RecallEffectivenessContactEntry",
    "/api/v1/returns/{return_id}/evaluation": "ReturnEvaluation",
    "/api/v1/returns/{return_id}/disposition": "ReturnDisposition",
    "/api/v1/access-requests": "AccessChangeRequest",
    "/api/v1/access-requests/{request_id}/decision": "AccessDecisionBody",
}


#: a record's id in a path or a query: the databases' 32-bit integer key, from 1
RECORD_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
#: path parameters that are not record ids
PATH_PARAMETERS = {
    "level": {"type": "string", "enum": ["I", "II", "III"]},
    "code": {"type": "string", "minLength": 1, "maxLength": 64},
}
_LANG = {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["en", "zh"]},
         "description": "en for English; anything else Chinese"}
_STATUS = {"name": "status", "in": "query", "schema": {"type": "string", "maxLength": 40}}


def _query(name: str, schema: dict, *, required: bool = False, description: str | None = None) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            **({"description": description} if description else {})}


#: the query parameters each GET reads
QUERY_PARAMETERS = {
    "/api/v1/audit/events": [
        _query("entity", {"type": "string", "maxLength": 80}, description="<type> or <type>:<id>, e.g. complaint:12"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}),
        _query("offset", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "default": 0})],
    "/api/v1/ledger": [_query("year", {"type": "integer", "minimum": 2000, "maximum": 2999}, required=True),
                       _query("class", {"type": "string", "enum": ["I", "II", "III"]}), _STATUS],
    "/api/v1/dashboard": [_query("scope", {"type": "string", "enum": ["mine", "all"], "default": "mine"})],
    "/api/v1/trends": [_query("from", {"type": "string", "format": "date"}),
                       _query("to", {"type": "string", "format": "date"}),
                       _query("product_code", {"type": "string", "maxLength": 64}),
                       _query("complaint_type", {"type": "string", "enum": [
                           "adr", "intrinsic_quality", "inner_packaging", "outer_packaging", "packaging_design",
                           "other"]}),
                       _query("format", {"type": "string", "enum": ["json", "csv", "xlsx"]})],
    "/api/v1/products/{code}/annual-review": [
        _query("year", {"type": "integer", "minimum": 2000, "maximum": 2100}, required=True),
        _query("format", {"type": "string", "enum": ["json", "pdf", "xlsx"], "default": "json"}), _LANG],
    "/api/v1/quarterly-reviews/{review_id}/report.pdf": [_LANG],
    "/api/v1/complaints/{complaint_id}/adr/{sequence}/packet.pdf": [_LANG],
    "/api/v1/trend-reviews": [_query("status", {"type": "string", "enum": ["open", "capa_raised", "no_capa"]})],
    "/api/v1/capas": [_STATUS],
    "/api/v1/recalls": [_STATUS],
    "/api/v1/returns": [_STATUS],
    "/api/v1/notifications": [_query("status", {"type": "string", "enum": ["due", "overdue", "sent"]})],
    "/api/v1/recalls/{recall_id}/consignees": [_query("format", {"type": "string", "enum": ["csv", "xlsx", "pdf"]})],
    "/api/v1/recalls/{recall_id}/notice.pdf": [_query("consignee", {"type": "string", "maxLength": 200},
                                                      required=True), _LANG],
    "/api/v1/access-requests": [_query("status", {"type": "string", "enum": ["pending", "decided"]}),
                                _query("user_id", RECORD_ID)],
    "/api/v1/notices/delivery": [_query("subject_type", {"type": "string", "maxLength": 40}),
                                 _query("subject_id", RECORD_ID), _query("kind", {"type": "string", "maxLength": 40})],
}
_JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: what a success answers where it is not one JSON object: the media types of each download
SUCCESS_CONTENT = {
    "/api/v1/trends": {**_JSON_OBJECT, "text/csv": {}, _XLSX: {}},
    "/api/v1/products/{code}/annual-review": {**_JSON_OBJECT, "application/pdf": {}, _XLSX: {}},
    "/api/v1/quarterly-reviews/{review_id}/report.pdf": {"application/pdf": {}},
    "/api/v1/complaints/{complaint_id}/adr/{sequence}/packet.pdf": {"application/pdf": {}},
    "/api/v1/complaints/{complaint_id}/adr/{sequence}/e2b.xml": {"application/xml": {}},
    "/api/v1/recalls/{recall_id}/consignees": {**_JSON_OBJECT, "text/csv": {}, _XLSX: {}, "application/pdf": {}},
    "/api/v1/recalls/{recall_id}/notice.pdf": {"application/pdf": {}},
    # files kept as uploaded: the media type detected at upload
    "/api/v1/complaints/{complaint_id}/attachments/{attachment_id}": {"*/*": {}},
    "/api/v1/capas/{capa_id}/evidence/{evidence_id}": {"*/*": {}},
    "/api/v1/notifications/{notification_id}/copy": {"*/*": {}},
}


def _parameters(method: str, path: str) -> list[dict]:
    path_parameters = [{"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS.get(name, RECORD_ID)}
                       for name in re.findall(r"{(\w+)}", path)]
    return path_parameters + (QUERY_PARAMETERS.get(path, []) if method == "get" else [])


def _success(method: str, path: str, status: int, summary: str) -> dict:
    if status == 409:  # the operations that are always refused answer nothing else
        return {}
    if (method, path) in ANSWERS:
        content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ANSWERS[method, path]}"}}}
    else:
        content = SUCCESS_CONTENT.get(path, _JSON_OBJECT) if method == "get" else _JSON_OBJECT
    return {str(status): {"description": summary, "content": content}}


def _complaint_paths(spec: APISpec) -> None:
    operations: dict[str, dict] = {}
    for method, path, summary, status, errors in COMPLAINT_OPERATIONS:
        # Every request meets the same bounds before its view (web/bounds.py): a text holding a character no
        # database can store, in any query parameter or field, is 400; a body larger than any request needs, 413.
        answered = {*errors, 400} | ({413} if method == "post" else set()) | ({409} if status == 409 else set())
        operation = {"summary": summary, "security": [{"bearer": []}], "parameters": _parameters(method, path),
                     "responses": {**_success(method, path, status, summary), **_errors(*sorted(answered))}}
        if method == "post" and path in MULTIPART:
            upload = {"type": "object", "required": ["file", *(["username", "password"] if "legacy" in path else [])],
                      "properties": {
                          "file": {"type": "string", "format": "binary"},
                          **({"description": {"type": "string", "maxLength": 1000}} if "attachments" in path else {}),
                          **({"username": {"type": "string", "maxLength": 64},
                              "password": {"type": "string", "format": "password"}} if "legacy" in path else {})}}
            _describe_text_bounds(upload)
            operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                **upload, "additionalProperties": False}}}}
        elif method == "post" and path in REQUEST_BODIES:
            operation["requestBody"] = _body({"$ref": f"#/components/schemas/{REQUEST_BODIES[path]}"})
        operations.setdefault(path, {})[method] = operation
    for path, ops in operations.items():
        spec.path(path, operations=ops)

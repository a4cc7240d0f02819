"""JSON API under /api/v1 (DESIGN §6): bearer tokens, one error shape."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from marshmallow import Schema, fields, validate

from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.domain.plausibility import EARLIEST_DATE, LATEST_DATE, MAX_ID
from gmp_complaints.services import accounts, complaint_intake, complaint_queries, complaint_steps
from gmp_complaints.web import client_ip, uow
from gmp_complaints.web.bounds import query_number

api_v1 = Blueprint("api_v1", __name__, url_prefix="/api/v1")


def _load(schema: Schema) -> dict:
    """Validate the JSON body; a marshmallow error becomes a 400 naming the fields."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ValidationError(
            "The body must be a JSON object.", {"_body": ["Send a JSON object with Content-Type application/json."]}
        )
    return schema.load(payload)


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class PasswordChangeRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    old_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class StatementRequest(Schema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


@api_v1.route("/auth/token", methods=["POST"])
def auth_token():
    data = _load(TokenRequest())
    token, expires_at = accounts.issue_api_token(
        uow(), username=data["username"], password=data["password"], source_ip=client_ip()
    )
    return jsonify({"token": token, "token_type": "Bearer", "expires_at": expires_at.isoformat()}), 200


@api_v1.route("/auth/password", methods=["POST"])
def auth_password():
    data = _load(PasswordChangeRequest())
    accounts.change_password(
        uow(), username=data["username"], old_password=data["old_password"], new_password=data["new_password"],
        source_ip=client_ip(),
    )
    return "", 204


@api_v1.route("/auth/esignature-statement", methods=["POST"])
def esignature_statement():
    data = _load(StatementRequest())
    accounts.accept_esignature_statement(uow(), user_id=g.principal.id, password=data["password"], source_ip=client_ip())
    return "", 204


@api_v1.route("/me")
def me():
    user = accounts.get_user(uow(), g.principal.id)
    return jsonify({
        "id": user.id,
        "username": user.username,
        "printed_name": user.printed_name,
        "roles": list(user.roles),
        "identity_verified": user.identity_verified_at is not None,
        "esignature_statement_accepted": user.esignature_accepted_at is not None,
        "account_type": user.account_type,
    })


@api_v1.route("/audit/events")
def audit_events():
    """DESIGN §6: ``{events: [{index, occurred_at, actor, action, entity, changes, reason}]}``."""
    from audit.service import EventFilter, list_events, parse_entity
    from gmp_complaints.domain.audit_access import visible_entity_types

    entity_type, entity_id = parse_entity(request.args.get("entity"))
    limit = query_number("limit", minimum=1, maximum=10000, default=1000)
    offset = query_number("offset", minimum=0, maximum=MAX_ID, default=0)
    from gmp_complaints.services.audit_scope import with_parts

    event_filter = with_parts(uow(), EventFilter(entity_type=entity_type, entity_id=entity_id))
    rows, total = list_events(uow(), event_filter, visible_entity_types(g.principal.roles), limit=limit,
                              offset=offset, oldest_first=True)
    return jsonify({"total": total, "events": [_event_json(row) for row in rows]})


def _actor():
    from gmp_complaints.domain.roles import Actor

    return Actor(g.principal.id, g.principal.roles)


def _body() -> dict:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ValidationError(
            "The body must be a JSON object.", {"_body": ["Send a JSON object with Content-Type application/json."]}
        )
    return payload


@api_v1.route("/products", methods=["POST"])
def create_product():
    from gmp_complaints.services import master_data

    return jsonify(master_data.create_product(uow(), _body(), actor_id=g.principal.id)), 201


@api_v1.route("/products/<code>/markets", methods=["POST"])
def change_product_markets(code: str):
    """``{markets, marketing_authorisation_holder, reason}``: where the product is marketed (HO-08)."""
    from gmp_complaints.services import master_data

    return jsonify(master_data.change_product_markets(uow(), code, _body(), actor_id=g.principal.id))


@api_v1.route("/batches", methods=["POST"])
def create_batch():
    from gmp_complaints.services import master_data

    return jsonify(master_data.create_batch(uow(), _body(), actor_id=g.principal.id)), 201


@api_v1.route("/batches/<int:batch_id>")
def batch(batch_id: int):
    from gmp_complaints.services import master_data

    return jsonify(master_data.batch_page(uow(), batch_id, roles=g.principal.roles))


@api_v1.route("/distributions", methods=["POST"])
def create_distribution():
    from gmp_complaints.services import master_data

    return jsonify(master_data.create_distribution(uow(), _body(), actor_id=g.principal.id)), 201


@api_v1.route("/complaints", methods=["POST"])
def register_complaint():
    return jsonify(complaint_intake.register_complaint(uow(), _body(), actor=_actor())), 201


@api_v1.route("/complaints/<int:complaint_id>")
def complaint(complaint_id: int):
    return jsonify(complaint_queries.get_complaint(uow(), complaint_id, roles=g.principal.roles))


@api_v1.route("/complaints/<int:complaint_id>/attachments", methods=["POST"])
def add_attachment(complaint_id: int):
    """multipart/form-data with ``file`` (and optional ``description``)."""
    from gmp_complaints.services import attachments

    upload = request.files.get("file")
    return jsonify(attachments.add_attachment(
        uow(), complaint_id, filename=upload.filename if upload else "", data=upload.read() if upload else b"",
        description=request.form.get("description"), actor_id=g.principal.id)), 201


@api_v1.route("/complaints/<int:complaint_id>/attachments/<int:attachment_id>")
def attachment(complaint_id: int, attachment_id: int):
    from gmp_complaints.web.attachments import attachment_response

    return attachment_response(complaint_id, attachment_id)


#: the steps signed in the same call: their password check counts against the caller's address (lockout, rate limit)
SIGNED_STEPS = frozenset({"regrade"})


def _step_view(service_name: str):
    def view(complaint_id: int):
        extra = {"source_ip": client_ip()} if service_name in SIGNED_STEPS else {}
        return jsonify(getattr(complaint_steps, service_name)(uow(), complaint_id, _body(), actor=_actor(), **extra))

    view.__name__ = f"complaint_{service_name}"
    return view


#: DESIGN §6 step paths → service functions; each is its own endpoint in the authorisation matrix
COMPLAINT_STEPS = {
    "acknowledgement": "acknowledge",
    "validity": "record_validity",
    "classification": "classify",
    "investigation": "investigate",
    "assessment": "assess",
    "reply-reports": "draft_reply_report",
    "replies": "reply",
    "customer-responses": "record_customer_response",
    "reminders": "record_reminder",
    "regrading": "regrade",
    "other-batches-decision": "decide_other_batches",
    "assignment": "assign",
    "batches": "change_batches",
    "extension-requests": "request_extension",
    "void-requests": "request_void",
}
for _path, _service in COMPLAINT_STEPS.items():
    api_v1.add_url_rule(f"/complaints/<int:complaint_id>/{_path}", endpoint=f"complaint_{_service}",
                        view_func=_step_view(_service), methods=["POST"])


@api_v1.route("/complaints/<int:complaint_id>/spec-failure-determination", methods=["POST"])
def complaint_determine_spec_failure(complaint_id: int):
    """WF-02 ``{investigation_required, rationale, username, password}``: the head of quality determines whether a
    flagged possible failure to meet specification needs a 21 CFR 211.192 investigation, signed in the same step."""
    from gmp_complaints.services import triage

    return jsonify(triage.determine_spec_failure(uow(), complaint_id, _body(), actor=_actor(), source_ip=client_ip()))


@api_v1.route("/complaints/<int:complaint_id>/not-known", methods=["POST"])
def complaint_mark_not_known(complaint_id: int):
    """REC-02 ``{item, reason}``: an item of the complaint file marked not known, with the reason."""
    from gmp_complaints.services import complaint_file

    return jsonify(complaint_file.mark_not_known(uow(), complaint_id, _body(), actor=_actor()))


@api_v1.route("/complaints/<int:complaint_id>/follow-ups", methods=["POST"])
def complaint_open_follow_up(complaint_id: int):
    """``{received_on, text}``: the customer came back after closure; a new complaint linked to the
    closed one (which does not change) → 201 with the follow-up."""
    return jsonify(complaint_intake.open_follow_up(uow(), complaint_id, _body(), actor=_actor())), 201


@api_v1.route("/complaints/<int:complaint_id>/follow-up-calls", methods=["POST"])
def complaint_follow_up_call(complaint_id: int):
    """``{called_on, result, note}`` (回访) → 201 with the closed complaint, which does not change."""
    return jsonify(complaint_intake.record_follow_up_call(uow(), complaint_id, _body(), actor=_actor())), 201


@api_v1.route("/complaints/<int:complaint_id>/quarantine-requests", methods=["POST"])
def request_quarantine(complaint_id: int):
    from gmp_complaints.services import investigation

    return jsonify(investigation.request_quarantine(uow(), complaint_id, _body(), actor=_actor())), 201


@api_v1.route("/complaints/<int:complaint_id>/quarantine-requests/<int:request_id>/answer", methods=["POST"])
def answer_quarantine(complaint_id: int, request_id: int):
    from gmp_complaints.services import investigation

    return jsonify(investigation.answer_quarantine(uow(), complaint_id, request_id, _body(), actor=_actor()))


@api_v1.route("/complaints/<int:complaint_id>", methods=["DELETE"])
def delete_complaint(complaint_id: int):
    """Always refused (409): retention, then signed disposal with a tombstone."""
    complaint_steps.refuse_deletion(uow(), complaint_id, actor=_actor())


@api_v1.route("/complaints/<int:complaint_id>/attachments/<int:attachment_id>", methods=["DELETE"])
def delete_attachment(complaint_id: int, attachment_id: int):
    complaint_steps.refuse_deletion(uow(), complaint_id, actor=_actor(), attachment_id=attachment_id)


@api_v1.route("/complaints/<int:complaint_id>/signatures", methods=["POST"])
def sign_complaint(complaint_id: int):
    """DESIGN §6: ``{username, password, step, comment}``; the meaning follows from the step."""
    from gmp_complaints.services import approvals

    return jsonify(approvals.sign_step(uow(), complaint_id, _body(), actor=_actor(), source_ip=client_ip())), 201


@api_v1.route("/complaints/<int:complaint_id>/closure", methods=["POST"])
def close_complaint(complaint_id: int):
    """DESIGN §6: the QA head's approval signature and the closure in one step."""
    from gmp_complaints.services import approvals

    return jsonify(approvals.close(uow(), complaint_id, _body(), actor=_actor(), source_ip=client_ip()))


@api_v1.route("/complaints/<int:complaint_id>/retention", methods=["POST"])
def change_retention(complaint_id: int):
    """``{retention_until, reason, username, password}``: an earlier retention date, signed by the QA head."""
    from gmp_complaints.services import approvals

    return jsonify(approvals.change_retention(uow(), complaint_id, _body(), actor=_actor(), source_ip=client_ip()))


@api_v1.route("/complaints/<int:complaint_id>/audit-review")
def audit_review(complaint_id: int):
    """The complaint's audit trail since the last signed review, critical fields marked (AT-07)."""
    from gmp_complaints.services import approvals
    from gmp_complaints.web import format_datetime_iso

    review = approvals.audit_review(uow(), complaint_id)
    last = review["last_review"]
    return jsonify({
        **review,
        "last_review": {**last, "signed_at": format_datetime_iso(last["signed_at"])} if last else None,
        "critical_count": len(review["critical"]),
        "critical": {str(index): fields for index, fields in review["critical"].items()},
        "events": [{**_event_json(e), "critical": review["critical"].get(e.index, [])} for e in review["events"]],
    })


def _event_json(row) -> dict:
    """One audit event in the shape of DESIGN §6."""
    from gmp_complaints.web import format_datetime_iso

    return {"index": row.index, "occurred_at": format_datetime_iso(row.occurred_at),
            "actor": {"id": row.actor_id, "name": row.actor_name}, "action": row.action,
            "entity": f"{row.entity_type}:{row.entity_id}" if row.entity_id else row.entity_type,
            "changes": row.changes, "reason": row.reason}


@api_v1.route("/ledger")
def ledger():
    """The complaint ledger of a year (``?year=2026&class=&status=``) with its unexplained gaps."""
    from gmp_complaints.services import ledger as service

    year = query_number("year", minimum=EARLIEST_DATE.year, maximum=LATEST_DATE.year)
    if year is None:
        raise ValidationError("Invalid year.", {"year": ["A year such as 2026."]})
    return jsonify(service.ledger(uow(), year=year, complaint_class=request.args.get("class") or None,
                                  status=request.args.get("status") or None))


@api_v1.route("/complaints/<int:complaint_id>/legal-hold", methods=["POST"])
def place_legal_hold(complaint_id: int):
    """``{reason, username, password}``: the head of quality places a legal hold (signed); disposal is refused
    while it is in force."""
    from gmp_complaints.services import retention

    return jsonify(retention.place_legal_hold(uow(), complaint_id, _body(), actor=_actor(), source_ip=client_ip()))


@api_v1.route("/complaints/<int:complaint_id>/legal-hold/release", methods=["POST"])
def release_legal_hold(complaint_id: int):
    """``{reason, username, password}``: the head of quality releases the hold in force (signed)."""
    from gmp_complaints.services import retention

    return jsonify(retention.release_legal_hold(uow(), complaint_id, _body(), actor=_actor(), source_ip=client_ip()))


@api_v1.route("/complaints/<int:complaint_id>/disposal", methods=["POST"])
def dispose_complaint(complaint_id: int):
    """``{reason, username, password}``: after ``retention_until``, under no legal hold, the head of quality
    disposes of a closed or void complaint (signed); the tombstone stays with ``status`` ``disposed``."""
    from gmp_complaints.services import retention

    return jsonify(retention.dispose(uow(), complaint_id, _body(), actor=_actor(), source_ip=client_ip()))


@api_v1.route("/legacy-imports", methods=["POST"])
def legacy_import():
    """multipart/form-data ``file`` (CSV or XLSX), ``username``, ``password``: complaints from a previous ledger,
    all rows or none, with the reconciliation record signed by the head of quality → 201 with the report."""
    from gmp_complaints.services.legacy_import import import_legacy

    upload = request.files.get("file")
    return jsonify(import_legacy(uow(), filename=upload.filename if upload else "", data=upload.read() if upload else b"",
                                 credentials={"username": request.form.get("username"),
                                              "password": request.form.get("password")},
                                 actor=_actor(), source_ip=client_ip())), 201


@api_v1.route("/retention/disposal-batches", methods=["POST"])
def disposal_batch():
    """``{complaint_ids, reason, username, password}``: one signed decision over complaints due for disposal;
    202 with the background job that disposes of them (its progress at /jobs/<id>/progress)."""
    from gmp_complaints.services import retention
    from gmp_complaints.web.jobs import start_in_background

    job = retention.queue_disposal_batch(uow(), _body(), actor=_actor(), source_ip=client_ip())
    start_in_background(job["id"])
    return jsonify(job), 202


@api_v1.route("/retention/disposal-due")
def disposal_due():
    """``{complaints: [{id, number, intake_ref, status, retention_until, legal_hold}]}``: past their retention
    date, closed or void, not yet disposed of."""
    from gmp_complaints.services import retention

    return jsonify({"complaints": retention.disposal_due(uow())})


@api_v1.route("/notices")
def my_notices():
    """My notices, newest first (WF-10, WF-11): ``{notices: [{id, kind, subject_type, subject_id, record_label,
    created_at, read_at, link, emailed}], unread}``."""
    from gmp_complaints.services import notices

    rows = notices.my_notices(uow(), g.principal.id)
    return jsonify({"notices": [{**n, "created_at": n["created_at"].isoformat(),
                                 "read_at": n["read_at"].isoformat() if n["read_at"] else None} for n in rows],
                    "unread": sum(1 for n in rows if n["read_at"] is None)})


@api_v1.route("/signatures/waiting")
def waiting_for_signature():
    from gmp_complaints.services import waiting

    return jsonify({"waiting": waiting.waiting_for_signature(uow(), user_id=g.principal.id)})


@api_v1.route("/dashboard")
def dashboard():
    """What is due for me (``?scope=mine``, the default) or for everyone (``?scope=all``)."""
    scope = request.args.get("scope", "mine")
    if scope not in ("mine", "all"):
        raise ValidationError("Invalid scope.", {"scope": ["mine or all."]})
    return jsonify(complaint_queries.dashboard(uow(), user_id=g.principal.id, roles=g.principal.roles,
                                               mine_only=scope == "mine"))


@api_v1.route("/class-criteria")
def class_criteria():
    from gmp_complaints.services import configuration

    return jsonify(configuration.list_criteria_versions(uow()))


@api_v1.route("/class-criteria", methods=["POST"])
def publish_class_criteria():
    from gmp_complaints.services import configuration

    return jsonify(configuration.publish_criteria_version(uow(), _body(), actor_id=g.principal.id)), 201


@api_v1.route("/time-limits")
def time_limits():
    from gmp_complaints.services import configuration

    return jsonify(configuration.time_limits_view(uow()))


@api_v1.route("/time-limits", methods=["POST"])
def change_time_limit():
    from gmp_complaints.services import configuration

    return jsonify(configuration.change_time_limit(uow(), _body(), actor_id=g.principal.id))


# CAPA endpoints live in their own module and register on this blueprint.
from gmp_complaints.api import access as _access_routes  # noqa: F401
from gmp_complaints.api import capa as _capa_routes  # noqa: F401
from gmp_complaints.api import compensation as _compensation_routes  # noqa: F401
from gmp_complaints.api import deadlines as _deadline_routes  # noqa: F401
from gmp_complaints.api import notices as _notice_routes  # noqa: F401
from gmp_complaints.api import pharmacovigilance as _pv_routes  # noqa: F401
from gmp_complaints.api import recalls as _recall_routes  # noqa: F401
from gmp_complaints.api import trends as _trend_routes  # noqa: F401


@api_v1.route("/openapi.json")
def openapi():
    from gmp_complaints.api.openapi import build_spec

    return jsonify(build_spec())

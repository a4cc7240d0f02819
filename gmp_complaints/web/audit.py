"""The audit trail for reviewers and inspectors: plain language, filters, CSV and verifiable bundle."""
from __future__ import annotations

import csv
import hashlib
import io
from datetime import date

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from audit.actions import ACTIONS
from audit.export import export_audit_trail
from audit.service import EventFilter, iter_events, list_events, parse_entity, record_export
from gmp_complaints.audit_text import action_label, readable_changes, record_label, stored_text
from gmp_complaints.domain.audit_access import visible_entity_types
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.i18n import translate
from gmp_complaints.services import accounts
from gmp_complaints.services.audit_scope import names_of, with_parts
from gmp_complaints.web import client_ip, format_datetime_local, uow

bp = Blueprint("audit_trail", __name__, url_prefix="/audit")
PAGE_SIZE = 50


def _parse_date(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(Msg("Invalid date."), {name: [Msg("Use the form YYYY-MM-DD.")]}) from None


def event_filter_from_request() -> EventFilter:
    entity_type, entity_id = parse_entity(request.args.get("entity"))
    actor = (request.args.get("actor") or "").strip()
    action = (request.args.get("action") or "").strip()
    if action and action not in ACTIONS:
        raise ValidationError(Msg("Unknown action."), {"action": [Msg("Choose an action from the list.")]})
    if actor and not actor.isdigit():
        raise ValidationError(Msg("Unknown user."), {"actor": [Msg("Choose a user from the list.")]})
    return with_parts(uow(), EventFilter(entity_type=entity_type, entity_id=entity_id,
                                         actor_id=int(actor) if actor else None, action=action or None,
                                         date_from=_parse_date("from"), date_to=_parse_date("to")))


@bp.route("/")
def events():
    visible = visible_entity_types(current_user.roles)
    errors = {}
    try:
        event_filter = event_filter_from_request()
    except ValidationError as exc:
        errors = {name: [translate(m) for m in messages] for name, messages in exc.fields.items()}
        event_filter = EventFilter()
    page = max(int(request.args.get("page", "1")) if request.args.get("page", "1").isdigit() else 1, 1)
    rows, total = list_events(uow(), event_filter, visible, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template(
        "audit/events.html", rows=rows, total=total, page=page, pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        errors=errors, users=accounts.list_users(uow()), actions=sorted(ACTIONS, key=action_label),
        args=request.args, readable_changes=readable_changes, action_label=action_label, record_label=record_label,
        names=names_of(uow(), rows),
    )


@bp.route("/events.csv")
def events_csv():
    """One row per changed field, in the page language: the same events, readable in a spreadsheet."""
    visible = visible_entity_types(current_user.roles)
    event_filter = event_filter_from_request()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Index"), _("Time"), _("User"), _("Action"), _("Record"), _("Field"), _("Old value"),
                     _("New value"), _("Reason"), _("Source IP")])
    count = 0
    for chunk in _chunks(iter_events(uow(), event_filter, visible), 2000):
        names = names_of(uow(), chunk)  # per chunk: a long trail streams, it is not held in memory
        for event in chunk:
            count += 1
            base = [event.index, format_datetime_local(event.occurred_at), event.actor_name,
                    action_label(event.action), record_label(event.entity_type, event.entity_id, names)]
            for label, old, new in readable_changes(event.changes, names=names) or [("", "", "")]:
                writer.writerow(base + [label, old, new, stored_text(event.reason) or "", event.source_ip or ""])
    data = ("\ufeff" + buffer.getvalue()).encode("utf-8")

    record_export(uow(), action="audit.csv_exported", actor_id=current_user.id,
                  scope={"scope": "csv", **event_filter.describe()}, file_sha256=hashlib.sha256(data).hexdigest(),
                  event_count=count, source_ip=client_ip())
    return Response(data, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit-trail.csv"})


def _chunks(items, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@bp.route("/export.zip")
def export_bundle():
    """The verifiable bundle of the filtered events (inclusion proofs against a signed checkpoint)."""
    visible = visible_entity_types(current_user.roles)
    event_filter = event_filter_from_request()
    result = export_audit_trail(uow(), actor_id=current_user.id, event_filter=event_filter,
                                visible_types=visible, source_ip=client_ip())
    return Response(result.data, mimetype="application/zip",
                    headers={"Content-Disposition": f"attachment; filename=audit-{result.scope}-{result.anchor_tree_size}.zip"})

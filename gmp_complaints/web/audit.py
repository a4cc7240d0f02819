"""The audit trail for reviewers and inspectors: plain language, filters, CSV and verifiable bundle."""
from __future__ import annotations

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
from gmp_complaints.domain.personal_data import masked_audit_changes, may_see_personal_data
from gmp_complaints.domain.plausibility import record_id_of
from gmp_complaints.i18n import translate
from gmp_complaints.services import accounts, inputs
from gmp_complaints.services.audit_scope import names_of, with_parts
from gmp_complaints.spreadsheets import CsvWriter, csv_bytes
from gmp_complaints.web import client_ip, format_datetime_local, uow
from gmp_complaints.web.bounds import MAX_PAGE, query_number

bp = Blueprint("audit_trail", __name__, url_prefix="/audit")
PAGE_SIZE = 50


def readable_for_reader(changes: dict, **options) -> list[tuple]:
    """``readable_changes`` with the personal values older events hold in clear masked for a reader without
    personal-data access (SEC-11: returning parties audited before revision 0051)."""
    if changes and not may_see_personal_data(current_user.roles):
        changes = masked_audit_changes(changes)
    return readable_changes(changes, **options)


def _parse_date(name: str) -> date | None:
    """YYYY-MM-DD within the span of records (a day such as 9999-12-31 has no day after it to end the filter)."""
    errors: dict = {}
    day = inputs.day(errors, {name: (request.args.get(name) or "").strip()}, name, required=False)
    inputs.raise_if_any(errors, Msg("Invalid date."))
    return day


def event_filter_from_request() -> EventFilter:
    entity_type, entity_id = parse_entity(request.args.get("entity"))
    actor = (request.args.get("actor") or "").strip()
    action = (request.args.get("action") or "").strip()
    if action and action not in ACTIONS:
        raise ValidationError(Msg("Unknown action."), {"action": [Msg("Choose an action from the list.")]})
    if actor and record_id_of(actor) is None:
        raise ValidationError(Msg("Unknown user."), {"actor": [Msg("Choose a user from the list.")]})
    return with_parts(uow(), EventFilter(entity_type=entity_type, entity_id=entity_id,
                                         actor_id=record_id_of(actor), action=action or None,
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
    page = query_number("page", minimum=1, maximum=MAX_PAGE, default=1)
    rows, total = list_events(uow(), event_filter, visible, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template(
        "audit/events.html", rows=rows, total=total, page=page, pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        errors=errors, users=accounts.list_users(uow()), actions=sorted(ACTIONS, key=action_label),
        args=request.args, readable_changes=readable_for_reader, action_label=action_label, record_label=record_label,
        names=names_of(uow(), rows),
    )


@bp.route("/events.csv")
def events_csv():
    """One row per changed field, in the page language: the same events, readable in a spreadsheet."""
    visible = visible_entity_types(current_user.roles)
    event_filter = event_filter_from_request()
    buffer = io.StringIO()
    writer = CsvWriter(buffer)  # only this readable view: the bundle's canonical JSON lines stay as recorded
    writer.writerow([_("Index"), _("Time"), _("User"), _("Action"), _("Record"), _("Field"), _("Old value"),
                     _("New value"), _("Reason"), _("Source IP")])
    count = 0
    for chunk in _chunks(iter_events(uow(), event_filter, visible), 2000):
        names = names_of(uow(), chunk)  # per chunk: a long trail streams, it is not held in memory
        for event in chunk:
            count += 1
            base = [event.index, format_datetime_local(event.occurred_at), event.actor_name,
                    action_label(event.action), record_label(event.entity_type, event.entity_id, names)]
            for label, old, new in readable_for_reader(event.changes, names=names) or [("", "", "")]:
                writer.writerow(base + [label, old, new, stored_text(event.reason) or "", event.source_ip or ""])
    data = csv_bytes(buffer.getvalue())

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

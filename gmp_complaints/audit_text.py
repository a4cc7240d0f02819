"""The audit trail in plain language (AT-06), for the pages, the CSV and the printed records: labels of
actions, records and fields, and values as words, in the current language (needs an app context)."""
from __future__ import annotations

import functools
import json
import re
from datetime import datetime

from flask import current_app

from audit.actions import ACTIONS, ENTITY_LABELS, FIELD_LABELS
from gmp_complaints.documents import print_time_text
from gmp_complaints.domain.errors import Msg
from gmp_complaints.domain.roles import ROLE_LABELS, Role
from gmp_complaints.i18n import translate

_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


#: texts the system itself stores in English (a reason, a placeholder): read in the page language
SYSTEM_TEXTS = (
    Msg("first assignment"), Msg("re-investigation"), Msg("recorded (encrypted)"),
    Msg("defaults of DESIGN §4 (2007 rules), to be confirmed by regulatory affairs"),
)


@functools.cache
def _stored_texts() -> dict[str, Msg]:
    """Stored text (as written) -> its message: system texts, report rules, bilingual authority names (constants,
    built once; translated where shown)."""
    from gmp_complaints.domain.accounts import APPROVED_AT_THE_COMMAND_LINE
    from gmp_complaints.domain.adr import ADR_CLOCK_RULES, AUTHORITY_LABELS
    from gmp_complaints.domain.recall import LOCAL_AUTHORITY, LOCAL_AUTHORITY_LABEL

    texts = {str(m): m for m in (*SYSTEM_TEXTS, *ADR_CLOCK_RULES, APPROVED_AT_THE_COMMAND_LINE)}
    texts.update(AUTHORITY_LABELS)
    texts[LOCAL_AUTHORITY] = LOCAL_AUTHORITY_LABEL
    return texts


def stored_text(value):
    """A text the system stored (a reason, a rule, an authority) in the page language; other text as it is."""
    if isinstance(value, str):
        known = _stored_texts().get(value)
        if known is not None:
            return translate(known)
    return value


def display_value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str) and value in _stored_texts():
        return stored_text(value)
    if isinstance(value, bool):
        return translate(Msg("yes")) if value else translate(Msg("no"))
    if isinstance(value, list):
        return ", ".join(display_value(v) for v in value) or "—"
    if isinstance(value, dict):  # a structured value (an export's filters): its fields named, its codes as words
        return "; ".join(f"{field_label(k)}: {display_field_value(k, v)}" for k, v in value.items())
    if isinstance(value, str) and _INSTANT.match(value):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return print_time_text(moment, current_app.config["GMP_SETTINGS"].site_timezone)
    return str(value)


_FIELD_ORDER = {name: position for position, name in enumerate(FIELD_LABELS)}


@functools.cache
def _code_labels() -> dict[str, dict]:
    """Field name -> {code: label} for fields that hold codes, so auditors read words (AT-06). Built once: the
    labels are constants (translated where shown), and a 10,000-event trail asks for them twice per change."""
    from gmp_complaints.domain import (
        accounts,
        adr,
        capa,
        complaint_file,
        complaints,
        grading,
        investigation,
        notices,
        recall,
        returns,
        triage,
    )
    from gmp_complaints.domain.roles import ROLE_LABELS
    from signatures.manifestation import MEANING_LABELS
    from signatures.matrix import SIGNING_MATRIX

    def values(labels: dict) -> dict:
        return {getattr(k, "value", k): v for k, v in labels.items()}

    return {
        "status": {**values(returns.STATUS_LABELS), **values(investigation.QUARANTINE_LABELS),
                   **values(recall.STATUS_LABELS),
                   **values(capa.STATUS_LABELS), **values(complaints.STATUS_LABELS),
                   **complaints.REPLY_REPORT_STATUS_LABELS},
        "complaint_type": values(complaints.TYPE_LABELS),
        "channel": {**values(complaints.CHANNEL_LABELS), **values(returns.CHANNEL_LABELS)},
        "root_cause_category": values(investigation.ROOT_CAUSE_CATEGORY_LABELS),
        "kind": {**values(capa.ACTION_KIND_LABELS), **complaints.DUE_KIND_LABELS,
                 **values(recall.NOTIFICATION_KIND_LABELS), **values(notices.NOTICE_KIND_NAMES),
                 **values(accounts.ACCESS_REQUEST_KIND_LABELS)},
        "account_type": values(accounts.ACCOUNT_TYPE_LABELS),
        "effectiveness_result": values(capa.EFFECTIVENESS_LABELS),
        "source": values(capa.SOURCE_LABELS),
        "actions": values(complaints.ASSESSMENT_ACTION_LABELS),
        "level": values(recall.LEVEL_LABELS),
        "depth": values(recall.DEPTH_LABELS),
        "seriousness": values(adr.SERIOUSNESS_LABELS),
        "step": {step.value: rule.label for step, rule in SIGNING_MATRIX.items()},
        "meaning": values(MEANING_LABELS),
        "signed_role": values(ROLE_LABELS),
        "scope": {"users": Msg("user accounts"), **values(notices.SCOPE_LABELS)},
        "quality_defect_suspected": values(triage.ANSWER_LABELS),
        "falsification_suspected": values(triage.ANSWER_LABELS),
        "routed_to": values(triage.ROUTING_LABELS),
        "item": values(complaint_file.FILE_ITEM_LABELS),
        "severity": values(grading.SEVERITY_LABELS),
    }


def _checklist_text(value) -> str | None:
    """The investigation checklist (stored as JSON) as lines a reader takes in: item: outcome — note."""
    from gmp_complaints.domain.investigation import CHECKLIST_LABELS, OUTCOME_LABELS

    try:
        entries = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return None
    if not isinstance(entries, dict):
        return None
    items = {getattr(k, "value", k): v for k, v in CHECKLIST_LABELS.items()}
    outcomes = {getattr(k, "value", k): v for k, v in OUTCOME_LABELS.items()}
    lines = []
    for item, entry in entries.items():
        entry = entry if isinstance(entry, dict) else {}
        outcome = entry.get("outcome")
        text = f"{translate(items[item]) if item in items else item}: " \
               f"{translate(outcomes[outcome]) if outcome in outcomes else outcome or '—'}"
        lines.append(f"{text} — {entry['note']}" if entry.get("note") else text)
    return "; ".join(lines)


def display_field_value(name: str, value, names: dict | None = None) -> str:
    if name == "investigation_checklist" and value:
        text = _checklist_text(value)
        if text is not None:
            return text
    if names and name in REFERENCE_FIELDS and value is not None:
        kind = REFERENCE_FIELDS[name]
        if isinstance(value, list):
            return ", ".join(names.get((kind, str(v)), str(v)) for v in value) or "—"
        return names.get((kind, str(value)), str(value))
    if name == "roles" and isinstance(value, list):
        return ", ".join(translate(ROLE_LABELS[Role(v)]) if v in Role.__members__ else str(v) for v in value) or "—"
    labels = _code_labels().get(name)
    if labels and isinstance(value, str) and value in labels:
        return f"{translate(labels[value])} ({value})"
    if labels and isinstance(value, list) and value and all(v in labels for v in value):
        return ", ".join(translate(labels[v]) for v in value)
    return display_value(value)


def readable_changes(changes: dict, with_names: bool = False, names: dict | None = None) -> list[tuple]:
    """(field label, old, new) in a stable order, leaving out fields that did not change; with
    ``with_names`` each row starts with the field's name (to highlight critical fields); ``names``
    ((record type, id) -> number or name, from ``services.audit_scope.names_of``) shows records and
    people by name instead of by id."""
    rows = []
    for name in sorted(changes, key=lambda n: (_FIELD_ORDER.get(n, len(_FIELD_ORDER)), n)):
        pair = changes[name]
        old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
        if old == new:
            continue
        row = (field_label(name), display_field_value(name, old, names), display_field_value(name, new, names))
        rows.append((name, *row) if with_names else row)
    return rows


def field_label(name: str) -> str:
    return translate(FIELD_LABELS[name]) if name in FIELD_LABELS else name


def action_label(action: str) -> str:
    return translate(ACTIONS[action].label) if action in ACTIONS else action


def record_label(entity_type: str, entity_id: str | None, names: dict | None = None) -> str:
    label = translate(ENTITY_LABELS[entity_type]) if entity_type in ENTITY_LABELS else entity_type
    if not entity_id:
        return label
    return f"{label} {(names or {}).get((entity_type, entity_id), entity_id)}"


#: fields whose values are ids of records or people: shown by number or name where ``names`` knows them
REFERENCE_FIELDS = {
    "owner_id": "user", "investigator_id": "user", "received_by_id": "user", "created_by_id": "user",
    "accepted_by_id": "user", "decided_by_id": "user", "sent_by_id": "user", "answered_by_id": "user",
    "requested_by_id": "user", "called_by_id": "user", "evaluated_by_id": "user", "prepared_by_id": "user",
    "updated_by_id": "user", "copy_added_by_id": "user", "identity_verified_by_id": "user", "owner_user_id": "user",
    "drafted_by_id": "user", "user_id": "user", "placed_by_id": "user", "released_by_id": "user",
    "disposed_by_id": "user", "imported_by_id": "user", "spec_determined_by_id": "user", "marked_by_id": "user",
    "product_id": "product", "batch_id": "batch", "batch_ids": "batch", "complaint_id": "complaint",
    "complaint_ids": "complaint",
    "capa_id": "capa", "recall_id": "recall", "follow_up_of_id": "complaint",
    "linked_by_id": "user", "source_capa_id": "capa",
    "acknowledged_by_id": "user", "designated_by_id": "user", "withdrawn_by_id": "user",
}

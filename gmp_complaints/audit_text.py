"""The audit trail in plain language (AT-06), for the pages, the CSV and the printed records: labels of
actions, records and fields, and values as words, in the current language (needs an app context)."""
from __future__ import annotations

import re
from datetime import datetime

from flask import current_app

from audit.actions import ACTIONS, ENTITY_LABELS, FIELD_LABELS
from gmp_complaints.documents import print_time_text
from gmp_complaints.domain.errors import Msg
from gmp_complaints.domain.roles import ROLE_LABELS, Role
from gmp_complaints.i18n import translate

_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def display_value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return translate(Msg("yes")) if value else translate(Msg("no"))
    if isinstance(value, list):
        return ", ".join(display_value(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {display_value(v)}" for k, v in value.items())
    if isinstance(value, str) and _INSTANT.match(value):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return print_time_text(moment, current_app.config["GMP_SETTINGS"].site_timezone)
    return str(value)


_FIELD_ORDER = {name: position for position, name in enumerate(FIELD_LABELS)}


def _code_labels() -> dict[str, dict]:
    """Field name -> {code: label} for fields that hold codes, so auditors read words (AT-06)."""
    from gmp_complaints.domain import capa, complaints

    return {
        "status": {**{k.value: v for k, v in capa.STATUS_LABELS.items()},
                   **{k.value: v for k, v in complaints.STATUS_LABELS.items()}},
        "complaint_type": {k.value: v for k, v in complaints.TYPE_LABELS.items()},
        "channel": {k.value: v for k, v in complaints.CHANNEL_LABELS.items()},
        "kind": {**{k.value: v for k, v in capa.ACTION_KIND_LABELS.items()}, **complaints.DUE_KIND_LABELS},
        "effectiveness_result": {k.value: v for k, v in capa.EFFECTIVENESS_LABELS.items()},
        "source": {k.value: v for k, v in capa.SOURCE_LABELS.items()},
    }


def display_field_value(name: str, value) -> str:
    if name == "roles" and isinstance(value, list):
        return ", ".join(translate(ROLE_LABELS[Role(v)]) if v in Role.__members__ else str(v) for v in value) or "—"
    labels = _code_labels().get(name)
    if labels and isinstance(value, str) and value in labels:
        return f"{translate(labels[value])} ({value})"
    return display_value(value)


def readable_changes(changes: dict, with_names: bool = False) -> list[tuple]:
    """(field label, old, new) in a stable order, leaving out fields that did not change; with
    ``with_names`` each row starts with the field's name (to highlight critical fields)."""
    rows = []
    for name in sorted(changes, key=lambda n: (_FIELD_ORDER.get(n, len(_FIELD_ORDER)), n)):
        pair = changes[name]
        old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
        if old == new:
            continue
        row = (field_label(name), display_field_value(name, old), display_field_value(name, new))
        rows.append((name, *row) if with_names else row)
    return rows


def field_label(name: str) -> str:
    return translate(FIELD_LABELS[name]) if name in FIELD_LABELS else name


def action_label(action: str) -> str:
    return translate(ACTIONS[action].label) if action in ACTIONS else action


def record_label(entity_type: str, entity_id: str | None) -> str:
    label = translate(ENTITY_LABELS[entity_type]) if entity_type in ENTITY_LABELS else entity_type
    return f"{label} {entity_id}" if entity_id else label

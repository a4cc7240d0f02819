"""Translation of messages that come from the rules (``domain.errors.Msg``) and of the labels shown with
records, in the current language (Flask-Babel: inside an app context, with or without a request)."""
from __future__ import annotations

from flask_babel import gettext

from gmp_complaints.domain.adr import ADR_STATUS_LABELS, ELEMENT_LABELS, SERIOUSNESS_LABELS
from gmp_complaints.domain.complaint_file import FILE_ITEM_LABELS
from gmp_complaints.domain.complaints import (
    ASSESSMENT_ACTION_LABELS,
    CHANNEL_LABELS,
    DISPOSED,
    DISPOSED_LABEL,
    DUE_KIND_LABELS,
    INTERIM_MEASURE_LABELS,
    REPLY_REPORT_STATUS_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
)
from gmp_complaints.domain.errors import Msg
from gmp_complaints.domain.field_alert import CRITERION_LABELS as FIELD_ALERT_CRITERION_LABELS
from gmp_complaints.domain.grading import SEVERITY_DEFINITIONS, SEVERITY_LABELS
from gmp_complaints.domain.investigation import (
    CHECKLIST_LABELS,
    EXAMINED_CAUSE_LABELS,
    OUTCOME_LABELS,
    QUARANTINE_LABELS,
    ROOT_CAUSE_CATEGORY_LABELS,
)
from gmp_complaints.domain.triage import ANSWER_LABELS, ROUTING_LABELS


def translate(message) -> str:
    if isinstance(message, Msg):
        params = {k: translate(v) if isinstance(v, Msg) else v for k, v in message.params.items()}
        return gettext(message.template, **params)
    return gettext(str(message))


def signature_labels() -> dict:
    """Step and meaning labels of electronic signatures, in the page language (every signed record)."""
    from signatures.manifestation import MEANING_LABELS
    from signatures.matrix import SIGNING_MATRIX

    return {"step": {k.value: translate(v.label) for k, v in SIGNING_MATRIX.items()},
            "meaning": {k.value: translate(v) for k, v in MEANING_LABELS.items()}}


def complaint_labels() -> dict:
    """Labels of a complaint's codes (status, type, channel, due kinds, actions, checklist, outcomes,
    quarantine, root-cause categories and the causes examined), in the page language."""
    return {"status": {**{k.value: translate(v) for k, v in STATUS_LABELS.items()}, DISPOSED: translate(DISPOSED_LABEL)},
            "type": {k.value: translate(v) for k, v in TYPE_LABELS.items()},
            "channel": {k.value: translate(v) for k, v in CHANNEL_LABELS.items()},
            "due": {k: translate(v) for k, v in DUE_KIND_LABELS.items()},
            "action": {k: translate(v) for k, v in ASSESSMENT_ACTION_LABELS.items()},
            "checklist": {k.value: translate(v) for k, v in CHECKLIST_LABELS.items()},
            "outcome": {k.value: translate(v) for k, v in OUTCOME_LABELS.items()},
            "quarantine": {k.value: translate(v) for k, v in QUARANTINE_LABELS.items()},
            "interim": {k.value: translate(v) for k, v in INTERIM_MEASURE_LABELS.items()},
            "report_status": {k: translate(v) for k, v in REPLY_REPORT_STATUS_LABELS.items()},
            "root_cause_category": {k.value: translate(v) for k, v in ROOT_CAUSE_CATEGORY_LABELS.items()},
            "examined": {k.value: translate(v) for k, v in EXAMINED_CAUSE_LABELS.items()},
            "answer": {k.value: translate(v) for k, v in ANSWER_LABELS.items()},
            "routing": {k.value: translate(v) for k, v in ROUTING_LABELS.items()},
            "file_item": {k.value: translate(v) for k, v in FILE_ITEM_LABELS.items()},
            "field_alert_criteria": {k: translate(v) for k, v in FIELD_ALERT_CRITERION_LABELS.items()},
            "severity": {k.value: translate(v) for k, v in SEVERITY_LABELS.items()},
            "severity_definition": {k.value: translate(v) for k, v in SEVERITY_DEFINITIONS.items()}}


def adr_labels() -> dict:
    """The ADR hand-off's codes in the page language (the complaint page and the hand-off packet)."""
    return {"status": {k.value: translate(v) for k, v in ADR_STATUS_LABELS.items()},
            "seriousness": {k.value: translate(v) for k, v in SERIOUSNESS_LABELS.items()},
            "element": {k: translate(v) for k, v in ELEMENT_LABELS.items()}}

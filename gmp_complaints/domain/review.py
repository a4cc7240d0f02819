"""The QA head's review of a complaint's audit trail before closure (21 CFR 211.198, Annex 11 §9,
AT-07): which recorded changes are critical and must stand out."""
from __future__ import annotations

from gmp_complaints.domain.errors import Msg

#: fields whose change can alter the outcome of a complaint: class, batches, ADR, root cause, reply
CRITICAL_FIELDS = frozenset({
    "complaint_class", "original_class", "batch_ids", "batch_unknown_reason", "adr_suspected", "adr_confirmed",
    "root_cause", "impact", "other_batches_affected", "reasonable", "regulator_report_required", "summary",
    "substantiated", "retention_until", "root_cause_category", "human_error_justification",
    "quality_defect_suspected", "falsification_suspected", "routed_to", "spec_failure_suspected",
    "spec_investigation_required", "severity", "extend_to_other_batches", "extension_batch_nos",
    "extension_product_codes",
})
#: actions that are critical whatever they change
CRITICAL_ACTIONS = frozenset({"complaint.regrade", "complaint.batches_changed", "complaint_reply.created",
                              "complaint.void", "signature.refused", "not_known_item.marked"})

CRITICAL_LABEL = Msg("critical")


def critical_fields(action: str, changes: dict) -> list[str]:
    """The critical fields an event touches; the action name itself when the whole action is critical."""
    fields = sorted(CRITICAL_FIELDS & set(changes))
    if action in CRITICAL_ACTIONS and not fields:
        return [action]
    return fields

"""Which records' audit trails each role may read (Annex 11 §9: review by the right people).

``None`` means everything. Entity types of later modules are listed here as they arrive.
"""
from __future__ import annotations

from gmp_complaints.domain.roles import Role

# Accounts and their security: the requested changes of access (SEC-04) and the alerts on failures (SEC-06) too.
ACCOUNT_ENTITIES = frozenset({"user", "audit", "signing_key", "access_request", "security_alert"})
# The installation itself: backups, test restores, schema upgrades (RET-04, RET-05).
SYSTEM_ENTITIES = frozenset({"instance", "schema"})
# Configuration the administrator maintains (calendars, time limits) is part of the GMP record too.
CONFIGURATION_ENTITIES = frozenset({"calendar", "configuration", "class_criteria", "responsible_official"})
GMP_ENTITIES = CONFIGURATION_ENTITIES | frozenset({
    "complaint", "complaint_reply", "reply_report", "user_notice", "notice_acknowledgement", "storage", "legal_hold", "disposal", "legacy_import", "customer_response", "customer_reminder", "capa", "product", "batch",
    "distribution", "transfer", "attachment", "deadline_extension", "quarantine_request", "escalation",
    "outbox_message", "signature", "capa_action", "capa_evidence", "job",
    "recall", "recall_reconciliation", "notification", "return", "recall_batch_disposition",
    "recall_effectiveness_check", "recall_effectiveness_contact", "recall_notice", "adr_case", "adr_investigation_request", "trends", "trend_review", "quarterly_review", "sent_letter", "follow_up_call", "compensation"})


def visible_entity_types(roles) -> frozenset[str] | None:
    roles = set(roles)
    if Role.auditor in roles:
        return None
    visible: set[str] = set()
    if Role.admin in roles:
        # The administrator reviews security events and its own configuration changes, never GMP records.
        visible |= ACCOUNT_ENTITIES | CONFIGURATION_ENTITIES | SYSTEM_ENTITIES
    if Role.qa_head in roles:
        visible |= GMP_ENTITIES | ACCOUNT_ENTITIES | SYSTEM_ENTITIES  # QA also reviews who had access
    if roles & {Role.qa_officer, Role.qp}:
        visible |= GMP_ENTITIES
    return frozenset(visible)

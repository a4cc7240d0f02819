"""The database protections a release installs (DESIGN §3): the triggers that keep GMP records append-only or
attributed, per database. `gmp validate iq` checks the live database holds every one (on PostgreSQL also enabled
ALWAYS, so a replica session role does not bypass them); a test checks the migrations create exactly these, so a
migration that adds or drops a protection changes this list under change control.

TRUNCATE (issue 19): on PostgreSQL every table the product owns refuses TRUNCATE with a statement-level trigger
enabled ALWAYS (so neither the table owner nor a superuser in ``session_replication_role = replica`` empties a
table, and ``TRUNCATE complaints CASCADE`` fails on the first guarded table). The product never truncates; the
tables it empties row by row (sessions, tokens, read marks) keep DELETE and are guarded too, since their rows are
part of a record's story (who was signed in, whose token). Exempt: ``NOT_GUARDED``. A migration that
adds a table adds its guard with ``truncate_guard_sql``; `gmp validate iq` and a test list every table of the live
database and name any without one. SQLite has no TRUNCATE (its ``DELETE`` without ``WHERE`` meets the row
triggers)."""
from __future__ import annotations

#: the function every truncate guard calls (migration 0049); the audit tables of migration 0002 call
#: ``gmp_append_only``, which refuses TRUNCATE the same way
TRUNCATE_GUARD_FUNCTION = """
    CREATE OR REPLACE FUNCTION gmp_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'TRUNCATE % refused: GMP records are never emptied', TG_TABLE_NAME;
    END $$
"""

#: Alembic's bookkeeping is not a GMP record (its revision is checked by `gmp validate iq`)
NOT_GUARDED = frozenset({"alembic_version"})


def truncate_guard_name(table: str) -> str:
    return f"{table}_no_truncate"


def truncate_guard_sql(table: str) -> list[str]:
    """The statements that make ``table`` refuse TRUNCATE on PostgreSQL (after ``TRUNCATE_GUARD_FUNCTION``)."""
    name = truncate_guard_name(table)
    return [f"CREATE TRIGGER {name} BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION gmp_refuse_truncate()",
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}"]


#: the tables guarded against TRUNCATE by migration 0049 (the four audit tables were guarded by 0002 already)
#: and after it (login_throttles by 0050: a TRUNCATE there would lift every lockout at once); a migration that
#: adds a table adds it here and its guard there
TRUNCATE_GUARDED_TABLES = frozenset({
    "access_requests", "adr_cases", "adr_clocks", "adr_investigation_requests", "api_tokens", "attachments",
    "audit_checkpoints", "audit_events", "audit_log_head", "batches", "calendar_days", "calendar_years",
    "capa_actions", "capa_complaints", "capa_evidence", "capa_sources", "capas", "class_criteria",
    "class_criteria_versions", "compensation_authorities", "compensation_limits", "compensations",
    "complaint_batches", "complaint_replies", "complaints", "customer_reminders", "customer_responses",
    "deadline_extensions", "disposals", "distributions", "escalations", "follow_up_calls", "jobs", "kept_due_dates",
    "legacy_imports", "legal_holds", "login_throttles", "not_known_items", "notice_acknowledgements", "notice_reads",
    "notifications",
    "number_counters", "outbox_messages", "password_history", "products", "quarantine_requests",
    "quarterly_reviews", "recall_batch_dispositions", "recall_batches", "recall_clocks", "recall_complaints",
    "recall_effectiveness_checks", "recall_effectiveness_contacts", "recall_notices", "recall_reconciliations",
    "recalls", "reply_reports", "responsible_officials", "returns", "security_alerts", "sent_letters",
    "signal_settings", "signatures", "signing_keys", "time_limits", "transfer_log", "trend_reviews", "user_notices",
    "user_roles", "user_sessions", "users", "void_requests",
})

EXPECTED_TRIGGERS = {
    "sqlite": frozenset({
    "adr_cases_no_delete", "adr_clocks_no_delete", "adr_investigation_requests_no_delete", "attachments_no_delete",
    "attachments_no_update", "kept_due_dates_no_delete",
    "audit_checkpoints_no_delete", "audit_checkpoints_no_update", "audit_events_no_delete", "audit_events_no_update",
    "audit_log_head_no_delete", "audit_log_head_no_rewind", "capa_evidence_no_delete", "capa_evidence_no_update",
    "capas_no_delete", "class_criteria_no_delete", "class_criteria_no_update", "class_criteria_versions_no_delete",
    "class_criteria_versions_no_update", "compensations_no_delete", "complaints_fixed_fields",
    "complaints_no_delete", "disposals_no_delete", "disposals_no_update", "escalations_no_delete",
    "escalations_no_update", "follow_up_calls_no_delete", "legacy_imports_no_delete", "legacy_imports_no_update",
    "legal_holds_no_delete", "not_known_items_no_delete", "notifications_no_delete", "quarterly_reviews_no_delete",
    "recall_batch_dispositions_no_delete", "recall_batches_no_delete", "recall_complaints_no_delete",
    "recall_effectiveness_checks_no_delete", "recall_effectiveness_contacts_no_delete", "recall_notices_no_delete",
    "recall_reconciliations_no_delete", "recalls_no_delete", "reply_reports_no_delete", "returns_no_delete",
    "sent_letters_no_delete", "signatures_no_delete", "signatures_no_update", "signing_keys_no_delete",
    "signing_keys_no_update", "trend_reviews_no_delete", "user_notices_no_delete", "users_no_delete",
    "users_username_fixed", "users_account_type_fixed", "access_requests_no_delete", "access_requests_decided_once",
    "security_alerts_no_update", "security_alerts_no_delete",
    "capa_sources_no_update", "capa_sources_no_delete",
    "responsible_officials_no_delete", "responsible_officials_withdrawn_once",
    "notice_acknowledgements_no_update", "notice_acknowledgements_no_delete",
    }),
    "postgresql": frozenset({
    "adr_cases_attribution", "adr_cases_no_delete", "adr_clocks_attribution", "adr_clocks_no_delete",
    "kept_due_dates_attribution", "kept_due_dates_no_delete", "adr_investigation_requests_attribution",
    "adr_investigation_requests_no_delete", "api_tokens_attribution", "attachments_append_only",
    "attachments_attribution", "audit_checkpoints_append_only", "audit_checkpoints_attribution",
    "audit_checkpoints_no_truncate", "audit_events_append_only", "audit_events_attribution",
    "audit_events_no_truncate", "audit_log_head_attribution", "audit_log_head_guard", "audit_log_head_no_truncate",
    "batches_attribution", "calendar_days_attribution", "calendar_years_attribution", "capa_actions_attribution",
    "capa_complaints_attribution", "capa_evidence_append_only", "capa_evidence_attribution", "capas_attribution",
    "capas_no_delete", "class_criteria_append_only", "class_criteria_attribution",
    "class_criteria_versions_append_only", "class_criteria_versions_attribution",
    "compensation_authorities_attribution", "compensation_limits_attribution", "compensations_attribution",
    "compensations_no_delete", "complaint_batches_attribution", "complaint_replies_attribution",
    "complaints_attribution", "complaints_guard", "customer_reminders_attribution", "customer_responses_attribution",
    "deadline_extensions_attribution", "disposals_append_only", "disposals_attribution", "distributions_attribution",
    "escalations_append_only", "escalations_attribution", "follow_up_calls_attribution", "follow_up_calls_no_delete",
    "jobs_attribution", "legacy_imports_append_only", "legacy_imports_attribution", "legal_holds_attribution",
    "legal_holds_no_delete", "not_known_items_attribution", "not_known_items_no_delete", "notifications_attribution",
    "notifications_no_delete", "number_counters_attribution",
    "outbox_messages_attribution", "password_history_attribution", "products_attribution",
    "quarantine_requests_attribution", "quarterly_reviews_attribution", "quarterly_reviews_no_delete",
    "recall_batch_dispositions_attribution", "recall_batch_dispositions_no_delete", "recall_batches_attribution",
    "recall_batches_no_delete", "recall_clocks_attribution", "recall_complaints_attribution",
    "recall_complaints_no_delete", "recall_effectiveness_checks_attribution",
    "recall_effectiveness_checks_no_delete", "recall_effectiveness_contacts_attribution",
    "recall_effectiveness_contacts_no_delete", "recall_notices_attribution", "recall_notices_no_delete",
    "recall_reconciliations_attribution", "recall_reconciliations_no_delete", "recalls_attribution",
    "recalls_no_delete", "reply_reports_attribution", "reply_reports_no_delete", "returns_attribution",
    "returns_no_delete", "sent_letters_attribution", "sent_letters_no_delete", "signal_settings_attribution",
    "signatures_append_only", "signatures_attribution", "signing_keys_append_only", "signing_keys_attribution",
    "signing_keys_no_truncate", "time_limits_attribution", "transfer_log_attribution", "trend_reviews_attribution",
    "trend_reviews_no_delete", "user_notices_attribution", "user_notices_no_delete", "user_roles_attribution",
    "user_sessions_attribution", "users_attribution", "users_guard", "void_requests_attribution",
    "login_throttles_attribution",
    "users_account_type_fixed", "access_requests_attribution", "access_requests_no_delete",
    "access_requests_decided_once", "security_alerts_attribution", "security_alerts_append_only",
    "capa_sources_attribution", "capa_sources_append_only",
    "responsible_officials_attribution", "responsible_officials_no_delete", "responsible_officials_withdrawn_once",
    "notice_acknowledgements_attribution", "notice_acknowledgements_append_only",
    }) | frozenset(truncate_guard_name(table) for table in TRUNCATE_GUARDED_TABLES),
}


def tables_without_truncate_guard(connection) -> list[str]:
    """PostgreSQL: every table of the current schema (but ``NOT_GUARDED``) with no BEFORE TRUNCATE trigger
    enabled ALWAYS: a table added without its guard is named here, whatever the list above says."""
    import sqlalchemy as sa

    rows = connection.execute(sa.text("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
          AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal
                          AND (t.tgtype & 34) = 34 AND t.tgenabled = 'A')
        ORDER BY c.relname"""))
    return [name for (name,) in rows if name not in NOT_GUARDED]

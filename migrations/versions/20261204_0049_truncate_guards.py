"""TRUNCATE refused on every GMP table on PostgreSQL (issue 19; AT-03).

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-04

Reviewed by hand.

- gmp_refuse_truncate() (new, PostgreSQL): a trigger function that raises "TRUNCATE <table> refused".
- <table>_no_truncate (new, PostgreSQL) on each of the 67 tables listed in GUARDED below: a BEFORE TRUNCATE
  statement-level trigger calling it, set ENABLE ALWAYS so that neither the table owner nor a superuser with
  ``session_replication_role = replica`` empties a table. ``TRUNCATE complaints CASCADE`` fails on the first
  guarded table. Until now only the four audit tables (audit_events, audit_checkpoints, signing_keys,
  audit_log_head, migration 0002) refused TRUNCATE; the table owner could empty signatures or complaints and
  nothing noticed. No table is exempt: the product never truncates, and the tables it empties row by row
  (sessions, tokens, read marks) keep DELETE.
- The list is the product's tables at revision 0048 but the four of 0002; the upgrade checks it against the
  database and stops if a table is missing from it or unknown, so no table is left unguarded by this revision.
  A migration that adds a table adds its guard with ``gmp_complaints.protections.truncate_guard_sql``.
- SQLite: nothing (SQLite has no TRUNCATE; a ``DELETE`` without ``WHERE`` meets the existing row triggers).
- Downgrade drops the triggers and the function.
"""
import sqlalchemy as sa
from alembic import op

from gmp_complaints.protections import TRUNCATE_GUARD_FUNCTION, truncate_guard_name, truncate_guard_sql

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

#: guarded by migration 0002 (gmp_append_only refuses TRUNCATE too)
ALREADY_GUARDED = ("audit_checkpoints", "audit_events", "audit_log_head", "signing_keys")
GUARDED = (
    "access_requests", "adr_cases", "adr_clocks", "adr_investigation_requests", "api_tokens", "attachments",
    "batches", "calendar_days", "calendar_years", "capa_actions", "capa_complaints", "capa_evidence", "capa_sources",
    "capas", "class_criteria", "class_criteria_versions", "compensation_authorities", "compensation_limits",
    "compensations", "complaint_batches", "complaint_replies", "complaints", "customer_reminders",
    "customer_responses", "deadline_extensions", "disposals", "distributions", "escalations", "follow_up_calls",
    "jobs", "kept_due_dates", "legacy_imports", "legal_holds", "not_known_items", "notice_acknowledgements",
    "notice_reads", "notifications", "number_counters", "outbox_messages", "password_history", "products",
    "quarantine_requests", "quarterly_reviews", "recall_batch_dispositions", "recall_batches", "recall_clocks",
    "recall_complaints", "recall_effectiveness_checks", "recall_effectiveness_contacts", "recall_notices",
    "recall_reconciliations", "recalls", "reply_reports", "responsible_officials", "returns", "security_alerts",
    "sent_letters", "signal_settings", "signatures", "time_limits", "transfer_log", "trend_reviews", "user_notices",
    "user_roles", "user_sessions", "users", "void_requests",
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    present = set(sa.inspect(bind).get_table_names()) - {"alembic_version"}
    expected = set(GUARDED) | set(ALREADY_GUARDED)
    if present != expected:
        raise RuntimeError(f"migration 0049 guards a fixed list of tables; the database differs: missing from the "
                           f"list {sorted(present - expected)}, absent from the database {sorted(expected - present)}")
    op.execute(TRUNCATE_GUARD_FUNCTION)
    for table in GUARDED:
        for statement in truncate_guard_sql(table):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in GUARDED:
        op.execute(f"DROP TRIGGER IF EXISTS {truncate_guard_name(table)} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gmp_refuse_truncate()")

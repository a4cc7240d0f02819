"""The rest of the complaint process: class criteria as versioned master data, time limits as
configuration, deadline extensions, the investigation checklist and quarantine requests, owners,
escalations, and the e-mail outbox.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Reviewed by hand. Criteria versions and escalations are append-only (a new criteria version is a new
row set, never an edit). Reference data (criteria SOP-3/1, default time limits) is loaded by
`gmp init` through the application, so it carries attribution and audit events like any other write.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
NEW_TABLES = ("class_criteria_versions", "class_criteria", "time_limits", "deadline_extensions",
              "quarantine_requests", "escalations", "outbox_messages")
APPEND_ONLY = ("class_criteria_versions", "class_criteria", "escalations")


def upgrade() -> None:
    op.create_table(
        "class_criteria_versions",
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_class_criteria_versions_created_by_id_users")),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_class_criteria_versions")),
    )
    op.create_table(
        "class_criteria",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("complaint_class", sa.String(length=3), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.CheckConstraint("complaint_class IN ('I', 'II', 'III')", name=op.f("ck_class_criteria_class_known")),
        sa.ForeignKeyConstraint(["version"], ["class_criteria_versions.version"],
                                name=op.f("fk_class_criteria_version_class_criteria_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_criteria")),
        sa.UniqueConstraint("version", "code", name="uq_class_criteria_version_code"),
    )
    op.create_table(
        "time_limits",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("working_days BETWEEN 1 AND 250", name=op.f("ck_time_limits_working_days_range")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_time_limits_updated_by_id_users")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_time_limits")),
    )
    op.create_table(
        "deadline_extensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("due_on_before", sa.Date(), nullable=False),
        sa.Column("new_due_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", UTC_TS, nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.CheckConstraint("status IN ('requested', 'approved', 'rejected')",
                           name=op.f("ck_deadline_extensions_status_known")),
        sa.CheckConstraint("new_due_on > due_on_before", name=op.f("ck_deadline_extensions_later")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_deadline_extensions_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_deadline_extensions_requested_by_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_deadline_extensions_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_extensions")),
    )
    op.create_index(op.f("ix_deadline_extensions_complaint_id"), "deadline_extensions", ["complaint_id"])
    op.create_table(
        "quarantine_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.String(length=64), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("status IN ('requested', 'quarantined', 'no_stock')",
                           name=op.f("ck_quarantine_requests_status_known")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_quarantine_requests_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_quarantine_requests_batch_id_batches")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_quarantine_requests_requested_by_id_users")),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"],
                                name=op.f("fk_quarantine_requests_answered_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_requests")),
    )
    op.create_index(op.f("ix_quarantine_requests_complaint_id"), "quarantine_requests", ["complaint_id"])
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("escalated_on", sa.Date(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_escalations_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("complaint_id", "kind", "due_on", name="uq_escalations_complaint_kind_due"),
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("sent_at", UTC_TS, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent')", name=op.f("ck_outbox_messages_status_known")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_outbox_messages_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(op.f("ix_outbox_messages_status"), "outbox_messages", ["status"])
    # Plain ADD COLUMN on both dialects: a batch rebuild of complaints on SQLite would drop its guard triggers.
    for column in ("class_criteria", "investigation_checklist"):
        op.add_column("complaints", sa.Column(column, sa.Text(), nullable=True))
    for column in ("owner_id", "investigator_id"):
        if op.get_bind().dialect.name == "postgresql":
            op.add_column("complaints", sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(op.f(f"fk_complaints_{column}_users"), "complaints", "users", [column], ["id"])
        else:
            op.execute(f"ALTER TABLE complaints ADD COLUMN {column} INTEGER REFERENCES users (id)")

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            op.execute(f"CREATE TRIGGER {table}_attribution BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_attribution")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only")
    else:
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} are never changed'); END")
            op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} are never deleted'); END")


def downgrade() -> None:
    for column in ("investigator_id", "owner_id", "investigation_checklist", "class_criteria"):
        if column.endswith("_id") and op.get_bind().dialect.name == "postgresql":
            op.drop_constraint(op.f(f"fk_complaints_{column}_users"), "complaints", type_="foreignkey")
        op.drop_column("complaints", column)
    op.drop_index(op.f("ix_outbox_messages_status"), table_name="outbox_messages")
    op.drop_table("outbox_messages")
    op.drop_table("escalations")
    op.drop_index(op.f("ix_quarantine_requests_complaint_id"), table_name="quarantine_requests")
    op.drop_table("quarantine_requests")
    op.drop_index(op.f("ix_deadline_extensions_complaint_id"), table_name="deadline_extensions")
    op.drop_table("deadline_extensions")
    op.drop_table("time_limits")
    op.drop_table("class_criteria")
    op.drop_table("class_criteria_versions")

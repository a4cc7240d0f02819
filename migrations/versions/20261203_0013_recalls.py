"""Recalls (SOP 5.5.3): the recall record with its batches and complaints, reconciliation per consignee
and batch, the recall clocks per level, the regulator-notification register, the recall coordinator
role, and the contact details of distribution records that a recall needs.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

Reviewed by hand. Recalls, reconciliation lines and register entries are never deleted; on PostgreSQL a
write without the application's attribution is refused, as on every GMP table. The roles check is
widened to the recall coordinator (SQLite rebuilds user_roles to change a check constraint).
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
OLD_ROLES = "('intake', 'qa_officer', 'investigator', 'qa_head', 'qp', 'auditor', 'admin')"
NEW_ROLES = "('intake', 'qa_officer', 'investigator', 'qa_head', 'qp', 'auditor', 'admin', 'recall_coordinator')"
NEW_TABLES = ("recalls", "recall_batches", "recall_complaints", "recall_reconciliations", "recall_clocks",
              "notifications")
NEVER_DELETED = ("recalls", "recall_batches", "recall_complaints", "recall_reconciliations", "notifications")
KINDS = ("('adr_report', 'recall_notice', 'recall_report_and_plan', 'recall_progress', 'field_alert', "
         "'quality_report')")


def _roles_check(roles: str) -> None:
    with op.batch_alter_table("user_roles", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_user_roles_role_known"), type_="check")
        batch.create_check_constraint(op.f("ck_user_roles_role_known"), f"role IN {roles}")


def upgrade() -> None:
    _roles_check(NEW_ROLES)
    with op.batch_alter_table("distributions") as batch:
        batch.add_column(sa.Column("address", sa.Text(), nullable=True))
        batch.add_column(sa.Column("contact", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("out_of_hours_contact", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("is_export", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("is_medical_sample", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "recalls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=3), nullable=False),
        sa.Column("depth", sa.String(length=16), nullable=False),
        sa.Column("fda_class", sa.String(length=3), nullable=True),
        sa.Column("safety_hazard", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("no_alternative_product", sa.Boolean(), nullable=False),
        sa.Column("supply_impact", sa.Text(), nullable=True),
        sa.Column("origin_reference", sa.String(length=200), nullable=True),
        sa.Column("mock", sa.Boolean(), nullable=False),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.Column("completed_at", UTC_TS, nullable=True),
        sa.Column("closed_at", UTC_TS, nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("status IN ('proposed', 'in_progress', 'completed', 'closed', 'cancelled')",
                           name=op.f("ck_recalls_status_known")),
        sa.CheckConstraint("origin IN ('complaint', 'batch', 'trend', 'regulator_order')",
                           name=op.f("ck_recalls_origin_known")),
        sa.CheckConstraint("level IN ('I', 'II', 'III')", name=op.f("ck_recalls_level_known")),
        sa.CheckConstraint("depth IN ('wholesale', 'retail', 'patient')", name=op.f("ck_recalls_depth_known")),
        sa.CheckConstraint("fda_class IS NULL OR fda_class IN ('I', 'II', 'III')",
                           name=op.f("ck_recalls_fda_class_known")),
        sa.CheckConstraint("(status = 'proposed' OR status = 'cancelled') = (decided_at IS NULL)",
                           name=op.f("ck_recalls_decided_iff_past_proposal")),
        sa.CheckConstraint("(status = 'cancelled') = (cancel_reason IS NOT NULL)",
                           name=op.f("ck_recalls_cancel_reason_iff_cancelled")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_recalls_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recalls")),
        sa.UniqueConstraint("number", name=op.f("uq_recalls_number")),
    )
    op.create_index(op.f("ix_recalls_status"), "recalls", ["status"])
    op.create_table(
        "recall_batches",
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"], name=op.f("fk_recall_batches_recall_id_recalls")),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_recall_batches_batch_id_batches")),
        sa.PrimaryKeyConstraint("recall_id", "batch_id", name=op.f("pk_recall_batches")),
    )
    op.create_index(op.f("ix_recall_batches_batch_id"), "recall_batches", ["batch_id"])
    op.create_table(
        "recall_complaints",
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"], name=op.f("fk_recall_complaints_recall_id_recalls")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_recall_complaints_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("recall_id", "complaint_id", name=op.f("pk_recall_complaints")),
    )
    op.create_index(op.f("ix_recall_complaints_complaint_id"), "recall_complaints", ["complaint_id"])
    op.create_table(
        "recall_reconciliations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("consignee", sa.String(length=200), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("quantity_delivered", sa.Integer(), nullable=False),
        sa.Column("quantity_recovered", sa.Integer(), nullable=False),
        sa.Column("quantity_destroyed", sa.Integer(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", UTC_TS, nullable=False),
        sa.CheckConstraint("quantity_recovered >= 0 AND quantity_destroyed >= 0",
                           name=op.f("ck_recall_reconciliations_quantities_not_negative")),
        sa.CheckConstraint("quantity_recovered + quantity_destroyed <= quantity_delivered",
                           name=op.f("ck_recall_reconciliations_within_delivered")),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"],
                                name=op.f("fk_recall_reconciliations_recall_id_recalls")),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"],
                                name=op.f("fk_recall_reconciliations_batch_id_batches")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"],
                                name=op.f("fk_recall_reconciliations_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_reconciliations")),
        sa.UniqueConstraint("recall_id", "consignee", "batch_id", name="uq_recall_reconciliations_line"),
    )
    op.create_index(op.f("ix_recall_reconciliations_recall_id"), "recall_reconciliations", ["recall_id"])
    op.create_table(
        "recall_clocks",
        sa.Column("level", sa.String(length=3), nullable=False),
        sa.Column("notify_hours", sa.Integer(), nullable=False),
        sa.Column("report_and_plan_days", sa.Integer(), nullable=False),
        sa.Column("progress_every_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.CheckConstraint("level IN ('I', 'II', 'III')", name=op.f("ck_recall_clocks_level_known")),
        sa.PrimaryKeyConstraint("level", name=op.f("pk_recall_clocks")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("subject_number", sa.String(length=32), nullable=False),
        sa.Column("due_at", UTC_TS, nullable=False),
        sa.Column("sent_at", UTC_TS, nullable=True),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("escalated_at", UTC_TS, nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint(f"kind IN {KINDS}", name=op.f("ck_notifications_kind_known")),
        sa.CheckConstraint("subject_type IN ('complaint', 'recall')", name=op.f("ck_notifications_subject_type_known")),
        sa.CheckConstraint("(sent_at IS NULL) = (method IS NULL)", name=op.f("ck_notifications_sent_with_method")),
        sa.ForeignKeyConstraint(["sent_by_id"], ["users.id"], name=op.f("fk_notifications_sent_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_due_at"), "notifications", ["due_at"])
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            op.execute(f"CREATE TRIGGER {table}_attribution BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_attribution")
        for table in NEVER_DELETED:
            op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_delete")
    else:
        for table in NEVER_DELETED:
            op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for table in NEVER_DELETED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    op.drop_index(op.f("ix_notifications_due_at"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("recall_clocks")
    op.drop_index(op.f("ix_recall_reconciliations_recall_id"), table_name="recall_reconciliations")
    op.drop_table("recall_reconciliations")
    op.drop_index(op.f("ix_recall_complaints_complaint_id"), table_name="recall_complaints")
    op.drop_table("recall_complaints")
    op.drop_index(op.f("ix_recall_batches_batch_id"), table_name="recall_batches")
    op.drop_table("recall_batches")
    op.drop_index(op.f("ix_recalls_status"), table_name="recalls")
    op.drop_table("recalls")
    with op.batch_alter_table("distributions") as batch:
        for column in ("is_medical_sample", "is_export", "out_of_hours_contact", "email", "phone", "contact",
                       "address"):
            batch.drop_column(column)
    _roles_check(OLD_ROLES)

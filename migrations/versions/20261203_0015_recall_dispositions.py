"""Recall: the signed disposition of each recalled batch, and the effectiveness check with its sample and
contacts.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

Reviewed by hand. None of these rows is ever deleted; stock goes back only with a test record (a check
constraint); on PostgreSQL a write without the application's attribution is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
NEW_TABLES = ("recall_batch_dispositions", "recall_effectiveness_checks", "recall_effectiveness_contacts")


def upgrade() -> None:
    op.create_table(
        "recall_batch_dispositions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("test_reference", sa.String(length=200), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTC_TS, nullable=False),
        sa.CheckConstraint("decision IN ('destroy', 'reprocess', 'return_to_stock')",
                           name=op.f("ck_recall_batch_dispositions_decision_known")),
        sa.CheckConstraint("decision <> 'return_to_stock' OR test_reference IS NOT NULL",
                           name=op.f("ck_recall_batch_dispositions_stock_needs_test")),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"], name=op.f("fk_recall_batch_dispositions_recall_id_recalls")),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_recall_batch_dispositions_batch_id_batches")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_recall_batch_dispositions_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_batch_dispositions")),
        sa.UniqueConstraint("recall_id", "batch_id", name="uq_recall_batch_dispositions_batch"),
    )
    op.create_index(op.f("ix_recall_batch_dispositions_recall_id"), "recall_batch_dispositions", ["recall_id"])
    op.create_table(
        "recall_effectiveness_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=1), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("sample", sa.Text(), nullable=False),
        sa.Column("chosen_by_id", sa.Integer(), nullable=True),
        sa.Column("chosen_at", UTC_TS, nullable=False),
        sa.CheckConstraint("level IN ('A', 'B', 'C', 'D', 'E')", name=op.f("ck_recall_effectiveness_checks_level_known")),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"],
                                name=op.f("fk_recall_effectiveness_checks_recall_id_recalls")),
        sa.ForeignKeyConstraint(["chosen_by_id"], ["users.id"],
                                name=op.f("fk_recall_effectiveness_checks_chosen_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_effectiveness_checks")),
        sa.UniqueConstraint("recall_id", name=op.f("uq_recall_effectiveness_checks_recall_id")),
    )
    op.create_table(
        "recall_effectiveness_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("consignee", sa.String(length=200), nullable=False),
        sa.Column("contacted_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("result", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", UTC_TS, nullable=False),
        sa.CheckConstraint("result IN ('notice_received_stock_removed', 'notice_received_stock_found', "
                           "'notice_not_received', 'not_reached')",
                           name=op.f("ck_recall_effectiveness_contacts_result_known")),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"],
                                name=op.f("fk_recall_effectiveness_contacts_recall_id_recalls")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"],
                                name=op.f("fk_recall_effectiveness_contacts_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_effectiveness_contacts")),
        sa.UniqueConstraint("recall_id", "consignee", name="uq_recall_effectiveness_contacts_consignee"),
    )
    op.create_index(op.f("ix_recall_effectiveness_contacts_recall_id"), "recall_effectiveness_contacts", ["recall_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            op.execute(f"CREATE TRIGGER {table}_attribution BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_attribution")
            op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_delete")
    else:
        for table in NEW_TABLES:
            op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for table in NEW_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    op.drop_index(op.f("ix_recall_effectiveness_contacts_recall_id"), table_name="recall_effectiveness_contacts")
    op.drop_table("recall_effectiveness_contacts")
    op.drop_table("recall_effectiveness_checks")
    op.drop_index(op.f("ix_recall_batch_dispositions_recall_id"), table_name="recall_batch_dispositions")
    op.drop_table("recall_batch_dispositions")

"""Returned goods (SOP 5.5.2): the return record, quarantined until the QA head's signed disposition.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

Reviewed by hand. Returns are never deleted; stock goes back only after a passing retained-sample test
(a check constraint, so not even a direct write can put doubtful goods back); on PostgreSQL a write
without the application's attribution is refused, as on every GMP table.
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("consignee", sa.String(length=200), nullable=True),
        sa.Column("quantity_received", sa.Integer(), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("storage_conditions", sa.Text(), nullable=True),
        sa.Column("sample_result", sa.String(length=16), nullable=True),
        sa.Column("test_reference", sa.String(length=200), nullable=True),
        sa.Column("other_batches_implicated", sa.Boolean(), nullable=True),
        sa.Column("investigation_ref", sa.String(length=200), nullable=True),
        sa.Column("evaluated_by_id", sa.Integer(), nullable=True),
        sa.Column("evaluated_at", UTC_TS, nullable=True),
        sa.Column("disposition", sa.String(length=16), nullable=True),
        sa.Column("disposition_rationale", sa.Text(), nullable=True),
        sa.Column("disposed_at", UTC_TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("status IN ('quarantined', 'evaluated', 'disposed')", name=op.f("ck_returns_status_known")),
        sa.CheckConstraint("quantity_received > 0", name=op.f("ck_returns_quantity_positive")),
        sa.CheckConstraint("sample_result IS NULL OR sample_result IN ('passed', 'failed', 'not_tested')",
                           name=op.f("ck_returns_sample_result_known")),
        sa.CheckConstraint("disposition IS NULL OR disposition IN ('destroy', 'reprocess', 'return_to_stock')",
                           name=op.f("ck_returns_disposition_known")),
        sa.CheckConstraint("(status = 'disposed') = (disposition IS NOT NULL)",
                           name=op.f("ck_returns_disposed_iff_disposition")),
        sa.CheckConstraint("disposition IS NULL OR disposition <> 'return_to_stock' OR sample_result = 'passed'",
                           name=op.f("ck_returns_stock_only_after_passing_test")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_returns_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_returns_batch_id_batches")),
        sa.ForeignKeyConstraint(["evaluated_by_id"], ["users.id"], name=op.f("fk_returns_evaluated_by_id_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_returns_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
        sa.UniqueConstraint("number", name=op.f("uq_returns_number")),
    )
    op.create_index(op.f("ix_returns_status"), "returns", ["status"])
    op.create_index(op.f("ix_returns_complaint_id"), "returns", ["complaint_id"])
    op.create_index(op.f("ix_returns_batch_id"), "returns", ["batch_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER returns_attribution BEFORE INSERT OR UPDATE OR DELETE ON returns "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE returns ENABLE ALWAYS TRIGGER returns_attribution")
        op.execute("CREATE TRIGGER returns_no_delete BEFORE DELETE ON returns "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE returns ENABLE ALWAYS TRIGGER returns_no_delete")
    else:
        op.execute("CREATE TRIGGER returns_no_delete BEFORE DELETE ON returns "
                   "BEGIN SELECT RAISE(ABORT, 'returns are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS returns_no_delete")
    op.drop_index(op.f("ix_returns_batch_id"), table_name="returns")
    op.drop_index(op.f("ix_returns_complaint_id"), table_name="returns")
    op.drop_index(op.f("ix_returns_status"), table_name="returns")
    op.drop_table("returns")

"""Trend reviews (SOP §7; TR-01): a signal of the trend rules waiting for the QA head's evaluation.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03

Reviewed by hand. Reviews are never deleted; on PostgreSQL a write without the application's attribution
is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trend_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("signal_key", sa.String(length=120), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("complaint_type", sa.String(length=24), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("signal_count", sa.Integer(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("evaluation", sa.Text(), nullable=True),
        sa.Column("capa_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("status IN ('open', 'capa_raised', 'no_capa')", name=op.f("ck_trend_reviews_status_known")),
        sa.ForeignKeyConstraint(["capa_id"], ["capas.id"], name=op.f("fk_trend_reviews_capa_id_capas")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_trend_reviews_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trend_reviews")),
        sa.UniqueConstraint("number", name=op.f("uq_trend_reviews_number")),
        sa.UniqueConstraint("signal_key", "period_from", "period_to", name="uq_trend_reviews_signal_period"),
    )
    op.create_index(op.f("ix_trend_reviews_status"), "trend_reviews", ["status"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER trend_reviews_attribution BEFORE INSERT OR UPDATE OR DELETE ON trend_reviews "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE trend_reviews ENABLE ALWAYS TRIGGER trend_reviews_attribution")
        op.execute("CREATE TRIGGER trend_reviews_no_delete BEFORE DELETE ON trend_reviews "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE trend_reviews ENABLE ALWAYS TRIGGER trend_reviews_no_delete")
    else:
        op.execute("CREATE TRIGGER trend_reviews_no_delete BEFORE DELETE ON trend_reviews "
                   "BEGIN SELECT RAISE(ABORT, 'trend reviews are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trend_reviews_no_delete")
    op.drop_index(op.f("ix_trend_reviews_status"), table_name="trend_reviews")
    op.drop_table("trend_reviews")

"""The quarterly complaint review (SOP §7): frozen figures, conclusions, the QA head's signature.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03

Reviewed by hand. Reviews are never deleted; on PostgreSQL a write without the application's attribution
is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "quarterly_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=8), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("figures_sha256", sa.String(length=64), nullable=False),
        sa.Column("conclusions", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("prepared_by_id", sa.Integer(), nullable=False),
        sa.Column("prepared_at", UTC_TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("status IN ('prepared', 'approved')", name=op.f("ck_quarterly_reviews_status_known")),
        sa.ForeignKeyConstraint(["prepared_by_id"], ["users.id"], name=op.f("fk_quarterly_reviews_prepared_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarterly_reviews")),
        sa.UniqueConstraint("quarter", name=op.f("uq_quarterly_reviews_quarter")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER quarterly_reviews_attribution BEFORE INSERT OR UPDATE OR DELETE ON quarterly_reviews "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE quarterly_reviews ENABLE ALWAYS TRIGGER quarterly_reviews_attribution")
        op.execute("CREATE TRIGGER quarterly_reviews_no_delete BEFORE DELETE ON quarterly_reviews "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE quarterly_reviews ENABLE ALWAYS TRIGGER quarterly_reviews_no_delete")
    else:
        op.execute("CREATE TRIGGER quarterly_reviews_no_delete BEFORE DELETE ON quarterly_reviews "
                   "BEGIN SELECT RAISE(ABORT, 'quarterly reviews are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS quarterly_reviews_no_delete")
    op.drop_table("quarterly_reviews")

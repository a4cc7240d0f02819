"""Follow-up calls (回访) after closure, counted in the quarterly review.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03

Reviewed by hand. Never deleted; on PostgreSQL a write without the application's attribution is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "follow_up_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("called_on", sa.Date(), nullable=False),
        sa.Column("called_by_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("result IN ('satisfied', 'partly', 'not_satisfied')",
                           name=op.f("ck_follow_up_calls_result_known")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_follow_up_calls_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["called_by_id"], ["users.id"], name=op.f("fk_follow_up_calls_called_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_calls")),
    )
    op.create_index(op.f("ix_follow_up_calls_complaint_id"), "follow_up_calls", ["complaint_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER follow_up_calls_attribution BEFORE INSERT OR UPDATE OR DELETE ON follow_up_calls "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE follow_up_calls ENABLE ALWAYS TRIGGER follow_up_calls_attribution")
        op.execute("CREATE TRIGGER follow_up_calls_no_delete BEFORE DELETE ON follow_up_calls "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE follow_up_calls ENABLE ALWAYS TRIGGER follow_up_calls_no_delete")
    else:
        op.execute("CREATE TRIGGER follow_up_calls_no_delete BEFORE DELETE ON follow_up_calls "
                   "BEGIN SELECT RAISE(ABORT, 'follow-up calls are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS follow_up_calls_no_delete")
    op.drop_index(op.f("ix_follow_up_calls_complaint_id"), table_name="follow_up_calls")
    op.drop_table("follow_up_calls")

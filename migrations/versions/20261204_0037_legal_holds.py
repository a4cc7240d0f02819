"""Legal holds on complaints (issue 17; RET-02): placed and released by the head of quality, signed, with a reason.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-04

Reviewed by hand. A hold is never deleted; its release fills the released_* columns once. On PostgreSQL a write
without the application's attribution is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), nullable=False),
        sa.Column("placed_at", UTC_TS, nullable=False),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("released_at", UTC_TS, nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("(released_at IS NULL) = (released_by_id IS NULL) AND "
                           "(released_at IS NULL) = (release_reason IS NULL)",
                           name=op.f("ck_legal_holds_released_completely")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_legal_holds_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["placed_by_id"], ["users.id"], name=op.f("fk_legal_holds_placed_by_id_users")),
        sa.ForeignKeyConstraint(["released_by_id"], ["users.id"], name=op.f("fk_legal_holds_released_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index(op.f("ix_legal_holds_complaint_id"), "legal_holds", ["complaint_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER legal_holds_attribution BEFORE INSERT OR UPDATE OR DELETE ON legal_holds "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE legal_holds ENABLE ALWAYS TRIGGER legal_holds_attribution")
        op.execute("CREATE TRIGGER legal_holds_no_delete BEFORE DELETE ON legal_holds "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE legal_holds ENABLE ALWAYS TRIGGER legal_holds_no_delete")
    else:
        op.execute("CREATE TRIGGER legal_holds_no_delete BEFORE DELETE ON legal_holds "
                   "BEGIN SELECT RAISE(ABORT, 'legal holds are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS legal_holds_no_delete")
    op.drop_index(op.f("ix_legal_holds_complaint_id"), table_name="legal_holds")
    op.drop_table("legal_holds")

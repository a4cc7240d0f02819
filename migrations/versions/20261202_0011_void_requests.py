"""Void requests: a void is asked for by one person and approved by another (four-eyes).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Reviewed by hand. Rows are updated once (the decision) and never deleted; on PostgreSQL a write
without the application's attribution is refused, as on every GMP table.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "void_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('requested', 'approved', 'rejected')",
                           name=op.f("ck_void_requests_status_known")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_void_requests_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], name=op.f("fk_void_requests_requested_by_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_void_requests_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_void_requests")),
    )
    op.create_index(op.f("ix_void_requests_complaint_id"), "void_requests", ["complaint_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER void_requests_attribution BEFORE INSERT OR UPDATE OR DELETE ON void_requests "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE void_requests ENABLE ALWAYS TRIGGER void_requests_attribution")


def downgrade() -> None:
    op.drop_index(op.f("ix_void_requests_complaint_id"), table_name="void_requests")
    op.drop_table("void_requests")

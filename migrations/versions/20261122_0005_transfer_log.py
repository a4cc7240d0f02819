"""Transfer log of master-data imports from the ERP (REC-19).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

Reviewed by hand.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfer_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("errors", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("result IN ('imported', 'rejected')", name=op.f("ck_transfer_log_result_known")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_transfer_log_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_log")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER transfer_log_attribution BEFORE INSERT OR UPDATE OR DELETE ON transfer_log "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE transfer_log ENABLE ALWAYS TRIGGER transfer_log_attribution")


def downgrade() -> None:
    op.drop_table("transfer_log")

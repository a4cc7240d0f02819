"""Attachments of complaints: metadata and SHA-256; the bytes live in the content-addressed store.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

Reviewed by hand. An attachment row is never changed or deleted (retention; disposal will be a
signed act of its own).
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_attachments_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_attachments_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index(op.f("ix_attachments_complaint_id"), "attachments", ["complaint_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER attachments_attribution BEFORE INSERT OR UPDATE OR DELETE ON attachments "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE attachments ENABLE ALWAYS TRIGGER attachments_attribution")
        op.execute("CREATE TRIGGER attachments_append_only BEFORE UPDATE OR DELETE ON attachments "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE attachments ENABLE ALWAYS TRIGGER attachments_append_only")
    else:
        op.execute("CREATE TRIGGER attachments_no_update BEFORE UPDATE ON attachments "
                   "BEGIN SELECT RAISE(ABORT, 'attachments are never changed'); END")
        op.execute("CREATE TRIGGER attachments_no_delete BEFORE DELETE ON attachments "
                   "BEGIN SELECT RAISE(ABORT, 'attachments are never deleted before retention'); END")


def downgrade() -> None:
    op.drop_index(op.f("ix_attachments_complaint_id"), table_name="attachments")
    op.drop_table("attachments")

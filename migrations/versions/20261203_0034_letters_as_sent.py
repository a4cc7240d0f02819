"""Letters to customers kept as sent (issue 16): the first print of a reply or reminder letter is the
letter sent; its bytes are kept in the content store under their SHA-256, and reprints give that copy.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-03

Reviewed by hand. Kept letters are never deleted; on PostgreSQL a write without the application's
attribution is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sent_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('reply', 'reminder')", name=op.f("ck_sent_letters_kind_known")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_sent_letters_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_sent_letters_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_letters")),
        sa.UniqueConstraint("complaint_id", "kind", "sequence", "locale", name="uq_sent_letters_letter"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER sent_letters_attribution BEFORE INSERT OR UPDATE OR DELETE ON sent_letters "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE sent_letters ENABLE ALWAYS TRIGGER sent_letters_attribution")
        op.execute("CREATE TRIGGER sent_letters_no_delete BEFORE DELETE ON sent_letters "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE sent_letters ENABLE ALWAYS TRIGGER sent_letters_no_delete")
    else:
        op.execute("CREATE TRIGGER sent_letters_no_delete BEFORE DELETE ON sent_letters "
                   "BEGIN SELECT RAISE(ABORT, 'letters kept as sent are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS sent_letters_no_delete")
    op.drop_table("sent_letters")

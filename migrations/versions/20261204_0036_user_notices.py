"""Notices to people (issue 16; WF-10, WF-11): in-app, and e-mailed to the person's address through the outbox.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-04

Reviewed by hand. users.email is added with plain ALTER TABLE, so the SQLite triggers of users stay.
A notice is kept as sent and never deleted; on PostgreSQL a write without the application's attribution
is refused. notice_reads holds only when a person opened a notice (their own reading state, not a GMP
record): no audit, no triggers.
"""
import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "user_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=24), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("record_label", sa.String(length=64), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_notices_user_id_users")),
        sa.ForeignKeyConstraint(["outbox_message_id"], ["outbox_messages.id"],
                                name=op.f("fk_user_notices_outbox_message_id_outbox_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_notices")),
    )
    op.create_index(op.f("ix_user_notices_user_id"), "user_notices", ["user_id"])
    op.create_table(
        "notice_reads",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["user_notices.id"], name=op.f("fk_notice_reads_notice_id_user_notices")),
        sa.PrimaryKeyConstraint("notice_id", name=op.f("pk_notice_reads")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER user_notices_attribution BEFORE INSERT OR UPDATE OR DELETE ON user_notices "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE user_notices ENABLE ALWAYS TRIGGER user_notices_attribution")
        op.execute("CREATE TRIGGER user_notices_no_delete BEFORE DELETE ON user_notices "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE user_notices ENABLE ALWAYS TRIGGER user_notices_no_delete")
    else:
        op.execute("CREATE TRIGGER user_notices_no_delete BEFORE DELETE ON user_notices "
                   "BEGIN SELECT RAISE(ABORT, 'notices are kept as sent, never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS user_notices_no_delete")
    op.drop_table("notice_reads")
    op.drop_index(op.f("ix_user_notices_user_id"), table_name="user_notices")
    op.drop_table("user_notices")
    op.execute("ALTER TABLE users DROP COLUMN email")

"""Recall notices per consignee: prepared (the PDF's SHA-256), then sent (when, how).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

Reviewed by hand. Never deleted; on PostgreSQL a write without the application's attribution is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "recall_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("consignee", sa.String(length=200), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("prepared_at", UTC_TS, nullable=False),
        sa.Column("sent_at", UTC_TS, nullable=True),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("(sent_at IS NULL) = (method IS NULL)", name=op.f("ck_recall_notices_sent_with_method")),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"], name=op.f("fk_recall_notices_recall_id_recalls")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_recall_notices_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_notices")),
        sa.UniqueConstraint("recall_id", "consignee", name="uq_recall_notices_consignee"),
    )
    op.create_index(op.f("ix_recall_notices_recall_id"), "recall_notices", ["recall_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER recall_notices_attribution BEFORE INSERT OR UPDATE OR DELETE ON recall_notices "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE recall_notices ENABLE ALWAYS TRIGGER recall_notices_attribution")
        op.execute("CREATE TRIGGER recall_notices_no_delete BEFORE DELETE ON recall_notices "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE recall_notices ENABLE ALWAYS TRIGGER recall_notices_no_delete")
    else:
        op.execute("CREATE TRIGGER recall_notices_no_delete BEFORE DELETE ON recall_notices "
                   "BEGIN SELECT RAISE(ABORT, 'recall notices are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS recall_notices_no_delete")
    op.drop_index(op.f("ix_recall_notices_recall_id"), table_name="recall_notices")
    op.drop_table("recall_notices")

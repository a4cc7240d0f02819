"""The outbox carries attachments: a recall notice is e-mailed as its PDF, and counts as sent when the
mail server takes it (the message names the notice).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

Reviewed by hand. Only columns are added (nullable, no data to move); the outbox's existing triggers
(attribution on PostgreSQL) cover the new columns as they are.
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite adds a foreign key only by copying the table (the outbox has no SQLite
    # triggers to lose); PostgreSQL gets plain ALTER TABLE statements.
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("attachment_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("attachment", sa.Text(), nullable=True))
        batch.add_column(sa.Column("attachment_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("recall_notice_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_outbox_messages_recall_notice_id_recall_notices"), "recall_notices",
                                 ["recall_notice_id"], ["id"])
        batch.create_index(op.f("ix_outbox_messages_recall_notice_id"), ["recall_notice_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_index(op.f("ix_outbox_messages_recall_notice_id"))
        batch.drop_constraint(op.f("fk_outbox_messages_recall_notice_id_recall_notices"), type_="foreignkey")
        batch.drop_column("recall_notice_id")
        batch.drop_column("attachment_sha256")
        batch.drop_column("attachment")
        batch.drop_column("attachment_name")

"""The time of day a complaint came in (issue 16), where recorded.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-03

Reviewed by hand. One nullable column, plain ALTER TABLE (the complaints table keeps its SQLite triggers).
"""
import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("received_time", sa.String(length=5), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE complaints DROP COLUMN received_time")

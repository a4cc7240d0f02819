"""The investigator's answer whether the problem recurs (TR-02).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03

Reviewed by hand. One nullable column, plain ALTER TABLE, so the complaints table keeps its SQLite triggers.
"""
import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("recurring_problem", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE complaints DROP COLUMN recurring_problem")

"""What a class I interim risk decision decides (issue 16): the measures, signed with the decision.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-03

Reviewed by hand. One nullable column, plain ALTER TABLE (the complaints table keeps its SQLite triggers).
"""
import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("interim_measures", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE complaints DROP COLUMN interim_measures")

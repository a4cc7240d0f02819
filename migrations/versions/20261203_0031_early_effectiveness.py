"""The reason an effectiveness check was made before its due date (issue 16), part of the signed content.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03

Reviewed by hand. One nullable column, plain ALTER TABLE (the CAPA table keeps its SQLite triggers).
"""
import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("capas", sa.Column("effectiveness_early_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE capas DROP COLUMN effectiveness_early_reason")

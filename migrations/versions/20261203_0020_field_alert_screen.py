"""The US field-alert screening answer on the complaint (21 CFR 314.81(b)(1); WF-04).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03

Reviewed by hand. One nullable column: complaints classified before it were not asked.
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("field_alert_screen", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 and later too): a batch copy would lose the table's SQLite triggers.
    op.execute("ALTER TABLE complaints DROP COLUMN field_alert_screen")

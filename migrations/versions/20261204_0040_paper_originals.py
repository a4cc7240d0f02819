"""Complaints entered after an outage from their paper original (issue 17; RET-07).

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-04

Reviewed by hand. Two nullable columns added with plain ALTER TABLE (the SQLite triggers of complaints stay): the
paper form's reference and why the record was entered late. Existing complaints were entered directly.
"""
import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("paper_reference", sa.String(length=64), nullable=True))
    op.add_column("complaints", sa.Column("entered_late_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE complaints DROP COLUMN entered_late_reason")
    op.execute("ALTER TABLE complaints DROP COLUMN paper_reference")

"""Products gain their markets and marketing authorisation holder; a recall may record why it is
executed before the EU authorities are told of the defect (HO-08, EU GMP 8.15).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

Reviewed by hand. Existing products are marketed in CN (the site's home market) until master data says
otherwise; nothing else changes in stored rows.
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("products", sa.Column("markets", sa.String(length=200), server_default="CN", nullable=False))
    op.add_column("products", sa.Column("marketing_authorisation_holder", sa.String(length=200), nullable=True))
    op.add_column("recalls", sa.Column("authority_notice_exception", sa.Text(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 and later too): a batch copy would lose the tables' SQLite triggers.
    op.execute("ALTER TABLE recalls DROP COLUMN authority_notice_exception")
    op.execute("ALTER TABLE products DROP COLUMN marketing_authorisation_holder")
    op.execute("ALTER TABLE products DROP COLUMN markets")

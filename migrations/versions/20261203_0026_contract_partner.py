"""The contract partner of a product and its quality contact (HO-14): where manufacturing is contracted
or the site is not the marketing authorisation holder, the partner is told of each complaint.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03

Reviewed by hand. Two nullable columns, plain ALTER TABLE.
"""
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("products", sa.Column("contract_partner", sa.String(length=200), nullable=True))
    op.add_column("products", sa.Column("partner_quality_contact", sa.String(length=300), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE products DROP COLUMN partner_quality_contact")
    op.execute("ALTER TABLE products DROP COLUMN contract_partner")

"""External rectification (SOP 5.7): a CAPA action carried out by an external party (distributor, carrier)
through an internal contact.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03

Reviewed by hand. One nullable column; plain ALTER TABLE, so the table's SQLite triggers stay.
"""
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("capa_actions", sa.Column("external_party", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE capa_actions DROP COLUMN external_party")

"""Trends (SOP §7; TR-01): the signal rules' settings as audited configuration, and an index on the
distribution records' ship date (units distributed per period).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03

Reviewed by hand. A new configuration table (a row only where a setting differs from DESIGN's default)
and one index; on PostgreSQL writes to the table need the application's attribution.
"""
import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signal_settings",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_signal_settings_updated_by_id_users")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_signal_settings")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER signal_settings_attribution BEFORE INSERT OR UPDATE OR DELETE ON signal_settings "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE signal_settings ENABLE ALWAYS TRIGGER signal_settings_attribution")
    op.create_index(op.f("ix_distributions_shipped_on"), "distributions", ["shipped_on"])


def downgrade() -> None:
    op.drop_index(op.f("ix_distributions_shipped_on"), table_name="distributions")
    op.drop_table("signal_settings")

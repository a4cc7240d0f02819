"""Working-day calendars: days that differ from the plain week, and each year's status.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Reviewed by hand. The data is loaded by `gmp init` (from chinesecalendar), not by the migration, so a
schema upgrade never depends on a package's data of the day.
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("calendar_code", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.CheckConstraint("kind IN ('holiday', 'adjusted_workday')", name=op.f("ck_calendar_days_kind_known")),
        sa.PrimaryKeyConstraint("calendar_code", "day", name=op.f("pk_calendar_days")),
    )
    op.create_table(
        "calendar_years",
        sa.Column("calendar_code", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint("status IN ('official', 'provisional')", name=op.f("ck_calendar_years_status_known")),
        sa.PrimaryKeyConstraint("calendar_code", "year", name=op.f("pk_calendar_years")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in ("calendar_days", "calendar_years"):
            op.execute(f"CREATE TRIGGER {table}_attribution BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_attribution")


def downgrade() -> None:
    op.drop_table("calendar_years")
    op.drop_table("calendar_days")

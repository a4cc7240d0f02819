"""Due dates keep the calendar they were calculated on until an explicit, logged recalculation; ADR clocks as
master data per market (issue 18; WF-05, HO-01).

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-04

Reviewed by hand. Two new tables, nothing existing altered:

- kept_due_dates: a complaint's working-day due date as it was calculated (what it counts from: start date,
  working days, calendar; the date; whether its year was provisional), stored when the calendar it was calculated
  on changes, so that the change does not move it. Once per complaint and kind; updated only by an explicit,
  audited recalculation; never deleted. Complaints with no row calculate their dates on the calendar in force,
  as before.
- adr_clocks: the expedited ADR reporting clocks per market, in calendar days after day 0, loaded here with
  today's rules (China: death at once, its investigation report 15 days, new or serious 15, others 30, a group
  event at once; EU serious 15, non-serious 90; US serious and unexpected 15). Changed only by the
  administrator with a reason; never deleted. `gmp init` records the loaded values in the audit trail.

On PostgreSQL a write to either table without the application's attribution is refused (the clocks are loaded
before that trigger exists); on both dialects a delete is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
KINDS = ("'initial_feedback', 'classification', 'investigation', 'formal_reply', 'reminder', 'close_eligible', "
         "'field_alert_reminder_1', 'field_alert_reminder_2'")
#: today's rules: (rule, market, calendar days after day 0)
CLOCKS = (("cn_death", "CN", 0), ("cn_death_report", "CN", 15), ("cn_serious", "CN", 15), ("cn_other", "CN", 30),
          ("eu_serious", "EU", 15), ("eu_non_serious", "EU", 90), ("us_serious_unexpected", "US", 15),
          ("cn_group_event", "CN", 0))
RULES = ", ".join(f"'{rule}'" for rule, _market, _days in CLOCKS)
TABLES = ("kept_due_dates", "adr_clocks")


def upgrade() -> None:
    op.create_table(
        "kept_due_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("calendar_code", sa.String(length=16), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("kept_at", UTC_TS, nullable=False),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_kept_due_dates_kind_known")),
        sa.CheckConstraint("working_days >= 0", name=op.f("ck_kept_due_dates_working_days_not_negative")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_kept_due_dates_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kept_due_dates")),
        sa.UniqueConstraint("complaint_id", "kind", name="uq_kept_due_dates_complaint_id_kind"),
    )
    op.create_index(op.f("ix_kept_due_dates_complaint_id"), "kept_due_dates", ["complaint_id"])
    op.create_table(
        "adr_clocks",
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("market", sa.String(length=2), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"rule IN ({RULES})", name=op.f("ck_adr_clocks_rule_known")),
        sa.CheckConstraint("market IN ('CN', 'EU', 'US')", name=op.f("ck_adr_clocks_market_known")),
        sa.CheckConstraint("days BETWEEN 0 AND 365", name=op.f("ck_adr_clocks_days_range")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_adr_clocks_updated_by_id_users")),
        sa.PrimaryKeyConstraint("rule", name=op.f("pk_adr_clocks")),
    )
    for rule, market, days in CLOCKS:
        op.execute(f"INSERT INTO adr_clocks (rule, market, days, updated_at) "
                   f"VALUES ('{rule}', '{market}', {days}, CURRENT_TIMESTAMP)")
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_attribution BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_attribution")
            op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_delete")
    else:
        op.execute("CREATE TRIGGER kept_due_dates_no_delete BEFORE DELETE ON kept_due_dates "
                   "BEGIN SELECT RAISE(ABORT, 'kept due dates are never deleted'); END")
        op.execute("CREATE TRIGGER adr_clocks_no_delete BEFORE DELETE ON adr_clocks "
                   "BEGIN SELECT RAISE(ABORT, 'ADR clocks are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    op.drop_table("adr_clocks")
    op.drop_index(op.f("ix_kept_due_dates_complaint_id"), table_name="kept_due_dates")
    op.drop_table("kept_due_dates")

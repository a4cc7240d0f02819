"""Field-alert criteria, the interim-decision time limit, market-specific recall actions and change-control references (issue 18; WF-04, WF-09, HO-05, AT-10).

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-04

Reviewed by hand. Nullable columns added with plain ALTER TABLE ADD COLUMN on both dialects (a batch rebuild on
SQLite would drop the guard triggers of complaints and recalls):

- complaints: the two criteria of the US Field-Alert screen where answered one by one (21 CFR 314.81(b)(1)(i)
  and (ii)); one check: both or neither are given, and where given the screen's answer (``field_alert_screen``)
  is "either criterion met". Complaints screened before keep their single answer and no criteria.
- complaints: when the class I interim risk decision is due and when its second signature completed it (WF-09).
  Complaints classified before carry no due date: nothing becomes overdue retroactively.
- recalls: the market-specific actions of the decision (HO-05), canonical JSON.

The change-control reference of a configuration change (AT-10) is part of its audit event: no column.
On SQLite the check is a column constraint of the column added last (it names the other column, which must exist
by then); on PostgreSQL it is a table constraint with the metadata's name.
"""
import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
CRITERIA_AGREE = ("(field_alert_mix_up IS NULL AND field_alert_quality_defect IS NULL) OR "
                  "(field_alert_mix_up IS NOT NULL AND field_alert_quality_defect IS NOT NULL AND "
                  "field_alert_screen = (field_alert_mix_up OR field_alert_quality_defect))")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("complaints", sa.Column("field_alert_mix_up", sa.Boolean(), nullable=True))
    if postgresql:
        op.add_column("complaints", sa.Column("field_alert_quality_defect", sa.Boolean(), nullable=True))
        op.create_check_constraint(op.f("ck_complaints_field_alert_criteria_agree"), "complaints", CRITERIA_AGREE)
    else:
        op.execute("ALTER TABLE complaints ADD COLUMN field_alert_quality_defect BOOLEAN "
                   f"CONSTRAINT ck_complaints_field_alert_criteria_agree CHECK ({CRITERIA_AGREE})")
    op.add_column("complaints", sa.Column("interim_decision_due_on", sa.Date(), nullable=True))
    op.add_column("complaints", sa.Column("interim_decided_at", UTC_TS, nullable=True))
    op.add_column("recalls", sa.Column("market_actions", sa.Text(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_complaints_field_alert_criteria_agree"), "complaints", type_="check")
    # Dropped in place, no table copy (the triggers stay); on SQLite the column that carries the check goes first.
    op.execute("ALTER TABLE recalls DROP COLUMN market_actions")
    op.execute("ALTER TABLE complaints DROP COLUMN interim_decided_at")
    op.execute("ALTER TABLE complaints DROP COLUMN interim_decision_due_on")
    op.execute("ALTER TABLE complaints DROP COLUMN field_alert_quality_defect")
    op.execute("ALTER TABLE complaints DROP COLUMN field_alert_mix_up")

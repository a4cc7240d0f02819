"""Human error as root cause needs its justification; the returned-goods record holds what 21 CFR 211.204
lists (issue 18; REC-14, REC-16).

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-04

Reviewed by hand. Nullable columns added with plain ALTER TABLE ADD COLUMN on both dialects (a batch rebuild
on SQLite would drop the guard triggers of complaints and returns):

- complaints: the category of the root cause, and for human error its justification and the confirmations
  that process, procedure and system causes were examined (EU GMP 8.17). Two checks: the category is one
  of the list, and human error stands only with the justification and all three confirmations. Complaints
  investigated before carry no category, which both checks allow.
- returns: the channel the goods came back through, the returning party, its address and the reason for
  the return (China GMP Art. 136). Required on receipt by the application from now on; returns recorded
  before stay without them ("not recorded"). The date of the disposition is ``disposed_at``, already there.

On SQLite the checks are column constraints of the column added last (they name other columns, which must
exist by then); on PostgreSQL they are table constraints with the metadata's names.
"""
import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

CATEGORIES = ("human_error", "equipment", "material", "method", "process", "environment", "supplier", "transport",
              "not_determined", "other")
CHANNELS = ("wholesaler", "pharmacy", "hospital", "patient", "other")


def _among(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IS NULL OR {column} IN ({', '.join(repr(v) for v in values)})"


CATEGORY_KNOWN = _among("root_cause_category", CATEGORIES)
HUMAN_ERROR_JUSTIFIED = ("root_cause_category IS NULL OR root_cause_category <> 'human_error' OR "
                         "(human_error_justification IS NOT NULL AND causes_examined_process IS TRUE AND "
                         "causes_examined_procedure IS TRUE AND causes_examined_system IS TRUE)")
CHANNEL_KNOWN = _among("channel", CHANNELS)
CAUSES = ("causes_examined_process", "causes_examined_procedure", "causes_examined_system")
RETURN_TEXTS = (("returning_party", sa.String(length=200)), ("returning_party_address", sa.Text()),
                ("return_reason", sa.Text()))


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("complaints", sa.Column("human_error_justification", sa.Text(), nullable=True))
    for column in CAUSES:
        op.add_column("complaints", sa.Column(column, sa.Boolean(), nullable=True))
    for column, type_ in RETURN_TEXTS:
        op.add_column("returns", sa.Column(column, type_, nullable=True))
    if postgresql:
        op.add_column("complaints", sa.Column("root_cause_category", sa.String(length=24), nullable=True))
        op.create_check_constraint(op.f("ck_complaints_root_cause_category_known"), "complaints", CATEGORY_KNOWN)
        op.create_check_constraint(op.f("ck_complaints_human_error_justified"), "complaints", HUMAN_ERROR_JUSTIFIED)
        op.add_column("returns", sa.Column("channel", sa.String(length=16), nullable=True))
        op.create_check_constraint(op.f("ck_returns_channel_known"), "returns", CHANNEL_KNOWN)
    else:
        op.execute("ALTER TABLE complaints ADD COLUMN root_cause_category VARCHAR(24) "
                   f"CONSTRAINT ck_complaints_root_cause_category_known CHECK ({CATEGORY_KNOWN}) "
                   f"CONSTRAINT ck_complaints_human_error_justified CHECK ({HUMAN_ERROR_JUSTIFIED})")
        op.execute("ALTER TABLE returns ADD COLUMN channel VARCHAR(16) "
                   f"CONSTRAINT ck_returns_channel_known CHECK ({CHANNEL_KNOWN})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_returns_channel_known"), "returns", type_="check")
        op.drop_constraint(op.f("ck_complaints_human_error_justified"), "complaints", type_="check")
        op.drop_constraint(op.f("ck_complaints_root_cause_category_known"), "complaints", type_="check")
    # Dropped in place, no table copy (the triggers stay); on SQLite the column that carries the checks goes
    # first, so that no remaining check names a dropped column.
    op.execute("ALTER TABLE returns DROP COLUMN channel")
    op.execute("ALTER TABLE complaints DROP COLUMN root_cause_category")
    for column, _ in reversed(RETURN_TEXTS):
        op.execute(f"ALTER TABLE returns DROP COLUMN {column}")
    for column in reversed(CAUSES):
        op.execute(f"ALTER TABLE complaints DROP COLUMN {column}")
    op.execute("ALTER TABLE complaints DROP COLUMN human_error_justification")

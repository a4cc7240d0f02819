"""Severity and extent at classification and the decision to extend the investigation to other batches (issue 18; REC-08, REC-11).

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-04

Reviewed by hand. On complaints, nullable columns added with plain ALTER TABLE ADD COLUMN (on SQLite each CHECK
inline as a column constraint, never a table copy: the SQLite triggers of complaints stay):

- REC-08, the grading beside the class: the severity of harm on the fixed scale critical / major / minor; the units
  and the batches affected, each a count (0 or more) or marked unknown, never both; the markets affected
  (space-separated codes).
- REC-11, the investigator's decision whether the investigation extends to other batches or products: yes / no, its
  rationale (required with the decision), and the batches of the same product and the other products it extends to
  (canonical JSON lists).

Complaints classified or investigated before these fields existed keep them empty ("not recorded"); every check
allows that. On SQLite a check that names two columns is a column constraint of the column added second.
"""
import sqlalchemy as sa
from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None

SEVERITIES = "('critical', 'major', 'minor')"
#: (name, type on PostgreSQL, column definition on SQLite, CHECKs of the column as (name, condition))
COLUMNS = (
    ("severity", sa.String(length=16), "VARCHAR(16)",
     (("severity_known", f"severity IS NULL OR severity IN {SEVERITIES}"),)),
    ("units_affected", sa.Integer(), "INTEGER",
     (("units_affected_counted", "units_affected IS NULL OR units_affected >= 0"),)),
    ("units_affected_unknown", sa.Boolean(), "BOOLEAN",
     (("units_affected_number_or_unknown", "units_affected IS NULL OR units_affected_unknown IS NOT TRUE"),)),
    ("batches_affected", sa.Integer(), "INTEGER",
     (("batches_affected_counted", "batches_affected IS NULL OR batches_affected >= 0"),)),
    ("batches_affected_unknown", sa.Boolean(), "BOOLEAN",
     (("batches_affected_number_or_unknown", "batches_affected IS NULL OR batches_affected_unknown IS NOT TRUE"),)),
    ("markets_affected", sa.String(length=200), "VARCHAR(200)", ()),
    ("extension_rationale", sa.Text(), "TEXT", ()),
    ("extend_to_other_batches", sa.Boolean(), "BOOLEAN",
     (("extension_decision_reasoned", "extend_to_other_batches IS NULL OR extension_rationale IS NOT NULL"),)),
    ("extension_batch_nos", sa.Text(), "TEXT", ()),
    ("extension_product_codes", sa.Text(), "TEXT", ()),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, type_, sqlite_type, checks in COLUMNS:
        if postgresql:
            op.add_column("complaints", sa.Column(name, type_, nullable=True))
            for check_name, condition in checks:
                op.create_check_constraint(op.f(f"ck_complaints_{check_name}"), "complaints", condition)
        else:
            constraints = "".join(f" CONSTRAINT ck_complaints_{check_name} CHECK ({condition})"
                                  for check_name, condition in checks)
            op.execute(f"ALTER TABLE complaints ADD COLUMN {name} {sqlite_type}{constraints}")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # Dropped in place, in reverse (no table copy, the triggers stay): on SQLite the column that carries a check
    # naming another column goes before that other column.
    for name, _type, _sqlite_type, checks in reversed(COLUMNS):
        if postgresql:
            for check_name, _condition in checks:
                op.drop_constraint(op.f(f"ck_complaints_{check_name}"), "complaints", type_="check")
            op.drop_column("complaints", name)
        else:
            op.execute(f"ALTER TABLE complaints DROP COLUMN {name}")

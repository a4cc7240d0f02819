"""Triage answers, routing and the signed determination of a possible specification failure (issue 18; REC-09,
WF-02, REC-02).

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-04

Reviewed by hand. On complaints, nullable columns added with plain ALTER TABLE (on SQLite each with its CHECK inline,
the FK inline, never a table copy: the SQLite triggers of complaints stay): the two triage answers (yes / no /
unknown), where a complaint that is not a quality defect was routed and why, the flag of a possible failure to meet
specification, and the head of quality's determination whether a 21 CFR 211.192 investigation is required (who,
when, why). Existing complaints were triaged before these questions existed: their columns stay empty.

A new table not_known_items: an item of the complaint file marked "not known" with its reason, once per item. Never
deleted (a disposal blanks the reason, as it does the other texts of the complaint); on PostgreSQL a write without
the application's attribution is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
ANSWERS = "('yes', 'no', 'unknown')"
GROUPS = "('pharmacovigilance', 'sales', 'customer_service', 'medical_information', 'other')"
ITEMS = ("'product_name', 'strength', 'dosage_form', 'batch', 'complainant_name', 'complainant_contact', "
         "'nature', 'received_on', 'reply'")
#: (name, type on PostgreSQL, column definition on SQLite, CHECK of the column or None)
COLUMNS = (
    ("quality_defect_suspected", sa.String(length=8), "VARCHAR(8)",
     ("quality_defect_answer_known", f"quality_defect_suspected IS NULL OR quality_defect_suspected IN {ANSWERS}")),
    ("falsification_suspected", sa.String(length=8), "VARCHAR(8)",
     ("falsification_answer_known", f"falsification_suspected IS NULL OR falsification_suspected IN {ANSWERS}")),
    ("routed_to", sa.String(length=32), "VARCHAR(32)",
     ("routed_to_known", f"routed_to IS NULL OR routed_to IN {GROUPS}")),
    ("routing_note", sa.Text(), "TEXT", None),
    ("spec_failure_suspected", sa.Boolean(), "BOOLEAN", None),
    ("spec_investigation_required", sa.Boolean(), "BOOLEAN", None),
    ("spec_determination_rationale", sa.Text(), "TEXT", None),
    ("spec_determined_at", UTC_TS, "DATETIME",
     ("spec_determination_complete", "(spec_determined_at IS NULL) = (spec_investigation_required IS NULL)")),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, type_, sqlite_type, check in COLUMNS:
        if postgresql:
            op.add_column("complaints", sa.Column(name, type_, nullable=True))
            if check:
                op.create_check_constraint(op.f(f"ck_complaints_{check[0]}"), "complaints", check[1])
        else:
            constraint = f" CONSTRAINT ck_complaints_{check[0]} CHECK ({check[1]})" if check else ""
            op.execute(f"ALTER TABLE complaints ADD COLUMN {name} {sqlite_type}{constraint}")
    if postgresql:
        op.add_column("complaints", sa.Column("spec_determined_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_complaints_spec_determined_by_id_users"), "complaints", "users",
                              ["spec_determined_by_id"], ["id"])
    else:
        op.execute("ALTER TABLE complaints ADD COLUMN spec_determined_by_id INTEGER REFERENCES users (id)")

    op.create_table(
        "not_known_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("marked_by_id", sa.Integer(), nullable=False),
        sa.Column("marked_at", UTC_TS, nullable=False),
        sa.CheckConstraint(f"item IN ({ITEMS})", name=op.f("ck_not_known_items_item_known")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_not_known_items_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["marked_by_id"], ["users.id"], name=op.f("fk_not_known_items_marked_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_not_known_items")),
        sa.UniqueConstraint("complaint_id", "item", name="uq_not_known_items_complaint_item"),
    )
    op.create_index(op.f("ix_not_known_items_complaint_id"), "not_known_items", ["complaint_id"])
    if postgresql:
        op.execute("CREATE TRIGGER not_known_items_attribution BEFORE INSERT OR UPDATE OR DELETE ON not_known_items "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE not_known_items ENABLE ALWAYS TRIGGER not_known_items_attribution")
        op.execute("CREATE TRIGGER not_known_items_no_delete BEFORE DELETE ON not_known_items "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE not_known_items ENABLE ALWAYS TRIGGER not_known_items_no_delete")
    else:
        op.execute("CREATE TRIGGER not_known_items_no_delete BEFORE DELETE ON not_known_items "
                   "BEGIN SELECT RAISE(ABORT, 'items marked not known are never deleted'); END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if not postgresql:
        op.execute("DROP TRIGGER IF EXISTS not_known_items_no_delete")
    op.drop_index(op.f("ix_not_known_items_complaint_id"), table_name="not_known_items")
    op.drop_table("not_known_items")
    if postgresql:
        op.drop_constraint(op.f("fk_complaints_spec_determined_by_id_users"), "complaints", type_="foreignkey")
        op.drop_column("complaints", "spec_determined_by_id")
        for name, _type, _sqlite_type, check in reversed(COLUMNS):
            if check:
                op.drop_constraint(op.f(f"ck_complaints_{check[0]}"), "complaints", type_="check")
            op.drop_column("complaints", name)
    else:
        # Added inline (ADD COLUMN ... REFERENCES / CHECK), dropped in place: no table copy, the triggers stay.
        op.execute("ALTER TABLE complaints DROP COLUMN spec_determined_by_id")
        for name, _type, _sqlite_type, _check in reversed(COLUMNS):
            op.execute(f"ALTER TABLE complaints DROP COLUMN {name}")

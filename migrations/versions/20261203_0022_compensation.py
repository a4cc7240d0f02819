"""Compensation (SOP 5.5.1): the approval ladder and who holds each level (audited configuration), and
the compensation records approved by signature.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03

Reviewed by hand. Compensation records are never deleted; on PostgreSQL a write without the
application's attribution is refused on all three tables. The ladder's defaults are seeded by `gmp init`.
"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
LEVELS = "level IN ('business_manager', 'vice_president', 'general_manager')"
TABLES = ("compensation_limits", "compensation_authorities", "compensations")


def upgrade() -> None:
    op.create_table(
        "compensation_limits",
        sa.Column("level", sa.String(length=24), nullable=False),
        sa.Column("max_amount_cny", sa.Numeric(14, 2), nullable=True),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(LEVELS, name=op.f("ck_compensation_limits_level_known")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_compensation_limits_updated_by_id_users")),
        sa.PrimaryKeyConstraint("level", name=op.f("pk_compensation_limits")),
    )
    op.create_table(
        "compensation_authorities",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=24), nullable=False),
        sa.Column("granted_at", UTC_TS, nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(LEVELS, name=op.f("ck_compensation_authorities_level_known")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_compensation_authorities_user_id_users")),
        sa.ForeignKeyConstraint(["granted_by_id"], ["users.id"],
                                name=op.f("fk_compensation_authorities_granted_by_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_compensation_authorities")),
    )
    op.create_table(
        "compensations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_cny", sa.Numeric(14, 2), nullable=False),
        sa.Column("agreed_on", sa.Date(), nullable=False),
        sa.Column("finance_reference", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("required_level", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("amount > 0 AND amount_cny > 0", name=op.f("ck_compensations_amounts_positive")),
        sa.CheckConstraint("status IN ('awaiting_approval', 'approved', 'rejected')",
                           name=op.f("ck_compensations_status_known")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_compensations_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_compensations_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensations")),
        sa.UniqueConstraint("complaint_id", "sequence", name="uq_compensations_complaint_sequence"),
    )
    op.create_index(op.f("ix_compensations_complaint_id"), "compensations", ["complaint_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_attribution BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_attribution")
        op.execute("CREATE TRIGGER compensations_no_delete BEFORE DELETE ON compensations "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE compensations ENABLE ALWAYS TRIGGER compensations_no_delete")
    else:
        op.execute("CREATE TRIGGER compensations_no_delete BEFORE DELETE ON compensations "
                   "BEGIN SELECT RAISE(ABORT, 'compensations are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS compensations_no_delete")
    op.drop_index(op.f("ix_compensations_complaint_id"), table_name="compensations")
    op.drop_table("compensations")
    op.drop_table("compensation_authorities")
    op.drop_table("compensation_limits")

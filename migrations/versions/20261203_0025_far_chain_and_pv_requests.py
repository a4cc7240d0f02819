"""Field alert follow-up and final reports with reminders (HO-04), the recipient of what was sent, US ADR
triage (WF-03), group adverse events (HO-01) and PV's batch-investigation requests (HO-03).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03

Reviewed by hand. Columns are added with plain ALTER TABLE (not batch mode), so the SQLite triggers of
notifications, complaints and adr_cases stay; SQLite takes a new column's foreign key inline. Existing
rows get the defaults (no reminder sent, not a group event); nothing is rewritten. Investigation requests
are never deleted; on PostgreSQL a write without the application's attribution is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def _add_reference(table: str, column: str, target: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(f"fk_{table}_{column}_{target}"), table, target, [column], ["id"])
    else:
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")


def upgrade() -> None:
    _add_reference("notifications", "follows_id", "notifications")
    op.add_column("notifications", sa.Column("final_report", sa.Boolean(), nullable=True))
    op.add_column("notifications", sa.Column("recipient", sa.String(length=200), nullable=True))
    op.add_column("notifications", sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("complaints", sa.Column("adr_serious", sa.Boolean(), nullable=True))
    op.add_column("complaints", sa.Column("adr_unexpected", sa.Boolean(), nullable=True))
    op.add_column("adr_cases", sa.Column("group_event", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "adr_investigation_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adr_case_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("batch_nos", sa.String(length=500), nullable=True),
        sa.Column("requested_at", UTC_TS, nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", UTC_TS, nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("(answered_at IS NULL) = (answer IS NULL)", name=op.f("ck_adr_investigation_requests_answered_with_text")),
        sa.ForeignKeyConstraint(["adr_case_id"], ["adr_cases.id"], name=op.f("fk_adr_investigation_requests_adr_case_id_adr_cases")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], name=op.f("fk_adr_investigation_requests_requested_by_id_users")),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"], name=op.f("fk_adr_investigation_requests_answered_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adr_investigation_requests")),
        sa.UniqueConstraint("adr_case_id", "sequence", name="uq_adr_investigation_requests_case_sequence"),
    )
    op.create_index(op.f("ix_adr_investigation_requests_adr_case_id"), "adr_investigation_requests", ["adr_case_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER adr_investigation_requests_attribution BEFORE INSERT OR UPDATE OR DELETE "
                   "ON adr_investigation_requests FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE adr_investigation_requests ENABLE ALWAYS TRIGGER adr_investigation_requests_attribution")
        op.execute("CREATE TRIGGER adr_investigation_requests_no_delete BEFORE DELETE ON adr_investigation_requests "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE adr_investigation_requests ENABLE ALWAYS TRIGGER adr_investigation_requests_no_delete")
    else:
        op.execute("CREATE TRIGGER adr_investigation_requests_no_delete BEFORE DELETE ON adr_investigation_requests "
                   "BEGIN SELECT RAISE(ABORT, 'investigation requests are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS adr_investigation_requests_no_delete")
    op.drop_index(op.f("ix_adr_investigation_requests_adr_case_id"), table_name="adr_investigation_requests")
    op.drop_table("adr_investigation_requests")
    # Plain DROP COLUMN keeps the tables' SQLite triggers; a column with a foreign key is dropped on
    # SQLite only by copying the table, so the register is copied and its trigger restored.
    op.execute("ALTER TABLE adr_cases DROP COLUMN group_event")
    op.execute("ALTER TABLE complaints DROP COLUMN adr_unexpected")
    op.execute("ALTER TABLE complaints DROP COLUMN adr_serious")
    for column in ("reminders_sent", "recipient", "final_report"):
        op.execute(f"ALTER TABLE notifications DROP COLUMN {column}")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("fk_notifications_follows_id_notifications"), "notifications", type_="foreignkey")
        op.drop_column("notifications", "follows_id")
        return
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("follows_id")
    op.execute("CREATE TRIGGER notifications_no_delete BEFORE DELETE ON notifications "
               "BEGIN SELECT RAISE(ABORT, 'notifications rows are never deleted'); END")

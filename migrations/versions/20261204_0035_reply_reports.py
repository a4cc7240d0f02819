"""Reply reports approved before they are sent, and who in sales sent each reply (issue 16, SOP 5.6.1).

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-04

Reviewed by hand. A reply report is drafted by QA, approved by the head of quality's signature and sent
by sales; a reply records the report it sent and the sales person who sent it. Both new columns are
nullable: replies recorded before this revision stay as they were. Reply reports are never deleted; on
PostgreSQL a write without the application's attribution is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def _add_reference(table: str, column: str, target: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(f"fk_{table}_{column}_{target}"), table, target, [column], ["id"])
    else:
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")


def upgrade() -> None:
    op.create_table(
        "reply_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("drafted_by_id", sa.Integer(), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'approved', 'sent', 'withdrawn')",
                           name=op.f("ck_reply_reports_status_known")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_reply_reports_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["drafted_by_id"], ["users.id"], name=op.f("fk_reply_reports_drafted_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_reports")),
    )
    op.create_index(op.f("ix_reply_reports_complaint_id"), "reply_reports", ["complaint_id"])
    _add_reference("complaint_replies", "report_id", "reply_reports")
    _add_reference("complaint_replies", "sent_by_id", "users")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER reply_reports_attribution BEFORE INSERT OR UPDATE OR DELETE ON reply_reports "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE reply_reports ENABLE ALWAYS TRIGGER reply_reports_attribution")
        op.execute("CREATE TRIGGER reply_reports_no_delete BEFORE DELETE ON reply_reports "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE reply_reports ENABLE ALWAYS TRIGGER reply_reports_no_delete")
    else:
        op.execute("CREATE TRIGGER reply_reports_no_delete BEFORE DELETE ON reply_reports "
                   "BEGIN SELECT RAISE(ABORT, 'reply reports are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column, target in (("sent_by_id", "users"), ("report_id", "reply_reports")):
            op.drop_constraint(op.f(f"fk_complaint_replies_{column}_{target}"), "complaint_replies", type_="foreignkey")
            op.drop_column("complaint_replies", column)
    else:
        # Added inline (ADD COLUMN ... REFERENCES), they are dropped in place: no table copy.
        op.execute("ALTER TABLE complaint_replies DROP COLUMN sent_by_id")
        op.execute("ALTER TABLE complaint_replies DROP COLUMN report_id")
        op.execute("DROP TRIGGER IF EXISTS reply_reports_no_delete")
    op.drop_index(op.f("ix_reply_reports_complaint_id"), table_name="reply_reports")
    op.drop_table("reply_reports")

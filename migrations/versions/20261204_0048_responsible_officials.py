"""Responsible officials told of investigations, returns and recalls, and the QP of risk-reducing actions and recalls (issue 18; WF-10, WF-11).

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-04

Reviewed by hand.

- responsible_officials (new): who receives the written notice of every investigation of a complaint (21 CFR
  211.198), every evaluation of returned goods (211.204) and every recall, one row per designation. Audited
  configuration kept by the administrator under change control. A withdrawal is recorded on the row (when, by
  whom), once; rows are never deleted (raising triggers on both databases), and a person is designated at most
  once per scope at a time (a partial unique index). On PostgreSQL a write without the application's
  attribution is refused. An empty scope means the head of quality (the behaviour before this revision), so
  nothing is loaded.
- notice_acknowledgements (new): the acknowledgement of a notice by the person told (the QP of a risk-reducing
  action or a recall): when and by whom, once. Never changed, never deleted (raising triggers on both
  databases); on PostgreSQL also attributed.
"""
import sqlalchemy as sa
from alembic import op

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
SCOPES = "scope IN ('investigations', 'returns', 'recalls')"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "responsible_officials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("designated_at", UTC_TS, nullable=False),
        sa.Column("designated_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", UTC_TS, nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(SCOPES, name=op.f("ck_responsible_officials_scope_known")),
        sa.CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_by_id IS NULL)",
                           name=op.f("ck_responsible_officials_withdrawn_completely")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_responsible_officials_user_id_users")),
        sa.ForeignKeyConstraint(["designated_by_id"], ["users.id"],
                                name=op.f("fk_responsible_officials_designated_by_id_users")),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["users.id"],
                                name=op.f("fk_responsible_officials_withdrawn_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responsible_officials")),
    )
    op.create_index(op.f("ix_responsible_officials_user_id"), "responsible_officials", ["user_id"])
    op.create_index("uq_responsible_officials_designated", "responsible_officials", ["scope", "user_id"],
                    unique=True, sqlite_where=sa.text("withdrawn_at IS NULL"),
                    postgresql_where=sa.text("withdrawn_at IS NULL"))
    op.create_table(
        "notice_acknowledgements",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", UTC_TS, nullable=False),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["user_notices.id"],
                                name=op.f("fk_notice_acknowledgements_notice_id_user_notices")),
        sa.ForeignKeyConstraint(["acknowledged_by_id"], ["users.id"],
                                name=op.f("fk_notice_acknowledgements_acknowledged_by_id_users")),
        sa.PrimaryKeyConstraint("notice_id", name=op.f("pk_notice_acknowledgements")),
    )
    if postgresql:
        for table in ("responsible_officials", "notice_acknowledgements"):
            op.execute(f"CREATE TRIGGER {table}_attribution BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_attribution")
        op.execute("CREATE TRIGGER notice_acknowledgements_append_only BEFORE UPDATE OR DELETE "
                   "ON notice_acknowledgements FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE notice_acknowledgements ENABLE ALWAYS TRIGGER notice_acknowledgements_append_only")
        op.execute("CREATE TRIGGER responsible_officials_no_delete BEFORE DELETE ON responsible_officials "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE responsible_officials ENABLE ALWAYS TRIGGER responsible_officials_no_delete")
        op.execute("""
            CREATE FUNCTION gmp_responsible_officials_withdrawn_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.withdrawn_at IS NOT NULL THEN
                    RAISE EXCEPTION 'a withdrawn designation is never changed';
                END IF;
                RETURN NEW;
            END $$
        """)
        op.execute("CREATE TRIGGER responsible_officials_withdrawn_once BEFORE UPDATE ON responsible_officials "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_responsible_officials_withdrawn_once()")
        op.execute("ALTER TABLE responsible_officials ENABLE ALWAYS TRIGGER responsible_officials_withdrawn_once")
    else:
        op.execute("CREATE TRIGGER responsible_officials_no_delete BEFORE DELETE ON responsible_officials "
                   "BEGIN SELECT RAISE(ABORT, 'designations are kept, a withdrawal is recorded on them'); END")
        op.execute("CREATE TRIGGER responsible_officials_withdrawn_once BEFORE UPDATE ON responsible_officials "
                   "WHEN OLD.withdrawn_at IS NOT NULL "
                   "BEGIN SELECT RAISE(ABORT, 'a withdrawn designation is never changed'); END")
        op.execute("CREATE TRIGGER notice_acknowledgements_no_update BEFORE UPDATE ON notice_acknowledgements "
                   "BEGIN SELECT RAISE(ABORT, 'acknowledgements are kept as given'); END")
        op.execute("CREATE TRIGGER notice_acknowledgements_no_delete BEFORE DELETE ON notice_acknowledgements "
                   "BEGIN SELECT RAISE(ABORT, 'acknowledgements are kept as given'); END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if not postgresql:
        for trigger in ("notice_acknowledgements_no_delete", "notice_acknowledgements_no_update",
                        "responsible_officials_no_delete", "responsible_officials_withdrawn_once"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_table("notice_acknowledgements")
    op.drop_index("uq_responsible_officials_designated", table_name="responsible_officials")
    op.drop_index(op.f("ix_responsible_officials_user_id"), table_name="responsible_officials")
    op.drop_table("responsible_officials")
    if postgresql:
        op.execute("DROP FUNCTION gmp_responsible_officials_withdrawn_once()")

"""Service accounts, alerts on repeated failures and approved access changes (issue 18; SEC-01, SEC-04, SEC-06).

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-04

Reviewed by hand.

- users.account_type (SEC-01): ``person`` or ``service``, added with plain ALTER TABLE ADD COLUMN (on SQLite with its
  CHECK inline, never a table copy: the SQLite triggers of users stay). Every existing account is a person. The
  type never changes after creation: a trigger refuses the change on both databases.
- access_requests (SEC-04): a requested change of access (create an account, grant or withdraw roles, deactivate),
  with requester, date and reason, decided once by a second person. Never deleted; a decided request is never
  changed again. On PostgreSQL a write without the application's attribution is refused.
- security_alerts (SEC-06): an alert on repeated failed log-ins or signings with its event record. Append-only (no
  update, no delete); on PostgreSQL attributed.
"""
import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.add_column("users", sa.Column("account_type", sa.String(length=16), server_default="person",
                                         nullable=False))
        op.create_check_constraint(op.f("ck_users_account_type_known"), "users",
                                   "account_type IN ('person', 'service')")
    else:
        op.execute("ALTER TABLE users ADD COLUMN account_type VARCHAR(16) DEFAULT 'person' NOT NULL "
                   "CONSTRAINT ck_users_account_type_known CHECK (account_type IN ('person', 'service'))")

    op.create_table(
        "access_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("printed_name", sa.String(length=200), nullable=True),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("identity_verified", sa.Boolean(), nullable=False),
        sa.Column("roles_before", sa.String(length=400), nullable=True),
        sa.Column("roles", sa.String(length=400), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTC_TS, nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('create_user', 'change_roles', 'deactivate_user')",
                           name=op.f("ck_access_requests_kind_known")),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f("ck_access_requests_status_known")),
        sa.CheckConstraint("account_type IN ('person', 'service')", name=op.f("ck_access_requests_account_type_known")),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL) AND (decided_at IS NULL) = (decided_by_id IS NULL)",
                           name=op.f("ck_access_requests_decided_completely")),
        sa.CheckConstraint("kind = 'create_user' OR user_id IS NOT NULL", name=op.f("ck_access_requests_target_named")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_access_requests_user_id_users")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], name=op.f("fk_access_requests_requested_by_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_access_requests_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_requests")),
    )
    op.create_index(op.f("ix_access_requests_status"), "access_requests", ["status"])
    op.create_index(op.f("ix_access_requests_user_id"), "access_requests", ["user_id"])

    op.create_table(
        "security_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raised_at", UTC_TS, nullable=False),
        sa.Column("account_key", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("kinds", sa.String(length=32), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", UTC_TS, nullable=False),
        sa.Column("last_failure_at", UTC_TS, nullable=False),
        sa.Column("source_addresses", sa.Text(), nullable=False),
        sa.Column("event_indices", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_security_alerts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_alerts")),
    )
    op.create_index(op.f("ix_security_alerts_raised_at"), "security_alerts", ["raised_at"])
    op.create_index(op.f("ix_security_alerts_account_key"), "security_alerts", ["account_key"])

    if postgresql:
        op.execute("""
            CREATE FUNCTION gmp_users_account_type_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.account_type IS DISTINCT FROM OLD.account_type THEN
                    RAISE EXCEPTION 'the type of an account never changes';
                END IF;
                RETURN NEW;
            END $$
        """)
        op.execute("CREATE TRIGGER users_account_type_fixed BEFORE UPDATE OF account_type ON users "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_users_account_type_fixed()")
        op.execute("ALTER TABLE users ENABLE ALWAYS TRIGGER users_account_type_fixed")
        op.execute("""
            CREATE FUNCTION gmp_access_requests_decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.status <> 'pending' THEN
                    RAISE EXCEPTION 'a decided access request is never changed';
                END IF;
                RETURN NEW;
            END $$
        """)
        op.execute("CREATE TRIGGER access_requests_decided_once BEFORE UPDATE ON access_requests "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_access_requests_decided_once()")
        op.execute("ALTER TABLE access_requests ENABLE ALWAYS TRIGGER access_requests_decided_once")
        for table, guard, function in (("access_requests", "no_delete", "gmp_append_only"),
                                       ("security_alerts", "append_only", "gmp_append_only")):
            op.execute(f"CREATE TRIGGER {table}_attribution BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_attribution")
            events = "DELETE" if guard == "no_delete" else "UPDATE OR DELETE"
            op.execute(f"CREATE TRIGGER {table}_{guard} BEFORE {events} ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {function}()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_{guard}")
    else:
        op.execute("CREATE TRIGGER users_account_type_fixed BEFORE UPDATE OF account_type ON users "
                   "WHEN NEW.account_type IS NOT OLD.account_type "
                   "BEGIN SELECT RAISE(ABORT, 'the type of an account never changes'); END")
        op.execute("CREATE TRIGGER access_requests_no_delete BEFORE DELETE ON access_requests "
                   "BEGIN SELECT RAISE(ABORT, 'access requests are never deleted'); END")
        op.execute("CREATE TRIGGER access_requests_decided_once BEFORE UPDATE ON access_requests "
                   "WHEN OLD.status <> 'pending' "
                   "BEGIN SELECT RAISE(ABORT, 'a decided access request is never changed'); END")
        op.execute("CREATE TRIGGER security_alerts_no_update BEFORE UPDATE ON security_alerts "
                   "BEGIN SELECT RAISE(ABORT, 'security alerts are kept as raised'); END")
        op.execute("CREATE TRIGGER security_alerts_no_delete BEFORE DELETE ON security_alerts "
                   "BEGIN SELECT RAISE(ABORT, 'security alerts are kept as raised'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER users_account_type_fixed ON users")
        op.execute("DROP FUNCTION gmp_users_account_type_fixed()")
    else:
        for trigger in ("users_account_type_fixed", "access_requests_no_delete", "access_requests_decided_once",
                        "security_alerts_no_update", "security_alerts_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_index(op.f("ix_security_alerts_account_key"), table_name="security_alerts")
    op.drop_index(op.f("ix_security_alerts_raised_at"), table_name="security_alerts")
    op.drop_table("security_alerts")
    op.drop_index(op.f("ix_access_requests_user_id"), table_name="access_requests")
    op.drop_index(op.f("ix_access_requests_status"), table_name="access_requests")
    op.drop_table("access_requests")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION gmp_access_requests_decided_once()")
        op.drop_constraint(op.f("ck_users_account_type_known"), "users", type_="check")
    op.execute("ALTER TABLE users DROP COLUMN account_type")

"""Accounts: users with roles, password history, browser sessions and API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Reviewed by hand. Users are never deleted and a user name never changes (21 CFR 11.100(a),
11.300(a)); the database itself refuses both, whatever the application does.
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
ROLES = "('intake', 'qa_officer', 'investigator', 'qa_head', 'qp', 'auditor', 'admin')"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("printed_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("password_is_temporary", sa.Boolean(), nullable=False),
        sa.Column("temporary_password_expires_at", UTC_TS, nullable=True),
        sa.Column("password_changed_at", UTC_TS, nullable=False),
        sa.Column("failed_login_count", sa.Integer(), nullable=False),
        sa.Column("locked_at", UTC_TS, nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("deactivated_at", UTC_TS, nullable=True),
        sa.Column("identity_verified_at", UTC_TS, nullable=True),
        sa.Column("identity_verified_by_id", sa.Integer(), nullable=True),
        sa.Column("esignature_accepted_at", UTC_TS, nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("last_login_at", UTC_TS, nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(is_active AND deactivated_at IS NULL) OR (NOT is_active AND deactivated_at IS NOT NULL)",
            name=op.f("ck_users_deactivated_at_iff_inactive"),
        ),
        sa.CheckConstraint("failed_login_count >= 0", name=op.f("ck_users_failed_login_count_not_negative")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_users_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["identity_verified_by_id"], ["users.id"], name=op.f("fk_users_identity_verified_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.CheckConstraint(f"role IN {ROLES}", name=op.f("ck_user_roles_role_known")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_user_roles")),
    )
    op.create_table(
        "password_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("set_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_password_history_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_history")),
    )
    op.create_index(op.f("ix_password_history_user_id"), "password_history", ["user_id"])
    op.create_table(
        "user_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("last_seen_at", UTC_TS, nullable=False),
        sa.Column("ended_at", UTC_TS, nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_user_sessions")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.Column("revoked_at", UTC_TS, nullable=True),
        sa.Column("revoke_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION gmp_users_guard() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION 'users are deactivated, never deleted';
                END IF;
                IF NEW.username IS DISTINCT FROM OLD.username THEN
                    RAISE EXCEPTION 'a user name never changes';
                END IF;
                RETURN NEW;
            END $$
        """)
        op.execute("CREATE TRIGGER users_guard BEFORE UPDATE OR DELETE ON users "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_users_guard()")
        op.execute("ALTER TABLE users ENABLE ALWAYS TRIGGER users_guard")
    else:
        op.execute("CREATE TRIGGER users_no_delete BEFORE DELETE ON users "
                   "BEGIN SELECT RAISE(ABORT, 'users are deactivated, never deleted'); END")
        op.execute("CREATE TRIGGER users_username_fixed BEFORE UPDATE OF username ON users "
                   "WHEN NEW.username IS NOT OLD.username "
                   "BEGIN SELECT RAISE(ABORT, 'a user name never changes'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER users_guard ON users")
        op.execute("DROP FUNCTION gmp_users_guard()")
    else:
        op.execute("DROP TRIGGER users_username_fixed")
        op.execute("DROP TRIGGER users_no_delete")
    op.drop_table("api_tokens")
    op.drop_table("user_sessions")
    op.drop_table("password_history")
    op.drop_table("user_roles")
    op.drop_table("users")

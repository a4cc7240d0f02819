"""Audit trail: sealed events, log head, signed checkpoints, public keys; database-level protection.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Reviewed by hand.
- The audit tables are append-only in the database itself: raising BEFORE UPDATE/DELETE triggers on
  SQLite and PostgreSQL, on PostgreSQL also BEFORE TRUNCATE, all ENABLE ALWAYS (so
  session_replication_role = replica does not bypass them). The log head is the one row that is
  updated (by the sequencer); it can be neither deleted nor truncated.
- On PostgreSQL every application table refuses INSERT/UPDATE/DELETE from a transaction that does not
  carry the application's attribution (the transaction-local setting gmp.tx, set by every unit of
  work): an edit made with psql or another tool is rejected.
- Grants for a separate application role are applied by `gmp db grant-app-role` (README).
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
APPEND_ONLY = ("audit_events", "audit_checkpoints", "signing_keys")
APP_TABLES = ("users", "user_roles", "password_history", "user_sessions", "api_tokens",
              "audit_events", "audit_checkpoints", "signing_keys", "audit_log_head")


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("log_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", UTC_TS, nullable=False),
        sa.Column("tx_id", sa.String(length=36), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("canonical", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("log_index >= 0", name=op.f("ck_audit_events_log_index_not_negative")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")),
        sa.PrimaryKeyConstraint("log_index", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_entity", "audit_events", ["entity_type", "entity_id", "log_index"])
    op.create_index(op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"])
    op.create_index(op.f("ix_audit_events_actor_id"), "audit_events", ["actor_id"])
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"])
    op.create_table(
        "audit_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("compact_range", sa.Text(), nullable=False),
        sa.Column("last_checkpoint_size", sa.BigInteger(), nullable=False),
        sa.Column("last_checkpoint_at", UTC_TS, nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_log_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log_head")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signed_note", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("valid_from", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_signing_keys")),
    )

    if op.get_bind().dialect.name == "postgresql":
        _postgresql_protection()
        op.execute("SELECT set_config('gmp.tx', 'migration-0002', true)")
    else:
        _sqlite_protection()
    op.execute("INSERT INTO audit_log_head (id, tree_size, compact_range, last_checkpoint_size) VALUES (1, 0, '', 0)")


def _sqlite_protection() -> None:
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
        op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
    op.execute("CREATE TRIGGER audit_log_head_no_delete BEFORE DELETE ON audit_log_head "
               "BEGIN SELECT RAISE(ABORT, 'the audit log head is never deleted'); END")
    op.execute("CREATE TRIGGER audit_log_head_no_rewind BEFORE UPDATE ON audit_log_head "
               "WHEN NEW.tree_size < OLD.tree_size OR NEW.last_checkpoint_size < OLD.last_checkpoint_size "
               "BEGIN SELECT RAISE(ABORT, 'the audit log only grows'); END")


def _postgresql_protection() -> None:
    op.execute("""
        CREATE FUNCTION gmp_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
        END $$
    """)
    op.execute("""
        CREATE FUNCTION gmp_log_only_grows() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'UPDATE' THEN
                RAISE EXCEPTION 'the audit log head is never deleted (% refused)', TG_OP;
            END IF;
            IF NEW.tree_size < OLD.tree_size OR NEW.last_checkpoint_size < OLD.last_checkpoint_size THEN
                RAISE EXCEPTION 'the audit log only grows';
            END IF;
            RETURN NEW;
        END $$
    """)
    op.execute("""
        CREATE FUNCTION gmp_require_attribution() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF coalesce(current_setting('gmp.tx', true), '') = '' THEN
                RAISE EXCEPTION 'write to % without the application''s attribution (gmp.tx is not set)',
                    TG_TABLE_NAME;
            END IF;
            IF TG_OP = 'DELETE' THEN
                RETURN OLD;
            END IF;
            RETURN NEW;
        END $$
    """)
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION gmp_append_only()")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")
    op.execute("CREATE TRIGGER audit_log_head_guard BEFORE UPDATE OR DELETE ON audit_log_head "
               "FOR EACH ROW EXECUTE FUNCTION gmp_log_only_grows()")
    op.execute("CREATE TRIGGER audit_log_head_no_truncate BEFORE TRUNCATE ON audit_log_head "
               "FOR EACH STATEMENT EXECUTE FUNCTION gmp_append_only()")
    op.execute("ALTER TABLE audit_log_head ENABLE ALWAYS TRIGGER audit_log_head_guard")
    op.execute("ALTER TABLE audit_log_head ENABLE ALWAYS TRIGGER audit_log_head_no_truncate")
    for table in APP_TABLES:
        op.execute(f"CREATE TRIGGER {table}_attribution BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_attribution")


def downgrade() -> None:
    # Dropping the audit trail is possible only by rolling the schema back, which a validated
    # installation never does on production data; the protection goes with the tables.
    if op.get_bind().dialect.name == "postgresql":
        for table in APP_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_attribution ON {table}")
    op.drop_table("signing_keys")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_log_head")
    op.drop_index(op.f("ix_audit_events_action"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_actor_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_occurred_at"), table_name="audit_events")
    op.drop_index("ix_audit_events_entity", table_name="audit_events")
    op.drop_table("audit_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION gmp_require_attribution()")
        op.execute("DROP FUNCTION gmp_log_only_grows()")
        op.execute("DROP FUNCTION gmp_append_only()")

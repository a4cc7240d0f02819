"""Signed disposal after the retention date (issue 17; DESIGN §2 Retention, RET-02).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-04

Reviewed by hand. A disposal removes a complaint's content and keeps a tombstone (the disposals row: number,
dates, class, the SHA-256 of every item removed, who disposed of it, when and why). Its audit events keep their
place and sealed leaf hash in the Merkle log; only their bodies are removed, so the log and every checkpoint
still verify. The append-only guards are narrowed to exactly that, and only under a recorded disposal:

- audit_events: an UPDATE is refused unless it marks a not yet disposed event with an existing disposal,
  empties its body and reason, and changes nothing else (index, leaf hash, time, actor, action, record);
  DELETE stays refused;
- complaints: the description as received may change only on a complaint with a disposal row (to nothing);
- disposals: never changed, never deleted.
New columns are added with plain ALTER TABLE, so the SQLite triggers of the tables stay.
"""
import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)

#: an audit event may change only by its disposal: body and reason emptied, everything else as it was
SQLITE_EVENT_DISPOSAL = (
    "OLD.disposal_id IS NULL AND NEW.disposal_id IS NOT NULL "
    "AND EXISTS (SELECT 1 FROM disposals WHERE disposals.id = NEW.disposal_id) "
    "AND length(NEW.canonical) = 0 AND NEW.reason IS NULL "
    "AND NEW.log_index = OLD.log_index AND NEW.leaf_hash = OLD.leaf_hash AND NEW.occurred_at = OLD.occurred_at "
    "AND NEW.tx_id = OLD.tx_id AND NEW.actor_id IS OLD.actor_id AND NEW.actor_name = OLD.actor_name "
    "AND NEW.action = OLD.action AND NEW.entity_type = OLD.entity_type AND NEW.entity_id IS OLD.entity_id"
)


def upgrade() -> None:
    op.create_table(
        "disposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("disposed_by_id", sa.Integer(), nullable=False),
        sa.Column("disposed_at", UTC_TS, nullable=False),
        sa.Column("tombstone", sa.Text(), nullable=False),
        sa.Column("removed", sa.Text(), nullable=False),
        sa.Column("events_disposed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_disposals_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["disposed_by_id"], ["users.id"], name=op.f("fk_disposals_disposed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposals")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_disposals_complaint_id")),
    )
    op.add_column("complaints", sa.Column("disposed_at", UTC_TS, nullable=True))
    op.add_column("audit_events", sa.Column("disposal_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        _sqlite()


def _postgresql() -> None:
    op.execute("CREATE TRIGGER disposals_attribution BEFORE INSERT OR UPDATE OR DELETE ON disposals "
               "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
    op.execute("ALTER TABLE disposals ENABLE ALWAYS TRIGGER disposals_attribution")
    op.execute("CREATE TRIGGER disposals_append_only BEFORE UPDATE OR DELETE ON disposals "
               "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
    op.execute("ALTER TABLE disposals ENABLE ALWAYS TRIGGER disposals_append_only")
    op.execute("""
        CREATE FUNCTION gmp_audit_event_disposal_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND OLD.disposal_id IS NULL AND NEW.disposal_id IS NOT NULL
               AND EXISTS (SELECT 1 FROM disposals WHERE disposals.id = NEW.disposal_id)
               AND length(NEW.canonical) = 0 AND NEW.reason IS NULL
               AND NEW.log_index = OLD.log_index AND NEW.leaf_hash = OLD.leaf_hash
               AND NEW.occurred_at = OLD.occurred_at AND NEW.tx_id = OLD.tx_id
               AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id AND NEW.actor_name = OLD.actor_name
               AND NEW.action = OLD.action AND NEW.entity_type = OLD.entity_type
               AND NEW.entity_id IS NOT DISTINCT FROM OLD.entity_id THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'audit_events is append-only (% refused; only a recorded disposal removes a body)', TG_OP;
        END $$
    """)
    op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
    op.execute("CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
               "FOR EACH ROW EXECUTE FUNCTION gmp_audit_event_disposal_only()")
    op.execute("ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_append_only")
    op.execute("""
        CREATE OR REPLACE FUNCTION gmp_complaints_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'complaints are voided, never deleted';
            END IF;
            IF NEW.intake_ref IS DISTINCT FROM OLD.intake_ref
               OR (OLD.number IS NOT NULL AND NEW.number IS DISTINCT FROM OLD.number)
               OR (NEW.description IS DISTINCT FROM OLD.description
                   AND NOT EXISTS (SELECT 1 FROM disposals WHERE disposals.complaint_id = OLD.id)) THEN
                RAISE EXCEPTION 'the intake reference, the number and the description as received never change';
            END IF;
            RETURN NEW;
        END $$
    """)


def _sqlite() -> None:
    op.execute("CREATE TRIGGER disposals_no_update BEFORE UPDATE ON disposals "
               "BEGIN SELECT RAISE(ABORT, 'disposals are never changed'); END")
    op.execute("CREATE TRIGGER disposals_no_delete BEFORE DELETE ON disposals "
               "BEGIN SELECT RAISE(ABORT, 'disposals are never deleted'); END")
    op.execute("DROP TRIGGER audit_events_no_update")
    op.execute(f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events WHEN NOT ({SQLITE_EVENT_DISPOSAL}) "
               "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only (only a recorded disposal removes a body)'); END")
    op.execute("DROP TRIGGER complaints_fixed_fields")
    op.execute("CREATE TRIGGER complaints_fixed_fields BEFORE UPDATE ON complaints "
               "WHEN NEW.intake_ref IS NOT OLD.intake_ref "
               "OR (OLD.number IS NOT NULL AND NEW.number IS NOT OLD.number) "
               "OR (NEW.description IS NOT OLD.description "
               "AND NOT EXISTS (SELECT 1 FROM disposals WHERE disposals.complaint_id = OLD.id)) "
               "BEGIN SELECT RAISE(ABORT, 'the intake reference, the number and the description as received never change'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION gmp_complaints_guard() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION 'complaints are voided, never deleted';
                END IF;
                IF NEW.intake_ref IS DISTINCT FROM OLD.intake_ref
                   OR (OLD.number IS NOT NULL AND NEW.number IS DISTINCT FROM OLD.number)
                   OR NEW.description IS DISTINCT FROM OLD.description THEN
                    RAISE EXCEPTION 'the intake reference, the number and the description as received never change';
                END IF;
                RETURN NEW;
            END $$
        """)
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_append_only")
        op.execute("DROP FUNCTION gmp_audit_event_disposal_only()")
    else:
        op.execute("DROP TRIGGER complaints_fixed_fields")
        op.execute("CREATE TRIGGER complaints_fixed_fields BEFORE UPDATE ON complaints "
                   "WHEN NEW.intake_ref IS NOT OLD.intake_ref "
                   "OR (OLD.number IS NOT NULL AND NEW.number IS NOT OLD.number) "
                   "OR NEW.description IS NOT OLD.description "
                   "BEGIN SELECT RAISE(ABORT, 'the intake reference, the number and the description as received never change'); END")
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
                   "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")
        op.execute("DROP TRIGGER disposals_no_update")
        op.execute("DROP TRIGGER disposals_no_delete")
    op.execute("ALTER TABLE audit_events DROP COLUMN disposal_id")
    op.execute("ALTER TABLE complaints DROP COLUMN disposed_at")
    op.drop_table("disposals")

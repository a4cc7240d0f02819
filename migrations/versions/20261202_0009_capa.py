"""CAPA: records numbered CAPA-<yy>-<nnn>, linked many-to-many with complaints, with actions, their
evidence files and the effectiveness check (SOP 5.7, DESIGN §4).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Reviewed by hand. CAPA records are never deleted; evidence files are append-only like attachments.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
NEW_TABLES = ("capas", "capa_complaints", "capa_actions", "capa_evidence")


def upgrade() -> None:
    op.create_table(
        "capas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("problem_statement", sa.Text(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("risk", sa.Text(), nullable=False),
        sa.Column("effectiveness_criteria", sa.Text(), nullable=False),
        sa.Column("effectiveness_due_on", sa.Date(), nullable=False),
        sa.Column("effectiveness_result", sa.String(length=16), nullable=True),
        sa.Column("effectiveness_evidence", sa.Text(), nullable=True),
        sa.Column("effectiveness_on", sa.Date(), nullable=True),
        sa.Column("follow_up_of_id", sa.Integer(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("status IN ('open', 'actions_in_progress', 'implemented', 'effectiveness_check', 'closed')",
                           name=op.f("ck_capas_status_known")),
        sa.CheckConstraint("source IN ('complaint', 'deviation', 'audit', 'trend', 'recall')",
                           name=op.f("ck_capas_source_known")),
        sa.CheckConstraint("effectiveness_result IS NULL OR effectiveness_result IN ('effective', 'not_effective')",
                           name=op.f("ck_capas_effectiveness_known")),
        sa.ForeignKeyConstraint(["follow_up_of_id"], ["capas.id"], name=op.f("fk_capas_follow_up_of_id_capas")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_capas_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capas")),
        sa.UniqueConstraint("number", name=op.f("uq_capas_number")),
    )
    op.create_table(
        "capa_complaints",
        sa.Column("capa_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["capa_id"], ["capas.id"], name=op.f("fk_capa_complaints_capa_id_capas")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_capa_complaints_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("capa_id", "complaint_id", name=op.f("pk_capa_complaints")),
    )
    op.create_index(op.f("ix_capa_complaints_complaint_id"), "capa_complaints", ["complaint_id"])
    op.create_table(
        "capa_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capa_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("implemented_on", sa.Date(), nullable=True),
        sa.Column("requested_due_on", sa.Date(), nullable=True),
        sa.Column("due_change_reason", sa.Text(), nullable=True),
        sa.Column("due_change_requested_by_id", sa.Integer(), nullable=True),
        sa.Column("escalated_for_due_on", sa.Date(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("kind IN ('corrective', 'preventive')", name=op.f("ck_capa_actions_kind_known")),
        sa.CheckConstraint("status IN ('open', 'implemented', 'verified')", name=op.f("ck_capa_actions_status_known")),
        sa.ForeignKeyConstraint(["capa_id"], ["capas.id"], name=op.f("fk_capa_actions_capa_id_capas")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_capa_actions_owner_id_users")),
        sa.ForeignKeyConstraint(["due_change_requested_by_id"], ["users.id"],
                                name=op.f("fk_capa_actions_due_change_requested_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capa_actions")),
    )
    op.create_index(op.f("ix_capa_actions_capa_id"), "capa_actions", ["capa_id"])
    op.create_index(op.f("ix_capa_actions_owner_id"), "capa_actions", ["owner_id"])
    op.create_table(
        "capa_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capa_action_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["capa_action_id"], ["capa_actions.id"],
                                name=op.f("fk_capa_evidence_capa_action_id_capa_actions")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_capa_evidence_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capa_evidence")),
    )
    op.create_index(op.f("ix_capa_evidence_capa_action_id"), "capa_evidence", ["capa_action_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            op.execute(f"CREATE TRIGGER {table}_attribution BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_attribution")
        op.execute("CREATE TRIGGER capa_evidence_append_only BEFORE UPDATE OR DELETE ON capa_evidence "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE capa_evidence ENABLE ALWAYS TRIGGER capa_evidence_append_only")
        op.execute("CREATE TRIGGER capas_no_delete BEFORE DELETE ON capas "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE capas ENABLE ALWAYS TRIGGER capas_no_delete")
    else:
        op.execute("CREATE TRIGGER capa_evidence_no_update BEFORE UPDATE ON capa_evidence "
                   "BEGIN SELECT RAISE(ABORT, 'evidence files are never changed'); END")
        op.execute("CREATE TRIGGER capa_evidence_no_delete BEFORE DELETE ON capa_evidence "
                   "BEGIN SELECT RAISE(ABORT, 'evidence files are never deleted'); END")
        op.execute("CREATE TRIGGER capas_no_delete BEFORE DELETE ON capas "
                   "BEGIN SELECT RAISE(ABORT, 'CAPA records are never deleted'); END")


def downgrade() -> None:
    op.drop_index(op.f("ix_capa_evidence_capa_action_id"), table_name="capa_evidence")
    op.drop_table("capa_evidence")
    op.drop_index(op.f("ix_capa_actions_owner_id"), table_name="capa_actions")
    op.drop_index(op.f("ix_capa_actions_capa_id"), table_name="capa_actions")
    op.drop_table("capa_actions")
    op.drop_index(op.f("ix_capa_complaints_complaint_id"), table_name="capa_complaints")
    op.drop_table("capa_complaints")
    op.drop_table("capas")

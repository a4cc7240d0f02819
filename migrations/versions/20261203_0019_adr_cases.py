"""Pharmacovigilance hand-off: the roles pv_officer and regulatory_affairs, and the ADR cases handed
from complaints to PV (SOP 5.6.2; HO-01).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

Reviewed by hand. ADR cases are never deleted; on PostgreSQL a write without the application's
attribution is refused. Reporter, patient and reaction hold ciphertext.
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
OLD_ROLES = "('intake', 'qa_officer', 'investigator', 'qa_head', 'qp', 'auditor', 'admin', 'recall_coordinator')"
NEW_ROLES = ("('intake', 'qa_officer', 'investigator', 'qa_head', 'qp', 'auditor', 'admin', 'recall_coordinator', "
             "'pv_officer', 'regulatory_affairs')")
SERIOUSNESS = ("('death', 'life_threatening', 'hospitalisation', 'disability', 'congenital_anomaly', "
               "'medically_important', 'non_serious')")


def _roles_check(roles: str) -> None:
    with op.batch_alter_table("user_roles", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_user_roles_role_known"), type_="check")
        batch.create_check_constraint(op.f("ck_user_roles_role_known"), f"role IN {roles}")


def upgrade() -> None:
    _roles_check(NEW_ROLES)
    op.create_table(
        "adr_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("aware_on", sa.Date(), nullable=False),
        sa.Column("seriousness", sa.String(length=24), nullable=False),
        sa.Column("unexpected", sa.Boolean(), nullable=False),
        sa.Column("reporter", sa.Text(), nullable=True),
        sa.Column("patient", sa.Text(), nullable=True),
        sa.Column("reaction", sa.Text(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("accepted_at", UTC_TS, nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("case_number", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", UTC_TS, nullable=True),
        sa.Column("submission_reference", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint(f"seriousness IN {SERIOUSNESS}", name=op.f("ck_adr_cases_seriousness_known")),
        sa.CheckConstraint("(accepted_at IS NULL) = (accepted_by_id IS NULL)", name=op.f("ck_adr_cases_accepted_with_who")),
        sa.CheckConstraint("submitted_at IS NULL OR (accepted_at IS NOT NULL AND case_number IS NOT NULL)",
                           name=op.f("ck_adr_cases_submitted_after_acceptance")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_adr_cases_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["accepted_by_id"], ["users.id"], name=op.f("fk_adr_cases_accepted_by_id_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_adr_cases_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adr_cases")),
        sa.UniqueConstraint("complaint_id", "sequence", name="uq_adr_cases_complaint_sequence"),
    )
    op.create_index(op.f("ix_adr_cases_complaint_id"), "adr_cases", ["complaint_id"])
    # Not batch mode: on SQLite a copy of the register would lose its no-delete trigger. SQLite takes a
    # new column's foreign key inline.
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("notifications", sa.Column("adr_case_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_notifications_adr_case_id_adr_cases"), "notifications", "adr_cases",
                              ["adr_case_id"], ["id"])
    else:
        op.execute("ALTER TABLE notifications ADD COLUMN adr_case_id INTEGER REFERENCES adr_cases (id)")
    op.create_index(op.f("ix_notifications_adr_case_id"), "notifications", ["adr_case_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER adr_cases_attribution BEFORE INSERT OR UPDATE OR DELETE ON adr_cases "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE adr_cases ENABLE ALWAYS TRIGGER adr_cases_attribution")
        op.execute("CREATE TRIGGER adr_cases_no_delete BEFORE DELETE ON adr_cases "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE adr_cases ENABLE ALWAYS TRIGGER adr_cases_no_delete")
    else:
        op.execute("CREATE TRIGGER adr_cases_no_delete BEFORE DELETE ON adr_cases "
                   "BEGIN SELECT RAISE(ABORT, 'ADR cases are never deleted'); END")


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_adr_case_id"), table_name="notifications")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("fk_notifications_adr_case_id_adr_cases"), "notifications", type_="foreignkey")
        op.drop_column("notifications", "adr_case_id")
    else:
        # SQLite drops a column only without its foreign key: the register is copied, its trigger restored.
        with op.batch_alter_table("notifications") as batch:
            batch.drop_column("adr_case_id")
        op.execute("CREATE TRIGGER notifications_no_delete BEFORE DELETE ON notifications "
                   "BEGIN SELECT RAISE(ABORT, 'notifications rows are never deleted'); END")
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS adr_cases_no_delete")
    op.drop_index(op.f("ix_adr_cases_complaint_id"), table_name="adr_cases")
    op.drop_table("adr_cases")
    _roles_check(OLD_ROLES)

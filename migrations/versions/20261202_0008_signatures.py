"""Electronic signatures (21 CFR 11.50, 11.70; Annex 11 §14), closure and follow-ups.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Reviewed by hand. Signature rows are append-only in the database like the audit tables: whether a
signature is still valid or superseded is computed by comparing hashes, never by editing the row.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("record_number", sa.String(length=32), nullable=True),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("meaning", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("signer_id", sa.Integer(), nullable=False),
        sa.Column("signer_username", sa.String(length=64), nullable=False),
        sa.Column("printed_name", sa.String(length=200), nullable=False),
        sa.Column("signed_role", sa.String(length=16), nullable=False),
        sa.Column("signed_at", UTC_TS, nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("audit_index", sa.Integer(), nullable=True),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("system_signature", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["signer_id"], ["users.id"], name=op.f("fk_signatures_signer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    op.create_index("ix_signatures_record", "signatures", ["record_type", "record_id"])
    op.add_column("complaints", sa.Column("closed_on", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("complaints", sa.Column("follow_up_of_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_complaints_follow_up_of_id_complaints"), "complaints", "complaints",
                              ["follow_up_of_id"], ["id"])
        op.execute("CREATE TRIGGER signatures_attribution BEFORE INSERT OR UPDATE OR DELETE ON signatures "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE signatures ENABLE ALWAYS TRIGGER signatures_attribution")
        op.execute("CREATE TRIGGER signatures_append_only BEFORE UPDATE OR DELETE ON signatures "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE signatures ENABLE ALWAYS TRIGGER signatures_append_only")
    else:
        op.execute("ALTER TABLE complaints ADD COLUMN follow_up_of_id INTEGER REFERENCES complaints (id)")
        op.execute("CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures "
                   "BEGIN SELECT RAISE(ABORT, 'signatures are never changed'); END")
        op.execute("CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures "
                   "BEGIN SELECT RAISE(ABORT, 'signatures are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("fk_complaints_follow_up_of_id_complaints"), "complaints", type_="foreignkey")
    op.drop_column("complaints", "follow_up_of_id")
    op.drop_column("complaints", "closed_on")
    op.drop_index("ix_signatures_record", table_name="signatures")
    op.drop_table("signatures")

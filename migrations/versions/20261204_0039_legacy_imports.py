"""Legacy complaints imported from a previous ledger (issue 17; RET-05).

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-04

Reviewed by hand. A legacy import is the reconciliation record of one file: its name and SHA-256, rows read and
imported, the SHA-256 of the content as stored, who imported it; the head of quality signs it. Every complaint it
brought in names it (complaints.legacy_import_id, added with plain ALTER TABLE so the SQLite triggers of complaints
stay). Never changed, never deleted.
"""
import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legacy_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["imported_by_id"], ["users.id"], name=op.f("fk_legacy_imports_imported_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_imports")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("complaints", sa.Column("legacy_import_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_complaints_legacy_import_id_legacy_imports"), "complaints", "legacy_imports",
                              ["legacy_import_id"], ["id"])
        op.execute("CREATE TRIGGER legacy_imports_attribution BEFORE INSERT OR UPDATE OR DELETE ON legacy_imports "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE legacy_imports ENABLE ALWAYS TRIGGER legacy_imports_attribution")
        op.execute("CREATE TRIGGER legacy_imports_append_only BEFORE UPDATE OR DELETE ON legacy_imports "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE legacy_imports ENABLE ALWAYS TRIGGER legacy_imports_append_only")
    else:
        op.execute("ALTER TABLE complaints ADD COLUMN legacy_import_id INTEGER REFERENCES legacy_imports (id)")
        op.execute("CREATE TRIGGER legacy_imports_no_update BEFORE UPDATE ON legacy_imports "
                   "BEGIN SELECT RAISE(ABORT, 'legacy imports are never changed'); END")
        op.execute("CREATE TRIGGER legacy_imports_no_delete BEFORE DELETE ON legacy_imports "
                   "BEGIN SELECT RAISE(ABORT, 'legacy imports are never deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("fk_complaints_legacy_import_id_legacy_imports"), "complaints", type_="foreignkey")
        op.drop_column("complaints", "legacy_import_id")
    else:
        # Added inline (ADD COLUMN ... REFERENCES), it is dropped in place: no table copy, the triggers stay.
        op.execute("DROP TRIGGER IF EXISTS legacy_imports_no_update")
        op.execute("DROP TRIGGER IF EXISTS legacy_imports_no_delete")
        op.execute("ALTER TABLE complaints DROP COLUMN legacy_import_id")
    op.drop_table("legacy_imports")

"""A copy of what was sent to the authority, kept with its register entry (HO-13).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03

Reviewed by hand. Columns only; not batch mode, so the register keeps its SQLite no-delete trigger (SQLite
takes a new column's foreign key inline).
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
COLUMNS = (("copy_filename", sa.String(length=255)), ("copy_media_type", sa.String(length=100)),
           ("copy_size", sa.Integer()), ("copy_sha256", sa.String(length=64)), ("copy_added_at", UTC_TS))


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("notifications", sa.Column(name, type_, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("notifications", sa.Column("copy_added_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_notifications_copy_added_by_id_users"), "notifications", "users",
                              ["copy_added_by_id"], ["id"])
    else:
        op.execute("ALTER TABLE notifications ADD COLUMN copy_added_by_id INTEGER REFERENCES users (id)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("fk_notifications_copy_added_by_id_users"), "notifications", type_="foreignkey")
        op.drop_column("notifications", "copy_added_by_id")
        for name, _type in reversed(COLUMNS):
            op.drop_column("notifications", name)
        return
    # SQLite drops a column only without its foreign key: the register is copied, its trigger restored.
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("copy_added_by_id")
        for name, _type in reversed(COLUMNS):
            batch.drop_column(name)
    op.execute("CREATE TRIGGER notifications_no_delete BEFORE DELETE ON notifications "
               "BEGIN SELECT RAISE(ABORT, 'notifications rows are never deleted'); END")

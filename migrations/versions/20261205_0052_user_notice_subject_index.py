"""An index for "does this person already have this notice unread?" (issue 19: `gmp tick` at scale).

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-05

Reviewed by hand.

Before a notice is sent (an overdue class I interim decision escalated by the timer, a second action planned), the
application checks that the person does not already have the same notice unread (``services/notices.py``,
``_still_unread``): by user, kind and record. ``user_notices`` was indexed on ``user_id`` only, so each check read
every notice the person ever received, and the timer's escalations grew slower with the years of notices held by
the head of quality and the QP. This composite index answers it directly. No data changes; the downgrade drops it.
"""
from alembic import op

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_user_notices_subject", "user_notices", ["user_id", "subject_type", "subject_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_user_notices_subject", table_name="user_notices")

"""Account hardening: lockout per user name and source address with a rate limit, idle-locked API tokens (issue 19;
SEC-05, SEC-06, SEC-07).

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-04

Reviewed by hand.

Before this revision five wrong passwords from anyone locked any account, the administrator's included, and the 423
told an outsider that the name exists. The design from here on (``services/accounts.py`` says it in full):

- login_throttles (new): failed password checks counted for a user name *whether or not an account has it*, so that
  an unknown name answers exactly like a known one (same status, message, timing, and the same 423 and 429 after the
  same number of failures), without ever creating a user. One row per counter:

  * ``name_source`` (user name, source address): consecutive failures; at ``GMP_MAX_FAILED_LOGINS`` (5) the name is
    locked *for that address* (``locked_at``): 423 there, while the person logs in from their own workstation. Only
    an administrator's unlock clears it (SEC-05).
  * ``name`` (user name, source ''): consecutive failures from every address; at ``GMP_ACCOUNT_LOCK_FAILURES`` (25)
    the name is locked everywhere: the answer to guessing spread over many addresses, which the SEC-06 alert has
    reported long before (at 3 failures).
  * ``source`` (name '', source address): failures from one address over every name within a window; at
    ``GMP_SOURCE_RATE_LIMIT`` (20) per ``GMP_SOURCE_RATE_WINDOW_MINUTES`` (15) the address gets 429 with
    ``Retry-After`` until the window ends, and no password is checked (spraying one password over many names).

  A right password resets the name's two counters, never the address's. The address is the peer's, or the
  forwarded one only where ``GMP_TRUSTED_PROXIES`` says a proxy stands in front. ``scope`` is one of the three
  (CHECK); (scope, name, source) is unique, so concurrent failures add to one row. Rows are changed and deleted by
  the application (the counters reset; an unlock deletes the name's rows): it is bookkeeping, each failure being
  audited on its own as before. On PostgreSQL a write without the application's attribution is refused, and
  TRUNCATE is refused (a statement trigger enabled ALWAYS, as 0049 gives every other table): it would lift every
  lockout at once. Nothing is
  loaded: existing locks stay on ``users.locked_at``, which still locks the account everywhere.
- api_tokens.last_used_at (new, NOT NULL): the last request made with the token (kept to 30 seconds, a write at most
  twice a minute per token). A token unused for ``GMP_API_TOKEN_IDLE_MINUTES`` (15) is refused with 401
  ``token_idle``. Existing tokens take their creation time, so tokens older than the idle limit are idle at once
  (on PostgreSQL the fill is attributed to ``migration-0050``).
  Added by ADD COLUMN and filled; then NOT NULL: on PostgreSQL by SET NOT NULL
  (its attribution trigger stays), on SQLite by a table copy (batch mode; api_tokens has no SQLite trigger to lose).

Not schema, but part of the same change: an unlock now revokes every token and ends every session issued before it
(as a password reset and a deactivation already did); browser sessions end 12 hours after log-in
(``GMP_SESSION_MAX_HOURS``) whatever their activity.
"""
import sqlalchemy as sa
from alembic import op

from gmp_complaints.protections import truncate_guard_name, truncate_guard_sql

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", UTC_TS, nullable=False),
        sa.Column("last_failure_at", UTC_TS, nullable=False),
        sa.Column("locked_at", UTC_TS, nullable=True),
        sa.CheckConstraint("scope IN ('name_source', 'name', 'source')", name=op.f("ck_login_throttles_scope_known")),
        sa.CheckConstraint("failure_count >= 0", name=op.f("ck_login_throttles_failure_count_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint("scope", "name", "source", name=op.f("uq_login_throttles_scope")),
    )
    op.add_column("api_tokens", sa.Column("last_used_at", UTC_TS, nullable=True))
    if postgresql:
        # The fill is a write like any other: attributed to this migration (transaction-local).
        op.execute("SELECT set_config('gmp.tx', 'migration-0050', true)")
    op.execute("UPDATE api_tokens SET last_used_at = created_at")
    if postgresql:
        op.alter_column("api_tokens", "last_used_at", nullable=False)
        op.execute("CREATE TRIGGER login_throttles_attribution BEFORE INSERT OR UPDATE OR DELETE ON login_throttles "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE login_throttles ENABLE ALWAYS TRIGGER login_throttles_attribution")
        # DELETE of counters is the application's own reset; a TRUNCATE would lift every lockout at once.
        for statement in truncate_guard_sql("login_throttles"):
            op.execute(statement)
    else:
        with op.batch_alter_table("api_tokens", recreate="always") as batch:
            batch.alter_column("last_used_at", existing_type=UTC_TS, nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {truncate_guard_name('login_throttles')} ON login_throttles")
        op.execute("DROP TRIGGER login_throttles_attribution ON login_throttles")
        op.drop_column("api_tokens", "last_used_at")
    else:
        with op.batch_alter_table("api_tokens", recreate="always") as batch:
            batch.drop_column("last_used_at")
    op.drop_table("login_throttles")

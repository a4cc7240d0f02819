"""Database plumbing: engine, metadata with predictable constraint names, UTC timestamps."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator):
    """An instant, stored in UTC and always returned timezone-aware.

    SQLite has no time zone type; storing naive UTC there and attaching UTC on the way out keeps
    both databases returning the same values.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def make_engine(database_url: str) -> sa.Engine:
    if database_url.startswith("sqlite"):
        engine = sa.create_engine(database_url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # The driver's own transaction handling is off; we emit BEGIN ourselves (below).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection):
            # Take the write lock at BEGIN: a deferred transaction that upgrades to a writer later
            # fails with SQLITE_BUSY under concurrency instead of waiting.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(database_url, pool_pre_ping=True)


def make_session_factory(engine: sa.Engine) -> sessionmaker:
    from audit import tracking

    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
    tracking.install(factory)
    return factory


def database_clock_expression(dialect_name: str):
    """SQL for the database clock. On PostgreSQL clock_timestamp(), not now(): now() is frozen at the
    start of the transaction. SQLite gives milliseconds as text."""
    if dialect_name == "sqlite":
        return sa.func.strftime("%Y-%m-%d %H:%M:%f", "now")
    return sa.func.clock_timestamp()


def parse_database_clock(value) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def database_now(session) -> datetime:
    """The database clock (UTC), so timestamps never come from an app server's clock (AT-05)."""
    connection = session.connection()
    return parse_database_clock(connection.execute(sa.select(database_clock_expression(connection.dialect.name))).scalar_one())


# Append-only for the application role: the audit trail and the signatures (SIG-02).
AUDIT_TABLES = ("audit_events", "audit_checkpoints", "signing_keys", "signatures", "class_criteria_versions",
                "class_criteria", "escalations", "capa_evidence", "capa_sources")


def grant_application_role(engine: sa.Engine, role: str) -> None:
    """The owner/app split of production PostgreSQL: the app role may add to the audit trail, never
    change or remove it; it deletes nothing anywhere (records are voided or deactivated instead)."""
    if engine.dialect.name != "postgresql":
        raise ValueError("Roles and grants exist on PostgreSQL only; SQLite is protected by triggers alone.")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"Not a plain role name: {role!r}")
    tables = [t for t in sa.inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.begin() as connection:
        connection.exec_driver_sql(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        connection.exec_driver_sql(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
        for table in tables:
            privileges = "SELECT, INSERT" if table in AUDIT_TABLES else "SELECT, INSERT, UPDATE"
            connection.exec_driver_sql(f'GRANT {privileges} ON "{table}" TO "{role}"')
        connection.exec_driver_sql(f'GRANT SELECT ON alembic_version TO "{role}"')
        connection.exec_driver_sql(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')

"""Alembic environment: migrations run against the URL that `gmp init` (or a test) passes in."""
from alembic import context
from sqlalchemy import create_engine, pool

from audit import models as audit_models  # noqa: F401  (registers the tables on the metadata)
from gmp_complaints import models  # noqa: F401
from gmp_complaints.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    # In a transaction the caller began (`gmp init` reconciles the records held before it commits, RET-05),
    # Alembic neither begins nor commits one of its own.
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""Schema management: the schema only ever comes from the Alembic migrations in ``migrations/``."""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from gmp_complaints import resource_dir

MIGRATIONS_DIR = resource_dir("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal '%' in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")

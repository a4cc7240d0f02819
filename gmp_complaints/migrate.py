"""Schema management: the schema only ever comes from the Alembic migrations in ``migrations/``.

An upgrade is a validated data migration (RET-05, Annex 11 §4.8). On a database that holds tables, the row count
and content hashes of every table — over the columns it has before the upgrade — are read before and after the
migrations, in the one transaction that runs them (SQLite included: ``BEGIN`` is ours). A count or an existing
column's values that changed, a table or column that went, is refused: the transaction is rolled back and nothing
of the upgrade is committed — unless a migration applied declares that change in its module::

    #: RET-05: what this revision changes in records already held, and why
    data_changes = {"products.markets": "filled with the home market for products made before markets existed"}

(``"table"`` declares any change to the table, ``"table.column"`` to that column's values or its removal.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, pool

from gmp_complaints import resource_dir
from gmp_complaints.domain.reconciliation import Finding, reconcile, table_lines, total_rows, undeclared
from gmp_complaints.table_fingerprints import ALEMBIC_VERSION, table_columns, table_fingerprints

MIGRATIONS_DIR = resource_dir("migrations")
#: the name of the declaration a migration module may carry
DECLARATION = "data_changes"


def alembic_config(database_url: str, script_location: Path | None = None) -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(script_location or MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal '%' in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@dataclass
class UpgradeReconciliation:
    """What an upgrade found: the revisions, each table before and after, the differences and what declares them."""

    from_revision: str | None
    to_revision: str | None
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: ``{"table" or "table.column": why}`` gathered from the migrations applied
    declared: dict = field(default_factory=dict)

    @property
    def held_records(self) -> bool:
        return bool(self.before)

    @property
    def refused(self) -> list[Finding]:
        return undeclared(self.findings)

    @property
    def rows(self) -> int:
        return total_rows(self.before)

    def lines(self) -> list[str]:
        if not self.held_records:
            return []
        return table_lines(self.before, self.after, self.findings, expected_label="before", found_label="after")

    def summary(self) -> str:
        if self.from_revision == self.to_revision:
            return f"The schema is at {self.to_revision}: nothing to migrate."
        if not self.held_records:
            return f"Schema upgraded from {self.from_revision or 'empty'} to {self.to_revision} (no records held)."
        accepted = [f for f in self.findings if f.declared]
        if self.refused:
            return (f"Upgrade from {self.from_revision} to {self.to_revision} REFUSED and rolled back: "
                    f"{len(self.refused)} undeclared difference(s) in the records held; nothing was changed.")
        return (f"Schema upgraded from {self.from_revision} to {self.to_revision}: {len(self.before)} tables and "
                f"{self.rows} rows reconciled (counts and content hashes of every existing column)"
                + (f"; {len(accepted)} change(s) declared by the migrations." if accepted else "; no change."))


class MigrationReconciliationError(Exception):
    """An upgrade that would change records already held without declaring it; nothing was committed."""

    def __init__(self, reconciliation: UpgradeReconciliation):
        super().__init__(reconciliation.summary())
        self.reconciliation = reconciliation


def _engine(database_url: str) -> sa.Engine:
    engine = sa.create_engine(database_url, poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        # The driver would commit DDL on its own; with its transaction handling off and BEGIN ours, the whole
        # upgrade is one transaction that can still be rolled back after the reconciliation.
        @event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection, _record):
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    return engine


def declared_changes(script: ScriptDirectory, from_revision: str | None, to_revision: str) -> dict[str, str]:
    """The ``data_changes`` of every revision from ``from_revision`` (excluded) up to ``to_revision``."""
    declared: dict[str, str] = {}
    for revision in script.iterate_revisions(to_revision, from_revision):
        for key, why in (getattr(revision.module, DECLARATION, None) or {}).items():
            declared[key] = f"{revision.revision}: {why}"
    return declared


def upgrade_to_head(database_url: str, *, script_location: Path | None = None,
                    personal_data_cipher: Callable[[], object] | None = None) -> UpgradeReconciliation:
    """Upgrade to the newest revision, reconciling the records held (see the module's text). Raises
    ``MigrationReconciliationError`` — with nothing committed — when they would change undeclared.

    ``personal_data_cipher`` makes the instance's personal-data cipher, for a migration that encrypts values
    already held (0051); it is called only where one does, so an upgrade with nothing to encrypt needs no key.
    """
    config = alembic_config(database_url, script_location)
    config.attributes["personal_data_cipher"] = personal_data_cipher
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    engine = _engine(database_url)
    try:
        with engine.connect() as connection:
            transaction = connection.begin()
            current = MigrationContext.configure(connection).get_current_revision()
            report = UpgradeReconciliation(current, head)
            if current != head and [t for t in table_columns(connection) if t != ALEMBIC_VERSION]:
                report.before = table_fingerprints(connection, exclude=(ALEMBIC_VERSION,))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            if report.before:
                report.after = table_fingerprints(
                    connection, columns={t: list(f["columns"]) for t, f in report.before.items()})
                report.declared = declared_changes(script, current, head)
                report.findings = reconcile(report.before, report.after, declared=report.declared,
                                            extra_tables=False)
            if report.refused:
                transaction.rollback()
                raise MigrationReconciliationError(report)
            transaction.commit()
            return report
    finally:
        engine.dispose()

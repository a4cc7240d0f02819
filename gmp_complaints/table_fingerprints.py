"""Reading the fingerprints of a database's tables (RET-04, RET-05): rows, a SHA-256 over the rows and one per
column, read on one connection (so within one transaction, of one moment). The hashing and the comparison are
plain rules in ``domain.reconciliation``; this adapter only reads the rows in a stable order."""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import sqlalchemy as sa

from gmp_complaints.domain.reconciliation import TableHasher, sort_key

#: Alembic's own bookkeeping: a schema upgrade changes it by definition
ALEMBIC_VERSION = "alembic_version"
_BATCH = 2000


def table_names(connection) -> list[str]:
    return sorted(sa.inspect(connection).get_table_names())


def table_columns(connection) -> dict[str, list[str]]:
    """Every table's columns as the database has them now."""
    inspector = sa.inspect(connection)
    return {table: sorted(c["name"] for c in inspector.get_columns(table))
            for table in sorted(inspector.get_table_names())}


def table_fingerprints(connection, *, columns: Mapping[str, Sequence[str]] | None = None,
                       exclude: Collection[str] = ()) -> dict[str, dict]:
    """``{table: {"rows", "sha256", "columns": {column: sha256}}}`` of every table (but ``exclude``), or of the
    tables and columns named in ``columns`` as far as they still exist (a missing table or column is left out: the
    comparison names it)."""
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    wanted = columns if columns is not None else {t: None for t in present}
    quote = connection.dialect.identifier_preparer.quote
    result = {}
    for table in sorted(wanted):
        if table in exclude or table not in present:
            continue
        described = {c["name"]: c for c in inspector.get_columns(table)}
        names = sorted(described if wanted[table] is None else (c for c in wanted[table] if c in described))
        key = [c for c in inspector.get_pk_constraint(table).get("constrained_columns") or [] if c in described]
        hasher = TableHasher(names)
        listed = ", ".join(quote(c) for c in names) or "1"
        source = f"SELECT {listed} FROM {quote(table)}"
        if key and all(isinstance(described[c]["type"], sa.Integer) for c in key):
            # An integer key orders the same on every database: read in key order, a batch at a time.
            statement = sa.text(source + " ORDER BY " + ", ".join(quote(c) for c in key)).execution_options(
                yield_per=_BATCH)
            for row in connection.execute(statement):
                hasher.add(tuple(row) if names else ())
        else:
            # A text key (or none) may collate differently from one database to the next: ordered here instead.
            positions = [names.index(c) for c in key if c in names] if key else list(range(len(names)))
            extra = [c for c in key if c not in names]
            statement = sa.text(f"SELECT {', '.join(quote(c) for c in names + extra) or '1'} FROM {quote(table)}")
            rows = [tuple(row) for row in connection.execute(statement)]
            offset = len(names)
            rows.sort(key=lambda row: (sort_key([row[i] for i in positions] + list(row[offset:])), sort_key(row)))
            for row in rows:
                hasher.add(row[:offset] if names else ())
        result[table] = hasher.fingerprint()
    return result

"""Gapless, concurrency-safe serials (REC-04, REC-06): one counter row per scope, taken under the row
lock in the transaction that uses the number. A rollback gives the number back; a commit makes it
permanent; two transactions never get the same one (database lock, not a process lock)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gmp_complaints.db import database_clock_expression, parse_database_clock
from gmp_complaints.models import NumberCounter
from gmp_complaints.uow import UnitOfWork

_STATEMENTS: dict[str, sa.Insert] = {}


def _statement(dialect: str) -> sa.Insert:
    """Built once per dialect: it runs in every registration and classification."""
    if dialect not in _STATEMENTS:
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        table = NumberCounter.__table__
        # One statement: the scope's first number creates the counter, every later one moves it on under
        # the row lock (a concurrent first taker waits on the unique index, then updates). The database
        # clock comes back with it, so the unit's "now" costs no round trip of its own.
        _STATEMENTS[dialect] = (
            insert(table).values(scope=sa.bindparam("scope"), next_serial=2)
            .on_conflict_do_update(index_elements=["scope"], set_={"next_serial": table.c.next_serial + 1})
            .returning(table.c.next_serial, database_clock_expression(dialect).label("clock")))
    return _STATEMENTS[dialect]


def take_serial(uow: UnitOfWork, scope: str) -> int:
    """The next serial of ``scope`` (1, 2, 3, ...), e.g. scope ``TS:I-26`` or ``R:2026``."""
    connection = uow.session.connection()
    row = connection.execute(_statement(connection.dialect.name), {"scope": scope}).one()
    uow.note_database_clock(parse_database_clock(row.clock))
    return row.next_serial - 1

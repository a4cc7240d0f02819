"""Gapless, concurrency-safe serials (REC-04, REC-06): one counter row per scope, taken under the row
lock in the transaction that uses the number. A rollback gives the number back; a commit makes it
permanent; two transactions never get the same one (database lock, not a process lock)."""
from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gmp_complaints.models import NumberCounter


def take_serial(session, scope: str) -> int:
    """The next serial of ``scope`` (1, 2, 3, ...), e.g. scope ``TS:I-26`` or ``R:2026``."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # One statement: the scope's first number creates the counter, every later one moves it on under
    # the row lock (a concurrent first taker waits on the unique index, then updates).
    statement = insert(NumberCounter).values(scope=scope, next_serial=2)
    taken = session.execute(
        statement.on_conflict_do_update(index_elements=["scope"],
                                        set_={"next_serial": NumberCounter.next_serial + 1})
        .returning(NumberCounter.next_serial)
    ).scalar_one()
    return taken - 1

"""Benchmark: the cost of auditing a domain write (issue 3), on SQLite and PostgreSQL, in one run.

The same service call (``accounts.change_email``: read the user for update, change a column,
commit; a change of roles is a request and an approval since SEC-04) runs through the normal unit of work, which tracks the row diff, seals an audit event into
the Merkle log and signs checkpoints, and through a unit of work with auditing removed. Batches of
the two alternate so both see the same machine state. Reports median per-write times and the ratio.

Run: .venv/bin/python -m tests.benchmarks.bench_audit_write [--writes 2000]
PostgreSQL: GMP_BENCH_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from audit.service import ensure_signing_key
from gmp_complaints.config import load_settings
from gmp_complaints.db import make_engine, make_session_factory
from gmp_complaints.migrate import upgrade_to_head
from gmp_complaints.services import accounts
from gmp_complaints.uow import UnitOfWork
from tests.benchmarks.scratch import scratch_postgres


class UnauditedUnitOfWork(UnitOfWork):
    """The same transaction without the audit trail: no events sealed, no diff tracking."""

    def _emit_audit_events(self) -> None:
        return None


def unaudited_factory(engine):
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
    if engine.dialect.name == "postgresql":
        @sa.event.listens_for(factory, "after_begin")
        def _attribution(session, transaction, connection):
            connection.execute(sa.text("SELECT set_config('gmp.tx', 'bench', true)"))
    return factory


def run(database_url: str, writes: int, workdir: Path) -> tuple[float, float]:
    settings = load_settings({"GMP_INSTANCE_PATH": str(workdir / "instance"), "DATABASE_URL": database_url,
                              "GMP_ENV": "test"})
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    audited = make_session_factory(engine)
    ensure_signing_key(UnitOfWork(audited, settings))
    admin = accounts.create_user(UnitOfWork(audited, settings), actor_id=None, username="bench.admin",
                                 printed_name="Bench Admin", roles=["admin"], temporary_password="x" * 16)
    target = accounts.create_user(UnitOfWork(audited, settings), actor_id=None, username="bench.user",
                                  printed_name="Bench User", roles=["investigator"], temporary_password="x" * 16)
    plain = unaudited_factory(engine)
    addresses = ("bench.user@example.com", "bench.user@example.org")
    times = {"audited": [], "plain": []}
    flip = 1  # the user starts with no address: the first write sets addresses[0]
    for batch in range(writes // 50):
        for name, make in (("audited", lambda: UnitOfWork(audited, settings)),
                           ("plain", lambda: UnauditedUnitOfWork(plain, settings))):
            for _ in range(50):
                flip ^= 1
                started = time.perf_counter()
                accounts.change_email(make(), actor_id=admin.user_id, user_id=target.user_id,
                                      email=addresses[flip], reason="benchmark")
                times[name].append(time.perf_counter() - started)
    engine.dispose()
    return statistics.median(times["audited"]), statistics.median(times["plain"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = {"SQLite": run(f"sqlite:///{workdir / 'bench.sqlite3'}", args.writes, workdir)}
        with scratch_postgres() as url:
            results["PostgreSQL"] = run(url, args.writes, workdir / "pg")
    for backend, (audited, plain) in results.items():
        print(f"{backend:<10} audited {audited * 1000:.2f} ms, without audit {plain * 1000:.2f} ms, "
              f"ratio {audited / plain:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()

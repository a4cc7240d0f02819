"""Benchmark (issue 12): registering and classifying complaints, side by side with the peer.

One run, same machine, on SQLite and on PostgreSQL:
- registrations/s and classifications/s from one client, through the service layer (the peer's numbers are
  its ORM form save and ``update_ticket``, also in-process) and through the JSON API (Flask test client);
- statements and transactions per step (register, classify, the complaint page, "waiting for my signature");
- classification with 8 parallel clients (8 processes, each with its own connections) on PostgreSQL:
  numbers/s, duplicates, gaps;
- django-helpdesk (the peer, ``../shared/peers/helpdesk``) in its own venv (``../peer-venv``), when installed:
  ticket create (form save) and ``update_ticket``, and the ratios ours / peer; on SQLite both run with WAL and
  synchronous=FULL (``peer_driver.py``), as the peer's README asks.

Run: .venv/bin/python -m tests.benchmarks.bench_steps [--n 300] [--rounds 3] [--parallel 800]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from tests.benchmarks.scratch import scratch_postgres

REPO = Path(__file__).resolve().parents[2]
PEER_PYTHON = REPO.parent / "peer-venv" / "bin" / "python"
TODAY = "2026-11-20"


class StatementCounter:
    """Statements and transactions (BEGIN … COMMIT/ROLLBACK) seen by an engine."""

    def __init__(self, engine: sa.Engine):
        self.statements = self.transactions = 0
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        sa.event.listen(engine, "begin", self._begin)

    def _statement(self, *args):
        self.statements += 1

    def _begin(self, *args):
        self.transactions += 1

    @contextmanager
    def measure(self, into: list):
        s, t = self.statements, self.transactions
        yield
        into.append((self.statements - s, self.transactions - t))


def _settings(url: str, instance: Path):
    from gmp_complaints.config import load_settings

    return load_settings({"GMP_INSTANCE_PATH": str(instance), "DATABASE_URL": url, "GMP_ENV": "test",
                          "GMP_TODAY": TODAY})


def prepare(url: str, instance: Path):
    """A database as `gmp init` leaves it, with a QA officer, a QA head, a product and a batch."""
    from audit.service import ensure_signing_key
    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.migrate import upgrade_to_head
    from gmp_complaints.services import accounts, master_data
    from gmp_complaints.services.calendars import seed_china_calendar
    from gmp_complaints.services.configuration import seed_reference_data
    from gmp_complaints.uow import UnitOfWork

    settings = _settings(url, instance)
    upgrade_to_head(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    new_uow = lambda: UnitOfWork(factory, settings)  # noqa: E731
    ensure_signing_key(new_uow())
    seed_china_calendar(new_uow(), first_year=2024)
    seed_reference_data(new_uow())
    qa = accounts.create_user(new_uow(), actor_id=None, username="bench.qa", printed_name="Bench QA",
                              roles=["qa_officer"], temporary_password="x" * 16)
    master_data.create_product(new_uow(), {"code": "P-001", "name": "Product", "strength": "1 g",
                                           "dosage_form": "tablet"}, actor_id=qa.user_id)
    master_data.create_batch(new_uow(), {"product_code": "P-001", "batch_no": "B0001", "manufactured_on": "2026-01-01",
                                         "expires_on": "2028-01-01"}, actor_id=qa.user_id)
    engine.dispose()
    return settings, qa.user_id


REGISTRATION = {"received_on": "2026-11-02", "channel": "phone", "complainant": {"name": "王芳", "phone": "13800001234"},
                "product_code": "P-001", "batch_nos": ["B0001"], "complaint_type": "inner_packaging",
                "description": "Customer reports chipped tablets in blister", "sample_available": True}
VALIDITY = {"information_complete": True, "substantiated": True}
CLASSIFICATION = {"complaint_class": "II", "rationale": "密封缺陷（SOP 3.2）", "adr_suspected": False}


def service_run(url: str, instance: Path, n: int) -> dict:
    """One client, in-process, through the services: what the peer's numbers are comparable to."""
    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.domain.roles import Actor, Role
    from gmp_complaints.services import complaint_intake, complaint_queries, complaint_steps
    from gmp_complaints.uow import UnitOfWork

    settings, qa_id = prepare(url, instance)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    counter = StatementCounter(engine)
    new_uow = lambda: UnitOfWork(factory, settings)  # noqa: E731
    actor = Actor(qa_id, frozenset({Role.qa_officer}))
    costs: dict[str, list] = {"register": [], "validity": [], "classify": [], "page": []}
    ids, register_times, classify_times = [], [], []
    for _ in range(n):
        started = time.perf_counter()
        with counter.measure(costs["register"]):
            ids.append(complaint_intake.register_complaint(new_uow(), REGISTRATION, actor=actor)["id"])
        register_times.append(time.perf_counter() - started)
    for cid in ids:
        with counter.measure(costs["validity"]):
            complaint_steps.record_validity(new_uow(), cid, VALIDITY, actor=actor)
    for cid in ids:
        started = time.perf_counter()
        with counter.measure(costs["classify"]):
            complaint_steps.classify(new_uow(), cid, CLASSIFICATION, actor=actor)
        classify_times.append(time.perf_counter() - started)
    for cid in ids[:50]:
        with counter.measure(costs["page"]):
            complaint_queries.get_complaint(new_uow(), cid, roles=actor.roles)
    engine.dispose()
    return {"register_per_s": n / sum(register_times), "classify_per_s": n / sum(classify_times),
            "register_p50_ms": statistics.median(register_times) * 1000,
            "classify_p50_ms": statistics.median(classify_times) * 1000,
            "costs": {step: (statistics.median(s for s, _ in v), statistics.median(t for _, t in v))
                      for step, v in costs.items()}}


def _classify_worker(url: str, instance: str, qa_id: int, ids: list[int], start, results) -> None:
    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.domain.roles import Actor, Role
    from gmp_complaints.services import complaint_queries, complaint_steps
    from gmp_complaints.uow import UnitOfWork

    settings = _settings(url, Path(instance))
    engine = make_engine(url)
    factory = make_session_factory(engine)
    actor = Actor(qa_id, frozenset({Role.qa_officer}))
    complaint_queries.get_complaint(UnitOfWork(factory, settings), ids[0], roles=actor.roles)  # warm: imports, caches
    start.wait()
    numbers = [complaint_steps.classify(UnitOfWork(factory, settings), cid, CLASSIFICATION, actor=actor)["number"]
               for cid in ids]
    results.put(numbers)
    engine.dispose()


def parallel_run(url: str, instance: Path, n: int, clients: int = 8) -> dict:
    """``clients`` processes classify ``n`` complaints at once (PostgreSQL; locks live in the database)."""
    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.domain.roles import Actor, Role
    from gmp_complaints.services import complaint_intake, complaint_steps
    from gmp_complaints.uow import UnitOfWork

    settings, qa_id = prepare(url, instance)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    actor = Actor(qa_id, frozenset({Role.qa_officer}))
    ids = []
    for _ in range(n):
        cid = complaint_intake.register_complaint(UnitOfWork(factory, settings), REGISTRATION, actor=actor)["id"]
        complaint_steps.record_validity(UnitOfWork(factory, settings), cid, VALIDITY, actor=actor)
        ids.append(cid)
    engine.dispose()
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(clients + 1), context.Queue()
    workers = [context.Process(target=_classify_worker, args=(url, str(instance), qa_id, ids[w::clients], start, results))
               for w in range(clients)]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    numbers = [number for _ in workers for number in results.get()]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    serials = sorted(int(number.rsplit("-", 1)[1]) for number in numbers)
    return {"per_s": len(numbers) / elapsed, "duplicates": len(serials) - len(set(serials)),
            "gaps": serials[-1] - serials[0] + 1 - len(set(serials)), "count": len(numbers)}


def peer_run(n: int, postgres_url: str | None) -> dict | None:
    """The peer through ``peer_driver.py``, in its own venv, on SQLite and PostgreSQL; None where it is not installed."""
    if not PEER_PYTHON.exists():
        return None
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"sqlite": f"sqlite:///{Path(tmp) / 'hd.sqlite3'}"}
        if postgres_url:
            runs["postgresql"] = postgres_url
        for name, url in runs.items():
            env = {**os.environ, "N": str(n), "PEER_DATABASE_URL": url, "PYTHONPATH": str(Path(__file__).parent)}
            run = subprocess.run([str(PEER_PYTHON), "-m", "peer_driver"], env=env, capture_output=True, text=True,
                                 cwd=str(Path(__file__).parent), timeout=1800)
            results[name] = _peer_figures(run.stdout) if run.returncode == 0 else run.stderr[-500:]
    return results


def _peer_figures(output: str) -> dict:
    import re

    register = re.search(r"register: (\d+)/s", output)
    classify = re.search(r"classify\(update_ticket\): (\d+)/s", output)
    return {"register_per_s": float(register.group(1)), "classify_per_s": float(classify.group(1))}


def _peer_in_fresh_postgres(n: int) -> dict | None:
    with scratch_postgres(prefix="gmp_peer") as url:
        return peer_run(n, url)


def one_round(n: int, with_peer: bool) -> tuple[dict, dict | None]:
    """Ours on SQLite and PostgreSQL, then the peer on both: one round, back to back."""
    ours = {}
    with tempfile.TemporaryDirectory() as tmp:
        ours["sqlite"] = service_run(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "instance-sqlite", n)
        with scratch_postgres() as url:
            ours["postgresql"] = service_run(url, Path(tmp) / "instance-pg", n)
    return ours, (_peer_in_fresh_postgres(n) if with_peer else None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300, help="complaints per one-client run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of ours-then-peer; the ratios are the median over rounds (a shared machine "
                             "drifts by a factor of two within minutes, so one pass of each is not a fair pair)")
    parser.add_argument("--parallel", type=int, default=800, help="complaints classified by 8 parallel clients")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    rounds = [one_round(args.n, not args.no_peer) for _ in range(args.rounds)]
    with tempfile.TemporaryDirectory() as tmp, scratch_postgres() as url:
        parallel = parallel_run(url, Path(tmp) / "instance-par", args.parallel)
    if rounds[0][1] is None and not args.no_peer:
        print("  peer not installed: python3 -m venv ../peer-venv && ../peer-venv/bin/pip install django-helpdesk==2.6.1 "
              "'psycopg[binary]'")
    print(f"one client, {args.n} complaints, through the services (in-process, as the peer's driver), "
          f"{args.rounds} round(s) of ours then the peer")
    for backend in ("sqlite", "postgresql"):
        ratios = {"register": [], "classify": []}
        for number, (ours, peer) in enumerate(rounds, 1):
            figures = ours[backend]
            line = (f"  {backend:<10} round {number}: register {figures['register_per_s']:6.0f}/s   "
                    f"classify {figures['classify_per_s']:6.0f}/s")
            peer_figures = (peer or {}).get(backend)
            if isinstance(peer_figures, dict):
                for step, key in (("register", "register_per_s"), ("classify", "classify_per_s")):
                    ratios[step].append(figures[key] / peer_figures[key])
                line += (f"   | peer create {peer_figures['register_per_s']:.0f}/s, update "
                         f"{peer_figures['classify_per_s']:.0f}/s   ratios {ratios['register'][-1]:.2f}x, "
                         f"{ratios['classify'][-1]:.2f}x")
            elif peer_figures:
                line += f"   | peer failed: {peer_figures}"
            print(line)
        if ratios["register"]:
            print(f"  {backend:<10} median ratios: register {statistics.median(ratios['register']):.2f}x, "
                  f"classify {statistics.median(ratios['classify']):.2f}x   (goal >= 1.5x)")
        for step, (statements, transactions) in rounds[0][0][backend]["costs"].items():
            print(f"      {step:<9} {statements:4.0f} statements, {transactions:.0f} transaction(s)")
    print(f"classification, 8 parallel clients (processes), PostgreSQL: {parallel['per_s']:.0f} numbers/s, "
          f"{parallel['count']} numbers, duplicates {parallel['duplicates']}, gaps {parallel['gaps']}   "
          f"(goal >= 300/s, 0 and 0)")


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: ``gmp tick`` with many open complaints.

An instance as ``gmp init`` leaves it (SQLite by default; ``--postgres`` for a scratch database on
127.0.0.1:5432, created and dropped here) gets ``--complaints`` open complaints, written in bulk through the
product's unit of work (load, not validated records: no audit events of their own):

- 15 % registered long ago and never acknowledged: two overdue time limits each to escalate;
- 5 % class I under investigation since long ago, no interim risk decision: three overdue time limits each,
  the interim decision's also told to the head of quality and the QP (a notice each);
- 10 % answered long ago and awaiting the customer: a reminder due;
- the rest registered or answered recently: nothing to do.

Then the service calls of ``gmp tick`` run twice on the same business day: the first does the work, the
second finds nothing left. Each reports seconds, SQL statements (an engine event listener) and the cost per
open complaint, with the part of the complaint timers (``services.timers.tick``) shown apart.

Run: .venv/bin/python -m tests.benchmarks.bench_tick [--complaints 2000] [--postgres] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from tests.benchmarks.scratch import scratch_postgres

TODAY = date(2026, 11, 20)


class StatementCounter:
    def __init__(self, engine: sa.Engine):
        self.statements = 0
        sa.event.listen(engine, "before_cursor_execute", self._statement)

    def _statement(self, *args):
        self.statements += 1


def prepare(url: str, instance: Path):
    """The instance and a unit-of-work factory, with a QA officer, a product and a batch."""
    from audit.service import ensure_signing_key
    from gmp_complaints.config import load_settings
    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.migrate import upgrade_to_head
    from gmp_complaints.services import accounts, master_data
    from gmp_complaints.services.calendars import seed_china_calendar
    from gmp_complaints.services.configuration import seed_reference_data
    from gmp_complaints.uow import UnitOfWork

    settings = load_settings({"GMP_INSTANCE_PATH": str(instance), "DATABASE_URL": url, "GMP_ENV": "test",
                              "GMP_TODAY": TODAY.isoformat()})
    upgrade_to_head(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    new_uow = lambda: UnitOfWork(factory, settings)  # noqa: E731
    ensure_signing_key(new_uow())
    seed_china_calendar(new_uow(), first_year=2025)
    seed_reference_data(new_uow())
    qa = accounts.create_user(new_uow(), actor_id=None, username="bench.qa", printed_name="Bench QA",
                              roles=["qa_officer"], temporary_password="x" * 16)
    for role in ("qa_head", "qp"):
        accounts.create_user(new_uow(), actor_id=None, username=f"bench.{role}", printed_name=f"Bench {role}",
                             roles=[role], temporary_password="x" * 16)
    master_data.create_product(new_uow(), {"code": "P-001", "name": "Product", "strength": "1 g",
                                           "dosage_form": "tablet"}, actor_id=qa.user_id)
    master_data.create_batch(new_uow(), {"product_code": "P-001", "batch_no": "B0001", "manufactured_on": "2026-01-01",
                                         "expires_on": "2028-01-01"}, actor_id=qa.user_id)
    return engine, new_uow, qa.user_id


def bulk_load(new_uow, count: int, qa_id: int) -> dict[str, int]:
    """``count`` open complaints in one transaction; how many of each kind."""
    from gmp_complaints.models import Batch, Complaint, ComplaintBatch, ComplaintReply, Product
    from gmp_complaints.services.personal_data import cipher_for

    uow = new_uow()
    with uow:
        session = uow.session
        cipher = cipher_for(uow.settings)
        name, email = cipher.encrypt("王芳"), cipher.encrypt("wf@example.cn")
        product_id = session.scalar(sa.select(Product.id))
        batch_id = session.scalar(sa.select(Batch.id))
        now = datetime.now(timezone.utc)
        complaints, links, replies = [], [], []
        kinds = {"overdue": 0, "class_i_overdue": 0, "reminder_due": 0, "nothing_due": 0}
        for i in range(1, count + 1):
            slot = i % 20
            if slot < 3:
                kind, received, status = "overdue", TODAY - timedelta(days=60), "registered"
            elif slot < 4:
                kind, received, status = "class_i_overdue", TODAY - timedelta(days=60), "under_investigation"
            elif slot < 6:
                kind, received, status = "reminder_due", TODAY - timedelta(days=90), "awaiting_customer"
            elif slot < 10:
                kind, received, status = "nothing_due", TODAY - timedelta(days=40), "awaiting_customer"
            else:
                kind, received, status = "nothing_due", TODAY, "registered"
            kinds[kind] += 1
            answered = status == "awaiting_customer"
            classified = status != "registered"
            klass = "I" if kind == "class_i_overdue" else "III" if classified else None
            complaints.append({
                "id": i, "intake_ref": f"R-26-{i:06d}", "number": f"TS-{klass}-26-{i:06d}" if classified else None,
                "original_class": klass, "complaint_class": klass,
                "status": status, "channel": "phone", "received_on": received, "received_by_id": qa_id,
                "complainant_name": name, "complainant_organisation": "仁和大药房", "complainant_phone": None,
                "complainant_email": email, "product_id": product_id, "batch_unknown_reason": None,
                "complaint_type": "inner_packaging", "description": "瓶盖破裂，胶囊受潮", "sample_available": True,
                "written_confirmation_requested": False, "customer_due_on": None,
                "retention_until": received + timedelta(days=900), "substantiated": True if classified else None,
                "acknowledged_on": received if classified else None, "validity_on": received if classified else None,
                "classified_on": received if classified else None, "version": 5 if classified else 1,
                "interim_decision_due_on": received + timedelta(days=1) if klass == "I" else None,
                "is_demo": False, "created_at": now})
            links.append({"complaint_id": i, "batch_id": batch_id})
            if answered:
                replied_on = received + timedelta(days=10 if kind == "reminder_due" else 35)
                replies.append({"id": i, "complaint_id": i, "sequence": 1, "replied_on": replied_on,
                                "summary": "答复", "created_at": now})
        session.execute(sa.insert(Complaint.__table__), complaints)
        session.execute(sa.insert(ComplaintBatch.__table__), links)
        session.execute(sa.insert(ComplaintReply.__table__), replies)
        if session.bind.dialect.name == "postgresql":
            for table in ("complaints", "complaint_replies"):
                session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count})"))
        uow.commit()
    with uow.session_factory.kw["bind"].connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE")
    return kinds


def tick_calls(new_uow) -> list[tuple[str, object]]:
    """The service calls of ``gmp tick`` (``gmp_complaints.cli.tick``) in its order; the storage
    verification and the backup are on their own schedules and left out."""
    from audit.service import seal
    from gmp_complaints.services.accounts import forget_closed_source_windows
    from gmp_complaints.services.calendars import extend_china_calendar
    from gmp_complaints.services.capa import escalate_overdue_actions
    from gmp_complaints.services.notifications import escalate_overdue_notifications, remind_field_alerts
    from gmp_complaints.services.timers import deliver_outbox, tick
    from gmp_complaints.services.trend_reviews import raise_trend_reviews

    return [(call.__name__, lambda call=call: call(new_uow())) for call in (
        extend_china_calendar, tick, escalate_overdue_actions, remind_field_alerts, raise_trend_reviews,
        escalate_overdue_notifications, deliver_outbox, forget_closed_source_windows, seal)]


@contextmanager
def maybe_profile(enabled: bool, label: str):
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        print(f"--- profile: {label} (top 25 by cumulative time)")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


def run_tick(new_uow, counter: StatementCounter, label: str, open_count: int, profile: bool) -> dict:
    parts = {}
    with maybe_profile(profile, label):
        for name, call in tick_calls(new_uow):
            statements, started = counter.statements, time.perf_counter()
            result = call()
            parts[name] = (time.perf_counter() - started, counter.statements - statements, result)
    total_s = sum(s for s, _q, _r in parts.values())
    total_q = sum(q for _s, q, _r in parts.values())
    timers_s, timers_q, done = parts["tick"]
    print(f"{label}: {total_s:.2f} s, {total_q:,} statements "
          f"({total_s / open_count * 1000:.2f} ms and {total_q / open_count:.2f} statements per open complaint)")
    print(f"    complaint timers: {timers_s:.2f} s, {timers_q:,} statements; {done}")
    for name, (seconds, statements, result) in parts.items():
        if name != "tick":
            print(f"    {name}: {seconds:.3f} s, {statements} statements"
                  + (f" -> {result}" if isinstance(result, int) and name != "seal" else ""))
    return {"seconds": total_s, "statements": total_q, "timers_seconds": timers_s, "timers_statements": timers_q,
            "done": done}


def run(url: str, instance: Path, complaints: int, profile: bool) -> None:
    engine, new_uow, qa_id = prepare(url, instance)
    started = time.perf_counter()
    kinds = bulk_load(new_uow, complaints, qa_id)
    print(f"{engine.dialect.name}: loaded {complaints:,} open complaints {kinds} in "
          f"{time.perf_counter() - started:.1f} s")
    counter = StatementCounter(engine)
    first = run_tick(new_uow, counter, "first tick (does the work)", complaints, profile)
    second = run_tick(new_uow, counter, "second tick (nothing left) ", complaints, profile)
    expected = {"reminders": kinds["reminder_due"], "escalations": 2 * kinds["overdue"] + 3 * kinds["class_i_overdue"]}
    got = {"reminders": first["done"]["reminders"], "escalations": first["done"]["escalations"]}
    assert got == expected, (got, expected)
    assert second["done"] == {"reminders": 0, "closure_pending": 0, "escalations": 0, "emails_queued": 0}
    work = expected["reminders"] + expected["escalations"]
    print(f"    first tick per act done ({work} reminders and escalations): "
          f"{first['timers_seconds'] / work * 1000:.2f} ms, {first['timers_statements'] / work:.1f} statements")
    print(f"    second / first tick time: {second['seconds'] / first['seconds']:.2f}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complaints", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true", help="a scratch database on 127.0.0.1:5432")
    parser.add_argument("--profile", action="store_true", help="cProfile each tick")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.postgres:
            run(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "instance", args.complaints, args.profile)
            return
        with scratch_postgres(prefix="gmp_bench_tick") as url:
            run(url, Path(tmp) / "instance", args.complaints, args.profile)


if __name__ == "__main__":
    main()

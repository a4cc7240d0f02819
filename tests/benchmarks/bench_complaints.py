"""Benchmark (issue 4): 100,000 complaints with their audit events in PostgreSQL.

Reports the server time of the complaint list (50 rows, filtered) and of the complaint page (median and
95th percentile, through the Flask app), and classification throughput with 8 parallel clients
(numbers per second, duplicates, gaps).

The bulk data is written with plain INSERTs under the application's attribution: it is load, not a
validated record, and its audit rows are filler of realistic size (the read paths never replay them).

Run: .venv/bin/python -m tests.benchmarks.bench_complaints [--complaints 100000]
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from audit.service import ensure_signing_key
from gmp_complaints import create_app
from gmp_complaints.config import load_settings
from gmp_complaints.db import make_engine, make_session_factory
from gmp_complaints.domain.roles import Actor
from gmp_complaints.migrate import upgrade_to_head
from gmp_complaints.services import accounts, complaint_intake, complaint_queries, complaint_steps, master_data
from gmp_complaints.services.calendars import seed_china_calendar
from gmp_complaints.services.configuration import seed_reference_data
from gmp_complaints.services.personal_data import cipher_for
from gmp_complaints.uow import UnitOfWork
from tests.benchmarks.scratch import scratch_postgres

STATUSES = ("registered", "under_investigation", "assessed", "awaiting_customer", "closure_pending")


def bulk_load(engine, settings, count: int, qa_id: int) -> None:
    cipher = cipher_for(settings)
    name, phone = cipher.encrypt("王芳"), cipher.encrypt("13800001234")
    now = datetime.now(timezone.utc)
    rng = random.Random(42)
    with engine.begin() as connection:
        connection.exec_driver_sql("SELECT set_config('gmp.tx', 'benchmark-load', true)")
        product_ids = connection.execute(sa.text("SELECT id FROM products ORDER BY id")).scalars().all()
        batch_rows = connection.execute(sa.text("SELECT id, product_id FROM batches")).all()
        batches_by_product: dict[int, list[int]] = {}
        for batch_id, product_id in batch_rows:
            batches_by_product.setdefault(product_id, []).append(batch_id)
        complaint_rows, link_rows = [], []
        for i in range(1, count + 1):
            product_id = rng.choice(product_ids)
            received = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 1000))
            status = rng.choice(STATUSES)
            numbered = status != "registered"
            klass = rng.choice(("I", "II", "III")) if numbered else None
            complaint_rows.append({
                "id": i, "intake_ref": f"R-{received.year}-{i:06d}"[:16],
                "number": f"TS-{klass}-{received.year % 100:02d}-B{i:06d}" if numbered else None,
                "original_class": klass, "complaint_class": klass, "status": status, "channel": "phone",
                "received_on": received, "received_by_id": qa_id, "complainant_name": name,
                "complainant_organisation": "仁和大药房", "complainant_phone": phone, "complainant_email": None,
                "product_id": product_id, "batch_unknown_reason": None, "complaint_type": "inner_packaging",
                "description": "瓶盖破裂，胶囊受潮", "sample_available": True, "written_confirmation_requested": True,
                "customer_due_on": None, "retention_until": received + timedelta(days=900),
                "substantiated": True if numbered else None, "validity_on": received if numbered else None,
                "classified_on": received if numbered else None, "version": 3, "is_demo": True, "created_at": now,
            })
            link_rows.append({"complaint_id": i, "batch_id": rng.choice(batches_by_product[product_id])})
        table = sa.table("complaints", *[sa.column(k) for k in complaint_rows[0]])
        for start in range(0, count, 5000):
            connection.execute(sa.insert(table), complaint_rows[start:start + 5000])
        links = sa.table("complaint_batches", sa.column("complaint_id"), sa.column("batch_id"))
        connection.execute(sa.insert(links), link_rows)
        connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('complaints', 'id'), {count})")
        # Filler audit events: six per complaint, as a classified complaint has by then.
        base = connection.execute(sa.text("SELECT tree_size FROM audit_log_head")).scalar_one()
        events_table = sa.table("audit_events", *[sa.column(c) for c in (
            "log_index", "occurred_at", "tx_id", "actor_id", "actor_name", "action", "entity_type", "entity_id",
            "reason", "canonical", "leaf_hash")])
        filler = b'{"action":"complaint.classify","changes":{"number":[null,"TS-II-26-001"]}}' + b" " * 200
        rows, index = [], base + 10_000_000
        for i in range(1, count + 1):
            for action in ("complaint.registered", "complaint.validity", "complaint.classify", "complaint.investigate",
                           "complaint.assess", "complaint.reply"):
                rows.append({"log_index": index, "occurred_at": now, "tx_id": str(uuid.uuid4()), "actor_id": qa_id,
                             "actor_name": "Bench", "action": action, "entity_type": "complaint", "entity_id": str(i),
                             "reason": None, "canonical": filler, "leaf_hash": b"\x00" * 32})
                index += 1
            if len(rows) >= 30_000:
                connection.execute(sa.insert(events_table), rows)
                rows = []
        if rows:
            connection.execute(sa.insert(events_table), rows)
        connection.exec_driver_sql("ANALYZE")


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    return (f"median {statistics.median(ordered) * 1000:.1f} ms, "
            f"p95 {ordered[int(len(ordered) * 0.95) - 1] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--classifications", type=int, default=800)
    args = parser.parse_args()
    with scratch_postgres() as url:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings({"GMP_INSTANCE_PATH": str(Path(tmp) / "instance"), "DATABASE_URL": url,
                                      "GMP_ENV": "test"})
            upgrade_to_head(url)
            engine = make_engine(url)
            factory = make_session_factory(engine)
            new_uow = lambda: UnitOfWork(factory, settings)  # noqa: E731
            ensure_signing_key(new_uow())
            seed_china_calendar(new_uow(), first_year=2023)
            seed_reference_data(new_uow())  # the SOP class criteria and the time limits, as `gmp init` loads them
            qa = accounts.create_user(new_uow(), actor_id=None, username="bench.qa", printed_name="Bench QA",
                                      roles=["qa_officer"], temporary_password="x" * 16)
            for p in range(20):
                master_data.create_product(new_uow(), {"code": f"P-{p:03d}", "name": f"Product {p}", "strength": "1 g",
                                                       "dosage_form": "tablet"}, actor_id=qa.user_id)
                for b in range(10):
                    master_data.create_batch(new_uow(), {"product_code": f"P-{p:03d}", "batch_no": f"B{p:03d}{b:02d}",
                                                         "manufactured_on": f"2023-{b + 1:02d}-01",
                                                         "expires_on": f"2026-{b + 1:02d}-01"}, actor_id=qa.user_id)
            started = time.perf_counter()
            bulk_load(engine, settings, args.complaints, qa.user_id)
            print(f"loaded {args.complaints:,} complaints and {args.complaints * 6:,} audit events "
                  f"in {time.perf_counter() - started:.0f} s")

            app = create_app(settings)
            actor = Actor(qa.user_id, frozenset({"qa_officer"}))
            rng = random.Random(7)
            list_times, page_times = [], []
            for _ in range(200):
                query = complaint_queries.ComplaintQuery(status=rng.choice(STATUSES), product_code=f"P-{rng.randrange(20):03d}")
                t0 = time.perf_counter()
                rows, _total = complaint_queries.list_complaints(new_uow(), query, limit=50)
                list_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                complaint_queries.get_complaint(new_uow(), rng.randrange(1, args.complaints + 1), roles=actor.roles)
                page_times.append(time.perf_counter() - t0)
            print(f"complaint list (50 rows, status + product filter): {percentiles(list_times)}   (goal p95 < 50 ms)")
            print(f"complaint page (the whole complaint):               {percentiles(page_times)}   (goal p95 < 50 ms)")

            # "Waiting for my signature" with 5,000 of the 100,000 complaints open (issue 12: p95 < 50 ms).
            from gmp_complaints.services import waiting

            with engine.begin() as connection:
                connection.exec_driver_sql("SELECT set_config('gmp.tx', 'benchmark-load', true)")
                connection.exec_driver_sql("UPDATE complaints SET status = 'closed' WHERE mod(id, 20) <> 0")
                connection.exec_driver_sql("ANALYZE complaints")
                open_count = connection.exec_driver_sql(
                    "SELECT count(*) FROM complaints WHERE status <> 'closed'").scalar_one()
            signers = {role: accounts.create_user(new_uow(), actor_id=None, username=f"bench.{role}",
                                                  printed_name=f"Bench {role}", roles=[role],
                                                  temporary_password="x" * 16).user_id for role in ("qp", "qa_head")}
            for role, user_id in signers.items():
                times = []
                for _ in range(60):
                    t0 = time.perf_counter()
                    rows = waiting.waiting_for_signature(new_uow(), user_id=user_id)
                    times.append(time.perf_counter() - t0)
                print(f"waiting for my signature ({role}, {open_count:,} open, {len(rows)} rows shown): "
                      f"{percentiles(times[10:])}   (goal p95 < 50 ms)")

            ids = []
            for _ in range(args.classifications):
                cid = complaint_intake.register_complaint(new_uow(), {
                    "received_on": "2026-03-01", "channel": "phone", "complainant": {"name": "王芳"},
                    "product_code": "P-000", "batch_nos": ["B00000"], "complaint_type": "inner_packaging",
                    "description": "x"}, actor=actor)["id"]
                complaint_steps.record_validity(new_uow(), cid, {"information_complete": True, "substantiated": True},
                                           actor=actor)
                ids.append(cid)
            numbers, barrier = [], threading.Barrier(8)
            engines = [make_engine(url) for _ in range(8)]

            def client(worker: int):
                worker_factory = make_session_factory(engines[worker])
                barrier.wait()
                for cid in ids[worker::8]:
                    numbers.append(complaint_steps.classify(UnitOfWork(worker_factory, settings), cid, {
                        "complaint_class": "I", "rationale": "r", "adr_suspected": False}, actor=actor)["number"])

            threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
            t0 = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - t0
            serials = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
            duplicates = len(serials) - len(set(serials))
            gaps = (serials[-1] - serials[0] + 1 - len(set(serials))) if serials else 0
            print(f"classification, 8 parallel clients: {len(numbers) / elapsed:.0f} numbers/s, "
                  f"duplicates {duplicates}, gaps {gaps}   (goal 0 and 0)")
            for e in engines:
                e.dispose()
            app.extensions["gmp_engine"].dispose()
            engine.dispose()


if __name__ == "__main__":
    main()

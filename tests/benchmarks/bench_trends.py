"""Benchmark (issue 15): the trend report of a year over 100,000 complaints and 1,000,000 distribution rows
on PostgreSQL (target: under 1 s), and the trend page's charts (drawn from the same report).

The bulk data is written with SQL ``generate_series`` under the application's attribution: it is load,
not validated records (four years of complaints on 20 products with 100 batches each; distribution rows
over the same years). The figures are read through the service, as the API does.

Run: .venv/bin/python -m tests.benchmarks.bench_trends [--complaints 100000] [--distributions 1000000]
Prints the median and the slowest of the runs and the ratio to the target.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from audit.service import ensure_signing_key
from gmp_complaints.config import load_settings
from gmp_complaints.db import make_engine, make_session_factory
from gmp_complaints.migrate import upgrade_to_head
from gmp_complaints.services import trends
from gmp_complaints.services.calendars import seed_china_calendar
from gmp_complaints.services.configuration import seed_reference_data
from gmp_complaints.uow import UnitOfWork
from tests.benchmarks.scratch import scratch_postgres

TARGET_SECONDS = 1.0
LOAD = """
SELECT set_config('gmp.tx', 'benchmark-load', true);
INSERT INTO products (code, name, strength, dosage_form, has_expiry, markets, is_demo, created_at)
  SELECT 'BP-' || lpad(g::text, 2, '0'), 'Bench product ' || g, '10 mg', 'tablet', true,
         CASE WHEN g % 4 = 0 THEN 'CN US' ELSE 'CN' END, true, now() FROM generate_series(1, 20) g;
INSERT INTO batches (product_id, batch_no, manufactured_on, expires_on, is_demo, created_at)
  SELECT p.id, 'B' || p.id || '-' || lpad(g::text, 3, '0'), DATE '2022-06-01' + g * 12, DATE '2025-06-01' + g * 12,
         true, now() FROM products p CROSS JOIN generate_series(1, 100) g;
INSERT INTO distributions (batch_id, consignee, quantity, shipped_on, is_export, is_medical_sample, is_demo, created_at)
  SELECT 1 + floor(random() * 2000)::int, 'Consignee ' || (g % 500), 100 + floor(random() * 4900)::int,
         DATE '2023-01-01' + floor(random() * 1460)::int, false, false, true, now()
  FROM generate_series(1, :distributions) g;
INSERT INTO complaints (intake_ref, status, channel, received_on, product_id, complaint_type, complaint_class,
                        original_class, number, description, sample_available, written_confirmation_requested,
                        retention_until, version, is_demo, created_at, classified_on, closed_on)
  SELECT 'B-' || g, CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'under_investigation' END,
         (ARRAY['phone', 'email', 'letter', 'web'])[1 + g % 4], d, 1 + g % 20,
         (ARRAY['adr', 'intrinsic_quality', 'inner_packaging', 'outer_packaging', 'packaging_design', 'other'])[1 + (g * 7) % 6],
         c, c, 'TS-' || c || '-B' || g, 'bench', true, false, d + 400, 3, true, now(), d + 2,
         CASE WHEN g % 3 = 0 THEN d + 20 + g % 40 ELSE NULL END
  FROM (SELECT g, DATE '2023-01-01' + floor(random() * 1430)::int AS d,
               (ARRAY['I', 'II', 'III', 'III', 'II'])[1 + g % 5] AS c FROM generate_series(1, :complaints) g) s;
INSERT INTO complaint_batches (complaint_id, batch_id)
  SELECT id, (product_id - 1) * 100 + 1 + floor(random() * 100)::int FROM complaints;
ANALYZE;
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--distributions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print where one year's report spends its time")
    args = parser.parse_args()
    with scratch_postgres() as url:
        with tempfile.TemporaryDirectory() as tmp:
            upgrade_to_head(url)
            settings = load_settings({"DATABASE_URL": url, "GMP_INSTANCE_PATH": str(Path(tmp) / "instance")})
            engine = make_engine(url)
            factory = make_session_factory(engine)

            def new_uow():
                return UnitOfWork(factory, settings)

            ensure_signing_key(new_uow())
            seed_china_calendar(new_uow(), first_year=2022)
            seed_reference_data(new_uow())
            started = time.perf_counter()
            with engine.begin() as connection:
                for statement in filter(str.strip, LOAD.split(";")):
                    connection.execute(sa.text(statement), {"complaints": args.complaints,
                                                            "distributions": args.distributions})
            print(f"loaded {args.complaints:,} complaints and {args.distributions:,} distribution rows "
                  f"in {time.perf_counter() - started:.1f} s")
            if args.profile:
                import cProfile
                import pstats

                parsed = trends.parse_query({"from": "2025-01-01", "to": "2025-12-31"})
                profiler = cProfile.Profile()
                profiler.runcall(trends.trends, new_uow(), parsed)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
                return
            for label, query in (("year 2025, all products", {"from": "2025-01-01", "to": "2025-12-31"}),
                                 ("year 2025, one product", {"from": "2025-01-01", "to": "2025-12-31",
                                                             "product_code": "BP-04"}),
                                 ("quarter 2026-Q3, all products", {"from": "2026-07-01", "to": "2026-09-30"})):
                parsed = trends.parse_query(query)
                samples, report = [], None
                for _ in range(args.runs):
                    start = time.perf_counter()
                    report = trends.trends(new_uow(), parsed)
                    samples.append(time.perf_counter() - start)
                median = statistics.median(samples)
                print(f"trends, {label}: {report['complaints']:,} complaints, {report['units_distributed']:,} units, "
                      f"{len(report['signals'])} signals; median {median * 1000:.0f} ms, slowest "
                      f"{max(samples) * 1000:.0f} ms; ratio to the 1 s target {median / TARGET_SECONDS:.2f}")
            from gmp_complaints import create_app
            from gmp_complaints.web.trends import charts_for

            app = create_app(settings)
            report = trends.trends(new_uow(), trends.parse_query({"from": "2025-01-01", "to": "2025-12-31"}))
            with app.test_request_context("/trends/"):
                start = time.perf_counter()
                charts = charts_for(report)
                drawn = time.perf_counter() - start
            print(f"charts for the year: {1 + len(charts['u_charts']) + ('pareto' in charts)} SVGs in {drawn * 1000:.0f} ms")
            # The quarterly review: prepared (figures frozen), then its PDF with charts (target: under 5 s).
            from gmp_complaints.domain.roles import Actor, Role
            from gmp_complaints.printing import quarterly_review_pdf
            from gmp_complaints.services import accounts, quarterly_reviews

            officer = accounts.create_user(new_uow(), actor_id=None, username="bench.qa", printed_name="Bench QA",
                                           roles=["qa_officer"], temporary_password="bench-password-0001",
                                           identity_verified=True).user_id
            start = time.perf_counter()
            prepared = quarterly_reviews.prepare(new_uow(), {"quarter": "2026-Q3", "conclusions": "bench"},
                                                 actor=Actor(officer, frozenset({Role.qa_officer})))
            prepare_seconds = time.perf_counter() - start
            samples = []
            with app.app_context():
                for _ in range(3):
                    start = time.perf_counter()
                    pdf = quarterly_review_pdf(quarterly_reviews.review(new_uow(), prepared["id"]), "zh_Hans_CN")
                    samples.append(time.perf_counter() - start)
            median = statistics.median(samples)
            print(f"quarterly review 2026-Q3: prepared in {prepare_seconds * 1000:.0f} ms; report PDF ({len(pdf):,} bytes) "
                  f"median {median:.2f} s, slowest {max(samples):.2f} s; ratio to the 5 s target {median / 5:.2f}")
            app.extensions["gmp_engine"].dispose()
            engine.dispose()


if __name__ == "__main__":
    main()

"""Benchmark (issue 13): the consignee list of a recalled batch with 10,000 distribution rows, on PostgreSQL
(and SQLite), through the JSON API and as CSV, against the regulatory bar (EU GMP 8.22: within minutes;
our target: under 1 s).

The distribution rows come in through the CSV import, as from the ERP (one transfer, audited row by row).
Run: .venv/bin/python -m tests.benchmarks.bench_recall [--rows 10000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.bench_steps import postgres_database, prepare


def distributions_csv(rows: int) -> bytes:
    """``rows`` shipments of batch B0001 to rows/2 consignees (each shipped twice), with contacts."""
    lines = ["product_code,batch_no,consignee,quantity,shipped_on,address,contact,phone,out_of_hours_contact,"
             "is_export,is_medical_sample"]
    for number in range(rows):
        consignee = f"药店 {number // 2:05d}"
        lines.append(f"P-001,B0001,{consignee},{10 + number % 90},2026-0{1 + number % 9}-15,地址 {number},"
                     f"联系人 {number},021-{number:08d},139{number:08d},{'yes' if number % 50 == 0 else 'no'},no")
    return ("\n".join(lines) + "\n").encode()


def run(url: str, instance: Path, rows: int, repeat: int) -> dict:
    from gmp_complaints import create_app
    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.services import accounts, imports
    from gmp_complaints.uow import UnitOfWork

    settings, qa_id = prepare(url, instance)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    result = imports.import_csv(UnitOfWork(factory, settings), kind="distributions", filename="erp.csv",
                                data=distributions_csv(rows), actor_id=qa_id)
    imported_s = time.perf_counter() - started
    assert result.rows_imported == rows, result.problems[:3]
    accounts.change_password(UnitOfWork(factory, settings), username="bench.qa", old_password="x" * 16,
                             new_password="correct-horse-battery-staple", source_ip=None)
    engine.dispose()
    app = create_app(settings)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "bench.qa",
                                                   "password": "correct-horse-battery-staple"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    recall = client.post("/api/v1/recalls", headers=headers, json={
        "batch_nos": ["B0001"], "product_code": "P-001", "level": "II", "depth": "retail", "reason": "bench",
        "safety_hazard": False}).get_json()
    timings: dict[str, list[float]] = {"json": [], "csv": []}
    for _ in range(repeat):
        for kind, path in (("json", f"/api/v1/recalls/{recall['id']}/consignees"),
                           ("csv", f"/api/v1/recalls/{recall['id']}/consignees?format=csv")):
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 200
    lines = len(client.get(f"/api/v1/recalls/{recall['id']}/consignees", headers=headers).get_json()["consignees"])
    app.extensions["gmp_engine"].dispose()
    return {"import_s": imported_s, "lines": lines, **{k: statistics.median(v) for k, v in timings.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {"sqlite": run(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "i1", args.rows, args.repeat)}
        with postgres_database() as (url, _name):
            results["postgresql"] = run(url, Path(tmp) / "i2", args.rows, args.repeat)
    print(f"consignee list of one batch with {args.rows} distribution rows (median of {args.repeat}, through the API)")
    for backend, r in results.items():
        print(f"  {backend:<10} {r['lines']} consignee lines: JSON {r['json'] * 1000:.0f} ms, CSV {r['csv'] * 1000:.0f} ms"
              f"   (goal < 1000 ms)   import of the rows: {r['import_s']:.1f} s")


if __name__ == "__main__":
    sys.exit(main())

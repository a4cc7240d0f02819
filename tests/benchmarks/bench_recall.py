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

from tests.benchmarks.bench_steps import prepare
from tests.benchmarks.scratch import scratch_postgres


def distributions_csv(rows: int) -> bytes:
    """``rows`` shipments of batch B0001 to rows/2 consignees (each shipped twice), with contacts."""
    lines = ["product_code,batch_no,consignee,quantity,shipped_on,address,contact,phone,out_of_hours_contact,"
             "is_export,is_medical_sample"]
    for number in range(rows):
        consignee = f"药店 {number // 2:05d}"
        lines.append(f"P-001,B0001,{consignee},{10 + number % 90},2026-0{1 + number % 9}-15,地址 {number},"
                     f"联系人 {number},021-{number:08d},139{number:08d},{'yes' if number % 50 == 0 else 'no'},no")
    return ("\n".join(lines) + "\n").encode()


def run(url: str, instance: Path, rows: int, repeat: int, notices: int = 30) -> dict:
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
    consignees = client.get(f"/api/v1/recalls/{recall['id']}/consignees", headers=headers).get_json()["consignees"]
    lines = len(consignees)
    # Notices: decided by two signers, then the first notices printed one by one (each a PDF, its hash recorded).
    new_uow = lambda: UnitOfWork(make_session_factory(app.extensions["gmp_engine"]), settings)  # noqa: E731
    for username, role in (("bench.qp", "qp"), ("bench.head", "qa_head")):
        accounts.create_user(new_uow(), actor_id=None, username=username, printed_name=username, roles=[role],
                             temporary_password="x" * 16, identity_verified=True)
        accounts.change_password(new_uow(), username=username, old_password="x" * 16,
                                 new_password="correct-horse-battery-staple", source_ip=None)
        signer = client.post("/api/v1/auth/token", json={"username": username,
                                                         "password": "correct-horse-battery-staple"}).get_json()["token"]
        auth = {"Authorization": f"Bearer {signer}"}
        client.post("/api/v1/auth/esignature-statement", json={"password": "correct-horse-battery-staple"}, headers=auth)
        signed = client.post(f"/api/v1/recalls/{recall['id']}/signatures", headers=auth, json={
            "username": username, "password": "correct-horse-battery-staple", "step": "recall_decision"})
        assert signed.status_code == 201, signed.get_json()
    names = sorted({c["consignee"] for c in consignees})[:notices]
    started = time.perf_counter()
    for name in names:
        response = client.get(f"/api/v1/recalls/{recall['id']}/notice.pdf", query_string={"consignee": name},
                              headers=headers)
        assert response.status_code == 200
    per_notice = (time.perf_counter() - started) / len(names)
    # Every consignee's notice, as the background job prepares them (packs of one PDF per 100 letters).
    from gmp_complaints.job_runner import run_job
    from gmp_complaints.services import jobs

    job = jobs.queue_recall_notices(new_uow(), recall["id"], locale="zh_Hans_CN", actor_id=qa_id)
    started = time.perf_counter()
    finished = run_job(app, job["id"])
    all_notices_s = time.perf_counter() - started
    assert finished["status"] == "done", finished
    app.extensions["gmp_engine"].dispose()
    return {"import_s": imported_s, "lines": lines, "per_notice": per_notice, "all_notices_s": all_notices_s,
            **{k: statistics.median(v) for k, v in timings.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {"sqlite": run(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "i1", args.rows, args.repeat)}
        with scratch_postgres() as url:
            results["postgresql"] = run(url, Path(tmp) / "i2", args.rows, args.repeat)
    print(f"consignee list of one batch with {args.rows} distribution rows (median of {args.repeat}, through the API)")
    for backend, r in results.items():
        print(f"  {backend:<10} {r['lines']} consignee lines: JSON {r['json'] * 1000:.0f} ms, CSV {r['csv'] * 1000:.0f} ms"
              f"   (goal < 1000 ms)   import of the rows: {r['import_s']:.1f} s")
        print(f"  {backend:<10} notice PDF per consignee: {r['per_notice'] * 1000:.0f} ms, so "
              f"{r['per_notice'] * r['lines'] / 60:.1f} min for all {r['lines']} consignees one after another; the "
              f"background job prepared all {r['lines']} in {r['all_notices_s'] / 60:.1f} min "
              f"({r['all_notices_s'] / r['lines'] * 1000:.0f} ms each)")


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark (issue 19): the audit-trail PDF of one complaint with 10,000 audit events.

A complaint is registered and classified through the API; its trail then grows to ``--events`` events through
the product's unit of work (hand-overs of the complaint's owner with a reason, as the recorder seals any event,
1,000 per transaction). The PDF is printed by the product's own function (``printing.complaint_pdf(...,
"audit_trail", ...)``: the complaint's context and trail read from the database, laid out by WeasyPrint in
parts on worker processes, joined, page furniture laid over).

The printing runs in a child process; this process samples the resident memory of that child and all its
descendants (``/proc``) every 20 ms and reports the peak of their sum, next to the bound from ``getrusage``
(the child's own peak plus its largest worker's peak times the workers that run at once).
Goal: under 10 s and under 500 MB in total across all processes.

Run: .venv/bin/python -m tests.benchmarks.bench_audit_trail_pdf [--events 10000]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> int:
    """Bytes resident in ``root`` and every process descended from it, now."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/statm", "rb") as handle:
                rss[int(entry)] = int(handle.read().split()[1]) * PAGE_SIZE
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total


def prepare(instance: Path, events: int) -> int:
    """The complaint and its trail; returns the complaint id."""
    from gmp_complaints import unit_of_work
    from gmp_complaints.domain.events import DomainEvent
    from tests.benchmarks.bench_documents import Client, make_app

    app = make_app(instance)
    client = Client(app)
    client.post("qa_officer", "/products", {"code": "P-001", "name": "阿莫西林胶囊", "strength": "0.25 g",
                                            "dosage_form": "capsule"})
    client.post("qa_officer", "/batches", {"product_code": "P-001", "batch_no": "B2602",
                                           "manufactured_on": "2026-02-10", "expires_on": "2028-02-09"})
    cid = client.post("intake", "/complaints", {
        "received_on": "2026-11-02", "channel": "phone", "product_code": "P-001", "batch_nos": ["B2602"],
        "complainant": {"name": "王芳", "organisation": "仁和大药房", "phone": "13800001234", "email": "wf@example.cn"},
        "complaint_type": "inner_packaging", "description": "瓶盖破裂，胶囊受潮", "sample_available": True})["id"]
    client.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    client.post("qa_officer", f"/complaints/{cid}/classification",
                {"complaint_class": "II", "rationale": "密封缺陷", "adr_suspected": False})
    with app.extensions["gmp_engine"].connect() as connection:
        qa_id = connection.exec_driver_sql("SELECT id FROM users WHERE username = 'li.na'").scalar_one()
    owners = ("liu.yang", "li.na")
    written = 0
    while written < events - 10:  # registration, validity and classification wrote about ten
        uow = unit_of_work(app)
        with uow:
            for n in range(written, min(written + 1000, events - 10)):
                uow.record(DomainEvent("complaint.assigned", "complaint", str(cid),
                                       {"owner": [owners[n % 2], owners[(n + 1) % 2]]},
                                       reason=f"值班交接 shift hand-over {n}", actor_id=qa_id))
            uow.commit()
        written = min(written + 1000, events - 10)
    app.extensions["gmp_engine"].dispose()
    return cid


def child(instance: Path, cid: int) -> None:
    """Print the audit trail as the web page's print button does; report seconds, pages and bytes."""
    from gmp_complaints import create_app
    from gmp_complaints.config import load_settings
    from gmp_complaints.domain.roles import Role
    from gmp_complaints.printing import complaint_pdf
    from gmp_complaints.web import uow

    app = create_app(load_settings({"GMP_INSTANCE_PATH": str(instance), "GMP_ENV": "test",
                                    "GMP_TODAY": "2026-11-20"}))
    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    with app.test_request_context("/"):
        cpu_before = cpu()
        started = time.perf_counter()
        pdf = complaint_pdf(uow(), cid, "audit_trail", None, "zh_Hans_CN", frozenset(Role))
        seconds = time.perf_counter() - started
        cpu_seconds = cpu() - cpu_before
    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(json.dumps({"seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2), "pages": pages, "pdf_bytes": len(pdf),
                      "self_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "largest_worker_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                                                      1)}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), int(args.child[1]))
        return 0
    instance = Path(tempfile.mkdtemp(prefix="gmp-bench-pdf-"))
    started = time.perf_counter()
    cid = prepare(instance, args.events)
    print(f"complaint {cid} with a trail of about {args.events:,} events, written in {time.perf_counter() - started:.0f} s")
    process = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.bench_audit_trail_pdf", "--child",
                                str(instance), str(cid)], stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    output, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        print(output)
        return 1
    figures = json.loads(output.strip().splitlines()[-1])
    workers = min(os.cpu_count() or 1, -(-args.events // 1250))
    bound = figures["self_peak_mb"] + figures["largest_worker_peak_mb"] * workers
    cores = len(os.sched_getaffinity(0))
    print(f"audit-trail PDF: {figures['seconds']} s (CPU {figures['cpu_seconds']} s in all processes: at best "
          f"{figures['cpu_seconds'] / cores:.1f} s on {cores} idle cores), {figures['pages']} pages, {figures['pdf_bytes'] / 1e6:.1f} MB; "
          f"peak resident memory of all processes together {peak / 2**20:.0f} MB (sampled), at most {bound:.0f} MB "
          f"(getrusage: printing process {figures['self_peak_mb']:.0f} MB + {workers} workers x "
          f"{figures['largest_worker_peak_mb']:.0f} MB)   (goal: under 10 s and 500 MB; machine: {os.cpu_count()} "
          f"cores, load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

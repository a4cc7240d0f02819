"""Benchmark (issue 7): printed records with WeasyPrint.

1. Seconds per complaint-file PDF (the handling sheet) for a complaint with 3 replies, 10 attachments
   listed, 6 signatures and about 80 audit events (goal: under 1 s).
2. The audit-trail PDF of 10,000 events: seconds and peak memory of the rendering process (goal: under
   20 s and 500 MB). Rendered in a child process so its peak resident memory is its own.

Run: .venv/bin/python -m tests.benchmarks.bench_documents [--repeat 5] [--events 10000]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

PASSWORD = "Benchmark-Passw0rd-2026"


def make_app(instance: Path):
    from audit.service import ensure_signing_key
    from gmp_complaints import create_app, unit_of_work
    from gmp_complaints.config import load_settings
    from gmp_complaints.migrate import upgrade_to_head
    from gmp_complaints.services.calendars import seed_china_calendar
    from gmp_complaints.services.configuration import seed_reference_data

    settings = load_settings({"GMP_INSTANCE_PATH": str(instance), "GMP_ENV": "test", "GMP_TODAY": "2026-11-20"})
    upgrade_to_head(settings.database_url)
    app = create_app(settings)
    ensure_signing_key(unit_of_work(app))
    seed_china_calendar(unit_of_work(app), first_year=2025)
    seed_reference_data(unit_of_work(app))
    return app


class Client:
    def __init__(self, app):
        from gmp_complaints import unit_of_work
        from gmp_complaints.services import accounts

        self.http, self.tokens, self.names = app.test_client(), {}, {}
        for username, role in (("wang.fang", "intake"), ("li.na", "qa_officer"), ("zhang.wei", "investigator"),
                               ("liu.yang", "qa_head"), ("chen.jing", "qp")):
            accounts.create_user(unit_of_work(app), actor_id=None, username=username, printed_name=username.title(),
                                 roles=[role], temporary_password="temporary-password-0001", identity_verified=True)
            accounts.change_password(unit_of_work(app), username=username, old_password="temporary-password-0001",
                                     new_password=PASSWORD, source_ip=None)
            self.tokens[role] = self.http.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD}
                                               ).get_json()["token"]
            self.names[role] = username
            if role != "intake":
                self.post(role, "/auth/esignature-statement", {"password": PASSWORD})

    def post(self, who, path, body=None, **kwargs):
        response = self.http.post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"},
                                  **kwargs)
        assert response.status_code < 300, (path, response.get_json())
        return response.get_json()

    def sign(self, who, cid, step, **extra):
        return self.post(who, f"/complaints/{cid}/signatures",
                         {"step": step, "username": self.names[who], "password": PASSWORD, **extra})


def build_complaint(client: Client) -> int:
    """3 replies (two challenges), 10 attachments, 6 signatures, ~80 audit events."""
    client.post("qa_officer", "/products", {"code": "P-001", "name": "阿莫西林胶囊", "strength": "0.25 g",
                                            "dosage_form": "capsule"})
    client.post("qa_officer", "/batches", {"product_code": "P-001", "batch_no": "B2602",
                                           "manufactured_on": "2026-02-10", "expires_on": "2028-02-09"})
    cid = client.post("intake", "/complaints", {
        "received_on": "2026-11-02", "channel": "phone", "product_code": "P-001", "batch_nos": ["B2602"],
        "complainant": {"name": "王芳", "organisation": "仁和大药房", "phone": "13800001234", "email": "wf@example.cn"},
        "complaint_type": "inner_packaging", "description": "瓶盖破裂，胶囊受潮", "sample_available": True})["id"]
    for n in range(10):
        client.http.post(f"/api/v1/complaints/{cid}/attachments", headers={
            "Authorization": f"Bearer {client.tokens['intake']}"},
            data={"file": (io.BytesIO(b"%PDF-1.4 evidence " + str(n).encode()), f"photo-{n}.pdf")})
    client.post("intake", f"/complaints/{cid}/acknowledgement", {"sent_on": "2026-11-03", "method": "phone"})
    client.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    client.post("qa_officer", f"/complaints/{cid}/classification",
                {"complaint_class": "II", "rationale": "密封缺陷", "adr_suspected": False, "criteria": ["II.seal_defect"]})
    client.sign("qp", cid, "qp_acknowledgement")
    client.post("qa_head", f"/complaints/{cid}/regrading", {"complaint_class": "III", "reason": "仅外观问题",
                                                           "username": "liu.yang", "password": PASSWORD})
    client.sign("qp", cid, "qp_acknowledgement")  # the new class: acknowledged again
    client.post("investigator", f"/complaints/{cid}/extension-requests",
                {"kind": "investigation", "new_due_on": "2026-12-31", "reason": "稳定性试验"})
    client.sign("qa_head", cid, "extension_approval")
    for n in range(36):  # the owner changes hands (ends with the QA officer: the QA head closes) now and then: events of realistic size
        client.post("qa_officer", f"/complaints/{cid}/assignment",
                    {"owner": ("liu.yang", "li.na")[n % 2], "reason": f"值班交接 {n}"})
    for round_ in range(3):
        client.post("investigator", f"/complaints/{cid}/investigation", {
            "root_cause": f"封口压力偏低（第 {round_ + 1} 轮）", "impact": "仅本批", "other_batches_affected": "无",
            "substantiated": True, "checklist": {"batch_records": {"outcome": "done", "note": "无偏差"}}})
        client.post("qa_officer", f"/complaints/{cid}/assessment", {
            "reasonable": False, "actions": [], "adr_confirmed": False, "regulator_report_required": False})
        client.post("qa_officer", f"/complaints/{cid}/replies", {"replied_on": "2026-11-20", "summary": "调查结果" * 20})
        client.post("intake", f"/complaints/{cid}/customer-responses", {
            "received_on": "2026-11-20", "satisfied": round_ == 2, "text": "满意" if round_ == 2 else "仍有疑问"})
    client.sign("qp", cid, "qp_acknowledgement", subject="investigation")
    client.sign("qa_head", cid, "audit_trail_review")
    client.post("qa_head", f"/complaints/{cid}/closure", {"username": "liu.yang", "password": PASSWORD})
    return cid


def bench_complaint_file(app, cid: int, repeat: int) -> dict:
    from gmp_complaints.domain.roles import Role
    from gmp_complaints.printing import complaint_pdf
    from gmp_complaints.services.documents import complaint_context
    from gmp_complaints.web import uow

    with app.test_request_context("/"):
        context = complaint_context(uow(), cid, frozenset(Role))
        facts = {"replies": len(context["c"]["replies"]), "attachments": len(context["c"]["attachments"]),
                 "signatures": len(context["c"]["signatures"]), "audit_events": len(context["events"])}
        complaint_pdf(uow(), cid, "handling_sheet", None, "zh_Hans_CN", frozenset(Role))  # warm: fonts, templates
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            data = complaint_pdf(uow(), cid, "handling_sheet", None, "zh_Hans_CN", frozenset(Role))
            times.append(time.perf_counter() - started)
    return {**facts, "pdf_bytes": len(data), "seconds_median": round(statistics.median(times), 3),
            "seconds_max": round(max(times), 3)}


def audit_trail_child(events: int) -> None:
    """In a child process: render an audit-trail PDF of ``events`` synthetic events; print figures."""
    from audit.service import EventView
    from gmp_complaints.documents import render_audit_trail

    instance = Path(tempfile.mkdtemp())
    app = make_app(instance)
    start = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
    rows = [EventView(i, start + timedelta(minutes=i), 2, "李娜 Li Na", "complaint.investigate", "complaint", "1",
                      {"root_cause": [None, f"封口压力偏低 {i}"], "version": [i, i + 1]}, None, None)
            for i in range(events)]
    from gmp_complaints.audit_text import action_label, readable_changes, record_label
    from gmp_complaints.i18n import signature_labels

    with app.test_request_context("/"):
        context = {"doc_title": "审计追踪", "record_number": "TS-II-26-001", "record_version": 9,
                   "printed_at": "2026-11-20 10:00:00 +08:00", "site_name": "质量部", "events": rows,
                   "critical": {i: ["root_cause"] for i in range(0, events, 7)}, "site_timezone": "Asia/Shanghai",
                   "action_label": action_label, "record_label": record_label, "readable_changes": readable_changes,
                   "sign_labels": signature_labels()}
        started = time.perf_counter()
        pdf = render_audit_trail(context, locale="zh_Hans_CN").pdf
        seconds = time.perf_counter() - started
    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    # the process and its worker processes: the largest worker times the workers running at once
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"events": events, "seconds": round(seconds, 2), "pages": pages, "pdf_bytes": len(pdf),
                      "peak_rss_mb_main": round(own, 1), "peak_rss_mb_per_worker": round(worker, 1),
                      "peak_rss_mb_total": round(own + worker * min(2, os.cpu_count() or 1), 1)}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--child-audit-trail", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_audit_trail:
        audit_trail_child(args.child_audit_trail)
        return 0
    app = make_app(Path(tempfile.mkdtemp()))
    client = Client(app)
    cid = build_complaint(client)
    sheet = bench_complaint_file(app, cid, args.repeat)
    print(f"complaint file PDF: {sheet}  (goal: under 1 s)")
    child = subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_documents", "--child-audit-trail",
                            str(args.events)], capture_output=True, text=True, check=True)
    trail = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"audit-trail PDF: {trail}  (goal: under 20 s and 500 MB)")
    app.extensions["gmp_engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

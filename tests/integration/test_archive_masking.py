"""Archives and archive job results honour the masking of the pages (SEC-11, issue 19): the QP and the auditor get a
masked package (every file of it, the nested audit bundle included, free of the complainant's name, phone and e-mail
and of the ADR case texts), signed and verified as a package of its own; QA gets it in clear; a job result made in
clear is refused to a reader without access to personal data. SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from tests.conftest import login
from tests.integration.test_complaints_api import api, assign_investigator, registration, settings  # noqa: F401
from tests.integration.test_signatures import TODAY, _env_of, sign

PERSON = {"name": "欧阳娜娜", "organisation": None, "phone": "+86 139-8765-4321", "email": "nana.ouyang@patient-mail.cn"}
CASE = {"aware_on": "2026-11-01", "seriousness": "hospitalisation", "unexpected": False,
        "reporter": "李医生，仁和医院 021-5555 0188", "patient": "女，67 岁，首字母 W.F.",
        "reaction": "服药后两小时出现全身荨麻疹，住院两天"}
#: what no file of a masked package may hold (compared with white space removed: table cells wrap)
PERSONAL = ("欧阳娜娜", "139-8765-4321", "13987654321", "nana.ouyang", "李医生", "021-5555", "67岁", "W.F.", "荨麻疹")
GMP = Path(sys.executable).with_name("gmp")


@pytest.fixture
def closed_with_personal_data(app, api, client, make_user, page_of):
    """A closed complaint from a person (no organisation: the letters are addressed to her by name), with an ADR
    hand-off accepted and submitted by PV, an attachment and the reply letter kept as sent."""
    _, password = make_user("sun.li", "pv_officer", identity_verified=True)
    api.tokens["pv_officer"] = client.post("/api/v1/auth/token",
                                           json={"username": "sun.li", "password": password}).get_json()["token"]
    cid = api.ok("qa_officer", "/complaints", registration(complainant=PERSON), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification", {"complaint_class": "III", "rationale": "r",
                                                                "adr_suspected": False})
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/assessment",
           {"reasonable": False, "actions": [], "adr_confirmed": False, "regulator_report_required": False})
    api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})
    api.ok("qa_officer", f"/complaints/{cid}/adr", CASE, 201)
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": TODAY, "satisfied": True, "text": "满意"})
    accepted = api.ok("pv_officer", f"/complaints/{cid}/adr/1/acceptance", {})["adr"]
    api.ok("pv_officer", f"/complaints/{cid}/adr/1/submission",
           {"case_number": "CN-2026-0042", "submitted_at": accepted["cases"][0]["accepted_at"]})
    upload = api.client.post(f"/api/v1/complaints/{cid}/attachments",
                             data={"file": (io.BytesIO(b"%PDF-1.4 photo of the cap"), "cap.pdf")},
                             headers={"Authorization": f"Bearer {api.tokens['intake']}"})
    assert upload.status_code == 201
    # The investigator's print comes first: masked for her, and not kept as the letter sent.
    investigator = page_of("investigator").get(f"/complaints/{cid}/documents/reply.pdf?n=1")
    assert investigator.status_code == 200 and "欧***" in pdf_text(investigator.data)
    letter = page_of("qa_officer").get(f"/complaints/{cid}/documents/reply.pdf?n=1")  # kept as sent
    assert letter.status_code == 200 and "欧阳娜娜" in pdf_text(letter.data)
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    return cid


@pytest.fixture
def page_of(app, api):
    """A logged-in page client of a role, one per role and test (a log-in costs an Argon2 hash)."""
    clients = {}

    def page(role):
        if role not in clients:
            clients[role] = app.test_client()
            assert login(clients[role], *api.credentials[role]).status_code == 302
        return clients[role]
    return page


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def everything_in(package: bytes) -> dict[str, str]:
    """Every file of a zip as text, nested zips opened: PDFs by their extracted text (and raw bytes), JSON with its
    escapes undone, white space removed."""
    texts = {}
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            if name.endswith(".zip"):
                texts.update({f"{name}!{inner}": text for inner, text in everything_in(data).items()})
                continue
            text = data.decode("utf-8", errors="replace")
            if data.startswith(b"%PDF") and name.startswith("documents/"):
                text += pdf_text(data)
            for line in text.splitlines():
                try:
                    text += json.dumps(json.loads(line), ensure_ascii=False)
                except ValueError:
                    pass
            if name.endswith(".json"):
                text += json.dumps(json.loads(data), ensure_ascii=False)
            texts[name] = "".join(text.split())
    return texts


def leaks(package: bytes) -> list[tuple[str, str]]:
    return [(name, value) for name, text in everything_in(package).items() for value in PERSONAL if value in text]


def manifest_of(package: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return json.loads(archive.read("manifest.json"))


@pytest.mark.req("SEC-11", "REC-17")
def test_the_qp_and_the_auditor_get_a_masked_archive_that_verifies_and_qa_gets_it_in_clear(
        app, api, closed_with_personal_data, page_of, tmp_path):
    from gmp_complaints.archive import verify_archive

    cid = closed_with_personal_data
    packages = {}
    for role in ("qp", "auditor", "qa_head"):
        response = page_of(role).get(f"/complaints/{cid}/archive.zip")
        assert response.status_code == 200, role
        packages[role] = response.data
        assert verify_archive(response.data).ok, role
    for role in ("qp", "auditor"):
        assert leaks(packages[role]) == [], role
        manifest = manifest_of(packages[role])
        assert manifest["personal_data"] == "masked"
        # The reply letter as sent is addressed to her by name: printed again masked, the copy sent named by hash.
        assert set(manifest["letters_as_sent"]) == {"documents/reply-1.pdf"}
        texts = everything_in(packages[role])
        assert "欧***" in texts["documents/intake_form.pdf"] and "*********4321" in texts["documents/intake_form.pdf"]
        assert "n***@patient-mail.cn" in texts["documents/intake_form.pdf"]
        assert "欧***" in texts["documents/reply-1.pdf"]
    assert manifest_of(packages["qa_head"])["personal_data"] == "clear"
    assert {"欧阳娜娜", "nana.ouyang", "139-8765-4321"} <= {value for _name, value in leaks(packages["qa_head"])}
    assert "letters_as_sent" not in manifest_of(packages["qa_head"])
    # The pages print the letter sent in clear for QA only; the QP and the auditor get it masked.
    sent = page_of("qa_head").get(f"/complaints/{cid}/documents/reply.pdf?n=1").data
    assert "欧阳娜娜" in pdf_text(sent)
    for role in ("qp", "auditor"):
        reprint = page_of(role).get(f"/complaints/{cid}/documents/reply.pdf?n=1").data
        assert "欧阳娜娜" not in pdf_text(reprint) and "欧***" in pdf_text(reprint)
        assert page_of("qa_head").get(f"/complaints/{cid}/documents/reply.pdf?n=1").data == sent
    # The masked package is checked by the verifier the customer runs, and a clear file put into it fails.
    masked = tmp_path / "masked.zip"
    made = subprocess.run([str(GMP), "archive", "create", str(cid), "--out", str(masked), "--masked"],
                          capture_output=True, text=True, env={**os.environ, **_env_of(app)})
    assert made.returncode == 0, made.stdout + made.stderr
    assert leaks(masked.read_bytes()) == [] and manifest_of(masked.read_bytes())["personal_data"] == "masked"
    verified = subprocess.run([str(GMP), "archive", "verify", str(masked)], capture_output=True, text=True)
    assert verified.returncode == 0 and "personal data masked" in verified.stdout, verified.stdout + verified.stderr
    with zipfile.ZipFile(io.BytesIO(packages["qa_head"])) as clear, zipfile.ZipFile(masked) as source:
        swapped = tmp_path / "swapped.zip"
        with zipfile.ZipFile(swapped, "w") as target:
            for name in source.namelist():
                target.writestr(name, clear.read(name) if name == "documents/intake_form.pdf" else source.read(name))
    failed = subprocess.run([str(GMP), "archive", "verify", str(swapped)], capture_output=True, text=True)
    assert failed.returncode == 1 and "documents/intake_form.pdf: SHA-256 differs" in failed.stdout
    # Each handing-out is on record with the variant handed out.
    events = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    handed = [((e["actor"] or {}).get("name"), e["changes"]["personal_data"][1]) for e in events
              if e["action"] == "complaint.archived"]
    assert handed[:3] == [("Chen.Jing Tester", "masked"), ("Zhao.Lei Tester", "masked"), ("Liu.Yang Tester", "clear")]
    assert handed[3][1] == "masked"  # the console's package
    # The whole audit trail, as the auditor exports it (bundle and CSV view), never held her contact or the ADR texts:
    # both are left out of the trail by design, so its sealed events need no masked variant.
    auditor = page_of("auditor")
    bundle = auditor.get("/audit/export.zip").data
    assert leaks(bundle) == [] and "CN-2026-0042" in everything_in(bundle)["events.jsonl"]  # the PV case is in it
    trail_csv = "".join(auditor.get("/audit/events.csv").get_data(as_text=True).split())
    assert [value for value in PERSONAL if value in trail_csv] == [] and "CN-2026-0042" in trail_csv


def run_archive_job_as(page_of, role) -> tuple[int, object]:
    """Start the year's archive job from the ledger page as ``role`` and wait for the background thread."""
    from tests.conftest import csrf_token

    page = page_of(role)
    started = page.post("/jobs/archives", data={"year": "2026", "csrf_token": csrf_token(page, "/complaints/ledger")})
    assert started.status_code == 302, started.data[:300]
    job_id = int(started.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    for _ in range(600):
        status = page.get(f"/jobs/{job_id}/progress").get_json()["status"]
        if status in ("done", "failed"):
            break
        time.sleep(0.1)
    assert status == "done"
    shown = page.get(f"/jobs/{job_id}")
    assert shown.status_code == 200 and 'id="job-personal-data"' in shown.get_data(as_text=True)
    return job_id, page


def business_state(app, job_id):
    with app.extensions["gmp_engine"].connect() as connection:
        job = connection.execute(sa.text("SELECT status, result_file, result_sha256, parameters FROM jobs "
                                         "WHERE id = :id"), {"id": job_id}).one()
        events = connection.execute(sa.text("SELECT log_index, action FROM audit_events WHERE action NOT LIKE "
                                            "'user.%' ORDER BY log_index")).all()
    return job, events


@pytest.mark.req("SEC-11")
def test_the_yearly_archive_job_result_is_masked_for_the_qp_and_a_clear_one_is_refused_to_the_auditor(
        app, api, closed_with_personal_data, page_of):
    from gmp_complaints.archive import verify_archive

    masked_job, qp = run_archive_job_as(page_of, "qp")
    result = qp.get(f"/jobs/{masked_job}/result")
    assert result.status_code == 200
    with zipfile.ZipFile(io.BytesIO(result.data)) as bundle:
        [package_name] = [n for n in bundle.namelist() if n != "index.json"]
        package = bundle.read(package_name)
        assert json.loads(bundle.read("index.json"))["masked"] is True
    assert leaks(result.data) == [] and verify_archive(package).ok
    assert manifest_of(package)["personal_data"] == "masked"
    assert page_of("auditor").get(f"/jobs/{masked_job}/result").status_code == 200  # masked: anyone allowed

    clear_job, qa_head = run_archive_job_as(page_of, "qa_head")
    clear = qa_head.get(f"/jobs/{clear_job}/result")
    assert clear.status_code == 200 and "欧阳娜娜" in "".join(everything_in(clear.data).values())
    before = business_state(app, clear_job)
    for role in ("qp", "auditor"):
        refused = page_of(role).get(f"/jobs/{clear_job}/result")
        assert refused.status_code == 403 and "欧阳娜娜".encode() not in refused.data, role
    assert business_state(app, clear_job) == before
    assert page_of("qa_officer").get(f"/jobs/{clear_job}/result").data == clear.data
    # Each handing-out of a result is on record, with the file's SHA-256; the refused ones left nothing.
    takers = {job_id: [(e["actor"]["name"], e["changes"]["file_sha256"][1])
                       for e in api.get("auditor", f"/audit/events?entity=job:{job_id}").get_json()["events"]
                       if e["action"] == "job.result_downloaded"] for job_id in (masked_job, clear_job)}
    masked_sha, clear_sha = hashlib.sha256(result.data).hexdigest(), hashlib.sha256(clear.data).hexdigest()
    assert takers == {masked_job: [("Chen.Jing Tester", masked_sha), ("Zhao.Lei Tester", masked_sha)],
                      clear_job: [("Liu.Yang Tester", clear_sha), ("Li.Na Tester", clear_sha)]}
    # A result file changed on disk is not handed out as the job's.
    stored = app.config["GMP_SETTINGS"].instance_path / "exports" / f"job-{clear_job}-archives.zip"
    stored.write_bytes(stored.read_bytes() + b"\0")
    assert page_of("qa_head").get(f"/jobs/{clear_job}/result").status_code == 409

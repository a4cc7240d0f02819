"""Hostile values in exports (issue 19): a consignee named like a spreadsheet formula comes out of the consignee list
(CSV and XLSX) and of the audit trail's CSV view as text that no spreadsheet runs, while the audit bundle's
canonical event lines keep the value exactly as recorded; attachment names with path parts never become zip entry
names with path parts. SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from tests.conftest import login
from tests.integration.test_complaints_api import api, settings  # noqa: F401
from tests.integration.test_recalls import proposal
from tests.integration.test_signatures import replied_and_satisfied, sign

FORMULA = '=cmd|" /C calc"!A0'
AT_SIGN = "@SUM(1+1)*cmd|' /C calc'!A0"


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8").lstrip("\ufeff"))))


@pytest.mark.req("HO-09", "AT-06")
def test_a_formula_in_a_consignee_is_text_in_every_spreadsheet_export_and_exact_in_the_audit_bundle(
        app, api, client, make_user):
    from openpyxl import load_workbook

    _, password = make_user("zhou.min", "recall_coordinator", identity_verified=True)
    api.tokens["recall_coordinator"] = client.post(
        "/api/v1/auth/token", json={"username": "zhou.min", "password": password}).get_json()["token"]
    for consignee, quantity, extra in ((FORMULA, 1200, {"phone": "+86 21 5555 0101"}), (AT_SIGN, 300, {}),
                                       ("仁和大药房", 40, {"contact": "-陈经理"})):
        api.ok("qa_officer", "/distributions", {"product_code": "P-001", "batch_no": "B2602", "consignee": consignee,
                                                "quantity": quantity, "shipped_on": "2026-03-01", **extra}, 201)
    rid = api.ok("qa_officer", "/recalls", proposal(level="III"), 201)["id"]
    headers = {"Authorization": f"Bearer {api.tokens['recall_coordinator']}"}

    exported = api.client.get(f"/api/v1/recalls/{rid}/consignees?format=csv", headers=headers)
    rows = {row[0]: row for row in csv_rows(exported.data)[1:]}
    assert set(rows) == {"'" + FORMULA, "'" + AT_SIGN, "仁和大药房"}
    assert rows["'" + FORMULA][2] == "1200" and rows["'" + FORMULA][7] == "'+86 21 5555 0101"
    assert rows["仁和大药房"][6] == "'-陈经理"

    sheet = load_workbook(io.BytesIO(api.client.get(f"/api/v1/recalls/{rid}/consignees?format=xlsx",
                                                    headers=headers).data)).active
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=3)}
    assert set(cells) == {FORMULA, AT_SIGN, "仁和大药房"}  # the exact text, shown as text
    for text in (FORMULA, AT_SIGN):
        assert (cells[text][0].data_type, cells[text][0].quotePrefix) == ("s", True)
        assert cells[text][2].data_type == "n"

    inspector = app.test_client()
    assert login(inspector, *api.credentials["auditor"]).status_code == 302
    trail = csv_rows(inspector.get("/audit/events.csv").data)
    new_values = {row[7] for row in trail[1:]}
    assert {"'" + FORMULA, "'" + AT_SIGN} <= new_values and FORMULA not in new_values
    # The bundle's events are the sealed canonical lines: the value as recorded, never rewritten for a spreadsheet.
    with zipfile.ZipFile(io.BytesIO(inspector.get("/audit/export.zip").data)) as bundle:
        lines = [json.loads(line) for line in bundle.read("events.jsonl").splitlines()]
    recorded = {json.dumps(line, ensure_ascii=False) for line in lines
                if (line.get("entity") or {}).get("type") == "distribution"}
    assert any(json.dumps(FORMULA, ensure_ascii=False) in line for line in recorded)
    assert not any(json.dumps("'" + FORMULA, ensure_ascii=False) in line for line in recorded)


HOSTILE_NAMES = ("../../etc/passwd.pdf", "..\\..\\x.pdf", "/abs/path/report.pdf", "C:\\Windows\\evil.pdf",
                 "../report.pdf", "report.pdf", "x" * 250 + ".pdf", ".hidden.pdf")


@pytest.mark.req("REC-17")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_attachment_names_with_path_parts_become_plain_distinct_entry_names(app, api):
    from gmp_complaints.archive import verify_archive

    cid = replied_and_satisfied(api)
    for number, name in enumerate(HOSTILE_NAMES):
        upload = api.client.post(f"/api/v1/complaints/{cid}/attachments",
                                 data={"file": (io.BytesIO(b"%%PDF-1.4 file %d" % number), name)},
                                 headers={"Authorization": f"Bearer {api.tokens['intake']}"})
        assert upload.status_code == 201, (name, upload.get_json())
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    reader = app.test_client()
    assert login(reader, *api.credentials["qa_head"]).status_code == 302
    package = reader.get(f"/complaints/{cid}/archive.zip")
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        names = archive.namelist()
        attachments = {n: archive.read(n) for n in names if n.startswith("attachments/")}
    # One entry per file, each with the bytes uploaded, none a path.
    assert sorted(attachments.values()) == sorted(b"%%PDF-1.4 file %d" % n for n in range(len(HOSTILE_NAMES)))
    for name in names:
        folder, _, last = name.rpartition("/")
        assert folder in ("", "attachments", "documents", "audit"), name
        assert ".." not in name.split("/") and "\\" not in name and ":" not in name, name
        assert not last.startswith(".") and len(last) <= 100, name
    assert sum(n.endswith("-report.pdf") for n in attachments) == 3  # three files of one name, three entries
    assert any(n.endswith("-passwd.pdf") for n in attachments) and any(n.endswith("-x.pdf") for n in attachments)
    assert verify_archive(package.data).ok

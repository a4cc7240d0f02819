"""The annual product review extract (TR-03; 21 CFR 211.180(e)): per product and year, complaints,
recalls, returns, ADR hand-offs and CAPAs with their outcomes, as JSON, PDF and XLSX; the same query gives
the same bytes, and every extract is audited with its SHA-256. SQLite and PostgreSQL."""
import hashlib
import io
import json

import pytest

from tests.integration.test_complaints_api import api, capa_body, registration, settings  # noqa: F401
from tests.integration.test_pharmacovigilance import CASE, pv_api, rows  # noqa: F401
from tests.integration.test_trends import complaint


@pytest.fixture
def year_of_records(pv_api):
    api = pv_api
    first = complaint(api, "2026-03-10", klass="II")
    second = complaint(api, "2026-10-05", complaint_type="adr", klass="III")
    complaint(api, "2025-12-30", klass="III")  # the year before: not in the 2026 extract
    api.ok("intake", f"/complaints/{second['id']}/adr", {**CASE, "aware_on": "2026-10-05"}, 201)
    from tests.integration.test_complaints_api import assign_investigator

    assign_investigator(api, first["id"])
    api.ok("investigator", f"/complaints/{first['id']}/investigation", {
        "root_cause": "封口机压力偏低", "impact": "本批", "other_batches_affected": "无", "substantiated": True})
    api.ok("qa_officer", f"/complaints/{first['id']}/assessment", {
        "reasonable": True, "actions": [], "adr_confirmed": False, "regulator_report_required": False})
    capa = api.ok("qa_officer", "/capas", capa_body(first["id"]), 201)
    return {"first": first, "second": second, "capa": capa}


@pytest.mark.req("TR-03")
def test_the_extract_lists_the_years_records_and_reruns_to_the_same_bytes(app, pv_api, year_of_records):
    from openpyxl import load_workbook

    api = pv_api
    extract = api.get("qa_head", "/products/P-001/annual-review?year=2026").get_json()
    assert (extract["product"]["code"], extract["year"]) == ("P-001", 2026)
    assert extract["summary"] == {"complaints": 2, "recalls": 0, "returns": 0, "adr_cases": 1, "capas": 1}
    first = extract["complaints"][0]
    assert (first["number"], first["root_cause"], first["reasonable"], first["capas"]) == (
        year_of_records["first"]["number"], "封口机压力偏低", True, [year_of_records["capa"]["number"]])
    assert extract["adr_cases"][0]["seriousness"] == "hospitalisation"
    assert extract["capas"][0]["complaints"] == [year_of_records["first"]["number"]]
    for form in ("json", "pdf", "xlsx"):
        one = api.get("qa_head", f"/products/P-001/annual-review?year=2026&format={form}")
        two = api.get("qa_head", f"/products/P-001/annual-review?year=2026&format={form}")
        assert one.status_code == 200 and one.data == two.data, form  # the same query, the same bytes
    pdf = api.get("qa_head", "/products/P-001/annual-review?year=2026&format=pdf").data
    assert pdf.startswith(b"%PDF")
    book = load_workbook(io.BytesIO(api.get("qa_head", "/products/P-001/annual-review?year=2026&format=xlsx").data))
    assert book.sheetnames == ["complaints", "recalls", "returns", "adr_cases", "capas"]
    assert [c.value for c in book["complaints"][3]][:2] == [first["number"], first["intake_ref"]]
    exports = [json.loads(canonical)["changes"] for (canonical,) in rows(
        app, "SELECT canonical FROM audit_events WHERE action = 'product.annual_review_exported' ORDER BY log_index")]
    assert len(exports) == 9 and {e["data_sha256"][1] for e in exports} == {extract["data_sha256"]}
    assert exports[-1]["file_sha256"][1] == hashlib.sha256(
        api.get("qa_head", "/products/P-001/annual-review?year=2026&format=xlsx").data).hexdigest()
    # A change to the records changes the data digest.
    api.ok("qa_officer", "/capas", capa_body(year_of_records["first"]["id"]), 201)
    changed = api.get("qa_head", "/products/P-001/annual-review?year=2026").get_json()
    assert changed["summary"]["capas"] == 2 and changed["data_sha256"] != extract["data_sha256"]


def test_bad_input_names_the_field(pv_api):
    api = pv_api
    for query, field in (("?year=twenty", "year"), ("?year=1899", "year"), ("", "year"),
                         ("?year=2026&format=docx", "format")):
        response = api.get("qa_head", f"/products/P-001/annual-review{query}")
        assert response.status_code == 400 and field in response.get_json()["error"]["fields"], query
    assert api.get("qa_head", "/products/NOPE/annual-review?year=2026").status_code == 404
    empty = api.get("qa_head", "/products/P-001/annual-review?year=2020").get_json()
    assert empty["summary"] == {"complaints": 0, "recalls": 0, "returns": 0, "adr_cases": 0, "capas": 0}

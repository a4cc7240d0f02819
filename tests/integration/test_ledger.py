"""The complaint ledger (客户质量投诉处理台账): every number of the year, voided ones with their reason,
as CSV and XLSX, and no unexplained gaps. SQLite and PostgreSQL."""
import io

import pytest

from tests.conftest import login
from tests.integration.test_complaints_api import api, settings  # noqa: F401
from tests.integration.test_signatures import classified, sign


@pytest.mark.req("REC-05", "AT-04", "REC-06")
def test_the_ledger_lists_every_number_with_voids_and_reports_no_gaps(app, api):
    first, second, third = classified(api, "II"), classified(api, "II"), classified(api, "I")
    api.ok("qa_officer", f"/complaints/{second}/void-requests", {"reason": "重复登记"})
    assert sign(api, "qa_head", second, "void_approval", comment="同意").status_code == 201
    data = api.get("auditor", "/ledger?year=2026").get_json()
    assert [r["number"] for r in data["rows"]] == ["TS-I-26-001", "TS-II-26-001", "TS-II-26-002"]
    void = next(r for r in data["rows"] if r["number"] == "TS-II-26-002")
    assert void["status"] == "void" and void["void_reason"] == "重复登记"
    assert data["gaps"] == [] and data["issued"] == 3
    only_void = api.get("auditor", "/ledger?year=2026&status=void").get_json()
    assert [r["number"] for r in only_void["rows"]] == ["TS-II-26-002"] and only_void["gaps"] == []
    assert api.get("auditor", "/ledger?year=abc").status_code == 400


@pytest.mark.req("VAL-03", "REC-06")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_number_taken_by_no_complaint_shows_as_an_unexplained_gap(app, api, uow_factory):
    from gmp_complaints.services.numbering import take_serial

    classified(api, "II")
    unit = uow_factory()
    with unit:  # a serial taken outside a classification (what the gap check exists to catch)
        take_serial(unit, "TS:II-26")
        unit.session.commit()
    classified(api, "II")
    data = api.get("auditor", "/ledger?year=2026").get_json()
    assert data["gaps"] == ["TS-II-26-002"]


@pytest.mark.req("REC-06")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_ledger_downloads_as_csv_and_xlsx_and_the_export_is_recorded(app, api):
    from openpyxl import load_workbook

    classified(api, "III")
    client = app.test_client()
    login(client, *api.credentials["qa_officer"])
    page = client.get("/complaints/ledger?year=2026").get_data(as_text=True)
    assert "TS-III-26-001" in page and "ledger-no-gaps" in page
    csv_text = client.get("/complaints/ledger.csv?year=2026").data.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("投诉编号,原始级别") and "TS-III-26-001" in csv_text
    english = client.get("/complaints/ledger.csv?year=2026&lang=en").data.decode("utf-8-sig")
    assert english.splitlines()[0].startswith("Complaint number,Original class")
    book = load_workbook(io.BytesIO(client.get("/complaints/ledger.xlsx?year=2026").data))
    sheet = book["2026"]
    assert sheet["A1"].value == "客户质量投诉处理台账 2026" and sheet["A3"].value == "TS-III-26-001"
    exports = [e for e in api.get("auditor", "/audit/events").get_json()["events"] if e["action"] == "ledger.exported"]
    assert [e["changes"]["format"][1] for e in exports] == ["csv", "csv", "xlsx"]

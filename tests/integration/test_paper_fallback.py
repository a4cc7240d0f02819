"""Paper fallback for an outage (issue 17; RET-07): blank intake, handling and recall forms printable in advance, in
the page language; a record entered later from its paper original keeps the original dates and names the paper
form and why it was entered late — both or neither. SQLite and PostgreSQL."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from tests.conftest import STRONG_PASSWORD, csrf_token, login
from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401 (fixtures)


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.req("RET-07")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_blank_forms_print_in_advance_in_the_page_language(app, client, make_user):
    make_user("li.na", "qa_officer")
    login(client, "li.na", STRONG_PASSWORD)
    intake = client.get("/forms/intake.pdf")
    assert intake.status_code == 200 and intake.mimetype == "application/pdf"
    assert "投诉客户信息登记表" in _text(intake.data) and "停机备用纸质表" in _text(intake.data)
    handling = _text(client.get("/forms/handling.pdf").data)
    assert "5.4.1" in handling and "质量受权人" in handling
    recall = _text(client.get("/forms/recall.pdf").data)
    assert "召回进度与核对表" in recall
    assert client.get("/forms/unknown.pdf").status_code == 404
    client.post("/language", data={"csrf_token": csrf_token(client, "/"), "lang": "en", "next": "/"})
    english = _text(client.get("/forms/intake.pdf").data)
    assert "paper fallback" in english and "Received by" in english


@pytest.mark.req("RET-07")
def test_a_record_entered_after_an_outage_references_its_paper_original(app, api):
    with app.extensions["gmp_engine"].connect() as connection:
        before = connection.execute(sa.text("SELECT count(*) FROM complaints")).scalar_one()
    half = api.post("intake", "/complaints", registration(paper_reference="PF-2026-031"))
    assert half.status_code == 400 and list(half.get_json()["error"]["fields"]) == ["entered_late_reason"]
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM complaints")).scalar_one() == before
    entered = api.ok("intake", "/complaints", registration(
        received_on="2026-11-02", paper_reference="PF-2026-031", entered_late_reason="系统停机 2026-11-02 至 11-03"), 201)
    assert entered["received_on"] == "2026-11-02"  # the original date, not the day it was entered
    assert entered["paper_original"] == {"reference": "PF-2026-031", "entered_late_reason": "系统停机 2026-11-02 至 11-03"}
    events = api.get("auditor", f"/audit/events?entity=complaint:{entered['id']}").get_json()["events"]
    registered = next(e for e in events if e["action"] == "complaint.registered")
    assert registered["changes"]["paper_reference"] == [None, "PF-2026-031"]

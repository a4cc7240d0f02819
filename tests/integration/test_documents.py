"""Printed records (SOP §8; 21 CFR 11.10(b), 11.50(b)): the generated PDFs read back with pypdf, in
both languages, with the page furniture and every signature manifested."""
import io
import re

import pytest
from pypdf import PdfReader

from tests.conftest import login
from tests.integration.test_complaints_api import TODAY, api, capa_body, settings  # noqa: F401
from tests.integration.test_signatures import replied_and_satisfied, sign


def pdf_text(data: bytes) -> str:
    """The text of every page, white space folded (table cells wrap)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


@pytest.fixture
def signed_complaint(api):
    """A complaint answered, reviewed and acknowledged: content and signatures to print."""
    cid = replied_and_satisfied(api)
    assert sign(api, "qp", cid, "qp_acknowledgement").status_code == 201
    assert sign(api, "qa_head", cid, "audit_trail_review", comment="已审核").status_code == 201
    return cid


@pytest.fixture
def head_client(app, api):
    client = app.test_client()
    username, password = api.credentials["qa_head"]
    login(client, username, password)
    return client


@pytest.mark.req("REC-17", "SIG-01")
def test_the_handling_sheet_in_chinese_shows_every_step_and_manifests_every_signature(app, api, signed_complaint,
                                                                                      head_client):
    response = head_client.get(f"/complaints/{signed_complaint}/documents/handling_sheet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "客户质量投诉处理单" in text and "TS-III-26-001" in text
    assert "第 1 / " in text or "页码 1 / " in text  # page x of y
    assert "受控文件" in text and "打印时间" in text and "+08:00" in text
    assert "答复" in text and "瓶盖破裂" in text  # the reply and the description as received
    assert "确认知悉 — Chen.Jing Tester" in text and "审核 — Liu.Yang Tester" in text
    events = api.get("auditor", f"/audit/events?entity=complaint:{signed_complaint}").get_json()["events"]
    printed = [e for e in events if e["action"] == "document.printed"]
    assert printed[-1]["changes"]["document"] == [None, "handling_sheet"]
    assert len(printed[-1]["changes"]["file_sha256"][1]) == 64


@pytest.mark.req("REC-17", "SIG-01")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_documents_in_english(app, api, signed_complaint, head_client):
    sheet = pdf_text(head_client.get(f"/complaints/{signed_complaint}/documents/handling_sheet.pdf?lang=en").data)
    assert "Customer quality complaint handling sheet" in sheet
    assert "Controlled copy — uncontrolled when printed" in sheet and "Page 1 / " in sheet
    assert "Acknowledged — Chen.Jing Tester" in sheet and "Reviewed — Liu.Yang Tester" in sheet
    reply = pdf_text(head_client.get(f"/complaints/{signed_complaint}/documents/reply.pdf?lang=en&n=1").data)
    assert "Reply report" in reply and "Date of this reply: " + TODAY in reply
    # A letter to the customer: letterhead and a named signatory, none of the internal record's marks.
    assert "Complaint administrator" in reply and "Controlled copy" not in reply
    assert "Acknowledged —" not in reply and "SHA-256" not in reply and "sha256" not in reply
    intake = pdf_text(head_client.get(f"/complaints/{signed_complaint}/documents/intake_form.pdf?lang=en").data)
    assert "registration form" in intake and "王芳" in intake  # the QA head sees the complainant
    trail = pdf_text(head_client.get(f"/complaints/{signed_complaint}/documents/audit_trail.pdf?lang=en").data)
    assert "Audit trail" in trail and "Complaint registered" in trail
    assert head_client.get(f"/complaints/{signed_complaint}/documents/reply.pdf?n=9").status_code == 404
    assert head_client.get(f"/complaints/{signed_complaint}/documents/reminder.pdf").status_code == 404


@pytest.mark.req("REC-17")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_capa_record(app, api, head_client):
    from tests.integration.test_capa import action, assessed

    cid = assessed(api)
    capa_id = api.ok("qa_officer", "/capas", capa_body(cid), 201)["id"]
    action(api, capa_id)
    text = pdf_text(head_client.get(f"/capas/{capa_id}/record.pdf").data)
    assert "纠正与预防措施记录" in text and "CAPA-26-001" in text and "校准封口机" in text


@pytest.mark.req("SEC-11")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_investigators_print_masks_the_complainant(app, api, signed_complaint):
    client = app.test_client()
    username, password = api.credentials["investigator"]
    login(client, username, password)
    text = pdf_text(client.get(f"/complaints/{signed_complaint}/documents/intake_form.pdf").data)
    assert "王芳" not in text and "13800001234" not in text


def test_the_pdf_url_fetcher_serves_only_the_apps_static_files():
    from gmp_complaints.documents import make_fetcher

    fetcher = make_fetcher()
    assert b"@page" in fetcher.fetch("gmp-static:/css/pdf.css").read()
    for url in ("file:///etc/passwd", "http://example.com/x.css", "gmp-static:/../../../etc/passwd",
                "gmp-static:/../documents.py"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 4


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_document_asking_for_a_local_file_does_not_get_it(app, tmp_path):
    from gmp_complaints.documents import render_pdf

    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    with app.test_request_context("/"):
        app.jinja_loader.searchpath.append(str(tmp_path))
        (tmp_path / "pdf").mkdir()
        (tmp_path / "pdf" / "probe.html").write_text(
            f'<link rel="stylesheet" href="file://{secret}"><img src="http://127.0.0.1:9/x.png"><p>probe</p>')
        rendered = render_pdf("probe.html", {}, locale="en")
    assert rendered.refused == [f"file://{secret}", "http://127.0.0.1:9/x.png"]
    assert "probe" in pdf_text(rendered.pdf)


@pytest.mark.req("REC-17", "AT-06")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_long_audit_trail_rendered_in_parts_keeps_every_event_and_the_true_page_numbers(app, api, signed_complaint,
                                                                                         head_client, monkeypatch):
    import gmp_complaints.documents as documents

    whole_pdf = head_client.get(f"/complaints/{signed_complaint}/documents/audit_trail.pdf?lang=en").data
    whole = pdf_text(whole_pdf)
    monkeypatch.setattr(documents, "EVENTS_PER_PART", 4)  # several parts, laid out in worker processes
    data = head_client.get(f"/complaints/{signed_complaint}/documents/audit_trail.pdf?lang=en").data
    parts = pdf_text(data)
    pages = len(PdfReader(io.BytesIO(data)).pages)
    indices = [token for token in whole.split() if token.startswith("#") and token[1:].isdigit()]
    in_parts = [t for t in parts.split() if t.startswith("#") and t[1:].isdigit()]
    # every event in order; the second print also shows the first print's own event
    assert len(indices) > 8 and in_parts[:-1] == indices and len(in_parts) == len(indices) + 1
    assert f"Page {pages} / {pages}" in parts and parts.count("Controlled copy — uncontrolled when printed") == pages
    # each part but the last says where the trail goes on (the rest of its last page is blank); one part says nothing
    starts = [int(index[1:]) for index in in_parts[::4][1:]]
    assert [int(i) for i in re.findall(r"Continued on the next page with event #(\d+)\.", parts)] == starts
    assert "Continued on the next page" not in whole
    # A4 landscape throughout, in one part and in several (the furniture and page numbers laid out on that size)
    for printed in (whole_pdf, data):
        pages_of = PdfReader(io.BytesIO(printed)).pages
        assert {(round(page.mediabox.width), round(page.mediabox.height)) for page in pages_of} == {(842, 595)}


@pytest.mark.req("AT-06")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_audit_trail_shows_words_for_codes(app, api, signed_complaint, head_client):
    page = head_client.get(f"/audit/?entity=complaint:{signed_complaint}").get_data(as_text=True)
    assert "内包装材料缺陷 (inner_packaging)" in page and "待关闭 (closure_pending)" in page

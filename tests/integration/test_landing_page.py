"""The landing page (工作台) puts the user's tasks first: complaints due and overdue, signatures waiting
with their age, CAPA actions, what the role watches; and shows the previous log-in with the failed
attempts since (issue 16). SQLite and PostgreSQL."""

from tests.conftest import login
from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401


def test_the_previous_log_in_and_the_failed_attempts_since_are_shown(app, api):
    username, password = api.credentials["qp"]
    first = app.test_client()
    login(first, username, password)
    page = first.get("/").get_data(as_text=True)
    # The API token taken by the fixture was the log-in before this one; nothing failed since.
    assert 'id="previous-login"' in page and 'id="failed-since"' not in page
    failed = app.test_client()
    login(failed, username, "not-the-password")
    second = app.test_client()
    login(second, username, password)
    page = second.get("/").get_data(as_text=True)
    assert 'id="previous-login"' in page and 'id="failed-since"' in page
    assert "1 " in page[page.index('id="failed-since"'):page.index('id="failed-since"') + 120]


def test_the_qp_finds_the_signatures_waiting_with_their_age(app, api):
    cid = api.ok("intake", "/complaints", registration(received_on="2026-11-02"), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    classified = api.ok("qa_officer", f"/complaints/{cid}/classification",
                        {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
    client = app.test_client()
    login(client, *api.credentials["qp"])
    page = client.get("/").get_data(as_text=True)
    section = page[page.index('id="my-signatures"'):]
    assert classified["number"] in section
    assert "<td>18</td>" in section  # received 2 Nov, today (business date) 20 Nov
    waiting = client.get("/complaints/waiting-for-signature").get_data(as_text=True)
    assert classified["number"] in waiting and "<td>2026-11-02</td><td>18</td>" in waiting
    officer = app.test_client()
    login(officer, *api.credentials["qa_officer"])
    tasks = officer.get("/").get_data(as_text=True)
    assert 'id="my-tasks"' in tasks and 'id="my-signatures-count">(0)' in tasks  # nothing for the QA officer to sign


def test_the_printed_records_are_one_click_away_from_the_complaint(app, api):
    from tests.integration.test_complaints_api import run_to_reply

    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    run_to_reply(api, cid)
    client = app.test_client()
    login(client, *api.credentials["qa_officer"])
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    nav = page[page.index('id="documents"'):page.index("</nav>", page.index('id="documents"'))]
    for anchor in ("doc-intake_form", "doc-handling_sheet", "doc-audit_trail", "doc-reply-1"):
        assert f'id="{anchor}"' in nav, anchor
    link = nav[nav.index('id="doc-reply-1"') - 120:nav.index('id="doc-reply-1"')]
    href = link[link.rindex('href="') + 6:link.rindex('"')].replace("&amp;", "&")
    printed = client.get(href)
    assert printed.status_code == 200 and printed.data.startswith(b"%PDF")


def test_a_refused_signature_keeps_what_was_typed_but_the_password(app, api):
    from tests.conftest import csrf_token

    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification",
           {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
    client = app.test_client()
    username, password = api.credentials["qp"]
    login(client, username, password)
    refused = client.post(f"/complaints/{cid}/sign", data={
        "csrf_token": csrf_token(client, f"/complaints/{cid}"), "step": "qp_acknowledgement", "username": username,
        "password": "not-the-password", "comment": "已知悉，已要求隔离相邻批次"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 401
    assert "已知悉，已要求隔离相邻批次</textarea>" in page and f'value="{username}"' in page
    assert "not-the-password" not in page
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["signatures"] == []


def test_the_registration_page_offers_master_data_marks_required_fields_and_lists_errors_at_the_top(app, api):
    from tests.conftest import csrf_token

    client = app.test_client()
    login(client, *api.credentials["intake"])
    page = client.get("/complaints/new").get_data(as_text=True)
    assert '<datalist id="product-options"><option value="P-001">' in page
    assert '<option value="B2602">' in page and 'list="batch-options"' in page
    assert page.count('class="required"') >= 6 and 'aria-required="true"' in page
    refused = client.post("/complaints/new", data={"csrf_token": csrf_token(client, "/complaints/new"),
                                                    "product_code": "P-001", "description": "瓶盖破裂"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'id="error-summary"' in html
    summary = html[html.index('id="error-summary"'):html.index("</div>", html.index('id="error-summary"'))]
    for field in ("received_on", "channel", "complainant_name", "complaint_type"):
        assert f'href="#{field}"' in summary, field
    assert 'value="P-001"' in html and "瓶盖破裂</textarea>" in html  # what was typed stays


def test_the_time_of_receipt_is_recorded_where_given_and_checked(api):
    with_time = api.ok("intake", "/complaints", {**registration(), "received_time": "09:30"}, 201)
    assert with_time["received_time"] == "09:30"
    for bad in ("9:30", "24:00", "09:61", 930):
        refused = api.post("intake", "/complaints", {**registration(), "received_time": bad})
        assert refused.status_code == 400 and "received_time" in refused.get_json()["error"]["fields"], bad
    assert api.ok("intake", "/complaints", registration(), 201)["received_time"] is None


def test_an_attachment_received_with_the_complaint_is_kept_at_registration(app, api):
    import io

    from tests.conftest import csrf_token

    client = app.test_client()
    login(client, *api.credentials["intake"])
    form = {"received_on": "2026-11-02", "channel": "phone", "complainant_name": "王芳", "product_code": "P-001",
            "batch_nos": "B2602", "complaint_type": "inner_packaging", "description": "瓶盖破裂", "sample_available": "no"}
    photo = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    done = client.post("/complaints/new", data={**form, "csrf_token": csrf_token(client, "/complaints/new"),
                                                "attachment": (io.BytesIO(photo), "photo.pdf")},
                       content_type="multipart/form-data")
    assert done.status_code == 302
    cid = int(done.location.rstrip("/").split("/")[-1].split("?")[0])
    kept = api.get("qa_officer", f"/complaints/{cid}").get_json()["attachments"]
    assert [a["filename"] for a in kept] == ["photo.pdf"]
    refused = client.post("/complaints/new", data={**form, "csrf_token": csrf_token(client, "/complaints/new"),
                                                   "attachment": (io.BytesIO(b"MZ\x90\x00"), "tool.exe")},
                          content_type="multipart/form-data", follow_redirects=True)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200 and ("附件未保存" in page or "The attachment was not kept" in page)


def test_a_letter_to_the_customer_is_kept_as_sent_and_reprinted_byte_for_byte(app, api):
    from tests.integration.test_complaints_api import run_to_reply

    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    run_to_reply(api, cid)
    client = app.test_client()
    login(client, *api.credentials["qa_officer"])
    first = client.get(f"/complaints/{cid}/documents/reply.pdf?n=1")
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    # Later work on the complaint (here the QP's acknowledgement) does not reach the letter as sent.
    api.ok("qp", f"/complaints/{cid}/signatures", api.signed("qp", {"step": "qp_acknowledgement"}), 201)
    again = client.get(f"/complaints/{cid}/documents/reply.pdf?n=1")
    assert again.data == first.data
    english = client.get(f"/complaints/{cid}/documents/reply.pdf?n=1&lang=en")
    assert english.data != first.data  # each language is its own letter
    events = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    assert sum(1 for e in events if e["action"] == "sent_letter.kept") == 2

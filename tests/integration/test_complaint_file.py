"""The complaint file of REC-02 (21 CFR 211.198(b)(1)): QA approval of the closure is refused, naming each item,
while an item is neither recorded nor marked "not known" with a reason. Through the API and the complaint page;
SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import STRONG_PASSWORD, csrf_token, login
from tests.integration.test_complaints_api import TODAY, api, registration, settings  # noqa: F401

ANONYMOUS = {"name": "王芳", "organisation": "仁和大药房", "phone": None, "email": None}
CONTACT_LABEL = "Complainant's contact (phone or e-mail)"


def _pending_closure(api, **overrides) -> int:
    """Registered without a phone or an e-mail; found not substantiated and replied (SOP 5.3); the audit trail
    reviewed."""
    cid = api.ok("intake", "/complaints", registration(complainant=ANONYMOUS, **overrides), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity",
           {"information_complete": True, "substantiated": False, "reason": "样品检验合格"})
    api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "经检验合格，投诉不成立"})
    api.ok("qa_head", f"/complaints/{cid}/signatures", api.signed("qa_head", {"step": "audit_trail_review"}), 201)
    return cid


def _state(app, api, cid: int) -> tuple:
    record = api.get("auditor", f"/complaints/{cid}").get_json()
    with app.extensions["gmp_engine"].connect() as connection:
        events = connection.execute(sa.text("SELECT log_index, action FROM audit_events ORDER BY log_index")).all()
        signatures = connection.execute(sa.text("SELECT count(*) FROM signatures")).scalar_one()
    return record, [tuple(e) for e in events], signatures


def _unchanged(app, api, cid, before) -> list[str]:
    record, events, signatures = _state(app, api, cid)
    assert record == before[0] and signatures == before[2] and events[:len(before[1])] == before[1]
    return [action for _index, action in events[len(before[1]):]]


@pytest.mark.req("REC-02")
def test_closure_is_refused_naming_the_missing_item_until_it_is_marked_not_known_with_a_reason(app, api):
    cid = _pending_closure(api)
    shown = api.get("qa_officer", f"/complaints/{cid}").get_json()
    assert shown["status"] == "closure_pending"
    assert shown["complaint_file"] == {"missing": ["complainant_contact"], "not_known": []}
    before = _state(app, api, cid)
    refused = api.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    assert refused.status_code == 409
    message = refused.get_json()["error"]["message"]
    assert "REC-02" in message and CONTACT_LABEL in message
    assert _unchanged(app, api, cid, before) == []
    marked = api.ok("qa_officer", f"/complaints/{cid}/not-known",
                    {"item": "complainant_contact", "reason": "匿名来电，未留联系方式"})
    assert marked["complaint_file"]["missing"] == []
    [entry] = marked["complaint_file"]["not_known"]
    assert (entry["item"], entry["reason"], entry["marked_by"]["username"]) == (
        "complainant_contact", "匿名来电，未留联系方式", "li.na")
    events = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    [mark] = [e for e in events if e["action"] == "not_known_item.marked"]
    assert mark["reason"] == "匿名来电，未留联系方式" and mark["changes"]["item"] == [None, "complainant_contact"]
    # The file changed after the review: the review covers it again, then the head of quality closes.
    review = next(s for s in marked["signatures"] if s["step"] == "audit_trail_review")
    assert review["status"] == "superseded"
    api.ok("qa_head", f"/complaints/{cid}/signatures", api.signed("qa_head", {"step": "audit_trail_review"}), 201)
    closed = api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    assert closed["status"] == "closed"
    assert api.post("qa_officer", f"/complaints/{cid}/not-known",
                    {"item": "strength", "reason": "x"}).status_code == 409  # a closed file does not change


@pytest.mark.req("REC-02")
def test_an_item_is_marked_not_known_by_qa_with_a_reason_once_and_only_while_it_is_missing(app, api):
    cid = api.ok("intake", "/complaints", registration(complainant=ANONYMOUS), 201)["id"]
    path = f"/complaints/{cid}/not-known"
    before = _state(app, api, cid)
    for who, body, status, field in (
            ("qa_officer", {"item": "complainant_contact"}, 400, "reason"),
            ("qa_officer", {"item": "complainant_contact", "reason": "  "}, 400, "reason"),
            ("qa_officer", {"item": "shoe_size", "reason": "r"}, 400, "item"),
            ("qa_officer", {"item": "strength", "reason": "r"}, 409, None),  # recorded: nothing to mark
            ("intake", {"item": "complainant_contact", "reason": "r"}, 403, None)):
        response = api.post(who, path, body)
        assert response.status_code == status, (body, response.get_json())
        if field:
            assert field in response.get_json()["error"]["fields"]
        assert _unchanged(app, api, cid, before) == (["user.access_refused"] if status == 403 else [])
        before = _state(app, api, cid)
    api.ok("qa_officer", path, {"item": "complainant_contact", "reason": "匿名"})
    before = _state(app, api, cid)
    assert api.post("qa_head", path, {"item": "complainant_contact", "reason": "再次"}).status_code == 409
    assert _unchanged(app, api, cid, before) == []


@pytest.mark.req("REC-02")
def test_the_complaint_page_lists_what_is_missing_and_its_closure_form_is_refused(app, api, client):
    cid = _pending_closure(api)
    login(client, "liu.yang", STRONG_PASSWORD)
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'id="missing-items"' in page and 'id="not-known-form"' in page
    missing = page[page.index('id="missing-items"'):]
    assert missing.index("</ul>") > 0 and missing[:missing.index("</ul>")].count("<li>") == 1
    assert '<option value="complainant_contact"' in page
    before = _state(app, api, cid)
    refused = client.post(f"/complaints/{cid}/close", data={
        "csrf_token": csrf_token(client, f"/complaints/{cid}"), "username": "liu.yang", "password": STRONG_PASSWORD,
        "comment": "同意关闭"})
    assert refused.status_code == 303
    assert _unchanged(app, api, cid, before) == []
    marked = client.post(f"/complaints/{cid}/mark_not_known", data={
        "csrf_token": csrf_token(client, f"/complaints/{cid}"), "item": "complainant_contact", "reason": "匿名来电"})
    assert marked.status_code == 302
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'id="not-known-items"' in page and "匿名来电" in page and 'id="missing-items"' not in page

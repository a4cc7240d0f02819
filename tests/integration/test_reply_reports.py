"""SOP 5.6.1: QA forms the reply report, the head of quality approves it with a signature, sales send it
to the customer; the reply records the approved report and the sales person who sent it. SQLite and
PostgreSQL, through /api/v1 and the complaint page."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token, login
from tests.integration.test_complaints_api import (  # noqa: F401 (fixtures)
    TODAY,
    api,
    assign_investigator,
    registration,
    settings,
)

REPORT = "调查结果：封口机压力偏低导致密封不良；纠正预防措施：校准封口机并纳入每班点检。"


def _assessed(api) -> int:
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification",
           {"complaint_class": "III", "rationale": "外包装", "adr_suspected": False})
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/assessment", {"reasonable": False, "actions": [], "adr_confirmed": False,
                                                           "regulator_report_required": False})
    return cid


def _events(app, cid: int) -> list[str]:
    with app.extensions["gmp_engine"].connect() as connection:
        return list(connection.execute(sa.text(
            "SELECT action FROM audit_events WHERE action LIKE 'reply_report.%' OR action LIKE 'complaint_reply.%' "
            "OR (entity_type = 'complaint' AND entity_id = :cid) ORDER BY log_index"), {"cid": str(cid)}).scalars())


@pytest.mark.req("WF-01")
def test_a_reply_report_is_drafted_approved_and_sent_by_sales_with_the_approved_text(app, api):
    cid = _assessed(api)
    drafted = api.ok("qa_officer", f"/complaints/{cid}/reply-reports", {"summary": REPORT})
    report = drafted["reply_reports"][0]
    waiting = api.get("qa_head", "/signatures/waiting").get_json()["waiting"]
    assert [(w["id"], w["step"], w["subject"]) for w in waiting if w["step"] == "reply_approval"] == [
        (cid, "reply_approval", f"reply_report:{report['id']}")]
    assert (report["sequence"], report["status"], report["summary"]) == (1, "draft", REPORT)
    assert drafted["status"] == "assessed" and drafted["replies"] == []

    approved = api.ok("qa_head", f"/complaints/{cid}/signatures",
                      api.signed("qa_head", {"step": "reply_approval", "comment": "同意答复"}), 201)
    assert approved["reply_reports"][0]["status"] == "approved"
    signature = next(s for s in approved["signatures"] if s["step"] == "reply_approval")
    assert (signature["meaning"], signature["status"]) == ("approved", "valid")

    # Sales send it: the reply carries the approved text and names the sender.
    sent = api.ok("intake", f"/complaints/{cid}/replies", {"replied_on": TODAY})
    reply = sent["replies"][0]
    assert (reply["summary"], reply["report_id"], reply["sent_by"]["username"]) == (REPORT, report["id"], "wang.fang")
    assert sent["status"] == "awaiting_customer" and sent["reply_reports"][0]["status"] == "sent"
    # The approval still stands: sending changed nothing it covers.
    assert next(s for s in sent["signatures"] if s["step"] == "reply_approval")["status"] == "valid"
    assert _events(app, cid)[-4:] == ["reply_report.approved", "complaint.reply", "reply_report.sent",
                                      "complaint_reply.created"]


def test_a_reply_that_differs_from_the_approved_report_is_refused_and_changes_nothing(app, api):
    cid = _assessed(api)
    api.ok("qa_officer", f"/complaints/{cid}/reply-reports", {"summary": REPORT})
    api.ok("qa_head", f"/complaints/{cid}/signatures", api.signed("qa_head", {"step": "reply_approval"}), 201)
    before, events = api.get("auditor", f"/complaints/{cid}").get_json(), _events(app, cid)
    response = api.post("intake", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "另一个答复"})
    assert response.status_code == 409
    assert "approved reply report" in response.get_json()["error"]["message"]
    assert api.get("auditor", f"/complaints/{cid}").get_json() == before and _events(app, cid) == events


@pytest.mark.req("WF-01", "SIG-08")
def test_approving_needs_a_draft_and_never_the_drafter(app, api, make_user, client):
    cid = _assessed(api)
    refused = api.post("qa_head", f"/complaints/{cid}/signatures", api.signed("qa_head", {"step": "reply_approval"}))
    assert refused.status_code == 409 and "No reply report is waiting" in refused.get_json()["error"]["message"]
    # The head of quality who drafted the report cannot approve it (four-eyes).
    api.ok("qa_head", f"/complaints/{cid}/reply-reports", {"summary": REPORT})
    before = api.get("auditor", f"/complaints/{cid}").get_json()
    own = api.post("qa_head", f"/complaints/{cid}/signatures", api.signed("qa_head", {"step": "reply_approval"}))
    assert own.status_code == 403
    assert api.get("auditor", f"/complaints/{cid}").get_json() == before


@pytest.mark.req("AT-02")
def test_a_new_draft_replaces_the_earlier_one_only_with_a_reason(app, api):
    cid = _assessed(api)
    api.ok("qa_officer", f"/complaints/{cid}/reply-reports", {"summary": REPORT})
    response = api.post("qa_officer", f"/complaints/{cid}/reply-reports", {"summary": REPORT + "（修订）"})
    assert response.status_code == 400 and "reason" in response.get_json()["error"]["fields"]
    redrafted = api.ok("qa_officer", f"/complaints/{cid}/reply-reports",
                       {"summary": REPORT + "（修订）", "reason": "补充 CAPA 完成日期"})
    assert [r["status"] for r in redrafted["reply_reports"]] == ["withdrawn", "draft"]
    events = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    withdrawn = next(e for e in events if e["action"] == "reply_report.withdrawn")
    assert withdrawn["reason"] == "补充 CAPA 完成日期" and withdrawn["changes"]["status"] == ["draft", "withdrawn"]


def test_the_sender_named_must_be_sales_staff(app, api):
    cid = _assessed(api)
    before = api.get("auditor", f"/complaints/{cid}").get_json()
    response = api.post("qa_officer", f"/complaints/{cid}/replies",
                        {"replied_on": TODAY, "summary": REPORT, "sent_by": "zhang.wei"})
    assert response.status_code == 400
    assert "sales" in response.get_json()["error"]["fields"]["sent_by"][0]
    assert api.get("auditor", f"/complaints/{cid}").get_json() == before
    named = api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": REPORT,
                                                                "sent_by": "wang.fang"})
    assert named["replies"][0]["sent_by"]["printed_name"] and named["replies"][0]["report_id"] is None


class TestWhereTheSiteRequiresApproval:
    @pytest.fixture
    def settings(self, settings):
        from dataclasses import replace

        return replace(settings, reply_approval_required=True)

    @pytest.mark.req("WF-01")
    def test_no_reply_goes_out_without_an_approved_report_and_a_sales_sender(self, app, api):
        cid = _assessed(api)
        before, events = api.get("auditor", f"/complaints/{cid}").get_json(), _events(app, cid)
        refused = api.post("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": REPORT})
        assert refused.status_code == 409 and "approval" in refused.get_json()["error"]["message"]
        assert api.get("auditor", f"/complaints/{cid}").get_json() == before and _events(app, cid) == events
        api.ok("qa_officer", f"/complaints/{cid}/reply-reports", {"summary": REPORT})
        api.ok("qa_head", f"/complaints/{cid}/signatures", api.signed("qa_head", {"step": "reply_approval"}), 201)
        unnamed = api.post("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY})
        assert unnamed.status_code == 400 and "sent_by" in unnamed.get_json()["error"]["fields"]
        sent = api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "sent_by": "wang.fang"})
        assert sent["status"] == "awaiting_customer" and sent["replies"][0]["sent_by"]["username"] == "wang.fang"


@pytest.mark.req("WF-01")
def test_the_complaint_page_leads_through_draft_approval_and_sending(app, api, client):
    from tests.conftest import STRONG_PASSWORD

    cid = _assessed(api)
    login(client, "li.na", STRONG_PASSWORD)
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'id="step-draft_reply_report"' in page and 'id="step-reply"' in page
    response = client.post(f"/complaints/{cid}/draft_reply_report",
                           data={"csrf_token": csrf_token(client, f"/complaints/{cid}"), "summary": REPORT})
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, f"/complaints/{cid}")})
    login(client, "liu.yang", STRONG_PASSWORD)
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'id="sign-reply_approval-' in page and REPORT in page
    username, password = api.credentials["qa_head"]
    client.post(f"/complaints/{cid}/sign", data={
        "csrf_token": csrf_token(client, f"/complaints/{cid}"), "step": "reply_approval", "username": username,
        "password": password, "comment": ""})
    client.post("/logout", data={"csrf_token": csrf_token(client, f"/complaints/{cid}")})
    login(client, "wang.fang", STRONG_PASSWORD)
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'id="approved-report"' in page and 'id="step-draft_reply_report"' not in page
    client.post(f"/complaints/{cid}/reply", data={"csrf_token": csrf_token(client, f"/complaints/{cid}"),
                                                  "replied_on": TODAY, "sent_by": "wang.fang"})
    shown = api.get("auditor", f"/complaints/{cid}").get_json()
    assert shown["status"] == "awaiting_customer" and shown["replies"][0]["sent_by"]["username"] == "wang.fang"
    assert shown["replies"][0]["summary"] == REPORT

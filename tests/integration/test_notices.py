"""Notices to people (WF-10, WF-11; issue 16): the QP is told of every complaint and investigation, the
investigator of an assignment, the head of quality of every signature due — in the app at once, in the
complaint's audit trail, and e-mailed through the outbox where the person has an address. SQLite and
PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import STRONG_PASSWORD, csrf_token, login
from tests.integration.test_capa import action
from tests.integration.test_complaints_api import (  # noqa: F401 (fixtures)
    TODAY,
    api,
    assign_investigator,
    capa_body,
    registration,
    settings,
)


def _kinds(api, who) -> list[tuple[str, str]]:
    return [(n["kind"], n["record_label"]) for n in reversed(api.get(who, "/notices").get_json()["notices"])]


@pytest.mark.req("WF-10", "WF-11")
def test_the_qp_investigator_and_head_of_quality_are_told_what_is_theirs_to_do(app, api):
    registered = api.ok("intake", "/complaints", registration(), 201)
    cid, ref = registered["id"], registered["intake_ref"]
    assert _kinds(api, "qp") == [("complaint_registered", ref)]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    number = api.ok("qa_officer", f"/complaints/{cid}/classification",
                    {"complaint_class": "I", "rationale": "混药", "adr_suspected": False})["number"]
    assert _kinds(api, "qp")[1:] == [("complaint_classified", number), ("interim_decision_due", number)]
    assert _kinds(api, "qa_head") == [("interim_decision_due", number)]
    assign_investigator(api, cid)
    assert _kinds(api, "investigator") == [("investigation_assigned", number)]
    api.ok("investigator", f"/complaints/{cid}/extension-requests",
           {"kind": "investigation", "new_due_on": "2026-12-31", "reason": "加速稳定性试验"})
    for signer in ("qa_head", "qp"):
        api.ok(signer, f"/complaints/{cid}/signatures",
               api.signed(signer, {"step": "interim_risk_decision", "measures": ["quarantine"]}), 201)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True})
    assert _kinds(api, "qp")[-1] == ("investigation_recorded", number)
    # The head of quality: the extension to decide, and (no responsible officials designated, WF-11) the
    # written notice of the investigation.
    assert _kinds(api, "qa_head")[1:] == [("decision_requested", number), ("investigation_conducted", number)]
    # Nobody is told of their own act: the QA officer who classified gets nothing.
    assert _kinds(api, "qa_officer") == []
    listed = api.get("qp", "/notices").get_json()
    assert listed["unread"] == 4 and listed["notices"][0]["link"] == f"/complaints/{cid}"
    # The complaint's trail says who was told (names, not ids).
    events = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    told = [e for e in events if e["action"] == "user_notice.created"]
    assert len(told) == 8 and {e["changes"]["kind"][1] for e in told} == {
        "complaint_registered", "complaint_classified", "interim_decision_due", "investigation_assigned",
        "decision_requested", "investigation_recorded", "investigation_conducted"}


def test_the_head_of_quality_is_told_of_reply_reports_closures_and_capa_signatures_due(api):
    from tests.integration.test_capa import assessed

    cid = assessed(api)
    capa_id = api.ok("qa_officer", "/capas", capa_body(cid), 201)["id"]
    action(api, capa_id, approve=False)
    number = api.get("qa_officer", f"/capas/{capa_id}").get_json()["number"]
    assert ("capa_plan_to_approve", number) in _kinds(api, "qa_head")
    action(api, capa_id, kind="preventive", approve=False)  # told once while the first notice is unread
    assert _kinds(api, "qa_head").count(("capa_plan_to_approve", number)) == 1
    assert ("capa_action_assigned", number) in _kinds(api, "investigator")
    api.ok("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {}))
    act = api.get("qa_officer", f"/capas/{capa_id}").get_json()["actions"][0]["id"]
    api.ok("investigator", f"/capas/{capa_id}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "e"})
    assert _kinds(api, "qa_head")[-1] == ("capa_implementation_to_approve", number)
    api.ok("qa_head", f"/capas/{capa_id}/actions/{act}/implementation-approval", api.signed("qa_head", {}))
    complaint_number = api.get("qa_officer", f"/complaints/{cid}").get_json()["number"]
    api.ok("qa_officer", f"/complaints/{cid}/reply-reports", {"summary": "调查结果与纠正预防措施"})
    assert _kinds(api, "qa_head")[-1] == ("reply_report_to_approve", complaint_number)
    api.ok("qa_head", f"/complaints/{cid}/signatures", api.signed("qa_head", {"step": "reply_approval"}), 201)
    api.ok("intake", f"/complaints/{cid}/replies", {"replied_on": TODAY})
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": TODAY, "satisfied": True, "text": "满意"})
    assert _kinds(api, "qa_head")[-1] == ("closure_pending", complaint_number)


@pytest.mark.req("WF-11")
def test_notices_are_emailed_through_the_outbox_to_people_with_an_address(app, api, uow_factory):
    from dataclasses import replace

    from gmp_complaints.domain.errors import ValidationError
    from gmp_complaints.services import accounts
    from gmp_complaints.services.timers import deliver_outbox

    qp_id = accounts.create_user(uow_factory(), actor_id=None, username="qp.mail", printed_name="邮件 受权人",
                                 roles=["qp"], email="qp@example.cn").user_id
    with pytest.raises(ValidationError) as refused:
        accounts.create_user(uow_factory(), actor_id=None, username="qp.bad", printed_name="Bad Address",
                             roles=["qp"], email="not-an-address")
    assert list(refused.value.fields) == ["email"]
    app.config["GMP_SETTINGS"] = replace(app.config["GMP_SETTINGS"], smtp_host="mail.example.cn",
                                                   public_url="https://qa.example.cn")
    registered = api.ok("intake", "/complaints", registration(), 201)
    with app.extensions["gmp_engine"].connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT n.user_id, n.outbox_message_id, o.purpose, o.subject FROM user_notices n "
            "LEFT JOIN outbox_messages o ON o.id = n.outbox_message_id ORDER BY n.id")).all()
    # The QP with an address gets an e-mail; the QP without one is told in the app only.
    mailed = [r for r in rows if r.outbox_message_id is not None]
    assert [r.user_id for r in mailed] == [qp_id] and len(rows) == 2
    assert mailed[0].purpose == "user_notice" and registered["intake_ref"] in mailed[0].subject
    sent = []
    assert deliver_outbox(uow_factory(), send=sent.append) == {"sent": 1, "failed": 0}
    assert sent[0].recipient == "qp@example.cn"
    assert f"https://qa.example.cn/complaints/{registered['id']}" in sent[0].body


@pytest.mark.req("WF-10")
def test_the_navigation_counts_unread_notices_and_waiting_signatures_until_read(app, api, client):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification",
           {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
    login(client, "chen.jing", STRONG_PASSWORD)
    page = client.get("/").get_data(as_text=True)
    assert '<span class="count" id="nav-notices-count">2</span>' in page
    assert '<span class="count" id="nav-waiting-count">1</span>' in page  # the QP acknowledgement
    assert 'id="my-notices"' in page
    notices_page = client.get("/notices").get_data(as_text=True)
    assert notices_page.count('class="unread"') == 2 and f'href="/complaints/{cid}"' in notices_page
    client.post("/notices/read", data={"csrf_token": csrf_token(client, "/notices")})
    page = client.get("/").get_data(as_text=True)
    assert 'id="nav-notices-count"' not in page and 'id="my-notices"' not in page
    assert api.get("qp", "/notices").get_json()["unread"] == 0


@pytest.mark.req("AT-01", "AT-02")
def test_the_administrator_sets_the_notice_address_with_a_reason_and_a_bad_address_changes_nothing(
        app, client, make_user):
    admin_id, _ = make_user("admin.one", "admin")
    qp_id, _ = make_user("qp.one", "qp")
    login(client, "admin.one", STRONG_PASSWORD)
    page = f"/admin/users/{qp_id}"
    bad = client.post(f"{page}/email", data={"csrf_token": csrf_token(client, page), "email-email": "qp at example",
                                              "email-reason": "新邮箱"})
    assert bad.status_code == 400
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT email FROM users WHERE id = :id"), {"id": qp_id}).scalar() is None
        before = connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()
    done = client.post(f"{page}/email", data={"csrf_token": csrf_token(client, page), "email-email": "qp@example.cn",
                                               "email-reason": "入职登记"})
    assert done.status_code == 302
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT email FROM users WHERE id = :id"), {"id": qp_id}).scalar() == \
            "qp@example.cn"
        event = connection.execute(sa.text(
            "SELECT action, reason, actor_id FROM audit_events WHERE log_index >= :n AND action LIKE 'user.%'"),
            {"n": before}).one()
    assert tuple(event) == ("user.email_changed", "入职登记", admin_id)

"""The QP told of risk-reducing actions and recalls, acknowledging on the notice (WF-10), and the responsible
officials told in writing of every complaint investigation, return evaluation and recall, with the delivery of
every notice logged (WF-11; 21 CFR 211.180(f)). SQLite and PostgreSQL."""
from __future__ import annotations

import smtplib
from dataclasses import replace

import pytest
import sqlalchemy as sa

from tests.conftest import STRONG_PASSWORD, csrf_token, login
from tests.integration.test_complaints_api import TODAY, api, assign_investigator, registration, settings  # noqa: F401
from tests.integration.test_recalls import decide, proposal, recall_api  # noqa: F401
from tests.integration.test_returns import EVALUATION, receipt

CHANGE = {"reason": "质量体系职责调整", "change_control_ref": "CC-2026-031"}


def rows(app, sql, **params):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(sql), params).all()


def told(app, username) -> list[tuple[str, str]]:
    """(kind, record) of the person's notices, oldest first."""
    return [tuple(r) for r in rows(app, "SELECT n.kind, n.record_label FROM user_notices n JOIN users u "
                                        "ON u.id = n.user_id WHERE u.username = :u ORDER BY n.id", u=username)]


def business_events(app) -> list[tuple]:
    return [tuple(r) for r in rows(app, "SELECT log_index, action FROM audit_events WHERE action NOT LIKE 'user.%' "
                                        "AND action NOT LIKE 'signature.%' ORDER BY log_index")]


@pytest.fixture
def admin(api, client, make_user):
    _, password = make_user("admin.one", "admin")
    api.tokens["admin"] = client.post("/api/v1/auth/token", json={"username": "admin.one", "password": password}
                                      ).get_json()["token"]
    return api


@pytest.fixture
def officials(uow_factory):
    """Two people of the quality system with an address for notices."""
    from gmp_complaints.services import accounts

    for username, name, role, email in (("sun.hao", "孙浩 Sun Hao", "qa_officer", "sun.hao@example.cn"),
                                        ("zhou.qing", "周晴 Zhou Qing", "investigator", "zhou.qing@example.cn")):
        accounts.create_user(uow_factory(), actor_id=None, username=username, printed_name=name, roles=[role],
                             email=email)
    return ("sun.hao", "zhou.qing")


def mail_on(app):
    app.config["GMP_SETTINGS"] = replace(app.config["GMP_SETTINGS"], smtp_host="mail.example.cn",
                                         public_url="https://qa.example.cn")


def investigated(api) -> tuple[int, str]:
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    number = api.ok("qa_officer", f"/complaints/{cid}/classification",
                    {"complaint_class": "II", "rationale": "密封缺陷", "adr_suspected": False})["number"]
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "封口压力偏低", "impact": "仅本批", "other_batches_affected": "无", "substantiated": True})
    return cid, number


def evaluated(api) -> tuple[int, str]:
    for consignee, quantity in (("仁和大药房", 100),):
        api.ok("qa_officer", "/distributions", {"product_code": "P-001", "batch_no": "B2601", "consignee": consignee,
                                                "quantity": quantity, "shipped_on": "2026-03-01"}, 201)
    returned = api.ok("investigator", "/returns", receipt(batch_no="B2601"), 201)
    api.ok("qa_officer", f"/returns/{returned['id']}/evaluation", EVALUATION)
    return returned["id"], returned["number"]


@pytest.mark.req("WF-11")
def test_the_officials_configured_are_told_in_writing_of_an_investigation_a_return_and_a_recall(
        app, admin, recall_api, officials, uow_factory):
    from gmp_complaints.services.timers import deliver_outbox

    api = admin
    sun, zhou = officials
    for scope, usernames in (("investigations", [sun]), ("returns", [zhou]), ("recalls", [sun, zhou])):
        view = api.ok("admin", "/responsible-officials", {"scope": scope, "usernames": usernames, **CHANGE})
    assert [o["username"] for o in view["scopes"]["recalls"]["officials"]] == ["sun.hao", "zhou.qing"]
    assert view["scopes"]["returns"]["default_head_of_quality"] is False
    mail_on(app)

    _cid, number = investigated(api)
    assert told(app, sun) == [("investigation_conducted", number)]
    rid, return_number = evaluated(api)
    assert told(app, zhou) == [("return_evaluated", return_number)]
    recall = api.ok("qa_officer", "/recalls", proposal(), 201)
    decide(api, recall["id"])
    assert told(app, sun)[1:] == told(app, zhou)[1:] == [("recall_proposed", recall["number"]),
                                                          ("recall_decided", recall["number"])]
    # With a list kept, the head of quality is no longer told of these.
    assert not {kind for kind, _ in told(app, "liu.yang")} & {"investigation_conducted", "return_evaluated",
                                                              "recall_proposed"}
    # Written: every notice to an official is e-mailed through the outbox to the official's own address.
    mails = rows(app, "SELECT u.username, o.subject FROM user_notices n JOIN users u ON u.id = n.user_id "
                      "JOIN outbox_messages o ON o.id = n.outbox_message_id WHERE u.username IN ('sun.hao', "
                      "'zhou.qing') ORDER BY n.id")
    assert len(mails) == 6 and any(number in subject and "211.198" in subject for _u, subject in mails)

    # Delivery logged: the mail server refuses Zhou's address once; Sun's mail goes through.
    def send(mail):
        if mail.recipient == "zhou.qing@example.cn":
            raise smtplib.SMTPRecipientsRefused({mail.recipient: (550, b"mailbox unavailable")})

    result = deliver_outbox(uow_factory(), send=send)
    assert result["failed"] == 3 and result["sent"] >= 3
    log = api.get("qa_head", f"/notices/delivery?subject_type=recall&subject_id={recall['id']}").get_json()["notices"]
    by_person = {}
    for entry in log:
        by_person.setdefault(entry["recipient"]["username"], []).append(entry["delivery"])
    assert {d["status"] for d in by_person["sun.hao"]} == {"sent"} and all(d["sent_at"] for d in by_person["sun.hao"])
    assert {d["status"] for d in by_person["zhou.qing"]} == {"retrying"}
    assert all(d["attempts"] == 1 and "550" in d["last_error"] for d in by_person["zhou.qing"])
    assert by_person["chen.jing"] == [{"status": "not_emailed", "attempts": 0, "sent_at": None, "last_error": None}]
    returns_log = api.get("admin", f"/notices/delivery?subject_type=return&subject_id={rid}").get_json()["notices"]
    assert [(e["kind"], e["delivery"]["status"]) for e in returns_log] == [("return_evaluated", "retrying")]
    # The recall page shows who was told and how the mail fared.
    assert {(n["recipient"]["username"], n["kind"]) for n in api.get("qa_head", f"/recalls/{recall['id']}").get_json()[
        "staff_notices"]} >= {("sun.hao", "recall_decided"), ("zhou.qing", "recall_proposed")}
    # The trail: each designation with its reason and change-control reference; each delivery sent or failed.
    events = rows(app, "SELECT action, reason, canonical FROM audit_events WHERE action LIKE 'responsible_official.%'")
    assert len(events) == 4
    assert all(r.reason == CHANGE["reason"] and b"CC-2026-031" in bytes(r.canonical) for r in events)
    outcomes = {r.action for r in rows(app, "SELECT action FROM audit_events WHERE action LIKE 'outbox_message.%'")}
    assert {"outbox_message.sent", "outbox_message.failed"} <= outcomes


@pytest.mark.req("WF-11")
def test_with_nobody_designated_the_head_of_quality_is_told_and_a_withdrawal_goes_back_to_it(
        app, admin, recall_api, officials, uow_factory):
    from audit.integrity import integrity_check

    api = admin
    _cid, number = investigated(api)
    _rid, return_number = evaluated(api)
    recall = api.ok("qa_officer", "/recalls", proposal(), 201)
    assert [n for n in told(app, "liu.yang") if n[0] in ("investigation_conducted", "return_evaluated",
                                                          "recall_proposed")] == [
        ("investigation_conducted", number), ("return_evaluated", return_number), ("recall_proposed", recall["number"])]
    assert ("recall_proposed", recall["number"]) in told(app, "chen.jing")  # the QP, always
    listed = api.get("qa_officer", "/responsible-officials").get_json()["scopes"]["recalls"]
    assert listed["default_head_of_quality"] is True and [r["username"] for r in listed["recipients"]] == ["liu.yang"]
    api.ok("admin", "/responsible-officials", {"scope": "investigations", "usernames": ["sun.hao"], **CHANGE})
    view = api.ok("admin", "/responsible-officials", {"scope": "investigations", "usernames": [], **CHANGE})
    assert view["scopes"]["investigations"]["officials"] == []
    assert [r["username"] for r in view["scopes"]["investigations"]["recipients"]] == ["liu.yang"]
    withdrawn = rows(app, "SELECT withdrawn_at, withdrawn_by_id FROM responsible_officials")
    assert len(withdrawn) == 1 and withdrawn[0].withdrawn_at is not None  # kept, with the withdrawal on it
    # The trail replays to the table: designation and withdrawal, as stored.
    assert integrity_check(uow_factory()) == []


@pytest.mark.req("WF-11", "AT-10")
def test_only_the_administrator_changes_the_officials_under_change_control_and_a_refusal_changes_nothing(
        app, admin, officials, make_user):
    api = admin
    before = business_events(app)
    for who in ("qa_head", "qa_officer", "qp"):
        refused = api.post(who, "/responsible-officials", {"scope": "recalls", "usernames": ["sun.hao"], **CHANGE})
        assert refused.status_code == 403
    assert rows(app, "SELECT * FROM responsible_officials") == [] and business_events(app) == before
    missing = api.post("admin", "/responsible-officials", {"scope": "recalls", "usernames": ["sun.hao"],
                                                           "reason": "职责调整"})
    assert missing.status_code == 400 and list(missing.get_json()["error"]["fields"]) == ["change_control_ref"]
    make_user("audit.two", "auditor")
    for body, field in (({"scope": "salvage", "usernames": ["sun.hao"], **CHANGE}, "scope"),
                        ({"scope": "recalls", "usernames": ["no.such.user"], **CHANGE}, "usernames"),
                        ({"scope": "recalls", "usernames": ["audit.two"], **CHANGE}, "usernames"),
                        ({"scope": "recalls", "usernames": "sun.hao", **CHANGE}, "usernames")):
        bad = api.post("admin", "/responsible-officials", body)
        assert bad.status_code == 400 and field in bad.get_json()["error"]["fields"], body
    assert rows(app, "SELECT * FROM responsible_officials") == [] and business_events(app) == before
    api.ok("admin", "/responsible-officials", {"scope": "recalls", "usernames": ["sun.hao"], **CHANGE})
    again = api.post("admin", "/responsible-officials", {"scope": "recalls", "usernames": ["sun.hao"], **CHANGE})
    assert again.status_code == 400 and "usernames" in again.get_json()["error"]["fields"]
    assert len(rows(app, "SELECT * FROM responsible_officials")) == 1


@pytest.mark.req("WF-10")
def test_the_qp_is_told_of_risk_reducing_actions_and_recalls_and_acknowledges_on_the_notice(
        app, admin, recall_api, client, make_user, uow_factory):
    from audit.integrity import integrity_check

    api = admin
    make_user("qp.two", "qp", identity_verified=True)
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    number = api.ok("qa_officer", f"/complaints/{cid}/classification",
                    {"complaint_class": "I", "rationale": "混药", "adr_suspected": False})["number"]
    # The class I interim risk decision with its measures (stop shipment, quarantine): the QP who did not sign it
    # is told; the one who signed knows.
    for signer in ("qa_head", "qp"):
        api.ok(signer, f"/complaints/{cid}/signatures",
               api.signed(signer, {"step": "interim_risk_decision", "measures": ["stop_shipment", "quarantine"]}), 201)
    assert ("interim_decision_taken", number) in told(app, "qp.two")
    assert ("interim_decision_taken", number) not in told(app, "chen.jing")
    # A quarantine request during the investigation: every QP is told.
    api.ok("qa_officer", f"/complaints/{cid}/quarantine-requests", {"batch_nos": ["B2602", "B2603"],
                                                                     "reason": "同批及相邻批隔离"}, 201)
    assert ("quarantine_requested", number) in told(app, "chen.jing") and \
        ("quarantine_requested", number) in told(app, "qp.two")
    recall = api.ok("qa_officer", "/recalls", proposal(complaint_ids=[cid]), 201)
    mine = {(n["kind"], n["record_label"]): n for n in api.get("qp", "/notices").get_json()["notices"]}
    quarantine, proposed = mine[("quarantine_requested", number)], mine[("recall_proposed", recall["number"])]
    assert quarantine["acknowledgement_required"] and quarantine["acknowledged_at"] is None
    assert not mine[("complaint_classified", number)]["acknowledgement_required"]  # that one is a signature

    # Someone else's notice, a notice that asks for none: refused, nothing changed.
    before = business_events(app)
    assert api.post("qa_head", f"/notices/{quarantine['id']}/acknowledgement", {}).status_code == 403
    assert api.post("qp", f"/notices/{mine[('complaint_registered', registration_ref(api, cid))]['id']}"
                          "/acknowledgement", {}).status_code == 409
    assert api.post("qp", "/notices/999999/acknowledgement", {}).status_code == 404
    assert business_events(app) == before and rows(app, "SELECT * FROM notice_acknowledgements") == []

    done = api.ok("qp", f"/notices/{quarantine['id']}/acknowledgement", {})
    assert done["acknowledged_at"] and done["record_label"] == number
    assert api.post("qp", f"/notices/{quarantine['id']}/acknowledgement", {}).status_code == 409
    api.ok("qp", f"/notices/{proposed['id']}/acknowledgement", {})
    decide(api, recall["id"])
    # Decided: the QP who did not sign is told; the one who signed the decision knows it.
    assert ("recall_decided", recall["number"]) in told(app, "qp.two")
    assert ("recall_decided", recall["number"]) not in told(app, "chen.jing")

    # Acknowledged at, by: in the QP's list, the delivery log, the recall page and the complaint's trail.
    mine = {n["id"]: n for n in api.get("qp", "/notices").get_json()["notices"]}
    assert mine[quarantine["id"]]["acknowledged_at"] and mine[quarantine["id"]]["read_at"]
    logged = {e["id"]: e for e in api.get("qa_head", f"/notices/delivery?subject_type=complaint&subject_id={cid}")
              .get_json()["notices"]}
    assert logged[quarantine["id"]]["acknowledged_by"] == "Chen.Jing Tester"
    staff = {(n["recipient"]["username"], n["kind"]): n for n in api.get("qa_head", f"/recalls/{recall['id']}")
             .get_json()["staff_notices"]}
    assert staff[("chen.jing", "recall_proposed")]["acknowledged_at"]
    assert staff[("qp.two", "recall_proposed")]["acknowledged_at"] is None
    trail = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    acknowledged = [e for e in trail if e["action"] == "user_notice.acknowledged"]
    assert len(acknowledged) == 1 and acknowledged[0]["changes"]["kind"][1] == "quarantine_requested"
    assert integrity_check(uow_factory()) == []

    # On the page: the other QP acknowledges the interim decision with one button, once.
    login(client, "qp.two", STRONG_PASSWORD)
    page = client.get("/notices").get_data(as_text=True)
    notice_id = rows(app, "SELECT n.id FROM user_notices n JOIN users u ON u.id = n.user_id WHERE u.username = "
                          "'qp.two' AND n.kind = 'interim_decision_taken'")[0].id
    assert f'id="acknowledge-{notice_id}"' in page
    token = csrf_token(client, "/notices")
    assert client.post(f"/notices/{notice_id}/acknowledge", data={"csrf_token": token}).status_code == 302
    assert f'id="acknowledged-{notice_id}"' in client.get("/notices").get_data(as_text=True)
    assert client.post(f"/notices/{notice_id}/acknowledge", data={"csrf_token": token}).status_code == 409


def registration_ref(api, cid) -> str:
    return api.get("qa_officer", f"/complaints/{cid}").get_json()["intake_ref"]


@pytest.mark.req("WF-11")
def test_the_pages_keep_the_list_and_show_the_delivery_of_notices(app, admin, officials, client, make_user):
    make_user("admin.two", "admin")
    login(client, "admin.two", STRONG_PASSWORD)
    page = client.get("/admin/responsible-officials")
    assert page.status_code == 200 and 'id="scope-recalls"' in page.get_data(as_text=True)
    token = csrf_token(client, "/admin/responsible-officials")
    missing = client.post("/admin/responsible-officials", data={"csrf_token": token, "scope": "returns",
                                                                "usernames": ["zhou.qing"], "reason": "职责调整"})
    assert missing.status_code == 400 and rows(app, "SELECT * FROM responsible_officials") == []
    done = client.post("/admin/responsible-officials", data={"csrf_token": token, "scope": "returns",
                                                             "usernames": ["zhou.qing"], **CHANGE})
    assert done.status_code == 302
    assert [tuple(r) for r in rows(app, "SELECT r.scope, u.username FROM responsible_officials r JOIN users u "
                                        "ON u.id = r.user_id")] == [("returns", "zhou.qing")]
    assert client.get("/notices/delivery").status_code == 200
    qa = app.test_client()
    login(qa, "liu.yang", STRONG_PASSWORD)
    assert qa.get("/admin/responsible-officials").status_code == 403
    _cid, number = investigated(admin)
    delivery = qa.get("/notices/delivery?subject_type=complaint").get_data(as_text=True)
    assert 'id="notice-delivery"' in delivery and number in delivery

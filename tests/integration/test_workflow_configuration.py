"""Issue 18 through /api/v1, the pages and `gmp tick` (SQLite and PostgreSQL):

- WF-04: a US product's triage records the Field-Alert screen's two criteria one by one; either yes owes the FAR;
- WF-09: the class I interim risk decision has its own configurable time limit, is shown on the complaint and the
  dashboard, and an overdue one is escalated once to the head of quality and the QP;
- HO-05: the recall decision carries market-specific actions, covered by the decision signatures;
- AT-10: a configuration change names its change-control reference, kept in its audit event and the periodic review.
"""
from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gmp_complaints.cli import main
from tests.conftest import csrf_token, login
from tests.integration.test_complaints_api import Api, api, registration, settings  # noqa: F401 (fixtures)
from tests.integration.test_recalls import decide, proposal, recall_api  # noqa: F401 (fixtures)
from tests.integration.test_signatures import sign
from tests.integration.test_timers import api_for, env, on_day  # noqa: F401 (fixtures)

US = {"markets": ["CN", "US"], "reason": "ANDA approved", "change_control_ref": "CC-2026-101"}
CLASSIFY = {"complaint_class": "II", "rationale": "标签混淆", "adr_suspected": False}


def rows(app, sql, **params):
    with app.extensions["gmp_engine"].connect() as connection:
        return [tuple(r) for r in connection.execute(sa.text(sql), params).all()]


def validated(api, **overrides) -> int:
    cid = api.ok("qa_officer", "/complaints", registration(**overrides), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    return cid


def english(client, username: str, password: str):
    """Logged in, the pages in English."""
    login(client, username, password)
    client.post("/language", data={"csrf_token": csrf_token(client, "/"), "lang": "en", "next": "/"})
    return client


def business_events(app, entity_type: str, entity_id) -> list[str]:
    return [a for (a,) in rows(app, "SELECT action FROM audit_events WHERE entity_type = :t AND entity_id = :i "
                                    "ORDER BY log_index", t=entity_type, i=str(entity_id))]


# --- WF-04 ---------------------------------------------------------------------------------------------------


@pytest.mark.req("WF-04", "HO-04")
def test_a_us_product_records_both_field_alert_criteria_and_either_yes_owes_the_far(app, api):
    from tests.integration.test_documents import pdf_text

    api.ok("qa_officer", "/products/P-001/markets", US)
    cid = validated(api, received_on="2026-11-09")
    before = api.get("qa_officer", f"/complaints/{cid}").get_json()
    events = business_events(app, "complaint", cid)
    for body, field in (({"field_alert_mix_up": True}, "field_alert_quality_defect"),
                        ({"field_alert_quality_defect": False}, "field_alert_mix_up"),
                        ({"field_alert_mix_up": "yes", "field_alert_quality_defect": False}, "field_alert_mix_up"),
                        ({"field_alert_mix_up": False, "field_alert_quality_defect": False, "field_alert": True},
                         "field_alert")):
        refused = api.post("qa_officer", f"/complaints/{cid}/classification", {**CLASSIFY, **body})
        assert refused.status_code == 400 and field in refused.get_json()["error"]["fields"], (body, refused.get_json())
    after = api.get("qa_officer", f"/complaints/{cid}").get_json()
    assert (after["number"], after["version"]) == (None, before["version"])  # nothing numbered, nothing stored
    assert business_events(app, "complaint", cid) == events
    classified = api.ok("qa_officer", f"/complaints/{cid}/classification",
                        {**CLASSIFY, "field_alert_mix_up": True, "field_alert_quality_defect": False})
    assert (classified["field_alert"], classified["field_alert_mix_up"], classified["field_alert_quality_defect"]) == (
        True, True, False)
    [entry] = [n for n in api.get("qa_head", "/notifications").get_json()["notifications"]
               if n["subject"] == classified["number"]]
    # Received Monday 2026-11-09; Veterans Day (Wednesday the 11th) is a US federal holiday: due Friday the 13th.
    assert (entry["kind"], entry["due_at"]) == ("field_alert", "2026-11-13T23:59:59+08:00")
    [event] = [e for e in api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
               if e["action"] == "complaint.classify"]
    assert event["changes"]["field_alert_mix_up"] == [None, True]
    assert event["changes"]["field_alert_quality_defect"] == [None, False]
    # The QP's acknowledgement covers both answers.
    signed = sign(api, "qp", cid, "qp_acknowledgement").get_json()
    assert [s["status"] for s in signed["signatures"]] == ["valid"]
    # Both answers on the page and on the handling sheet.
    client = english(app.test_client(), *api.credentials["auditor"])
    html = client.get(f"/complaints/{cid}").get_data(as_text=True)
    answer = html.split('id="field-alert-answer">')[1].split("</span>")[0]
    assert "(i) mix-up: yes" in answer and "(ii) contamination, deterioration or specification failure: no" in answer
    sheet = pdf_text(client.get(f"/complaints/{cid}/documents/handling_sheet.pdf?lang=en").data)
    assert "(i) The product or its labelling mistaken for, or applied to, another article: yes" in sheet
    assert "(ii) Bacteriological contamination" in sheet and "specifications of its application: no" in sheet


@pytest.mark.req("WF-04")
def test_two_no_answers_owe_nothing_and_the_single_answer_is_still_accepted(app, api):
    api.ok("qa_officer", "/products/P-001/markets", US)
    screened_no = api.ok("qa_officer", f"/complaints/{validated(api)}/classification",
                         {**CLASSIFY, "field_alert_mix_up": False, "field_alert_quality_defect": False,
                          "field_alert": False})
    assert (screened_no["field_alert"], screened_no["field_alert_mix_up"]) == (False, False)
    quality = api.ok("qa_officer", f"/complaints/{validated(api)}/classification",
                     {**CLASSIFY, "field_alert_mix_up": False, "field_alert_quality_defect": True})
    assert quality["field_alert"] is True
    legacy = api.ok("qa_officer", f"/complaints/{validated(api)}/classification", {**CLASSIFY, "field_alert": True})
    assert (legacy["field_alert"], legacy["field_alert_mix_up"], legacy["field_alert_quality_defect"]) == (
        True, None, None)
    owed = sorted(n["subject"] for n in api.get("qa_head", "/notifications").get_json()["notifications"]
                  if n["kind"] == "field_alert")
    assert owed == sorted([quality["number"], legacy["number"]])


@pytest.mark.req("WF-04")
def test_the_classification_page_asks_both_criteria_and_names_the_missing_one(app, api):
    api.ok("qa_officer", "/products/P-001/markets", US)
    cid = validated(api)
    client = app.test_client()
    login(client, *api.credentials["qa_officer"])
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'name="field_alert_mix_up"' in page and 'name="field_alert_quality_defect"' in page
    form = {"csrf_token": csrf_token(client, f"/complaints/{cid}"), "complaint_class": "II", "rationale": "标签混淆",
            "adr_suspected": "no", "field_alert_mix_up": "yes", "severity": "major", "units_affected": "20",
            "batches_affected": "1", "markets_affected": "CN, US"}
    missing = client.post(f"/complaints/{cid}/classify", data=form)
    assert missing.status_code == 400
    fieldset = missing.get_data(as_text=True).split('id="field-alert-screen"')[0].rsplit("<fieldset", 1)[1]
    assert "has-error" in missing.get_data(as_text=True).split('name="field_alert_quality_defect"')[0].rsplit(
        "<fieldset", 1)[1] and "has-error" not in fieldset
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["number"] is None
    done = client.post(f"/complaints/{cid}/classify", data={**form, "field_alert_quality_defect": "no"})
    assert done.status_code == 302
    stored = api.get("qa_officer", f"/complaints/{cid}").get_json()
    assert (stored["field_alert"], stored["field_alert_mix_up"], stored["field_alert_quality_defect"]) == (
        True, True, False)


# --- WF-09 ---------------------------------------------------------------------------------------------------


def tick(env, day: str) -> str:
    result = CliRunner(env={**env, "GMP_TODAY": day}).invoke(main, ["tick"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def signers(make_user):
    """The people of a class I complaint, the head of quality and the QP ready to sign."""
    credentials = {}
    for username, role in (("wang.fang", "intake"), ("li.na", "qa_officer"), ("liu.yang", "qa_head"),
                           ("chen.jing", "qp")):
        credentials[role] = (username, make_user(username, role, identity_verified=True)[1])
    return credentials


def as_of(on_day, day: str, credentials) -> Api:
    api = api_for(on_day(day), credentials)
    api.credentials = credentials
    for role, (username, password) in credentials.items():
        api.client.post("/api/v1/auth/esignature-statement", json={"password": password},
                        headers={"Authorization": f"Bearer {api.tokens[role]}"})
    return api


def class_i(api, day: str) -> int:
    cid = api.ok("intake", "/complaints", registration(received_on=day), 201)["id"]
    api.ok("intake", f"/complaints/{cid}/acknowledgement", {"sent_on": day, "method": "phone"})
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification", {"complaint_class": "I", "rationale": "混药",
                                                                "adr_suspected": False})
    return cid


@pytest.mark.req("WF-09", "WF-10")
def test_an_overdue_interim_decision_is_escalated_once_and_one_signed_in_time_is_not(on_day, env, signers):
    api = as_of(on_day, "2026-11-02", signers)
    api.ok("qa_officer", "/products", {"code": "P-001", "name": "阿莫西林胶囊", "strength": "0.25 g",
                                        "dosage_form": "capsule"}, 201)
    api.ok("qa_officer", "/batches", {"product_code": "P-001", "batch_no": "B2602", "manufactured_on": "2026-02-10",
                                      "expires_on": "2028-02-09"}, 201)
    late, on_time = class_i(api, "2026-11-02"), class_i(api, "2026-11-02")
    shown = api.get("qa_officer", f"/complaints/{late}").get_json()
    # Classified Monday 2 November: due by the end of the next working day (default 1), Tuesday the 3rd.
    assert shown["deadlines"]["interim_decision_due_on"] == "2026-11-03" and shown["interim_decided_at"] is None
    board = api.get("qa_head", "/dashboard?scope=all").get_json()
    assert [(c["id"], c["interim_decision"]) for c in board["interim_decisions"]] == [
        (late, {"due_on": "2026-11-03", "overdue": False}), (on_time, {"due_on": "2026-11-03", "overdue": False})]
    assert {c["id"]: c["next_due"]["kind"] for c in board["due"]} == {late: "interim_decision",
                                                                      on_time: "interim_decision"}
    assert api.get("qp", "/dashboard?scope=all").get_json()["interim_decisions"]  # the QP signs it too
    next_day = as_of(on_day, "2026-11-03", signers)
    for role in ("qa_head", "qp"):
        assert sign(next_day, role, on_time, "interim_risk_decision", measures=["quarantine"]).status_code == 201
    decided = next_day.get("qa_officer", f"/complaints/{on_time}").get_json()
    assert decided["interim_decided_at"].startswith("20") and decided["interim_decided_at"].endswith("+08:00")
    assert "escalated: 0" in tick(env, "2026-11-03")  # due today: not yet overdue
    assert "escalated: 1" in tick(env, "2026-11-04")  # only the one still undecided
    assert "escalated: 0" in tick(env, "2026-11-04") and "escalated: 0" in tick(env, "2026-11-05")  # once
    overdue = as_of(on_day, "2026-11-04", signers)
    board = overdue.get("qa_head", "/dashboard?scope=all").get_json()
    assert [(c["id"], c["escalation"]["kind"], c["escalation"]["due_on"]) for c in board["escalated"]] == [
        (late, "interim_decision", "2026-11-03")]
    assert [(c["id"], c["interim_decision"]["overdue"]) for c in board["interim_decisions"]] == [(late, True)]
    assert [c["id"] for c in board["overdue"]] == [late]
    for role in ("qa_head", "qp"):
        notices = [n for n in overdue.get(role, "/notices").get_json()["notices"]
                   if n["kind"] == "interim_decision_overdue"]
        assert [(n["subject_type"], n["subject_id"]) for n in notices] == [("complaint", late)]
    [escalation] = [e for e in overdue.get("qa_head", "/audit/events").get_json()["events"]
                    if e["action"] == "escalation.created"]
    assert escalation["changes"]["kind"] == [None, "interim_decision"]
    assert escalation["changes"]["to"] == [None, ["qa_head", "qp"]] and escalation["actor"]["id"] is None
    assert overdue.get("qa_officer", f"/complaints/{late}").get_json()["interim_decision_overdue"] is True
    # Signed late, it is no longer open; nothing more is escalated.
    for role in ("qa_head", "qp"):
        assert sign(overdue, role, late, "interim_risk_decision", measures=["stop_shipment"]).status_code == 201
    assert overdue.get("qa_head", "/dashboard?scope=all").get_json()["interim_decisions"] == []
    assert "escalated: 0" in tick(env, "2026-11-06")


@pytest.mark.req("WF-09", "AT-10")
def test_the_interim_decision_time_limit_is_configuration_and_shown_on_the_complaint(app, api, make_user, client,
                                                                                    uow_factory):
    from audit.integrity import integrity_check

    _, password = make_user("sun.qiang", "admin")
    api.tokens["admin"] = client.post("/api/v1/auth/token", json={"username": "sun.qiang", "password": password}
                                      ).get_json()["token"]
    first = validated(api)
    api.ok("qa_officer", f"/complaints/{first}/classification", {**CLASSIFY, "complaint_class": "I"})
    # Classified Friday 2026-11-20 (the pinned business date): due Monday the 23rd.
    assert api.get("qa_officer", f"/complaints/{first}").get_json()["deadlines"]["interim_decision_due_on"] == \
        "2026-11-23"
    api.ok("admin", "/time-limits", {"key": "interim_decision_after_class_i", "working_days": 2,
                                     "reason": "QP 出差安排", "change_control_ref": "CC-2026-102"})
    second = validated(api)
    api.ok("qa_officer", f"/complaints/{second}/classification", {**CLASSIFY, "complaint_class": "I"})
    assert api.get("qa_officer", f"/complaints/{second}").get_json()["deadlines"]["interim_decision_due_on"] == \
        "2026-11-24"
    # A due date already set does not move with the configuration.
    assert api.get("qa_officer", f"/complaints/{first}").get_json()["deadlines"]["interim_decision_due_on"] == \
        "2026-11-23"
    class_ii = validated(api)
    assert api.ok("qa_officer", f"/complaints/{class_ii}/classification", CLASSIFY)["deadlines"][
        "interim_decision_due_on"] is None
    page = english(app.test_client(), *api.credentials["qa_head"])
    html = page.get(f"/complaints/{second}").get_data(as_text=True)
    assert "due by the end of 2026-11-24" in html.split('id="interim-decision-due">')[1].split("</dd>")[0]
    board = page.get("/complaints/dashboard?scope=all").get_data(as_text=True)
    assert 'id="board-interim-decisions"' in board and "2026-11-24" in board.split('id="board-interim-decisions"')[1]
    for role in ("qa_head", "qp"):
        assert sign(api, role, second, "interim_risk_decision", measures=["quarantine"]).status_code == 201
    assert api.get("qa_officer", f"/complaints/{second}").get_json()["interim_decided_at"] is not None
    assert integrity_check(uow_factory()) == []  # the due dates and the decision time are all in the trail


@pytest.mark.req("WF-09")
def test_a_regrading_to_class_i_starts_the_interim_decision_clock_and_a_regrading_away_stops_it(api):
    cid = validated(api)
    api.ok("qa_officer", f"/complaints/{cid}/classification", CLASSIFY)
    regraded = api.ok("qa_head", f"/complaints/{cid}/regrading",
                      api.signed("qa_head", {"complaint_class": "I", "reason": "发现混药"}))
    # Regraded on Friday 2026-11-20: due Monday the 23rd; the head of quality and the QP are told.
    assert regraded["deadlines"]["interim_decision_due_on"] == "2026-11-23"
    board = api.get("qp", "/dashboard?scope=all").get_json()
    assert [(c["id"], c["interim_decision"]["due_on"]) for c in board["interim_decisions"]] == [(cid, "2026-11-23")]
    back = api.ok("qa_head", f"/complaints/{cid}/regrading",
                  api.signed("qa_head", {"complaint_class": "II", "reason": "复核：非混药"}))
    assert back["deadlines"]["interim_decision_due_on"] is None
    assert api.get("qp", "/dashboard?scope=all").get_json()["interim_decisions"] == []


# --- HO-05 ---------------------------------------------------------------------------------------------------

ACTIONS = [{"market": "us", "action": "FDA 3-day notification (21 CFR 7.46)"},
           {"market": "CN", "action": "Report to the provincial MPA (药品召回管理办法)"}]


@pytest.fixture
def us_recall_api(recall_api, make_user, client):
    api = recall_api
    api.ok("qa_officer", "/products/P-001/markets", US)
    _, password = make_user("gao.ying", "regulatory_affairs")
    api.tokens["regulatory_affairs"] = client.post(
        "/api/v1/auth/token", json={"username": "gao.ying", "password": password}).get_json()["token"]
    return api


@pytest.mark.req("HO-05")
def test_market_actions_are_part_of_the_proposal_shown_and_printed(app, us_recall_api):
    from tests.integration.test_documents import pdf_text

    api = us_recall_api
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification", {**CLASSIFY, "complaint_class": "I",
                                                                "field_alert": True})
    # The complaint class never fills in the recall level: left out, it is asked for.
    unlevelled = api.post("qa_officer", "/recalls", {k: v for k, v in proposal(complaint_ids=[cid]).items()
                                                     if k != "level"})
    assert unlevelled.status_code == 400 and list(unlevelled.get_json()["error"]["fields"]) == ["level"]
    recall = api.ok("qa_officer", "/recalls", proposal(complaint_ids=[cid], level="II", depth="patient",
                                                       fda_class="I", market_actions=ACTIONS), 201)
    assert (recall["level"], recall["depth"], recall["fda_class"]) == ("II", "patient", "I")  # not the class I
    assert recall["market_actions"] == [{"market": "CN", "action": "Report to the provincial MPA (药品召回管理办法)"},
                                        {"market": "US", "action": "FDA 3-day notification (21 CFR 7.46)"}]
    assert recall["markets_without_action"] == []
    [event] = [e for e in api.get("auditor", f"/audit/events?entity=recall:{recall['id']}").get_json()["events"]
               if e["action"] == "recall.proposed"]
    assert json.loads(event["changes"]["market_actions"][1]) == recall["market_actions"]
    decided = decide(api, recall["id"])
    assert [s["status"] for s in decided["signatures"]] == ["valid", "valid"] and decided["status"] == "in_progress"
    client = english(app.test_client(), *api.credentials["qa_head"])
    html = client.get(f"/recalls/{recall['id']}").get_data(as_text=True)
    shown = html.split('id="market-actions">')[1].split("</dd>")[0]
    assert "<strong>US</strong>: FDA 3-day notification (21 CFR 7.46)" in shown and "provincial MPA" in shown
    report = pdf_text(client.get(f"/recalls/{recall['id']}/report.pdf?lang=en").data)
    assert "US: FDA 3-day notification (21 CFR 7.46)" in report and "CN: Report to the provincial MPA" in report


@pytest.mark.req("HO-05", "VAL-03")
def test_bad_market_actions_name_the_field_and_store_nothing(app, us_recall_api):
    api = us_recall_api
    for actions, field in (([{"market": "JP", "action": "MHLW"}], "market_actions"),
                           ([{"market": "US", "action": "a"}, {"market": "us", "action": "b"}], "market_actions"),
                           ([{"market": "US"}], "market_actions.0.action"),
                           ("US: FDA", "market_actions")):
        refused = api.post("qa_officer", "/recalls", proposal(market_actions=actions))
        assert refused.status_code == 400 and field in refused.get_json()["error"]["fields"], refused.get_json()
    assert rows(app, "SELECT count(*) FROM recalls") == [(0,)]


@pytest.mark.req("HO-05", "SIG-04", "SIG-08")
def test_market_actions_set_before_the_decision_are_covered_by_its_signatures(app, us_recall_api, uow_factory):
    from audit.integrity import integrity_check

    api = us_recall_api
    recall = api.ok("recall_coordinator", "/recalls", proposal(), 201)
    rid = recall["id"]
    assert recall["market_actions"] == [] and recall["markets_without_action"] == ["CN", "US"]
    first = api.ok("qp", f"/recalls/{rid}/signatures", api.signed("qp", {"step": "recall_decision"}), 201)
    assert first["status"] == "proposed"
    no_reason = api.post("regulatory_affairs", f"/recalls/{rid}/market-actions", {"market_actions": ACTIONS})
    assert no_reason.status_code == 400 and list(no_reason.get_json()["error"]["fields"]) == ["reason"]
    events = business_events(app, "recall", rid)
    assert api.post("intake", f"/recalls/{rid}/market-actions",
                    {"market_actions": ACTIONS, "reason": "r"}).status_code == 403
    assert business_events(app, "recall", rid) == events
    assert api.get("qa_head", f"/recalls/{rid}").get_json()["version"] == recall["version"]
    changed = api.ok("regulatory_affairs", f"/recalls/{rid}/market-actions",
                     {"market_actions": ACTIONS[:1], "reason": "美国市场需 FDA 通报"})
    assert changed["version"] == recall["version"] + 1 and changed["markets_without_action"] == ["CN"]
    # The QP signed the decision without them: that signature no longer covers the decision.
    assert [s["status"] for s in changed["signatures"]] == ["superseded"]
    after_head = api.ok("qa_head", f"/recalls/{rid}/signatures", api.signed("qa_head", {"step": "recall_decision"}),
                        201)
    assert after_head["status"] == "proposed" and after_head["decided_at"] is None  # the QP's signature is stale
    decided = api.ok("qp", f"/recalls/{rid}/signatures", api.signed("qp", {"step": "recall_decision"}), 201)
    assert decided["status"] == "in_progress"
    assert [s["status"] for s in decided["signatures"]] == ["superseded", "valid", "valid"]
    [event] = [e for e in api.get("auditor", f"/audit/events?entity=recall:{rid}").get_json()["events"]
               if e["action"] == "recall.market_actions_changed"]
    assert event["reason"] == "美国市场需 FDA 通报" and event["changes"]["version"] == [1, 2]
    # Decided: the actions stay as signed (409), and the refusal changes nothing.
    events, version = business_events(app, "recall", rid), decided["version"]
    late = api.post("regulatory_affairs", f"/recalls/{rid}/market-actions", {"market_actions": ACTIONS, "reason": "r"})
    assert late.status_code == 409
    assert business_events(app, "recall", rid) == events
    again = api.get("qa_head", f"/recalls/{rid}").get_json()
    assert (again["version"], again["market_actions"]) == (version, decided["market_actions"])
    assert integrity_check(uow_factory()) == []  # the trail and the recall's stored actions agree


@pytest.mark.req("HO-05", "SIG-08")
def test_whoever_sets_the_market_actions_does_not_approve_the_decision(app, us_recall_api):
    api = us_recall_api
    rid = api.ok("qa_officer", "/recalls", proposal(), 201)["id"]
    api.ok("qa_head", f"/recalls/{rid}/market-actions", {"market_actions": ACTIONS, "reason": "补充各市场措施"})
    before = (api.get("qa_head", f"/recalls/{rid}").get_json(), business_events(app, "recall", rid))
    own = api.post("qa_head", f"/recalls/{rid}/signatures", api.signed("qa_head", {"step": "recall_decision"}))
    assert own.status_code == 403 and "author" in own.get_json()["error"]["message"]
    after = api.get("qa_head", f"/recalls/{rid}").get_json()
    assert (after["version"], after["signatures"], business_events(app, "recall", rid)) == (
        before[0]["version"], before[0]["signatures"], before[1])


@pytest.mark.req("HO-05")
def test_the_recall_page_sets_the_market_actions_before_the_decision(app, us_recall_api):
    api = us_recall_api
    rid = api.ok("qa_officer", "/recalls", proposal(), 201)["id"]
    client = app.test_client()
    login(client, *api.credentials["recall_coordinator"])
    page = client.get(f"/recalls/{rid}").get_data(as_text=True)
    assert 'id="set-market-actions"' in page
    token = csrf_token(client, f"/recalls/{rid}")
    bad = client.post(f"/recalls/{rid}/market-actions", data={"csrf_token": token, "reason": "r",
                                                              "market_actions": "JP: MHLW"})
    assert bad.status_code == 400 and "JP" in bad.get_data(as_text=True).split('id="set-market-actions"')[1]
    done = client.post(f"/recalls/{rid}/market-actions", data={
        "csrf_token": token, "reason": "法规事务确认", "market_actions": "US: FDA 3-day notification\nCN：省局报告\n"})
    assert done.status_code == 302
    assert api.get("qa_head", f"/recalls/{rid}").get_json()["market_actions"] == [
        {"market": "CN", "action": "省局报告"}, {"market": "US", "action": "FDA 3-day notification"}]


# --- AT-10 ---------------------------------------------------------------------------------------------------


@pytest.mark.req("AT-10", "AT-08")
def test_a_configuration_change_without_a_reference_changes_nothing_and_the_reference_is_reviewed(
        app, api, make_user, client, uow_factory):
    from gmp_complaints.services.periodic_review import periodic_review

    _, password = make_user("sun.qiang", "admin")
    api.tokens["admin"] = client.post("/api/v1/auth/token", json={"username": "sun.qiang", "password": password}
                                      ).get_json()["token"]
    count = rows(app, "SELECT count(*) FROM audit_events")[0][0]
    for body in ({"key": "II.formal_reply", "working_days": 25, "reason": "r"},
                 {"key": "II.formal_reply", "working_days": 25, "reason": "r", "change_control_ref": "  "}):
        refused = api.post("admin", "/time-limits", body)
        assert refused.status_code == 400 and list(refused.get_json()["error"]["fields"]) == ["change_control_ref"]
    assert rows(app, "SELECT working_days FROM time_limits WHERE key = 'II.formal_reply'") == [(20,)]
    assert rows(app, "SELECT count(*) FROM audit_events")[0][0] == count
    api.ok("admin", "/time-limits", {"key": "II.formal_reply", "working_days": 25, "reason": "管理评审",
                                     "change_control_ref": "CC-2026-014"})
    # The audit trail page shows the reference with the change.
    page = english(app.test_client(), *api.credentials["auditor"])
    trail = page.get("/audit/?entity=configuration:time_limits").get_data(as_text=True)
    assert "Change-control reference" in trail and "CC-2026-014" in trail
    report = periodic_review(uow_factory(), date_from=date(2026, 1, 1), date_to=date(2099, 12, 31))
    [change] = [c for c in report["configuration_changes"] if c["action"] == "configuration.time_limit_changed"]
    assert (change["change_control_ref"], change["reason"]) == ("CC-2026-014", "管理评审")
    # The installation's own defaults (gmp init) are the validated baseline: no reference.
    seeded = [c for c in report["configuration_changes"] if c["action"] == "configuration.time_limits_seeded"]
    assert all(c["change_control_ref"] is None for c in seeded)


@pytest.mark.req("AT-10")
def test_the_time_limit_page_asks_for_the_change_control_reference(app, make_user):
    _, password = make_user("sun.qiang", "admin")
    client = app.test_client()
    login(client, "sun.qiang", password)
    token = csrf_token(client, "/admin/time-limits")
    form = {"csrf_token": token, "key": "I.formal_reply", "working_days": "20", "reason": "管理评审"}
    missing = client.post("/admin/time-limits", data=form)
    html = missing.get_data(as_text=True)
    assert missing.status_code == 400
    assert "has-error" in html.split('id="change_control_ref"')[0].rsplit("<div", 1)[1]
    assert rows(app, "SELECT working_days FROM time_limits WHERE key = 'I.formal_reply'") == [(15,)]
    assert client.post("/admin/time-limits", data={**form, "change_control_ref": "CC-2026-015"}).status_code == 302
    assert rows(app, "SELECT working_days FROM time_limits WHERE key = 'I.formal_reply'") == [(20,)]

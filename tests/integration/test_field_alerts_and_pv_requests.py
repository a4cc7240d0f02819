"""The US field alert chain (HO-04: initial, follow-up and final reports, reminders on working days 1 and 2),
the US ADR triage (WF-03), group adverse events and clusters (HO-01), PV's batch-investigation requests
(HO-03) and the E2B(R3) export of the minimum case. SQLite and PostgreSQL."""
import hashlib
import json
from datetime import date
from xml.etree import ElementTree as ET

import pytest

from gmp_complaints.services.calendars import US_CALENDAR, load_calendar
from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401
from tests.integration.test_pharmacovigilance import (  # noqa: F401
    CASE,
    answered_and_satisfied,
    business_events,
    pv_api,
    rows,
)
from tests.integration.test_timers import api_for, env, on_day, tick  # noqa: F401

HL7 = {"h": "urn:hl7-org:v3"}


def us_product(api):
    api.ok("qa_officer", "/products/P-001/markets", {"markets": ["CN", "US"], "reason": "ANDA approved", "change_control_ref": "CC-2026-001"})


def classified_with_field_alert(api, received_on="2026-11-09", **triage):
    cid = api.ok("qa_officer", "/complaints", registration(received_on=received_on), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    return api.ok("qa_officer", f"/complaints/{cid}/classification", {
        "complaint_class": "II", "rationale": "标签混淆", "adr_suspected": bool(triage), "field_alert": True, **triage})


def register(api):
    return api.get("regulatory_affairs", "/notifications").get_json()["notifications"]


def field_alerts(api, subject):
    return [n for n in register(api) if n["kind"] == "field_alert" and n["subject"] == subject]


@pytest.mark.req("WF-03")
def test_a_us_product_with_a_suspected_reaction_is_triaged_serious_and_unexpected(app, pv_api):
    api = pv_api
    us_product(api)
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    body = {"complaint_class": "II", "rationale": "皮疹", "adr_suspected": True, "field_alert": False}
    before, events_before = api.get("qa_officer", f"/complaints/{cid}").get_json(), business_events(app)
    refused = api.post("qa_officer", f"/complaints/{cid}/classification", body)
    assert refused.status_code == 400
    assert set(refused.get_json()["error"]["fields"]) == {"adr_serious", "adr_unexpected"}
    assert api.get("qa_officer", f"/complaints/{cid}").get_json() == before  # not numbered, nothing changed
    assert business_events(app) == events_before
    classified = api.ok("qa_officer", f"/complaints/{cid}/classification",
                        {**body, "adr_serious": True, "adr_unexpected": False})
    assert classified["number"].startswith("TS-II-")
    assert (classified["classification"]["adr_serious"], classified["classification"]["adr_unexpected"]) == (True, False)
    # With no reaction suspected the US triage is not asked, and answers given are not kept.
    other = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{other}/validity", {"information_complete": True, "substantiated": True})
    plain = api.ok("qa_officer", f"/complaints/{other}/classification",
                   {**body, "adr_suspected": False, "adr_serious": True, "adr_unexpected": True})
    assert "adr_serious" not in plain["classification"]


@pytest.mark.req("HO-04", "HO-13")
def test_a_field_alert_runs_initial_follow_up_and_final_reports(app, pv_api):
    api = pv_api
    us_product(api)
    number = classified_with_field_alert(api)["number"]
    [initial] = field_alerts(api, number)
    assert (initial["stage"], initial["follows_id"], initial["reminders_sent"]) == ("initial", None, 0)
    sent_at = initial["created_at"]
    # The FDA office and whether it was the final report are part of recording a field alert as sent.
    before, events_before = rows(app, "SELECT * FROM notifications ORDER BY id"), business_events(app)
    refused = api.post("regulatory_affairs", f"/notifications/{initial['id']}/sent",
                       {"sent_at": sent_at, "method": "fax", "reference": "3331a"})
    assert refused.status_code == 400
    assert set(refused.get_json()["error"]["fields"]) == {"recipient", "final"}
    assert rows(app, "SELECT * FROM notifications ORDER BY id") == before and business_events(app) == events_before
    sent = api.ok("regulatory_affairs", f"/notifications/{initial['id']}/sent",
                  {"sent_at": sent_at, "method": "electronic", "reference": "FAR-2026-118",
                   "recipient": "FDA CDER Office of Manufacturing Quality", "final": False})
    assert (sent["stage"], sent["recipient"]) == ("initial", "FDA CDER Office of Manufacturing Quality")
    [first, follow_up] = field_alerts(api, number)
    assert (follow_up["stage"], follow_up["follows_id"], follow_up["status"]) == ("follow_up", initial["id"], "due")
    # Due 20 working days of the US federal calendar after the day the initial report was sent.
    sent_on = date.fromisoformat(sent_at[:10])
    with app.app_context():
        from gmp_complaints import unit_of_work

        with unit_of_work(app) as uow:
            expected = load_calendar(uow.session, US_CALENDAR).add_working_days(sent_on, 20)
    assert follow_up["due_at"] == f"{expected.isoformat()}T23:59:59+08:00"
    assert (expected - sent_on).days >= 28
    final = api.ok("regulatory_affairs", f"/notifications/{follow_up['id']}/sent",
                   {"sent_at": sent_at, "method": "electronic", "reference": "FAR-2026-118 final",
                    "recipient": "FDA CDER Office of Manufacturing Quality", "final": True})
    assert final["stage"] == "final"
    assert [n["stage"] for n in field_alerts(api, number)] == ["initial", "final"]  # the chain is complete
    # A "final" flag on another kind of entry is refused, naming the field.
    other = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{other}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{other}/classification",
           {"complaint_class": "I", "rationale": "r", "adr_suspected": False, "field_alert": False})
    quality = api.ok("pv_officer", f"/complaints/{other}/adr", CASE, 201)
    [report] = [n for n in register(api) if n["subject"] == quality["number"]]
    wrong = api.post("regulatory_affairs", f"/notifications/{report['id']}/sent",
                     {"sent_at": report["created_at"], "method": "online", "final": True})
    assert wrong.status_code == 400 and list(wrong.get_json()["error"]["fields"]) == ["final"]


@pytest.mark.req("HO-04")
def test_an_open_field_alert_chain_blocks_closure_until_the_final_report(app, pv_api):
    api = pv_api
    us_product(api)
    classified = classified_with_field_alert(api, received_on="2026-11-02")
    cid, number = classified["id"], classified["number"]
    answered_and_satisfied(api, cid)
    before, events_before = api.get("qa_head", f"/complaints/{cid}").get_json(), business_events(app)
    refused = api.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "关闭"}))
    assert refused.status_code == 409 and "final field alert report" in refused.get_json()["error"]["message"]
    assert api.get("qa_head", f"/complaints/{cid}").get_json() == before and business_events(app) == events_before
    [initial] = field_alerts(api, number)
    api.ok("regulatory_affairs", f"/notifications/{initial['id']}/sent", {
        "sent_at": initial["created_at"], "method": "electronic", "recipient": "FDA", "final": True})
    still = api.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "关闭"}))
    assert "field alert" not in still.get_json()["error"]["message"]


@pytest.mark.req("HO-04")
def test_gmp_tick_reminds_on_us_working_days_1_and_2_once_each(on_day, env, make_user):
    credentials = {role: (username, make_user(username, role)[1]) for username, role in (
        ("wang.fang", "intake"), ("li.na", "qa_officer"), ("gao.yan", "regulatory_affairs"))}
    app = on_day("2026-11-09")
    api = api_for(app, credentials)
    api.ok("qa_officer", "/products", {"code": "P-001", "name": "阿莫西林胶囊", "strength": "0.25 g",
                                        "dosage_form": "capsule", "markets": ["CN", "US"]}, 201)
    api.ok("qa_officer", "/batches", {"product_code": "P-001", "batch_no": "B2602", "manufactured_on": "2026-02-10",
                                      "expires_on": "2028-02-09"}, 201)
    number = classified_with_field_alert(api, received_on="2026-11-09")["number"]

    def reminders():
        return [json.loads(canonical)["changes"]["working_day"][1] for (canonical,) in rows(
            app, "SELECT canonical FROM audit_events WHERE action = 'notification.reminded' ORDER BY log_index")]

    # Received Monday 9 November: working day 1 is Tuesday; Wednesday 11th is Veterans Day, so day 2 is Thursday.
    assert "field alert reminders: 0" in tick(env, "2026-11-09")
    assert "field alert reminders: 1" in tick(env, "2026-11-10")
    assert "field alert reminders: 0" in tick(env, "2026-11-11")  # once per working day, and the 11th is a holiday
    assert "field alert reminders: 1" in tick(env, "2026-11-12")
    assert reminders() == [1, 2]
    [entry] = field_alerts(api, number)
    assert entry["reminders_sent"] == 2
    assert "field alert reminders: 0" in tick(env, "2026-11-16")  # overdue by then: escalated, not reminded
    assert reminders() == [1, 2]


@pytest.mark.req("HO-01")
def test_a_group_adverse_event_is_reported_at_once_and_a_cluster_is_pointed_out(pv_api):
    api = pv_api
    first = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    one = api.ok("intake", f"/complaints/{first}/adr", {**CASE, "aware_on": "2026-10-15", "group_event": True}, 201)
    case = one["adr"]["cases"][0]
    assert case["group_event"] is True and case["possible_cluster"] == []
    immediate = sorted(r["authority"] for r in case["reports"] if r["due_at"].startswith("2026-10-15"))
    assert len(immediate) == 3 and any("卫生健康" in a for a in immediate) and any("监测机构" in a for a in immediate)
    assert len(case["reports"]) == 4  # and the 15-day report of a serious reaction
    # A second reaction to the same product within 30 days of day 0 is pointed out as a possible cluster.
    second = api.ok("qa_officer", "/complaints", registration(received_on="2026-11-10"), 201)["id"]
    two = api.ok("intake", f"/complaints/{second}/adr", {**CASE, "aware_on": "2026-11-10"}, 201)
    assert two["adr"]["cases"][0]["possible_cluster"] == [one["intake_ref"]]
    assert two["adr"]["cases"][0]["group_event"] is False
    # 16 November is 32 days after the first day 0 and 6 after the second.
    later = api.ok("qa_officer", "/complaints", registration(received_on="2026-11-16"), 201)["id"]
    three = api.ok("intake", f"/complaints/{later}/adr", {**CASE, "aware_on": "2026-11-16"}, 201)
    assert three["adr"]["cases"][0]["possible_cluster"] == [two["intake_ref"]]


@pytest.mark.req("HO-03")
def test_pv_asks_for_a_batch_investigation_and_gets_the_answer_back(app, pv_api):
    api = pv_api
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("intake", f"/complaints/{cid}/adr", CASE, 201)
    path = f"/complaints/{cid}/adr/1/investigation-requests"
    question = {"question": "该批次是否有杂质超标或生产偏差？", "batch_nos": ["B2602", "B2603"]}
    assert api.post("qa_officer", path, question).status_code == 403  # PV asks
    unknown = api.post("pv_officer", path, {**question, "batch_nos": ["B9999"]})
    assert unknown.status_code == 400 and "B9999" in unknown.get_json()["error"]["fields"]["batch_nos"][0]
    assert rows(app, "SELECT count(*) FROM adr_investigation_requests")[0][0] == 0
    asked = api.ok("pv_officer", path, question, 201)["adr"]["cases"][0]["investigation_requests"]
    assert [(r["sequence"], r["batch_nos"], r["answer"], r["requested_by"]["username"]) for r in asked] == [
        (1, ["B2602", "B2603"], None, "sun.li")]
    answer_path = f"{path}/1/answer"
    assert api.post("pv_officer", answer_path, {"answer": "x"}).status_code == 403  # the asker does not answer
    empty = api.post("investigator", answer_path, {"answer": " "})
    assert empty.status_code == 400 and list(empty.get_json()["error"]["fields"]) == ["answer"]
    answered = api.ok("investigator", answer_path, {"answer": "批生产记录与检验记录复核无偏差；留样复检合格。"})
    request = answered["adr"]["cases"][0]["investigation_requests"][0]
    assert request["answered_by"]["username"] == "zhang.wei" and request["answer"].startswith("批生产记录")
    # Fed back to PV: PV reads the answer with the case.
    seen = api.get("pv_officer", f"/complaints/{cid}").get_json()["adr"]["cases"][0]["investigation_requests"][0]
    assert seen["answer"] == request["answer"] and seen["answered_at"]
    before, events_before = rows(app, "SELECT * FROM adr_investigation_requests"), business_events(app)
    again = api.post("qa_officer", answer_path, {"answer": "改写"})
    assert again.status_code == 409
    assert rows(app, "SELECT * FROM adr_investigation_requests") == before and business_events(app) == events_before
    actions = [a for _, a in business_events(app) if a.startswith("adr_investigation_request.")]
    assert actions == ["adr_investigation_request.requested", "adr_investigation_request.answered"]


@pytest.mark.req("HO-03")
def test_an_unanswered_pv_request_blocks_closure(pv_api):
    from tests.integration.test_complaints_api import run_to_reply

    api = pv_api
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    run_to_reply(api, cid)
    api.ok("qa_officer", f"/complaints/{cid}/adr", CASE, 201)
    api.ok("pv_officer", f"/complaints/{cid}/adr/1/acceptance", {})
    api.ok("pv_officer", f"/complaints/{cid}/adr/1/investigation-requests", {"question": "批次偏差？"}, 201)
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": "2026-11-20", "satisfied": True,
                                                                "text": "满意"})
    refused = api.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "关闭"}))
    assert refused.status_code == 409 and "not yet answered" in refused.get_json()["error"]["message"]
    api.ok("qa_officer", f"/complaints/{cid}/adr/1/investigation-requests/1/answer", {"answer": "无偏差"})
    still = api.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "关闭"}))
    assert "not yet answered" not in still.get_json()["error"]["message"]


def test_the_minimum_case_exports_as_an_e2b_r3_message_and_the_export_is_audited(app, pv_api):
    api = pv_api
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    complaint = api.ok("intake", f"/complaints/{cid}/adr", CASE, 201)
    assert api.get("qp", f"/complaints/{cid}/adr/1/e2b.xml").status_code == 403  # health data in clear
    response = api.get("pv_officer", f"/complaints/{cid}/adr/1/e2b.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "{urn:hl7-org:v3}MCCI_IN200100UV01"
    event = root.find(".//h:investigationEvent", HL7)
    ids = [i.get("extension") for i in event.findall("h:id", HL7)]
    assert ids[0] == f"{complaint['intake_ref']}-ADR-1"
    assert event.find("h:effectiveTime/h:low", HL7).get("value") == "20261101"
    [reaction] = [o for o in root.iter("{urn:hl7-org:v3}observation")
                  if o.find("h:code", HL7) is not None and o.find("h:code", HL7).get("code") == "29"]
    assert reaction.find("h:value/h:originalText", HL7).text == CASE["reaction"]
    criteria = {o.find("h:code", HL7).get("code"): o.find("h:value", HL7).get("value")
                for o in reaction.findall("h:outboundRelationship2/h:observation", HL7)}
    assert criteria["33"] == "true" and criteria["34"] == "false"  # hospitalisation, not death
    assert [lot.text for lot in root.iter("{urn:hl7-org:v3}lotNumberText")] == ["B2602"]
    assert root.find(".//h:kindOfProduct/h:name", HL7).text.startswith("阿莫西林胶囊")
    assert root.find(".//h:assignedPerson/h:name", HL7).text == CASE["reporter"]
    [(canonical,)] = rows(app, "SELECT canonical FROM audit_events WHERE action = 'adr_case.packet_exported'")
    exported = json.loads(canonical)["changes"]
    assert exported["document"][1] == "e2b_r3_xml"
    assert exported["file_sha256"][1] == hashlib.sha256(response.data).hexdigest()


@pytest.mark.req("WF-03")
def test_the_registration_page_asks_about_a_reaction_and_opens_the_hand_off(client, pv_api):
    from tests.conftest import csrf_token, login

    username, password = pv_api.credentials["intake"]
    login(client, username, password)
    form = {"csrf_token": csrf_token(client, "/complaints/new"), "received_on": "2026-11-02", "channel": "phone",
            "complainant_name": "王芳", "complainant_organisation": "仁和大药房", "complainant_phone": "13800001234",
            "complainant_email": "", "product_code": "P-001", "batch_nos": "B2602",
            "complaint_type": "intrinsic_quality", "description": "服药后出现皮疹", "sample_available": "no",
            "adr_suspected": "yes"}
    page = client.get("/complaints/new").get_data(as_text=True)
    assert 'name="adr_suspected"' in page
    response = client.post("/complaints/new", data=form)
    assert response.status_code == 302 and "adr_hand_off=1" in response.location
    assert response.location.endswith("#adr-hand-off")
    shown = client.get(response.location.split("#")[0]).get_data(as_text=True)
    assert '<details open id="adr-hand-off">' in shown
    plain = client.post("/complaints/new", data={**form, "csrf_token": csrf_token(client, "/complaints/new"),
                                                 "adr_suspected": "no"})
    assert plain.status_code == 302 and "adr_hand_off" not in plain.location


@pytest.mark.req("HO-14")
def test_the_contract_partner_is_master_data_and_is_told_of_each_complaint(app, pv_api):
    api = pv_api
    partner = {"markets": ["CN"], "contract_partner": "华东药业有限公司（委托方）",
               "partner_quality_contact": "质量部 周敏 021-6000 1234 zhoumin@hd-pharma.cn", "reason": "委托生产协议生效",
               "change_control_ref": "CC-2026-002"}
    changed = api.ok("qa_officer", "/products/P-001/markets", partner)
    assert (changed["contract_partner"], changed["partner_quality_contact"]) == (
        partner["contract_partner"], partner["partner_quality_contact"])
    same = api.post("qa_officer", "/products/P-001/markets", partner)
    assert same.status_code == 400  # nothing changed
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    classified = api.ok("qa_officer", f"/complaints/{cid}/classification",
                        {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
    assert classified["partner"]["partner_quality_contact"].startswith("质量部 周敏")
    [notice] = [n for n in register(api) if n["subject"] == classified["number"]]
    # Classified on Friday 2026-11-20: the partner is told by the end of the next working day, Monday the 23rd.
    assert (notice["kind"], notice["due_at"]) == ("quality_report", "2026-11-23T23:59:59+08:00")
    assert notice["authority"].endswith("华东药业有限公司（委托方）")
    sent = api.ok("regulatory_affairs", f"/notifications/{notice['id']}/sent", {
        "sent_at": notice["created_at"], "method": "email", "recipient": "周敏（委托方质量部）"})
    assert (sent["recipient"], sent["method"]) == ("周敏（委托方质量部）", "email")
    # A product made here for no partner tells no one.
    api.ok("qa_officer", "/products/P-001/markets", {"markets": ["CN"], "reason": "协议终止",
                                                     "change_control_ref": "CC-2026-003"})
    other = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{other}/validity", {"information_complete": True, "substantiated": True})
    plain = api.ok("qa_officer", f"/complaints/{other}/classification",
                   {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
    assert plain["partner"] is None and not [n for n in register(api) if n["subject"] == plain["number"]]

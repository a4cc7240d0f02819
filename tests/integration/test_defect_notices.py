"""Quality defects of a product marketed in the EEA are reported to its competent authorities and to the
marketing authorisation holder before a recall is executed, and also when no recall is proposed because
the batch has expired (EU GMP 8.15, 8.25, 8.26; baseline HO-08). Product markets are master data, changed
with a reason. SQLite and PostgreSQL."""
import pytest

from tests.integration.test_complaints_api import api, assign_investigator, registration, settings  # noqa: F401
from tests.integration.test_recalls import business_events, decide, proposal, recall_api, rows  # noqa: F401

EU_MARKETS = {"markets": ["cn", "DE", "FR"], "marketing_authorisation_holder": "Hanse Pharma GmbH",
              "reason": "MA granted in Germany and France", "change_control_ref": "CC-2026-011"}


def defect_entries(api, subject):
    return sorted((n["authority"], n["status"]) for n in api.get("qa_head", "/notifications").get_json()["notifications"]
                  if n["kind"] == "quality_report" and n["subject"] == subject)


@pytest.mark.req("HO-08")
def test_a_recall_of_an_eu_product_waits_for_the_authorities_to_be_told(app, recall_api):
    api = recall_api
    changed = api.ok("qa_officer", "/products/P-001/markets", EU_MARKETS)
    assert changed["markets"] == ["CN", "DE", "FR"] and changed["marketing_authorisation_holder"] == "Hanse Pharma GmbH"
    recall = api.ok("qa_officer", "/recalls", proposal(), 201)
    # Told at once, on the proposal: each concerned authority in the EEA and the MAH; China is not in the EEA.
    assert defect_entries(api, recall["number"]) == [
        ("DE 药品主管当局 (competent authority)", "due"), ("FR 药品主管当局 (competent authority)", "due"), ("上市许可持有人 (MAH): Hanse Pharma GmbH", "due")]
    rid = recall["id"]
    decide(api, rid)
    before = (rows(app, "SELECT count(*) FROM recall_reconciliations")[0][0], business_events(app, rid))
    refused = api.post("recall_coordinator", f"/recalls/{rid}/reconciliation", {
        "consignee": "华润医药北京", "batch_no": "B2602", "quantity_recovered": 800, "quantity_destroyed": 0})
    assert refused.status_code == 409 and "EU GMP 8.15" in refused.get_json()["error"]["message"]
    assert (rows(app, "SELECT count(*) FROM recall_reconciliations")[0][0], business_events(app, rid)) == before
    for entry in api.get("qa_head", f"/recalls/{rid}").get_json()["notifications"]:
        if entry["kind"] == "quality_report":
            api.ok("recall_coordinator", f"/notifications/{entry['id']}/sent",
                   {"sent_at": entry["created_at"], "method": "email", "reference": "QDR-2026-7"})
    api.ok("recall_coordinator", f"/recalls/{rid}/reconciliation", {
        "consignee": "华润医药北京", "batch_no": "B2602", "quantity_recovered": 800, "quantity_destroyed": 0})


@pytest.mark.req("HO-08")
def test_a_very_serious_risk_lets_the_recall_run_first_and_is_part_of_the_signed_decision(recall_api):
    api = recall_api
    api.ok("qa_officer", "/products/P-001/markets", EU_MARKETS)
    reason = "致死性污染：先召回，同时通报"
    recall = api.ok("qa_officer", "/recalls", proposal(authority_notice_exception=reason), 201)
    assert recall["authority_notice_exception"] == reason
    decided = decide(api, recall["id"])
    assert all(s["status"] == "valid" for s in decided["signatures"])
    api.ok("recall_coordinator", f"/recalls/{recall['id']}/reconciliation", {
        "consignee": "华润医药北京", "batch_no": "B2602", "quantity_recovered": 800, "quantity_destroyed": 0})
    # The notifications are still owed: the register keeps them due.
    assert [status for _, status in defect_entries(api, recall["number"])] == ["due", "due", "due"]


@pytest.mark.req("HO-08")
def test_a_product_sold_only_in_china_owes_no_eu_notification_and_a_mock_recall_owes_nothing(recall_api):
    api = recall_api
    recall = api.ok("qa_officer", "/recalls", proposal(), 201)
    assert defect_entries(api, recall["number"]) == []
    api.ok("qa_officer", "/products/P-001/markets", EU_MARKETS)
    mock = api.ok("qa_officer", "/recalls", proposal(mock=True), 201)
    assert defect_entries(api, mock["number"]) == []


def assessed(api, batch_no, actions):
    cid = api.ok("qa_officer", "/complaints", registration(batch_nos=[batch_no]), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    numbered = api.ok("qa_officer", f"/complaints/{cid}/classification",
                      {"complaint_class": "II", "rationale": "密封缺陷", "adr_suspected": False})
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "封口压力偏低", "impact": "仅本批", "other_batches_affected": "无", "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/assessment",
           {"reasonable": True, "actions": actions, "adr_confirmed": False, "regulator_report_required": False})
    return numbered["number"]


@pytest.mark.req("HO-08")
def test_a_defect_without_recall_because_the_batch_expired_is_reported_all_the_same(api):
    api.ok("qa_officer", "/products/P-001/markets", {**EU_MARKETS, "marketing_authorisation_holder": None})
    api.ok("qa_officer", "/batches", {"product_code": "P-001", "batch_no": "B2301", "manufactured_on": "2023-01-10",
                                      "expires_on": "2025-01-09"}, 201)
    expired = assessed(api, "B2301", ["compensation"])
    assert defect_entries(api, expired) == [("DE 药品主管当局 (competent authority)", "due"), ("FR 药品主管当局 (competent authority)", "due")]
    in_date = assessed(api, "B2602", ["compensation"])
    assert defect_entries(api, in_date) == []  # a batch still on the market: the recall decision is the path
    [entry] = [n for n in api.get("qa_head", "/notifications").get_json()["notifications"]
               if n["subject"] == expired and n["authority"].startswith("DE ")]
    assert entry["subject_type"] == "complaint"


@pytest.mark.req("AT-01", "AT-10")
def test_markets_are_master_data_changed_with_a_reason(app, api):
    def stored():
        return rows(app, "SELECT markets, marketing_authorisation_holder FROM products WHERE code = 'P-001'")[0]

    assert tuple(stored()) == ("CN", None)  # the home market until master data says otherwise
    without_ref = {k: v for k, v in EU_MARKETS.items() if k != "change_control_ref"}
    for body, field in (({**EU_MARKETS, "reason": ""}, "reason"), ({**EU_MARKETS, "markets": ["Germany"]}, "markets"),
                        ({**EU_MARKETS, "markets": []}, "markets"), ({**EU_MARKETS, "markets": "DE"}, "markets"),
                        (without_ref, "change_control_ref"), ({**EU_MARKETS, "change_control_ref": " "},
                                                              "change_control_ref")):
        response = api.post("qa_officer", "/products/P-001/markets", body)
        assert response.status_code == 400 and field in response.get_json()["error"]["fields"], (body, response.get_json())
        assert tuple(stored()) == ("CN", None)
    assert api.post("qa_officer", "/products/P-404/markets", EU_MARKETS).status_code == 404
    assert api.post("investigator", "/products/P-001/markets", EU_MARKETS).status_code == 403
    assert tuple(stored()) == ("CN", None)
    api.ok("qa_officer", "/products/P-001/markets", EU_MARKETS)
    assert tuple(stored()) == ("CN DE FR", "Hanse Pharma GmbH")
    [event] = [e for e in api.get("auditor", "/audit/events").get_json()["events"]
               if e["action"] == "product.markets_changed"]
    assert event["reason"] == "MA granted in Germany and France"
    assert event["changes"]["markets"] == ["CN", "CN DE FR"]
    assert event["changes"]["change_control_ref"] == [None, "CC-2026-011"]  # AT-10: kept with the change
    created = api.ok("qa_officer", "/products", {"code": "P-002", "name": "布洛芬片", "strength": "0.2 g",
                                                  "dosage_form": "tablet", "markets": ["US", "CN"]}, 201)
    assert created["markets"] == ["CN", "US"] and created["marketing_authorisation_holder"] is None


@pytest.mark.req("HO-13")
def test_report_to_the_regulator_creates_a_quality_report_due_the_next_working_day(app, api):
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    number = api.ok("qa_officer", f"/complaints/{cid}/classification",
                    {"complaint_class": "II", "rationale": "变质", "adr_suspected": False})["number"]
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "储存温度失控导致变质", "impact": "本批", "other_batches_affected": "无", "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/assessment", {"reasonable": True, "actions": ["recall"],
                                                           "adr_confirmed": False, "regulator_report_required": True})
    [entry] = [n for n in api.get("qa_head", "/notifications").get_json()["notifications"] if n["subject"] == number]
    # Assessed on Friday 2026-11-20: one working day later is Monday 2026-11-23, at the end of the day.
    assert (entry["kind"], entry["subject_type"], entry["due_at"]) == (
        "quality_report", "complaint", "2026-11-23T23:59:59+08:00")
    assert entry["authority"].startswith("所在地省级药品监督管理部门")
    assert rows(app, "SELECT count(*) FROM notifications")[0][0] == 1  # a CN-only product owes the EU nothing


@pytest.mark.req("WF-04", "HO-04", "WF-05")
def test_a_us_product_asks_the_field_alert_question_and_yes_is_due_in_3_us_working_days(app, api):
    api.ok("qa_officer", "/products/P-001/markets", {"markets": ["CN", "US"], "reason": "ANDA approved", "change_control_ref": "CC-2026-001"})
    cid = api.ok("qa_officer", "/complaints", registration(received_on="2026-11-09"), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    body = {"complaint_class": "II", "rationale": "标签混淆", "adr_suspected": False}
    unanswered = api.post("qa_officer", f"/complaints/{cid}/classification", body)
    assert unanswered.status_code == 400 and "field_alert" in unanswered.get_json()["error"]["fields"]
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["number"] is None  # nothing numbered
    classified = api.ok("qa_officer", f"/complaints/{cid}/classification", {**body, "field_alert": True})
    assert classified["field_alert"] is True
    [entry] = [n for n in api.get("qa_head", "/notifications").get_json()["notifications"]
               if n["subject"] == classified["number"]]
    # Received Monday 2026-11-09; Wednesday 11 November is Veterans Day, a US federal holiday: due Friday the 13th.
    assert (entry["kind"], entry["authority"], entry["due_at"]) == (
        "field_alert", "FDA district office (Form FDA 3331a)", "2026-11-13T23:59:59+08:00")
    other = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{other}/validity", {"information_complete": True, "substantiated": True})
    screened_no = api.ok("qa_officer", f"/complaints/{other}/classification", {**body, "field_alert": False})
    assert screened_no["field_alert"] is False
    assert len(rows(app, "SELECT id FROM notifications WHERE kind = 'field_alert'")) == 1


@pytest.mark.req("WF-04")
def test_a_product_not_sold_in_the_us_is_not_asked(api):
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    classified = api.ok("qa_officer", f"/complaints/{cid}/classification",
                        {"complaint_class": "II", "rationale": "r", "adr_suspected": False, "field_alert": True})
    assert classified["field_alert"] is None  # not asked, not kept

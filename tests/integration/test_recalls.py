"""Recall through /api/v1 (SOP 5.5.3, DESIGN §4 and §6; HO-05 … HO-11): the record and its number, the
decision signed by the QA head and the QP, the clocks and the register, the consignee list and its
reconciliation, the final report, and the complaint that cannot close over an open recall. SQLite and
PostgreSQL."""
import hashlib
import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import prepared_state
from tests.integration.test_complaints_api import TODAY, api, assign_investigator, registration, settings  # noqa: F401
from tests.integration.test_signatures import classified, sign


@pytest.fixture
def recall_api(request, app, api, client, make_user):
    """The complaint API's users, a recall coordinator and distribution records with contacts. Built once per
    backend and copied for later tests (tests/conftest.py ``prepared_state``)."""

    def build() -> None:
        _, password = make_user("zhou.min", "recall_coordinator", identity_verified=True)
        api.tokens["recall_coordinator"] = client.post(
            "/api/v1/auth/token", json={"username": "zhou.min", "password": password}).get_json()["token"]
        api.credentials["recall_coordinator"] = ("zhou.min", password)
        for consignee, batch_no, quantity, shipped, extra in (
                ("国药控股上海", "B2602", 1200, "2026-03-01", {"contact": "陈经理", "phone": "021-5555 0101",
                                                             "email": "recall@sinopharm-sh.example.cn",
                                                             "out_of_hours_contact": "139 0000 0101"}),
                ("国药控股上海", "B2602", 300, "2026-04-01", {"contact": "陈经理", "phone": "021-5555 0101"}),
                ("华润医药北京", "B2602", 800, "2026-03-05", {"address": "北京市东城区", "is_export": False}),
                ("Apotheke Berlin", "B2602", 50, "2026-03-20", {"is_export": True}),
                ("仁和大药房", "B2603", 400, "2026-04-02", {})):
            api.ok("qa_officer", "/distributions", {"product_code": "P-001", "batch_no": batch_no,
                                                    "consignee": consignee, "quantity": quantity,
                                                    "shipped_on": shipped, **extra}, 201)

    prepared_state(request, app, build)
    return api


def proposal(**overrides):
    body = {"complaint_ids": [], "batch_nos": ["B2602"], "product_code": "P-001", "level": "I",
            "depth": "retail", "reason": "胶囊受潮，可能影响疗效", "safety_hazard": False, "mock": False}
    body.update(overrides)
    return body


def decide(api, recall_id):
    api.ok("qp", f"/recalls/{recall_id}/signatures", api.signed("qp", {"step": "recall_decision"}), 201)
    return api.ok("qa_head", f"/recalls/{recall_id}/signatures", api.signed("qa_head", {"step": "recall_decision"}),
                  201)


def send_everything(api, recall_id):
    """Every register entry of the recall recorded as sent, at the decision time (to the second)."""
    recall = api.get("qa_head", f"/recalls/{recall_id}").get_json()
    for entry in recall["notifications"]:
        if entry["sent_at"] is None:
            api.ok("recall_coordinator", f"/notifications/{entry['id']}/sent",
                   {"sent_at": entry["created_at"], "method": "email", "reference": f"{entry['kind']} sent"})


def notify_everyone(api, recall_id, *, send=True):
    """Every consignee's notice prepared (its PDF fetched) and, unless a mock, recorded as sent."""
    consignees = {c["consignee"] for c in api.get("recall_coordinator", f"/recalls/{recall_id}/consignees")
                  .get_json()["consignees"]}
    for consignee in sorted(consignees):
        pdf = api.client.get(f"/api/v1/recalls/{recall_id}/notice.pdf", query_string={"consignee": consignee},
                             headers={"Authorization": f"Bearer {api.tokens['recall_coordinator']}"})
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF"), pdf.get_json()
    if send:
        prepared = api.get("qa_head", f"/recalls/{recall_id}").get_json()["notices"]
        for notice in prepared:
            api.ok("recall_coordinator", f"/recalls/{recall_id}/notices",
                   {"consignee": notice["consignee"], "sent_at": notice["prepared_at"], "method": "email"})


def rows(app, sql):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(sql)).all()


def business_events(app, recall_id):
    return rows(app, f"SELECT action FROM audit_events WHERE entity_type = 'recall' AND entity_id = '{recall_id}' "
                     f"ORDER BY log_index")


@pytest.mark.req("HO-05", "HO-11")
def test_a_recall_is_numbered_and_its_level_is_chosen_not_copied_from_the_complaint_class(recall_api):
    api = recall_api
    cid = classified(api, "III")
    first = api.ok("qa_officer", "/recalls", proposal(complaint_ids=[cid], product_code=None, level="I",
                                                      fda_class="II", no_alternative_product=True,
                                                      supply_impact="唯一供应商，需通知短缺"), 201)
    assert first["number"] == "RC-26-001" and first["status"] == "proposed"
    assert first["level"] == "I" and first["fda_class"] == "II"  # a class III complaint, a level I recall
    assert first["depth"] == "retail" and first["safety_hazard"] is False and first["reason"] == "胶囊受潮，可能影响疗效"
    assert first["origin"] == "complaint" and first["complaint_ids"] == [cid] and first["batch_nos"] == ["B2602"]
    assert first["no_alternative_product"] is True and first["supply_impact"] == "唯一供应商，需通知短缺"
    assert first["decided_at"] is None and first["deadlines"] == {
        "notify_consignees_by": None, "report_and_plan_by": None, "next_progress_report_by": None}
    second = api.ok("recall_coordinator", "/recalls", proposal(origin="regulator_order",
                                                               origin_reference="沪药监〔2026〕12号"), 201)
    assert second["number"] == "RC-26-002" and second["origin"] == "regulator_order"
    assert api.get("intake", f"/recalls/{first['id']}").status_code == 200  # everyone in the process reads it
    assert api.post("intake", "/recalls", proposal()).status_code == 403
    linked = api.get("qa_officer", "/recalls?status=proposed").get_json()["recalls"]
    assert [r["number"] for r in linked] == ["RC-26-002", "RC-26-001"]


@pytest.mark.req("HO-05", "VAL-03")
def test_bad_input_names_the_field_and_stores_nothing(app, recall_api):
    api = recall_api
    cases = ((proposal(batch_nos=["B9999"]), "batch_nos"), (proposal(level="IV"), "level"),
             (proposal(depth="pharmacy"), "depth"), (proposal(safety_hazard="yes"), "safety_hazard"),
             (proposal(complaint_ids=[999]), "complaint_ids"), (proposal(product_code="P-404"), "product_code"),
             (proposal(origin="regulator_order"), "origin_reference"),
             (proposal(no_alternative_product=True), "supply_impact"), (proposal(reason=""), "reason"))
    for body, field in cases:
        response = api.post("qa_officer", "/recalls", body)
        assert response.status_code == 400 and field in response.get_json()["error"]["fields"], (field, response.get_json())
    assert rows(app, "SELECT count(*) FROM recalls") == [(0,)]
    assert rows(app, "SELECT count(*) FROM number_counters WHERE scope LIKE 'RC:%'") == [(0,)]
    assert api.ok("qa_officer", "/recalls", proposal(), 201)["number"] == "RC-26-001"  # no number was used up


@pytest.mark.req("HO-05", "HO-06", "SIG-06", "SIG-08")
def test_the_decision_is_signed_by_the_qa_head_and_the_qp_and_the_second_signature_starts_the_clocks(app, recall_api):
    api = recall_api
    recall = api.ok("qa_head", "/recalls", proposal(level="II"), 201)
    rid = recall["id"]
    # The proposer does not approve their own proposal; QA officers and coordinators do not sign it at all.
    own = api.post("qa_head", f"/recalls/{rid}/signatures", api.signed("qa_head", {"step": "recall_decision"}))
    assert own.status_code == 403 and "author" in own.get_json()["error"]["message"]
    assert api.post("recall_coordinator", f"/recalls/{rid}/signatures",
                    api.signed("recall_coordinator", {"step": "recall_decision"})).status_code == 403
    recall = api.ok("qa_officer", "/recalls", proposal(level="II"), 201)
    rid = recall["id"]
    after_qp = api.ok("qp", f"/recalls/{rid}/signatures", api.signed("qp", {"step": "recall_decision"}), 201)
    assert after_qp["status"] == "proposed" and after_qp["decided_at"] is None
    again = api.post("qp", f"/recalls/{rid}/signatures", api.signed("qp", {"step": "recall_decision"}))
    assert again.status_code == 409
    decided = api.ok("qa_head", f"/recalls/{rid}/signatures", api.signed("qa_head", {"step": "recall_decision"}), 201)
    assert decided["status"] == "in_progress"
    assert [(s["step"], s["signed_role"], s["status"]) for s in decided["signatures"]] == [
        ("recall_decision", "qp", "valid"), ("recall_decision", "qa_head", "valid")]
    decided_at = datetime.fromisoformat(decided["decided_at"])
    assert decided["decided_at"] == decided["signatures"][1]["signed_at"]  # the second signature's time
    assert decided_at.utcoffset() == timedelta(hours=8)  # site time, with its offset
    deadlines = {k: datetime.fromisoformat(v) for k, v in decided["deadlines"].items()}
    assert deadlines == {"notify_consignees_by": decided_at + timedelta(hours=48),
                         "report_and_plan_by": decided_at + timedelta(days=3),
                         "next_progress_report_by": decided_at + timedelta(days=3)}
    register = api.get("qa_head", "/notifications")
    entries = {(n["kind"], n["subject"]): n for n in register.get_json()["notifications"]}
    assert set(entries) == {(k, recall["number"]) for k in ("recall_notice", "recall_report_and_plan",
                                                             "recall_progress")}
    assert datetime.fromisoformat(entries[("recall_notice", recall["number"])]["due_at"]) == \
        deadlines["notify_consignees_by"]
    assert all(n["status"] == "due" for n in entries.values())
    assert api.post("qa_head", f"/recalls/{rid}/signatures",
                    api.signed("qa_head", {"step": "recall_decision"})).status_code == 409


@pytest.mark.req("HO-06", "AT-10")
def test_recall_clocks_are_configuration_changed_with_a_reason_and_audited(app, recall_api, make_user, client):
    api = recall_api
    _, password = make_user("sun.qiang", "admin")
    admin = client.post("/api/v1/auth/token", json={"username": "sun.qiang", "password": password}).get_json()["token"]
    api.tokens["admin"] = admin
    clocks = api.get("qa_head", "/recall-clocks").get_json()["recall_clocks"]
    assert clocks[0] == {"level": "I", "notify_hours": 24, "report_and_plan_days": 1, "progress_every_days": 1}
    assert api.post("admin", "/recall-clocks/I", {"notify_hours": 24, "report_and_plan_days": 1,
                                                  "progress_every_days": 1, "change_control_ref": "CC-1"}
                    ).status_code == 400  # no reason
    no_ref = api.post("admin", "/recall-clocks/I", {"notify_hours": 24, "report_and_plan_days": 1,
                                                    "progress_every_days": 3, "reason": "r"})
    assert no_ref.status_code == 400 and list(no_ref.get_json()["error"]["fields"]) == ["change_control_ref"]
    assert api.post("admin", "/recall-clocks/IV", {"notify_hours": 1, "report_and_plan_days": 1,
                                                   "progress_every_days": 1, "reason": "r"}).status_code == 400
    assert api.post("qa_head", "/recall-clocks/I", {"notify_hours": 12, "report_and_plan_days": 1,
                                                    "progress_every_days": 1, "reason": "r"}).status_code == 403
    changed = api.ok("admin", "/recall-clocks/I", {"notify_hours": 24, "report_and_plan_days": 1,
                                                   "progress_every_days": 3, "reason": "2022 年办法，法规事务已核对",
                                                   "change_control_ref": "CC-2026-040"})
    assert changed[0]["progress_every_days"] == 3
    [(reason, canonical)] = rows(app, "SELECT reason, canonical FROM audit_events WHERE action = "
                                      "'recall_clock.changed' AND reason LIKE '2022%'")
    assert reason == "2022 年办法，法规事务已核对"
    assert json.loads(canonical)["changes"]["change_control_ref"] == [None, "CC-2026-040"]


@pytest.mark.req("HO-07")
def test_a_safety_hazard_recall_goes_no_further_until_its_immediate_report_is_sent(app, recall_api):
    api = recall_api
    recall = api.ok("qa_officer", "/recalls", proposal(safety_hazard=True), 201)
    decided = decide(api, recall["id"])
    notice = next(n for n in decided["notifications"] if n["kind"] == "recall_notice")
    assert notice["due_at"] == decided["decided_at"]  # at once (China GMP Art. 301)
    line = {"consignee": "华润医药北京", "batch_no": "B2602", "quantity_recovered": 800, "quantity_destroyed": 0}
    blocked = api.post("recall_coordinator", f"/recalls/{recall['id']}/reconciliation", line)
    assert blocked.status_code == 409 and "immediate report" in blocked.get_json()["error"]["message"]
    assert rows(app, "SELECT count(*) FROM recall_reconciliations") == [(0,)]
    sent_at = datetime.fromisoformat(decided["decided_at"])  # shown to the second: not later than now
    future = api.post("recall_coordinator", f"/notifications/{notice['id']}/sent",
                      {"sent_at": (sent_at + timedelta(days=2)).isoformat(), "method": "fax"})
    assert future.status_code == 400 and "sent_at" in future.get_json()["error"]["fields"]
    assert api.post("intake", f"/notifications/{notice['id']}/sent",
                    {"sent_at": sent_at.isoformat(), "method": "fax"}).status_code == 403
    sent = api.ok("recall_coordinator", f"/notifications/{notice['id']}/sent",
                  {"sent_at": sent_at.isoformat(), "method": "fax", "reference": "传真 021-1234"})
    assert sent["status"] == "sent" and sent["reference"] == "传真 021-1234"
    assert api.post("recall_coordinator", f"/notifications/{notice['id']}/sent",
                    {"sent_at": sent_at.isoformat(), "method": "fax"}).status_code == 409
    reconciled = api.ok("recall_coordinator", f"/recalls/{recall['id']}/reconciliation", line)
    assert reconciled["reconciliation"][0]["quantity_recovered"] == 800


@pytest.mark.req("HO-09", "HO-10")
def test_consignee_list_reconciliation_completion_and_the_signed_final_report(app, recall_api):
    api = recall_api
    recall = api.ok("qa_officer", "/recalls", proposal(level="III"), 201)
    rid = recall["id"]
    listed = api.get("recall_coordinator", f"/recalls/{rid}/consignees").get_json()["consignees"]
    # One line per consignee and batch, from the distribution records of the recalled batch only.
    assert [(c["consignee"], c["batch_no"], c["quantity_delivered"]) for c in listed] == [
        ("Apotheke Berlin", "B2602", 50), ("华润医药北京", "B2602", 800), ("国药控股上海", "B2602", 1500)]
    shanghai = listed[2]
    assert shanghai["shipped_on"] == "2026-03-01" and shanghai["last_shipped_on"] == "2026-04-01"
    assert shanghai["contact"] == "陈经理" and shanghai["phone"] == "021-5555 0101"
    # Each contact from the latest shipment that gives it: the second gave no e-mail, the first did.
    assert shanghai["email"] == "recall@sinopharm-sh.example.cn" and shanghai["out_of_hours_contact"] == "139 0000 0101"
    assert listed[0]["is_export"] is True and all(c["reconciled"] is False for c in listed)
    csv_text = api.get("recall_coordinator", f"/recalls/{rid}/consignees?format=csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].lstrip("\ufeff").startswith("consignee,batch_no,quantity_delivered")
    assert "国药控股上海,B2602,1500" in csv_text
    import io
    import subprocess

    from openpyxl import load_workbook

    headers = {"Authorization": f"Bearer {api.tokens['recall_coordinator']}"}
    sheet = load_workbook(io.BytesIO(api.client.get(f"/api/v1/recalls/{rid}/consignees?format=xlsx",
                                                    headers=headers).data)).active
    assert [c.value for c in sheet[2]][:3] == ["consignee", "batch_no", "quantity_delivered"]
    assert [(r[0].value, r[2].value) for r in sheet.iter_rows(min_row=3)] == [
        ("Apotheke Berlin", 50), ("华润医药北京", 800), ("国药控股上海", 1500)]
    pdf = api.client.get(f"/api/v1/recalls/{rid}/consignees?format=pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout
    assert all(name in text.decode() for name in ("召回收货单位清单", "华润医药北京", "国药控股上海", "Apotheke Berlin"))
    assert api.client.get(f"/api/v1/recalls/{rid}/consignees?format=doc", headers=headers).status_code == 404
    exports = rows(app, f"SELECT count(*) FROM audit_events WHERE action = 'recall.consignee_list_exported' "
                        f"AND entity_id = '{rid}'")
    assert exports == [(3,)]  # every file handed out is an audited export
    # Nothing is reconciled before the decision.
    early = api.post("recall_coordinator", f"/recalls/{rid}/reconciliation",
                     {"consignee": "华润医药北京", "batch_no": "B2602", "quantity_recovered": 1, "quantity_destroyed": 0,
                      "explanation": "x"})
    assert early.status_code == 409
    decide(api, rid)
    bad = (({"consignee": "华润医药北京", "batch_no": "B2602", "quantity_recovered": 801, "quantity_destroyed": 0},
            "quantity_recovered"),
           ({"consignee": "同仁堂", "batch_no": "B2602", "quantity_recovered": 1, "quantity_destroyed": 0}, "consignee"),
           ({"consignee": "仁和大药房", "batch_no": "B2603", "quantity_recovered": 1, "quantity_destroyed": 0}, "batch_no"),
           ({"consignee": "华润医药北京", "batch_no": "B2602", "quantity_recovered": 700, "quantity_destroyed": 0},
            "explanation"),
           ({"consignee": "华润医药北京", "batch_no": "B2602", "quantity_recovered": -1, "quantity_destroyed": 0},
            "quantity_recovered"))
    for body, field in bad:
        response = api.post("recall_coordinator", f"/recalls/{rid}/reconciliation", body)
        assert response.status_code == 400 and field in response.get_json()["error"]["fields"], (field, response.get_json())
    assert rows(app, "SELECT count(*) FROM recall_reconciliations") == [(0,)]
    api.ok("recall_coordinator", f"/recalls/{rid}/reconciliation",
           {"consignee": "华润医药北京", "batch_no": "B2602", "quantity_recovered": 700, "quantity_destroyed": 0,
            "explanation": "100 盒已售出至患者，已通知"})
    # Every consignee is notified before the recall is completed.
    unnotified = api.post("recall_coordinator", f"/recalls/{rid}/completion", {})
    assert unnotified.status_code == 409 and "notice" in unnotified.get_json()["error"]["message"]
    notify_everyone(api, rid)
    # Unreconciled lines: neither completion nor the final report.
    assert api.post("recall_coordinator", f"/recalls/{rid}/completion", {}).status_code == 409
    unreconciled = api.post("qp", f"/recalls/{rid}/signatures", api.signed("qp", {"step": "recall_closure"}))
    assert unreconciled.status_code == 409 and "not reconciled" in unreconciled.get_json()["error"]["message"]
    for consignee, recovered, destroyed in (("Apotheke Berlin", 0, 50), ("国药控股上海", 1500, 0)):
        api.ok("recall_coordinator", f"/recalls/{rid}/reconciliation",
               {"consignee": consignee, "batch_no": "B2602", "quantity_recovered": recovered,
                "quantity_destroyed": destroyed})
    # A correction of a recorded line needs a reason, and is audited as a change.
    assert api.post("recall_coordinator", f"/recalls/{rid}/reconciliation",
                    {"consignee": "国药控股上海", "batch_no": "B2602", "quantity_recovered": 1490,
                     "quantity_destroyed": 10}).status_code == 400
    corrected = api.ok("recall_coordinator", f"/recalls/{rid}/reconciliation",
                       {"consignee": "国药控股上海", "batch_no": "B2602", "quantity_recovered": 1490,
                        "quantity_destroyed": 10, "reason": "10 盒破损，现场销毁"})
    line = next(x for x in corrected["reconciliation"] if x["consignee"] == "国药控股上海")
    assert (line["quantity_recovered"], line["quantity_destroyed"], line["quantity_outstanding"]) == (1490, 10, 0)
    assert line["stock_status"] == "quarantined_recalled"
    completed = api.ok("recall_coordinator", f"/recalls/{rid}/completion", {"comment": "全部对账完成"})
    assert completed["status"] == "completed" and completed["deadlines"]["next_progress_report_by"] is None
    # Nothing owed to the authority may be left unsent when the final report is signed.
    unsent = api.post("qp", f"/recalls/{rid}/signatures", api.signed("qp", {"step": "recall_closure"}))
    assert unsent.status_code == 409 and "not recorded as sent" in unsent.get_json()["error"]["message"]
    send_everything(api, rid)
    batch_id = rows(app, "SELECT id FROM batches WHERE batch_no = 'B2602'")[0][0]
    [on_batch] = api.get("qa_officer", f"/batches/{batch_id}").get_json()["recalls"]
    assert (on_batch["recovered"], on_batch["stock_status"]) == (2190, "quarantined_recalled")
    # Each recalled batch gets the QA head's signed disposition (HO-10).
    undisposed = api.post("qp", f"/recalls/{rid}/signatures", api.signed("qp", {"step": "recall_closure"}))
    assert undisposed.status_code == 409 and "disposition" in undisposed.get_json()["error"]["message"]
    no_test = api.post("qa_head", f"/recalls/{rid}/batch-dispositions", api.signed("qa_head", {
        "batch_no": "B2602", "decision": "return_to_stock", "rationale": "复检合格"}))
    assert no_test.status_code == 400 and "test_reference" in no_test.get_json()["error"]["fields"]
    assert api.post("recall_coordinator", f"/recalls/{rid}/batch-dispositions", api.signed("recall_coordinator", {
        "batch_no": "B2602", "decision": "destroy"})).status_code == 403
    disposed = api.ok("qa_head", f"/recalls/{rid}/batch-dispositions", api.signed("qa_head", {
        "batch_no": "B2602", "decision": "destroy", "comment": "监督销毁"}), 201)
    assert [(d["batch_no"], d["decision"]) for d in disposed["dispositions"]] == [("B2602", "destroy")]
    [on_batch] = api.get("qa_officer", f"/batches/{batch_id}").get_json()["recalls"]
    assert on_batch["stock_status"] == "destroy"
    assert api.post("qa_head", f"/recalls/{rid}/batch-dispositions", api.signed("qa_head", {
        "batch_no": "B2602", "decision": "destroy"})).status_code == 409
    # The effectiveness check: its depth chosen, its sample drawn reproducibly and every sampled consignee reached.
    unchecked = api.post("qp", f"/recalls/{rid}/signatures", api.signed("qp", {"step": "recall_closure"}))
    assert unchecked.status_code == 409 and "effectiveness" in unchecked.get_json()["error"]["message"]
    checked = api.ok("recall_coordinator", f"/recalls/{rid}/effectiveness-check", {"level": "C"}, 201)
    sample = checked["effectiveness"]["sample"]
    assert len(sample) == 1 and checked["effectiveness"]["seed"] == recall["number"]
    from gmp_complaints.domain.recall import EffectivenessLevel, effectiveness_sample
    assert sample == effectiveness_sample(["Apotheke Berlin", "华润医药北京", "国药控股上海"], EffectivenessLevel.C,
                                          recall["number"])  # anyone can draw it again
    assert api.post("recall_coordinator", f"/recalls/{rid}/effectiveness-check", {"level": "A"}).status_code == 409
    outside = next(c for c in ("Apotheke Berlin", "华润医药北京", "国药控股上海") if c not in sample)
    wrong = api.post("recall_coordinator", f"/recalls/{rid}/effectiveness-contacts", {
        "consignee": outside, "contacted_on": TODAY, "method": "phone", "result": "notice_received_stock_removed"})
    assert wrong.status_code == 400 and "consignee" in wrong.get_json()["error"]["fields"]
    api.ok("recall_coordinator", f"/recalls/{rid}/effectiveness-contacts", {
        "consignee": sample[0], "contacted_on": TODAY, "method": "phone", "result": "notice_received_stock_removed"},
        201)
    # The coordinator who reconciled does not sign the final report; the QA head and the QP do.
    api.ok("qp", f"/recalls/{rid}/signatures", api.signed("qp", {"step": "recall_closure"}), 201)
    closed = api.ok("qa_head", f"/recalls/{rid}/signatures", api.signed("qa_head", {"step": "recall_closure"}), 201)
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert [s["step"] for s in closed["signatures"]] == (["recall_decision"] * 2 + ["recall_batch_disposition"]
                                                         + ["recall_closure"] * 2)
    assert all(s["status"] == "valid" for s in closed["signatures"])
    actions = [a for (a,) in business_events(app, rid)]
    assert actions[0] == "recall.proposed" and actions[-1] == "recall.closed" and "recall.completed" in actions
    changes = rows(app, "SELECT reason FROM audit_events WHERE action = 'recall_reconciliation.corrected'")
    assert changes == [("10 盒破损，现场销毁",)]


@pytest.mark.req("WF-16")
def test_a_complaint_does_not_close_over_a_chosen_or_open_recall(app, recall_api):
    api = recall_api
    cid = classified(api, "III")
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True,
            "extend_to_other_batches": False, "extension_rationale": "仅本批"})  # REC-11, for the closure
    api.ok("qa_officer", f"/complaints/{cid}/assessment",
           {"reasonable": True, "actions": ["recall"], "adr_confirmed": False, "regulator_report_required": False})
    assert sign(api, "qa_head", cid, "capa_not_needed", comment="召回即为纠正措施").status_code == 201
    api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": TODAY, "satisfied": True, "text": "满意"})
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    closure = api.signed("qa_head", {"comment": "关闭"})
    chosen = api.post("qa_head", f"/complaints/{cid}/closure", closure)
    assert chosen.status_code == 409 and "no recall record" in chosen.get_json()["error"]["message"]
    recall = api.ok("qa_officer", "/recalls", proposal(complaint_ids=[cid]), 201)
    before = api.get("qa_head", f"/complaints/{cid}").get_json()
    events = rows(app, f"SELECT log_index FROM audit_events WHERE entity_type = 'complaint' AND entity_id = '{cid}'")
    still_open = api.post("qa_head", f"/complaints/{cid}/closure", closure)
    assert still_open.status_code == 409 and recall["number"] in still_open.get_json()["error"]["message"]
    after = api.get("qa_head", f"/complaints/{cid}").get_json()
    assert (after["status"], after["version"], after["signatures"]) == (
        before["status"], before["version"], before["signatures"])
    assert rows(app, f"SELECT log_index FROM audit_events WHERE entity_type = 'complaint' "
                     f"AND entity_id = '{cid}'") == events
    # A proposal not pursued is cancelled with a reason (QA head only); the complaint may then close.
    assert api.post("qa_officer", f"/recalls/{recall['id']}/cancellation", {"reason": "x"}).status_code == 403
    assert api.post("qa_head", f"/recalls/{recall['id']}/cancellation", {}).status_code == 400
    cancelled = api.ok("qa_head", f"/recalls/{recall['id']}/cancellation", {"reason": "风险评估：无需召回"})
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "风险评估：无需召回"
    assert api.post("qa_head", f"/recalls/{recall['id']}/cancellation", {"reason": "again"}).status_code == 409
    assert api.ok("qa_head", f"/complaints/{cid}/closure", closure)["status"] == "closed"


@pytest.mark.req("SIG-03")
def test_a_refused_decision_changes_nothing(app, recall_api):
    api = recall_api
    recall = api.ok("qa_officer", "/recalls", proposal(), 201)
    rid = recall["id"]
    events = business_events(app, rid)
    username, _ = api.credentials["qp"]
    wrong = api.post("qp", f"/recalls/{rid}/signatures", {"username": username, "password": "not-it",
                                                          "step": "recall_decision"})
    assert wrong.status_code == 401
    assert api.post("intake", f"/recalls/{rid}/signatures",
                    api.signed("intake", {"step": "recall_decision"})).status_code == 403
    assert api.post("qp", f"/recalls/{rid}/signatures", api.signed("qp", {"step": "closure"})).status_code == 400
    after = api.get("qa_head", f"/recalls/{rid}").get_json()
    assert (after["status"], after["version"], after["signatures"]) == ("proposed", recall["version"], [])
    assert business_events(app, rid) == events
    assert rows(app, "SELECT count(*) FROM signatures WHERE record_type = 'recall'") == [(0,)]


@pytest.mark.req("HO-06", "HO-13")
def test_progress_reports_fall_due_one_after_another_and_the_timer_escalates_what_is_overdue(app, recall_api):
    from click.testing import CliRunner

    from gmp_complaints.cli import main
    from tests.integration.test_signatures import _env_of

    api = recall_api
    recall = api.ok("qa_officer", "/recalls", proposal(level="I"), 201)
    decided = decide(api, recall["id"])
    progress = next(n for n in decided["notifications"] if n["kind"] == "recall_progress")
    sent_at = datetime.fromisoformat(decided["decided_at"])  # shown to the second: not later than now
    api.ok("recall_coordinator", f"/notifications/{progress['id']}/sent",
           {"sent_at": sent_at.isoformat(), "method": "email", "reference": "进展报告 1"})
    after = api.get("qa_head", f"/recalls/{recall['id']}").get_json()
    next_due = [n for n in after["notifications"] if n["kind"] == "recall_progress" and n["sent_at"] is None]
    assert [datetime.fromisoformat(n["due_at"]) for n in next_due] == [sent_at + timedelta(days=1)]
    assert datetime.fromisoformat(after["deadlines"]["next_progress_report_by"]) == sent_at + timedelta(days=1)
    # Two entries are made overdue (the database clock cannot be moved); the timer escalates each once.
    with app.extensions["gmp_engine"].begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT set_config('gmp.tx', 'test', true)"))
        connection.execute(sa.text("UPDATE notifications SET due_at = :past WHERE sent_at IS NULL AND kind IN "
                                   "('recall_notice', 'recall_report_and_plan')"),
                           {"past": datetime(2026, 11, 1, 1, 0)})
    overdue = api.get("qa_head", "/notifications?status=overdue").get_json()["notifications"]
    assert sorted(n["kind"] for n in overdue) == ["recall_notice", "recall_report_and_plan"]
    assert api.get("qa_head", "/notifications?status=late").status_code == 400
    board = api.get("qp", "/dashboard?scope=all").get_json()["notifications"]  # the QP's and QA head's dashboard
    assert sorted((n["kind"], n["status"]) for n in board) == [
        ("recall_notice", "overdue"), ("recall_progress", "due"), ("recall_report_and_plan", "overdue")]
    assert api.get("intake", "/dashboard?scope=all").get_json()["notifications"] == []
    running = api.get("recall_coordinator", "/dashboard?scope=all").get_json()["recalls"]
    assert [(r["number"], r["status"]) for r in running] == [(recall["number"], "in_progress")]
    assert running[0]["deadlines"]["notify_consignees_by"] is not None
    assert api.get("intake", "/dashboard?scope=all").get_json()["recalls"] == []
    env = _env_of(app)
    for expected in (2, 0):
        result = CliRunner(env=env).invoke(main, ["tick"])
        assert result.exit_code == 0 and f"overdue regulator notifications escalated: {expected}." in result.output, \
            result.output
    assert len(rows(app, "SELECT log_index FROM audit_events WHERE action = 'notification.escalated'")) == 2


@pytest.mark.req("HO-10")
def test_the_final_report_prints_the_timeline_clocks_reconciliation_and_signatures(app, recall_api, tmp_path):
    import subprocess

    api = recall_api
    recall = api.ok("qa_officer", "/recalls", proposal(level="II"), 201)
    decided = decide(api, recall["id"])
    send_everything(api, recall["id"])
    api.ok("recall_coordinator", f"/recalls/{recall['id']}/reconciliation",
           {"consignee": "华润医药北京", "batch_no": "B2602", "quantity_recovered": 800, "quantity_destroyed": 0})
    notify_everyone(api, recall["id"])
    client = api.client
    from tests.conftest import STRONG_PASSWORD, login

    login(client, "li.na", STRONG_PASSWORD)
    response = client.get(f"/recalls/{recall['id']}/report.pdf?lang=en")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.data)
    import os
    if os.environ.get("GMP_SCREENSHOT_DIR"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), f"{os.environ['GMP_SCREENSHOT_DIR']}/recall-report"],
                       check=True)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Recall final report" in text and recall["number"] in text
    assert "华润医药北京" in text and "800" in text
    notice_line = next(line for line in text.splitlines() if line.strip().startswith("Recall notice"))
    assert notice_line.rstrip().endswith("met")  # sent at the decision: on time
    consignee_notices = text[text.index("Notices to consignees"):text.index("Reconciliation")]
    assert [line.rstrip().endswith("met") for line in consignee_notices.splitlines()
            if line.strip().startswith(("Apotheke", "华润", "国药"))] == [True, True, True]
    assert "Recall decision" in text and decided["signatures"][0]["signer_name"] in text
    printed = rows(app, "SELECT count(*) FROM audit_events WHERE action = 'document.printed' AND entity_type = 'recall'")
    assert printed == [(1,)]


@pytest.mark.req("HO-09", "HO-15")
def test_the_notice_is_the_letter_a_consignee_receives_and_a_mock_recall_sends_nothing(app, recall_api, tmp_path):
    import os
    import subprocess

    api = recall_api
    mock = api.ok("qa_officer", "/recalls", proposal(mock=True), 201)
    rid = mock["id"]
    headers = {"Authorization": f"Bearer {api.tokens['recall_coordinator']}"}
    early = api.client.get(f"/api/v1/recalls/{rid}/notice.pdf", query_string={"consignee": "华润医药北京"}, headers=headers)
    assert early.status_code == 409  # not before the decision
    decided = decide(api, rid)
    assert decided["notifications"] == []  # a mock recall owes the authority nothing
    stranger = api.client.get(f"/api/v1/recalls/{rid}/notice.pdf", query_string={"consignee": "同仁堂"}, headers=headers)
    assert stranger.status_code == 400 and "consignee" in stranger.get_json()["error"]["fields"]
    csv_export = api.client.get(f"/api/v1/recalls/{rid}/consignees?format=csv", headers=headers)
    assert csv_export.status_code == 200
    notice = api.client.get(f"/api/v1/recalls/{rid}/notice.pdf", query_string={"consignee": "国药控股上海"},
                            headers=headers)
    assert notice.status_code == 200
    pdf = tmp_path / "notice.pdf"
    pdf.write_bytes(notice.data)
    if os.environ.get("GMP_SCREENSHOT_DIR"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), f"{os.environ['GMP_SCREENSHOT_DIR']}/recall-notice"],
                       check=True)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "药品召回通知" in text and "模拟召回" in text and "国药控股上海" in text and "1500" in text
    assert "SHA-256" not in text and "签名" not in text and "受控" not in text  # nothing internal on a letter
    assert "Zhou.Min Tester" in text  # a named sender, who prepared it
    sent = api.post("recall_coordinator", f"/recalls/{rid}/notices",
                    {"consignee": "国药控股上海", "sent_at": decided["decided_at"], "method": "fax"})
    assert sent.status_code == 409 and "mock" in sent.get_json()["error"]["message"]
    recall = api.get("qa_head", f"/recalls/{rid}").get_json()
    assert [(n["consignee"], n["sent_at"]) for n in recall["notices"]] == [("国药控股上海", None)]
    assert recall["timings"]["consignee_list_minutes"] is not None and recall["timings"]["notices_ready_minutes"] is None
    notify_everyone(api, rid, send=False)
    timings = api.get("qa_head", f"/recalls/{rid}").get_json()["timings"]
    assert 0 <= timings["consignee_list_minutes"] <= timings["notices_ready_minutes"] < 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_notice_is_prepared_in_the_background_with_a_progress_bar(app, recall_api):
    import io
    import json
    import time
    import zipfile

    from tests.conftest import STRONG_PASSWORD, csrf_token, login

    api = recall_api
    recall = api.ok("qa_officer", "/recalls", proposal(), 201)
    rid = recall["id"]
    coordinator = app.test_client()
    login(coordinator, "zhou.min", STRONG_PASSWORD)
    early = coordinator.post(f"/recalls/{rid}/notice-pack",
                             data={"csrf_token": csrf_token(coordinator, f"/recalls/{rid}/consignees")})
    assert early.status_code == 303 and rows(app, "SELECT count(*) FROM jobs") == [(0,)]  # not before the decision
    decide(api, rid)
    started = coordinator.post(f"/recalls/{rid}/notice-pack",
                               data={"csrf_token": csrf_token(coordinator, f"/recalls/{rid}/consignees")})
    assert started.status_code == 302 and "/jobs/" in started.headers["Location"]
    job_url = started.headers["Location"]
    for _ in range(300):
        progress = coordinator.get(f"{job_url}/progress").get_json()
        if progress["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert progress == {"status": "done", "done": 3, "total": 3, "percent": 100, "error": None}
    result = coordinator.get(f"{job_url}/result")
    bundle = zipfile.ZipFile(io.BytesIO(result.data))
    index = json.loads(bundle.read("index.json"))
    [pack] = index["packs"]
    assert pack["consignees"] == ["Apotheke Berlin", "华润医药北京", "国药控股上海"]
    assert bundle.read(pack["file"]).startswith(b"%PDF")
    notices = api.get("qa_head", f"/recalls/{rid}").get_json()["notices"]
    assert {n["document_sha256"] for n in notices} == {pack["sha256"]} and len(notices) == 3
    board = coordinator.get("/complaints/dashboard?scope=all").get_data(as_text=True)
    assert 'id="board-recalls"' in board and recall["number"] in board and 'id="board-notifications"' in board
    # The recall team watches its notices; an archive job is not theirs, nor a notices job the auditor's.
    auditor = app.test_client()
    login(auditor, "zhao.lei", STRONG_PASSWORD)
    assert auditor.get(job_url).status_code == 403


def test_a_notice_is_emailed_through_the_outbox_where_mail_is_configured(app, recall_api, uow_factory):
    import dataclasses

    from gmp_complaints.services.timers import deliver_outbox

    api = recall_api
    rid = api.ok("qa_officer", "/recalls", proposal(), 201)["id"]
    decide(api, rid)
    headers = {"Authorization": f"Bearer {api.tokens['recall_coordinator']}"}
    for consignee in ("国药控股上海", "华润医药北京"):
        assert api.client.get(f"/api/v1/recalls/{rid}/notice.pdf", query_string={"consignee": consignee},
                              headers=headers).status_code == 200
    unconfigured = api.post("recall_coordinator", f"/recalls/{rid}/notice-emails", {"consignee": "国药控股上海"})
    assert unconfigured.status_code == 409 and "not configured" in unconfigured.get_json()["error"]["message"]
    app.config["GMP_SETTINGS"] = dataclasses.replace(app.config["GMP_SETTINGS"], smtp_host="127.0.0.1")
    no_address = api.post("recall_coordinator", f"/recalls/{rid}/notice-emails", {"consignee": "华润医药北京"})
    assert no_address.status_code == 400 and "consignee" in no_address.get_json()["error"]["fields"]
    unprepared = api.post("recall_coordinator", f"/recalls/{rid}/notice-emails", {"consignee": "Apotheke Berlin"})
    assert unprepared.status_code == 409
    mailed = api.ok("recall_coordinator", f"/recalls/{rid}/notice-emails", {"consignee": "国药控股上海"})
    notice = next(n for n in mailed["notices"] if n["consignee"] == "国药控股上海")
    # Queued is not sent: the notice counts as sent when the mail server takes it.
    assert notice["sent_at"] is None and notice["method"] is None
    assert notice["email"]["status"] == "pending" and notice["email"]["attempts"] == 0
    assert "sinopharm" not in rows(app, "SELECT recipient FROM outbox_messages")[0][0]  # encrypted at rest
    assert b"%PDF" not in rows(app, "SELECT attachment FROM outbox_messages")[0][0].encode()
    twice = api.post("recall_coordinator", f"/recalls/{rid}/notice-emails", {"consignee": "国药控股上海"})
    assert twice.status_code == 409 and len(rows(app, "SELECT id FROM outbox_messages")) == 1

    def server_down(mail):
        raise ConnectionRefusedError("mail server down")

    assert deliver_outbox(uow_factory(), send=server_down) == {"sent": 0, "failed": 1}
    waiting = next(n for n in api.get("recall_coordinator", f"/recalls/{rid}").get_json()["notices"]
                   if n["consignee"] == "国药控股上海")
    assert waiting["sent_at"] is None and waiting["email"]["attempts"] == 1
    assert "mail server down" in waiting["email"]["last_error"]
    sent = []
    assert deliver_outbox(uow_factory(), send=sent.append) == {"sent": 1, "failed": 0}
    [mail] = sent
    assert mail.recipient == "recall@sinopharm-sh.example.cn" and mail.subject.startswith("药品召回通知 RC-26-")
    assert "B2602" in mail.body and "1500" in mail.body and "SHA-256" not in mail.body
    assert mail.attachment.startswith(b"%PDF") and mail.attachment_name.endswith("-notice.pdf")
    assert rows(app, "SELECT attachment_sha256 FROM outbox_messages")[0][0] == hashlib.sha256(mail.attachment).hexdigest()
    delivered = next(n for n in api.get("recall_coordinator", f"/recalls/{rid}").get_json()["notices"]
                     if n["consignee"] == "国药控股上海")
    assert delivered["method"] == "email" and delivered["sent_at"] is not None
    assert delivered["email"]["status"] == "sent"
    events = api.get("auditor", f"/audit/events?entity=recall_notice:{delivered_id(app)}").get_json()["events"]
    assert events[-1]["action"] == "recall_notice.sent" and events[-1]["actor"]["id"] is None
    again = api.post("recall_coordinator", f"/recalls/{rid}/notice-emails", {"consignee": "国药控股上海"})
    assert again.status_code == 409


def delivered_id(app) -> int:
    return rows(app, "SELECT recall_notice_id FROM outbox_messages")[0][0]


@pytest.mark.req("HO-13")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_register_is_a_page_and_a_csv_export(app, recall_api):
    from tests.conftest import STRONG_PASSWORD, login

    api = recall_api
    recall = api.ok("qa_officer", "/recalls", proposal(safety_hazard=True), 201)
    decided = decide(api, recall["id"])
    qp = app.test_client()
    login(qp, "chen.jing", STRONG_PASSWORD)
    page = qp.get("/recalls/notifications").get_data(as_text=True)
    assert page.count(recall["number"]) == 3 and "向监管部门的召回报告" in page
    overdue_only = qp.get("/recalls/notifications?status=overdue").get_data(as_text=True)
    assert overdue_only.count(recall["number"]) <= 1  # the safety-hazard notice fell due at the decision
    csv_text = qp.get("/recalls/notifications.csv").get_data(as_text=True).lstrip("\ufeff")
    header, *lines = csv_text.splitlines()
    assert header == "subject,kind,stage,authority,due_at,sent_at,method,reference,recipient,status"
    assert len(lines) == 3
    notice = next(n for n in decided["notifications"] if n["kind"] == "recall_notice")
    assert any(line.startswith(f"{recall['number']},recall_notice,,") and notice["due_at"] in line for line in lines)
    assert rows(app, "SELECT count(*) FROM audit_events WHERE action = 'notification.register_exported'") == [(1,)]

"""Returned goods through /api/v1 (SOP 5.5.2, DESIGN §4; HO-12): quarantined on receipt, evaluated by QA,
disposed of by the QA head's signature; stock goes back only with a passing retained-sample test; what
comes back reconciles with what was shipped; a complaint does not close over an open return; the record holds
what 21 CFR 211.204 and China GMP Art. 136 list, one record per channel (REC-16). SQLite and PostgreSQL."""
import json
import re

import pytest
import sqlalchemy as sa

from tests.integration.test_complaints_api import TODAY, api, assign_investigator, registration, settings  # noqa: F401
from tests.integration.test_signatures import classified, replied_and_satisfied, sign


@pytest.fixture
def shipped(api):
    for consignee, quantity in (("仁和大药房", 100), ("国药控股上海", 500)):
        api.ok("qa_officer", "/distributions", {"product_code": "P-001", "batch_no": "B2602", "consignee": consignee,
                                                "quantity": quantity, "shipped_on": "2026-03-01"}, 201)
    return api


def receipt(**overrides):
    body = {"batch_no": "B2602", "product_code": "P-001", "consignee": "仁和大药房", "quantity_received": 12,
            "condition": "外箱潮湿，瓶盖完好", "received_on": TODAY, "channel": "pharmacy",
            "returning_party": "仁和大药房", "returning_party_address": "杭州市上城区解放路 12 号",
            "return_reason": "顾客投诉瓶盖破裂，退回同批库存"}
    body.update(overrides)
    return body


EVALUATION = {"storage_conditions": "运输途中温度记录正常，外箱受潮", "sample_result": "passed",
              "test_reference": "QC-2026-0458", "other_batches_implicated": False}


def rows(app, sql):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(sql)).all()


@pytest.mark.req("HO-12")
def test_returned_goods_are_quarantined_numbered_and_reconciled_with_what_was_shipped(app, shipped):
    api = shipped
    cid = classified(api, "III")
    first = api.ok("investigator", "/returns", receipt(complaint_id=cid, product_code=None), 201)
    assert first["number"] == "RT-26-001" and first["status"] == "quarantined"
    assert first["redispatch_allowed"] is False and first["complaint"]["id"] == cid
    # 100 shipped to this pharmacy, 12 back already: at most 88 more.
    more = api.post("investigator", "/returns", receipt(quantity_received=89))
    assert more.status_code == 400 and "88" in more.get_json()["error"]["fields"]["quantity_received"][0]
    bad = ((receipt(batch_no="B9999"), "batch_no"), (receipt(consignee="同仁堂"), "consignee"),
           (receipt(quantity_received=0), "quantity_received"), (receipt(received_on="2099-01-01"), "received_on"),
           (receipt(received_on="2026-02-01"), "received_on"), (receipt(condition=""), "condition"),
           (receipt(complaint_id=999), "complaint_id"))
    for body, field in bad:
        response = api.post("investigator", "/returns", body)
        assert response.status_code == 400 and field in response.get_json()["error"]["fields"], (field, response.get_json())
    assert api.post("intake", "/returns", receipt()).status_code == 403
    assert rows(app, "SELECT count(*) FROM returns") == [(1,)]
    second = api.ok("qa_officer", "/returns", receipt(quantity_received=88), 201)
    assert second["number"] == "RT-26-002"  # no number was used up by the refused ones


@pytest.mark.req("HO-12", "SIG-08")
def test_stock_goes_back_only_after_a_passing_test_and_the_qa_head_signs_the_disposition(app, shipped):
    api = shipped
    rid = api.ok("investigator", "/returns", receipt(), 201)["id"]
    early = api.post("qa_head", f"/returns/{rid}/disposition",
                     api.signed("qa_head", {"disposition": "destroy"}))
    assert early.status_code == 409  # QA evaluates first
    missing = api.post("qa_officer", f"/returns/{rid}/evaluation", {**EVALUATION, "test_reference": None})
    assert missing.status_code == 400 and "test_reference" in missing.get_json()["error"]["fields"]
    other = api.post("qa_officer", f"/returns/{rid}/evaluation", {**EVALUATION, "other_batches_implicated": True})
    assert other.status_code == 400 and "investigation_ref" in other.get_json()["error"]["fields"]
    assert api.post("investigator", f"/returns/{rid}/evaluation", EVALUATION).status_code == 403
    failed = api.ok("qa_officer", f"/returns/{rid}/evaluation", {**EVALUATION, "sample_result": "failed"})
    assert failed["status"] == "evaluated" and failed["evaluation"]["sample_result"] == "failed"
    to_stock = api.post("qa_head", f"/returns/{rid}/disposition",
                        api.signed("qa_head", {"disposition": "return_to_stock"}))
    assert to_stock.status_code == 409 and "passing test" in to_stock.get_json()["error"]["message"]
    reprocess = api.post("qa_head", f"/returns/{rid}/disposition", api.signed("qa_head", {"disposition": "reprocess"}))
    assert reprocess.status_code == 400 and "rationale" in reprocess.get_json()["error"]["fields"]
    # A correction of the evaluation needs a reason, and makes a new version.
    assert api.post("qa_officer", f"/returns/{rid}/evaluation", EVALUATION).status_code == 400
    corrected = api.ok("qa_officer", f"/returns/{rid}/evaluation", {**EVALUATION, "reason": "复测合格，见 QC-2026-0458"})
    assert corrected["version"] == 2 and corrected["evaluation"]["sample_result"] == "passed"
    assert api.post("qa_officer", f"/returns/{rid}/disposition",
                    api.signed("qa_officer", {"disposition": "return_to_stock"})).status_code == 403
    disposed = api.ok("qa_head", f"/returns/{rid}/disposition",
                      api.signed("qa_head", {"disposition": "return_to_stock", "comment": "复测合格，可放行回库"}))
    assert disposed["status"] == "disposed" and disposed["redispatch_allowed"] is True
    [signature] = disposed["signatures"]
    assert (signature["step"], signature["meaning"], signature["signed_role"], signature["status"]) == (
        "return_disposition", "approved", "qa_head", "valid")
    assert api.post("qa_head", f"/returns/{rid}/disposition",
                    api.signed("qa_head", {"disposition": "destroy"})).status_code == 409
    actions = [a for (a,) in rows(app, f"SELECT action FROM audit_events WHERE entity_type = 'return' "
                                       f"AND entity_id = '{rid}' ORDER BY log_index")]
    assert actions == ["return.received", "return.evaluated", "return.re_evaluated", "return.disposed"]
    # Four-eyes: the QA head who evaluated a return does not sign its disposition.
    own = api.ok("investigator", "/returns", receipt(quantity_received=1), 201)["id"]
    api.ok("qa_head", f"/returns/{own}/evaluation", EVALUATION)
    refused = api.post("qa_head", f"/returns/{own}/disposition", api.signed("qa_head", {"disposition": "destroy"}))
    assert refused.status_code == 403 and "author" in refused.get_json()["error"]["message"]


@pytest.mark.req("HO-12")
def test_the_database_itself_refuses_doubtful_goods_back_to_stock(app, shipped):
    api = shipped
    rid = api.ok("investigator", "/returns", receipt(), 201)["id"]
    api.ok("qa_officer", f"/returns/{rid}/evaluation", {**EVALUATION, "sample_result": "failed"})
    with pytest.raises(sa.exc.IntegrityError):
        with app.extensions["gmp_engine"].begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT set_config('gmp.tx', 'test', true)"))
            connection.execute(sa.text("UPDATE returns SET status = 'disposed', disposition = 'return_to_stock', "
                                       "disposed_at = created_at WHERE id = :id"), {"id": rid})
    assert rows(app, f"SELECT status FROM returns WHERE id = {rid}") == [("evaluated",)]


@pytest.mark.req("WF-16")
def test_a_complaint_does_not_close_over_a_return_not_disposed_of(app, shipped):
    api = shipped
    cid = replied_and_satisfied(api)
    rid = api.ok("investigator", "/returns", receipt(complaint_id=cid), 201)["id"]
    sign(api, "qa_head", cid, "audit_trail_review")
    closure = api.signed("qa_head", {})
    before = api.get("qa_head", f"/complaints/{cid}").get_json()
    events = rows(app, f"SELECT log_index FROM audit_events WHERE entity_type = 'complaint' AND entity_id = '{cid}'")
    blocked = api.post("qa_head", f"/complaints/{cid}/closure", closure)
    assert blocked.status_code == 409 and "RT-26-001" in blocked.get_json()["error"]["message"]
    after = api.get("qa_head", f"/complaints/{cid}").get_json()
    assert (after["status"], after["version"], len(after["signatures"])) == (
        before["status"], before["version"], len(before["signatures"]))
    assert rows(app, f"SELECT log_index FROM audit_events WHERE entity_type = 'complaint' "
                     f"AND entity_id = '{cid}'") == events
    api.ok("qa_officer", f"/returns/{rid}/evaluation", EVALUATION)
    api.ok("qa_head", f"/returns/{rid}/disposition", api.signed("qa_head", {"disposition": "destroy"}))
    assert api.ok("qa_head", f"/complaints/{cid}/closure", closure)["status"] == "closed"


@pytest.mark.req("SIG-03")
def test_a_refused_disposition_changes_nothing(app, shipped):
    api = shipped
    rid = api.ok("investigator", "/returns", receipt(), 201)["id"]
    evaluated = api.ok("qa_officer", f"/returns/{rid}/evaluation", EVALUATION)
    events = rows(app, f"SELECT log_index FROM audit_events WHERE entity_type = 'return' AND entity_id = '{rid}'")
    username, _ = api.credentials["qa_head"]
    wrong = api.post("qa_head", f"/returns/{rid}/disposition",
                     {"disposition": "destroy", "username": username, "password": "wrong"})
    assert wrong.status_code == 401
    after = api.get("qa_officer", f"/returns/{rid}").get_json()
    assert (after["status"], after["version"], after["disposition"], after["signatures"]) == (
        "evaluated", evaluated["version"], None, [])
    assert rows(app, f"SELECT log_index FROM audit_events WHERE entity_type = 'return' "
                     f"AND entity_id = '{rid}'") == events


@pytest.mark.req("HO-12")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_return_pages_receive_evaluate_and_dispose_with_a_signature(app, shipped):
    from tests.conftest import STRONG_PASSWORD, csrf_token, login

    api = shipped
    cid = classified(api, "III")
    officer, head = app.test_client(), app.test_client()
    login(officer, "li.na", STRONG_PASSWORD)
    login(head, "liu.yang", STRONG_PASSWORD)
    assert "receive-return" in officer.get(f"/complaints/{cid}").get_data(as_text=True)
    form = {"csrf_token": csrf_token(officer, f"/returns/new?complaint={cid}"), "complaint": cid, "batch_no": "B2602",
            "consignee": "仁和大药房", "quantity_received": "101", "condition": "外箱潮湿", "received_on": TODAY,
            "channel": "pharmacy", "returning_party": "仁和大药房", "returning_party_address": "杭州市解放路 12 号",
            "return_reason": "瓶盖破裂"}
    refused = officer.post(f"/returns/new?complaint={cid}", data=form)
    assert refused.status_code == 400 and "100" in refused.get_data(as_text=True)  # named beside the field
    made = officer.post(f"/returns/new?complaint={cid}", data={**form, "quantity_received": "10"})
    assert made.status_code in (302, 303)
    page = officer.get(made.headers["Location"]).get_data(as_text=True)
    assert "RT-26-001" in page and "redispatch-blocked" in page
    rid = rows(app, "SELECT id FROM returns")[0][0]
    evaluated = officer.post(f"/returns/{rid}/evaluation", data={
        "csrf_token": csrf_token(officer, f"/returns/{rid}"), "storage_conditions": "温度正常", "sample_result": "passed",
        "test_reference": "QC-1", "other_batches_implicated": "no"})
    assert evaluated.status_code in (302, 303)
    assert "sign-return_disposition" in head.get(f"/returns/{rid}").get_data(as_text=True)
    disposed = head.post(f"/returns/{rid}/disposition", data={
        "csrf_token": csrf_token(head, f"/returns/{rid}"), "disposition": "return_to_stock", "username": "liu.yang",
        "password": STRONG_PASSWORD})
    assert disposed.status_code in (302, 303)
    final = head.get(f"/returns/{rid}").get_data(as_text=True)
    assert "disposition-decision" in final and "redispatch-blocked" not in final
    batch_id = rows(app, "SELECT id FROM batches WHERE batch_no = 'B2602'")[0][0]
    assert "RT-26-001" in officer.get(f"/master-data/batches/{batch_id}").get_data(as_text=True)
    for listing in ("/returns/?status=disposed", "/recalls/", "/capas/"):
        html = officer.get(listing).get_data(as_text=True)
        assert 'name="status"' in html and ("RT-26-001" in html or listing != "/returns/?status=disposed")


@pytest.mark.req("REC-16")
def test_a_return_holds_what_211_204_lists_and_each_channel_of_one_batch_is_its_own_record(app, shipped):
    api = shipped
    cid = classified(api, "III")
    wholesale = api.ok("investigator", "/returns", receipt(
        complaint_id=cid, channel="wholesaler", consignee="国药控股上海", returning_party="国药控股上海医药有限公司",
        returning_party_address="上海市黄浦区龙华东路 385 号", return_reason="包装破损，整箱退回", quantity_received=30), 201)
    pharmacy = api.ok("investigator", "/returns", receipt(), 201)
    assert wholesale["id"] != pharmacy["id"] and (wholesale["batch_no"], pharmacy["batch_no"]) == ("B2602", "B2602")
    assert (wholesale["channel"], pharmacy["channel"]) == ("wholesaler", "pharmacy")
    # QA sees the returning party in clear (the investigator who received it sees it masked, SEC-11).
    recorded = api.get("qa_officer", f"/returns/{wholesale['id']}").get_json()
    assert {key: recorded[key] for key in ("product_name", "strength", "dosage_form", "batch_no", "returning_party",
                                           "returning_party_address", "return_reason", "received_on",
                                           "quantity_received")} == {
        "product_name": "阿莫西林胶囊", "strength": "0.25 g", "dosage_form": "capsule", "batch_no": "B2602",
        "returning_party": "国药控股上海医药有限公司", "returning_party_address": "上海市黄浦区龙华东路 385 号",
        "return_reason": "包装破损，整箱退回", "received_on": TODAY, "quantity_received": 30}
    listed = {r["id"]: r for r in api.get("qa_officer", "/returns").get_json()["returns"]}
    assert (listed[wholesale["id"]]["channel"], listed[pharmacy["id"]]["channel"]) == ("wholesaler", "pharmacy")
    # The date of the disposition and the final disposition.
    api.ok("qa_officer", f"/returns/{wholesale['id']}/evaluation", {**EVALUATION, "sample_result": "failed"})
    disposed = api.ok("qa_head", f"/returns/{wholesale['id']}/disposition",
                      api.signed("qa_head", {"disposition": "destroy"}))
    assert disposed["disposition"]["decision"] == "destroy"
    assert disposed["disposition"]["disposed_on"] == disposed["disposition"]["disposed_at"][:10]
    assert disposed["signatures"][0]["status"] == "valid"
    # The receipt details are stored and audited with the return; the returning party as recorded, not its value.
    [received] = [json.loads(c)["changes"] for (c,) in rows(
        app, f"SELECT canonical FROM audit_events WHERE entity_type = 'return' AND entity_id = '{pharmacy['id']}' "
             f"AND action = 'return.received'")]
    assert (received["channel"][1], received["returning_party"][1], received["return_reason"][1]) == (
        "pharmacy", "recorded (encrypted)", "顾客投诉瓶盖破裂，退回同批库存")


@pytest.mark.req("REC-16")
def test_a_new_return_without_its_channel_party_address_or_reason_is_refused_naming_the_field(app, shipped):
    api = shipped
    for field in ("channel", "returning_party", "returning_party_address", "return_reason"):
        for value in (None, ""):
            response = api.post("investigator", "/returns", receipt(**{field: value}))
            assert response.status_code == 400 and field in response.get_json()["error"]["fields"], (field, value)
        body = receipt()
        del body[field]
        assert set(api.post("investigator", "/returns", body).get_json()["error"]["fields"]) == {field}
    courier = api.post("investigator", "/returns", receipt(channel="courier"))
    assert courier.status_code == 400 and set(courier.get_json()["error"]["fields"]) == {"channel"}
    assert rows(app, "SELECT count(*) FROM returns") == [(0,)]


@pytest.mark.req("REC-16")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_return_pages_ask_for_and_show_every_detail_and_old_returns_say_not_recorded(app, shipped):
    from tests.conftest import STRONG_PASSWORD, csrf_token, login

    officer = app.test_client()
    login(officer, "li.na", STRONG_PASSWORD)
    officer.post("/language", data={"csrf_token": csrf_token(officer, "/"), "lang": "en", "next": "/"})
    form = {"csrf_token": csrf_token(officer, "/returns/new"), "product_code": "P-001", "batch_no": "B2602",
            "quantity_received": "5", "condition": "完好", "received_on": TODAY}
    refused = officer.post("/returns/new", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    for field in ("channel", "returning_party", "returning_party_address", "return_reason"):
        assert f'class="field has-error"><label for="{field}"' in html, field
    made = officer.post("/returns/new", data={**form, "channel": "hospital", "returning_party": "仁和医院药剂科",
                                              "returning_party_address": "杭州市庆春路 88 号", "return_reason": "医院停用"})
    assert made.status_code in (302, 303)
    page = officer.get(made.headers["Location"]).get_data(as_text=True)
    for shown in ("阿莫西林胶囊", "0.25 g", "capsule", "B2602", "Hospital or clinic", "仁和医院药剂科", "杭州市庆春路 88 号",
                  "医院停用", TODAY, "Date of disposition", "Final disposition"):
        assert shown in page, shown
    listing = officer.get("/returns/").get_data(as_text=True)
    assert "Hospital or clinic" in listing and "仁和医院药剂科" in listing
    # A return recorded before these fields existed (the migration leaves them empty) says so.
    rid = rows(app, "SELECT id FROM returns")[0][0]
    with app.extensions["gmp_engine"].begin() as connection:
        connection.execute(sa.text("UPDATE returns SET channel = NULL, returning_party = NULL, "
                                   "returning_party_address = NULL, return_reason = NULL WHERE id = :id"), {"id": rid})
    old = officer.get(f"/returns/{rid}").get_data(as_text=True)
    for element in ("return-channel", "returning-party", "returning-party-address", "return-reason"):
        assert re.search(rf'<dd id="{element}"><span class="hint">not recorded</span></dd>', old), element

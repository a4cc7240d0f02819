"""The complaint process through /api/v1 (DESIGN §2, §6), on SQLite and PostgreSQL."""
from datetime import date

import pytest
import sqlalchemy as sa

from tests.conftest import environment_for, prepared_state, signing_key_path

TODAY = "2026-11-20"


@pytest.fixture
def settings(tmp_path, database_url, tmp_path_factory):
    """The business date is pinned (GMP_ENV=test, GMP_TODAY) so that dates and timers are exact."""
    from gmp_complaints.config import load_settings

    env = environment_for(database_url, tmp_path / "instance", signing_key_path(tmp_path_factory))
    env["GMP_TODAY"] = TODAY
    return load_settings(env)


class Api:
    def __init__(self, client, tokens, credentials=None):
        self.client, self.tokens = client, tokens
        #: role -> (username, password), for signing
        self.credentials = credentials or {}

    def signed(self, who, body):
        username, password = self.credentials[who]
        return {**body, "username": username, "password": password}

    def post(self, who, path, body):
        return self.client.post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def get(self, who, path):
        return self.client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def ok(self, who, path, body, status=200):
        response = self.post(who, path, body)
        assert response.status_code == status, response.get_json()
        return response.get_json()


@pytest.fixture
def api(request, app, client, make_user):
    """One person per role signed in through the API, a product and three batches. Built once per backend and
    copied for later tests (tests/conftest.py ``prepared_state``)."""

    def build() -> tuple[dict, dict]:
        tokens, credentials = {}, {}
        for username, role in (("wang.fang", "intake"), ("li.na", "qa_officer"), ("zhang.wei", "investigator"),
                               ("liu.yang", "qa_head"), ("chen.jing", "qp"), ("zhao.lei", "auditor")):
            _, password = make_user(username, role, identity_verified=role != "auditor")
            tokens[role] = client.post("/api/v1/auth/token",
                                       json={"username": username, "password": password}).get_json()["token"]
            credentials[role] = (username, password)
            if role != "auditor":  # every signer has accepted the accountability statement (SIG-05)
                assert client.post("/api/v1/auth/esignature-statement", json={"password": password},
                                   headers={"Authorization": f"Bearer {tokens[role]}"}).status_code == 204
        api = Api(client, tokens, credentials)
        api.ok("qa_officer", "/products", {"code": "P-001", "name": "阿莫西林胶囊", "strength": "0.25 g",
                                            "dosage_form": "capsule"}, 201)
        for batch_no, made, expires in (("B2601", "2026-01-10", "2028-01-09"), ("B2602", "2026-02-10", "2028-02-09"),
                                        ("B2603", "2026-03-10", "2028-03-09")):
            api.ok("qa_officer", "/batches", {"product_code": "P-001", "batch_no": batch_no, "manufactured_on": made,
                                              "expires_on": expires}, 201)
        return tokens, credentials

    tokens, credentials = prepared_state(request, app, build)
    return Api(client, tokens, credentials)


def registration(**overrides):
    body = {"received_on": "2026-11-02", "channel": "phone",
            "complainant": {"name": "王芳", "organisation": "仁和大药房", "phone": "13800001234", "email": "wf@example.cn"},
            "product_code": "P-001", "batch_nos": ["B2602"], "batch_unknown_reason": None,
            "complaint_type": "inner_packaging", "description": "瓶盖破裂，胶囊受潮", "sample_available": True,
            "customer_due_on": None}
    body.update(overrides)
    return body


def assign_investigator(api, complaint_id, username="zhang.wei"):
    """QA assigns the investigator (only the assigned investigator, or QA, records the investigation)."""
    current = api.get("qa_officer", f"/complaints/{complaint_id}").get_json()["investigator"]
    if (current or {}).get("username") != username:
        api.ok("qa_officer", f"/complaints/{complaint_id}/assignment", {"investigator": username})


def run_to_reply(api, complaint_id, replied_on=TODAY):
    api.ok("qa_officer", f"/complaints/{complaint_id}/validity",
           {"information_complete": True, "substantiated": True, "reason": None})
    api.ok("qa_officer", f"/complaints/{complaint_id}/classification",
           {"complaint_class": "II", "rationale": "密封缺陷（SOP 3.2）", "adr_suspected": False})
    assign_investigator(api, complaint_id)
    api.ok("investigator", f"/complaints/{complaint_id}/investigation",
           {"root_cause": "封口压力偏低", "impact": "仅本批", "other_batches_affected": "无", "substantiated": True})
    api.ok("qa_officer", f"/complaints/{complaint_id}/assessment",
           {"reasonable": True, "actions": ["return_exchange"], "adr_confirmed": False, "regulator_report_required": False})
    # A reasonable complaint gets its CAPA before the formal reply (SOP 5.7).
    api.ok("qa_officer", "/capas", capa_body(complaint_id), 201)
    return api.ok("qa_officer", f"/complaints/{complaint_id}/replies", {"replied_on": replied_on, "summary": "调查结果与CAPA"})


def capa_body(*complaint_ids, **overrides) -> dict:
    body = {"complaint_ids": list(complaint_ids), "problem_statement": "瓶盖密封不良导致胶囊受潮",
            "risk": "中：可能影响产品稳定性", "effectiveness_criteria": "6 个月内无同类投诉",
            "effectiveness_due_on": "2027-06-30", "change_control_required": False}
    body.update(overrides)
    return body


@pytest.mark.req("REC-01", "REC-10", "RET-01")
def test_registration_returns_the_complaint_with_an_intake_reference(api):
    complaint = api.ok("intake", "/complaints", registration(), 201)
    assert complaint["intake_ref"] == "R-2026-00001"
    assert complaint["status"] == "registered" and complaint["number"] is None
    assert complaint["batch_nos"] == ["B2602"] and complaint["written_confirmation_requested"] is True
    assert complaint["complainant"]["name"] == "王芳"
    assert complaint["retention_until"] == "2029-02-09"  # expiry 2028-02-09 + 1 year
    second = api.ok("intake", "/complaints", registration(batch_nos=[], batch_unknown_reason="客户丢弃包装"), 201)
    assert second["intake_ref"] == "R-2026-00002" and second["retention_until"] == "2027-11-02"
    assert set(second["deadlines"]) >= {"reminder_due_on", "close_eligible_on", "provisional"}


@pytest.mark.req("SEC-11")
def test_personal_data_is_encrypted_at_rest_and_masked_for_investigators(app, api):
    complaint = api.ok("intake", "/complaints", registration(), 201)
    with app.extensions["gmp_engine"].connect() as connection:
        stored = connection.execute(sa.text("SELECT complainant_name, complainant_phone FROM complaints")).one()
    assert "王芳" not in stored.complainant_name and "13800001234" not in stored.complainant_phone
    seen = api.get("investigator", f"/complaints/{complaint['id']}").get_json()["complainant"]
    assert seen["name"] != "王芳" and seen["phone"].endswith("1234") and seen["phone"] != "13800001234"
    assert seen["organisation"] == "仁和大药房"
    assert api.get("qa_officer", f"/complaints/{complaint['id']}").get_json()["complainant"]["name"] == "王芳"


@pytest.mark.req("REC-10")
@pytest.mark.parametrize(("overrides", "field"), [
    ({"product_code": "NOPE"}, "product_code"),
    ({"batch_nos": ["X999"]}, "batch_nos"),
    ({"received_on": "2026-12-01"}, "received_on"),
    ({"channel": "pigeon"}, "channel"),
    ({"complaint_type": "bad"}, "complaint_type"),
    ({"batch_nos": [], "batch_unknown_reason": None}, "batch_nos"),
    ({"complainant": {"name": ""}}, "complainant.name"),
    ({"description": " "}, "description"),
])
def test_bad_registrations_answer_400_naming_the_field_and_store_nothing(app, api, overrides, field):
    response = api.post("intake", "/complaints", registration(**overrides))
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM complaints")).scalar_one() == 0


@pytest.mark.req("REC-10", "REC-18")
def test_a_batch_of_another_product_is_refused(api):
    api.ok("qa_officer", "/products", {"code": "P-002", "name": "头孢", "strength": "0.5 g", "dosage_form": "tablet"}, 201)
    api.ok("qa_officer", "/batches", {"product_code": "P-002", "batch_no": "C001", "manufactured_on": "2026-01-01",
                                      "expires_on": "2028-01-01"}, 201)
    response = api.post("intake", "/complaints", registration(batch_nos=["C001"]))
    assert response.status_code == 400 and "another product" in response.get_json()["error"]["fields"]["batch_nos"][0]


@pytest.mark.req("REC-04", "WF-01")
def test_the_whole_process_to_the_formal_reply_with_a_ts_number(api):
    complaint = api.ok("intake", "/complaints", registration(received_on="2026-09-01"), 201)
    cid = complaint["id"]
    api.ok("intake", f"/complaints/{cid}/acknowledgement", {"sent_on": "2026-09-02", "method": "phone", "note": "已确认收到"})
    replied = run_to_reply(api, cid)
    assert replied["number"] == "TS-II-26-001"
    assert replied["complaint_class"] == replied["original_class"] == "II"
    assert replied["status"] == "awaiting_customer"
    assert replied["replies"][0]["sequence"] == 1
    assert replied["deadlines"]["reminder_due_on"] is not None


@pytest.mark.req("WF-01")
def test_not_substantiated_goes_to_closure_pending_without_a_number(api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    assessed = api.ok("qa_officer", f"/complaints/{cid}/validity",
                      {"information_complete": True, "substantiated": False, "reason": "样品检验合格，与留样一致"})
    assert assessed["status"] == "assessed" and assessed["number"] is None
    refused = api.post("qa_officer", f"/complaints/{cid}/classification",
                       {"complaint_class": "III", "rationale": "x", "adr_suspected": False})
    assert refused.status_code == 409
    replied = api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "投诉不成立"})
    assert replied["status"] == "closure_pending" and replied["number"] is None


@pytest.mark.req("WF-01")
@pytest.mark.parametrize("step,body", [
    ("classification", {"complaint_class": "II", "rationale": "r", "adr_suspected": False}),
    ("investigation", {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True}),
    ("assessment", {"reasonable": True, "actions": [], "adr_confirmed": False, "regulator_report_required": False}),
    ("replies", {"replied_on": TODAY, "summary": "s"}),
    ("customer-responses", {"received_on": TODAY, "satisfied": True, "text": "t"}),
    ("reminders", {"sent_on": TODAY}),
])
def test_a_step_out_of_order_is_409_and_changes_nothing(api, step, body):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    assign_investigator(api, cid)
    before = api.get("qa_officer", f"/complaints/{cid}").get_json()
    who = "investigator" if step == "investigation" else "qa_officer"
    response = api.post(who, f"/complaints/{cid}/{step}", body)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"
    assert api.get("qa_officer", f"/complaints/{cid}").get_json() == before


@pytest.mark.req("WF-12")
def test_sales_cannot_record_an_investigation(api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    assert api.post("intake", f"/complaints/{cid}/investigation",
                    {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True}).status_code == 403


@pytest.mark.req("REC-05")
def test_regrading_keeps_the_number_and_the_original_class_and_needs_a_reason(api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification",
           {"complaint_class": "III", "rationale": "外包装", "adr_suspected": False})
    assert api.post("qa_head", f"/complaints/{cid}/regrading", api.signed("qa_head", {"complaint_class": "I"})).status_code == 400
    # The QA head signs the regrading in the same step; the QA officer cannot.
    refused = api.post("qa_officer", f"/complaints/{cid}/regrading",
                       api.signed("qa_officer", {"complaint_class": "I", "reason": "发现污染"}))
    assert refused.status_code == 403
    regraded = api.ok("qa_head", f"/complaints/{cid}/regrading",
                      api.signed("qa_head", {"complaint_class": "I", "reason": "发现污染"}))
    assert (regraded["number"], regraded["complaint_class"], regraded["original_class"]) == ("TS-III-26-001", "I", "III")
    assert [(s["step"], s["meaning"], s["status"]) for s in regraded["signatures"]] == [("regrading", "approved", "valid")]


@pytest.mark.req("REC-04", "REC-07")
def test_serials_run_per_class_and_received_year(api):
    numbers = []
    for received_on, klass in (("2025-12-31", "I"), ("2026-01-02", "I"), ("2026-01-03", "II"), ("2026-01-04", "I")):
        cid = api.ok("intake", "/complaints", registration(received_on=received_on), 201)["id"]
        api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
        numbers.append(api.ok("qa_officer", f"/complaints/{cid}/classification",
                              {"complaint_class": klass, "rationale": "r", "adr_suspected": False})["number"])
    assert numbers == ["TS-I-25-001", "TS-I-26-001", "TS-II-26-001", "TS-I-26-002"]


def test_event_dates_cannot_be_in_the_future_or_before_the_previous_step(api):
    cid = api.ok("intake", "/complaints", registration(received_on="2026-11-02"), 201)["id"]
    future = api.post("intake", f"/complaints/{cid}/acknowledgement", {"sent_on": "2026-11-21", "method": "phone"})
    assert future.status_code == 400 and "sent_on" in future.get_json()["error"]["fields"]
    early = api.post("intake", f"/complaints/{cid}/acknowledgement", {"sent_on": "2026-11-01", "method": "phone"})
    assert early.status_code == 400 and "sent_on" in early.get_json()["error"]["fields"]


@pytest.mark.req("WF-01")
def test_a_challenge_returns_to_investigation_and_the_next_reply_is_supplementary(api):
    cid = api.ok("intake", "/complaints", registration(received_on="2026-09-01"), 201)["id"]
    run_to_reply(api, cid)
    challenged = api.ok("intake", f"/complaints/{cid}/customer-responses",
                        {"received_on": TODAY, "satisfied": False, "text": "不认可调查结论"})
    assert challenged["status"] == "under_investigation"
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "补充调查：运输挤压", "impact": "仅本批", "other_batches_affected": "无", "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/assessment",
           {"reasonable": True, "actions": [], "adr_confirmed": False, "regulator_report_required": False})
    second = api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "第二次答复"})
    assert [r["sequence"] for r in second["replies"]] == [1, 2]
    satisfied = api.ok("intake", f"/complaints/{cid}/customer-responses",
                       {"received_on": TODAY, "satisfied": True, "text": "接受"})
    assert satisfied["status"] == "closure_pending"


@pytest.mark.req("REC-12")
def test_the_batch_shows_its_complaints_adjacent_batches_and_consignees(api):
    api.ok("qa_officer", "/distributions", {"product_code": "P-001", "batch_no": "B2602", "consignee": "国药控股",
                                            "quantity": 1200, "shipped_on": "2026-03-01"}, 201)
    api.ok("intake", "/complaints", registration(), 201)
    with api.client.application.extensions["gmp_engine"].connect() as connection:
        batch_id = connection.execute(sa.text("SELECT id FROM batches WHERE batch_no = 'B2602'")).scalar_one()
    page = api.get("qa_officer", f"/batches/{batch_id}").get_json()
    assert [b["batch_no"] for b in page["adjacent_batches"]] == ["B2601", "B2603"]
    assert page["distributions"][0]["consignee"] == "国药控股"
    assert page["complaints"][0]["intake_ref"] == "R-2026-00001"


def test_master_data_validation_names_the_field(api):
    response = api.post("qa_officer", "/batches", {"product_code": "P-001", "batch_no": "B9",
                                                   "manufactured_on": "2026-05-01", "expires_on": "2026-04-01"})
    assert response.status_code == 400 and "expires_on" in response.get_json()["error"]["fields"]
    duplicate = api.post("qa_officer", "/products", {"code": "P-001", "name": "x", "strength": "1", "dosage_form": "t"})
    assert duplicate.status_code == 409
    assert api.post("intake", "/products", {"code": "P-9", "name": "x", "strength": "1", "dosage_form": "t"}).status_code == 403


@pytest.mark.req("AT-01")
def test_every_step_leaves_an_audit_event_and_the_trail_replays_clean(app, api, uow_factory):
    from audit.integrity import integrity_check

    cid = api.ok("intake", "/complaints", registration(received_on="2026-09-01"), 201)["id"]
    run_to_reply(api, cid)
    events = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    # The complaint's trail takes in the records that belong to it: here the reply of the last step.
    # It also says who was told of what (WF-10, WF-11): the QP of the complaint, its number and its investigation;
    # the investigator of the assignment; the responsible official (by default the head of quality) of the
    # investigation.
    assert [e["action"] for e in events] == ["complaint.registered", "user_notice.created", "complaint.validity",
                                             "complaint.classify", "user_notice.created", "complaint.assigned",
                                             "user_notice.created", "complaint.investigate", "user_notice.created",
                                             "user_notice.created", "complaint.assess", "complaint.reply",
                                             "complaint_reply.created"]
    assert events[3]["changes"]["number"] == [None, "TS-II-26-001"]
    assert events[3]["changes"]["status"] == ["registered", "under_investigation"]
    assert integrity_check(uow_factory()) == []


def test_dates_are_plain_iso_dates(api):
    complaint = api.ok("intake", "/complaints", registration(), 201)
    assert date.fromisoformat(complaint["received_on"]) == date(2026, 11, 2)


@pytest.mark.req("REC-11", "TR-02")
def test_the_investigator_sees_adjacent_batches_and_earlier_complaints_of_the_same_kind(api):
    first = api.ok("intake", "/complaints", registration(received_on="2026-10-01"), 201)["id"]
    api.ok("intake", "/complaints", registration(received_on="2026-10-02", complaint_type="outer_packaging"), 201)
    second = api.ok("intake", "/complaints", registration(received_on="2026-11-02"), 201)["id"]
    related = api.get("investigator", f"/complaints/{second}").get_json()["related"]
    assert [b["batch_no"] for b in related["adjacent_batches"]] == ["B2601", "B2603"]
    assert [c["id"] for c in related["earlier_complaints"]] == [first]


@pytest.mark.req("VAL-03")
def test_request_bodies_are_described_field_by_field_and_a_wrong_type_says_what_was_expected(api, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    validity = schemas["Validity"]
    assert set(validity["required"]) == {"information_complete", "substantiated"}
    assert validity["properties"]["substantiated"]["type"] == "boolean"
    registration_body = spec["paths"]["/api/v1/complaints"]["post"]["requestBody"]["content"]["application/json"]
    assert registration_body["schema"] == {"$ref": "#/components/schemas/Registration"}
    assert schemas["Registration"]["properties"]["received_on"] == {
        "type": "string", "format": "date", "description": "YYYY-MM-DD, from 2000-01-01 to 2999-12-31"}
    assert schemas["Registration"]["properties"]["description"]["maxLength"] == 20000
    assert "inner_packaging" in schemas["Registration"]["properties"]["complaint_type"]["enum"]
    assert set(schemas["Complainant"]["required"]) == {"name"}
    assert schemas["Signing"]["properties"]["password"]["format"] == "password"
    # The same schema checks the body: the wrong type is named, nothing is stored.
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    before = api.get("qa_officer", f"/complaints/{cid}").get_json()
    wrong = api.post("qa_officer", f"/complaints/{cid}/validity",
                     {"information_complete": "yes", "substantiated": 1, "reason": True})
    assert wrong.status_code == 400
    assert wrong.get_json()["error"]["fields"] == {
        "information_complete": ["Expected true or false, not text."],
        "substantiated": ["Expected true or false, not a number."],
        "reason": ["Expected text, not true or false."]}
    assert api.get("qa_officer", f"/complaints/{cid}").get_json() == before
    nested = api.post("intake", "/complaints", registration(complainant={"name": 12}, received_on=20261102))
    assert nested.get_json()["error"]["fields"] == {"complainant.name": ["Expected text, not a number."],
                                                    "received_on": ["Expected a date as text YYYY-MM-DD, not a number."]}
    assert api.post("intake", "/complaints", ["not", "an", "object"]).get_json()["error"]["fields"] == {
        "_body": ["Send a JSON object with Content-Type application/json."]}

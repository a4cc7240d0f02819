"""The pharmacovigilance hand-off (SOP 5.6.2; DESIGN §4 and §6; WF-03, HO-01): day 0, the minimum
elements, the clocks per market in the regulator-notification register, the PV officer's acceptance and
submission, and the complaint that cannot close over an unaccepted hand-off. SQLite and PostgreSQL."""
import pytest
import sqlalchemy as sa

from tests.conftest import prepared_state
from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401
from tests.integration.test_signatures import classified

CASE = {"aware_on": "2026-11-01", "seriousness": "hospitalisation", "unexpected": False,
        "reporter": "李医生，仁和医院 021-5555 0188", "patient": "女，67 岁，首字母 W.F.",
        "reaction": "服药后两小时出现全身荨麻疹，住院两天"}


@pytest.fixture
def pv_api(request, app, api, client, make_user):
    """The complaint API's users and a PV officer who has accepted the e-signature statement. Built once per backend
    and copied for later tests (tests/conftest.py ``prepared_state``)."""

    def build() -> None:
        for username, role in (("sun.li", "pv_officer"), ("gao.yan", "regulatory_affairs")):
            _, password = make_user(username, role, identity_verified=True)
            api.tokens[role] = client.post("/api/v1/auth/token",
                                           json={"username": username, "password": password}).get_json()["token"]
            api.credentials[role] = (username, password)

    prepared_state(request, app, build)
    return api


def rows(app, sql):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(sql)).all()


def classified_in_the_us(api, klass):
    """Classified with the field-alert screening and the ADR triage a US-marketed product asks."""
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification", {"complaint_class": klass, "rationale": "r",
                                                               "adr_suspected": True, "field_alert": False,
                                                               "adr_serious": True, "adr_unexpected": True})
    return cid


def answered_and_satisfied(api, cid, *, adr_confirmed=False):
    """A classified complaint investigated, assessed reasonable with a CAPA, answered, and the customer
    satisfied: pending closure."""
    from tests.integration.test_complaints_api import assign_investigator, capa_body

    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation", {"root_cause": "个体过敏", "impact": "无质量缺陷",
                                                                "other_batches_affected": "无", "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/assessment", {"reasonable": True, "actions": [],
                                                           "adr_confirmed": adr_confirmed,
                                                           "regulator_report_required": False})
    api.ok("qa_officer", "/capas", capa_body(cid), 201)
    api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": "2026-11-20", "summary": "调查结果"})
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": "2026-11-20", "satisfied": True,
                                                                "text": "满意"})


def business_events(app):
    """The trail without security events (a refused act may leave only those)."""
    return rows(app, "SELECT log_index, action FROM audit_events WHERE action NOT LIKE 'user.%' "
                     "AND action NOT LIKE 'signature.refused' ORDER BY log_index")


def adr_reports(api, subject):
    return [(n["authority"], n["due_at"][:10], n["status"]) for n in
            api.get("regulatory_affairs", "/notifications").get_json()["notifications"]
            if n["kind"] == "adr_report" and n["subject"] == subject]


@pytest.mark.req("HO-01")
def test_a_serious_reaction_is_handed_off_with_day0_and_due_in_15_days(app, pv_api):
    api = pv_api
    cid = classified(api, "I")
    complaint = api.ok("qa_officer", f"/complaints/{cid}/adr", CASE, 201)
    adr = complaint["adr"]
    # Day 0 is when the company first knew (before the complaint was registered on 2026-11-02).
    assert (adr["status"], adr["day0"], adr["due_on"]) == ("handed_off", "2026-11-01", "2026-11-16")
    assert adr["missing_elements"] == [] and adr["cases"][0]["kind"] == "initial"
    assert adr["cases"][0]["suspect_product"] == "阿莫西林胶囊"
    # China by default: 15 calendar days for a serious reaction, in the register as an adr_report.
    assert adr_reports(api, complaint["number"]) == [(
        "国家药品不良反应监测中心 (China ADR monitoring centre)", "2026-11-16", "overdue")]
    # Health data are encrypted at rest and masked for the QP and the investigator.
    stored = rows(app, "SELECT reporter, patient, reaction FROM adr_cases")[0]
    assert not any("荨麻疹" in value or "李医生" in value for value in stored)
    for role in ("qp", "investigator"):
        masked = api.get(role, f"/complaints/{cid}").get_json()["adr"]["cases"][0]
        assert masked["reaction"].startswith("服") and "荨麻疹" not in masked["reaction"]
    assert "荨麻疹" in api.get("pv_officer", f"/complaints/{cid}").get_json()["adr"]["cases"][0]["reaction"]


@pytest.mark.req("HO-01")
def test_each_market_adds_its_clock(pv_api):
    api = pv_api
    api.ok("qa_officer", "/products/P-001/markets", {"markets": ["CN", "DE", "US"], "reason": "EU and US launch", "change_control_ref": "CC-2026-001"})
    cid = classified_in_the_us(api, "I")
    death = api.ok("intake", f"/complaints/{cid}/adr", {**CASE, "seriousness": "death", "unexpected": True}, 201)
    reports = sorted(adr_reports(api, death["number"]))
    assert reports == [("EudraVigilance (EMA)", "2026-11-16", "overdue"), ("FDA (FAERS)", "2026-11-16", "overdue"),
                       ("国家药品不良反应监测中心 (China ADR monitoring centre)", "2026-11-01", "overdue"),
                       ("国家药品不良反应监测中心 (China ADR monitoring centre)", "2026-11-16", "overdue")]
    assert death["adr"]["due_on"] == "2026-11-01"  # a death: at once
    other = classified_in_the_us(api, "III")
    mild = api.ok("qa_officer", f"/complaints/{other}/adr", {**CASE, "seriousness": "non_serious"}, 201)
    # Non-serious and expected: China 30 days, EU 90 days, the US nothing expedited.
    assert sorted(authority_and_date for *authority_and_date, _status in adr_reports(api, mild["number"])) == [
        ["EudraVigilance (EMA)", "2027-01-30"], ["国家药品不良反应监测中心 (China ADR monitoring centre)", "2026-12-01"]]


@pytest.mark.req("HO-01", "VAL-03")
def test_bad_input_names_the_field_and_stores_nothing(app, pv_api):
    api = pv_api
    cid = classified(api)
    for body, field in (({**CASE, "aware_on": "2026-11-03"}, "aware_on"),  # after the received date
                        ({**CASE, "aware_on": "2026-13-01"}, "aware_on"),
                        ({**CASE, "seriousness": "severe"}, "seriousness"),
                        ({**CASE, "unexpected": "no"}, "unexpected"),
                        ({k: v for k, v in CASE.items() if k != "seriousness"}, "seriousness")):
        response = api.post("qa_officer", f"/complaints/{cid}/adr", body)
        assert response.status_code == 400 and field in response.get_json()["error"]["fields"], response.get_json()
    assert rows(app, "SELECT count(*) FROM adr_cases")[0][0] == 0
    assert rows(app, "SELECT count(*) FROM notifications")[0][0] == 0
    assert api.post("investigator", f"/complaints/{cid}/adr", CASE).status_code == 403
    assert api.post("qa_officer", "/complaints/999/adr", CASE).status_code == 404


def test_an_incomplete_case_says_what_is_missing_until_completed(app, pv_api):
    api = pv_api
    cid = classified(api)
    adr = api.ok("intake", f"/complaints/{cid}/adr", {**CASE, "patient": None, "reporter": "  "}, 201)["adr"]
    assert adr["status"] == "incomplete" and adr["missing_elements"] == ["reporter", "patient"]
    api.ok("pv_officer", f"/complaints/{cid}/adr/1/acceptance", {})
    refused = api.post("pv_officer", f"/complaints/{cid}/adr/1/submission",
                       {"case_number": "CN-2026-0042", "submitted_at": "2026-11-20T10:00:00+08:00"})
    assert refused.status_code == 409 and "reporter, patient" in refused.get_json()["error"]["message"]
    assert rows(app, "SELECT case_number FROM adr_cases")[0][0] is None
    completed = api.ok("intake", f"/complaints/{cid}/adr/1/elements",
                       {"reporter": CASE["reporter"], "patient": CASE["patient"]})["adr"]
    assert completed["status"] == "accepted" and completed["missing_elements"] == []
    # A recorded element changes only with a reason.
    no_reason = api.post("intake", f"/complaints/{cid}/adr/1/elements", {"patient": "男，70 岁"})
    assert no_reason.status_code == 400 and "reason" in no_reason.get_json()["error"]["fields"]
    api.ok("intake", f"/complaints/{cid}/adr/1/elements", {"patient": "男，70 岁", "reason": "患者性别记录错误"})
    [event] = [e for e in api.get("auditor", "/audit/events").get_json()["events"] if e["action"] == "adr_case.corrected"]
    assert event["reason"] == "患者性别记录错误" and "男" not in str(event["changes"])  # health data stay out of the trail


@pytest.mark.req("HO-01", "HO-13")
def test_pv_accepts_and_submits_and_only_then_the_complaint_may_close(app, pv_api):
    from tests.integration.test_complaints_api import run_to_reply

    api = pv_api
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    run_to_reply(api, cid)
    api.ok("qa_officer", f"/complaints/{cid}/adr", CASE, 201)
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": "2026-11-20", "satisfied": True,
                                                                "text": "满意"})
    assert api.post("qa_officer", f"/complaints/{cid}/adr/1/acceptance", {}).status_code == 403  # PV only
    before = api.get("qa_head", f"/complaints/{cid}").get_json()
    events_before = business_events(app)
    closure = api.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "关闭"}))
    assert closure.status_code == 409
    assert "pharmacovigilance" in closure.get_json()["error"]["message"]
    assert api.get("qa_head", f"/complaints/{cid}").get_json() == before
    assert business_events(app) == events_before
    accepted = api.ok("pv_officer", f"/complaints/{cid}/adr/1/acceptance", {})["adr"]
    assert accepted["status"] == "accepted" and accepted["cases"][0]["accepted_by"]["username"] == "sun.li"
    case_before, events_before = rows(app, "SELECT accepted_at, version FROM adr_cases"), business_events(app)
    assert api.post("pv_officer", f"/complaints/{cid}/adr/1/acceptance", {}).status_code == 409
    assert rows(app, "SELECT accepted_at, version FROM adr_cases") == case_before
    assert business_events(app) == events_before
    future = api.post("pv_officer", f"/complaints/{cid}/adr/1/submission",
                      {"case_number": "CN-2026-0042", "submitted_at": "2099-01-01T10:00:00+08:00"})
    assert future.status_code == 400 and "submitted_at" in future.get_json()["error"]["fields"]
    submitted_at = accepted["cases"][0]["accepted_at"]
    done = api.ok("pv_officer", f"/complaints/{cid}/adr/1/submission",
                  {"case_number": "CN-2026-0042", "submitted_at": submitted_at, "reference": "E2B ack 77"})
    assert done["adr"]["status"] == "submitted" and done["adr"]["cases"][0]["case_number"] == "CN-2026-0042"
    # The submission is the report the register was waiting for.
    [report] = [n for n in api.get("regulatory_affairs", "/notifications").get_json()["notifications"]
                if n["kind"] == "adr_report"]
    assert report["status"] == "sent" and report["reference"] == "E2B ack 77"
    follow_up = api.ok("qa_officer", f"/complaints/{cid}/adr", {**CASE, "aware_on": "2026-11-02",
                                                                 "reaction": "出院后复发"}, 201)["adr"]
    assert [c["kind"] for c in follow_up["cases"]] == ["initial", "follow_up"]
    assert follow_up["cases"][1]["status"] == "handed_off"


@pytest.mark.req("WF-03")
def test_an_adr_suspected_without_hand_off_blocks_closure(pv_api):
    api = pv_api
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification", {"complaint_class": "II", "rationale": "皮疹",
                                                               "adr_suspected": True})
    answered_and_satisfied(api, cid, adr_confirmed=True)
    refused = api.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "关闭"}))
    assert refused.status_code == 409
    assert "nothing is handed to pharmacovigilance" in refused.get_json()["error"]["message"]
    api.ok("intake", f"/complaints/{cid}/adr", CASE, 201)
    still = api.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "关闭"}))
    assert "nothing is handed" not in still.get_json()["error"]["message"]
    assert "not yet accepted by pharmacovigilance: 1" in still.get_json()["error"]["message"]


@pytest.mark.req("HO-01")
def test_the_hand_off_packet_is_what_pv_receives_and_its_export_is_audited(app, pv_api):
    import hashlib
    import io

    api = pv_api
    cid = classified(api)
    assert api.client.post(f"/api/v1/complaints/{cid}/attachments",
                           data={"file": (io.BytesIO(b"%PDF-1.4 hospital letter"), "letter.pdf")},
                           headers={"Authorization": f"Bearer {api.tokens['intake']}"}).status_code == 201
    api.ok("qa_officer", f"/complaints/{cid}/adr", CASE, 201)
    headers = {"Authorization": f"Bearer {api.tokens['pv_officer']}"}
    response = api.client.get(f"/api/v1/complaints/{cid}/adr/1/packet", headers=headers)
    assert response.status_code == 200
    packet = response.get_json()
    assert packet["case"]["reaction"] == CASE["reaction"] and packet["case"]["day0"] == "2026-11-01"
    assert packet["product"]["code"] == "P-001" and [b["batch_no"] for b in packet["batches"]] == ["B2602"]
    assert packet["attachments"] == [{"filename": "letter.pdf", "media_type": "application/pdf", "size": 24,
                                      "sha256": hashlib.sha256(b"%PDF-1.4 hospital letter").hexdigest()}]
    pdf = api.client.get(f"/api/v1/complaints/{cid}/adr/1/packet.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    exports = [e for e in api.get("auditor", "/audit/events").get_json()["events"]
               if e["action"] == "adr_case.packet_exported"]
    assert [e["changes"]["document"][1] for e in exports] == ["json", "pdf"]
    assert exports[0]["changes"]["file_sha256"][1] == hashlib.sha256(response.data).hexdigest()
    # Health data in clear: not for the QP, the investigator or the auditor.
    for role in ("qp", "investigator", "auditor"):
        assert api.client.get(f"/api/v1/complaints/{cid}/adr/1/packet",
                              headers={"Authorization": f"Bearer {api.tokens[role]}"}).status_code == 403


@pytest.mark.req("HO-13")
def test_the_register_keeps_a_copy_of_what_was_sent(app, pv_api):
    import hashlib
    import io

    api = pv_api
    cid = classified(api)
    number = api.ok("qa_officer", f"/complaints/{cid}/adr", CASE, 201)["number"]
    [entry] = [n for n in api.get("regulatory_affairs", "/notifications").get_json()["notifications"]
               if n["subject"] == number]
    headers = {"Authorization": f"Bearer {api.tokens['regulatory_affairs']}"}
    letter = b"%PDF-1.4 ADR report form as sent"

    def upload(data=letter, name="report.pdf"):
        return api.client.post(f"/api/v1/notifications/{entry['id']}/copy", headers=headers,
                               data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")

    assert upload().status_code == 409  # nothing was sent yet
    api.ok("regulatory_affairs", f"/notifications/{entry['id']}/sent",
           {"sent_at": entry["created_at"], "method": "online", "reference": "ADR-2026-77"})
    refused = upload(b"MZ\x90\x00 not a document", "report.pdf")
    assert refused.status_code == 400 and "file" in refused.get_json()["error"]["fields"]
    kept = upload()
    assert kept.status_code == 201
    assert kept.get_json()["copy"] == {"filename": "report.pdf", "media_type": "application/pdf", "size": len(letter),
                                       "sha256": hashlib.sha256(letter).hexdigest()}
    assert upload(b"%PDF-1.4 another", "other.pdf").status_code == 409  # the copy never changes
    download = api.client.get(f"/api/v1/notifications/{entry['id']}/copy",
                              headers={"Authorization": f"Bearer {api.tokens['auditor']}"})
    assert download.status_code == 200 and download.data == letter
    assert "attachment" in download.headers["Content-Disposition"]

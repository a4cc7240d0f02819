"""Triage at the validity step (SOP 5.3): the two questions of REC-09 with the routing of what is not a quality
defect and the notice of a suspected falsification, and the hold of a possible failure to meet specification until
the head of quality's signed determination (WF-02). Through the API and the complaint page; SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import STRONG_PASSWORD, csrf_token, login
from tests.integration.test_complaints_api import (  # noqa: F401 (fixtures)
    TODAY,
    api,
    assign_investigator,
    registration,
    settings,
)

VALID = {"information_complete": True, "substantiated": True}
FLAGGED = {**VALID, "quality_defect_suspected": "yes", "falsification_suspected": "no", "spec_failure_suspected": True}
DETERMINATION = {"investigation_required": True, "rationale": "含量可能低于标准：按 211.192 调查"}


def _registered(api) -> int:
    return api.ok("intake", "/complaints", registration(), 201)["id"]


def _state(app, api, cid: int) -> tuple:
    """The complaint as the API shows it, the whole audit trail (index, action) and the signature rows."""
    record = api.get("auditor", f"/complaints/{cid}").get_json()
    with app.extensions["gmp_engine"].connect() as connection:
        events = connection.execute(sa.text("SELECT log_index, action FROM audit_events ORDER BY log_index")).all()
        signatures = connection.execute(sa.text("SELECT count(*) FROM signatures")).scalar_one()
    return record, [tuple(e) for e in events], signatures


def _business_events_unchanged(app, api, cid, before) -> list[str]:
    """Asserts the record, its signatures and the trail before the refusal are as they were; returns the actions
    written after (the security records only)."""
    record, events, signatures = _state(app, api, cid)
    assert record == before[0] and signatures == before[2]
    assert events[:len(before[1])] == before[1]
    return [action for _index, action in events[len(before[1]):]]


def _notices(api, who) -> list[dict]:
    return api.get(who, "/notices").get_json()["notices"]


# --- REC-09 -------------------------------------------------------------------------------------------------------


@pytest.mark.req("REC-09")
def test_the_design_validity_body_still_works_and_records_both_answers_as_unknown(api, client):
    cid = _registered(api)
    shown = api.ok("qa_officer", f"/complaints/{cid}/validity", VALID)
    assert shown["status"] == "registered"
    assert {k: shown["validity"][k] for k in ("quality_defect_suspected", "falsification_suspected", "routed_to",
                                              "spec_failure_suspected")} == {
        "quality_defect_suspected": "unknown", "falsification_suspected": "unknown", "routed_to": None,
        "spec_failure_suspected": False}
    # The default is part of the published contract; the required fields are those of DESIGN §6.
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Validity"]
    assert set(schema["required"]) == {"information_complete", "substantiated"}
    for name in ("quality_defect_suspected", "falsification_suspected"):
        assert schema["properties"][name]["default"] == "unknown"
        assert schema["properties"][name]["enum"] == ["yes", "no", "unknown"]
    assert schema["properties"]["spec_failure_suspected"]["default"] is False


@pytest.mark.req("REC-09")
def test_a_complaint_that_is_not_a_quality_defect_is_routed_and_the_routing_is_in_the_audit_trail(app, api):
    cid = _registered(api)
    before = _state(app, api, cid)
    for body, field in (({**VALID, "quality_defect_suspected": "no"}, "routed_to"),
                        ({**VALID, "quality_defect_suspected": "maybe"}, "quality_defect_suspected"),
                        ({**VALID, "falsification_suspected": True}, "falsification_suspected"),
                        ({**VALID, "quality_defect_suspected": "no", "routed_to": "finance"}, "routed_to"),
                        ({**VALID, "spec_failure_suspected": "yes"}, "spec_failure_suspected")):
        refused = api.post("qa_officer", f"/complaints/{cid}/validity", body)
        assert refused.status_code == 400, body
        assert field in refused.get_json()["error"]["fields"], refused.get_json()
        assert _business_events_unchanged(app, api, cid, before) == []
    shown = api.ok("qa_officer", f"/complaints/{cid}/validity", {
        **VALID, "substantiated": False, "reason": "不良反应，非质量问题", "quality_defect_suspected": "no",
        "falsification_suspected": "no", "routed_to": "pharmacovigilance", "routing_note": "已转药物警戒部"})
    assert shown["validity"]["routed_to"] == "pharmacovigilance"
    assert shown["validity"]["routing_note"] == "已转药物警戒部"
    assert api.get("qa_head", f"/complaints/{cid}").get_json()["validity"]["quality_defect_suspected"] == "no"
    events = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    routed = [e for e in events if e["action"] == "complaint.routed"]
    assert len(routed) == 1 and routed[0]["actor"]["name"] and \
        routed[0]["changes"]["routed_to"] == [None, "pharmacovigilance"]
    validity = next(e for e in events if e["action"] == "complaint.validity")
    assert validity["changes"]["quality_defect_suspected"] == [None, "no"]


@pytest.mark.req("REC-09")
def test_a_suspected_falsification_tells_the_qp_and_the_head_of_quality_and_stands_out_on_the_page(api, client):
    cid = _registered(api)
    api.ok("qa_officer", f"/complaints/{cid}/validity", {**VALID, "quality_defect_suspected": "yes",
                                                         "falsification_suspected": "yes"})
    for who in ("qp", "qa_head"):
        told = [n for n in _notices(api, who) if n["kind"] == "falsification_suspected"]
        assert [n["subject_id"] for n in told] == [cid], who
    assert not [n for n in _notices(api, "qa_officer") if n["kind"] == "falsification_suspected"]
    login(client, "chen.jing", STRONG_PASSWORD)
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'id="falsification-alert"' in page and 'role="alert"' in page


@pytest.mark.req("REC-09")
def test_the_validity_form_asks_each_triage_question_with_nothing_preselected(app, api, client):
    cid = _registered(api)
    login(client, "li.na", STRONG_PASSWORD)
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    form = page[page.index('id="step-record_validity"'):]
    form = form[:form.index("</form>")]
    for name in ("quality_defect_suspected", "falsification_suspected", "spec_failure_suspected"):
        assert f'name="{name}" value="yes"' in form and f'name="{name}" value="no"' in form
    assert 'name="quality_defect_suspected" value="unknown"' in form and " checked" not in form
    before = _state(app, api, cid)
    token = csrf_token(client, f"/complaints/{cid}")
    answered = {"csrf_token": token, "information_complete": "yes", "substantiated": "yes"}
    missing = client.post(f"/complaints/{cid}/record_validity", data=answered)
    assert missing.status_code == 400
    assert _business_events_unchanged(app, api, cid, before) == []
    routed = client.post(f"/complaints/{cid}/record_validity", data={
        **answered, "quality_defect_suspected": "no", "falsification_suspected": "unknown",
        "spec_failure_suspected": "no"})
    assert routed.status_code == 400  # not a quality defect: the group it goes to is named
    done = client.post(f"/complaints/{cid}/record_validity", data={
        **answered, "quality_defect_suspected": "no", "falsification_suspected": "unknown",
        "spec_failure_suspected": "no", "routed_to": "customer_service", "routing_note": "客服处理"})
    assert done.status_code == 302
    shown = api.get("auditor", f"/complaints/{cid}").get_json()["validity"]
    assert (shown["quality_defect_suspected"], shown["falsification_suspected"], shown["routed_to"]) == (
        "no", "unknown", "customer_service")
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'id="routed-to"' in page and "客服处理" in page


# --- WF-02 --------------------------------------------------------------------------------------------------------


def _flagger(api, client, make_user):
    """A QA officer who is also head of quality: flags the possible failure, so may not determine it."""
    make_user("author.head", "qa_officer", "qa_head", identity_verified=True)
    token = client.post("/api/v1/auth/token", json={"username": "author.head", "password": STRONG_PASSWORD}
                        ).get_json()["token"]
    api.tokens["author"], api.credentials["author"] = token, ("author.head", STRONG_PASSWORD)
    assert client.post("/api/v1/auth/esignature-statement", json={"password": STRONG_PASSWORD},
                       headers={"Authorization": f"Bearer {token}"}).status_code == 204


def _failed_logins(app, username) -> int:
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text("SELECT failed_login_count FROM users WHERE username = :u"),
                                  {"u": username}).scalar_one()


@pytest.mark.req("WF-02")
def test_a_possible_specification_failure_holds_the_complaint_in_triage_until_the_signed_determination(
        app, api, client, make_user):
    _flagger(api, client, make_user)
    cid = _registered(api)
    flagged = api.ok("author", f"/complaints/{cid}/validity", FLAGGED)
    assert flagged["status"] == "registered" and flagged["spec_failure_pending"] is True
    assert [n["subject_id"] for n in _notices(api, "qa_head") if n["kind"] == "spec_failure_determination_due"] == [cid]
    path = f"/complaints/{cid}/spec-failure-determination"
    before = _state(app, api, cid)
    # Classification is not allowed while the determination is missing (409, nothing changes).
    held = api.post("qa_officer", f"/complaints/{cid}/classification",
                    {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
    assert held.status_code == 409 and "211.192" in held.get_json()["error"]["message"]
    assert _business_events_unchanged(app, api, cid, before) == []
    # Every refused determination changes nothing; only the security record is written.
    cases = (("qa_officer", {}, 403, ["user.access_refused"]),
             ("qa_head", {"password": "wrong-password-0"}, 401, ["user.login_failed"]),
             ("author", {}, 403, ["signature.refused"]),
             ("qa_head", {"investigation_required": "yes"}, 400, []),
             ("qa_head", {"rationale": " "}, 400, []))
    for who, change, status, security in cases:
        before = _state(app, api, cid)
        body = {**api.signed(who, DETERMINATION), **change} if who in api.credentials else {**DETERMINATION, **change}
        response = api.post(who, path, body)
        assert response.status_code == status, (who, change, response.get_json())
        assert _business_events_unchanged(app, api, cid, before) == security, (who, change)
    assert _failed_logins(app, "liu.yang") == 1  # the wrong password counts toward the lockout
    determined = api.ok("qa_head", path, api.signed("qa_head", DETERMINATION))
    assert determined["status"] == "registered" and determined["spec_failure_pending"] is False
    assert determined["spec_failure_determination"]["investigation_required"] is True
    assert determined["spec_failure_determination"]["determined_by"]["username"] == "liu.yang"
    signature = next(s for s in determined["signatures"] if s["step"] == "spec_failure_determination")
    assert (signature["meaning"], signature["status"], signature["signer_name"]) == ("approved", "valid",
                                                                                   "Liu.Yang Tester")
    again = api.post("qa_head", path, api.signed("qa_head", DETERMINATION))
    assert again.status_code == 409
    classified = api.ok("qa_officer", f"/complaints/{cid}/classification",
                        {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
    assert classified["status"] == "under_investigation"
    # Later steps add content; the determination's signature still covers what it covered.
    assert next(s for s in classified["signatures"] if s["step"] == "spec_failure_determination")["status"] == "valid"


@pytest.mark.req("WF-02")
def test_a_flagged_complaint_found_not_substantiated_takes_that_path_only_after_the_determination(app, api):
    cid = _registered(api)
    flagged = api.ok("qa_officer", f"/complaints/{cid}/validity",
                     {**FLAGGED, "substantiated": False, "reason": "样品检验合格"})
    assert flagged["status"] == "registered"
    before = _state(app, api, cid)
    held = api.post("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "投诉不成立"})
    assert held.status_code == 409 and "211.192" in held.get_json()["error"]["message"]
    assert _business_events_unchanged(app, api, cid, before) == []
    determined = api.ok("qa_head", f"/complaints/{cid}/spec-failure-determination", api.signed("qa_head", {
        "investigation_required": False, "rationale": "检验合格，无需调查"}))
    assert determined["status"] == "assessed" and determined["number"] is None
    replied = api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "投诉不成立"})
    assert replied["status"] == "closure_pending"


@pytest.mark.req("WF-02")
def test_no_determination_is_taken_where_nothing_is_flagged(api):
    cid = _registered(api)
    api.ok("qa_officer", f"/complaints/{cid}/validity", VALID)
    refused = api.post("qa_head", f"/complaints/{cid}/spec-failure-determination",
                       api.signed("qa_head", DETERMINATION))
    assert refused.status_code == 409


@pytest.mark.req("WF-02")
def test_the_determination_is_signed_on_the_complaint_page_and_a_required_investigation_is_shown_to_the_investigator(
        app, api, client):
    cid = _registered(api)
    api.ok("qa_officer", f"/complaints/{cid}/validity", FLAGGED)
    login(client, "liu.yang", STRONG_PASSWORD)
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'id="spec-failure-hold"' in page and 'id="sign-spec_failure_determination"' in page
    assert 'id="step-classify"' not in page
    before = _state(app, api, cid)
    form = {"csrf_token": csrf_token(client, f"/complaints/{cid}"), "investigation_required": "yes",
            "rationale": DETERMINATION["rationale"], "username": "liu.yang"}
    wrong = client.post(f"/complaints/{cid}/determine_spec_failure", data={**form, "password": "wrong-password-0"})
    assert wrong.status_code == 401
    assert _business_events_unchanged(app, api, cid, before) == ["user.login_failed"]
    done = client.post(f"/complaints/{cid}/determine_spec_failure", data={**form, "password": STRONG_PASSWORD})
    assert done.status_code == 302
    assert api.get("auditor", f"/complaints/{cid}").get_json()["spec_failure_determination"]["investigation_required"]
    api.ok("qa_officer", f"/complaints/{cid}/classification",
           {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
    assign_investigator(api, cid)
    client.post("/logout", data={"csrf_token": csrf_token(client, f"/complaints/{cid}")})
    login(client, "zhang.wei", STRONG_PASSWORD)
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    investigation_form = page[page.index('id="step-investigate"'):]
    assert 'id="investigation-211-192"' in investigation_form and DETERMINATION["rationale"] in investigation_form

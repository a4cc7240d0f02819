"""CAPA sources and the closing of the effectiveness loop through /api/v1 (WF-13, WF-14): CAPAs from other
quality processes by their references, many sources per CAPA; the change-control answer and reference and the
planned effectiveness check before the plan approval; closure only after the check or the head of quality's
signed justification that none is needed; "not effective" closes only with a follow-up CAPA or a signed
escalation. Every refusal changes nothing. SQLite and PostgreSQL."""
import json

import pytest
import sqlalchemy as sa

from tests.integration.test_capa import action, assessed
from tests.integration.test_complaints_api import TODAY, api, capa_body, registration, settings  # noqa: F401
from tests.integration.test_recalls import proposal

OTHER = {"problem_statement": "偏差调查发现灭菌柜温度探头漂移", "root_cause": "探头未按期校准", "risk": "中",
         "effectiveness_criteria": "连续 3 批灭菌记录无偏差", "effectiveness_due_on": "2027-03-31"}


def business_state(app, api, capa_id) -> tuple:
    """The CAPA as the API shows it, and every audit event and signature row."""
    record = api.get("auditor", f"/capas/{capa_id}").get_json()
    with app.extensions["gmp_engine"].connect() as connection:
        events = connection.execute(sa.text("SELECT log_index, action FROM audit_events ORDER BY log_index")).all()
        signatures = connection.execute(sa.text("SELECT count(*) FROM signatures")).scalar_one()
    return record, [tuple(e) for e in events], signatures


def unchanged(app, api, capa_id, before) -> list[str]:
    """Asserts the CAPA, its signatures and the trail are as before; returns the actions written after."""
    record, events, signatures = business_state(app, api, capa_id)
    assert record == before[0] and signatures == before[2]
    assert events[:len(before[1])] == before[1]
    return [name for _index, name in events[len(before[1]):]]


def implemented(api, body=None) -> int:
    """A CAPA whose only action's implementation is approved."""
    capa_id = api.ok("qa_officer", "/capas", body or capa_body(assessed(api)), 201)["id"]
    act = action(api, capa_id)["actions"][0]["id"]
    api.ok("investigator", f"/capas/{capa_id}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "e"})
    assert api.ok("qa_head", f"/capas/{capa_id}/actions/{act}/implementation-approval",
                  api.signed("qa_head", {}))["status"] == "implemented"
    return capa_id


def not_effective(api, body=None) -> int:
    capa_id = implemented(api, body)
    api.ok("qa_head", f"/capas/{capa_id}/effectiveness", api.signed("qa_head", {
        "result": "not_effective", "evidence": "又收到两起同类投诉", "early_reason": "同类投诉已复发"}))
    return capa_id


@pytest.mark.req("WF-13")
def test_a_capa_comes_from_any_source_type_and_names_an_outside_source_by_its_reference(app, api):
    cid = assessed(api)
    recall = api.ok("qa_officer", "/recalls", proposal(complaint_ids=[cid]), 201)
    references = {"product_rejection": "REJ-2026-004", "non_conformance": "NC-2026-017", "deviation": "DEV-2026-031",
                  "audit": "AUD-2026-02", "inspection": "NMPA-INS-2026-07", "trend": "TR-26-003",
                  "recall": recall["number"].lower()}
    for source, reference in references.items():
        created = api.ok("qa_officer", "/capas", {**OTHER, "source": source, "source_reference": reference}, 201)
        assert created["source"] == source and created["complaints"] == []
        [link] = created["sources"]
        assert (link["source_type"], link["reference"]) == (source, reference.upper() if source == "recall"
                                                              else reference)
        assert link["recall_id"] == (recall["id"] if source == "recall" else None)
    # The existing contract: from complaints, without any of the new fields.
    plain = api.ok("qa_officer", "/capas", {k: v for k, v in capa_body(cid).items() if k != "change_control_required"},
                   201)
    assert plain["source"] == "complaint" and plain["sources"] == [] and plain["change_control"] == {
        "required": None, "reference": None}
    with app.extensions["gmp_engine"].connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM capas")).scalar_one()
        events = connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()
    for body, field in (({**OTHER, "source": "deviation"}, "source_reference"),
                        ({**OTHER, "source": "deviation", "source_reference": "  "}, "source_reference"),
                        ({**OTHER, "source": "supplier_audit", "source_reference": "X-1"}, "source"),
                        ({**OTHER, "source": "recall", "source_reference": "RC-26-099"}, "source_reference"),
                        ({**OTHER, "source": "capa", "source_reference": "CAPA-26-099"}, "source_reference"),
                        ({**capa_body(cid), "source_reference": "DEV-1"}, "source_reference"),
                        ({**capa_body(cid), "change_control_required": "yes"}, "change_control_required"),
                        ({**capa_body(cid), "change_control_ref": "CC-1"}, "change_control_ref")):
        refused = api.post("qa_officer", "/capas", body)
        assert refused.status_code == 400 and field in refused.get_json()["error"]["fields"], body
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM capas")).scalar_one() == count
        assert connection.execute(sa.text("SELECT count(*) FROM capa_sources")).scalar_one() == len(references)
        # A refused creation leaves no business event (an invalid body writes none at all).
        assert connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one() == events


@pytest.mark.req("WF-13")
def test_a_capa_links_many_to_many_with_complaints_and_other_sources(app, api, uow_factory):
    from audit.integrity import integrity_check

    first, second = assessed(api), assessed(api)
    capa = api.ok("qa_officer", "/capas", capa_body(first), 201)
    other = api.ok("qa_officer", "/capas", {**OTHER, "source": "deviation", "source_reference": "DEV-2026-031"}, 201)
    capa_id = capa["id"]
    api.ok("qa_officer", f"/capas/{capa_id}/complaints", {"complaint_id": second})
    api.ok("qa_officer", f"/capas/{capa_id}/sources", {"source_type": "deviation", "reference": "DEV-2026-031"})
    linked = api.ok("qa_officer", f"/capas/{capa_id}/sources",
                    {"source_type": "inspection", "reference": "NMPA-INS-2026-07"})
    assert [c["id"] for c in linked["complaints"]] == [first, second]
    assert [(s["source_type"], s["reference"]) for s in linked["sources"]] == [
        ("deviation", "DEV-2026-031"), ("inspection", "NMPA-INS-2026-07")]
    # The same deviation is the source of both CAPAs.
    assert [s["reference"] for s in api.get("auditor", f"/capas/{other['id']}").get_json()["sources"]] == [
        "DEV-2026-031"]
    before = business_state(app, api, capa_id)
    for body, field, who, status in (
            ({"source_type": "deviation", "reference": "dev-2026-031"}, "reference", "qa_officer", 400),  # linked
            ({"source_type": "complaint", "reference": "TS-III-26-001"}, "source_type", "qa_officer", 400),
            ({"source_type": "recall", "reference": "RC-26-404"}, "reference", "qa_officer", 400),
            ({"source_type": "capa", "reference": other["number"]}, None, "qa_officer", 409),  # effective so far?
            ({"source_type": "audit"}, "reference", "qa_officer", 400),
            ({"source_type": "audit", "reference": "AUD-1"}, None, "investigator", 403)):
        refused = api.post(who, f"/capas/{capa_id}/sources", body)
        assert refused.status_code == status, body
        if field:
            assert field in refused.get_json()["error"]["fields"], body
    assert set(unchanged(app, api, capa_id, before)) <= {"user.access_refused"}
    with app.extensions["gmp_engine"].connect() as connection:
        event = json.loads(connection.execute(sa.text("SELECT canonical FROM audit_events WHERE action = "
                                                      "'capa.source_linked' ORDER BY log_index DESC")).first()[0])
    assert event["changes"]["sources"] == [["deviation:DEV-2026-031"],
                                           ["deviation:DEV-2026-031", "inspection:NMPA-INS-2026-07"]]
    assert integrity_check(uow_factory()) == []  # the trail and the source rows agree
    # The database keeps the sources: never changed, never removed.
    for statement in ("UPDATE capa_sources SET reference = 'X'", "DELETE FROM capa_sources"):
        with pytest.raises(sa.exc.DatabaseError):
            with app.extensions["gmp_engine"].begin() as connection:
                connection.execute(sa.text(statement))


@pytest.mark.req("WF-13")
def test_the_plan_is_approved_only_with_the_change_control_answer_its_reference_and_the_planned_check(app, api):
    cid = assessed(api)
    body = {k: v for k, v in capa_body(cid).items() if k != "change_control_required"}
    capa_id = api.ok("qa_officer", "/capas", body, 201)["id"]
    planned = action(api, capa_id, approve=False)
    assert [str(g) for g in planned["plan_gaps"]] == [
        "Answer whether the CAPA changes a process, a specification or software."]
    before = business_state(app, api, capa_id)
    unanswered = api.post("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {}))
    assert unanswered.status_code == 409 and "process, a specification or software" in unanswered.get_json()[
        "error"]["message"]
    assert unchanged(app, api, capa_id, before) == []
    for details, field in (({}, "change_control_required"), ({"change_control_required": "yes"}, "change_control_required"),
                           ({"change_control_required": False, "change_control_ref": "CC-1"}, "change_control_ref"),
                           ({"effectiveness_due_on": "2026-11-01"}, "effectiveness_due_on")):
        refused = api.post("qa_officer", f"/capas/{capa_id}/plan-details", details)
        assert refused.status_code == 400 and field in refused.get_json()["error"]["fields"], details
    assert api.post("investigator", f"/capas/{capa_id}/plan-details", {"change_control_required": True}).status_code == 403
    assert unchanged(app, api, capa_id, before) == ["user.access_refused"]
    answered = api.ok("qa_officer", f"/capas/{capa_id}/plan-details", {"change_control_required": True})
    assert answered["change_control"] == {"required": True, "reference": None}
    missing_ref = api.post("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {}))
    assert missing_ref.status_code == 409 and "change-control reference" in missing_ref.get_json()["error"]["message"]
    api.ok("qa_officer", f"/capas/{capa_id}/plan-details", {"change_control_ref": "CC-2026-045"})  # first answer
    approved = api.ok("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {"comment": "计划可行"}))
    assert approved["plan_approved"] is True and approved["plan_gaps"] == []
    # The approval covers the change-control answer and the planned check: a change needs a reason and a new approval.
    assert api.post("qa_officer", f"/capas/{capa_id}/plan-details",
                    {"change_control_ref": "CC-2026-046"}).status_code == 400
    for change in ({"change_control_ref": "CC-2026-046"}, {"effectiveness_criteria": "12 个月内无同类投诉"},
                   {"effectiveness_due_on": "2027-12-31"}):
        changed = api.ok("qa_officer", f"/capas/{capa_id}/plan-details", {**change, "reason": "变更控制编号更正"})
        assert changed["plan_approved"] is False
        assert [s["status"] for s in changed["signatures"] if s["step"] == "capa_plan_approval"][-1] == "superseded"
        api.ok("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {}))
    events = api.get("auditor", f"/audit/events?entity=capa:{capa_id}").get_json()["events"]
    recorded = [e for e in events if e["action"] == "capa.plan_details_recorded"]
    assert [e["changes"] for e in recorded][0]["change_control_required"] == [None, True]
    first_change = [e for e in events if e["action"] == "capa.plan_changed"][0]
    assert first_change["changes"]["change_control_ref"] == ["CC-2026-045", "CC-2026-046"]
    assert first_change["reason"] == "变更控制编号更正"
    # A "no" clears the reference; once the actions are implemented the plan no longer changes.
    cleared = api.ok("qa_officer", f"/capas/{capa_id}/plan-details",
                     {"change_control_required": False, "reason": "仅培训，不变更工艺"})
    assert cleared["change_control"] == {"required": False, "reference": None}
    implemented_id = implemented(api)
    assert api.post("qa_officer", f"/capas/{implemented_id}/plan-details",
                    {"effectiveness_criteria": "x", "reason": "r"}).status_code == 409


@pytest.mark.req("WF-14", "SIG-08")
def test_a_capa_closes_without_a_check_only_on_the_head_of_qualitys_signed_justification(app, api, client, make_user):
    from tests.conftest import STRONG_PASSWORD

    capa_id = implemented(api)
    early = api.ok("qa_officer", "/capas", capa_body(assessed(api)), 201)["id"]
    assert api.post("qa_head", f"/capas/{early}/effectiveness-waiver",
                    api.signed("qa_head", {"justification": "j"})).status_code == 409  # nothing implemented yet
    before = business_state(app, api, capa_id)
    no_check = api.post("qa_head", f"/capas/{capa_id}/closure", api.signed("qa_head", {}))
    assert no_check.status_code == 409 and "effectiveness check" in no_check.get_json()["error"]["message"]
    blank = api.post("qa_head", f"/capas/{capa_id}/effectiveness-waiver", api.signed("qa_head", {}))
    assert blank.status_code == 400 and "justification" in blank.get_json()["error"]["fields"]
    wrong = api.post("qa_head", f"/capas/{capa_id}/effectiveness-waiver",
                     {**api.signed("qa_head", {"justification": "j"}), "password": "wrong-password-0"})
    assert wrong.status_code == 401
    assert api.post("qa_officer", f"/capas/{capa_id}/effectiveness-waiver",
                    api.signed("qa_officer", {"justification": "j"})).status_code == 403
    assert unchanged(app, api, capa_id, before) == ["user.login_failed", "user.access_refused"]
    # Never the CAPA's owner: a head of quality who owns one of its actions cannot sign it.
    owned = api.ok("qa_officer", "/capas", capa_body(assessed(api)), 201)["id"]
    act = action(api, owned, owner="liu.yang")["actions"][0]["id"]
    make_user("sun.qi", "qa_head", identity_verified=True)
    token = client.post("/api/v1/auth/token", json={"username": "sun.qi", "password": STRONG_PASSWORD}).get_json()["token"]
    client.post("/api/v1/auth/esignature-statement", json={"password": STRONG_PASSWORD},
                headers={"Authorization": f"Bearer {token}"})
    api.tokens["other_head"], api.credentials["other_head"] = token, ("sun.qi", STRONG_PASSWORD)
    api.ok("qa_officer", f"/capas/{owned}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "e"})
    api.ok("other_head", f"/capas/{owned}/actions/{act}/implementation-approval", api.signed("other_head", {}))
    own = api.post("qa_head", f"/capas/{owned}/effectiveness-waiver", api.signed("qa_head", {"justification": "j"}))
    assert own.status_code == 403 and "author" in own.get_json()["error"]["message"]

    waived = api.ok("qa_head", f"/capas/{capa_id}/effectiveness-waiver", api.signed("qa_head", {
        "justification": "一次性纠正（报废受影响批次），无持续过程可评价"}))
    assert waived["effectiveness"]["waiver"] == "一次性纠正（报废受影响批次），无持续过程可评价"
    assert waived["status"] == "implemented"
    [signature] = [s for s in waived["signatures"] if s["step"] == "effectiveness_waiver"]
    assert signature["status"] == "valid" and signature["meaning"] == "approved"
    for path, body in (("effectiveness", {"result": "effective", "evidence": "e", "early_reason": "r"}),
                       ("effectiveness-waiver", {"justification": "again"})):
        assert api.post("qa_head", f"/capas/{capa_id}/{path}", api.signed("qa_head", body)).status_code == 409
    closed = api.ok("qa_head", f"/capas/{capa_id}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    assert closed["status"] == "closed"
    assert [(s["step"], s["status"]) for s in closed["signatures"]] == [
        ("capa_plan_approval", "valid"), ("action_implementation", "valid"), ("effectiveness_waiver", "valid"),
        ("capa_closure", "valid")]
    actions = [e["action"] for e in api.get("auditor", f"/audit/events?entity=capa:{capa_id}").get_json()["events"]]
    assert "capa.effectiveness_waived" in actions and actions[-1] == "capa.closed"


@pytest.mark.req("WF-14")
def test_not_effective_closes_once_an_existing_capa_is_linked_as_its_follow_up(app, api):
    failed = not_effective(api)
    number = api.get("auditor", f"/capas/{failed}").get_json()["number"]
    existing = api.ok("qa_officer", "/capas", {**OTHER, "source": "deviation", "source_reference": "DEV-2026-031"},
                      201)
    still_effective = api.ok("qa_officer", "/capas", capa_body(assessed(api)), 201)["id"]
    before = business_state(app, api, failed)
    blocked = api.post("qa_head", f"/capas/{failed}/closure", api.signed("qa_head", {}))
    assert blocked.status_code == 409 and "follow-up" in blocked.get_json()["error"]["message"]
    for capa_id, body, status in ((failed, {"capa_number": "CAPA-26-099"}, 400), (failed, {}, 400),
                                  (failed, {"capa_number": number}, 400),  # not its own follow-up
                                  (still_effective, {"capa_number": existing["number"]}, 409)):
        assert api.post("qa_officer", f"/capas/{capa_id}/follow-ups", body).status_code == status, body
    assert unchanged(app, api, failed, before) == []
    linked = api.ok("qa_officer", f"/capas/{failed}/follow-ups", {"capa_number": existing["number"]})
    assert linked["follow_ups"] == [existing["id"]]
    assert linked["follow_up_capas"] == [{"id": existing["id"], "number": existing["number"], "status": "open"}]
    follow_up = api.get("auditor", f"/capas/{existing['id']}").get_json()
    assert [(s["source_type"], s["reference"], s["capa_id"]) for s in follow_up["sources"]] == [
        ("deviation", "DEV-2026-031", None), ("capa", number, failed)]
    assert api.post("qa_officer", f"/capas/{failed}/follow-ups",
                    {"capa_number": existing["number"]}).status_code == 400  # already its follow-up
    assert api.ok("qa_head", f"/capas/{failed}/closure", api.signed("qa_head", {}))["status"] == "closed"


@pytest.mark.req("WF-14")
def test_not_effective_closes_once_a_follow_up_is_created_from_it_with_source_capa(api):
    failed = not_effective(api, {**OTHER, "source": "non_conformance", "source_reference": "NC-2026-017",
                                 "change_control_required": False})
    number = api.get("auditor", f"/capas/{failed}").get_json()["number"]
    follow_up = api.ok("qa_officer", "/capas", {**OTHER, "source": "capa", "source_reference": number}, 201)
    assert follow_up["source"] == "capa" and follow_up["follow_up_of"] == failed
    assert [(s["source_type"], s["reference"]) for s in follow_up["sources"]] == [("capa", number)]
    assert api.get("auditor", f"/capas/{failed}").get_json()["follow_ups"] == [follow_up["id"]]
    assert api.ok("qa_head", f"/capas/{failed}/closure", api.signed("qa_head", {}))["status"] == "closed"
    # A closed CAPA is followed up no more.
    assert api.post("qa_officer", "/capas", {**OTHER, "source": "capa", "source_reference": number}).status_code == 409


@pytest.mark.req("WF-14", "SIG-02")
def test_not_effective_closes_once_the_head_of_quality_signs_the_escalation(app, api):
    effective = implemented(api)
    api.ok("qa_head", f"/capas/{effective}/effectiveness", api.signed("qa_head", {
        "result": "effective", "evidence": "无同类投诉", "early_reason": "提前验证"}))
    assert api.post("qa_head", f"/capas/{effective}/escalation",
                    api.signed("qa_head", {"reason": "r"})).status_code == 409
    failed = not_effective(api)
    before = business_state(app, api, failed)
    for who, body, status in (("qa_head", {}, 400), ("qa_officer", {"reason": "r"}, 403),
                              ("qa_head", {"reason": "r", "password": "wrong-password-0"}, 401)):
        signed = api.signed(who, {k: v for k, v in body.items() if k != "password"})
        response = api.post(who, f"/capas/{failed}/escalation", {**signed, **body})
        assert response.status_code == status, (who, body)
    assert unchanged(app, api, failed, before) == ["user.access_refused", "user.login_failed"]
    escalated = api.ok("qa_head", f"/capas/{failed}/escalation", api.signed("qa_head", {
        "reason": "上报管理评审：封口工艺需重新验证，由 2027 年第一季度管理评审决定"}))
    assert escalated["escalation"].startswith("上报管理评审")
    # The escalation adds its own signature; the signed effectiveness check stays valid.
    assert [(s["step"], s["status"]) for s in escalated["signatures"]][-2:] == [
        ("effectiveness_check", "valid"), ("effectiveness_escalation", "valid")]
    assert api.post("qa_head", f"/capas/{failed}/escalation",
                    api.signed("qa_head", {"reason": "again"})).status_code == 409
    closed = api.ok("qa_head", f"/capas/{failed}/closure", api.signed("qa_head", {}))
    assert closed["status"] == "closed" and all(s["status"] == "valid" for s in closed["signatures"])
    assert api.post("qa_officer", f"/capas/{failed}/sources",
                    {"source_type": "audit", "reference": "AUD-1"}).status_code == 409  # closed: never changes


@pytest.mark.req("WF-13", "WF-14")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_capa_page_and_record_show_sources_change_control_and_the_waiver(app, api, client):
    from tests.conftest import STRONG_PASSWORD, login
    from tests.integration.test_documents import pdf_text

    capa_id = implemented(api, {**OTHER, "source": "inspection", "source_reference": "NMPA-INS-2026-07",
                                "change_control_required": True, "change_control_ref": "CC-2026-045"})
    api.ok("qa_officer", f"/capas/{capa_id}/sources", {"source_type": "deviation", "reference": "DEV-2026-031"})
    api.ok("qa_head", f"/capas/{capa_id}/effectiveness-waiver",
           api.signed("qa_head", {"justification": "一次性纠正，无需有效性检查"}))
    login(client, "liu.yang", STRONG_PASSWORD)
    page = client.get(f"/capas/{capa_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    for text in ("NMPA-INS-2026-07", "DEV-2026-031", "CC-2026-045", "一次性纠正，无需有效性检查", 'id="sign-closure"'):
        assert text in page, text
    assert 'id="sign-effectiveness"' not in page  # waived: no check to record
    pdf = client.get(f"/capas/{capa_id}/record.pdf?lang=en")
    assert pdf.status_code == 200
    text = pdf_text(pdf.data)
    for expected in ("NMPA-INS-2026-07", "DEV-2026-031", "CC-2026-045"):
        assert expected in text, expected

"""CAPA through /api/v1 (SOP 5.7, DESIGN §4; WF-13, WF-14): numbering, many-to-many with complaints,
actions, approvals that are signed and never by the owner, effectiveness, closure, and the complaint's
reply and closure rules. SQLite and PostgreSQL."""
import io

import pytest
import sqlalchemy as sa

from tests.integration.test_complaints_api import TODAY, api, assign_investigator, capa_body, registration, settings  # noqa: F401
from tests.integration.test_signatures import classified, replied_and_satisfied, sign


def assessed(api, reasonable=True) -> int:
    cid = classified(api, "III")
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "封口压力偏低", "impact": "i", "other_batches_affected": "o", "substantiated": True,
            "extend_to_other_batches": False, "extension_rationale": "相邻批次未受影响"})  # REC-11, for the closure
    api.ok("qa_officer", f"/complaints/{cid}/assessment", {"reasonable": reasonable, "actions": [],
                                                            "adr_confirmed": False, "regulator_report_required": False})
    return cid


def action(api, capa_id, owner="zhang.wei", due_on="2026-12-15", kind="corrective", approve=True):
    """An action planned by the QA officer; by default the head of quality then approves the plan."""
    planned = api.ok("qa_officer", f"/capas/{capa_id}/actions",
                     {"kind": kind, "description": "校准封口机", "owner": owner, "due_on": due_on}, 201)
    if approve and not planned["plan_approved"]:
        return api.ok("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {"comment": "计划可行"}))
    return planned


@pytest.mark.req("WF-13")
def test_capa_numbers_are_gapless_and_the_root_cause_comes_from_the_investigation(api):
    cid = assessed(api)
    first = api.ok("qa_officer", "/capas", capa_body(cid), 201)
    assert first["number"] == "CAPA-26-001" and first["status"] == "open"
    assert first["root_cause"] == "封口压力偏低" and [c["id"] for c in first["complaints"]] == [cid]
    second = api.ok("qa_officer", "/capas", capa_body(cid, root_cause="人员培训不足"), 201)
    assert second["number"] == "CAPA-26-002" and second["root_cause"] == "人员培训不足"
    # Many-to-many: a second complaint joins the first CAPA.
    other = assessed(api)
    linked = api.ok("qa_officer", f"/capas/{first['id']}/complaints", {"complaint_id": other})
    assert [c["id"] for c in linked["complaints"]] == [cid, other]
    assert [k["number"] for k in api.get("qa_officer", f"/complaints/{cid}").get_json()["capas"]] == [
        "CAPA-26-001", "CAPA-26-002"]


@pytest.mark.req("WF-13", "VAL-03")
def test_bad_input_names_the_field_and_stores_nothing(app, api):
    cid = assessed(api)
    past = api.post("qa_officer", "/capas", capa_body(cid, effectiveness_due_on="2026-11-19"))
    assert past.status_code == 400 and "effectiveness_due_on" in past.get_json()["error"]["fields"]
    assert api.post("qa_officer", "/capas", capa_body()).status_code == 400  # no complaint
    assert api.post("qa_officer", "/capas", capa_body(999)).status_code == 400
    assert api.post("intake", "/capas", capa_body(cid)).status_code == 403
    capa = api.ok("qa_officer", "/capas", capa_body(cid), 201)
    sales = api.post("qa_officer", f"/capas/{capa['id']}/actions",
                     {"kind": "corrective", "description": "d", "owner": "wang.fang", "due_on": "2026-12-15"})
    assert sales.status_code == 400 and "sales" in sales.get_json()["error"]["fields"]["owner"][0]
    overdue_at_birth = api.post("qa_officer", f"/capas/{capa['id']}/actions",
                                {"kind": "corrective", "description": "d", "owner": "zhang.wei", "due_on": "2026-11-01"})
    assert overdue_at_birth.status_code == 400 and "due_on" in overdue_at_birth.get_json()["error"]["fields"]
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM capas")).scalar_one() == 1
        assert connection.execute(sa.text("SELECT count(*) FROM capa_actions")).scalar_one() == 0


@pytest.mark.req("WF-13", "WF-14")
def test_a_capa_from_actions_to_closure_with_every_approval_signed(api):
    cid = assessed(api)
    capa = api.ok("qa_officer", "/capas", capa_body(cid), 201)
    capa_id = capa["id"]
    first = action(api, capa_id, owner="zhang.wei")
    assert first["status"] == "actions_in_progress"
    act = first["actions"][0]["id"]
    mine = api.get("investigator", "/capas/my-actions").get_json()["actions"]
    assert [(a["capa_number"], a["due_on"]) for a in mine] == [("CAPA-26-001", "2026-12-15")]
    # Only the owner (or QA) records the implementation.
    assert api.post("intake", f"/capas/{capa_id}/actions/{act}/implementation",
                    {"implemented_on": TODAY, "evidence": "e"}).status_code == 403
    upload = api.client.post(f"/api/v1/capas/{capa_id}/actions/{act}/evidence",
                             data={"file": (io.BytesIO(b"%PDF-1.4 calibration certificate"), "cert.pdf")},
                             headers={"Authorization": f"Bearer {api.tokens['investigator']}"})
    assert upload.status_code == 201
    api.ok("investigator", f"/capas/{capa_id}/actions/{act}/implementation",
           {"implemented_on": TODAY, "evidence": "已校准，见证书"})
    # Closing with open actions is refused; so is an effectiveness check before implementation.
    assert api.post("qa_head", f"/capas/{capa_id}/closure", api.signed("qa_head", {})).status_code == 409
    assert api.post("qa_head", f"/capas/{capa_id}/effectiveness",
                    api.signed("qa_head", {"result": "effective", "evidence": "e"})).status_code == 409
    approved = api.ok("qa_head", f"/capas/{capa_id}/actions/{act}/implementation-approval", api.signed("qa_head", {}))
    assert approved["actions"][0]["status"] == "verified" and approved["status"] == "implemented"
    # Due on 2027-06-30: before then the check needs the reason it can be judged now (signed with it).
    early = api.post("qa_head", f"/capas/{capa_id}/effectiveness",
                     api.signed("qa_head", {"result": "effective", "evidence": "三个月内无同类投诉"}))
    assert early.status_code == 400 and list(early.get_json()["error"]["fields"]) == ["early_reason"]
    checked = api.ok("qa_head", f"/capas/{capa_id}/effectiveness",
                     api.signed("qa_head", {"result": "effective", "evidence": "三个月内无同类投诉",
                                            "early_reason": "该缺陷可在下一批次生产中直接验证"}))
    assert checked["status"] == "effectiveness_check" and checked["effectiveness"]["result"] == "effective"
    assert checked["effectiveness"]["early_reason"] == "该缺陷可在下一批次生产中直接验证"
    closed = api.ok("qa_head", f"/capas/{capa_id}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    assert closed["status"] == "closed"
    assert [(s["step"], s["status"]) for s in closed["signatures"]] == [
        ("capa_plan_approval", "valid"), ("action_implementation", "valid"), ("effectiveness_check", "valid"), ("capa_closure", "valid")]
    actions = [e["action"] for e in api.get("auditor", f"/audit/events?entity=capa:{capa_id}").get_json()["events"]]
    assert actions[0] == "capa.created" and "capa.closed" in actions


@pytest.mark.req("WF-13", "SIG-02")
def test_actions_are_carried_out_only_under_an_approved_plan_and_a_new_action_needs_it_again(app, api):
    cid = assessed(api)
    capa_id = api.ok("qa_officer", "/capas", capa_body(cid), 201)["id"]
    planned = action(api, capa_id, approve=False)
    act = planned["actions"][0]["id"]
    assert planned["plan_approved"] is False
    before = api.get("auditor", f"/capas/{capa_id}").get_json()
    with app.extensions["gmp_engine"].connect() as connection:
        events = connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()
    early = api.post("investigator", f"/capas/{capa_id}/actions/{act}/implementation",
                     {"implemented_on": TODAY, "evidence": "e"})
    assert early.status_code == 409 and "plan" in early.get_json()["error"]["message"]
    assert api.get("auditor", f"/capas/{capa_id}").get_json() == before
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one() == events
    approved = api.ok("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {"comment": "计划可行"}))
    assert approved["plan_approved"] is True
    assert api.post("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {})).status_code == 409
    api.ok("investigator", f"/capas/{capa_id}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "e"})
    # A new action changes the plan: the approval is superseded and the new action waits for a new one.
    extended = action(api, capa_id, kind="preventive", approve=False)
    assert extended["plan_approved"] is False
    assert [s["status"] for s in extended["signatures"] if s["step"] == "capa_plan_approval"] == ["superseded"]
    new_act = extended["actions"][1]["id"]
    assert api.post("investigator", f"/capas/{capa_id}/actions/{new_act}/implementation",
                    {"implemented_on": TODAY, "evidence": "e"}).status_code == 409
    again = api.ok("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {}))
    assert [s["status"] for s in again["signatures"] if s["step"] == "capa_plan_approval"] == ["superseded", "valid"]
    api.ok("investigator", f"/capas/{capa_id}/actions/{new_act}/implementation",
           {"implemented_on": TODAY, "evidence": "e"})


@pytest.mark.req("SIG-08")
def test_whoever_planned_the_capa_cannot_approve_the_plan(api):
    cid = assessed(api)
    capa_id = api.ok("qa_head", "/capas", capa_body(cid), 201)["id"]
    api.ok("qa_head", f"/capas/{capa_id}/actions",
           {"kind": "corrective", "description": "校准封口机", "owner": "zhang.wei", "due_on": "2026-12-15"}, 201)
    before = api.get("auditor", f"/capas/{capa_id}").get_json()
    own = api.post("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {}))
    assert own.status_code == 403 and "author" in own.get_json()["error"]["message"]
    assert api.get("auditor", f"/capas/{capa_id}").get_json() == before


@pytest.mark.req("SIG-08")
def test_the_owner_of_an_action_cannot_approve_its_implementation(api):
    cid = assessed(api)
    capa_id = api.ok("qa_officer", "/capas", capa_body(cid), 201)["id"]
    act = action(api, capa_id, owner="liu.yang")["actions"][0]["id"]  # the QA head owns it
    api.ok("qa_head", f"/capas/{capa_id}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "e"})
    own = api.post("qa_head", f"/capas/{capa_id}/actions/{act}/implementation-approval", api.signed("qa_head", {}))
    assert own.status_code == 403 and "author" in own.get_json()["error"]["message"]


@pytest.mark.req("WF-13")
def test_a_due_date_moves_only_by_a_request_the_qa_head_approves(api):
    cid = assessed(api)
    capa_id = api.ok("qa_officer", "/capas", capa_body(cid), 201)["id"]
    act = action(api, capa_id)["actions"][0]["id"]
    assert api.post("investigator", f"/capas/{capa_id}/actions/{act}/due-date-requests",
                    {"new_due_on": "2027-01-15"}).status_code == 400  # no reason
    requested = api.ok("investigator", f"/capas/{capa_id}/actions/{act}/due-date-requests",
                       {"new_due_on": "2027-01-15", "reason": "供应商交货延迟"})
    assert requested["actions"][0]["due_on"] == "2026-12-15"  # not moved yet
    assert requested["actions"][0]["requested_due_on"] == "2027-01-15"
    assert api.post("investigator", f"/capas/{capa_id}/actions/{act}/due-date-approval",
                    api.signed("investigator", {})).status_code == 403
    approved = api.ok("qa_head", f"/capas/{capa_id}/actions/{act}/due-date-approval", api.signed("qa_head", {}))
    assert approved["actions"][0]["due_on"] == "2027-01-15" and approved["actions"][0]["requested_due_on"] is None
    event = [e for e in api.get("auditor", f"/audit/events?entity=capa_action:{act}").get_json()["events"]
             if e["action"] == "capa_action.due_date_changed"][0]
    assert event["changes"]["due_on"] == ["2026-12-15", "2027-01-15"] and event["reason"] == "供应商交货延迟"


@pytest.mark.req("WF-14")
def test_not_effective_needs_a_follow_up_capa_before_closure(api):
    cid = assessed(api)
    capa_id = api.ok("qa_officer", "/capas", capa_body(cid), 201)["id"]
    act = action(api, capa_id)["actions"][0]["id"]
    api.ok("investigator", f"/capas/{capa_id}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "e"})
    api.ok("qa_head", f"/capas/{capa_id}/actions/{act}/implementation-approval", api.signed("qa_head", {}))
    assert api.post("qa_officer", "/capas", capa_body(cid, follow_up_of=capa_id)).status_code == 409  # still effective?
    api.ok("qa_head", f"/capas/{capa_id}/effectiveness",
           api.signed("qa_head", {"result": "not_effective", "evidence": "又收到两起同类投诉",
                                  "early_reason": "同类投诉已复发，无需等到到期日"}))
    blocked = api.post("qa_head", f"/capas/{capa_id}/closure", api.signed("qa_head", {}))
    assert blocked.status_code == 409 and "follow-up" in blocked.get_json()["error"]["message"]
    follow_up = api.ok("qa_officer", "/capas", capa_body(cid, follow_up_of=capa_id), 201)
    assert follow_up["follow_up_of"] == capa_id
    assert api.ok("qa_head", f"/capas/{capa_id}/closure", api.signed("qa_head", {}))["status"] == "closed"


@pytest.mark.req("WF-13", "SIG-06")
def test_a_reasonable_complaint_replies_only_with_a_capa_or_a_signed_justification(api):
    cid = assessed(api)
    blocked = api.post("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})
    assert blocked.status_code == 409 and "CAPA" in blocked.get_json()["error"]["message"]
    assert sign(api, "qa_head", cid, "capa_not_needed").status_code == 400  # the justification is required
    assert sign(api, "qa_officer", cid, "capa_not_needed", comment="x").status_code == 403
    assert sign(api, "qa_head", cid, "capa_not_needed", comment="偶发，已有 CAPA-25-014 覆盖").status_code == 201
    api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})
    unreasonable = assessed(api, reasonable=False)
    api.ok("qa_officer", f"/complaints/{unreasonable}/replies", {"replied_on": TODAY, "summary": "答复"})
    assert sign(api, "qa_head", unreasonable, "capa_not_needed", comment="x").status_code == 409


@pytest.mark.req("WF-13", "WF-16")
def test_a_complaint_closes_only_once_its_capa_is_implemented(api):
    cid = replied_and_satisfied(api)  # class III, not reasonable: no CAPA needed
    capa_id = api.ok("qa_officer", "/capas", capa_body(cid, root_cause="r"), 201)["id"]
    act = action(api, capa_id)["actions"][0]["id"]
    sign(api, "qa_head", cid, "audit_trail_review")
    blocked = api.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {}))
    assert blocked.status_code == 409 and "CAPA-26-001" in blocked.get_json()["error"]["message"]
    api.ok("investigator", f"/capas/{capa_id}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "e"})
    api.ok("qa_head", f"/capas/{capa_id}/actions/{act}/implementation-approval", api.signed("qa_head", {}))
    assert api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {}))["status"] == "closed"


@pytest.mark.req("WF-13")
def test_overdue_actions_are_escalated_once_by_the_timer(api, app):
    from click.testing import CliRunner

    from gmp_complaints.cli import main
    from tests.integration.test_signatures import _env_of

    cid = assessed(api)
    capa_id = api.ok("qa_officer", "/capas", capa_body(cid), 201)["id"]
    action(api, capa_id, due_on="2026-11-25")
    env = _env_of(app)
    for day, expected in (("2026-11-25", 0), ("2026-11-26", 1), ("2026-11-27", 0)):
        result = CliRunner(env={**env, "GMP_TODAY": day}).invoke(main, ["tick"])
        assert result.exit_code == 0 and f"overdue CAPA actions escalated: {expected};" in result.output, result.output


@pytest.mark.req("WF-13")
def test_external_rectification_is_carried_by_an_external_party_through_an_internal_contact(api):
    cid = assessed(api)
    capa_id = api.ok("qa_officer", "/capas", capa_body(cid), 201)["id"]
    planned = api.ok("qa_officer", f"/capas/{capa_id}/actions", {
        "kind": "corrective", "description": "承运商整改冷链运输（温度记录仪）", "owner": "zhang.wei",
        "due_on": "2026-12-15", "external_party": "顺达物流 Shunda Logistics"}, 201)
    [external] = planned["actions"]
    assert external["external_party"] == "顺达物流 Shunda Logistics" and external["owner"]["username"] == "zhang.wei"
    api.ok("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {}))
    # The internal contact records the external party's evidence; the QA head approves it by signature.
    act = external["id"]
    upload = api.client.post(f"/api/v1/capas/{capa_id}/actions/{act}/evidence",
                             data={"file": (io.BytesIO(b"%PDF-1.4 carrier corrective report"), "carrier.pdf")},
                             headers={"Authorization": f"Bearer {api.tokens['investigator']}"})
    assert upload.status_code == 201, upload.get_json()
    api.ok("investigator", f"/capas/{capa_id}/actions/{act}/implementation",
           {"implemented_on": TODAY, "evidence": "承运商提交整改报告及温度记录"})
    approved = api.ok("qa_head", f"/capas/{capa_id}/actions/{act}/implementation-approval", api.signed("qa_head", {}))
    assert approved["actions"][0]["status"] == "verified"
    assert approved["actions"][0]["external_party"] == "顺达物流 Shunda Logistics"
    sales_contact = api.post("qa_officer", f"/capas/{capa_id}/actions", {
        "kind": "corrective", "description": "经销商整改", "owner": "wang.fang", "due_on": "2026-12-15",
        "external_party": "国药控股"})
    assert sales_contact.status_code == 400 and "owner" in sales_contact.get_json()["error"]["fields"]

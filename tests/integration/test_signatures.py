"""Electronic signatures through /api/v1 (DESIGN §3, §6): re-authentication, the signing matrix,
four-eyes, binding and supersession, manifestation, closure. SQLite and PostgreSQL."""
import base64
import json

import pytest
import sqlalchemy as sa

from tests.integration.test_complaints_api import TODAY, api, assign_investigator, registration, settings  # noqa: F401 (fixtures)


def classified(api, klass="II"):
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification", {"complaint_class": klass, "rationale": "r",
                                                                "adr_suspected": False})
    return cid


def sign(api, who, cid, step, **extra):
    return api.post(who, f"/complaints/{cid}/signatures", api.signed(who, {"step": step, **extra}))


def count_signatures(app) -> int:
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM signatures")).scalar_one()


@pytest.mark.req("SIG-01", "SIG-02", "WF-10")
def test_qp_acknowledgement_is_bound_to_the_record_and_manifested(app, api):
    cid = classified(api)
    response = sign(api, "qp", cid, "qp_acknowledgement", comment="已知悉")
    assert response.status_code == 201, response.get_json()
    [signature] = response.get_json()["signatures"]
    assert signature["step"] == "qp_acknowledgement" and signature["meaning"] == "acknowledged"
    assert signature["signer_name"] == "Chen.Jing Tester" and signature["status"] == "valid"
    assert signature["signed_at"].endswith("+08:00") and signature["record_version"] >= 1
    assert len(signature["record_hash"]) == 64
    assert signature["manifestation"]["en"] == (
        f"Acknowledged — Chen.Jing Tester — {signature['signed_at_local']} — TS-II-26-001 v{signature['record_version']}"
        f" — sha256:{signature['record_hash'][:8]}")
    assert signature["manifestation"]["zh_CN"].startswith("确认知悉 — Chen.Jing Tester — ")
    # The system signature verifies against the site's public key over the stored manifest.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    with app.extensions["gmp_engine"].connect() as connection:
        row = connection.execute(sa.text("SELECT manifest, system_signature FROM signatures")).one()
        public = connection.execute(sa.text("SELECT public_key FROM signing_keys")).scalars().first()
    Ed25519PublicKey.from_public_bytes(bytes(public)).verify(base64.b64decode(row.system_signature), row.manifest.encode())
    assert json.loads(row.manifest)["record_hash"] == signature["record_hash"]
    # A second acknowledgement in the same role is not due.
    assert sign(api, "qp", cid, "qp_acknowledgement").status_code == 409
    # Audit event and a checkpoint after the signature.
    events = api.get("auditor", "/audit/events").get_json()["events"]
    assert events[-1]["action"] == "signature.signed" and events[-1]["changes"]["step"] == [None, "qp_acknowledgement"]
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT max(tree_size) FROM audit_checkpoints")).scalar_one() == events[-1]["index"] + 1


@pytest.mark.req("SIG-03")
def test_a_wrong_password_is_401_counted_audited_and_signs_nothing(app, api):
    cid = classified(api)
    refused = api.post("qp", f"/complaints/{cid}/signatures", {"step": "qp_acknowledgement", "username": "chen.jing",
                                                               "password": "wrong-password"})
    assert refused.status_code == 401 and count_signatures(app) == 0
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT failed_login_count FROM users WHERE username = 'chen.jing'")).scalar_one() == 1
    failed = [e for e in api.get("auditor", "/audit/events").get_json()["events"] if e["action"] == "user.login_failed"]
    assert failed[-1]["changes"]["via"] == [None, "signature"]


@pytest.mark.req("SIG-06", "SIG-07")
def test_a_role_not_allowed_or_another_users_name_is_403_audited(app, api):
    cid = classified(api)
    wrong_role = sign(api, "qa_head", cid, "qp_acknowledgement")
    assert wrong_role.status_code == 403 and "sign" in wrong_role.get_json()["error"]["message"]
    username, password = api.credentials["qp"]
    as_other = api.post("qa_head", f"/complaints/{cid}/signatures",
                        {"step": "qp_acknowledgement", "username": username, "password": password})
    assert as_other.status_code == 403 and count_signatures(app) == 0
    refusals = [e for e in api.get("auditor", "/audit/events").get_json()["events"] if e["action"] == "signature.refused"]
    assert len(refusals) == 2
    assert sign(api, "qp", cid, "unknown_step").status_code == 400
    assert api.post("auditor", f"/complaints/{cid}/signatures", {"step": "qp_acknowledgement"}).status_code == 403


@pytest.mark.req("SIG-05")
def test_signing_needs_identity_verification_and_the_accepted_statement(api, make_user, client):
    cid = classified(api)
    _, password = make_user("new.qp", "qp")  # no identity verification, no statement
    token = client.post("/api/v1/auth/token", json={"username": "new.qp", "password": password}).get_json()["token"]
    refused = client.post(f"/api/v1/complaints/{cid}/signatures", headers={"Authorization": f"Bearer {token}"},
                          json={"step": "qp_acknowledgement", "username": "new.qp", "password": password})
    assert refused.status_code == 403 and "identity" in refused.get_json()["error"]["message"]


@pytest.mark.req("SIG-08", "WF-08")
def test_the_author_of_an_extension_request_cannot_approve_it_and_approval_moves_the_deadline(app, api):
    cid = classified(api)
    api.ok("qa_head", f"/complaints/{cid}/extension-requests",
           {"kind": "investigation", "new_due_on": "2026-12-31", "reason": "加速稳定性试验"})
    own = sign(api, "qa_head", cid, "extension_approval")
    assert own.status_code == 403 and "author" in own.get_json()["error"]["message"]
    cid2 = classified(api)
    api.ok("investigator", f"/complaints/{cid2}/extension-requests",
           {"kind": "investigation", "new_due_on": "2026-12-31", "reason": "加速稳定性试验"})
    approved = sign(api, "qa_head", cid2, "extension_approval")
    assert approved.status_code == 201
    body = approved.get_json()
    assert body["extensions"][0]["status"] == "approved"
    assert body["deadlines"]["investigation_due_on"] == "2026-12-31"
    # The decision it brings about does not supersede the approval itself.
    assert [(s["step"], s["status"]) for s in body["signatures"]] == [("extension_approval", "valid")]
    assert sign(api, "qa_head", cid2, "extension_approval").status_code == 409  # nothing waiting any more


@pytest.mark.req("WF-09")
def test_class_i_investigation_waits_for_the_interim_risk_decision_of_qa_head_and_qp(api):
    cid = classified(api, "I")
    investigation = {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True}
    assign_investigator(api, cid)
    assert api.post("investigator", f"/complaints/{cid}/investigation", investigation).status_code == 409
    # The decision says what is decided: a signature with no measure is refused, naming the field.
    undecided = sign(api, "qa_head", cid, "interim_risk_decision", comment="隔离本批，暂停发运")
    assert undecided.status_code == 400 and list(undecided.get_json()["error"]["fields"]) == ["measures"]
    first = sign(api, "qa_head", cid, "interim_risk_decision", comment="隔离本批，暂停发运",
                 measures=["stop_shipment", "quarantine"])
    assert first.status_code == 201 and first.get_json()["interim_measures"] == ["quarantine", "stop_shipment"]
    assign_investigator(api, cid)
    assert api.post("investigator", f"/complaints/{cid}/investigation", investigation).status_code == 409
    assert sign(api, "qa_head", cid, "interim_risk_decision").status_code == 409  # QA head has signed
    other = sign(api, "qp", cid, "interim_risk_decision", comment="同意", measures=["monitor_only"])
    assert other.status_code == 400 and "measures" in other.get_json()["error"]["fields"]  # not the decision recorded
    second = sign(api, "qp", cid, "interim_risk_decision", comment="同意")
    assert second.status_code == 201
    decided = [s for s in second.get_json()["signatures"] if s["step"] == "interim_risk_decision"]
    assert len(decided) == 2 and all(s["status"] == "valid" for s in decided)  # both sign the same decision
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation", investigation)
    cid_ii = classified(api, "II")
    assert sign(api, "qp", cid_ii, "interim_risk_decision").status_code == 409  # not a class I complaint


@pytest.mark.req("SIG-02")
def test_a_change_to_signed_content_supersedes_the_signature_and_progress_does_not(api):
    cid = classified(api, "III")
    sign(api, "qp", cid, "qp_acknowledgement")
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True})
    progressed = api.get("qa_officer", f"/complaints/{cid}").get_json()
    assert [s["status"] for s in progressed["signatures"]] == ["valid"]  # new content supersedes nothing
    regraded = api.ok("qa_head", f"/complaints/{cid}/regrading",
                      api.signed("qa_head", {"complaint_class": "II", "reason": "发现密封缺陷"}))
    statuses = {s["step"]: s["status"] for s in regraded["signatures"]}
    assert statuses == {"qp_acknowledgement": "superseded", "regrading": "valid"}
    again = sign(api, "qp", cid, "qp_acknowledgement")  # the QP acknowledges the new version
    assert again.status_code == 201
    assert [s["status"] for s in again.get_json()["signatures"] if s["step"] == "qp_acknowledgement"] == [
        "superseded", "valid"]


@pytest.mark.req("AT-03", "SIG-02")
def test_signature_rows_are_append_only_in_the_database(app, api):
    cid = classified(api)
    sign(api, "qp", cid, "qp_acknowledgement")
    engine = app.extensions["gmp_engine"]
    for statement in ("UPDATE signatures SET printed_name = 'Someone Else'", "DELETE FROM signatures"):
        with pytest.raises(sa.exc.DBAPIError):
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(sa.text("SELECT set_config('gmp.tx', 'x', true)"))
                connection.execute(sa.text(statement))
    assert count_signatures(app) == 1


def replied(api) -> int:
    """A class III complaint, investigated, assessed and formally answered today."""
    cid = classified(api, "III")
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/assessment",
           {"reasonable": False, "actions": [], "adr_confirmed": False, "regulator_report_required": False})
    api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})
    return cid


def replied_and_satisfied(api):
    cid = replied(api)
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": TODAY, "satisfied": True, "text": "满意"})
    return cid


@pytest.mark.req("WF-16", "AT-07")
def test_closure_needs_the_signed_audit_trail_review_and_is_signed_by_the_qa_head(api):
    cid = replied_and_satisfied(api)
    closure = api.signed("qa_head", {"comment": "客户满意，同意关闭"})
    blocked = api.post("qa_head", f"/complaints/{cid}/closure", closure)
    assert blocked.status_code == 409 and "audit trail" in blocked.get_json()["error"]["message"]
    assert sign(api, "qa_officer", cid, "audit_trail_review").status_code == 403
    review = sign(api, "qa_head", cid, "audit_trail_review", comment="已审核审计追踪")
    assert review.status_code == 201
    assert review.get_json()["signatures"][-1]["audit_index"] is not None
    assert sign(api, "intake", cid, "sales_confirmation").status_code == 409  # the customer did answer
    assert api.post("qa_officer", f"/complaints/{cid}/closure", api.signed("qa_officer", {})).status_code == 403
    closed = api.ok("qa_head", f"/complaints/{cid}/closure", closure)
    assert closed["status"] == "closed" and closed["closed_on"] == TODAY
    assert [s["step"] for s in closed["signatures"]] == ["audit_trail_review", "closure"]
    assert all(s["status"] == "valid" for s in closed["signatures"])
    assert api.post("qa_head", f"/complaints/{cid}/closure", closure).status_code == 409


@pytest.mark.req("WF-07")
def test_a_response_after_closure_opens_a_linked_follow_up_and_keeps_the_closure(app, api):
    cid = replied_and_satisfied(api)
    sign(api, "qa_head", cid, "audit_trail_review")
    api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {}))
    closed = api.get("qa_officer", f"/complaints/{cid}").get_json()
    events_before = business_events(api, cid)
    # Closed means closed: a response is not recorded on it; the answer says where it goes.
    late = api.post("intake", f"/complaints/{cid}/customer-responses",
                    {"received_on": TODAY, "satisfied": False, "text": "问题再次出现"})
    assert late.status_code == 409 and "follow-up" in late.get_json()["error"]["message"]
    # It is opened explicitly, as a complaint of its own that links to the closed one.
    follow_up = api.ok("intake", f"/complaints/{cid}/follow-ups", {"received_on": TODAY, "text": "问题再次出现"}, 201)
    assert follow_up["follow_up_of_id"] == cid and follow_up["status"] == "registered"
    assert follow_up["follow_up_of"]["number"] == closed["number"]
    assert follow_up["batch_nos"] == ["B2602"] and follow_up["description"] == "问题再次出现"
    # ... and both ways; the closed complaint, its version and signatures are exactly as closed.
    after = api.get("qa_officer", f"/complaints/{cid}").get_json()
    assert [f["id"] for f in after.pop("follow_ups")] == [follow_up["id"]]
    closed.pop("follow_ups")
    assert after == closed and after["status"] == "closed"
    assert {s["status"] for s in after["signatures"]} == {"valid"}
    assert business_events(api, cid) == events_before
    # A follow-up is opened only from a closed complaint.
    again = api.post("intake", f"/complaints/{follow_up['id']}/follow-ups", {"received_on": TODAY, "text": "x"})
    assert again.status_code == 409


def business_events(api, cid) -> list:
    return [(e["index"], e["action"]) for e in api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]]


@pytest.mark.req("WF-06", "WF-16")
def test_no_response_closure_needs_sales_confirmation(api, app):
    """Reply on 20 Nov; `gmp tick` reminds on 28 Dec and moves to closure pending ten working days
    later; then sales confirm, the QA head reviews the audit trail and closes."""
    from click.testing import CliRunner

    from gmp_complaints import create_app
    from gmp_complaints.cli import main
    from gmp_complaints.config import load_settings

    cid = replied(api)
    env = _env_of(app)
    for day in ("2026-12-28", "2027-01-25"):
        result = CliRunner(env={**env, "GMP_TODAY": day}).invoke(main, ["tick"])
        assert result.exit_code == 0, result.output
    later = create_app(load_settings({**env, "GMP_TODAY": "2027-01-25"}))
    try:
        api_later = type(api)(later.test_client(), api.tokens, api.credentials)
        assert api_later.get("qa_head", f"/complaints/{cid}").get_json()["status"] == "closure_pending"
        blocked = api_later.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {}))
        assert blocked.status_code == 409 and "Sales" in blocked.get_json()["error"]["message"]
        assert sign(api_later, "intake", cid, "sales_confirmation", comment="销售确认客户未反馈").status_code == 201
        assert sign(api_later, "qa_head", cid, "audit_trail_review").status_code == 201
        closed = api_later.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {}))
        assert closed["status"] == "closed"
        assert [s["step"] for s in closed["signatures"]] == ["sales_confirmation", "audit_trail_review", "closure"]
    finally:
        later.extensions["gmp_engine"].dispose()


def _env_of(app) -> dict:
    settings = app.config["GMP_SETTINGS"]
    return {"DATABASE_URL": settings.database_url, "GMP_INSTANCE_PATH": str(settings.instance_path), "GMP_ENV": "test",
            "GMP_TODAY": TODAY, "GMP_SIGNING_KEY_PATH": str(settings.signing_key_path)}


@pytest.mark.req("SIG-02", "AT-03")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_integrity_check_finds_a_signature_edited_out_of_band(app, api, uow_factory):
    from audit.integrity import integrity_check

    cid = classified(api)
    assert sign(api, "qp", cid, "qp_acknowledgement").status_code == 201
    assert integrity_check(uow_factory()) == []
    # Someone with the database file drops the guard and binds the signature to other content.
    with app.extensions["gmp_engine"].begin() as connection:
        connection.execute(sa.text("DROP TRIGGER signatures_no_update"))
        connection.execute(sa.text("UPDATE signatures SET record_hash = :h"), {"h": "0" * 64})
    problems = [d.describe() for d in integrity_check(uow_factory()) if d.entity_type == "signature"]
    # Both the row's own signed manifest and the trail's record of the signing name it.
    assert problems[0] == "signature:1: the row differs from its signed manifest"
    assert len(problems) == 2 and problems[1].startswith("signature:1 record_hash: trail says")
    assert "differs from what the trail recorded when it was signed" in problems[1]


@pytest.mark.req("AT-07")
def test_the_audit_review_shows_changes_since_the_last_signed_review_with_critical_fields(api):
    cid = replied_and_satisfied(api)
    first = api.get("qa_head", f"/complaints/{cid}/audit-review").get_json()
    assert first["last_review"] is None and first["since_index"] == -1
    actions = [e["action"] for e in first["events"]]
    assert actions[0] == "complaint.registered" and "complaint_reply.created" in actions
    classified_event = next(e for e in first["events"] if e["action"] == "complaint.classify")
    assert {"complaint_class", "original_class", "adr_suspected"} <= set(classified_event["critical"])
    assert first["critical_count"] == sum(1 for e in first["events"] if e["critical"])
    review = sign(api, "qa_head", cid, "audit_trail_review").get_json()["signatures"][-1]
    assert review["audit_index"] == first["events"][-1]["index"]
    # After the review only what came later is shown: the review's own signature so far.
    second = api.get("qa_head", f"/complaints/{cid}/audit-review").get_json()
    assert second["last_review"]["audit_index"] == review["audit_index"]
    assert all(e["index"] > review["audit_index"] for e in second["events"])
    assert {e["action"] for e in second["events"]} <= {"signature.signed", "user.reauthenticated"}
    assert api.get("investigator", f"/complaints/{cid}/audit-review").status_code == 403


@pytest.mark.req("WF-08", "SIG-01")
def test_the_qa_head_rejects_an_extension_with_a_reason_and_the_deadline_stays(api):
    cid = classified(api)
    before = api.ok("investigator", f"/complaints/{cid}/extension-requests",
                    {"kind": "investigation", "new_due_on": "2026-12-31", "reason": "需更多时间"})
    assert sign(api, "qa_head", cid, "extension_rejection").status_code == 400  # a rejection says why
    rejected = sign(api, "qa_head", cid, "extension_rejection", comment="理由不充分")
    assert rejected.status_code == 201
    body = rejected.get_json()
    assert body["extensions"][0]["status"] == "rejected"
    assert body["deadlines"]["investigation_due_on"] == before["deadlines"]["investigation_due_on"]
    [signature] = body["signatures"]
    assert (signature["meaning"], signature["status"]) == ("rejected", "valid")
    assert sign(api, "qa_head", cid, "extension_approval").status_code == 409  # decided already


@pytest.mark.req("AT-04", "SIG-06")
def test_a_void_needs_a_request_and_the_qa_heads_signature_by_another_person_and_stops_the_process(app, api):
    cid = classified(api)
    # No request, nothing to approve: the QA head alone cannot void a complaint.
    assert sign(api, "qa_head", cid, "void_approval", comment="重复登记").status_code == 409
    assert api.post("qa_officer", f"/complaints/{cid}/void-requests", {}).status_code == 400  # reason named
    requested = api.ok("qa_officer", f"/complaints/{cid}/void-requests", {"reason": "重复登记，见 TS-II-26-002"})
    assert requested["status"] == "under_investigation"
    assert [(v["status"], v["requested_by"]["username"]) for v in requested["void_requests"]] == [("requested", "li.na")]
    assert api.post("qa_officer", f"/complaints/{cid}/void-requests", {"reason": "again"}).status_code == 409
    assert sign(api, "qa_officer", cid, "void_approval", comment="重复登记").status_code == 403
    assert sign(api, "qa_head", cid, "void_approval").status_code == 400
    voided = sign(api, "qa_head", cid, "void_approval", comment="同意作废")
    assert voided.status_code == 201 and voided.get_json()["status"] == "void"
    assert voided.get_json()["number"] == "TS-II-26-001"  # the number stays, never reused
    assign_investigator_refused = api.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": "zhang.wei"})
    assert assign_investigator_refused.status_code == 409
    assert api.post("qa_officer", f"/complaints/{cid}/investigation", {
        "root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True}).status_code == 409
    assert sign(api, "qa_head", cid, "void_approval", comment="again").status_code == 409
    event = [e for e in api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
             if e["action"] == "complaint.void"][0]
    assert event["reason"].startswith("重复登记") and event["changes"]["status"] == ["under_investigation", "void"]
    assert event["actor"]["name"] == "Liu.Yang Tester"


@pytest.mark.req("SIG-08")
def test_the_qa_head_who_asked_for_a_void_cannot_approve_it_and_a_rejection_keeps_the_complaint(api):
    cid = classified(api)
    api.ok("qa_head", f"/complaints/{cid}/void-requests", {"reason": "误登记"})
    own = sign(api, "qa_head", cid, "void_approval", comment="同意")
    assert own.status_code == 403 and "author" in own.get_json()["error"]["message"]
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["status"] == "under_investigation"
    cid2 = classified(api)
    api.ok("qa_officer", f"/complaints/{cid2}/void-requests", {"reason": "误登记"})
    assert sign(api, "qa_head", cid2, "void_rejection").status_code == 400  # a rejection says why
    rejected = sign(api, "qa_head", cid2, "void_rejection", comment="投诉有效，不得作废")
    assert rejected.status_code == 201
    body = rejected.get_json()
    assert body["status"] == "under_investigation" and body["void_requests"][0]["status"] == "rejected"
    assert [(s["step"], s["meaning"], s["status"]) for s in body["signatures"]] == [("void_rejection", "rejected", "valid")]
    assert sign(api, "qa_head", cid2, "void_approval", comment="x").status_code == 409  # nothing waiting


@pytest.mark.req("RET-01")
def test_retention_moves_earlier_only_with_the_qa_heads_signature_and_never_below_the_minimum(api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]  # B2602: kept until 2029-02-09
    api.ok("qa_officer", f"/complaints/{cid}/batches", {"batch_nos": ["B2603"], "reason": "批号更正"})
    api.ok("qa_officer", f"/complaints/{cid}/batches", {"batch_nos": ["B2601"], "reason": "再次更正：B2601"})
    # B2601 expires 2028-01-09: the minimum is now 2029-01-09, the stored date 2029-03-09.
    body = {"retention_until": "2029-01-09", "reason": "批号更正后按 B2601 有效期保存"}
    assert api.post("qa_officer", f"/complaints/{cid}/retention", api.signed("qa_officer", body)).status_code == 403
    too_early = api.post("qa_head", f"/complaints/{cid}/retention", api.signed("qa_head", {**body, "retention_until": "2029-01-08"}))
    assert too_early.status_code == 400 and "2029-01-09" in too_early.get_json()["error"]["fields"]["retention_until"][0]
    later = api.post("qa_head", f"/complaints/{cid}/retention", api.signed("qa_head", {**body, "retention_until": "2030-01-01"}))
    assert later.status_code == 400
    wrong = api.post("qa_head", f"/complaints/{cid}/retention", {**body, "username": "liu.yang", "password": "nope"})
    assert wrong.status_code == 401
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["retention_until"] == "2029-03-09"
    changed = api.ok("qa_head", f"/complaints/{cid}/retention", api.signed("qa_head", body))
    assert changed["retention_until"] == "2029-01-09"
    assert [(s["step"], s["status"]) for s in changed["signatures"]] == [("retention_change", "valid")]


@pytest.mark.req("WF-10")
def test_the_qp_acknowledges_the_investigation_too_without_superseding_the_first_acknowledgement(api):
    cid = classified(api, "III")
    assert sign(api, "qp", cid, "qp_acknowledgement").status_code == 201
    early = sign(api, "qp", cid, "qp_acknowledgement", subject="investigation")
    assert early.status_code == 409  # nothing investigated yet
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "封口压力偏低", "impact": "i", "other_batches_affected": "o", "substantiated": True})
    waiting = api.get("qp", "/signatures/waiting").get_json()["waiting"]
    assert [(w["id"], w["step"], w["subject"]) for w in waiting] == [(cid, "qp_acknowledgement", "investigation")]
    done = sign(api, "qp", cid, "qp_acknowledgement", subject="investigation")
    assert done.status_code == 201
    assert [(s["subject"], s["status"]) for s in done.get_json()["signatures"]] == [(None, "valid"),
                                                                                 ("investigation", "valid")]
    assert api.get("qp", "/signatures/waiting").get_json()["waiting"] == []
    # A re-investigation with a new root cause: only the investigation acknowledgement is superseded.
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "瓶盖供应商批次缺陷", "impact": "i", "other_batches_affected": "o", "substantiated": True})
    statuses = [(s["subject"], s["status"]) for s in api.get("qp", f"/complaints/{cid}").get_json()["signatures"]]
    assert statuses == [(None, "valid"), ("investigation", "superseded")]


@pytest.mark.req("SIG-08")
def test_a_qa_head_who_worked_the_complaint_can_neither_review_its_trail_nor_close_it(api, make_user, client):
    """Four-eyes over the whole complaint: not only the owner, everyone who authored a step."""
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_head", f"/complaints/{cid}/acknowledgement", {"sent_on": TODAY, "method": "电话", "note": None})
    api.ok("qa_head", f"/complaints/{cid}/validity",
           {"information_complete": True, "substantiated": False, "reason": "样品检验合格"})
    pending = api.ok("qa_head", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "经检验不成立"})
    assert pending["status"] == "closure_pending" and pending["owner"] is None
    own_review = sign(api, "qa_head", cid, "audit_trail_review")
    assert own_review.status_code == 403 and "author" in own_review.get_json()["error"]["message"]
    # Another head of quality reviews; the one who worked it still cannot close it.
    _, password = make_user("zhou.min", "qa_head", identity_verified=True)
    token = client.post("/api/v1/auth/token", json={"username": "zhou.min", "password": password}).get_json()["token"]
    assert client.post("/api/v1/auth/esignature-statement", json={"password": password},
                       headers={"Authorization": f"Bearer {token}"}).status_code == 204
    api.tokens["other_head"], api.credentials["other_head"] = token, ("zhou.min", password)
    assert sign(api, "other_head", cid, "audit_trail_review").status_code == 201
    own_closure = api.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {}))
    assert own_closure.status_code == 403
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["status"] == "closure_pending"
    closed = api.ok("other_head", f"/complaints/{cid}/closure", api.signed("other_head", {}))
    assert closed["status"] == "closed"


@pytest.mark.req("SEC-02", "VAL-03")
def test_only_the_assigned_investigator_or_qa_records_the_investigation(app, api, make_user, client):
    cid = classified(api)
    body = {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True}
    before = api.get("qa_officer", f"/complaints/{cid}").get_json()
    events = business_events(api, cid)
    unassigned = api.post("investigator", f"/complaints/{cid}/investigation", body)
    assert unassigned.status_code == 403 and "assigned" in unassigned.get_json()["error"]["message"]
    _, password = make_user("sun.li", "investigator")
    token = client.post("/api/v1/auth/token", json={"username": "sun.li", "password": password}).get_json()["token"]
    api.tokens["other_investigator"] = token
    api.ok("qa_officer", f"/complaints/{cid}/assignment", {"investigator": "sun.li"})
    before = api.get("qa_officer", f"/complaints/{cid}").get_json()
    events = business_events(api, cid)
    assert api.post("investigator", f"/complaints/{cid}/investigation", body).status_code == 403
    assert api.get("qa_officer", f"/complaints/{cid}").get_json() == before and business_events(api, cid) == events
    assert api.ok("other_investigator", f"/complaints/{cid}/investigation", body)["investigation"]["root_cause"] == "r"
    # QA coordinates the investigation and may record it too.
    assert api.post("qa_officer", f"/complaints/{cid}/investigation", {**body, "root_cause": "r2"}).status_code == 200


@pytest.mark.req("WF-07", "VAL-03")
def test_nothing_on_a_closed_complaint_changes(app, api):
    import io

    cid = replied_and_satisfied(api)
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {}))
    before = api.get("qa_officer", f"/complaints/{cid}").get_json()
    events = business_events(api, cid)
    upload = api.client.post(f"/api/v1/complaints/{cid}/attachments",
                             data={"file": (io.BytesIO(b"%PDF-1.4 late letter"), "late.pdf")},
                             headers={"Authorization": f"Bearer {api.tokens['intake']}"})
    assert upload.status_code == 409 and "follow-up" in upload.get_json()["error"]["message"]
    assert sign(api, "qp", cid, "qp_acknowledgement").status_code == 409
    assert api.post("qa_officer", "/capas", {
        "complaint_ids": [cid], "problem_statement": "p", "risk": "r", "effectiveness_criteria": "c",
        "effectiveness_due_on": "2027-06-30"}).status_code == 409
    assert api.post("qa_officer", f"/complaints/{cid}/void-requests", {"reason": "r"}).status_code == 409
    assert api.post("qa_officer", f"/complaints/{cid}/reminders", {"sent_on": TODAY}).status_code == 409
    after = api.get("qa_officer", f"/complaints/{cid}").get_json()
    assert after == before and {s["status"] for s in after["signatures"]} == {"valid"}
    assert business_events(api, cid) == events
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM attachments")).scalar_one() == 0
        assert connection.execute(sa.text("SELECT count(*) FROM capas")).scalar_one() == 0


def waiting_for(api, who) -> list:
    return [(w["id"], w["step"], w["subject"]) for w in api.get(who, "/signatures/waiting").get_json()["waiting"]]


@pytest.mark.req("WF-10")
def test_waiting_for_my_signature_lists_exactly_what_each_signer_may_sign_now(api):
    """The list is built from the complaint rows; where a signature exists it is checked exactly."""
    first = classified(api, "I")      # class I under investigation: interim decision of QA head and QP
    second = replied_and_satisfied(api)  # closure pending, customer satisfied: review, then closure
    third = replied(api)                # awaiting the customer
    api.ok("qa_officer", f"/complaints/{third}/void-requests", {"reason": "重复登记"})
    qp = waiting_for(api, "qp")
    assert (first, "interim_risk_decision", None) in qp and (first, "qp_acknowledgement", None) in qp
    assert (second, "qp_acknowledgement", "investigation") in qp
    head = waiting_for(api, "qa_head")
    assert head == [(first, "interim_risk_decision", None), (second, "audit_trail_review", None),
                    (third, "void_approval", f"void_request:{api.get('qa_head', f'/complaints/{third}').get_json()['void_requests'][0]['id']}")]
    assert waiting_for(api, "intake") == []  # the customer answered: no sales confirmation
    # Once the review is signed the closure is waiting; once closed, nothing.
    assert sign(api, "qa_head", second, "audit_trail_review").status_code == 201
    assert (second, "closure", None) in waiting_for(api, "qa_head")
    api.ok("qa_head", f"/complaints/{second}/closure", api.signed("qa_head", {}))
    assert all(w[0] != second for w in waiting_for(api, "qa_head") + waiting_for(api, "qp"))
    # A superseded acknowledgement is waiting again: the regrade changes what the QP acknowledged.
    assert sign(api, "qp", first, "qp_acknowledgement").status_code == 201
    assert (first, "qp_acknowledgement", None) not in waiting_for(api, "qp")
    api.ok("qa_head", f"/complaints/{first}/regrading", api.signed("qa_head", {"complaint_class": "II", "reason": "r"}))
    assert (first, "qp_acknowledgement", None) in waiting_for(api, "qp")
    # Four-eyes: the QA head does not see what they authored.
    fourth = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_head", f"/complaints/{fourth}/validity", {"information_complete": True, "substantiated": False,
                                                          "reason": "不成立"})
    api.ok("qa_head", f"/complaints/{fourth}/replies", {"replied_on": TODAY, "summary": "不成立"})
    assert all(w[0] != fourth for w in waiting_for(api, "qa_head"))

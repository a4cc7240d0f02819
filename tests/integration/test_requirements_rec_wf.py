"""Requirements of sections REC and WF of the baseline that no other test proved, or proved only in part:
each test below states in its name what it proves, and every assertion can fail. SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from tests.conftest import login
from tests.integration.test_complaints_api import (  # noqa: F401 (fixtures)
    TODAY,
    api,
    assign_investigator,
    capa_body,
    registration,
    settings,
)
from tests.integration.test_signatures import _env_of, classified, replied, replied_and_satisfied, sign


def _count(app, table: str) -> int:
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def _events(api, cid: int) -> list[dict]:
    return api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]


def _investigation(**overrides) -> dict:
    body = {"root_cause": "封口压力偏低", "impact": "仅本批", "other_batches_affected": "相邻批 B2601/B2603 已核查，未受影响",
            "substantiated": True}
    body.update(overrides)
    return body


# --- REC ------------------------------------------------------------------------------------------------------


@pytest.mark.req("REC-01")
def test_a_complaint_from_every_channel_is_registered_with_its_channel_and_nothing_acts_on_an_unregistered_one(
        app, api):
    channels = ("visit", "letter", "fax", "phone", "email", "web", "other")
    registered = {channel: api.ok("intake", "/complaints", registration(channel=channel), 201) for channel in channels}
    for channel, complaint in registered.items():
        assert complaint["channel"] == channel and complaint["status"] == "registered"
        assert api.get("auditor", f"/complaints/{complaint['id']}").get_json()["channel"] == channel
        event = next(e for e in _events(api, complaint["id"]) if e["action"] == "complaint.registered")
        assert event["changes"]["channel"] == [None, channel]
    # An oral complaint (phone, visit) asks for written confirmation; a written one does not.
    assert {c: r["written_confirmation_requested"] for c, r in registered.items()} == {
        "visit": True, "letter": False, "fax": False, "phone": True, "email": False, "web": False, "other": False}
    # No grading, investigation or reply on a complaint that has no registered record.
    unknown = max(r["id"] for r in registered.values()) + 1000
    before = (_count(app, "complaints"), _count(app, "audit_events"))
    steps = (("qa_officer", "validity", {"information_complete": True, "substantiated": True}),
             ("qa_officer", "classification", {"complaint_class": "II", "rationale": "r", "adr_suspected": False}),
             ("investigator", "investigation", _investigation()),
             ("qa_officer", "replies", {"replied_on": TODAY, "summary": "答复"}))
    for who, step, body in steps:
        response = api.post(who, f"/complaints/{unknown}/{step}", body)
        assert response.status_code == 404, (step, response.get_json())
    assert (_count(app, "complaints"), _count(app, "audit_events")) == before


@pytest.mark.req("REC-03")
def test_the_description_as_received_is_read_only_and_stays_viewable_beside_the_later_findings(app, api):
    from tests.conftest import execute_sql

    original = "瓶盖破裂，胶囊受潮（客户原话）"
    cid = api.ok("intake", "/complaints", registration(description=original), 201)["id"]
    letter = b"%PDF-1.4 customer letter as received"
    upload = api.client.post(f"/api/v1/complaints/{cid}/attachments",
                             data={"file": (io.BytesIO(letter), "letter.pdf")},
                             headers={"Authorization": f"Bearer {api.tokens['intake']}"})
    assert upload.status_code == 201 and upload.get_json()["sha256"] == hashlib.sha256(letter).hexdigest()
    # No request field changes the description: unknown fields are ignored, the text stays as received.
    api.ok("qa_officer", f"/complaints/{cid}/validity",
           {"information_complete": True, "substantiated": True, "description": "改写后的描述"})
    # The interpretation is recorded in fields of its own: the investigation's root cause and impact.
    api.ok("qa_officer", f"/complaints/{cid}/classification",
           {"complaint_class": "II", "rationale": "密封缺陷", "adr_suspected": False, "description": "另一个描述"})
    assign_investigator(api, cid)
    investigated = api.ok("investigator", f"/complaints/{cid}/investigation", _investigation())
    assert investigated["investigation"]["root_cause"] == "封口压力偏低"
    assert investigated["description"] == original
    # The database itself refuses to rewrite it, whoever tries.
    with pytest.raises(sa.exc.DatabaseError):
        execute_sql(app, "UPDATE complaints SET description = 'edited' WHERE id = :id", id=cid)
    shown = api.get("auditor", f"/complaints/{cid}").get_json()
    assert shown["description"] == original
    assert shown["attachments"][0]["sha256"] == hashlib.sha256(letter).hexdigest()
    assert api.get("auditor", f"/complaints/{cid}/attachments/{shown['attachments'][0]['id']}").data == letter
    registered = next(e for e in _events(api, cid) if e["action"] == "complaint.registered")
    assert registered["changes"]["description"] == [None, original]
    assert not [e for e in _events(api, cid) if e["entity"] == f"complaint:{cid}" and "description" in e["changes"]
                and e["action"] != "complaint.registered"]


@pytest.mark.req("REC-04")
def test_no_request_field_sets_the_complaint_number(app, api):
    cid = api.ok("intake", "/complaints", registration(number="TS-I-26-999"), 201)["id"]
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["number"] is None
    api.ok("qa_officer", f"/complaints/{cid}/validity",
           {"information_complete": True, "substantiated": True, "number": "TS-I-26-999"})
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["number"] is None
    numbered = api.ok("qa_officer", f"/complaints/{cid}/classification",
                      {"complaint_class": "II", "rationale": "r", "adr_suspected": False, "number": "TS-II-26-777"})
    assert numbered["number"] == "TS-II-26-001"  # the system's, not the one sent
    regraded = api.ok("qa_head", f"/complaints/{cid}/regrading",
                      api.signed("qa_head", {"complaint_class": "I", "reason": "新证据", "number": "TS-I-26-555"}))
    assert regraded["number"] == "TS-II-26-001"
    with app.extensions["gmp_engine"].connect() as connection:
        numbers = connection.execute(sa.text("SELECT number FROM complaints")).scalars().all()
    assert numbers == ["TS-II-26-001"]


@pytest.mark.req("REC-05")
def test_a_regrade_from_ii_to_i_keeps_the_number_and_shows_the_old_class_in_the_record_the_trail_and_the_search(
        app, api):
    cid = classified(api, "II")
    number = api.get("qa_officer", f"/complaints/{cid}").get_json()["number"]
    assert number == "TS-II-26-001"
    regraded = api.ok("qa_head", f"/complaints/{cid}/regrading",
                      api.signed("qa_head", {"complaint_class": "I", "reason": "调查发现异物，升级为 I 类"}))
    assert (regraded["number"], regraded["complaint_class"], regraded["original_class"]) == (number, "I", "II")
    # The number is not issued again: the next class II complaint takes the next serial, the next class I the first.
    assert api.get("qa_officer", f"/complaints/{classified(api, 'II')}").get_json()["number"] == "TS-II-26-002"
    assert api.get("qa_officer", f"/complaints/{classified(api, 'I')}").get_json()["number"] == "TS-I-26-001"
    # The trail keeps the class as it was, and the reason and who changed it.
    [event] = [e for e in _events(api, cid) if e["changes"].get("complaint_class") == ["II", "I"]]
    assert event["reason"] == "调查发现异物，升级为 I 类" and event["actor"]["name"] == "Liu.Yang Tester"
    assert "number" not in event["changes"]
    classified_event = next(e for e in _events(api, cid) if e["action"] == "complaint.classify")
    assert classified_event["changes"]["number"] == [None, number]
    # The complaint list finds it by its number, and by its current class.
    client = app.test_client()
    login(client, *api.credentials["auditor"])
    by_number = client.get(f"/complaints/?q={number}").get_data(as_text=True)
    assert f"/complaints/{cid}\"" in by_number
    assert f"/complaints/{cid}\"" in client.get("/complaints/?class=I").get_data(as_text=True)
    assert f"/complaints/{cid}\"" not in client.get("/complaints/?class=II").get_data(as_text=True)


@pytest.mark.req("REC-07")
def test_the_year_of_the_number_is_the_year_of_receipt_in_the_site_time_zone(api):
    """Received 31 Dec 23:30 Shanghai time (15:30 UTC) and 1 Jan 00:30 (31 Dec 16:30 UTC): each takes the year of
    the site's calendar day, whatever the UTC date."""
    numbers = {}
    for received_on, received_time in (("2025-12-31", "23:30"), ("2026-01-01", "00:30")):
        cid = api.ok("intake", "/complaints", registration(received_on=received_on, received_time=received_time),
                     201)["id"]
        api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
        numbered = api.ok("qa_officer", f"/complaints/{cid}/classification",
                          {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
        assert (numbered["received_on"], numbered["received_time"]) == (received_on, received_time)
        numbers[received_on] = numbered["number"]
    assert numbers == {"2025-12-31": "TS-II-25-001", "2026-01-01": "TS-II-26-001"}


@pytest.mark.req("REC-11", "REC-13")
@pytest.mark.parametrize("missing", ["root_cause", "impact", "other_batches_affected"])
def test_an_investigation_states_root_cause_impact_and_the_decision_on_other_batches(app, api, missing):
    first = api.ok("intake", "/complaints", registration(received_on="2026-10-01"), 201)["id"]
    cid = classified(api, "II")
    assign_investigator(api, cid)
    # The investigator is shown the adjacent batches and earlier complaints of the kind to decide on.
    related = api.get("investigator", f"/complaints/{cid}").get_json()["related"]
    assert [b["batch_no"] for b in related["adjacent_batches"]] == ["B2601", "B2603"]
    assert first in [c["id"] for c in related["earlier_complaints"]]
    before = api.get("qa_officer", f"/complaints/{cid}").get_json()
    refused = api.post("investigator", f"/complaints/{cid}/investigation", _investigation(**{missing: " "}))
    assert refused.status_code == 400 and missing in refused.get_json()["error"]["fields"]
    assert api.get("qa_officer", f"/complaints/{cid}").get_json() == before
    # Without an investigation there is no assessment, so no reply and no closure.
    assessment = {"reasonable": True, "actions": [], "adr_confirmed": False, "regulator_report_required": False}
    assert api.post("qa_officer", f"/complaints/{cid}/assessment", assessment).status_code == 409
    recorded = api.ok("investigator", f"/complaints/{cid}/investigation", _investigation())["investigation"]
    assert (recorded["root_cause"], recorded["impact"], recorded["other_batches_affected"]) == (
        "封口压力偏低", "仅本批", "相邻批 B2601/B2603 已核查，未受影响")


@pytest.mark.req("REC-13")
def test_a_complaint_needing_no_investigation_gives_the_reason_and_closes_only_by_the_qa_heads_signature(app, api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    no_reason = api.post("qa_officer", f"/complaints/{cid}/validity",
                         {"information_complete": True, "substantiated": False})
    assert no_reason.status_code == 400 and "reason" in no_reason.get_json()["error"]["fields"]
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["status"] == "registered"
    reason = "退回样品与留样检验均合格，投诉不成立"
    decided = api.ok("qa_officer", f"/complaints/{cid}/validity",
                     {"information_complete": True, "substantiated": False, "reason": reason})
    assert decided["validity"]["reason"] == reason and decided["investigation"] is None
    api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "投诉不成立"})
    # Closing it takes the QA head's approval signature (after the signed audit-trail review): no one else,
    # and not without the credentials.
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    assert api.post("qa_officer", f"/complaints/{cid}/closure", api.signed("qa_officer", {})).status_code == 403
    unsigned = api.post("qa_head", f"/complaints/{cid}/closure", {"comment": "同意"})
    assert unsigned.status_code == 400 and {"username", "password"} <= set(unsigned.get_json()["error"]["fields"])
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["status"] == "closure_pending"
    closed = api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    assert closed["status"] == "closed" and closed["validity"]["reason"] == reason
    [closure] = [s for s in closed["signatures"] if s["step"] == "closure"]
    assert (closure["meaning"], closure["signer_name"], closure["status"]) == ("approved", "Liu.Yang Tester", "valid")


@pytest.mark.req("REC-17")
def test_the_inspector_downloads_the_archive_with_documents_signatures_trail_and_checksums(app, api):
    from audit.verify import verify_bundle
    from gmp_complaints.archive import verify_archive
    from tests.integration.test_documents import pdf_text

    cid = replied_and_satisfied(api)
    letter = b"%PDF-1.4 customer letter"
    assert api.client.post(f"/api/v1/complaints/{cid}/attachments", data={"file": (io.BytesIO(letter), "letter.pdf")},
                           headers={"Authorization": f"Bearer {api.tokens['intake']}"}).status_code == 201
    assert sign(api, "qp", cid, "qp_acknowledgement").status_code == 201
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    inspector = app.test_client()
    login(inspector, *api.credentials["auditor"])  # the read-only role, no administrator involved
    response = inspector.get(f"/complaints/{cid}/archive.zip?lang=en")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["X-Content-SHA256"] == hashlib.sha256(response.data).hexdigest()
    assert verify_archive(response.data).ok
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    # Every file listed with its SHA-256, and the list complete.
    assert set(manifest["files"]) == set(files) - {"manifest.json", "manifest.sig"}
    assert all(hashlib.sha256(files[name]).hexdigest() == digest for name, digest in manifest["files"].items())
    # The attachment as received, the human-readable record with its signatures, and the full trail.
    assert [files[n] for n in files if n.startswith("attachments/") and n.endswith("letter.pdf")] == [letter]
    sheet = pdf_text(files["documents/handling_sheet.pdf"])
    for signature in api.get("auditor", f"/complaints/{cid}").get_json()["signatures"]:
        assert signature["signer_name"] in sheet
    assert "Acknowledged — Chen.Jing Tester" in sheet and "Approved — Liu.Yang Tester" in sheet
    assert "letter.pdf" in sheet  # the attachments list
    trail = pdf_text(files["documents/audit_trail.pdf"])
    assert "Complaint registered" in trail
    # The machine-readable copy: the complaint's events as JSON lines, verifiable on their own.
    bundle = verify_bundle(files["audit/audit-bundle.zip"])
    assert bundle.ok and bundle.events > 0
    with zipfile.ZipFile(io.BytesIO(files["audit/audit-bundle.zip"])) as inner:
        lines = [json.loads(line) for line in inner.read("events.jsonl").splitlines() if line.strip()]
    assert {"complaint.registered", "complaint.close"} <= {line["action"] for line in lines}


# --- WF -------------------------------------------------------------------------------------------------------


@pytest.mark.req("WF-01")
def test_closing_from_investigation_is_refused_and_changes_nothing(app, api):
    cid = classified(api, "II")
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["status"] == "under_investigation"
    before, events = api.get("qa_officer", f"/complaints/{cid}").get_json(), _events(api, cid)
    review = sign(api, "qa_head", cid, "audit_trail_review")
    assert review.status_code == 409
    closure = api.post("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "关闭"}))
    assert closure.status_code == 409 and closure.get_json()["error"]["code"] == "conflict"
    reply = api.post("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})
    assert reply.status_code == 409
    assert api.get("qa_officer", f"/complaints/{cid}").get_json() == before and _events(api, cid) == events
    # The page offers no closure in that state either.
    client = app.test_client()
    login(client, *api.credentials["qa_head"])
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'id="sign-closure"' not in page and 'id="step-reply"' not in page


@pytest.mark.req("WF-03")
def test_triage_is_not_completed_until_the_adverse_reaction_question_is_answered(app, api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    before = api.get("qa_officer", f"/complaints/{cid}").get_json()
    for answer in (None, "unknown"):
        body = {"complaint_class": "II", "rationale": "r", **({} if answer is None else {"adr_suspected": answer})}
        refused = api.post("qa_officer", f"/complaints/{cid}/classification", body)
        assert refused.status_code == 400 and "adr_suspected" in refused.get_json()["error"]["fields"]
    assert api.get("qa_officer", f"/complaints/{cid}").get_json() == before  # not numbered, still in triage
    triaged = api.ok("qa_officer", f"/complaints/{cid}/classification",
                     {"complaint_class": "II", "rationale": "皮疹", "adr_suspected": True})
    assert triaged["classification"]["adr_suspected"] is True and triaged["status"] == "under_investigation"


@pytest.mark.req("WF-06")
def test_the_no_response_timer_acts_as_the_system_and_never_signs_or_closes(app, api):
    """Reply on 20 Nov, reminder due 25 working days later (25 Dec), closure pending 10 working days after the
    reminder (11 Jan 2027, across New Year's Day): both are system actions in the trail; nothing is signed or closed."""
    from click.testing import CliRunner

    from gmp_complaints.cli import main

    cid = replied(api)
    deadlines = api.get("qa_officer", f"/complaints/{cid}").get_json()["deadlines"]
    assert deadlines["reminder_due_on"] == "2026-12-25"
    env = _env_of(app)
    for day in ("2026-12-24", "2026-12-25", "2027-01-08"):
        assert CliRunner(env={**env, "GMP_TODAY": day}).invoke(main, ["tick"]).exit_code == 0
    complaint = api.get("qa_officer", f"/complaints/{cid}").get_json()
    assert complaint["reminders"] == [{"sent_on": "2026-12-25", "by_system": True}]
    # Ten working days after Fri 25 Dec: 28-31 Dec, 1 Jan off, 4-8 Jan, Mon 11 Jan.
    assert complaint["deadlines"]["close_eligible_on"] == "2027-01-11"
    assert complaint["status"] == "awaiting_customer"
    assert CliRunner(env={**env, "GMP_TODAY": "2027-01-11"}).invoke(main, ["tick"]).exit_code == 0
    complaint = api.get("qa_officer", f"/complaints/{cid}").get_json()
    assert complaint["status"] == "closure_pending" and complaint["closed_on"] is None
    assert complaint["signatures"] == []  # no signature in anybody's name
    timer_events = [e for e in _events(api, cid) if e["index"] > max(
        e["index"] for e in _events(api, cid) if e["action"] == "complaint_reply.created")]
    moved = [e for e in timer_events if e["changes"].get("status") == ["awaiting_customer", "closure_pending"]]
    assert len(moved) == 1 and moved[0]["actor"]["id"] is None and "tick" in moved[0]["actor"]["name"]
    assert moved[0]["changes"]["close_eligible_on"] == [None, "2027-01-11"]
    assert all(e["actor"]["id"] is None for e in timer_events if e["action"] != "user_notice.created")
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM signatures")).scalar_one() == 0


@pytest.mark.req("WF-12")
def test_sales_staff_neither_grade_nor_own_an_investigation_nor_coordinate_a_recall(app, api, uow_factory):
    from gmp_complaints.domain.errors import ValidationError
    from gmp_complaints.services import access_requests, accounts

    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    assert api.post("intake", f"/complaints/{cid}/validity",
                    {"information_complete": True, "substantiated": True}).status_code == 403
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    graded = api.post("intake", f"/complaints/{cid}/classification",
                      {"complaint_class": "III", "rationale": "r", "adr_suspected": False})
    assert graded.status_code == 403
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["number"] is None
    with pytest.raises(ValidationError) as refused:
        accounts.create_user(uow_factory(), actor_id=None, username="sales.recall", printed_name="Sales Recall",
                             roles=["intake", "recall_coordinator"], temporary_password="temporary-password-0001")
    assert "roles" in refused.value.fields
    coordinator = accounts.create_user(uow_factory(), actor_id=None, username="recall.lead", printed_name="Recall Lead",
                                       roles=["recall_coordinator"], temporary_password="temporary-password-0001")
    admin = accounts.create_user(uow_factory(), actor_id=None, username="root.admin", printed_name="Root Admin",
                                 roles=["admin"])
    with pytest.raises(ValidationError):  # not even requested (SEC-04): the combination is refused at once
        access_requests.request_access_change(uow_factory(), {
            "kind": "change_roles", "user_id": coordinator.user_id, "roles": ["recall_coordinator", "intake"],
            "reason": "兼任销售"}, actor_id=admin.user_id)
    with app.extensions["gmp_engine"].connect() as connection:
        roles = connection.execute(sa.text(
            "SELECT r.role FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username IN "
            "('sales.recall', 'recall.lead') ORDER BY r.role")).scalars().all()
    assert roles == ["recall_coordinator"]


@pytest.mark.req("WF-14")
def test_an_implemented_capa_does_not_close_before_its_effectiveness_check_is_signed(app, api):
    from tests.integration.test_capa import action, assessed

    cid = assessed(api)
    capa_id = api.ok("qa_officer", "/capas", capa_body(cid), 201)["id"]
    act = action(api, capa_id)["actions"][0]["id"]
    api.ok("investigator", f"/capas/{capa_id}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "e"})
    implemented = api.ok("qa_head", f"/capas/{capa_id}/actions/{act}/implementation-approval",
                         api.signed("qa_head", {}))
    assert implemented["status"] == "implemented"
    blocked = api.post("qa_head", f"/capas/{capa_id}/closure", api.signed("qa_head", {"comment": "关闭"}))
    assert blocked.status_code == 409 and "effectiveness" in blocked.get_json()["error"]["message"]
    after = api.get("auditor", f"/capas/{capa_id}").get_json()
    assert (after["status"], after["version"], after["signatures"]) == (
        "implemented", implemented["version"], implemented["signatures"])
    unsigned = api.post("qa_head", f"/capas/{capa_id}/effectiveness",
                        {"result": "effective", "evidence": "无同类投诉", "early_reason": "下一批已验证"})
    assert unsigned.status_code == 400 and "password" in unsigned.get_json()["error"]["fields"]
    checked = api.ok("qa_head", f"/capas/{capa_id}/effectiveness", api.signed(
        "qa_head", {"result": "effective", "evidence": "无同类投诉", "early_reason": "下一批已验证"}))
    assert (checked["effectiveness"]["result"], checked["effectiveness"]["evidence"]) == ("effective", "无同类投诉")
    [check] = [s for s in checked["signatures"] if s["step"] == "effectiveness_check"]
    assert check["signer_name"] == "Liu.Yang Tester" and check["status"] == "valid"
    assert api.ok("qa_head", f"/capas/{capa_id}/closure", api.signed("qa_head", {}))["status"] == "closed"


@pytest.mark.req("WF-16")
def test_the_closure_signature_binds_the_investigation_conclusion_the_capa_and_the_reply_sent(app, api):
    from signatures.binding import canonical_snapshot_hash
    from signatures.scopes import complaint_snapshot
    from tests.integration.test_capa import action, assessed

    cid = assessed(api)
    capa_id = api.ok("qa_officer", "/capas", capa_body(cid), 201)["id"]
    act = action(api, capa_id)["actions"][0]["id"]
    api.ok("investigator", f"/capas/{capa_id}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "e"})
    api.ok("qa_head", f"/capas/{capa_id}/actions/{act}/implementation-approval", api.signed("qa_head", {}))
    api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "调查结果：封口压力偏低；CAPA-26-001"})
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": TODAY, "satisfied": True, "text": "满意"})
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    closed = api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    [closure] = [s for s in closed["signatures"] if s["step"] == "closure"]
    assert (closure["meaning"], closure["status"]) == ("approved", "valid")
    snapshot = complaint_snapshot(api.get("qa_head", f"/complaints/{cid}").get_json(), "complaint")
    assert canonical_snapshot_hash(snapshot) == closure["record_hash"]
    assert snapshot["investigation"]["root_cause"] == "封口压力偏低"
    assert snapshot["capas"] == ["CAPA-26-001"]
    assert [(r["sequence"], r["replied_on"]) for r in snapshot["replies"]] == [(1, TODAY)]
    # Signed before it, the audit-trail review.
    steps = [s["step"] for s in closed["signatures"]]
    assert steps.index("audit_trail_review") < steps.index("closure")

"""Security (SEC) and retention (RET) requirements of the baseline that no other test proved on its own:
individual accounts, the administrator kept out of GMP work, access changes on record, unlocking, a
deactivated signer still attributable, the retention rules for a late complaint and a product without
expiry dating, and the designated complaint file retrieved on demand. SQLite and PostgreSQL."""
import dataclasses
import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.services import access_requests, accounts
from tests.conftest import csrf_token, login
from tests.integration.test_complaints_api import TODAY, api, registration, settings  # noqa: F401
from tests.integration.test_signatures import classified, replied_and_satisfied, sign


def token_of(client, username, password):
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def scalar(app, sql, **params):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(sql), params).scalar_one()


def events_of(client, token, entity):
    response = client.get(f"/api/v1/audit/events?entity={entity}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["events"]


# --- SEC ------------------------------------------------------------------------------------------------------


@pytest.mark.req("SEC-01")
def test_an_account_is_one_named_persons_and_only_an_identified_person_signs(app, api, make_user, uow_factory, client,
                                                                            approved_change):
    admin_id, _ = make_user("root.admin", "admin")

    def new_account(username, printed_name):
        return access_requests.request_access_change(uow_factory(), {
            "kind": "create_user", "username": username, "printed_name": printed_name, "roles": ["qp"],
            "reason": "New QP"}, actor_id=admin_id)

    # A user name is one person's for good: not twice (whatever the case), not again after deactivation.
    for name in ("chen.jing", "Chen.Jing"):
        with pytest.raises(ValidationError) as taken:
            new_account(name, "Someone Else")
        assert "username" in taken.value.fields
    qp_id = scalar(app, "SELECT id FROM users WHERE username = 'chen.jing'")
    approved_change(admin_id, kind="deactivate_user", user_id=qp_id, reason="Left the company")
    with pytest.raises(ValidationError) as reused:
        new_account("chen.jing", "Chen Jing Junior")
    assert "username" in reused.value.fields
    # An account names the person: no account without a printed name.
    with pytest.raises(ValidationError) as unnamed:
        new_account("qa.shared", "Q")
    assert "printed_name" in unnamed.value.fields
    assert scalar(app, "SELECT count(*) FROM users WHERE username IN ('qa.shared', 'Chen.Jing')") == 0
    # An account whose holder no administrator identified cannot sign, and signs nothing.
    cid = classified(api)
    _, password = make_user("qa.team", "qp")
    token = token_of(client, "qa.team", password)
    assert client.post("/api/v1/auth/esignature-statement", json={"password": password},
                       headers={"Authorization": f"Bearer {token}"}).status_code == 204
    refused = client.post(f"/api/v1/complaints/{cid}/signatures", headers={"Authorization": f"Bearer {token}"},
                          json={"step": "qp_acknowledgement", "username": "qa.team", "password": password})
    assert refused.status_code == 403 and "identity" in refused.get_json()["error"]["message"]
    assert scalar(app, "SELECT count(*) FROM signatures") == 0


@pytest.mark.req("SEC-03")
def test_the_administrator_does_no_gmp_work_and_the_quality_unit_no_configuration(app, api, make_user, client,
                                                                                    uow_factory):
    _, password = make_user("root.admin", "admin", identity_verified=True)
    admin = {"Authorization": f"Bearer {token_of(client, 'root.admin', password)}"}
    cid = classified(api)
    before = (scalar(app, "SELECT count(*) FROM complaints"), scalar(app, "SELECT version FROM complaints WHERE id = :i",
                                                                      i=cid))
    attempts = (
        ("/api/v1/complaints", registration()),
        (f"/api/v1/complaints/{cid}/assignment", {"investigator": "zhang.wei"}),
        (f"/api/v1/complaints/{cid}/investigation", {"root_cause": "r", "impact": "i", "other_batches_affected": "o",
                                                     "substantiated": True}),
        (f"/api/v1/complaints/{cid}/regrading", {"complaint_class": "I", "reason": "r", "username": "root.admin",
                                                 "password": password}),
        (f"/api/v1/complaints/{cid}/signatures", {"step": "qp_acknowledgement", "username": "root.admin",
                                                  "password": password}),
        (f"/api/v1/complaints/{cid}/closure", {"username": "root.admin", "password": password, "comment": "c"}),
        ("/api/v1/capas", {"complaint_ids": [cid], "problem_statement": "p", "risk": "r",
                           "effectiveness_criteria": "e", "effectiveness_due_on": "2027-06-30"}),
        ("/api/v1/auth/esignature-statement", {"password": password}),
    )
    for path, body in attempts:
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == 403, (path, response.get_json())
    assert client.get(f"/api/v1/complaints/{cid}", headers=admin).status_code == 403  # nor reads GMP records
    after = (scalar(app, "SELECT count(*) FROM complaints"), scalar(app, "SELECT version FROM complaints WHERE id = :i",
                                                                     i=cid))
    assert after == before and scalar(app, "SELECT count(*) FROM signatures") == 0
    assert scalar(app, "SELECT count(*) FROM capas") == 0
    # An administrator cannot be given a business role as well.
    admin_id = scalar(app, "SELECT id FROM users WHERE username = 'root.admin'")
    with pytest.raises(ValidationError) as combined:
        accounts.create_user(uow_factory(), actor_id=None, username="it.admin", printed_name="IT Admin",
                             roles=["admin", "qa_head"])
    assert "roles" in combined.value.fields
    other_admin, _ = make_user("sun.qiang", "admin")
    with pytest.raises(ValidationError):
        access_requests.request_access_change(uow_factory(), {"kind": "change_roles", "user_id": admin_id,
                                                              "roles": ["admin", "qa_officer"], "reason": "r"},
                                              actor_id=other_admin)
    assert scalar(app, "SELECT role FROM user_roles WHERE user_id = :i", i=admin_id) == "admin"
    # Configuration is the administrator's: the head of quality changes neither time limits, recall clocks nor users.
    for path, body in (("/time-limits", {"complaint_class": "I", "step": "classification", "working_days": 1,
                                         "reason": "r"}),
                       ("/recall-clocks/I", {"notify_hours": 12, "report_and_plan_days": 1, "progress_every_days": 1,
                                             "reason": "r"})):
        assert api.post("qa_head", path, body).status_code == 403, path
    head = app.test_client()
    login(head, *api.credentials["qa_head"])
    assert head.get("/admin/users").status_code == 403
    assert head.get("/admin/calendar").status_code == 403


@pytest.mark.req("SEC-04")
def test_granting_changing_and_withdrawing_access_is_recorded_with_who_when_and_why(app, make_user, uow_factory,
                                                                                   client):
    from gmp_complaints.domain.roles import Actor, Role

    admin_id, admin_password = make_user("root.admin", "admin")
    other_admin_id, _ = make_user("sun.qiang", "admin")
    head_id, head_password = make_user("liu.yang", "qa_head")
    head = Actor(head_id, frozenset({Role.qa_head}))

    def approve(request):
        return access_requests.decide_access_request(uow_factory(), request["id"], {
            "decision": "approve", "username": "liu.yang", "password": head_password}, actor=head)

    created = approve(access_requests.request_access_change(uow_factory(), {
        "kind": "create_user", "username": "zhang.wei", "printed_name": "张伟 Zhang Wei", "roles": ["investigator"],
        "identity_verified": True, "reason": "New investigator, HR ticket 7"}, actor_id=admin_id))
    user_id = created["user_id"]
    # A change of access without a reason is refused and records nothing.
    with pytest.raises(ValidationError) as no_reason:
        access_requests.request_access_change(uow_factory(), {"kind": "change_roles", "user_id": user_id,
                                                              "roles": ["qa_officer"], "reason": " "}, actor_id=admin_id)
    assert "reason" in no_reason.value.fields
    granted = access_requests.request_access_change(uow_factory(), {
        "kind": "change_roles", "user_id": user_id, "roles": ["investigator", "qa_officer"],
        "reason": "Moved to QA, CC-2026-017"}, actor_id=admin_id)
    approve(granted)
    withdrawn = access_requests.request_access_change(uow_factory(), {
        "kind": "deactivate_user", "user_id": user_id, "reason": "Left the company"}, actor_id=other_admin_id)
    approve(withdrawn)
    events = events_of(client, token_of(client, "root.admin", admin_password), f"user:{user_id}")
    access = [e for e in events if e["action"] in ("user.created", "user.roles_changed", "user.deactivated")]
    assert [e["action"] for e in access] == ["user.created", "user.roles_changed", "user.deactivated"]
    made, changed, ended = access
    # Each change is made by the approver, names the request and its requester, and keeps the requester's reason.
    assert made["actor"]["id"] == head_id and made["changes"]["roles"] == [None, ["investigator"]]
    assert made["changes"]["requested_by_id"] == [None, admin_id]
    assert changed["actor"] == {"id": head_id, "name": "Liu.Yang Tester"}
    assert changed["changes"]["roles"] == [["investigator"], ["investigator", "qa_officer"]]
    assert changed["changes"]["requested_by_id"] == [None, admin_id]
    assert changed["changes"]["access_request_id"] == [None, granted["id"]]
    assert changed["reason"] == "Moved to QA, CC-2026-017"
    assert ended["changes"]["requested_by_id"] == [None, other_admin_id] and ended["reason"] == "Left the company"
    assert ended["changes"]["is_active"] == [True, False]
    assert all(e["occurred_at"].endswith("+08:00") for e in access)  # when, in the site's time zone
    # The request itself: who asked, when and why; who approved and when.
    trail = events_of(client, token_of(client, "root.admin", admin_password), f"access_request:{granted['id']}")
    asked, approved = [e for e in trail if e["action"] in ("access_request.requested", "access_request.approved")]
    assert asked["actor"]["id"] == admin_id and asked["reason"] == "Moved to QA, CC-2026-017"
    assert asked["changes"]["requested_by_id"] == [None, admin_id] and asked["changes"]["status"] == [None, "pending"]
    assert approved["actor"]["id"] == head_id and approved["changes"]["status"] == ["pending", "approved"]
    assert approved["changes"]["decided_by_id"] == [None, head_id]
    # The administrator does not request a change of their own access.
    with pytest.raises(Exception) as own:
        access_requests.request_access_change(uow_factory(), {"kind": "change_roles", "user_id": admin_id,
                                                              "roles": ["auditor"], "reason": "r"}, actor_id=admin_id)
    assert "own" in str(own.value)


@pytest.mark.req("SEC-05")
def test_the_lockout_threshold_is_configuration_and_only_an_administrator_unlocks_on_record(app, make_user, client):
    app.config["GMP_SETTINGS"] = dataclasses.replace(app.config["GMP_SETTINGS"], max_failed_logins=3)
    admin_id, admin_password = make_user("root.admin", "admin")
    head_id, head_password = make_user("liu.yang", "qa_head")
    user_id, password = make_user("zhang.wei", "investigator")
    statuses = [client.post("/api/v1/auth/token", json={"username": "zhang.wei", "password": "wrong-password-x"})
                .status_code for _ in range(3)]
    assert statuses == [401, 401, 423]  # the company's value, 3, not the default 5
    head = app.test_client()
    login(head, "liu.yang", head_password)
    refused = head.post(f"/admin/users/{user_id}/unlock", data={"csrf_token": csrf_token(head, "/"),
                                                              "unlock-reason": "I know him"})
    assert refused.status_code == 403
    assert client.post("/api/v1/auth/token", json={"username": "zhang.wei", "password": password}).status_code == 423
    admin = app.test_client()
    login(admin, "root.admin", admin_password)
    token = csrf_token(admin, f"/admin/users/{user_id}")
    assert admin.post(f"/admin/users/{user_id}/unlock", data={"csrf_token": token, "unlock-reason": ""}).status_code == 400
    done = admin.post(f"/admin/users/{user_id}/unlock", data={"csrf_token": token,
                                                             "unlock-reason": "Identity confirmed by phone"})
    assert done.status_code == 302
    assert token_of(client, "zhang.wei", password)
    events = events_of(client, token_of(client, "root.admin", admin_password), f"user:{user_id}")
    actions = [e["action"] for e in events]
    assert actions.count("user.login_failed") == 3 and "user.locked" in actions
    [unlocked] = [e for e in events if e["action"] == "user.unlocked"]
    assert unlocked["actor"]["id"] == admin_id and unlocked["reason"] == "Identity confirmed by phone"
    assert head_id != admin_id


@pytest.mark.req("SEC-08")
def test_a_deactivated_signer_can_neither_log_in_nor_sign_and_stays_attributable(app, api, make_user, uow_factory,
                                                                                 client, approved_change):
    admin_id, _ = make_user("root.admin", "admin")
    cid = classified(api)
    assert sign(api, "qp", cid, "qp_acknowledgement", comment="已知悉").status_code == 201
    qp_id = scalar(app, "SELECT id FROM users WHERE username = 'chen.jing'")
    approved_change(admin_id, kind="deactivate_user", user_id=qp_id, reason="Token reported lost")
    username, password = api.credentials["qp"]
    # Disabled at once: the issued token is dead, no new one is given, and no signature is taken.
    assert api.get("qp", "/me").status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": username, "password": password}).status_code == 401
    second = classified(api)
    refused = api.post("qp", f"/complaints/{second}/signatures",
                       {"step": "qp_acknowledgement", "username": username, "password": password})
    assert refused.status_code == 401
    web = app.test_client()
    assert login(web, username, password).status_code == 200 and web.get("/").status_code == 302  # the form again
    assert scalar(app, "SELECT count(*) FROM signatures") == 1
    # What the person signed and did stays theirs.
    [signature] = api.get("qa_officer", f"/complaints/{cid}").get_json()["signatures"]
    assert (signature["signer_name"], signature["status"], signature["step"]) == (
        "Chen.Jing Tester", "valid", "qp_acknowledgement")
    signed = [e for e in api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
              if e["action"] == "signature.signed"]
    assert [e["actor"] for e in signed] == [{"id": qp_id, "name": "Chen.Jing Tester"}]
    with pytest.raises(sa.exc.DatabaseError):
        with app.extensions["gmp_engine"].begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT set_config('gmp.tx', 'test', true)"))
            connection.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": qp_id})
    assert scalar(app, "SELECT printed_name FROM users WHERE id = :id", id=qp_id) == "Chen.Jing Tester"


# --- RET ------------------------------------------------------------------------------------------------------


@pytest.mark.req("RET-01")
def test_retention_of_a_complaint_after_expiry_and_of_a_product_without_expiry_dating(api):
    # A complaint received after its batch expired is kept a year after receipt, not a year after expiry.
    api.ok("qa_officer", "/batches", {"product_code": "P-001", "batch_no": "B2301", "manufactured_on": "2023-01-10",
                                      "expires_on": "2025-01-09"}, 201)
    late = api.ok("intake", "/complaints", registration(batch_nos=["B2301"]), 201)
    assert late["retention_until"] == "2027-11-02"  # received 2026-11-02 + 1 year > expiry 2025-01-09 + 1 year
    # Two batches: the later expiry counts.
    both = api.ok("intake", "/complaints", registration(batch_nos=["B2301", "B2603"]), 201)
    assert both["retention_until"] == "2029-03-09"
    # A product without expiry dating (OTC): three years after the last distribution of the batch.
    api.ok("qa_officer", "/products", {"code": "P-OTC", "name": "维生素C片", "strength": "100 mg",
                                        "dosage_form": "tablet", "has_expiry": False}, 201)
    api.ok("qa_officer", "/batches", {"product_code": "P-OTC", "batch_no": "V2601", "manufactured_on": "2026-01-05"},
           201)
    for shipped in ("2026-02-01", "2026-03-01"):
        api.ok("qa_officer", "/distributions", {"product_code": "P-OTC", "batch_no": "V2601", "consignee": "仁和大药房",
                                                "quantity": 10, "shipped_on": shipped}, 201)
    otc = api.ok("intake", "/complaints", registration(product_code="P-OTC", batch_nos=["V2601"]), 201)
    assert otc["retention_until"] == "2029-03-01"


@pytest.fixture
def complaint_file(api):
    """The complaints of a year in every state: open, closed (with a letter attached), voided, not substantiated."""
    open_one = api.ok("intake", "/complaints", registration(), 201)
    closed = replied_and_satisfied(api)
    upload = api.client.post(f"/api/v1/complaints/{closed}/attachments",
                             data={"file": (io.BytesIO(b"%PDF-1.4 customer letter"), "letter.pdf")},
                             headers={"Authorization": f"Bearer {api.tokens['intake']}"})
    assert upload.status_code == 201
    assert sign(api, "qa_head", closed, "audit_trail_review").status_code == 201
    api.ok("qa_head", f"/complaints/{closed}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    voided = classified(api)
    api.ok("qa_officer", f"/complaints/{voided}/void-requests", {"reason": "重复登记"})
    assert sign(api, "qa_head", voided, "void_approval", comment="同意作废").status_code == 201
    disproved = api.ok("intake", "/complaints", registration(description="客户误用"), 201)["id"]
    api.ok("qa_officer", f"/complaints/{disproved}/validity",
           {"information_complete": True, "substantiated": False, "reason": "客户使用方法错误，产品无缺陷"})
    records = {name: api.get("auditor", f"/complaints/{cid}").get_json()
               for name, cid in (("open", open_one["id"]), ("closed", closed), ("void", voided),
                                 ("not_substantiated", disproved))}
    assert {n: r["status"] for n, r in records.items()} == {
        "open": "registered", "closed": "closed", "void": "void", "not_substantiated": "assessed"}
    return records


@pytest.mark.req("RET-06")
def test_every_complaint_is_in_the_designated_complaint_file_and_retrieved_on_demand(app, api, complaint_file):
    from pypdf import PdfReader

    from gmp_complaints.archive import verify_archive

    inspector = app.test_client()  # the read-only auditor/inspector role, without anyone's help
    login(inspector, *api.credentials["auditor"])
    # The complaint list finds every complaint of the site, whatever its state, and each opens at once.
    listing = inspector.get("/complaints/")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    for record in complaint_file.values():
        assert record["intake_ref"] in page, record["intake_ref"]
        found = inspector.get(f"/complaints/?q={record['number'] or record['intake_ref']}").get_data(as_text=True)
        assert f'/complaints/{record["id"]}"' in found, record["intake_ref"]
        assert not [o["intake_ref"] for o in complaint_file.values() if o is not record and o["intake_ref"] in found]
        opened = inspector.get(f"/complaints/{record['id']}")
        assert opened.status_code == 200 and record["intake_ref"] in opened.get_data(as_text=True)
    for status in ("closed", "void"):
        found = inspector.get(f"/complaints/?status={status}").get_data(as_text=True)
        assert complaint_file[status]["intake_ref"] in found
        assert complaint_file["open"]["intake_ref"] not in found
    # The designated file: the complaint ledger of the year (SOP 5.3) lists every number, closed and voided ones too.
    ledger = api.get("auditor", "/ledger?year=2026").get_json()
    numbers = {r["number"]: r["status"] for r in ledger["rows"]}
    assert numbers == {complaint_file["closed"]["number"]: "closed", complaint_file["void"]["number"]: "void"}
    assert ledger["gaps"] == []
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(inspector.get("/complaints/ledger.xlsx?year=2026").data))
    assert book["2026"]["A1"].value == "客户质量投诉处理台账 2026"
    # The closed complaint's archive package (SOP §8) is produced on demand, names what it is and verifies.
    closed = complaint_file["closed"]
    response = inspector.get(f"/complaints/{closed['id']}/archive.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert verify_archive(response.data).ok
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["format"] == "gmp-complaint-archive/1"
        assert (manifest["complaint"]["number"], manifest["complaint"]["intake_ref"]) == (
            closed["number"], closed["intake_ref"])
        assert manifest["complaint"]["retention_until"] == closed["retention_until"]
        for document, title in (("intake_form", "投诉客户信息登记表"), ("handling_sheet", "客户质量投诉处理单")):
            text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.read(f"documents/{document}.pdf"))).pages)
            assert title in text and closed["number"] in text, document
        assert any(n.startswith("attachments/") and n.endswith("letter.pdf") for n in archive.namelist())
    # Taking it out for the inspector is on record.
    events = api.get("auditor", f"/audit/events?entity=complaint:{closed['id']}").get_json()["events"]
    assert [e["action"] for e in events].count("complaint.archived") == 1
    # A complaint still open is retrievable as its printed record, with its intake reference.
    record = inspector.get(f"/complaints/{complaint_file['open']['id']}/documents/intake_form.pdf")
    assert record.status_code == 200 and record.data.startswith(b"%PDF")

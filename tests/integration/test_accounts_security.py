"""Accounts and security of issue 18: alerts on repeated failed log-ins and signings (SEC-06), service accounts for
system integrations that never log in, sign or act on GMP records (SEC-01), and changes of access that take effect
only on a second person's approval (SEC-04). SQLite and PostgreSQL."""
from __future__ import annotations

import dataclasses
import json
import re

import pytest
import sqlalchemy as sa

from gmp_complaints.domain.errors import PermissionDeniedError, ValidationError
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.services import access_requests, accounts
from tests.conftest import STRONG_PASSWORD, csrf_token, login
from tests.integration.test_check_commands import gmp
from tests.integration.test_complaints_api import TODAY, api, registration, settings  # noqa: F401 (fixtures)
from tests.integration.test_signatures import _env_of, classified


def rows(app, sql: str, **params) -> list:
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(sql), params).all()


def scalar(app, sql: str, **params):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(sql), params).scalar_one()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_of(client, username: str, password: str = STRONG_PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def trail(app, *, since: int = -1) -> list[tuple[int, str]]:
    return [tuple(r) for r in rows(app, "SELECT log_index, action FROM audit_events WHERE log_index > :i "
                                        "ORDER BY log_index", i=since)]


def last_index(app) -> int:
    return scalar(app, "SELECT coalesce(max(log_index), -1) FROM audit_events")


# --- SEC-06: alerts on repeated failures ---------------------------------------------------------------------


@pytest.fixture
def watchers(app, make_user, uow_factory):
    """The security unit and QA with their addresses, and mail configured: who the alerts go to."""
    app.config["GMP_SETTINGS"] = dataclasses.replace(app.config["GMP_SETTINGS"], smtp_host="mail.example.cn",
                                                     public_url="https://qa.example.cn")
    people = {}
    for username, role, email in (("root.admin", "admin", "it-security@example.cn"),
                                  ("liu.yang", "qa_head", "qa-head@example.cn")):
        existing = rows(app, "SELECT id FROM users WHERE username = :u", u=username)  # the api fixture's head
        user_id = existing[0].id if existing else make_user(username, role)[0]
        accounts.change_email(uow_factory(), actor_id=user_id, user_id=user_id, email=email, reason="alerts")
        people[role] = (user_id, STRONG_PASSWORD)
    return people


def _alert_notices(app) -> list:
    return rows(app, "SELECT n.user_id, n.subject_id, n.record_label, o.subject, o.body, o.recipient "
                     "FROM user_notices n LEFT JOIN outbox_messages o ON o.id = n.outbox_message_id "
                     "WHERE n.kind = 'security_alert' ORDER BY n.user_id")


@pytest.mark.req("SEC-06")
def test_failed_log_ins_below_the_threshold_raise_no_alert(app, client, make_user, watchers):
    make_user("zhang.wei", "investigator")
    login(client, "zhang.wei", "wrong-password-1")
    assert client.post("/api/v1/auth/token", json={"username": "zhang.wei", "password": "wrong-password-2"}
                       ).status_code == 401
    assert scalar(app, "SELECT count(*) FROM audit_events WHERE action = 'user.login_failed'") == 2
    assert scalar(app, "SELECT count(*) FROM security_alerts") == 0
    assert _alert_notices(app) == []
    assert scalar(app, "SELECT count(*) FROM audit_events WHERE action = 'security.alert_raised'") == 0


@pytest.mark.req("SEC-06")
def test_at_the_threshold_the_administrators_and_the_head_of_quality_are_alerted_with_the_event_record(
        app, client, make_user, watchers, uow_factory):
    from gmp_complaints.services.timers import deliver_outbox

    user_id, password = make_user("zhang.wei", "investigator")
    make_user("li.na", "qa_officer")  # told nothing: not the security unit, not the head of quality
    # Web and API failures on one account count together, from wherever they come.
    login(client, "zhang.wei", "wrong-password-1")
    client.post("/api/v1/auth/token", json={"username": "zhang.wei", "password": "wrong-password-2"},
                environ_base={"REMOTE_ADDR": "10.1.2.3"})
    failures = [i for i, a in trail(app) if a == "user.login_failed"]
    assert scalar(app, "SELECT count(*) FROM security_alerts") == 0
    login(client, "zhang.wei", "wrong-password-3")  # the third, the default threshold: the alert at once
    failures = [i for i, a in trail(app) if a == "user.login_failed"]
    assert len(failures) == 3
    (alert,) = rows(app, "SELECT id, user_id, username, kinds, failure_count, event_indices, source_addresses "
                         "FROM security_alerts")
    assert (alert.user_id, alert.username, alert.kinds, alert.failure_count) == (user_id, "zhang.wei", "login", 3)
    assert [int(i) for i in alert.event_indices.split()] == failures
    assert set(alert.source_addresses.split()) == {"127.0.0.1", "10.1.2.3"}
    # The alert is itself an audit event, after the failure that raised it.
    raised = [i for i, a in trail(app) if a == "security.alert_raised"]
    assert len(raised) == 1 and raised[0] > failures[-1]
    # Every active administrator and head of quality is told, in the app and by e-mail naming the account and
    # the events; nobody else.
    notices = _alert_notices(app)
    assert sorted(n.user_id for n in notices) == sorted([watchers["admin"][0], watchers["qa_head"][0]])
    assert all(n.subject_id == alert.id and n.record_label == "zhang.wei" for n in notices)
    for notice in notices:
        assert "zhang.wei" in notice.subject
        assert "zhang.wei" in notice.body and ", ".join(map(str, failures)) in notice.body
        assert "10.1.2.3" in notice.body and f"https://qa.example.cn/security-alerts#alert-{alert.id}" in notice.body
    sent = []
    assert deliver_outbox(uow_factory(), send=sent.append)["sent"] == 2
    assert sorted(m.recipient for m in sent) == ["it-security@example.cn", "qa-head@example.cn"]
    # On the dashboard, the notices page and the navigation count of the alerted people.
    for username, (_, their_password) in (("root.admin", watchers["admin"]), ("liu.yang", watchers["qa_head"])):
        page_client = app.test_client()
        login(page_client, username, their_password)
        page = page_client.get("/").get_data(as_text=True)
        assert f'id="dashboard-alert-{alert.id}"' in page and "zhang.wei" in page.split('id="security-alerts"')[1]
        assert ", ".join(map(str, failures)) in page and 'id="nav-notices-count">1<' in page
        assert 'href="/security-alerts#alert-' in page_client.get("/notices").get_data(as_text=True)
        alerts_page = page_client.get("/security-alerts").get_data(as_text=True)
        assert f'id="alert-{alert.id}"' in alerts_page and "10.1.2.3" in alerts_page
    other = app.test_client()
    login(other, "li.na", STRONG_PASSWORD)
    assert 'id="security-alerts"' not in other.get("/").get_data(as_text=True)
    assert other.get("/security-alerts").status_code == 403
    # One alert per account and window: further failures raise no second one (no flood).
    for attempt in range(2):
        login(app.test_client(), "zhang.wei", f"wrong-password-{attempt + 4}")
    assert scalar(app, "SELECT count(*) FROM security_alerts") == 1
    assert len(_alert_notices(app)) == 2
    api_alerts = app.test_client().get("/api/v1/security-alerts",
                                        headers=bearer(token_of(client, "liu.yang", watchers["qa_head"][1])))
    assert [a["event_indices"] for a in api_alerts.get_json()["alerts"]] == [failures]


@pytest.mark.req("SEC-06")
def test_repeated_wrong_passwords_at_signing_raise_the_alert_as_signing_failures(app, api, watchers):
    from gmp_complaints import unit_of_work
    from gmp_complaints.services.timers import deliver_outbox

    cid = classified(api)
    username, _ = api.credentials["qp"]
    before = api.get("auditor", f"/complaints/{cid}").get_json()
    for attempt in range(3):
        response = api.post("qp", f"/complaints/{cid}/signatures", {
            "step": "qp_acknowledgement", "username": username, "password": f"wrong-password-{attempt}"})
        assert response.status_code == 401
    # The refused signings changed nothing of the complaint.
    assert api.get("auditor", f"/complaints/{cid}").get_json() == before
    (alert,) = rows(app, "SELECT id, username, kinds, failure_count, event_indices FROM security_alerts")
    assert (alert.username, alert.kinds, alert.failure_count) == (username, "signing", 3)
    failed = rows(app, "SELECT log_index, canonical FROM audit_events WHERE action = 'user.login_failed' "
                       "ORDER BY log_index")
    assert [json.loads(c)["changes"]["via"][1] for _, c in failed] == ["signature"] * 3
    assert [int(i) for i in alert.event_indices.split()] == [i for i, _ in failed]
    notices = _alert_notices(app)
    assert sorted(n.user_id for n in notices) == sorted([watchers["admin"][0], watchers["qa_head"][0]])
    assert all("签名" in n.body and "signing" in n.body and username in n.body for n in notices)
    sent = []
    deliver_outbox(unit_of_work(app), send=sent.append)
    assert {m.recipient for m in sent} == {"it-security@example.cn", "qa-head@example.cn"}


@pytest.mark.req("SEC-06")
def test_an_unknown_user_name_is_counted_per_name_attempted_and_the_threshold_is_configuration(app, client,
                                                                                              watchers):
    app.config["GMP_SETTINGS"] = dataclasses.replace(app.config["GMP_SETTINGS"], failure_alert_threshold=4)
    for attempt in range(3):
        client.post("/api/v1/auth/token", json={"username": "Ghost.User", "password": f"guess-{attempt}"})
        client.post("/api/v1/auth/token", json={"username": "other.ghost", "password": f"guess-{attempt}"})
    assert scalar(app, "SELECT count(*) FROM security_alerts") == 0  # 3 each: below the site's threshold of 4
    client.post("/api/v1/auth/token", json={"username": "ghost.user ", "password": "guess-9"})
    (alert,) = rows(app, "SELECT user_id, username, account_key, failure_count FROM security_alerts")
    assert (alert.user_id, alert.username, alert.account_key, alert.failure_count) == (
        None, "ghost.user", "name:ghost.user", 4)
    assert len(_alert_notices(app)) == 2


# --- SEC-01: service accounts ----------------------------------------------------------------------------------


@pytest.fixture
def erp(app, api, uow_factory):
    """The ERP's master-data feed: a service account made at the server (as `gmp create-user --service` makes it),
    its temporary password replaced, and its token."""
    created = accounts.create_user(uow_factory(), actor_id=None, username="erp.feed",
                                   printed_name="ERP master-data feed", roles=[], account_type="service",
                                   temporary_password="erp-temporary-pass-01")
    response = api.client.post("/api/v1/auth/password", json={
        "username": "erp.feed", "old_password": "erp-temporary-pass-01", "new_password": "erp-feed-secret-2026"})
    assert response.status_code == 204
    return {"id": created.user_id, "token": token_of(api.client, "erp.feed", "erp-feed-secret-2026"),
            "password": "erp-feed-secret-2026"}


@pytest.mark.req("SEC-01")
def test_a_service_account_feeds_master_data_through_the_api_and_nothing_else(app, api, erp):
    client = api.client
    me = client.get("/api/v1/me", headers=bearer(erp["token"])).get_json()
    assert me["account_type"] == "service" and me["roles"] == []
    assert client.post("/api/v1/products", json={"code": "P-ERP", "name": "头孢", "strength": "0.5 g",
                                                 "dosage_form": "tablet"}, headers=bearer(erp["token"])).status_code == 201
    assert client.post("/api/v1/batches", json={"product_code": "P-ERP", "batch_no": "E2601",
                                                "manufactured_on": "2026-01-05", "expires_on": "2028-01-04"},
                       headers=bearer(erp["token"])).status_code == 201
    assert client.post("/api/v1/distributions", json={"product_code": "P-ERP", "batch_no": "E2601",
                                                      "consignee": "国药控股", "quantity": 100,
                                                      "shipped_on": "2026-02-01"},
                       headers=bearer(erp["token"])).status_code == 201
    created = rows(app, "SELECT action, actor_id, actor_name FROM audit_events WHERE action IN "
                        "('product.created', 'batch.created', 'distribution.created') AND actor_id = :id", id=erp["id"])
    assert len(created) == 3 and {r.actor_name for r in created} == {"ERP master-data feed"}


@pytest.mark.req("SEC-01")
def test_a_service_account_never_logs_in_signs_or_acts_on_complaints_capa_or_recalls_and_nothing_changes(
        app, api, erp, uow_factory):
    from gmp_complaints.services import approvals

    cid = classified(api)
    record = api.get("auditor", f"/complaints/{cid}").get_json()
    before = last_index(app)
    counts = {t: scalar(app, f"SELECT count(*) FROM {t}") for t in ("complaints", "signatures", "capas", "recalls",
                                                                    "user_sessions")}
    # The pages: refused at the log-in with the right password, no session.
    browser = app.test_client()
    response = login(browser, "erp.feed", erp["password"])
    assert response.status_code == 403 and browser.get("/").status_code == 302
    # GMP acts and signatures through the API: 403, whatever it sends.
    client, headers = api.client, bearer(erp["token"])
    refused = {
        "register": client.post("/api/v1/complaints", json=registration(), headers=headers),
        "read": client.get(f"/api/v1/complaints/{cid}", headers=headers),
        "step": client.post(f"/api/v1/complaints/{cid}/acknowledgement", headers=headers,
                            json={"sent_on": TODAY, "method": "phone", "note": "n"}),
        "sign": client.post(f"/api/v1/complaints/{cid}/signatures", headers=headers, json={
            "step": "qp_acknowledgement", "username": "erp.feed", "password": erp["password"]}),
        "statement": client.post("/api/v1/auth/esignature-statement", json={"password": erp["password"]},
                                 headers=headers),
        "capa": client.post("/api/v1/capas", headers=headers, json={
            "complaint_ids": [cid], "problem_statement": "p", "risk": "r", "effectiveness_criteria": "c",
            "effectiveness_due_on": "2027-06-30"}),
        "recall": client.post("/api/v1/recalls", headers=headers, json={
            "complaint_ids": [cid], "batch_nos": ["B2602"], "level": "II", "depth": "retail", "reason": "r",
            "safety_hazard": False, "mock": True}),
        "access": client.post("/api/v1/access-requests", headers=headers, json={
            "kind": "deactivate_user", "user_id": erp["id"], "reason": "r"}),
    }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 403)
    # Even past the pages (a service called directly), a signature step refuses it: 403, nothing stored.
    with pytest.raises(PermissionDeniedError):
        approvals.sign_step(uow_factory(), cid, {"step": "qp_acknowledgement", "username": "erp.feed",
                                                 "password": erp["password"]},
                            actor=Actor(erp["id"], frozenset({Role.qp})))
    assert api.get("auditor", f"/complaints/{cid}").get_json() == record
    assert {t: scalar(app, f"SELECT count(*) FROM {t}") for t in counts} == counts
    written = [action for _, action in trail(app, since=before)]
    assert "user.login_refused_service" in written and "signature.refused" in written
    from audit.actions import ActionKind, action_spec

    assert all(action_spec(a).kind is ActionKind.security for a in written), written


@pytest.mark.req("SEC-01", "SEC-04")
def test_the_administrator_requests_a_service_account_which_holds_no_role_and_is_listed(app, api, make_user,
                                                                                        uow_factory, client):
    admin_id, admin_password = make_user("root.admin", "admin")
    admin = token_of(client, "root.admin", admin_password)
    with_role = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "create_user", "account_type": "service", "username": "mes.feed", "printed_name": "MES feed",
        "roles": ["qa_officer"], "reason": "MES interface"})
    assert with_role.status_code == 400 and "roles" in with_role.get_json()["error"]["fields"]
    verified = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "create_user", "account_type": "service", "username": "mes.feed", "printed_name": "MES feed",
        "identity_verified": True, "reason": "MES interface"})
    assert verified.status_code == 400 and "identity_verified" in verified.get_json()["error"]["fields"]
    requested = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "create_user", "account_type": "service", "username": "mes.feed", "printed_name": "MES feed",
        "reason": "MES interface, change control CC-2026-031"})
    assert requested.status_code == 201, requested.get_json()
    decided = api.ok("qa_head", f"/access-requests/{requested.get_json()['id']}/decision",
                     api.signed("qa_head", {"decision": "approve"}))
    service_id = decided["user_id"]
    assert scalar(app, "SELECT account_type FROM users WHERE id = :id", id=service_id) == "service"
    (created,) = [e for e in rows(app, "SELECT canonical FROM audit_events WHERE action = 'user.created' "
                                       "AND entity_id = :id", id=str(service_id))]
    assert json.loads(created.canonical)["changes"]["account_type"] == [None, "service"]
    # No role is ever granted to it, no identity verification recorded.
    role_change = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "change_roles", "user_id": service_id, "roles": ["qa_officer"], "reason": "r"})
    assert role_change.status_code == 400 and "roles" in role_change.get_json()["error"]["fields"]
    with pytest.raises(Exception, match="service account"):
        accounts.record_identity_verification(uow_factory(), actor_id=admin_id, user_id=service_id, reason="r")
    # The type never changes, not even in the database.
    with pytest.raises(sa.exc.DatabaseError):
        with app.extensions["gmp_engine"].begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT set_config('gmp.tx', 'test-setup', true)"))
            connection.execute(sa.text("UPDATE users SET account_type = 'person' WHERE id = :id"), {"id": service_id})
    # Shown in the users list (page and CSV) and the periodic review.
    web = app.test_client()
    login(web, "root.admin", admin_password)
    listing = web.get("/admin/users").get_data(as_text=True)
    assert re.search(r"mes\.feed</a> <span class=\"tag service\">", listing)
    exported = web.get("/admin/users.csv").get_data(as_text=True)
    assert "mes.feed,MES feed,,active" in exported and exported.splitlines()[0].endswith(",account_type")
    from datetime import date

    from gmp_complaints.services.periodic_review import periodic_review

    report = periodic_review(uow_factory(), date_from=date(2020, 1, 1), date_to=date(2099, 12, 31))
    assert report["user_access"]["service_accounts"] == ["mes.feed"]
    assert "mes.feed" not in report["user_access"]["without_identity_verification"]


@pytest.mark.req("SEC-01", "SEC-04")
def test_gmp_create_user_makes_a_service_account_recorded_as_approved_at_the_command_line(app):
    env = _env_of(app)
    refused = gmp(env, "create-user", "erp.bad", "--name", "ERP feed", "--service", "--role", "qa_officer")
    assert refused.returncode != 0 and "service account holds no role" in refused.stderr
    done = gmp(env, "create-user", "erp.feed", "--name", "ERP master-data feed", "--service")
    assert done.returncode == 0, done.stderr
    assert "service account erp.feed" in done.stdout and "Temporary password" in done.stdout
    person = gmp(env, "create-user", "root.admin", "--name", "Sun Qiang", "--role", "admin")
    assert person.returncode == 0, person.stderr
    assert gmp(env, "create-user", "no.role", "--name", "No Role").returncode != 0  # a person needs a role
    events = {r.entity_id: json.loads(r.canonical) for r in rows(
        app, "SELECT entity_id, canonical FROM audit_events WHERE action = 'user.created'")}
    accounts_made = {r.username: r for r in rows(app, "SELECT id, username, account_type FROM users")}
    assert accounts_made["erp.feed"].account_type == "service" and accounts_made["root.admin"].account_type == "person"
    for username in ("erp.feed", "root.admin"):
        made = events[str(accounts_made[username].id)]
        assert made["changes"]["approval"] == [None, "approved at creation by the operator at the server's command line"]
        assert made["actor"]["name"].startswith("gmp create-user (os user ")


# --- SEC-04: changes of access need a second person's approval ------------------------------------------------------


def _admin(make_user, client):
    admin_id, password = make_user("root.admin", "admin", printed_name="孙强 Sun Qiang")
    return admin_id, token_of(client, "root.admin", password)


@pytest.mark.req("SEC-04")
def test_a_requested_change_of_access_is_recorded_and_takes_effect_only_on_the_head_of_qualitys_approval(
        app, api, make_user, client):
    admin_id, admin = _admin(make_user, client)
    target_id, target_password = make_user("temp.worker", "investigator")
    target = token_of(client, "temp.worker", target_password)
    asked = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "change_roles", "user_id": target_id, "roles": ["qa_officer"], "reason": "转岗 CC-2026-040"})
    assert asked.status_code == 201, asked.get_json()
    request = asked.get_json()
    assert request["status"] == "pending" and request["requested_by"] == {"id": admin_id, "name": "孙强 Sun Qiang"}
    assert request["reason"] == "转岗 CC-2026-040" and request["requested_at"].endswith("+08:00")
    assert request["roles_before"] == ["investigator"] and request["roles"] == ["qa_officer"]
    # Not effective yet.
    assert client.get("/api/v1/me", headers=bearer(target)).get_json()["roles"] == ["investigator"]
    # One pending change per account: a second waits for the first.
    second = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "deactivate_user", "user_id": target_id, "reason": "left"})
    assert second.status_code == 409
    # The approver is told, and sees it on the dashboard and the access-requests page.
    notices = api.get("qa_head", "/notices").get_json()["notices"]
    assert [(n["kind"], n["record_label"]) for n in notices] == [("access_change_to_approve", "temp.worker")]
    head = app.test_client()
    login(head, *api.credentials["qa_head"])
    assert "temp.worker" in head.get("/").get_data(as_text=True).split('id="access-waiting"')[1]
    assert f'id="decide-{request["id"]}"' in head.get("/access-requests").get_data(as_text=True)
    listed = client.get("/api/v1/access-requests?status=pending", headers=bearer(admin)).get_json()
    assert [r["id"] for r in listed["pending"]] == [request["id"]] and listed["decided"] == []
    # Approved by the head of quality with the password: in effect at once, attributed, naming the request.
    decided = api.ok("qa_head", f"/access-requests/{request['id']}/decision",
                     api.signed("qa_head", {"decision": "approve", "comment": "同意"}))
    assert decided["status"] == "approved" and decided["decided_by"]["name"] == "Liu.Yang Tester"
    assert client.get("/api/v1/me", headers=bearer(target)).get_json()["roles"] == ["qa_officer"]
    events = api.get("auditor", f"/audit/events?entity=access_request:{request['id']}").get_json()["events"]
    assert [e["action"] for e in events] == ["access_request.requested", "access_request.approved"]
    assert events[0]["actor"]["id"] == admin_id and events[0]["reason"] == "转岗 CC-2026-040"
    assert events[1]["actor"]["name"] == "Liu.Yang Tester" and events[1]["changes"]["status"] == ["pending", "approved"]
    again = api.post("qa_head", f"/access-requests/{request['id']}/decision", api.signed("qa_head", {"decision": "reject",
                                                                                                   "comment": "no"}))
    assert again.status_code == 409


@pytest.mark.req("SEC-04")
def test_a_new_account_exists_only_after_the_approval_and_a_rejection_changes_nothing(app, api, make_user, client):
    admin_id, admin = _admin(make_user, client)
    asked = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "create_user", "username": "chen.ming", "printed_name": "陈明 Chen Ming", "roles": ["investigator"],
        "email": "cm@example.cn", "identity_verified": True, "reason": "New QC analyst, HR-2026-12"})
    assert asked.status_code == 201
    temporary = asked.get_json()["temporary_password"]
    assert scalar(app, "SELECT count(*) FROM users WHERE username = 'chen.ming'") == 0
    assert client.post("/api/v1/auth/token", json={"username": "chen.ming", "password": temporary}).status_code == 401
    # A rejection needs its reason, and then nothing is created.
    path = f"/access-requests/{asked.get_json()['id']}/decision"
    no_reason = api.post("qa_head", path, api.signed("qa_head", {"decision": "reject"}))
    assert no_reason.status_code == 400 and "comment" in no_reason.get_json()["error"]["fields"]
    rejected = api.ok("qa_head", path, api.signed("qa_head", {"decision": "reject", "comment": "Training not done"}))
    assert rejected["status"] == "rejected"
    assert scalar(app, "SELECT count(*) FROM users WHERE username = 'chen.ming'") == 0
    assert scalar(app, "SELECT count(*) FROM access_requests WHERE password_hash IS NOT NULL") == 0
    # Asked again and approved: the account exists with the handed-over temporary password.
    asked = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "create_user", "username": "chen.ming", "printed_name": "陈明 Chen Ming", "roles": ["investigator"],
        "identity_verified": True, "reason": "New QC analyst, training done"}).get_json()
    approved = api.ok("qa_head", f"/access-requests/{asked['id']}/decision", api.signed("qa_head", {"decision": "approve"}))
    user = rows(app, "SELECT id, created_by_id, identity_verified_by_id, password_is_temporary FROM users "
                     "WHERE username = 'chen.ming'")[0]
    assert approved["user_id"] == user.id and user.created_by_id == admin_id
    assert user.identity_verified_by_id == admin_id and user.password_is_temporary
    response = client.post("/api/v1/auth/token", json={"username": "chen.ming", "password": asked["temporary_password"]})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "password_change_required"


@pytest.mark.req("SEC-04")
def test_a_refused_decision_changes_nothing(app, api, make_user, client, uow_factory):
    admin_id, admin = _admin(make_user, client)
    head_id = scalar(app, "SELECT id FROM users WHERE username = 'liu.yang'")
    own = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "change_roles", "user_id": head_id, "roles": ["qa_head", "qp"], "reason": "Also QP"}).get_json()
    target_id, _ = make_user("temp.worker", "investigator")
    other = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "deactivate_user", "user_id": target_id, "reason": "Left"}).get_json()
    # The head of quality is not told of a change of their own access.
    assert api.get("qa_head", "/notices").get_json()["notices"][0]["subject_id"] == other["id"]
    before = last_index(app)
    state = (rows(app, "SELECT id, status, decided_by_id FROM access_requests ORDER BY id"),
             rows(app, "SELECT user_id, role FROM user_roles ORDER BY user_id, role"),
             rows(app, "SELECT id, is_active FROM users ORDER BY id"))
    answers = [
        # their own access: another head of quality decides it
        api.post("qa_head", f"/access-requests/{own['id']}/decision", api.signed("qa_head", {"decision": "approve"})),
        # a wrong password, another's user name
        api.post("qa_head", f"/access-requests/{other['id']}/decision",
                 {"decision": "approve", "username": "liu.yang", "password": "wrong-password-9"}),
        api.post("qa_head", f"/access-requests/{other['id']}/decision",
                 {"decision": "approve", "username": "li.na", "password": STRONG_PASSWORD}),
        # the requesting administrator, and another role
        client.post(f"/api/v1/access-requests/{other['id']}/decision", headers=bearer(admin),
                    json={"decision": "approve", "username": "root.admin", "password": STRONG_PASSWORD}),
        api.post("qa_officer", f"/access-requests/{other['id']}/decision", api.signed("qa_officer",
                                                                                     {"decision": "approve"})),
    ]
    assert [r.status_code for r in answers] == [403, 401, 403, 403, 403]
    assert (rows(app, "SELECT id, status, decided_by_id FROM access_requests ORDER BY id"),
            rows(app, "SELECT user_id, role FROM user_roles ORDER BY user_id, role"),
            rows(app, "SELECT id, is_active FROM users ORDER BY id")) == state
    from audit.actions import ActionKind, action_spec

    written = [a for _, a in trail(app, since=before)]
    assert written and all(action_spec(a).kind is ActionKind.security for a in written), written
    assert "access_request.decision_refused" in written and "user.login_failed" in written
    # Even through the service, the requester never decides their own request.
    with pytest.raises(PermissionDeniedError):
        access_requests.decide_access_request(uow_factory(), other["id"], {
            "decision": "approve", "username": "root.admin", "password": STRONG_PASSWORD},
            actor=Actor(admin_id, frozenset({Role.admin})))
    with pytest.raises(ValidationError):
        access_requests.request_access_change(uow_factory(), {"kind": "change_roles", "user_id": target_id},
                                              actor_id=admin_id)


@pytest.mark.req("SEC-04")
def test_an_approval_that_no_longer_fits_is_refused_and_the_request_can_be_rejected(app, api, make_user, client):
    _, admin = _admin(make_user, client)
    asked = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "create_user", "username": "zhou.li", "printed_name": "周丽 Zhou Li", "roles": ["intake"],
        "reason": "New sales colleague"}).get_json()
    # Meanwhile the operator made the account at the server.
    assert gmp(_env_of(app), "create-user", "zhou.li", "--name", "周丽 Zhou Li", "--role", "intake").returncode == 0
    path = f"/access-requests/{asked['id']}/decision"
    assert api.post("qa_head", path, api.signed("qa_head", {"decision": "approve"})).status_code == 409
    assert scalar(app, "SELECT status FROM access_requests WHERE id = :id", id=asked["id"]) == "pending"
    assert api.ok("qa_head", path, api.signed("qa_head", {"decision": "reject", "comment": "made at the server"})
                  )["status"] == "rejected"


@pytest.mark.req("SEC-04")
def test_the_database_keeps_requests_and_their_decisions(app, api, make_user, client):
    _, admin = _admin(make_user, client)
    target_id, _ = make_user("temp.worker", "investigator")
    request = client.post("/api/v1/access-requests", headers=bearer(admin), json={
        "kind": "deactivate_user", "user_id": target_id, "reason": "Left"}).get_json()
    api.ok("qa_head", f"/access-requests/{request['id']}/decision", api.signed("qa_head", {"decision": "approve"}))
    for statement in ("UPDATE access_requests SET status = 'rejected' WHERE id = :id",
                      "DELETE FROM access_requests WHERE id = :id"):
        with pytest.raises(sa.exc.DatabaseError):
            with app.extensions["gmp_engine"].begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(sa.text("SELECT set_config('gmp.tx', 'test-setup', true)"))
                connection.execute(sa.text(statement), {"id": request["id"]})
    assert scalar(app, "SELECT status FROM access_requests WHERE id = :id", id=request["id"]) == "approved"


@pytest.mark.req("SEC-04")
def test_the_head_of_quality_decides_on_the_access_requests_page(app, api, make_user, client):
    admin_id, _ = make_user("root.admin", "admin")
    admin = app.test_client()
    login(admin, "root.admin", STRONG_PASSWORD)
    target_id, _ = make_user("temp.worker", "investigator")
    token = csrf_token(admin, f"/admin/users/{target_id}")
    assert admin.post(f"/admin/users/{target_id}/roles", data={
        "csrf_token": token, "roles-roles": ["qa_officer"], "roles-reason": "转岗"}).status_code == 302
    assert "转岗" in admin.get("/admin/users").get_data(as_text=True).split('id="pending-requests"')[1]
    request_id = scalar(app, "SELECT id FROM access_requests WHERE user_id = :id", id=target_id)
    head = app.test_client()
    login(head, *api.credentials["qa_head"])
    token = csrf_token(head, "/access-requests")
    wrong = head.post(f"/access-requests/{request_id}/decision", data={
        "csrf_token": token, "decision": "approve", "username": "liu.yang", "password": "wrong-password-0"})
    assert wrong.status_code == 401 and f'id="password-{request_id}-error"' in wrong.get_data(as_text=True)
    assert scalar(app, "SELECT count(*) FROM user_roles WHERE user_id = :id AND role = 'qa_officer'", id=target_id) == 0
    done = head.post(f"/access-requests/{request_id}/decision", data={
        "csrf_token": token, "decision": "approve", "username": "liu.yang", "password": api.credentials["qa_head"][1]})
    assert done.status_code == 302
    assert scalar(app, "SELECT role FROM user_roles WHERE user_id = :id", id=target_id) == "qa_officer"
    page = admin.get(f"/admin/users/{target_id}").get_data(as_text=True)
    assert 'id="decided-requests"' in page and "Liu.Yang Tester" in page.split('id="decided-requests"')[1]
    assert admin_id

"""Reading the audit trail: the API of DESIGN §6 and the reviewer's pages, with role-based visibility."""
import csv
import io
import re

import pytest

from tests.conftest import login


def token(client, username, password):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password}).get_json()["token"]


@pytest.mark.req("AT-02", "AT-06")
def test_the_api_returns_a_records_events_in_the_design_shape(client, make_user, approved_change):
    admin_id, admin_password = make_user("root.admin", "admin")
    user_id, _ = make_user("zhang.wei", "investigator")
    decided = approved_change(admin_id, kind="change_roles", user_id=user_id, roles=["qa_officer"], reason="Moved")
    _, auditor_password = make_user("zhao.lei", "auditor")
    response = client.get(f"/api/v1/audit/events?entity=user:{user_id}",
                          headers={"Authorization": f"Bearer {token(client, 'zhao.lei', auditor_password)}"})
    assert response.status_code == 200
    events = response.get_json()["events"]
    assert [e["action"] for e in events][:3] == ["user.created", "user.password_changed", "user.roles_changed"]
    changed = events[2]
    assert set(changed) == {"index", "occurred_at", "actor", "action", "entity", "changes", "reason"}
    assert changed["entity"] == f"user:{user_id}" and changed["reason"] == "Moved"
    assert changed["actor"] == {"id": decided["decided_by"]["id"], "name": "Access Approver"}
    assert changed["changes"]["requested_by_id"] == [None, admin_id]
    assert changed["changes"]["roles"] == [["investigator"], ["qa_officer"]]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+08:00$", changed["occurred_at"])
    assert [e["index"] for e in events] == sorted(e["index"] for e in events)


def test_each_role_sees_only_the_audit_trails_it_may_see(client, make_user):
    user_id, _ = make_user("zhang.wei", "investigator")
    _, qa_password = make_user("li.na", "qa_officer")
    _, admin_password = make_user("root.admin", "admin")
    _, intake_password = make_user("wang.fang", "intake")
    url = f"/api/v1/audit/events?entity=user:{user_id}"
    as_qa = client.get(url, headers={"Authorization": f"Bearer {token(client, 'li.na', qa_password)}"})
    assert as_qa.status_code == 200 and as_qa.get_json()["events"] == []  # account events are not QA's business
    as_admin = client.get(url, headers={"Authorization": f"Bearer {token(client, 'root.admin', admin_password)}"})
    assert len(as_admin.get_json()["events"]) >= 2
    as_intake = client.get(url, headers={"Authorization": f"Bearer {token(client, 'wang.fang', intake_password)}"})
    assert as_intake.status_code == 403


def test_a_malformed_entity_filter_answers_400_naming_the_field(client, make_user):
    _, password = make_user("zhao.lei", "auditor")
    response = client.get("/api/v1/audit/events?entity=user%3B1=1",
                          headers={"Authorization": f"Bearer {token(client, 'zhao.lei', password)}"})
    assert response.status_code == 400 and "entity" in response.get_json()["error"]["fields"]


@pytest.mark.req("AT-06")
def test_the_audit_page_speaks_plain_language_and_filters(client, make_user, approved_change):
    admin_id, _ = make_user("root.admin", "admin")
    user_id, _ = make_user("zhang.wei", "investigator")
    approved_change(admin_id, kind="deactivate_user", user_id=user_id, reason="Left the company")
    _, password = make_user("zhao.lei", "auditor")
    login(client, "zhao.lei", password)
    client.post("/language", data={"lang": "en", "csrf_token": _csrf(client)})
    page = client.get(f"/audit/?entity=user:{user_id}&action=user.deactivated").get_data(as_text=True)
    assert "User account deactivated" in page and "Left the company" in page
    assert "users" not in page.split('id="audit-events"')[1]  # no table names
    assert "is_active" not in page  # no column names: the field label is shown
    assert re.search(r"\+08:00", page)
    rows = page.split('id="audit-events"')[1].count("<tr>") - 1
    assert rows == 1
    bad = client.get("/audit/?from=yesterday").get_data(as_text=True)
    assert 'class="field has-error"' in bad


def _csrf(client):
    from tests.conftest import csrf_token

    return csrf_token(client, "/")


@pytest.mark.req("AT-06")
def test_the_csv_export_holds_the_same_events_and_is_itself_audited(app, client, make_user, approved_change):
    import sqlalchemy as sa

    admin_id, _ = make_user("root.admin", "admin")
    user_id, _ = make_user("zhang.wei", "investigator")
    approved_change(admin_id, kind="change_roles", user_id=user_id, roles=["qa_officer"], reason="Moved")
    _, password = make_user("zhao.lei", "auditor")
    login(client, "zhao.lei", password)
    response = client.get(f"/audit/events.csv?entity=user:{user_id}")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    (roles,) = [r for r in rows if r["原因"] == "Moved" and r["字段"] == "角色"]  # the header in the page language too
    assert (roles["字段"], roles["原值"], roles["新值"]) == ("角色", "调查人员", "QA专员（投诉管理员）")
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text(
            "SELECT count(*) FROM audit_events WHERE action = 'audit.csv_exported'")).scalar_one() == 1


@pytest.mark.req("AT-03")
def test_the_page_downloads_a_verifiable_bundle_of_the_filtered_events(client, make_user):
    from audit.verify import verify_bundle

    user_id, _ = make_user("zhang.wei", "investigator")
    _, password = make_user("zhao.lei", "auditor")
    login(client, "zhao.lei", password)
    response = client.get(f"/audit/export.zip?entity=user:{user_id}")
    assert response.mimetype == "application/zip"
    report = verify_bundle(response.data)
    assert report.ok and report.scope == "partial" and report.events >= 2


"""User administration pages (Annex 11 §12.3)."""
import csv
import io
import re

import pytest
import sqlalchemy as sa

from tests.conftest import STRONG_PASSWORD, csrf_token, login


@pytest.fixture
def admin_client(client, make_user):
    _, password = make_user("root.admin", "admin")
    login(client, "root.admin", password)
    return client


def _user_id(app, username):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text("SELECT id FROM users WHERE username = :u"), {"u": username}).scalar_one()


def _approve(app, make_user, username):
    """The head of quality approves, on the access-requests page with the password, the change waiting for
    ``username`` (SEC-04)."""
    with app.extensions["gmp_engine"].connect() as connection:
        request_id = connection.execute(sa.text(
            "SELECT id FROM access_requests WHERE username = :u AND status = 'pending'"), {"u": username}).scalar_one()
        head_exists = connection.execute(sa.text("SELECT count(*) FROM users WHERE username = 'liu.yang'")).scalar_one()
    if not head_exists:
        make_user("liu.yang", "qa_head", printed_name="刘洋 Liu Yang")
    head = app.test_client()
    login(head, "liu.yang", STRONG_PASSWORD)
    token = csrf_token(head, "/access-requests")
    response = head.post(f"/access-requests/{request_id}/decision", data={
        "csrf_token": token, "decision": "approve", "username": "liu.yang", "password": STRONG_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.req("SIG-07", "SEC-05", "SEC-04")
def test_admin_creates_a_user_who_must_change_the_issued_password(app, admin_client, make_user):
    token = csrf_token(admin_client, "/admin/users/new")
    page = admin_client.post("/admin/users/new", data={
        "csrf_token": token, "username": "Chen.Jing", "printed_name": "陈静 Chen Jing",
        "roles": ["qp"], "identity_verified": "y", "reason": "New QP, HR ticket 2026-88"}).get_data(as_text=True)
    temporary = re.search(r'id="temporary-password">([^<]+)<', page).group(1)
    assert 'id="request-pending"' in page
    # Requested, not yet effective: the account does not exist until the head of quality approves.
    assert login(app.test_client(), "chen.jing", temporary).status_code == 200  # the log-in form again
    assert "chen.jing" in admin_client.get("/admin/users").get_data(as_text=True).split('id="users"')[0]
    _approve(app, make_user, "chen.jing")

    user = app.test_client()
    response = login(user, "chen.jing", temporary)
    assert response.headers["Location"].endswith("/password")
    assert user.get("/").headers["Location"].endswith("/password")


def test_a_rejected_new_user_form_keeps_the_entered_values_and_names_the_field(app, admin_client):
    token = csrf_token(admin_client, "/admin/users/new")
    response = admin_client.post("/admin/users/new", data={
        "csrf_token": token, "username": "zhao.lei", "printed_name": "赵磊 Zhao Lei", "roles": ["auditor", "qa_head"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="zhao.lei"' in page and 'value="赵磊 Zhao Lei"' in page
    assert re.search(r'<fieldset class="field has-error">', page)
    assert 'id="reason-error"' in page  # every problem named at once: the reason for the request is missing too
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM users WHERE username = 'zhao.lei'")).scalar_one() == 0
        assert connection.execute(sa.text("SELECT count(*) FROM access_requests")).scalar_one() == 0


@pytest.mark.req("SIG-04")
def test_a_user_name_is_never_reused_even_after_deactivation(app, admin_client, make_user):
    user_id, _ = make_user("wang.fang", "intake")
    token = csrf_token(admin_client, f"/admin/users/{user_id}")
    admin_client.post(f"/admin/users/{user_id}/deactivate", data={"csrf_token": token, "deactivate-reason": "Left"})
    _approve(app, make_user, "wang.fang")
    token = csrf_token(admin_client, "/admin/users/new")
    page = admin_client.post("/admin/users/new", data={
        "csrf_token": token, "username": "wang.fang", "printed_name": "Another Wang Fang",
        "roles": ["intake"], "reason": "New sales colleague"}).get_data(as_text=True)
    assert 'id="temporary-password"' not in page
    assert re.search(r'id="username-error"', page)
    with app.extensions["gmp_engine"].connect() as connection:
        names = connection.execute(sa.text("SELECT printed_name FROM users WHERE username = 'wang.fang'")).scalars().all()
    assert names == ["Wang.Fang Tester"]


def _roles(app, user_id):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text("SELECT role FROM user_roles WHERE user_id = :id ORDER BY role"),
                                  {"id": user_id}).scalars().all()


@pytest.mark.req("SEC-04")
def test_role_change_needs_a_reason_and_takes_effect_on_the_head_of_qualitys_approval(app, admin_client, make_user):
    user_id, _ = make_user("zhang.wei", "investigator")
    token = csrf_token(admin_client, f"/admin/users/{user_id}")
    refused = admin_client.post(f"/admin/users/{user_id}/roles", data={
        "csrf_token": token, "roles-roles": ["investigator", "qa_officer"], "roles-reason": ""})
    assert refused.status_code == 400
    done = admin_client.post(f"/admin/users/{user_id}/roles", data={
        "csrf_token": token, "roles-roles": ["investigator", "qa_officer"], "roles-reason": "Moved to QA, CC-2026-017"})
    assert done.status_code == 302
    assert _roles(app, user_id) == ["investigator"]  # requested, not yet effective
    page = admin_client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert 'id="pending-requests"' in page and "Moved to QA, CC-2026-017" in page
    _approve(app, make_user, "zhang.wei")
    assert _roles(app, user_id) == ["investigator", "qa_officer"]


@pytest.mark.req("SEC-08")
def test_deactivation_ends_the_users_session_at_once(app, admin_client, make_user):
    user_id, password = make_user("zhang.wei", "investigator")
    other = app.test_client()
    login(other, "zhang.wei", password)
    assert other.get("/").status_code == 200
    token = csrf_token(admin_client, f"/admin/users/{user_id}")
    response = admin_client.post(f"/admin/users/{user_id}/deactivate", data={
        "csrf_token": token, "deactivate-reason": "Left the company"})
    assert response.status_code == 302
    assert other.get("/").status_code == 200  # requested: nothing changes before the approval
    _approve(app, make_user, "zhang.wei")
    assert other.get("/").status_code == 302
    assert login(app.test_client(), "zhang.wei", password).status_code == 200  # refused: the form again


def test_an_admin_cannot_deactivate_themself(app, admin_client):
    admin_id = _user_id(app, "root.admin")
    token = csrf_token(admin_client, f"/admin/users/{admin_id}")
    response = admin_client.post(f"/admin/users/{admin_id}/deactivate", data={
        "csrf_token": token, "deactivate-reason": "test"})
    assert response.status_code == 409


@pytest.mark.req("SEC-05")
def test_admin_unlocks_a_locked_account(app, admin_client, make_user):
    user_id, password = make_user("zhang.wei", "investigator")
    for _ in range(5):
        login(app.test_client(), "zhang.wei", "wrong-password-x")
    assert login(app.test_client(), "zhang.wei", password).status_code == 423
    assert 'class="status status-bad"' in admin_client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    token = csrf_token(admin_client, f"/admin/users/{user_id}")
    response = admin_client.post(f"/admin/users/{user_id}/unlock", data={
        "csrf_token": token, "unlock-reason": "Identity confirmed by phone"})
    assert response.status_code == 302
    assert login(app.test_client(), "zhang.wei", password).status_code == 302


@pytest.mark.req("SIG-07")
def test_a_reset_issues_a_one_time_password_and_ends_sessions(app, admin_client, make_user):
    user_id, password = make_user("zhang.wei", "investigator")
    other = app.test_client()
    login(other, "zhang.wei", password)
    token = csrf_token(admin_client, f"/admin/users/{user_id}")
    page = admin_client.post(f"/admin/users/{user_id}/reset-password", data={
        "csrf_token": token, "reset-reason": "Forgotten password, ticket 4711"}).get_data(as_text=True)
    temporary = re.search(r'id="temporary-password">([^<]+)<', page).group(1)
    assert other.get("/").status_code == 302
    assert login(app.test_client(), "zhang.wei", password).status_code == 200  # old password refused
    fresh = app.test_client()
    assert login(fresh, "zhang.wei", temporary).headers["Location"].endswith("/password")


@pytest.mark.req("SIG-05")
def test_admin_records_identity_verification(app, admin_client, make_user):
    user_id, _ = make_user("liu.yang", "qa_head")
    token = csrf_token(admin_client, f"/admin/users/{user_id}")
    response = admin_client.post(f"/admin/users/{user_id}/verify-identity", data={
        "csrf_token": token, "verify-reason": "Passport seen"})
    assert response.status_code == 302
    with app.extensions["gmp_engine"].connect() as connection:
        verified_by = connection.execute(sa.text("SELECT identity_verified_by_id FROM users WHERE id = :id"),
                                         {"id": user_id}).scalar_one()
    assert verified_by == _user_id(app, "root.admin")


@pytest.mark.req("SEC-02", "TR-05")
def test_the_authorised_users_list_exports_to_csv(admin_client, make_user):
    make_user("chen.jing", "qp", printed_name="陈静 Chen Jing")
    response = admin_client.get("/admin/users.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    by_name = {row["username"]: row for row in rows}
    assert by_name["chen.jing"]["roles"] == "qp"
    assert by_name["chen.jing"]["printed_name"] == "陈静 Chen Jing"
    assert by_name["root.admin"]["status"] == "active"

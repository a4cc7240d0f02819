"""Log-in pages, forced password change, lockout, idle lock, CSRF, headers, language and times."""
import re

import pytest

from tests.conftest import STRONG_PASSWORD, csrf_token, execute_sql, login


def _sql_minutes_ago(app, column: str, minutes: int) -> str:
    if app.extensions["gmp_engine"].dialect.name == "postgresql":
        return f"UPDATE user_sessions SET {column} = {column} - INTERVAL '{minutes} minutes'"
    return f"UPDATE user_sessions SET {column} = datetime({column}, '-{minutes} minutes')"


@pytest.mark.req("SEC-05")
def test_first_log_in_with_a_temporary_password_forces_a_change(client, make_user):
    make_user("li.na", "qa_officer", temporary=True)
    response = login(client, "li.na", "temporary-password-0001")
    assert response.status_code == 302 and response.headers["Location"].endswith("/password")
    # Every other page sends the user back to the password page.
    assert client.get("/").headers["Location"].endswith("/password")
    page = client.get("/password").get_data(as_text=True)
    assert 'id="forced-change"' in page

    token = csrf_token(client, "/password")
    response = client.post("/password", data={
        "csrf_token": token, "old_password": "temporary-password-0001",
        "new_password": STRONG_PASSWORD, "confirm_password": STRONG_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    assert client.get("/").status_code == 200


@pytest.mark.req("SEC-05")
def test_a_rejected_new_password_is_explained_next_to_the_field(client, make_user):
    make_user("li.na", "qa_officer", temporary=True)
    login(client, "li.na", "temporary-password-0001")
    token = csrf_token(client, "/password")
    page = client.post("/password", data={
        "csrf_token": token, "old_password": "temporary-password-0001",
        "new_password": "short", "confirm_password": "short"}).get_data(as_text=True)
    assert re.search(r'id="new_password-error">[^<]*12', page)
    assert 'value="short"' not in page  # passwords are never echoed back


def test_unknown_user_and_wrong_password_read_the_same_on_the_page(client, make_user):
    make_user("li.na", "qa_officer")
    unknown = login(client, "nobody", "some-password-123").get_data(as_text=True)
    wrong = login(client, "li.na", "some-password-123").get_data(as_text=True)
    message = lambda html: re.search(r'class="form-error"[^>]*>([^<]+)<', html).group(1)
    assert message(unknown) == message(wrong)


@pytest.mark.req("SEC-05")
def test_the_page_says_when_the_account_is_locked(client, make_user):
    make_user("li.na", "qa_officer")
    for _ in range(4):
        login(client, "li.na", "wrong-password-x")
    response = login(client, "li.na", "wrong-password-x")
    assert response.status_code == 423
    assert 'id="locked-hint"' in response.get_data(as_text=True)
    response = login(client, "li.na", STRONG_PASSWORD)
    assert response.status_code == 423


@pytest.mark.req("SEC-07")
def test_an_idle_session_locks_and_unlocks_only_with_the_password(app, client, make_user):
    _, password = make_user("li.na", "qa_officer")
    login(client, "li.na", password)
    assert client.get("/").status_code == 200
    execute_sql(app, _sql_minutes_ago(app, "last_seen_at", 16))
    response = client.get("/")
    assert response.status_code == 302 and "/lock" in response.headers["Location"]
    assert client.get("/admin/users").status_code == 302  # still locked, whatever the page
    token = csrf_token(client, "/lock")
    wrong = client.post("/lock", data={"csrf_token": token, "password": "wrong-password-x"})
    assert wrong.status_code == 200 and "/lock" not in wrong.headers.get("Location", "")
    assert client.get("/").status_code == 302
    unlocked = client.post("/lock?next=/", data={"csrf_token": token, "password": password})
    assert unlocked.status_code == 302 and unlocked.headers["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.req("SEC-07")
def test_activity_within_the_idle_limit_keeps_the_session_open(app, client, make_user):
    _, password = make_user("li.na", "qa_officer")
    login(client, "li.na", password)
    execute_sql(app, _sql_minutes_ago(app, "last_seen_at", 14))
    assert client.get("/").status_code == 200
    execute_sql(app, _sql_minutes_ago(app, "last_seen_at", 2))  # 14 min ago became 'just now' at that request
    assert client.get("/").status_code == 200


def test_log_in_starts_a_new_session_and_log_out_ends_it(client, make_user):
    _, password = make_user("li.na", "qa_officer")
    client.get("/login")
    before = client.get_cookie("gmp_session").value
    login(client, "li.na", password)
    after = client.get_cookie("gmp_session").value
    assert before != after
    stolen_cookie = after
    token = csrf_token(client, "/")
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/").status_code == 302
    # Replaying the old cookie does not bring the session back: it ended on the server.
    client.set_cookie("gmp_session", stolen_cookie)
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    _, password = make_user("li.na", "qa_officer")
    response = login(client, "li.na", password)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forms_refuse_posts_without_the_csrf_token(client, make_user):
    _, password = make_user("li.na", "qa_officer")
    response = client.post("/login", data={"username": "li.na", "password": password})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # not logged in


@pytest.mark.parametrize("path", ["/login", "/", "/api/v1/openapi.json"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script(client, make_user):
    _, password = make_user("root.admin", "admin")
    login(client, "root.admin", password)
    for path in ("/login", "/", "/admin/users", "/admin/users/new", "/password"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"<[^>]+\son[a-z]+=", html), path  # no inline event handlers either


def test_after_log_in_only_local_next_targets_are_followed(client, make_user):
    _, password = make_user("li.na", "qa_officer")
    token = csrf_token(client, "/login")
    response = client.post("/login?next=https://evil.example/", data={
        "csrf_token": token, "username": "li.na", "password": password})
    assert response.headers["Location"] == "/"


def test_the_default_language_is_chinese_and_english_is_one_click_away(client, make_user):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page and 'lang="zh-CN"' in page
    token = csrf_token(client, "/login")
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and 'lang="en"' in page and "登录" not in page.replace("中文", "")


def test_the_language_choice_survives_log_in(client, make_user):
    _, password = make_user("li.na", "qa_officer")
    token = csrf_token(client, "/login")
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/login"})
    login(client, "li.na", password)
    assert "Dashboard" in client.get("/").get_data(as_text=True)


def test_times_are_shown_in_the_site_time_zone_with_the_offset(client, make_user):
    _, password = make_user("li.na", "qa_officer")
    login(client, "li.na", password)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00", page)


@pytest.mark.req("SIG-05")
def test_a_user_accepts_the_esignature_statement_in_the_page(client, make_user):
    _, password = make_user("liu.yang", "qa_head", identity_verified=True)
    login(client, "liu.yang", password)
    page = client.get("/account/esignature-statement").get_data(as_text=True)
    assert "电子签名" in page
    token = csrf_token(client, "/account/esignature-statement")
    response = client.post("/account/esignature-statement", data={"csrf_token": token, "password": password})
    assert response.status_code == 302
    assert "esig-status" in client.get("/").get_data(as_text=True)
    assert "11.100" in client.get("/account/esignature-statement").get_data(as_text=True)

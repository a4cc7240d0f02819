"""Account hardening (issue 19) on SQLite and PostgreSQL: user names can be neither discovered nor locked from
outside; an unlock revokes what was issued before it; the password policy refuses guessable passwords and keeps a
minimum age; idle tokens and old sessions end; HTTP answers carry HSTS (over HTTPS only) and Allow."""
import dataclasses

import pytest
from argon2 import PasswordHasher, extract_parameters

from tests.conftest import STRONG_PASSWORD, execute_sql, login

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
OFFICE = {"REMOTE_ADDR": "10.1.2.3"}


def configure(app, **changes):
    app.config["GMP_SETTINGS"] = dataclasses.replace(app.config["GMP_SETTINGS"], **changes)


def token_request(client, username, password, address=ATTACKER):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base=address)


def token_of(client, username, password=STRONG_PASSWORD, address=OFFICE):
    response = token_request(client, username, password, address)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def audit_actions(app) -> list[str]:
    return list(execute_sql(app, "SELECT action FROM audit_events ORDER BY log_index").scalars())


def user_row(app, username):
    return execute_sql(app, "SELECT locked_at, failed_login_count, password_hash FROM users WHERE username = :u",
                       u=username).one()


# --- the same answer for a known and an unknown name ------------------------------------------------------------


class RecordingHasher(PasswordHasher):
    """The test environment's hasher, noting the parameters of every hash a password is verified against."""

    def __init__(self, calls: list):
        super().__init__(time_cost=1, memory_cost=8192, parallelism=1)
        self.calls = calls

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        self.calls.append(extract_parameters(hash))
        return super().verify(hash, password)


@pytest.mark.req("SEC-05")
def test_an_unknown_name_costs_one_verification_with_the_configured_parameters_like_a_known_one(
        app, client, make_user, monkeypatch):
    from gmp_complaints.services import accounts

    make_user("li.na", "qa_officer")
    calls: list = []
    hasher = RecordingHasher(calls)
    monkeypatch.setattr(accounts, "_hasher", lambda uow: hasher)
    configured = extract_parameters(hasher.hash("x"))

    def attempt(path, username):
        calls.clear()
        body = {"username": username, "password": "not-the-password-0"}
        if path.endswith("password"):
            body = {"username": username, "old_password": "not-the-password-0", "new_password": "a-new-phrase-77"}
        response = client.post(path, json=body, environ_base=OFFICE)
        return response.status_code, response.get_json(), list(calls)

    for path in ("/api/v1/auth/token", "/api/v1/auth/password"):  # log-in, and password change
        known = attempt(path, "li.na")
        unknown = attempt(path, "nobody.here")
        assert known[:2] == unknown[:2] and known[0] == 401, path
        # Exactly one Argon2id verification each, against a hash with exactly the configured parameters.
        assert known[2] == unknown[2] == [configured], path


@pytest.mark.req("SEC-05")
def test_the_dummy_hash_is_a_real_argon2id_hash_with_the_production_parameters_made_once():
    from gmp_complaints.services import accounts

    production = accounts._PRODUCTION_HASHER
    made = accounts.dummy_hash_for(production)
    parameters = extract_parameters(made)
    assert (parameters.type.name, parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
        "ID", production.time_cost, production.memory_cost, production.parallelism)
    assert accounts.dummy_hash_for(production) is made  # once per process


@pytest.mark.req("SEC-05", "SEC-06")
def test_an_unknown_name_answers_exactly_like_a_known_one_through_the_lockout(app, client, make_user):
    make_user("li.na", "qa_officer")

    def five_failures_then_the_right_password(username):
        answers = [token_request(client, username, f"wrong-password-{i}") for i in range(5)]
        answers.append(token_request(client, username, STRONG_PASSWORD))
        return [(r.status_code, r.get_json()) for r in answers]

    known = five_failures_then_the_right_password("li.na")
    unknown = five_failures_then_the_right_password("no.such.user")
    assert known == unknown
    assert [status for status, _ in known] == [401, 401, 401, 401, 423, 423]
    assert known[4][1]["error"]["code"] == "account_locked"
    # The unknown name was counted without creating a user.
    assert execute_sql(app, "SELECT count(*) FROM users WHERE username = 'no.such.user'").scalar() == 0
    names = set(execute_sql(app, "SELECT name FROM login_throttles WHERE locked_at IS NOT NULL").scalars())
    assert names == {"li.na", "no.such.user"}


# --- nobody locks someone else out ------------------------------------------------------------------------------


@pytest.mark.req("SEC-05")
def test_an_anonymous_caller_cannot_lock_the_administrator_out_from_another_address(app, client, make_user):
    admin_id, _ = make_user("root.admin", "admin")
    statuses = [token_request(client, "root.admin", f"guess-{i}-password").status_code for i in range(6)]
    assert statuses == [401, 401, 401, 401, 423, 423]
    # From the attacker's address even the right password is refused ...
    assert token_request(client, "root.admin", STRONG_PASSWORD).status_code == 423
    # ... while the administrator works on from the office, and the account itself is not locked.
    assert client.get("/api/v1/me", headers=bearer(token_of(client, "root.admin"))).status_code == 200
    assert user_row(app, "root.admin").locked_at is None
    locked = [bytes(c).decode() for c in execute_sql(
        app, "SELECT canonical FROM audit_events WHERE action = 'user.locked'").scalars()]
    assert len(locked) == 1 and "this address" in locked[0] and "203.0.113.66" in locked[0]
    # The user list shows the lock for the address, which the administrator (another one) clears.
    make_user("second.admin", "admin")
    page = app.test_client()
    login(page, "second.admin", STRONG_PASSWORD)
    shown = page.get(f"/admin/users/{admin_id}").get_data(as_text=True)
    assert 'class="status status-bad"' in shown
    assert '<dd id="locked-addresses">203.0.113.66</dd>' in shown


@pytest.mark.req("SEC-05", "SEC-06")
def test_failures_spread_over_addresses_lock_the_account_everywhere_at_the_higher_threshold(app, client, make_user):
    configure(app, account_lock_failures=6)
    make_user("li.na", "qa_officer")
    addresses = [{"REMOTE_ADDR": f"198.51.100.{n}"} for n in (1, 2, 3)]
    statuses = [token_request(client, "li.na", "wrong-password-x", address).status_code
                for address in addresses for _ in range(2)]
    assert statuses == [401] * 5 + [423]
    assert token_request(client, "li.na", STRONG_PASSWORD, OFFICE).status_code == 423
    assert user_row(app, "li.na").locked_at is not None
    assert "security.alert_raised" in audit_actions(app)  # SEC-06 reported it at the third failure


@pytest.mark.req("SEC-05")
def test_an_address_that_sprays_names_gets_429_with_retry_after_and_others_are_not_held_back(app, client, make_user):
    configure(app, source_rate_limit=6)
    make_user("li.na", "qa_officer")
    statuses = [token_request(client, name, "Spring2026!").status_code
                for name in ("li.na", "wang.fang", "zhang.wei", "admin", "qa", "liu.yang")]
    assert statuses == [401] * 6
    before = audit_actions(app)
    held = token_request(client, "li.na", STRONG_PASSWORD)
    assert held.status_code == 429 and held.get_json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(held.headers["Retry-After"]) <= 15 * 60
    assert audit_actions(app) == before  # nothing checked, nothing written
    assert "user.source_rate_limited" in before
    assert token_request(client, "li.na", STRONG_PASSWORD, OFFICE).status_code == 200
    # The web log-in is held back the same way.
    page = app.test_client()
    page.environ_base.update(ATTACKER)
    held_page = login(page, "li.na", STRONG_PASSWORD)
    assert held_page.status_code == 429 and int(held_page.headers["Retry-After"]) > 0


@pytest.mark.req("SEC-05")
def test_a_forwarded_address_is_believed_only_behind_a_configured_proxy(app, client, make_user, settings):
    from gmp_complaints import create_app

    make_user("li.na", "qa_officer")
    spoofed = {"REMOTE_ADDR": "10.9.9.9", "HTTP_X_FORWARDED_FOR": "192.0.2.1"}
    for _ in range(5):
        token_request(client, "li.na", "wrong-password-x", spoofed)
    sources = set(execute_sql(app, "SELECT source FROM login_throttles WHERE scope = 'name_source'").scalars())
    assert sources == {"10.9.9.9"}  # the header was ignored: no proxy is configured

    behind_proxy = create_app(dataclasses.replace(settings, trusted_proxies=1))
    try:
        proxied = behind_proxy.test_client()
        forwarded = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.7"}
        assert token_request(proxied, "li.na", "wrong-password-y", forwarded).status_code == 401
        sources = set(execute_sql(app, "SELECT source FROM login_throttles WHERE scope = 'name_source'").scalars())
        assert sources == {"10.9.9.9", "192.0.2.7"}
    finally:
        behind_proxy.extensions["gmp_engine"].dispose()


# --- an unlock (and a reset, a deactivation) ends what was issued before it --------------------------------------


@pytest.mark.req("SEC-05")
def test_an_unlock_revokes_every_token_and_session_issued_before_it(app, client, make_user, uow_factory):
    from gmp_complaints.services import accounts

    configure(app, account_lock_failures=5)
    admin_id, _ = make_user("root.admin", "admin")
    user_id, _ = make_user("li.na", "qa_officer")
    token = token_of(client, "li.na")
    browser = app.test_client()
    browser.environ_base.update(OFFICE)
    login(browser, "li.na", STRONG_PASSWORD)
    for _ in range(5):
        token_request(client, "li.na", "wrong-password-x")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401  # locked everywhere

    accounts.unlock_user(uow_factory(), actor_id=admin_id, user_id=user_id, reason="Identity confirmed by phone")
    refused = client.get("/api/v1/me", headers=bearer(token))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "invalid_token"
    assert browser.get("/").status_code == 302  # back to the log-in page
    reasons = set(execute_sql(app, "SELECT revoke_reason FROM api_tokens").scalars())
    assert reasons == {"unlocked"}
    assert set(execute_sql(app, "SELECT end_reason FROM user_sessions").scalars()) == {"unlocked"}
    # A new log-in works, and the counters are cleared.
    assert client.get("/api/v1/me", headers=bearer(token_of(client, "li.na", address=ATTACKER))).status_code == 200
    assert execute_sql(app, "SELECT count(*) FROM login_throttles WHERE name = 'li.na'").scalar() == 0


# --- password policy ---------------------------------------------------------------------------------------------


@pytest.mark.req("SEC-05")
def test_common_repetitive_and_sequential_passwords_are_refused_naming_the_field(app, client, make_user,
                                                                                no_minimum_password_age):
    make_user("li.na", "qa_officer")
    before = user_row(app, "li.na").password_hash
    for weak in ("aaaaaaaaaaaa", "123456789012", "qwertyuiop12", "Password1234"):
        response = client.post("/api/v1/auth/password", json={
            "username": "li.na", "old_password": STRONG_PASSWORD, "new_password": weak})
        assert response.status_code == 400, weak
        messages = response.get_json()["error"]["fields"]["new_password"]
        assert messages[0].startswith("The password is too easy to guess"), weak
        assert len(messages) >= 2, weak  # and what makes it guessable, in our words
    assert user_row(app, "li.na").password_hash == before
    assert token_of(client, "li.na")


@pytest.mark.req("SEC-05")
def test_a_password_built_on_the_printed_name_is_refused(app, client, make_user, no_minimum_password_age):
    make_user("zhang.wei", "qa_officer", printed_name="Zhang Wei")
    response = client.post("/api/v1/auth/password", json={
        "username": "zhang.wei", "old_password": STRONG_PASSWORD, "new_password": "ZhangWei2026!"})
    assert response.status_code == 400
    assert "It is built on your user name or your name." in response.get_json()["error"]["fields"]["new_password"]


@pytest.mark.req("SEC-05")
def test_a_chosen_password_is_kept_a_day_but_a_reset_password_is_changed_at_once(app, client, make_user,
                                                                               uow_factory):
    from gmp_complaints.services import accounts

    admin_id, _ = make_user("root.admin", "admin")
    user_id, _ = make_user("li.na", "qa_officer")
    too_soon = client.post("/api/v1/auth/password", json={
        "username": "li.na", "old_password": STRONG_PASSWORD, "new_password": "another-long-secret-2026"})
    assert too_soon.status_code == 400
    assert "changed again in 24 hour(s)" in too_soon.get_json()["error"]["fields"]["new_password"][0]
    assert token_of(client, "li.na")  # unchanged

    reset = accounts.reset_password(uow_factory(), actor_id=admin_id, user_id=user_id, reason="Forgotten, ticket 12")
    forced = client.post("/api/v1/auth/password", json={
        "username": "li.na", "old_password": reset.temporary_password, "new_password": "another-long-secret-2026"})
    assert forced.status_code == 204

    ago = ("password_changed_at - INTERVAL '25 hours'" if app.config["GMP_SETTINGS"].database_url.startswith(
        "postgresql") else "datetime(password_changed_at, '-25 hours')")
    execute_sql(app, f"UPDATE users SET password_changed_at = {ago} WHERE id = :u", u=user_id)
    assert client.post("/api/v1/auth/password", json={
        "username": "li.na", "old_password": "another-long-secret-2026",
        "new_password": "yet-another-phrase-2027"}).status_code == 204


# --- idle tokens and old sessions -------------------------------------------------------------------------------


def _minutes_ago(app, column: str, minutes: int) -> str:
    if app.config["GMP_SETTINGS"].database_url.startswith("postgresql"):
        return f"{column} - INTERVAL '{minutes} minutes'"
    return f"datetime({column}, '-{minutes} minutes')"


@pytest.mark.req("SEC-07", "SEC-09")
def test_an_idle_token_is_refused_with_token_idle_and_changes_nothing(app, client, make_user):
    make_user("li.na", "qa_officer")
    token = token_of(client, "li.na")
    # Used within the limit it stays open, and each use moves its last use.
    execute_sql(app, f"UPDATE api_tokens SET last_used_at = {_minutes_ago(app, 'last_used_at', 10)}")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert execute_sql(app, "SELECT last_used_at > created_at FROM api_tokens").scalar()

    execute_sql(app, f"UPDATE api_tokens SET last_used_at = {_minutes_ago(app, 'last_used_at', 16)}")
    events_before = audit_actions(app)
    refused = client.post("/api/v1/products", headers=bearer(token), json={
        "code": "P-IDLE", "name": "Idle", "strength": "1 mg", "dosage_form": "tablet"})
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "token_idle"
    assert execute_sql(app, "SELECT count(*) FROM products").scalar() == 0
    assert audit_actions(app) == events_before
    # It stays refused; a new token works.
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["error"]["code"] == "token_idle"
    assert client.get("/api/v1/me", headers=bearer(token_of(client, "li.na"))).status_code == 200


@pytest.mark.req("SEC-07")
def test_a_busy_web_session_still_ends_at_its_absolute_lifetime(app, make_user):
    make_user("li.na", "qa_officer")
    browser = app.test_client()
    login(browser, "li.na", STRONG_PASSWORD)
    assert browser.get("/").status_code == 200
    # Eleven hours in, active a minute ago: still open.
    execute_sql(app, f"UPDATE user_sessions SET created_at = {_minutes_ago(app, 'created_at', 11 * 60)}")
    assert browser.get("/").status_code == 200
    execute_sql(app, f"UPDATE user_sessions SET created_at = {_minutes_ago(app, 'created_at', 12 * 60 + 1)}")
    ended = browser.get("/")
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]
    assert execute_sql(app, "SELECT end_reason FROM user_sessions").scalar() == "lifetime_reached"


# --- HTTP -------------------------------------------------------------------------------------------------------


def test_hsts_is_sent_over_https_only_and_behind_a_proxy_only_when_configured(app, client, settings):
    from gmp_complaints import create_app

    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    forwarded = {"HTTP_X_FORWARDED_PROTO": "https"}
    assert "Strict-Transport-Security" not in client.get("/login", environ_base=forwarded).headers
    behind_proxy = create_app(dataclasses.replace(settings, trusted_proxies=1))
    try:
        answer = behind_proxy.test_client().get("/login", environ_base=forwarded)
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    finally:
        behind_proxy.extensions["gmp_engine"].dispose()


def test_a_405_names_the_allowed_methods_on_pages_and_the_api(client):
    api = client.delete("/api/v1/auth/token")
    assert api.status_code == 405 and set(api.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert api.get_json()["error"]["code"] == "method_not_allowed"
    page = client.put("/login")
    assert page.status_code == 405 and set(page.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert page.mimetype == "text/html"


# --- the installation as the operator runs it --------------------------------------------------------------------


@pytest.mark.req("SEC-11")
def test_a_fresh_instance_is_the_owners_alone_and_the_server_names_no_banner(tmp_path):
    import os
    import socket
    import stat
    import subprocess
    import time
    import urllib.request

    from tests.integration.test_check_commands import GMP, gmp

    os.chmod(tmp_path, 0o755)  # a parent others may list: the instance folder itself must still be closed
    env = {"GMP_INSTANCE_PATH": str(tmp_path / "instance")}
    initialised = gmp(env, "init")
    assert initialised.returncode == 0, initialised.stderr
    paths = [tmp_path / "instance", *(tmp_path / "instance").rglob("*")]
    assert any(path.name.endswith(".sqlite3") for path in paths) and any("key" in path.name for path in paths)
    open_to_others = {str(path.relative_to(tmp_path)): oct(stat.S_IMODE(path.stat().st_mode))
                      for path in paths if path.stat().st_mode & 0o077}
    assert open_to_others == {}

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GMP_") and k != "DATABASE_URL"}
    server = subprocess.Popen([str(GMP), "serve", "--port", str(port), "--workers", "1"], env={**clean, **env},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as answer:
                    headers = answer.headers
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer within a minute"
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "gunicorn" not in (headers.get("Server") or "").lower()
    assert not headers.get("Server")
    assert "Strict-Transport-Security" not in headers  # plain http


def test_the_scheduled_job_removes_address_counters_of_closed_windows_and_keeps_the_names(app, client, make_user,
                                                                                          uow_factory):
    from gmp_complaints.services.accounts import forget_closed_source_windows

    make_user("li.na", "qa_officer")
    assert token_request(client, "li.na", "Spring2026!").status_code == 401
    assert token_request(client, "nobody.here", "Spring2026!", OFFICE).status_code == 401

    def counters():
        return sorted(execute_sql(app, "SELECT scope, name, source, failure_count FROM login_throttles").all())

    before = counters()
    assert ("source", "", ATTACKER["REMOTE_ADDR"], 1) in before and ("source", "", OFFICE["REMOTE_ADDR"], 1) in before
    assert forget_closed_source_windows(uow_factory()) == 0  # both windows still open
    assert counters() == before
    execute_sql(app, f"UPDATE login_throttles SET first_failure_at = {_minutes_ago(app, 'first_failure_at', 16)} "
                     f"WHERE source = '{ATTACKER['REMOTE_ADDR']}'")
    assert forget_closed_source_windows(uow_factory()) == 1
    assert counters() == [row for row in before if row[0] != "source" or row[2] != ATTACKER["REMOTE_ADDR"]]
    # the name's consecutive failures still count: four more from anywhere lock it
    for _ in range(4):
        token_request(client, "li.na", "Spring2026!")
    assert token_request(client, "li.na", STRONG_PASSWORD).status_code == 423

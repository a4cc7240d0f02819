"""Accounts through /api/v1 (DESIGN §6), on SQLite and PostgreSQL."""
import pytest
import sqlalchemy as sa

from tests.conftest import STRONG_PASSWORD, execute_sql


def token_for(client, username, password):
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


@pytest.mark.req("SEC-05", "SIG-07")
def test_a_temporary_password_gets_no_token_until_changed(client, make_user):
    make_user("li.na", "qa_officer", temporary=True)
    response = client.post("/api/v1/auth/token", json={"username": "li.na", "password": "temporary-password-0001"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "password_change_required"

    response = client.post("/api/v1/auth/password", json={
        "username": "li.na", "old_password": "temporary-password-0001", "new_password": STRONG_PASSWORD})
    assert response.status_code == 204
    token = token_for(client, "li.na", STRONG_PASSWORD)
    me = client.get("/api/v1/me", headers=bearer(token)).get_json()
    assert me["username"] == "li.na" and me["roles"] == ["qa_officer"]


@pytest.mark.req("SEC-05")
def test_an_expired_password_blocks_the_api_with_password_change_required(app, client, make_user):
    user_id, password = make_user("li.na", "qa_officer")
    token = token_for(client, "li.na", password)
    execute_sql(app, "UPDATE users SET password_changed_at = password_changed_at - (:days * INTERVAL '1 day') WHERE id = :id"
                if app.extensions["gmp_engine"].dialect.name == "postgresql"
                else "UPDATE users SET password_changed_at = datetime(password_changed_at, '-' || :days || ' days') WHERE id = :id",
                days=91, id=user_id)
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 403 and error_of(response)["code"] == "password_change_required"
    response = client.post("/api/v1/auth/token", json={"username": "li.na", "password": password})
    assert response.status_code == 403 and error_of(response)["code"] == "password_change_required"


def test_unknown_user_and_wrong_password_get_the_same_answer(client, make_user):
    make_user("li.na", "qa_officer")
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "whatever-password"})
    wrong = client.post("/api/v1/auth/token", json={"username": "li.na", "password": "not-the-password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_json() == wrong.get_json()


@pytest.mark.req("SEC-05")
def test_five_failures_lock_the_account_and_only_an_admin_unlocks(client, make_user, uow_factory):
    from gmp_complaints.services import accounts

    admin_id, _ = make_user("root.admin", "admin")
    user_id, password = make_user("li.na", "qa_officer")
    statuses = [client.post("/api/v1/auth/token", json={"username": "li.na", "password": "wrong-password!"}).status_code
                for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    # Now even the right password is refused.
    locked = client.post("/api/v1/auth/token", json={"username": "li.na", "password": password})
    assert locked.status_code == 423 and error_of(locked)["code"] == "account_locked"

    accounts.unlock_user(uow_factory(), actor_id=admin_id, user_id=user_id, reason="User confirmed by phone")
    assert token_for(client, "li.na", password)


@pytest.mark.req("SEC-05")
def test_a_success_resets_the_failure_count(client, make_user):
    _, password = make_user("li.na", "qa_officer")
    for _ in range(4):
        client.post("/api/v1/auth/token", json={"username": "li.na", "password": "wrong-password!"})
    token_for(client, "li.na", password)
    for _ in range(4):
        assert client.post("/api/v1/auth/token", json={"username": "li.na", "password": "bad"}).status_code == 401


@pytest.mark.req("SEC-08")
def test_deactivation_revokes_tokens_and_refuses_log_in(client, make_user, approved_change):
    admin_id, _ = make_user("root.admin", "admin")
    user_id, password = make_user("li.na", "qa_officer")
    token = token_for(client, "li.na", password)
    approved_change(admin_id, kind="deactivate_user", user_id=user_id, reason="Left the company")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "li.na", "password": password}).status_code == 401


def test_changing_the_password_revokes_existing_tokens(client, make_user, no_minimum_password_age):
    _, password = make_user("li.na", "qa_officer")
    token = token_for(client, "li.na", password)
    response = client.post("/api/v1/auth/password", json={
        "username": "li.na", "old_password": password, "new_password": "another-long-secret-2026"})
    assert response.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert token_for(client, "li.na", "another-long-secret-2026")


def test_tokens_expire(app, client, make_user):
    _, password = make_user("li.na", "qa_officer")
    token = token_for(client, "li.na", password)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    execute_sql(app, "UPDATE api_tokens SET expires_at = created_at")
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401 and error_of(response)["code"] == "invalid_token"


@pytest.mark.req("SEC-05")
def test_new_password_policy_is_enforced_naming_the_field(client, make_user, no_minimum_password_age):
    _, password = make_user("li.na", "qa_officer")
    response = client.post("/api/v1/auth/password", json={
        "username": "li.na", "old_password": password, "new_password": "li.na-is-my-password"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_input"
    assert error["fields"]["new_password"] == ["The password must not contain the user name."]
    # Nothing changed: the old password still works.
    assert token_for(client, "li.na", password)


@pytest.mark.req("SEC-05")
def test_none_of_the_last_five_passwords_may_be_reused(client, make_user, no_minimum_password_age):
    _, current = make_user("li.na", "qa_officer")
    passwords = [current] + [f"rotating-secret-{i:02d}" for i in range(1, 6)]
    for old, new in zip(passwords, passwords[1:]):
        assert client.post("/api/v1/auth/password", json={
            "username": "li.na", "old_password": old, "new_password": new}).status_code == 204
    latest = passwords[-1]
    for reused in passwords[1:]:
        response = client.post("/api/v1/auth/password", json={
            "username": "li.na", "old_password": latest, "new_password": reused})
        assert response.status_code == 400, reused
    # The sixth-last password is allowed again.
    assert client.post("/api/v1/auth/password", json={
        "username": "li.na", "old_password": latest, "new_password": passwords[0]}).status_code == 204


def test_missing_and_malformed_fields_answer_400_naming_each_field(client):
    response = client.post("/api/v1/auth/token", json={"username": ""})
    assert response.status_code == 400
    fields = error_of(response)["fields"]
    assert set(fields) == {"username", "password"}
    response = client.post("/api/v1/auth/token", data="not json", content_type="text/plain")
    assert response.status_code == 400 and "_body" in error_of(response)["fields"]


@pytest.mark.req("SIG-05")
def test_accepting_the_esignature_statement_needs_the_password_and_happens_once(app, client, make_user):
    user_id, password = make_user("liu.yang", "qa_head")
    token = token_for(client, "liu.yang", password)
    wrong = client.post("/api/v1/auth/esignature-statement", json={"password": "not-my-password"}, headers=bearer(token))
    assert wrong.status_code == 401
    ok = client.post("/api/v1/auth/esignature-statement", json={"password": password}, headers=bearer(token))
    assert ok.status_code == 204
    again = client.post("/api/v1/auth/esignature-statement", json={"password": password}, headers=bearer(token))
    assert again.status_code == 409
    with app.extensions["gmp_engine"].connect() as connection:
        accepted = connection.execute(sa.text("SELECT esignature_accepted_at FROM users WHERE id = :id"), {"id": user_id})
        assert accepted.scalar_one() is not None


@pytest.mark.req("SEC-03")
def test_admins_and_auditors_cannot_accept_the_signing_statement(client, make_user):
    for username, role in (("root.admin", "admin"), ("zhao.lei", "auditor")):
        _, password = make_user(username, role)
        token = token_for(client, username, password)
        response = client.post("/api/v1/auth/esignature-statement", json={"password": password}, headers=bearer(token))
        assert response.status_code == 403 and error_of(response)["code"] == "forbidden"


def test_calls_without_a_token_get_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and error_of(response)["code"] == "unauthenticated"
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401 and error_of(response)["code"] == "invalid_token"


def test_unknown_api_paths_answer_in_the_error_shape(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_openapi_describes_the_auth_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/auth/token", "/api/v1/auth/password", "/api/v1/auth/esignature-statement"} <= set(spec["paths"])
    assert "Error" in spec["components"]["schemas"]


@pytest.mark.req("VAL-07")
def test_openapi_describes_every_api_route(app, client):
    import re

    spec = client.get("/api/v1/openapi.json").get_json()
    described = {(path, method) for path, operations in spec["paths"].items() for method in operations}
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api_v1.openapi":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (path, method.lower()) not in described:
                missing.append(f"{method} {path}")
    assert missing == []


def test_every_json_body_of_the_api_is_described_field_by_field(client):
    """No request body is a bare object: each names its fields, their types and which are required."""
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        body = operations.get("post", {}).get("requestBody")
        if body is None:
            continue
        content = body["content"]
        if "multipart/form-data" in content:
            assert content["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary", path
            continue
        reference = content["application/json"]["schema"]["$ref"]
        schema = schemas[reference.rsplit("/", 1)[1]]
        assert schema["properties"], path
        described = ("type", "$ref", "oneOf")
        assert all(any(key in field for key in described) for field in schema["properties"].values()), path

"""Every registered route, with every role and with no user, against the authorisation matrix."""
import pytest
from flask import url_for

from gmp_complaints.domain.roles import Role
from gmp_complaints.web.access import ROUTE_ACCESS
from tests.conftest import login

URL_ARGUMENTS = {"filename": "css/app.css"}


def _routes(app, target_user_id):
    for rule in app.url_map.iter_rules():
        arguments = {name: URL_ARGUMENTS.get(name, target_user_id) for name in rule.arguments}
        with app.test_request_context():
            url = url_for(rule.endpoint, **arguments)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


@pytest.mark.req("SEC-02")
def test_every_route_is_in_the_authorisation_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(ROUTE_ACCESS) == set()
    assert set(ROUTE_ACCESS) - endpoints == set(), "the matrix names endpoints that do not exist"


@pytest.mark.req("SEC-02")
def test_every_route_allows_exactly_the_roles_of_the_matrix(app, make_user):
    target_id, _ = make_user("target.user", "investigator")
    credentials = {role: make_user(f"matrix.{role.value.replace('_', '-')}", role.value)[1] for role in Role}
    routes = list(_routes(app, target_id))
    assert len(routes) >= len(ROUTE_ACCESS)

    def call(client, method, url, headers=None):
        response = client.open(url, method=method, headers=headers or {})
        response.close()  # static files are streamed from an open file
        return response

    mismatches = []
    anonymous = app.test_client()
    for endpoint, method, url in routes:
        access = ROUTE_ACCESS[endpoint]
        response = call(anonymous, method, url)
        refused = response.status_code in (401, 403) or "/login" in response.headers.get("Location", "")
        if access.public == refused:
            mismatches.append(("anonymous", method, url, response.status_code))

    for role in Role:
        username = f"matrix.{role.value.replace('_', '-')}"
        web = app.test_client()
        login(web, username, credentials[role])
        token = app.test_client().post("/api/v1/auth/token", json={
            "username": username, "password": credentials[role]}).get_json()["token"]
        for endpoint, method, url in routes:
            access = ROUTE_ACCESS[endpoint]
            allowed = access.public or role in access.roles
            if endpoint.startswith("api_v1."):
                response = call(web, method, url, {"Authorization": f"Bearer {token}"})
            else:
                response = call(web, method, url)
            refused = response.status_code in (401, 403) or "/login" in response.headers.get("Location", "")
            if allowed == refused:
                mismatches.append((role.value, method, url, response.status_code))
    assert mismatches == []

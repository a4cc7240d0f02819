"""Hostile input (issue 19): no input produces a 5xx, and implausible dates are refused with messages that say
what is wrong. Ids beyond the database's integers, huge page numbers and years, JSON nested 10,000 deep, a lone
surrogate or a NUL byte in text, dates before the configured floor, in the future, not ISO or not of the calendar,
a customer deadline before receipt and an e-mail that is not an address: each answers 4xx, names the field where
there is one, and stores nothing (no record, no audit event). SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re
from datetime import date

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

BEYOND_SQLITE = 2**63  # SQLite's INTEGER is 64-bit: a bigger literal overflows in the driver
BEYOND_POSTGRESQL = 2**31  # PostgreSQL's integer column: "integer out of range"
HUGE = "99999999999999999999"


def _counts(app) -> dict:
    with app.extensions["gmp_engine"].connect() as connection:
        return {table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("complaints", "batches", "attachments", "capas", "capa_complaints", "recalls",
                              "audit_events")}


def _fields(response) -> dict:
    return ((response.get_json(silent=True) or {}).get("error") or {}).get("fields") or {}


def _refused(app, send, field: str | None, status: int = 400) -> dict:
    """``send()`` is answered with ``status`` naming ``field`` (when given), and stores nothing."""
    before = _counts(app)
    response = send()
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    if field is not None:
        assert field in _fields(response), _fields(response)
    assert _counts(app) == before
    return _fields(response)


def _post_raw(api, who, path, text: str):
    """A body as the client wrote it (the test client's JSON encoder would refuse some of these)."""
    return api.client.post(f"/api/v1{path}", data=text.encode("utf-8", "surrogatepass"),
                           content_type="application/json", headers={"Authorization": f"Bearer {api.tokens[who]}"})


@pytest.mark.req("VAL-03", "REC-01")
def test_ids_beyond_the_database_integers_are_unknown_in_paths_and_refused_in_bodies(app, api):
    complaint_id = api.ok("intake", "/complaints", registration(), 201)["id"]
    for huge in (BEYOND_SQLITE, BEYOND_POSTGRESQL, 10**30):
        for path in (f"/complaints/{huge}", f"/capas/{huge}", f"/recalls/{huge}", f"/batches/{huge}",
                     f"/complaints/{complaint_id}/attachments/{huge}"):
            _refused(app, lambda: api.get("qa_officer", path), None, status=404)
        _refused(app, lambda: api.post("qa_officer", f"/complaints/{huge}/validity",
                                       {"information_complete": True, "substantiated": True}), None, status=404)
        _refused(app, lambda: api.post("qa_officer", "/capas", capa_body(huge)), "complaint_ids")
        _refused(app, lambda: api.post("qa_officer", "/recalls", {
            "complaint_ids": [huge], "batch_nos": ["B2602"], "level": "II", "depth": "wholesale", "reason": "r",
            "safety_hazard": False, "mock": True}), "complaint_ids")
    # a list longer than any request needs (and than PostgreSQL's 65,535 parameters of one statement)
    fields = _refused(app, lambda: api.post("intake", "/complaints", registration(
        batch_nos=[f"B{n}" for n in range(70_000)])), "batch_nos")
    assert fields["batch_nos"] == ["At most 1000 items."]
    fields = _refused(app, lambda: api.post("qa_officer", "/capas", capa_body(*range(1, 70_001))), "complaint_ids")
    assert fields["complaint_ids"] == ["At most 1000 items."]
    api.ok("qa_officer", f"/complaints/{complaint_id}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{complaint_id}/classification",
           {"complaint_class": "III", "rationale": "r", "adr_suspected": False})
    assign_investigator(api, complaint_id)
    api.ok("investigator", f"/complaints/{complaint_id}/investigation",
           {"root_cause": "封口压力偏低", "impact": "仅本批", "other_batches_affected": "无", "substantiated": True})
    # a multipart part with no name the parser can read is no field: refused as a missing file, not a crash
    nameless = (b'--B\r\nContent-Disposition: form-data; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n'
                b'hello\r\n--B--\r\n')
    _refused(app, lambda: api.client.post(f"/api/v1/complaints/{complaint_id}/attachments", data=nameless,
                                          content_type="multipart/form-data; boundary=B",
                                          headers={"Authorization": f"Bearer {api.tokens['intake']}"}), None)
    capa_id = api.ok("qa_officer", "/capas", capa_body(complaint_id), 201)["id"]
    for huge in (BEYOND_SQLITE, BEYOND_POSTGRESQL):
        _refused(app, lambda: api.post("qa_officer", f"/capas/{capa_id}/complaints", {"complaint_id": huge}),
                 "complaint_id")
        _refused(app, lambda: api.post("qa_officer", "/capas", capa_body(complaint_id, follow_up_of=huge)),
                 "follow_up_of")


@pytest.mark.req("VAL-03")
def test_offsets_and_limits_beyond_range_are_refused_naming_the_parameter(app, api):
    for query, field in ((f"offset={HUGE}", "offset"), ("offset=-1", "offset"), ("offset=²", "offset"),
                         (f"limit={HUGE}", "limit"), ("limit=0", "limit")):
        _refused(app, lambda: api.get("auditor", f"/audit/events?{query}"), field)
    assert api.get("auditor", "/audit/events?offset=5&limit=2").status_code == 200


@pytest.mark.req("VAL-03")
def test_json_nested_ten_thousand_deep_or_too_large_is_refused(app, api):
    deep = "[" * 10_000 + "]" * 10_000
    fields = _refused(app, lambda: _post_raw(api, "intake", "/complaints", deep), "_body")
    assert "nest" in json.dumps(fields).lower()
    nested = "x"
    for _ in range(40):  # deeper than any request needs, though Python would parse it
        nested = [nested]
    body = registration(description=nested)
    _refused(app, lambda: api.post("intake", "/complaints", body), "_body")
    too_large = json.dumps(registration(description="x" * (3 * 1024 * 1024)))
    _refused(app, lambda: _post_raw(api, "intake", "/complaints", too_large), None, status=413)


@pytest.mark.req("VAL-03", "REC-01", "AT-01")
@pytest.mark.parametrize("bad", ["\ud800", "bad\udfffend", "nul\x00byte"], ids=["surrogate", "low-surrogate", "nul"])
def test_a_lone_surrogate_or_a_nul_byte_in_text_is_refused_naming_the_field(app, api, bad):
    for overrides, field in (({"description": bad}, "description"),
                             ({"complainant": {"name": bad}}, "complainant.name"),
                             ({"complainant": {"name": "王芳", "organisation": bad}}, "complainant.organisation"),
                             ({"product_code": bad}, "product_code"),
                             ({"batch_nos": [bad]}, "batch_nos.0")):
        text = json.dumps(registration(**overrides))  # \ud800 and \u0000 written as JSON escapes
        _refused(app, lambda: _post_raw(api, "intake", "/complaints", text), field)
    # as a key of an object the schema does not know
    text = json.dumps({**registration(), bad: "x"})
    _refused(app, lambda: _post_raw(api, "intake", "/complaints", text), "_body")
    # a user name at log-in is refused before it is looked up (no failed log-in is recorded for it)
    text = json.dumps({"username": bad, "password": "whatever-password"})
    _refused(app, lambda: api.client.post("/api/v1/auth/token", data=text, content_type="application/json"),
             "username")
    if bad.startswith("nul"):  # a path segment and a query string (a URL carries no lone surrogate: it is bytes)
        _refused(app, lambda: api.get("qa_officer", "/products/P%00X/annual-review?year=2026"), "code")
        _refused(app, lambda: api.get("auditor", "/audit/events?entity=complaint%00:1"), "entity")


@pytest.mark.req("VAL-03", "REC-01", "AT-01")
def test_implausible_received_dates_are_refused_saying_what_is_wrong(app, api):
    cases = [
        ("1900-01-01", "2000-01-01"),  # before the configured floor: says the floor
        ("0001-01-01", "2000-01-01"),
        (20261130, "YYYY-MM-DD"),  # a number
        ("2026-W48-1", "YYYY-MM-DD"),  # an ISO week date
        ("2026-334", "YYYY-MM-DD"),  # an ordinal date
        ("20261130", "YYYY-MM-DD"),  # ISO basic format
        ("２０２６-１１-３０", "YYYY-MM-DD"),  # full-width digits
        ("2026-02-30", "not a date of the calendar"),
        ("2026-11-21", "future"),  # TODAY is 2026-11-20
    ]
    for value, said in cases:
        fields = _refused(app, lambda: api.post("intake", "/complaints", registration(received_on=value)),
                          "received_on")
        assert said in " ".join(fields["received_on"]), (value, fields)
    fields = _refused(app, lambda: api.post("intake", "/complaints", registration(
        received_on="2026-11-10", customer_due_on="2026-11-09")), "customer_due_on")
    assert "2026-11-10" in " ".join(fields["customer_due_on"])
    fields = _refused(app, lambda: api.post("intake", "/complaints", registration(
        complainant={"name": "王芳", "email": "not an address"})), "complainant.email")
    # the floor is the site's (GMP_EARLIEST_RECEIVED_ON), and the message says it
    from gmp_complaints import create_app

    site = create_app(app.config["GMP_SETTINGS"].with_overrides(earliest_received_on=date(2026, 1, 1)))
    try:
        refused = site.test_client().post("/api/v1/complaints", json=registration(received_on="2025-12-31"),
                                          headers={"Authorization": f"Bearer {api.tokens['intake']}"})
        assert refused.status_code == 400 and _fields(refused)["received_on"] == [
            "2025-12-31 is before 2026-01-01, the earliest received date this site records."]
    finally:
        site.extensions["gmp_engine"].dispose()
    # the limits themselves are accepted
    assert api.post("intake", "/complaints", registration(received_on=TODAY)).status_code == 201
    assert api.post("intake", "/complaints", registration(received_on="2026-11-10", customer_due_on="2026-11-10")
                    ).status_code == 201


@pytest.mark.req("VAL-03")
def test_event_dates_of_later_steps_have_a_floor_too(app, api):
    complaint_id = api.ok("intake", "/complaints", registration(), 201)["id"]
    for value in ("0001-01-01", "1999-12-31"):
        _refused(app, lambda: api.post("qa_officer", f"/complaints/{complaint_id}/acknowledgement",
                                       {"sent_on": value, "method": "phone"}), "sent_on")
        _refused(app, lambda: api.post("qa_officer", "/batches", {
            "product_code": "P-001", "batch_no": "B0001", "manufactured_on": value, "expires_on": "2028-01-01"}),
            "manufactured_on")
        _refused(app, lambda: api.post("qa_officer", "/batches", {
            "product_code": "P-001", "batch_no": "B0001", "manufactured_on": "2026-01-01", "expires_on": "9999-12-31"}),
            "expires_on")


@pytest.fixture
def browser(app, make_user):
    """A signed-in page client per role."""
    clients = {}
    for username, role in (("page.intake", "intake"), ("page.qa", "qa_officer"), ("page.auditor", "auditor"),
                           ("page.admin", "admin")):
        _, password = make_user(username, role)
        clients[role] = app.test_client()
        assert login(clients[role], username, password).status_code == 302
    return clients


@pytest.mark.req("VAL-03")
def test_huge_page_numbers_and_years_on_pages_answer_without_a_server_error(app, api, browser):
    for role, path, status in (
            ("qa_officer", f"/complaints/?page={HUGE}", 400), ("auditor", f"/audit/?page={HUGE}", 400),
            ("qa_officer", "/complaints/?page=²", 400), ("qa_officer", "/complaints/?q=%00", 400),
            ("admin", f"/admin/calendar?year={HUGE}", 400), ("admin", "/admin/calendar?year=0", 400),
            ("qa_officer", f"/complaints/{BEYOND_SQLITE}", 404),
            ("qa_officer", f"/complaints/{BEYOND_POSTGRESQL}", 404),
            ("qa_officer", f"/capas/new?complaint={HUGE}", 400),
            ("qa_officer", f"/notices/delivery?subject_id={HUGE}", 400),
            ("qa_officer", "/notices/delivery?subject_id=3", 200),
            # a record id no complaint can have finds nothing (the filter is text: any record type may be named)
            ("auditor", "/audit/?entity=complaint:²", 200), ("auditor", f"/audit/?entity=complaint:{HUGE}", 200)):
        before = _counts(app)
        response = browser[role].get(path)
        assert response.status_code == status, (path, response.status_code)
        assert _counts(app) == before
    # the audit trail's filter says what is wrong next to the field, on the page
    for query in (f"actor={HUGE}", "to=9999-12-31", "from=0001-01-01"):
        page = browser["auditor"].get(f"/audit/?{query}")
        assert page.status_code == 200 and "has-error" in page.get_data(as_text=True), query


def _field_error(html: str, field: str) -> str:
    """The field's block on the page (its label, input and error), where the message must be."""
    shown = re.search(rf'<div class="field has-error"><label for="{field}">.*?</div>', html, re.DOTALL)
    assert shown, f"no error next to {field}"
    return shown.group()


@pytest.mark.req("REC-01", "VAL-03")
def test_the_registration_page_says_what_is_wrong_with_a_date_next_to_the_field(app, api, browser):
    from tests.conftest import csrf_token

    client = browser["intake"]
    form = {"csrf_token": csrf_token(client, "/complaints/new"), "received_on": "1900-01-01", "channel": "phone",
            "complainant_name": "王芳", "complainant_email": "not an address", "product_code": "P-001",
            "batch_nos": "B2602", "complaint_type": "inner_packaging", "description": "破损",
            "customer_due_on": "2026-02-30"}
    before = _counts(app)
    page = client.post("/complaints/new", data=form)
    assert page.status_code == 400 and _counts(app) == before
    html = page.get_data(as_text=True)
    for field, said in (("received_on", "2000-01-01"), ("customer_due_on", "2026-02-30 不是日历上存在的日期"),
                        ("complainant_email", "应为电子邮件地址")):
        assert said in _field_error(html, field)
    client.post("/language", data={"csrf_token": form["csrf_token"], "lang": "en"})
    html = client.post("/complaints/new", data=form).get_data(as_text=True)
    assert "1900-01-01 is before 2000-01-01, the earliest date a record may carry." in _field_error(html, "received_on")
    assert "2026-02-30 is not a date of the calendar." in _field_error(html, "customer_due_on")
    # a NUL byte no browser sends is refused before the form is read, naming the field: at log-in too
    anonymous = app.test_client()
    login_form = {"csrf_token": csrf_token(anonymous, "/login"), "username": "page.intake\x00", "password": "x"}
    _refused(app, lambda: anonymous.post("/login", data=login_form), None)
    form = {**form, "received_on": TODAY, "complainant_email": "", "customer_due_on": "", "description": "破损\x00"}
    page = client.post("/complaints/new", data=form)
    assert page.status_code == 400 and _counts(app) == before
    assert "description" in page.get_data(as_text=True) and "U+0000" in page.get_data(as_text=True)

"""The ADR reporting clocks per market are master data (HO-01): loaded with today's rules, changed only by the
administrator with a reason (audited), applied to hand-offs created afterwards while earlier hand-offs keep their
due dates. SQLite and PostgreSQL."""
import json

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token, login
from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401
from tests.integration.test_pharmacovigilance import CASE, adr_reports, pv_api  # noqa: F401
from tests.integration.test_signatures import classified

CHINA = "国家药品不良反应监测中心 (China ADR monitoring centre)"
CHANGE = {"days": 10, "reason": "监管部门通知：严重不良反应 10 日内报告（演练）", "change_control_ref": "CC-2026-031"}


@pytest.fixture
def admin(pv_api, client, make_user):  # noqa: F811
    _, password = make_user("root.admin", "admin")
    pv_api.tokens["admin"] = client.post("/api/v1/auth/token", json={"username": "root.admin", "password": password}
                                         ).get_json()["token"]
    pv_api.credentials["admin"] = ("root.admin", password)
    return pv_api


def rows(app, sql, **params):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(sql), params).all()


def clocks(caller) -> dict:
    return {c["rule"]: c["days"] for c in caller.get("qa_officer", "/adr-clocks").get_json()["adr_clocks"]}


def clock_events(app):
    return [(action, json.loads(canonical)) for action, canonical in rows(
        app, "SELECT action, canonical FROM audit_events WHERE entity_type = 'configuration' "
             "AND entity_id = 'adr_clocks' ORDER BY log_index")]


@pytest.mark.req("HO-01")
def test_the_loaded_clocks_are_todays_rules_and_give_todays_due_dates(app, pv_api):  # noqa: F811
    pv = pv_api
    assert clocks(pv) == {"cn_death": 0, "cn_death_report": 15, "cn_serious": 15, "cn_other": 30, "eu_serious": 15,
                          "eu_non_serious": 90, "us_serious_unexpected": 15, "cn_group_event": 0}
    # `gmp init` took the migration's values into the audit trail, once.
    [(action, event)] = clock_events(app)
    assert action == "adr_clock.loaded" and "cn_serious=15d" in event["changes"]["adr_clocks"][1]
    # DESIGN §6: with the default China clocks a serious reaction's adr_report is due 15 calendar days after aware_on.
    complaint = pv.ok("qa_officer", f"/complaints/{classified(pv)}/adr", CASE, 201)
    assert complaint["adr"]["due_on"] == "2026-11-16"
    assert adr_reports(pv, complaint["number"]) == [(CHINA, "2026-11-16", "overdue")]


@pytest.mark.req("HO-01")
def test_a_changed_clock_applies_to_new_hand_offs_only_and_is_audited(app, admin, uow_factory):
    pv = admin
    earlier = pv.ok("qa_officer", f"/complaints/{classified(pv)}/adr", CASE, 201)
    changed = pv.ok("admin", "/adr-clocks/cn_serious", CHANGE)
    assert {c["rule"]: c["days"] for c in changed["adr_clocks"]}["cn_serious"] == 10
    # The hand-off made before keeps its due dates, in the case and in the register.
    again = pv.get("pv_officer", f"/complaints/{earlier['id']}").get_json()
    assert again["adr"]["due_on"] == "2026-11-16"
    assert adr_reports(pv, earlier["number"]) == [(CHINA, "2026-11-16", "overdue")]
    # A hand-off made afterwards (a follow-up on the same complaint, another complaint) takes the new clock.
    follow_up = pv.ok("qa_officer", f"/complaints/{earlier['id']}/adr", {**CASE, "aware_on": "2026-11-02"}, 201)
    assert [c["due_on"] for c in follow_up["adr"]["cases"]] == ["2026-11-16", "2026-11-12"]
    later = pv.ok("qa_officer", f"/complaints/{classified(pv)}/adr", CASE, 201)
    assert later["adr"]["due_on"] == "2026-11-11"
    assert adr_reports(pv, later["number"]) == [(CHINA, "2026-11-11", "overdue")]
    rule = json.loads(rows(app, "SELECT canonical FROM audit_events WHERE action = 'notification.due' "
                                "ORDER BY log_index DESC")[0][0])["changes"]["rule"][1]
    assert rule == "China: a new or serious reaction within 10 days"
    # Non-serious and the other markets are untouched.
    mild = pv.ok("qa_officer", f"/complaints/{classified(pv)}/adr", {**CASE, "seriousness": "non_serious"}, 201)
    assert mild["adr"]["due_on"] == "2026-12-01"
    # Audited: who, why, under which change control, the old and new value.
    action, event = clock_events(app)[-1]
    assert action == "adr_clock.changed" and event["reason"] == CHANGE["reason"]
    assert event["changes"]["days"] == [15, 10] and event["changes"]["rule"] == [None, "cn_serious"]
    assert event["changes"]["change_control_ref"] == [None, "CC-2026-031"]
    before, after = event["changes"]["adr_clocks"]
    assert "cn_serious=15d" in before and "cn_serious=10d" in after
    from audit.integrity import integrity_check

    assert integrity_check(uow_factory()) == []


@pytest.mark.req("HO-01")
def test_a_group_event_is_still_reported_at_once_after_the_clocks_change(admin):
    pv = admin
    pv.ok("admin", "/adr-clocks/cn_serious", CHANGE)
    pv.ok("admin", "/adr-clocks/cn_other", {**CHANGE, "days": 20})
    cid = classified(pv)
    group = pv.ok("qa_officer", f"/complaints/{cid}/adr", {**CASE, "group_event": True}, 201)
    reports = sorted(adr_reports(pv, group["number"]))
    assert len(reports) == 4
    assert [due for _authority, due, _status in reports].count("2026-11-01") == 3  # the three authorities, at once
    assert (CHINA, "2026-11-11", "overdue") in reports  # the serious reaction itself, on the changed clock


@pytest.mark.req("HO-01")
def test_only_the_administrator_changes_a_clock_and_a_refused_or_bad_change_stores_nothing(app, admin):
    pv = admin
    before_clocks, before_events = clocks(pv), clock_events(app)
    business = "SELECT count(*) FROM audit_events WHERE action NOT LIKE 'user.%'"
    count = rows(app, business)[0][0]
    for role in ("qa_head", "qa_officer", "pv_officer", "regulatory_affairs"):
        assert pv.post(role, "/adr-clocks/cn_serious", CHANGE).status_code == 403, role
    for body, field in (({**CHANGE, "days": -1}, "days"), ({**CHANGE, "days": 366}, "days"),
                        ({**CHANGE, "days": "10"}, "days"), ({**CHANGE, "days": 15}, "days"),
                        ({**CHANGE, "reason": ""}, "reason"), ({**CHANGE, "change_control_ref": ""},
                                                                "change_control_ref")):
        response = pv.post("admin", "/adr-clocks/cn_serious", body)
        assert response.status_code == 400 and field in response.get_json()["error"]["fields"], response.get_json()
    assert pv.post("admin", "/adr-clocks/cn_sometimes", CHANGE).status_code == 404
    assert clocks(pv) == before_clocks and clock_events(app) == before_events
    assert rows(app, business)[0][0] == count


@pytest.mark.req("HO-01")
def test_the_administrator_changes_a_clock_on_its_page(app, admin, client):
    login(client, "root.admin", admin.credentials["admin"][1])
    page = client.get("/admin/adr-clocks")
    assert page.status_code == 200 and "cn_serious" in page.get_data(as_text=True)
    token = csrf_token(client, "/admin/adr-clocks")
    bad = client.post("/admin/adr-clocks", data={"csrf_token": token, "rule": "cn_serious", "days": "ten",
                                                 "reason": "r", "change_control_ref": "CC-1"})
    assert bad.status_code == 400
    done = client.post("/admin/adr-clocks", data={"csrf_token": token, "rule": "eu_non_serious", "days": "60",
                                                  "reason": "GVP 修订", "change_control_ref": "CC-2026-040"})
    assert done.status_code == 302
    assert clocks(admin)["eu_non_serious"] == 60
    other = app.test_client()  # the QA head's browser is refused the page
    login(other, "liu.yang", admin.credentials["qa_head"][1])
    assert other.get("/admin/adr-clocks").status_code == 403

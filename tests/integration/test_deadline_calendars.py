"""A calendar change never silently moves a due date already calculated (WF-05): the official 2027 notice, with
its Spring Festival and two adjusted Saturdays (调休), is loaded while complaints count their dates on the
provisional 2027 calendar. The dates stay, are listed as calculated on an earlier calendar, `gmp tick` acts on
them, and only QA's explicit, audited recalculation moves them. SQLite and PostgreSQL."""
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gmp_complaints.cli import main
from tests.conftest import csrf_token, environment_for, login, signing_key_path
from tests.integration.test_complaints_api import api, assign_investigator, registration  # noqa: F401
from tests.integration.test_signatures import sign

TODAY = "2027-01-25"  # a Monday, 2027 still provisional on the seeded calendar
#: the official 2027 notice as it might read: Spring Festival 8-12 and 15-16 February off, Saturdays 6 and 20
#: February working days (调休); it replaces the provisional year
NOTICE_2027 = ("date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,adjusted_workday,春节调休\n"
               + "".join(f"2027-02-{d:02d},holiday,春节\n" for d in (8, 9, 10, 11, 12, 15, 16))
               + "2027-02-20,adjusted_workday,春节调休\n")


@pytest.fixture
def settings(tmp_path, database_url, tmp_path_factory):
    from gmp_complaints.config import load_settings

    env = environment_for(database_url, tmp_path / "instance", signing_key_path(tmp_path_factory))
    env["GMP_TODAY"] = TODAY
    return load_settings(env)


def rows(app, sql, **params):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(sql), params).all()


def classified_ii(caller) -> int:
    """Received today and classified II: its investigation (15 working days) and formal reply (20) run
    through the Spring Festival."""
    cid = caller.ok("intake", "/complaints", registration(received_on=TODAY), 201)["id"]
    caller.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    caller.ok("qa_officer", f"/complaints/{cid}/classification", {"complaint_class": "II", "rationale": "r",
                                                                  "adr_suspected": False})
    return cid


def replied_today(caller) -> int:
    """Class III, investigated, assessed (not reasonable) and answered today: its reminder is 25 working days on."""
    cid = caller.ok("intake", "/complaints", registration(received_on=TODAY), 201)["id"]
    caller.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    caller.ok("qa_officer", f"/complaints/{cid}/classification", {"complaint_class": "III", "rationale": "r",
                                                                  "adr_suspected": False})
    assign_investigator(caller, cid)
    caller.ok("investigator", f"/complaints/{cid}/investigation", {"root_cause": "r", "impact": "i",
                                                                   "other_batches_affected": "无",
                                                                   "substantiated": True})
    caller.ok("qa_officer", f"/complaints/{cid}/assessment", {"reasonable": False, "actions": [],
                                                              "adr_confirmed": False,
                                                              "regulator_report_required": False})
    caller.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})
    return cid


def load_notice(uow_factory, admin_id):
    from gmp_complaints.services.calendars import load_official_notice

    return load_official_notice(uow_factory(), csv_text=NOTICE_2027, filename="2027.csv", actor_id=admin_id,
                                reason="国办发明电〔2026〕27号", change_control_ref="CC-2027-001")


def tick(app, day: str) -> str:
    settings = app.config["GMP_SETTINGS"]
    env = {"DATABASE_URL": settings.database_url, "GMP_INSTANCE_PATH": str(settings.instance_path), "GMP_ENV": "test",
           "GMP_TODAY": day, "GMP_SIGNING_KEY_PATH": str(settings.signing_key_path)}
    result = CliRunner(env=env).invoke(main, ["tick"])
    assert result.exit_code == 0, result.output
    return result.output


def events_of(app, cid):
    return rows(app, "SELECT action, canonical FROM audit_events WHERE entity_type = 'complaint' AND entity_id = :id "
                     "ORDER BY log_index", id=str(cid))


def state_of(app, cid):
    """What a refused act must leave as it was: the complaint's row, its kept dates and its business events."""
    return (rows(app, "SELECT status, version FROM complaints WHERE id = :id", id=cid),
            rows(app, "SELECT kind, due_on, kept_at FROM kept_due_dates WHERE complaint_id = :id ORDER BY kind",
                 id=cid),
            rows(app, "SELECT count(*) FROM audit_events WHERE action NOT LIKE 'user.%'"))


@pytest.mark.req("WF-05")
def test_loading_the_official_notice_keeps_the_calculated_dates_lists_them_and_tick_acts_on_them(
        app, api, make_user, uow_factory):  # noqa: F811
    admin_id, _ = make_user("root.admin", "admin")
    first = classified_ii(api)
    replied = replied_today(api)
    before = api.get("qa_officer", f"/complaints/{first}").get_json()["deadlines"]
    # On the provisional 2027 calendar (Spring Festival 5 and 8-10 February, no adjusted Saturday):
    assert (before["investigation_due_on"], before["formal_reply_due_on"], before["provisional"]) == (
        "2027-02-19", "2027-02-26", True)
    assert api.get("qa_officer", f"/complaints/{replied}").get_json()["deadlines"]["reminder_due_on"] == "2027-03-05"

    assert load_notice(uow_factory, admin_id) == [2027]

    # Nothing moved: the complaint shows the dates it was given, and says which the new calendar would change.
    after = api.get("qa_officer", f"/complaints/{first}").get_json()
    assert after["deadlines"] == before
    # Counted on the notice: 26-29 January, 1-5 February, Saturday 6, then 17-19, Saturday 20, 22 February
    # (investigation, 15), and on to 1 March (formal reply, 20).
    assert after["due_dates_on_earlier_calendar"] == [
        {"kind": "investigation", "due_on": "2027-02-19", "on_calendar_in_force": "2027-02-22"},
        {"kind": "formal_reply", "due_on": "2027-02-26", "on_calendar_in_force": "2027-03-01"}]
    answered = api.get("qa_officer", f"/complaints/{replied}").get_json()
    assert answered["deadlines"]["reminder_due_on"] == "2027-03-05"
    assert {"kind": "reminder", "due_on": "2027-03-05", "on_calendar_in_force": "2027-03-08"} in answered[
        "due_dates_on_earlier_calendar"]
    listed = api.get("investigator", "/deadline-recalculations").get_json()["complaints"]
    assert [c["id"] for c in listed] == [first, replied]
    assert listed[0]["due_dates"][0] == {"kind": "investigation", "calendar": "CN", "counted_from": TODAY,
                                         "working_days": 15, "due_on": "2027-02-19",
                                         "on_calendar_in_force": "2027-02-22", "provisional": False}
    # The keeping is a system act on each complaint's trail; the notice's own event counts what waits.
    kept = [json.loads(c)["changes"] for a, c in events_of(app, first) if a == "complaint.due_dates_kept"]
    assert len(kept) == 1 and "investigation=2027-02-19 (CN 2027-01-25+15)" in kept[0]["due_dates"][1]
    notice = json.loads(rows(app, "SELECT canonical FROM audit_events WHERE action = 'calendar.notice_loaded'")[0][0])
    assert notice["changes"]["complaints_on_earlier_calendar"] == [None, 2]
    from gmp_complaints.services.calendars import calendar_overview

    assert calendar_overview(uow_factory(), 2027)["complaints_on_earlier_calendar"] == 2

    # `gmp tick` reminds the customer on the kept date (5 March), not on the one the new notice gives (8 March).
    assert "Reminders sent: 0" in tick(app, "2027-03-04")
    assert "Reminders sent: 1" in tick(app, "2027-03-05")
    reminded = api.get("qa_officer", f"/complaints/{replied}").get_json()
    assert reminded["reminders"] == [{"sent_on": "2027-03-05", "by_system": True}]
    from audit.integrity import integrity_check

    assert integrity_check(uow_factory()) == []


@pytest.mark.req("WF-05")
def test_qa_recalculates_explicitly_with_an_audited_reason_and_a_refused_recalculation_changes_nothing(
        app, api, client, make_user, uow_factory):  # noqa: F811
    admin_id, _ = make_user("root.admin", "admin")
    first, second = classified_ii(api), classified_ii(api)
    done = replied_today(api)
    api.ok("intake", f"/complaints/{done}/customer-responses",
           {"received_on": TODAY, "satisfied": True, "text": "满意"})
    load_notice(uow_factory, admin_id)
    # A complaint closed after the notice keeps its dates as they were: nothing to recalculate on it.
    assert sign(api, "qa_head", done, "audit_trail_review").status_code == 201
    assert api.ok("qa_head", f"/complaints/{done}/closure", api.signed("qa_head", {"comment": "同意关闭"}))[
        "status"] == "closed"
    assert rows(app, "SELECT count(*) FROM kept_due_dates WHERE complaint_id = :id", id=done)[0][0] == 5

    body = {"reason": "2027 年春节放假通知已发布，按正式日历重新计算"}
    for who, target, payload, status in (("investigator", first, body, 403), ("intake", first, body, 403),
                                         ("qp", first, body, 403), ("qa_officer", first, {"reason": " "}, 400),
                                         ("qa_officer", done, body, 409), ("qa_officer", 999, body, 404)):
        unchanged = state_of(app, target)
        response = api.post(who, f"/complaints/{target}/deadline-recalculation", payload)
        assert response.status_code == status, (who, response.get_json())
        assert state_of(app, target) == unchanged, who
        if status == 400:
            assert "reason" in response.get_json()["error"]["fields"]

    recalculated = api.ok("qa_officer", f"/complaints/{first}/deadline-recalculation", body)
    assert (recalculated["deadlines"]["investigation_due_on"], recalculated["deadlines"]["formal_reply_due_on"],
            recalculated["deadlines"]["provisional"]) == ("2027-02-22", "2027-03-01", False)
    assert recalculated["due_dates_on_earlier_calendar"] == []
    event = api.get("qa_officer", f"/audit/events?entity=complaint:{first}").get_json()["events"][-1]
    assert event["action"] == "complaint.due_dates_recalculated" and event["reason"] == body["reason"]
    assert event["actor"]["name"] == "Li.Na Tester"
    assert event["changes"]["investigation_due_on"] == ["2027-02-19", "2027-02-22"]
    assert event["changes"]["formal_reply_due_on"] == ["2027-02-26", "2027-03-01"]
    assert "investigation=2027-02-22 (CN 2027-01-25+15)" in event["changes"]["due_dates"][1]
    assert api.post("qa_officer", f"/complaints/{first}/deadline-recalculation", body).status_code == 409

    # The list on the page: QA recalculates what is left in one act, one audited event per complaint.
    login(client, "li.na", api.credentials["qa_officer"][1])
    page = client.get("/complaints/due-dates").get_data(as_text=True)
    assert "2027-02-22" in page and f'value="{second}"' in page and f'value="{first}"' not in page
    token = csrf_token(client, "/complaints/due-dates")
    assert client.post("/complaints/due-dates", data={"csrf_token": token, "reason": ""}).status_code == 400
    assert client.post("/complaints/due-dates", data={"csrf_token": token, "reason": "正式通知"}).status_code == 302
    assert api.get("qa_officer", "/deadline-recalculations").get_json()["complaints"] == []
    second_now = api.get("qa_officer", f"/complaints/{second}").get_json()["deadlines"]
    assert second_now["investigation_due_on"] == "2027-02-22"
    assert [a for a, _c in events_of(app, second)].count("complaint.due_dates_recalculated") == 1
    assert api.post("qa_officer", "/deadline-recalculations", body).status_code == 409  # nothing waits
    from audit.integrity import integrity_check

    assert integrity_check(uow_factory()) == []

"""The field alert's dates on the US federal calendar keep the calendar they were calculated on (WF-05, HO-04): an
executive order closing federal offices on Thursday 12 November 2026 is loaded after an initial field alert
became due; the register entry keeps its due day, `gmp tick` reminds on the kept working day 2, and QA's explicit
recalculation moves the entry's due time, audited. SQLite and PostgreSQL."""
import csv
import io
import json

import pytest

from tests.conftest import environment_for, signing_key_path
from tests.integration.test_complaints_api import api, registration  # noqa: F401
from tests.integration.test_deadline_calendars import rows, tick
from tests.integration.test_field_alerts_and_pv_requests import classified_with_field_alert, field_alerts, us_product
from tests.integration.test_pharmacovigilance import pv_api  # noqa: F401

TODAY = "2026-11-09"  # a Monday; Veterans Day, Wednesday 11 November, is a federal holiday


@pytest.fixture
def settings(tmp_path, database_url, tmp_path_factory):
    from gmp_complaints.config import load_settings

    env = environment_for(database_url, tmp_path / "instance", signing_key_path(tmp_path_factory))
    env["GMP_TODAY"] = TODAY
    return load_settings(env)


def us_calendar_2026_with_a_closure() -> str:
    """The US federal days of 2026 as seeded, plus a closure by executive order on 12 November."""
    from gmp_complaints.calendar_seed import us_federal_days

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "kind", "name"])
    for day in us_federal_days(2026, 2026):
        writer.writerow([day.day.isoformat(), day.kind.value, day.name])
    writer.writerow(["2026-11-12", "holiday", "Executive order: federal offices closed"])
    return out.getvalue()


@pytest.mark.req("WF-05", "HO-04")
def test_a_us_calendar_change_keeps_the_field_alert_dates_until_qa_recalculates_them(
        app, pv_api, make_user, uow_factory):  # noqa: F811
    from gmp_complaints.services.calendars import US_CALENDAR, load_official_notice

    pv = pv_api
    admin_id, _ = make_user("root.admin", "admin")
    us_product(pv)
    complaint = classified_with_field_alert(pv, received_on=TODAY)
    cid, number = complaint["id"], complaint["number"]
    [initial] = field_alerts(pv, number)
    assert initial["due_at"].startswith("2026-11-13T23:59:59")  # 10, 12, 13 November: Veterans Day is off

    load_official_notice(uow_factory(), csv_text=us_calendar_2026_with_a_closure(), filename="eo-2026.csv",
                         actor_id=admin_id, reason="Executive order closing federal offices",
                         change_control_ref="CC-2026-077", code=US_CALENDAR)

    [kept] = field_alerts(pv, number)
    assert kept["due_at"] == initial["due_at"]  # the register entry did not move with the calendar
    listed = pv.get("qa_officer", f"/complaints/{cid}").get_json()["due_dates_on_earlier_calendar"]
    assert listed == [{"kind": "field_alert", "due_on": "2026-11-13", "on_calendar_in_force": "2026-11-16"},
                      {"kind": "field_alert_reminder_2", "due_on": "2026-11-12", "on_calendar_in_force": "2026-11-13"}]

    # `gmp tick` reminds on the kept working day 2 (12 November), which the new calendar would put on the 13th.
    tick(app, "2026-11-12")
    assert rows(app, "SELECT reminders_sent FROM notifications WHERE id = :id", id=initial["id"])[0][0] == 2

    body = {"reason": "联邦机构 11 月 12 日关闭，按现行美国日历重新计算"}
    assert pv.post("regulatory_affairs", f"/complaints/{cid}/deadline-recalculation", body).status_code == 403
    assert field_alerts(pv, number)[0]["due_at"] == initial["due_at"]
    recalculated = pv.ok("qa_head", f"/complaints/{cid}/deadline-recalculation", body)
    assert recalculated["due_dates_on_earlier_calendar"] == []
    [moved] = field_alerts(pv, number)
    assert moved["due_at"].startswith("2026-11-16T23:59:59")
    [(entity_id, canonical)] = rows(app, "SELECT entity_id, canonical FROM audit_events "
                                         "WHERE action = 'notification.due_recalculated'")
    event = json.loads(canonical)
    assert event["reason"] == body["reason"] and entity_id == str(initial["id"])
    assert event["changes"]["due_at"][0].startswith("2026-11-13") and event["changes"]["due_at"][1].startswith(
        "2026-11-16")
    complaint_event = json.loads(rows(app, "SELECT canonical FROM audit_events WHERE action = "
                                           "'complaint.due_dates_recalculated'")[0][0])
    assert complaint_event["changes"]["field_alert_due_on"] == ["2026-11-13", "2026-11-16"]
    from audit.integrity import integrity_check

    assert integrity_check(uow_factory()) == []

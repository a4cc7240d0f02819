"""The site calendar is data in the database, edited by the administrator with an audit trail (WF-05)."""
import io
from datetime import date

import pytest

from gmp_complaints.services.calendars import load_calendar, load_official_notice
from tests.conftest import csrf_token, login

NOTICE_2027 = "date,kind,name\n2027-10-01,holiday,国庆节\n2027-10-04,holiday,国庆节\n2027-09-26,adjusted_workday,国庆调休\n"


@pytest.mark.req("WF-05")
def test_the_official_notice_makes_a_year_official_and_is_audited(app, uow_factory, make_user):
    admin_id, _ = make_user("root.admin", "admin")
    before = uow_factory()
    with before:
        assert load_calendar(before.session).deadline(date(2026, 12, 28), 5).provisional is True
    assert load_official_notice(uow_factory(), csv_text=NOTICE_2027, filename="2027.csv", actor_id=admin_id,
                                reason="国办发明电〔2026〕x号", change_control_ref="CC-2026-050") == [2027]
    unit = uow_factory()
    with unit:
        calendar = load_calendar(unit.session)
    assert calendar.is_working_day(date(2027, 9, 26)) and not calendar.is_working_day(date(2027, 10, 4))
    assert calendar.deadline(date(2026, 12, 28), 5).provisional is False
    from audit.integrity import integrity_check

    assert integrity_check(uow_factory()) == []


@pytest.mark.req("WF-05")
def test_the_calendar_page_loads_a_notice_and_reports_bad_rows(client, make_user):
    _, password = make_user("root.admin", "admin")
    login(client, "root.admin", password)
    token = csrf_token(client, "/admin/calendar")
    bad = client.post("/admin/calendar", data={"csrf_token": token, "reason": "annual notice",
                                               "change_control_ref": "CC-2026-050", "file": (io.BytesIO(b"date,kind,name\n2027-02-30,holiday,x\n"), "n.csv")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and "line 2" in bad.get_data(as_text=True)
    no_reason = client.post("/admin/calendar", data={"csrf_token": token, "reason": "",
                                                     "file": (io.BytesIO(NOTICE_2027.encode()), "n.csv")},
                            content_type="multipart/form-data")
    assert no_reason.status_code == 400
    ok = client.post("/admin/calendar", data={"csrf_token": token, "reason": "annual notice",
                                              "change_control_ref": "CC-2026-050", "file": (io.BytesIO(NOTICE_2027.encode()), "n.csv")},
                     content_type="multipart/form-data")
    assert ok.status_code == 302
    assert "国庆调休" in client.get("/admin/calendar?year=2027").get_data(as_text=True)

"""Requirements of sections AT and SIG of the baseline that no other test proved, or proved only in part:
each test below states in its name what it proves, and every assertion can fail. SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime

import pytest
import sqlalchemy as sa

from tests.conftest import STRONG_PASSWORD, csrf_token, execute_sql, login
from tests.integration.test_complaints_api import (  # noqa: F401 (fixtures)
    TODAY,
    api,
    assign_investigator,
    registration,
    settings,
)
from tests.integration.test_signatures import classified, sign

CLIENT_TIME = "2001-02-03T04:05:06+00:00"  # what a client might claim as the time of its action


def _database_now(app) -> datetime:
    from gmp_complaints.db import database_clock_expression, parse_database_clock

    engine = app.extensions["gmp_engine"]
    with engine.connect() as connection:
        return parse_database_clock(connection.execute(
            sa.select(database_clock_expression(engine.dialect.name))).scalar_one())


def _events(api, entity: str) -> list[dict]:
    return api.get("auditor", f"/audit/events?entity={entity}").get_json()["events"]


def _stored_events(app, **where) -> list[dict]:
    query = "SELECT log_index, actor_id, action, entity_id, canonical FROM audit_events"
    if where:
        query += " WHERE " + " AND ".join(f"{k} = :{k}" for k in where)
    with app.extensions["gmp_engine"].connect() as connection:
        rows = connection.execute(sa.text(query + " ORDER BY log_index"), where).all()
    return [{**row._mapping, "doc": json.loads(bytes(row.canonical) if not isinstance(row.canonical, str)
                                               else row.canonical)} for row in rows]


# --- AT -------------------------------------------------------------------------------------------------------


@pytest.mark.req("AT-05")
def test_audit_and_signature_times_come_from_the_database_clock_never_from_the_client(app, api):
    """A time sent in the body or the headers of a request never becomes the time of the action; each action is
    stamped when it happens, so two actions in a row get two increasing times, both between two readings of the
    database clock (and the pinned business date of the test, 2026-11-20, does not set them either)."""
    claims = {"occurred_at": CLIENT_TIME, "created_at": CLIENT_TIME, "signed_at": CLIENT_TIME, "timestamp": CLIENT_TIME}
    headers = {"Authorization": f"Bearer {api.tokens['intake']}", "Date": "Sat, 03 Feb 2001 04:05:06 GMT",
               "X-Client-Time": CLIENT_TIME}
    before = _database_now(app)
    registered = api.client.post("/api/v1/complaints", json={**registration(), **claims}, headers=headers)
    assert registered.status_code == 201, registered.get_json()
    cid = registered.get_json()["id"]
    time.sleep(0.02)
    acknowledged = api.client.post(f"/api/v1/complaints/{cid}/acknowledgement", headers=headers, json={
        "sent_on": "2026-11-03", "method": "phone", **claims})
    assert acknowledged.status_code == 200, acknowledged.get_json()
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True, **claims})
    api.ok("qa_officer", f"/complaints/{cid}/classification",
           {"complaint_class": "II", "rationale": "r", "adr_suspected": False, **claims})
    time.sleep(0.02)
    signed = api.post("qp", f"/complaints/{cid}/signatures",
                      api.signed("qp", {"step": "qp_acknowledgement", **claims}))
    assert signed.status_code == 201, signed.get_json()
    after = _database_now(app)

    events = _events(api, f"complaint:{cid}")
    at = {e["action"]: datetime.fromisoformat(e["occurred_at"]) for e in events}
    sequence = [at["complaint.registered"], at["complaint.acknowledge"], at["complaint.validity"],
                at["complaint.classify"], at["signature.signed"]]
    assert all(t.utcoffset() is not None for t in sequence)
    assert before <= sequence[0] and sequence[-1] <= after  # the database clock, read around the requests
    assert sequence == sorted(sequence) and len(set(sequence)) == len(sequence)  # one time per action, increasing
    assert all(t.year != 2001 for t in sequence)
    [signature] = signed.get_json()["signatures"]
    signed_at = datetime.fromisoformat(signature["signed_at"])  # shown to the second
    assert signed_at == at["signature.signed"].replace(microsecond=0)
    assert before.replace(microsecond=0) <= signed_at <= after
    # Stored in UTC, as the database clock gave it.
    [stored] = [e for e in _stored_events(app, action="complaint.registered", entity_id=str(cid))]
    assert stored["doc"]["occurred_at"].endswith("Z")
    assert datetime.fromisoformat(stored["doc"]["occurred_at"]) == sequence[0]


@pytest.mark.req("AT-04")
def test_a_void_keeps_the_record_and_every_earlier_value_and_signature_visible_to_reviewers(app, api):
    cid = classified(api, "II")
    assert sign(api, "qp", cid, "qp_acknowledgement").status_code == 201
    api.ok("qa_officer", f"/complaints/{cid}/batches", {"batch_nos": ["B2603"], "reason": "客户补充照片：批号 B2603"})
    # There is no deletion: the API refuses it and the database refuses it.
    refused = api.client.delete(f"/api/v1/complaints/{cid}",
                                headers={"Authorization": f"Bearer {api.tokens['qa_head']}"})
    assert refused.status_code in (405, 409)
    with pytest.raises(sa.exc.DatabaseError):
        execute_sql(app, "DELETE FROM complaints WHERE id = :id", id=cid)
    api.ok("qa_officer", f"/complaints/{cid}/void-requests", {"reason": "重复登记，见 TS-II-26-002"})
    assert sign(api, "qa_head", cid, "void_approval", comment="同意作废").status_code == 201
    voided = api.get("auditor", f"/complaints/{cid}").get_json()
    assert voided["status"] == "void" and voided["number"] == "TS-II-26-001"
    assert voided["description"] == "瓶盖破裂，胶囊受潮" and voided["batch_nos"] == ["B2603"]
    assert voided["classification"]["rationale"] == "r"
    assert [(v["reason"], v["status"]) for v in voided["void_requests"]] == [("重复登记，见 TS-II-26-002", "approved")]
    # The signature on the earlier version stays, shown as superseded, beside the void approval.
    assert [(s["step"], s["status"]) for s in voided["signatures"]] == [
        ("qp_acknowledgement", "superseded"), ("void_approval", "valid")]
    # The trail keeps the earlier batch and the reasons, for the reviewer to read.
    events = _events(api, f"complaint:{cid}")
    [changed] = [e for e in events if e["action"] == "complaint.batches_changed"]
    with app.extensions["gmp_engine"].connect() as connection:
        batch_id = dict(connection.execute(sa.text("SELECT batch_no, id FROM batches")).all())
    assert changed["changes"]["batch_ids"] == [[batch_id["B2602"]], [batch_id["B2603"]]]
    assert changed["changes"]["retention_until"] == ["2029-02-09", "2029-03-09"]
    assert changed["reason"] == "客户补充照片：批号 B2603"
    [void] = [e for e in events if e["action"] == "complaint.void"]
    assert void["changes"]["status"] == ["under_investigation", "void"] and void["reason"].startswith("重复登记")
    client = app.test_client()
    login(client, *api.credentials["auditor"])
    page = client.get(f"/audit/?entity=complaint:{cid}").get_data(as_text=True)
    assert "客户补充照片" in page and "2029-02-09" in page and "重复登记" in page
    # ... with the batches by their numbers, not the database's ids
    assert "B2602" in page and "B2603" in page
    csv_text = client.get(f"/audit/events.csv?entity=complaint:{cid}").get_data(as_text=True)
    assert "B2602" in csv_text and "B2603" in csv_text


@pytest.mark.req("AT-06")
def test_the_trail_is_filtered_by_user_and_by_date_range_in_the_page_and_the_csv(app, api, make_user, approved_change):
    admin_id, _ = make_user("root.admin", "admin", printed_name="孙强 Sun Qiang")
    user_id, _ = make_user("temp.worker", "investigator")
    # The administrator's requests carry the reasons; the head of quality's approvals make the changes (SEC-04).
    approved_change(admin_id, kind="change_roles", user_id=user_id, roles=["qa_officer"], reason="转岗")
    approved_change(admin_id, kind="deactivate_user", user_id=user_id, reason="离职")
    client = app.test_client()
    login(client, *api.credentials["auditor"])

    def csv_rows(query: str) -> list[dict]:
        text = client.get(f"/audit/events.csv?{query}&lang=en").get_data(as_text=True).lstrip("\ufeff")
        return list(csv.reader(io.StringIO(text)))[1:]

    by_admin = csv_rows(f"actor={admin_id}")
    assert by_admin and {row[2] for row in by_admin} == {"孙强 Sun Qiang"}
    assert {row[8] for row in by_admin} >= {"转岗", "离职"}
    everyone = csv_rows("")
    assert len(everyone) > len(by_admin)  # the filter left the others out
    page = client.get(f"/audit/?actor={admin_id}").get_data(as_text=True).split('id="audit-events"')[1]
    assert "孙强 Sun Qiang" in page and "Zhao.Lei Tester" not in page and "Wang.Fang Tester" not in page
    # By date range, in site days: the day of the events holds them, a day long past holds none.
    today = _events(api, f"user:{user_id}")[-1]["occurred_at"][:10]
    assert {"转岗", "离职"} <= {row[8] for row in csv_rows(f"from={today}&to={today}")}
    assert csv_rows("from=2001-01-01&to=2001-12-31") == []
    past = client.get("/audit/?from=2001-01-01&to=2001-12-31").get_data(as_text=True).split('id="audit-events"')[1]
    assert "孙强 Sun Qiang" not in past and "转岗" not in past


@pytest.mark.req("AT-09")
def test_log_ins_password_changes_and_log_outs_are_recorded_with_user_time_and_source_address(app, make_user):
    user_id, temporary = make_user("li.na", "qa_officer", temporary=True)
    address = {"REMOTE_ADDR": "10.20.30.40"}
    client = app.test_client()
    changed = client.post("/api/v1/auth/password", environ_base=address, json={
        "username": "li.na", "old_password": temporary, "new_password": STRONG_PASSWORD})
    assert changed.status_code == 204
    assert client.post("/api/v1/auth/token", environ_base=address,
                       json={"username": "li.na", "password": STRONG_PASSWORD}).status_code == 200
    page = app.test_client()
    token = csrf_token(page, "/login")
    assert page.post("/login", environ_base=address, data={"csrf_token": token, "username": "li.na",
                                                           "password": STRONG_PASSWORD}).status_code == 302
    assert page.post("/logout", environ_base=address, data={"csrf_token": csrf_token(page, "/")}).status_code == 302
    recorded = [e for e in _stored_events(app, entity_id=str(user_id))
                if e["action"] in ("user.password_changed", "user.logged_in", "user.logged_out")]
    assert [(e["action"], (e["doc"]["changes"].get("via") or [None, None])[1]) for e in recorded] == [
        ("user.password_changed", None), ("user.logged_in", "api"), ("user.logged_in", "web"),
        ("user.logged_out", None)]
    for event in recorded:
        assert event["actor_id"] == user_id and event["doc"]["actor"]["name"] == "Li.Na Tester"
        assert event["doc"]["source_ip"] == "10.20.30.40"
        assert event["doc"]["occurred_at"].endswith("Z")


@pytest.mark.req("AT-10")
def test_a_calendar_change_is_made_only_by_the_administrator_with_a_reason_and_change_control_and_is_audited(
        app, make_user):
    notice = b"date,kind,name\n2027-10-01,holiday,National Day\n2027-09-26,adjusted_workday,National Day make-up\n"
    admin_id, _ = make_user("root.admin", "admin")
    make_user("liu.yang", "qa_head")

    def upload(client, reason, change_control_ref="CC-2026-031"):
        return client.post("/admin/calendar", content_type="multipart/form-data", data={
            "csrf_token": csrf_token(client, "/admin/calendar"), "reason": reason,
            "change_control_ref": change_control_ref, "file": (io.BytesIO(notice), "2027.csv")})

    head = app.test_client()
    login(head, "liu.yang", STRONG_PASSWORD)
    assert head.get("/admin/calendar").status_code == 403
    admin = app.test_client()
    login(admin, "root.admin", STRONG_PASSWORD)
    assert upload(admin, "").status_code == 400
    no_ref = upload(admin, "国办发明电〔2026〕x号", change_control_ref="")
    assert no_ref.status_code == 400 and 'id="change_control_ref"' in no_ref.get_data(as_text=True)
    assert "has-error" in no_ref.get_data(as_text=True).split('id="change_control_ref"')[0].rsplit("<div", 1)[1]
    assert _stored_events(app, action="calendar.notice_loaded") == []
    assert "National Day make-up" not in admin.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert upload(admin, "国办发明电〔2026〕x号，变更单 CC-2026-031").status_code == 302
    [event] = _stored_events(app, action="calendar.notice_loaded")
    assert event["actor_id"] == admin_id and "CC-2026-031" in event["doc"]["reason"]
    assert event["doc"]["changes"]["change_control_ref"] == [None, "CC-2026-031"]  # kept in the event itself
    old_days, new_days = event["doc"]["changes"]["days"]
    assert any("2027-09-26" in day for day in new_days) and not any("2027-09-26" in day for day in old_days)
    assert "National Day make-up" in admin.get("/admin/calendar?year=2027").get_data(as_text=True)


# --- SIG ------------------------------------------------------------------------------------------------------


@pytest.mark.req("SIG-01")
def test_a_signature_shows_meaning_printed_name_and_time_with_offset_on_the_page_and_in_the_pdf(app, api):
    from tests.integration.test_documents import pdf_text

    cid = classified(api, "II")
    [signature] = sign(api, "qp", cid, "qp_acknowledgement", comment="已知悉").get_json()["signatures"]
    assert (signature["meaning"], signature["signer_name"]) == ("acknowledged", "Chen.Jing Tester")
    local = signature["signed_at_local"]
    assert local.endswith("+08:00") and local[:19] == signature["signed_at"][:19].replace("T", " ")
    line = signature["manifestation"]["zh_CN"]
    assert line.startswith(f"确认知悉 — Chen.Jing Tester — {local} — TS-II-26-001 第")
    client = app.test_client()
    login(client, *api.credentials["auditor"])
    html = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert line in html
    english = client.get(f"/complaints/{cid}/documents/handling_sheet.pdf?lang=en")
    assert english.status_code == 200
    text = pdf_text(english.data)
    assert f"Acknowledged — Chen.Jing Tester — {local}" in text
    chinese = pdf_text(client.get(f"/complaints/{cid}/documents/handling_sheet.pdf").data)
    assert f"确认知悉 — Chen.Jing Tester — {local}" in chinese


@pytest.mark.req("SIG-02")
def test_a_signature_cannot_be_moved_or_copied_to_another_record(app, api, uow_factory):
    from audit.integrity import integrity_check

    first, second = classified(api, "II"), classified(api, "II")
    [signature] = sign(api, "qp", first, "qp_acknowledgement").get_json()["signatures"]
    with app.extensions["gmp_engine"].connect() as connection:
        signature_id = connection.execute(sa.text("SELECT id FROM signatures")).scalar_one()
    # No request carries a signature over: naming the signature, its hash or its record signs nothing.
    for body in ({"step": "qp_acknowledgement", "signature_id": signature_id},
                 {"step": "qp_acknowledgement", "record_hash": signature["record_hash"], "record_id": str(first),
                  "signed_at": signature["signed_at"], "copy_from": first}):
        response = api.post("qp", f"/complaints/{second}/signatures", body)
        assert response.status_code == 400 and {"username", "password"} <= set(response.get_json()["error"]["fields"])
    assert api.get("qa_officer", f"/complaints/{second}").get_json()["signatures"] == []
    # The database refuses to move the row to the other record.
    with pytest.raises(sa.exc.DatabaseError):
        execute_sql(app, "UPDATE signatures SET record_id = :other WHERE id = :id", other=str(second), id=signature_id)
    # A copy made outside the application is found by the integrity check and does not count as a valid
    # signature of the other record.
    with app.extensions["gmp_engine"].connect() as connection:
        columns = [c["name"] for c in sa.inspect(connection).get_columns("signatures") if c["name"] != "id"]
    selected = ", ".join(f":other AS {c}" if c == "record_id" else c for c in columns)
    execute_sql(app, f"INSERT INTO signatures ({', '.join(columns)}) SELECT {selected} FROM signatures WHERE id = :id",
                other=str(second), id=signature_id)
    problems = [d.describe() for d in integrity_check(uow_factory()) if d.entity_type == "signature"]
    assert {"the row differs from its signed manifest", "signature row the trail never recorded"} <= {
        p.split(": ", 1)[1] for p in problems}, problems
    copied = api.get("qa_officer", f"/complaints/{second}").get_json()["signatures"]
    assert [(s["step"], s["status"]) for s in copied] == [("qp_acknowledgement", "superseded")]
    assert [s["status"] for s in api.get("qa_officer", f"/complaints/{first}").get_json()["signatures"]] == ["valid"]


@pytest.mark.req("SIG-03")
def test_every_signing_takes_the_signers_own_user_name_and_password(app, api):
    cid = classified(api, "II")
    username, password = api.credentials["qp"]
    path = f"/complaints/{cid}/signatures"
    missing_name = api.post("qp", path, {"step": "qp_acknowledgement", "password": password})
    assert missing_name.status_code == 400 and "username" in missing_name.get_json()["error"]["fields"]
    missing_password = api.post("qp", path, {"step": "qp_acknowledgement", "username": username})
    assert missing_password.status_code == 400 and "password" in missing_password.get_json()["error"]["fields"]
    other_name = api.post("qp", path, {"step": "qp_acknowledgement", "username": "liu.yang", "password": password})
    assert other_name.status_code in (401, 403)
    wrong_password = api.post("qp", path, {"step": "qp_acknowledgement", "username": username,
                                           "password": "not-the-password-0"})
    assert wrong_password.status_code == 401
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["signatures"] == []
    assert api.post("qp", path, {"step": "qp_acknowledgement", "username": username,
                                 "password": password}).status_code == 201
    # The next signing in the same session needs both again.
    api.ok("intake", "/complaints", registration(), 201)
    later = classified(api, "III")
    again = api.post("qp", f"/complaints/{later}/signatures", {"step": "qp_acknowledgement", "password": password})
    assert again.status_code == 400 and "username" in again.get_json()["error"]["fields"]
    # In the page as well: the signing form of a logged-in user asks for the user name and the password.
    client = app.test_client()
    login(client, username, password)
    form = {"csrf_token": csrf_token(client, f"/complaints/{later}"), "step": "qp_acknowledgement",
            "password": password, "comment": ""}
    client.post(f"/complaints/{later}/sign", data=form)
    assert api.get("qa_officer", f"/complaints/{later}").get_json()["signatures"] == []
    client.post(f"/complaints/{later}/sign", data={**form, "csrf_token": csrf_token(client, f"/complaints/{later}"),
                                                   "username": username})
    assert [s["step"] for s in api.get("qa_officer", f"/complaints/{later}").get_json()["signatures"]] == [
        "qp_acknowledgement"]

"""Signed disposal after the retention date (issue 17; DESIGN §2, §6; RET-02): never before `retention_until`, never
under a legal hold; it removes the content, keeps a tombstone with the hashes of what was removed, and the audit
log still verifies — `gmp integrity-check`, `gmp audit verify` of a full and of a partial export made afterwards
(which name the disposed events) and `gmp verify-storage` pass, run as an operator runs them; a body removed
outside a disposal is caught by every one of them. SQLite and PostgreSQL."""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa

from tests.integration.test_check_commands import gmp
from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401 (fixtures)
from tests.integration.test_signatures import _env_of, replied_and_satisfied, sign

DESCRIPTION = "瓶盖破裂，胶囊受潮"  # registration()'s description as received
AFTER_RETENTION = date(2029, 3, 1)  # batch B2602 expires 2028-02-09: kept until 2029-02-09



def _closed(api) -> tuple[int, dict]:
    cid = replied_and_satisfied(api)
    upload = api.client.post(f"/api/v1/complaints/{cid}/attachments", headers={
        "Authorization": f"Bearer {api.tokens['intake']}"}, data={"file": (io.BytesIO(b"%PDF-1.4 photo"), "photo.pdf")})
    assert upload.status_code == 201
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    return cid, upload.get_json()


def _on(app, day: date) -> None:
    app.config["GMP_SETTINGS"] = replace(app.config["GMP_SETTINGS"], today_override=day)


def _unchanged(api, app, cid):
    with app.extensions["gmp_engine"].connect() as connection:
        trail = connection.execute(sa.text("SELECT count(*) FROM audit_events WHERE action NOT LIKE 'user.%'")).scalar()
        bodies = connection.execute(sa.text("SELECT count(*) FROM audit_events WHERE disposal_id IS NULL")).scalar()
    return api.get("auditor", f"/complaints/{cid}").get_json(), trail, bodies


@pytest.mark.req("RET-02")
def test_disposal_after_the_date_keeps_a_tombstone_and_every_check_still_passes(app, api, tmp_path):
    cid, attachment = _closed(api)
    body = api.signed("qa_head", {"reason": "保存期限已满（SOP §8）"})
    due = api.get("qa_head", "/retention/disposal-due").get_json()["complaints"]
    assert due == []
    before = _unchanged(api, app, cid)
    early = api.post("qa_head", f"/complaints/{cid}/disposal", body)
    assert early.status_code == 409 and "2029-02-09" in early.get_json()["error"]["message"]
    assert _unchanged(api, app, cid) == before

    api.ok("qa_head", f"/complaints/{cid}/legal-hold", api.signed("qa_head", {"reason": "诉讼"}))
    _on(app, AFTER_RETENTION)
    assert [(c["id"], c["legal_hold"]) for c in api.get("qa_head", "/retention/disposal-due").get_json()["complaints"]] \
        == [(cid, True)]
    held = _unchanged(api, app, cid)
    refused = api.post("qa_head", f"/complaints/{cid}/disposal", body)
    assert refused.status_code == 409 and "legal hold" in refused.get_json()["error"]["message"]
    assert _unchanged(api, app, cid)[0] == held[0]
    api.ok("qa_head", f"/complaints/{cid}/legal-hold/release", api.signed("qa_head", {"reason": "诉讼结案"}))
    released = _unchanged(api, app, cid)
    wrong = api.post("qa_head", f"/complaints/{cid}/disposal", {**body, "password": "not-the-password-00"})
    assert wrong.status_code == 401 and _unchanged(api, app, cid)[0] == released[0]

    disposed = api.ok("qa_head", f"/complaints/{cid}/disposal", body)
    assert disposed["status"] == "disposed" and disposed["description"] == ""
    assert disposed["complainant"]["name"] is None and disposed["investigation"]["root_cause"] is None
    tombstone = disposed["disposal"]["tombstone"]
    assert (tombstone["number"], tombstone["intake_ref"], tombstone["status"]) == (
        disposed["number"], disposed["intake_ref"], "closed")
    removed = disposed["disposal"]["removed"]
    assert removed[f"attachment.{attachment['id']}.file"] == attachment["sha256"] and "complaint.description" in removed
    assert disposed["disposal"]["disposed_by"]["username"] == "liu.yang" and disposed["disposal"]["events_disposed"] > 10
    assert next(s for s in disposed["signatures"] if s["step"] == "disposal")["status"] == "valid"
    assert api.post("qa_head", f"/complaints/{cid}/disposal", body).status_code == 409  # once
    assert api.get("qa_head", f"/complaints/{cid}/attachments/{attachment['id']}").status_code == 409
    root = app.config["GMP_SETTINGS"].attachment_root
    assert not (root / attachment["sha256"][:2] / attachment["sha256"][2:4] / attachment["sha256"]).exists()
    with app.extensions["gmp_engine"].connect() as connection:
        # The description as received is nowhere in the database any more, the audit log included.
        for table, column in (("complaints", "description"), ("audit_events", "canonical")):
            rows = connection.execute(sa.text(f"SELECT {column} FROM {table}")).scalars().all()
            assert not [r for r in rows if DESCRIPTION in (r.decode() if isinstance(r, bytes) else (r or ""))]
    events = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    assert events[-1]["action"] in ("disposal.recorded", "signature.signed") or any(
        e["action"] == "complaint.disposed" for e in events)

    env = _env_of(app)
    checked = gmp(env, "integrity-check")
    assert checked.returncode == 0, checked.stdout
    for args in ((), ("--entity", f"complaint:{cid}")):
        bundle = tmp_path / f"trail{len(args)}.zip"
        assert gmp(env, "audit", "export", *args, "--out", str(bundle)).returncode == 0
        verified = gmp(env, "audit", "verify", str(bundle), "--strict")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "events disposed of after their retention date" in verified.stdout
    stored = gmp(env, "verify-storage")
    assert stored.returncode == 0, stored.stdout
    # The page shows the tombstone.
    from tests.conftest import STRONG_PASSWORD, login

    login(api.client, "liu.yang", STRONG_PASSWORD)
    page = api.client.get(f"/complaints/{cid}")
    assert page.status_code == 200 and 'id="disposal-notice"' in page.get_data(as_text=True)
    trail = api.client.get(f"/audit/?entity=complaint:{cid}").get_data(as_text=True)
    assert trail.count("内容已销毁") >= 10  # each disposed event says so in the auditor's view


@pytest.mark.req("RET-02", "AT-03")
def test_a_body_removed_outside_a_disposal_is_refused_or_caught(app, api, tmp_path):
    cid, _ = _closed(api)
    other, _ = _closed(api)
    engine = app.extensions["gmp_engine"]
    with engine.connect() as connection:
        victim = connection.execute(sa.text("SELECT min(log_index) FROM audit_events")).scalar_one()
    # Without a disposal the database refuses to touch an event.
    with pytest.raises(sa.exc.DBAPIError):
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT set_config('gmp.tx', 'tamper', true)"))
            connection.execute(sa.text("UPDATE audit_events SET canonical = :empty, reason = NULL, disposal_id = 999 "
                                       "WHERE log_index = :i"), {"empty": b"", "i": victim})
    # With a real disposal of another complaint, the database lets it through: the checks catch it.
    _on(app, AFTER_RETENTION)
    api.ok("qa_head", f"/complaints/{other}/disposal", api.signed("qa_head", {"reason": "保存期限已满"}))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT set_config('gmp.tx', 'tamper', true)"))
        disposal = connection.execute(sa.text("SELECT id FROM disposals")).scalar_one()
        target = connection.execute(sa.text(
            "SELECT min(log_index) FROM audit_events WHERE entity_type = 'complaint' AND entity_id = :c"),
            {"c": str(cid)}).scalar_one()
        connection.execute(sa.text("UPDATE audit_events SET canonical = :empty, reason = NULL, disposal_id = :d "
                                   "WHERE log_index = :i"), {"empty": b"", "d": disposal, "i": target})
    env = _env_of(app)
    checked = gmp(env, "integrity-check")
    assert checked.returncode == 1 and f"audit:{target}: event body removed without a recorded disposal" in checked.stdout
    bundle = tmp_path / "trail.zip"
    assert gmp(env, "audit", "export", "--out", str(bundle)).returncode == 0
    verified = gmp(env, "audit", "verify", str(bundle))
    assert verified.returncode == 1 and f"event {target}: marked disposed, but no disposal" in verified.stdout


@pytest.mark.req("RET-02")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_file_another_complaint_still_holds_is_kept(app, api):
    cid, attachment = _closed(api)
    other = api.ok("intake", "/complaints", registration(), 201)["id"]
    same = api.client.post(f"/api/v1/complaints/{other}/attachments", headers={
        "Authorization": f"Bearer {api.tokens['intake']}"}, data={"file": (io.BytesIO(b"%PDF-1.4 photo"), "same.pdf")})
    assert same.get_json()["sha256"] == attachment["sha256"]  # one stored file, two records
    _on(app, AFTER_RETENTION)
    api.ok("qa_head", f"/complaints/{cid}/disposal", api.signed("qa_head", {"reason": "保存期限已满"}))
    kept = api.get("qa_head", f"/complaints/{other}/attachments/{same.get_json()['id']}")
    assert kept.status_code == 200 and kept.data == b"%PDF-1.4 photo"


@pytest.mark.req("RET-02")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_file_a_capa_holds_as_evidence_is_kept(app, api):
    from tests.integration.test_capa import action, assessed
    from tests.integration.test_complaints_api import capa_body

    cid, attachment = _closed(api)
    capa_id = api.ok("qa_officer", "/capas", capa_body(assessed(api)), 201)["id"]
    act = action(api, capa_id)["actions"][0]["id"]
    evidence = api.client.post(f"/api/v1/capas/{capa_id}/actions/{act}/evidence", data={
        "file": (io.BytesIO(b"%PDF-1.4 photo"), "cert.pdf")}, headers={"Authorization": f"Bearer {api.tokens['investigator']}"})
    assert evidence.status_code == 201
    [stored] = evidence.get_json()["actions"][0]["evidence_files"]
    assert stored["sha256"] == attachment["sha256"]  # the same bytes: one stored file
    _on(app, AFTER_RETENTION)
    api.ok("qa_head", f"/complaints/{cid}/disposal", api.signed("qa_head", {"reason": "保存期限已满"}))
    kept = api.get("qa_head", f"/capas/{capa_id}/evidence/{stored['id']}")
    assert kept.status_code == 200 and kept.data == b"%PDF-1.4 photo"


@pytest.mark.req("RET-02")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_head_of_quality_disposes_from_the_pages(app, api):
    from tests.conftest import STRONG_PASSWORD, csrf_token, login

    cid, _ = _closed(api)
    client = app.test_client()
    login(client, "liu.yang", STRONG_PASSWORD)
    assert 'id="sign-disposal"' not in client.get(f"/complaints/{cid}").get_data(as_text=True)  # not yet due
    _on(app, AFTER_RETENTION)
    listed = client.get("/complaints/disposal-due").get_data(as_text=True)
    assert f'/complaints/{cid}#sign-disposal' in listed
    page = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'id="sign-disposal"' in page
    username, password = api.credentials["qa_head"]
    done = client.post(f"/complaints/{cid}/disposal", data={"csrf_token": csrf_token(client, f"/complaints/{cid}"),
                                                            "reason": "保存期限已满", "username": username,
                                                            "password": password})
    assert done.status_code == 302
    shown = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'id="disposal-notice"' in shown and 'id="sign-disposal"' not in shown
    assert f'/complaints/{cid}#sign-disposal' not in client.get("/complaints/disposal-due").get_data(as_text=True)


@pytest.mark.req("RET-02", "SIG-06")
def test_a_signed_batch_disposes_of_complaints_in_a_background_job_and_refuses_a_held_one(app, api):
    import time

    first, _ = _closed(api)
    second, _ = _closed(api)
    _on(app, AFTER_RETENTION)
    api.ok("qa_head", f"/complaints/{second}/legal-hold", api.signed("qa_head", {"reason": "诉讼"}))
    body = api.signed("qa_head", {"complaint_ids": [first, second], "reason": "保存期限已满（批量）"})
    before = _unchanged(api, app, first)
    held = api.post("qa_head", "/retention/disposal-batches", body)
    assert held.status_code == 409 and "legal hold" in held.get_json()["error"]["message"]
    assert _unchanged(api, app, first) == before
    assert api.post("qa_officer", "/retention/disposal-batches",
                    api.signed("qa_officer", {"complaint_ids": [first], "reason": "x"})).status_code == 403
    queued = api.post("qa_head", "/retention/disposal-batches", {**body, "complaint_ids": [first]})
    assert queued.status_code == 202, queued.get_json()
    job_id = queued.get_json()["id"]
    from gmp_complaints import unit_of_work
    from gmp_complaints.services import jobs

    for _ in range(300):
        job = jobs.get_job(unit_of_work(app), job_id)
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "done" and job["done"] == 1, job
    disposed = api.get("auditor", f"/complaints/{first}").get_json()
    assert disposed["status"] == "disposed"
    assert disposed["disposal"]["tombstone"]["authorised_by"]["batch_job"] == job_id
    assert api.get("auditor", f"/complaints/{second}").get_json()["status"] == "closed"  # held: kept
    with app.extensions["gmp_engine"].connect() as connection:
        signed = connection.execute(sa.text(
            "SELECT step, signer_username, record_type FROM signatures WHERE record_type = 'disposal_batch'")).all()
    assert [tuple(s) for s in signed] == [("disposal_batch", "liu.yang", "disposal_batch")]
    assert gmp(_env_of(app), "integrity-check").returncode == 0


@pytest.mark.req("RET-02")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_batch_is_signed_from_the_list_and_watched_on_the_job_page(app, api):
    import time

    from tests.conftest import STRONG_PASSWORD, csrf_token, login

    cid, _ = _closed(api)
    _on(app, AFTER_RETENTION)
    client = app.test_client()
    login(client, "liu.yang", STRONG_PASSWORD)
    assert f'id="dispose-{cid}"' in client.get("/complaints/disposal-due").get_data(as_text=True)
    username, password = api.credentials["qa_head"]
    started = client.post("/jobs/disposals", data={"csrf_token": csrf_token(client, "/complaints/disposal-due"),
                                                   "complaint_ids": [str(cid)], "reason": "保存期限已满",
                                                   "username": username, "password": password})
    assert started.status_code == 302 and "/jobs/" in started.location
    for _ in range(300):
        progress = client.get(started.location.rstrip("/") + "/progress").get_json()
        if progress["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert progress["status"] == "done" and progress["done"] == 1
    assert api.get("auditor", f"/complaints/{cid}").get_json()["status"] == "disposed"

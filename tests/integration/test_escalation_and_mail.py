"""`gmp tick` escalates overdue time limits to the QA head once, and e-mails the reminder letter
through an outbox: a mail server that is down loses nothing (SQLite and PostgreSQL)."""
import socket

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gmp_complaints.cli import main
from tests.integration.test_complaints_api import registration
from tests.integration.test_timers import api_for, env, on_day, replied_on  # noqa: F401 (fixtures)


def tick(env, day: str, **extra) -> str:
    result = CliRunner(env={**env, "GMP_TODAY": day, **extra}).invoke(main, ["tick"])
    assert result.exit_code == 0, result.output
    return result.output


def people(make_user):
    return {role: (username, make_user(username, role)[1])
            for username, role in (("wang.fang", "intake"), ("li.na", "qa_officer"), ("zhang.wei", "investigator"),
                                   ("liu.yang", "qa_head"))}


def with_product(api):
    api.ok("qa_officer", "/products", {"code": "P-001", "name": "阿莫西林胶囊", "strength": "0.25 g",
                                        "dosage_form": "capsule"}, 201)
    api.ok("qa_officer", "/batches", {"product_code": "P-001", "batch_no": "B2602", "manufactured_on": "2026-02-10",
                                      "expires_on": "2028-02-09"}, 201)


@pytest.mark.req("WF-08")
def test_overdue_time_limits_are_escalated_once_and_shown_to_the_qa_head(on_day, env, make_user):
    credentials = people(make_user)
    api = api_for(on_day("2026-11-02"), credentials)
    with_product(api)
    cid = api.ok("intake", "/complaints", registration(received_on="2026-11-02"), 201)["id"]
    # Unclassified = measured as class I: initial feedback due 1 working day after Mon 2 Nov (Tue 3 Nov).
    assert "escalated: 0" in tick(env, "2026-11-03")
    assert "escalated: 1" in tick(env, "2026-11-04")  # initial feedback overdue
    assert "escalated: 0" in tick(env, "2026-11-04")  # idempotent
    assert "escalated: 1" in tick(env, "2026-11-05")  # classification (2 working days) now overdue too
    head = api_for(on_day("2026-11-05"), credentials)
    board = head.get("qa_head", "/dashboard?scope=mine").get_json()
    assert [(c["id"], c["escalation"]["kind"]) for c in board["escalated"]] == [(cid, "initial_feedback"),
                                                                                (cid, "classification")]
    page = head.client.get("/complaints/dashboard")  # not logged in on the page: the API is what matters here
    assert page.status_code in (302, 401)
    # Once the feedback is recorded, that escalation is no longer open.
    head.ok("intake", f"/complaints/{cid}/acknowledgement", {"sent_on": "2026-11-05", "method": "phone"})
    board = head.get("qa_head", "/dashboard?scope=all").get_json()
    assert [c["escalation"]["kind"] for c in board["escalated"]] == ["classification"]
    events = head.get("qa_head", "/audit/events").get_json()["events"]
    escalations = [e for e in events if e["action"] == "escalation.created"]
    assert len(escalations) == 2 and all(e["actor"]["id"] is None and "tick" in e["actor"]["name"] for e in escalations)


class MailBox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.req("WF-06")
def test_the_reminder_letter_is_mailed_through_the_outbox_and_survives_a_mail_server_outage(on_day, env, make_user,
                                                                                           database_url):
    from aiosmtpd.controller import Controller

    credentials = people(make_user)
    api = api_for(on_day("2026-06-01"), credentials)
    with_product(api)
    replied_on(api, "2026-06-01")

    port = free_port()
    mail = {"GMP_SMTP_HOST": "127.0.0.1", "GMP_SMTP_PORT": str(port), "GMP_SMTP_FROM": "qa@pharma.example"}
    down = tick(env, "2026-08-03", **mail)  # nothing listens on the port yet
    assert "Reminders sent: 1" in down and "E-mails queued: 1; sent: 0; failed (kept for retry): 1" in down
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT status, attempts, last_error, recipient FROM outbox_messages")).one()
    assert row.status == "pending" and row.attempts == 1 and "Connection" in row.last_error
    assert "wf@example.cn" not in row.recipient  # personal data encrypted at rest

    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        up = tick(env, "2026-08-04", **mail)
    finally:
        controller.stop()
    assert "Reminders sent: 0" in up and "sent: 1; failed (kept for retry): 0" in up
    assert len(box.messages) == 1
    envelope = box.messages[0]
    assert envelope.rcpt_tos == ["wf@example.cn"] and envelope.mail_from == "qa@pharma.example"
    body = envelope.content.decode()
    assert "Reminder" in body
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT status FROM outbox_messages")).scalar_one() == "sent"
    engine.dispose()
    assert "sent: 0" in tick(env, "2026-08-05", **mail)  # sent once, never again

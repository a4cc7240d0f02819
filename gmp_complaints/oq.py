"""Operational qualification (issue 18; DESIGN §6 `gmp validate oq`; VAL-04): cases with IDs, each citing the
requirements it proves, run against a scratch instance of the *installed* product through its own interfaces (the
API, the services, the offline verifier) — no source tree, no pip, no browser. SQLite in a scratch folder by
default; PostgreSQL when ``DATABASE_URL`` names an empty scratch database. Every step states what was expected and
what happened; a case that cannot run is a failure, never a skip.
"""
from __future__ import annotations

import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import sqlalchemy as sa

PASSWORD = "oq-scratch-password-2026"
TODAY = date(2026, 11, 20)
#: the scratch instance's people, one per role the cases need (user name, role)
PEOPLE = (("oq.intake", "intake"), ("oq.qa", "qa_officer"), ("oq.investigator", "investigator"),
          ("oq.head", "qa_head"), ("oq.qp", "qp"), ("oq.auditor", "auditor"))


@dataclass
class Step:
    action: str
    expected: str
    actual: str
    passed: bool


@dataclass
class CaseResult:
    id: str
    requirement_ids: tuple[str, ...]
    title: str
    steps: list[Step] = field(default_factory=list)
    error: str | None = None

    @property
    def result(self) -> str:
        return "pass" if self.error is None and self.steps and all(s.passed for s in self.steps) else "fail"


@dataclass(frozen=True)
class Case:
    id: str
    requirement_ids: tuple[str, ...]
    title: str
    run: Callable


class Scratch:
    """A scratch instance: migrated, keys made, calendars and reference data loaded, one person per role with a
    password of their own, identity verified and the e-signature statement accepted."""

    def __init__(self, database_url: str | None, folder: Path):
        from audit.service import ensure_signing_key
        from gmp_complaints import create_app
        from gmp_complaints.config import load_settings
        from gmp_complaints.migrate import upgrade_to_head
        from gmp_complaints.services import accounts
        from gmp_complaints.services.calendars import seed_china_calendar, seed_us_calendar
        from gmp_complaints.services.configuration import seed_reference_data

        url = database_url or f"sqlite:///{folder / 'oq.sqlite3'}"
        self.settings = load_settings({"GMP_INSTANCE_PATH": str(folder / "instance"), "DATABASE_URL": url,
                                       "GMP_ENV": "test", "GMP_TODAY": TODAY.isoformat()})
        upgrade_to_head(url)
        self.app = create_app(self.settings)
        ensure_signing_key(self.uow())
        seed_china_calendar(self.uow(), first_year=2024)
        seed_us_calendar(self.uow(), first_year=2024)
        seed_reference_data(self.uow())
        self.client = self.app.test_client()
        self.tokens: dict[str, str] = {}
        for username, role in PEOPLE:
            temporary = "oq-temporary-password-01"
            accounts.create_user(self.uow(), actor_id=None, username=username, printed_name=f"OQ {role}",
                                 roles=[role], temporary_password=temporary, identity_verified=True)
            accounts.change_password(self.uow(), username=username, old_password=temporary, new_password=PASSWORD,
                                     source_ip=None)
            self.tokens[role] = self.post_json("/auth/token", {"username": username, "password": PASSWORD},
                                               token=None).get_json()["token"]
            if role != "auditor":
                self.post_json("/auth/esignature-statement", {"password": PASSWORD}, token=self.tokens[role])
        self.names = dict((role, username) for username, role in PEOPLE)
        qa = self.tokens["qa_officer"]
        self.post_json("/products", {"code": "OQ-1", "name": "OQ capsules", "strength": "0.25 g",
                                     "dosage_form": "capsule"}, token=qa)
        self.post_json("/batches", {"product_code": "OQ-1", "batch_no": "OQ2601", "manufactured_on": "2026-01-10",
                                    "expires_on": "2028-01-09"}, token=qa)

    def uow(self):
        from gmp_complaints import unit_of_work

        return unit_of_work(self.app)

    def on(self, day: date) -> None:
        self.app.config["GMP_SETTINGS"] = replace(self.app.config["GMP_SETTINGS"], today_override=day)

    def post_json(self, path: str, body: dict, *, token: str | None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(f"/api/v1{path}", json=body, headers=headers)

    def post(self, role: str, path: str, body: dict):
        return self.post_json(path, body, token=self.tokens[role])

    def get(self, role: str, path: str):
        return self.client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {self.tokens[role]}"})

    def signed(self, role: str, body: dict) -> dict:
        return {**body, "username": self.names[role], "password": PASSWORD}

    def register(self) -> int:
        return self.post("intake", "/complaints", {
            "received_on": "2026-11-02", "channel": "phone",
            "complainant": {"name": "OQ Tester", "organisation": "OQ pharmacy", "phone": "13800000000",
                            "email": "oq@example.com"},
            "product_code": "OQ-1", "batch_nos": ["OQ2601"], "batch_unknown_reason": None,
            "complaint_type": "inner_packaging", "description": "cap cracked (OQ)", "sample_available": True,
            "customer_due_on": None}).get_json()["id"]

    def classified(self, klass: str = "II") -> dict:
        cid = self.register()
        self.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
        return self.post("qa_officer", f"/complaints/{cid}/classification",
                         {"complaint_class": klass, "rationale": "OQ", "adr_suspected": False}).get_json()

    def assessed(self) -> int:
        """A class III complaint investigated and assessed not reasonable: the next step is the reply."""
        cid = self.classified("III")["id"]
        self.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": self.names["investigator"]})
        self.post("investigator", f"/complaints/{cid}/investigation",
                  {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True})
        self.post("qa_officer", f"/complaints/{cid}/assessment", {"reasonable": False, "actions": [],
                                                                  "adr_confirmed": False,
                                                                  "regulator_report_required": False})
        return cid

    def satisfied(self) -> int:
        """Replied to, and the customer satisfied: pending closure."""
        cid = self.assessed()
        self.post("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY.isoformat(), "summary": "reply"})
        self.post("intake", f"/complaints/{cid}/customer-responses", {"received_on": TODAY.isoformat(),
                                                                      "satisfied": True, "text": "ok"})
        return cid

    def closed(self) -> int:
        cid = self.satisfied()
        self.post("qa_head", f"/complaints/{cid}/signatures", self.signed("qa_head", {"step": "audit_trail_review"}))
        self.post("qa_head", f"/complaints/{cid}/closure", self.signed("qa_head", {"comment": "close"}))
        return cid

    def audit_count(self) -> int:
        with self.app.extensions["gmp_engine"].connect() as connection:
            return connection.execute(sa.text(
                "SELECT count(*) FROM audit_events WHERE action NOT LIKE 'user.%'")).scalar_one()


def _check(steps: list[Step], action: str, expected: str, actual, passed: bool) -> None:
    steps.append(Step(action, expected, str(actual), bool(passed)))


# --- the cases ---------------------------------------------------------------------------------------------------

def numbering(s: Scratch, steps: list[Step]) -> None:
    first, second = s.classified("II")["number"], s.classified("II")["number"]
    _check(steps, "Classify two class II complaints received in 2026", "TS-II-26-001 then TS-II-26-002",
           f"{first} then {second}", (first, second) == ("TS-II-26-001", "TS-II-26-002"))


def state_machine(s: Scratch, steps: list[Step]) -> None:
    cid = s.classified("II")["id"]
    before, events = s.get("auditor", f"/complaints/{cid}").get_json(), s.audit_count()
    response = s.post("qa_head", f"/complaints/{cid}/closure", s.signed("qa_head", {"comment": "too early"}))
    _check(steps, "Close a complaint under investigation", "409, nothing changed", response.status_code,
           response.status_code == 409 and s.get("auditor", f"/complaints/{cid}").get_json() == before
           and s.audit_count() == events)


def audit_of_a_change(s: Scratch, steps: list[Step]) -> None:
    cid = s.classified("II")["id"]
    s.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": s.names["investigator"]})
    s.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": s.names["qa_officer"],
                                                           "reason": "investigator on leave"})
    events = s.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    change = [e for e in events if e["action"] == "complaint.assigned"][-1]
    _check(steps, "Reassign the investigator with a reason", "an event with the person, old and new value, reason",
           f"{change['actor']} {change['changes'].get('investigator_id')} {change['reason']}",
           change["reason"] == "investigator on leave" and len(change["changes"]["investigator_id"]) == 2
           and "OQ qa_officer" in str(change["actor"]))


def wrong_password(s: Scratch, steps: list[Step]) -> None:
    cid = s.classified("II")["id"]
    before = s.get("auditor", f"/complaints/{cid}").get_json()
    response = s.post("qp", f"/complaints/{cid}/signatures", {"step": "qp_acknowledgement", "username":
                                                              s.names["qp"], "password": "wrong-password-000"})
    after = s.get("auditor", f"/complaints/{cid}").get_json()
    _check(steps, "Sign the QP acknowledgement with a wrong password", "401, no signature stored",
           f"{response.status_code}, {len(after['signatures'])} signatures",
           response.status_code == 401 and after == before)


def four_eyes(s: Scratch, steps: list[Step]) -> None:
    other = s.assessed()
    s.post("qa_head", f"/complaints/{other}/reply-reports", {"summary": "reply report by the head"})
    response = s.post("qa_head", f"/complaints/{other}/signatures", s.signed("qa_head", {"step": "reply_approval"}))
    _check(steps, "The head of quality approves a reply report they drafted", "403 (four-eyes)",
           response.status_code, response.status_code == 403)


def superseded(s: Scratch, steps: list[Step]) -> None:
    cid = s.classified("II")["id"]
    s.post("qp", f"/complaints/{cid}/signatures", s.signed("qp", {"step": "qp_acknowledgement"}))
    s.post("qa_head", f"/complaints/{cid}/regrading", s.signed("qa_head", {"complaint_class": "I",
                                                                            "reason": "new evidence"}))
    status = [x["status"] for x in s.get("auditor", f"/complaints/{cid}").get_json()["signatures"]
              if x["step"] == "qp_acknowledgement"]
    _check(steps, "Regrade after the QP acknowledged", "the acknowledgement shows superseded", status,
           status == ["superseded"])


def export_verifies(s: Scratch, steps: list[Step]) -> None:
    import io
    import zipfile

    from audit.export import export_audit_trail
    from audit.verify import verify_bundle

    s.classified("II")
    bundle = export_audit_trail(s.uow(), actor_id=None).data
    report = verify_bundle(bundle, strict=True)
    _check(steps, "Export the whole audit trail and verify it offline", "intact",
           f"{report.events} events, problems {report.problems[:1]}", report.ok)
    members = dict((n, zipfile.ZipFile(io.BytesIO(bundle)).read(n)) for n in zipfile.ZipFile(io.BytesIO(bundle)).namelist())
    members["events.jsonl"] = members["events.jsonl"].replace(b"cap cracked", b"cap intact!", 1)
    changed = io.BytesIO()
    with zipfile.ZipFile(changed, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    tampered = verify_bundle(changed.getvalue())
    _check(steps, "Verify the same export with one event's text changed", "fails, naming the event",
           tampered.first_failure, not tampered.ok)


def integrity(s: Scratch, steps: list[Step]) -> None:
    from audit.integrity import integrity_check

    cid = s.classified("II")["id"]
    _check(steps, "Integrity check of the live tables", "no difference", len(integrity_check(s.uow())),
           not integrity_check(s.uow()))
    with s.app.extensions["gmp_engine"].begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT set_config('gmp.tx', 'oq-tamper', true)"))
        connection.execute(sa.text("UPDATE complaints SET root_cause = 'edited out of band' WHERE id = :id"),
                           {"id": cid})
        connection.execute(sa.text("UPDATE complaints SET class_rationale = 'edited' WHERE id = :id"), {"id": cid})
    found = integrity_check(s.uow())
    _check(steps, "Edit the complaint in the database, outside the application", "the check names the edit",
           [d.describe() for d in found][:1], any(d.entity_id == str(cid) for d in found))


def disposal(s: Scratch, steps: list[Step]) -> None:
    cid = s.closed()
    body = s.signed("qa_head", {"reason": "retention period over"})
    early = s.post("qa_head", f"/complaints/{cid}/disposal", body)
    _check(steps, "Dispose of a closed complaint before its retention date", "409", early.status_code,
           early.status_code == 409)
    s.on(date(2029, 3, 1))
    done = s.post("qa_head", f"/complaints/{cid}/disposal", body)
    s.on(TODAY)
    _check(steps, "Dispose of it after its retention date", "200, status disposed, tombstone kept",
           f"{done.status_code} {done.get_json().get('status')}",
           done.status_code == 200 and done.get_json()["status"] == "disposed"
           and done.get_json()["disposal"]["tombstone"]["intake_ref"])


def lockout(s: Scratch, steps: list[Step]) -> None:
    from gmp_complaints.services import accounts

    accounts.create_user(s.uow(), actor_id=None, username="oq.locked", printed_name="OQ locked", roles=["auditor"],
                         temporary_password="oq-temporary-password-02")
    codes = [s.post_json("/auth/token", {"username": "oq.locked", "password": f"wrong-{i}-password"}, token=None)
             .status_code for i in range(5)]
    last = s.post_json("/auth/token", {"username": "oq.locked", "password": "oq-temporary-password-02"}, token=None)
    _check(steps, "Five wrong passwords, then the right one", "401 ×4, 423 at the fifth (locked), 423 for the right "
           "password", f"{codes} {last.status_code}", codes == [401] * 4 + [423] and last.status_code == 423)


def registration(s: Scratch, steps: list[Step]) -> None:
    cid = s.register()
    shown = s.get("qa_officer", f"/complaints/{cid}").get_json()
    _check(steps, "Register a complaint received by phone", "an intake reference at once, the channel recorded",
           f"{shown['intake_ref']} {shown['channel']}",
           shown["intake_ref"].startswith("R-2026-") and shown["channel"] == "phone" and shown["status"] == "registered")
    refused = s.post("qa_officer", "/complaints/999999/classification",
                     {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
    _check(steps, "Classify a complaint that was never registered", "404", refused.status_code,
           refused.status_code == 404)


def retention(s: Scratch, steps: list[Step]) -> None:
    shown = s.get("qa_officer", f"/complaints/{s.register()}").get_json()
    _check(steps, "Register against a batch expiring 2028-01-09", "kept until 2029-01-09 (expiry + 1 year)",
           shown["retention_until"], shown["retention_until"] == "2029-01-09")


def roles(s: Scratch, steps: list[Step]) -> None:
    cid = s.register()
    s.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    before, events = s.get("auditor", f"/complaints/{cid}").get_json(), s.audit_count()
    refused = s.post("intake", f"/complaints/{cid}/classification",
                     {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
    _check(steps, "Sales (intake) classifies a complaint", "403, nothing changed", refused.status_code,
           refused.status_code == 403 and s.get("auditor", f"/complaints/{cid}").get_json() == before
           and s.audit_count() == events)
    auditor = s.post("auditor", "/complaints", {})
    _check(steps, "The auditor registers a complaint", "403", auditor.status_code, auditor.status_code == 403)


def signing_enabled(s: Scratch, steps: list[Step]) -> None:
    from gmp_complaints.services import accounts

    accounts.create_user(s.uow(), actor_id=None, username="oq.newqp", printed_name="OQ new QP", roles=["qp"],
                         temporary_password="oq-temporary-password-03", identity_verified=True)
    accounts.change_password(s.uow(), username="oq.newqp", old_password="oq-temporary-password-03",
                             new_password=PASSWORD, source_ip=None)
    token = s.post_json("/auth/token", {"username": "oq.newqp", "password": PASSWORD}, token=None).get_json()["token"]
    cid = s.classified("II")["id"]
    response = s.post_json(f"/complaints/{cid}/signatures", {"step": "qp_acknowledgement", "username": "oq.newqp",
                                                             "password": PASSWORD}, token=token)
    _check(steps, "Sign before accepting the e-signature accountability statement", "403, no signature",
           response.status_code, response.status_code == 403
           and not s.get("auditor", f"/complaints/{cid}").get_json()["signatures"])


def manifestation(s: Scratch, steps: list[Step]) -> None:
    cid = s.classified("II")["id"]
    signed = s.post("qp", f"/complaints/{cid}/signatures", s.signed("qp", {"step": "qp_acknowledgement"})).get_json()
    shown = signed["signatures"][0]
    _check(steps, "The QP acknowledges", "printed name, time with offset, meaning, record version and hash",
           f"{shown['signer_name']} {shown['signed_at']} {shown['meaning']} v{shown['record_version']}",
           shown["signer_name"] == "OQ qp" and shown["signed_at"].endswith("+08:00")
           and shown["meaning"] == "acknowledged" and len(shown["record_hash"]) == 64)


def interim_decision(s: Scratch, steps: list[Step]) -> None:
    cid = s.classified("I")["id"]
    s.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": s.names["investigator"]})
    body = {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True}
    early = s.post("investigator", f"/complaints/{cid}/investigation", body)
    _check(steps, "Record the investigation of a class I complaint before the interim risk decision", "409",
           early.status_code, early.status_code == 409)
    for role in ("qa_head", "qp"):
        s.post(role, f"/complaints/{cid}/signatures",
               s.signed(role, {"step": "interim_risk_decision", "measures": ["quarantine"]}))
    after = s.post("investigator", f"/complaints/{cid}/investigation", body)
    _check(steps, "The same after the head of quality and the QP signed the decision", "200", after.status_code,
           after.status_code == 200)


def reminder(s: Scratch, steps: list[Step]) -> None:
    from gmp_complaints.services.timers import tick

    cid = s.assessed()
    replied = s.post("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY.isoformat(), "summary": "r"})
    due = date.fromisoformat(replied.get_json()["deadlines"]["reminder_due_on"])
    s.on(date.fromordinal(due.toordinal() - 1))
    tick(s.uow())
    before = len(s.get("auditor", f"/complaints/{cid}").get_json()["reminders"])
    s.on(due)
    tick(s.uow())
    after = s.get("auditor", f"/complaints/{cid}").get_json()
    s.on(TODAY)
    _check(steps, "Run the timer the working day before and on the reminder due date (25 working days after the reply)",
           "no reminder, then one, recorded as the system's", f"{before} then {len(after['reminders'])}",
           before == 0 and len(after["reminders"]) == 1 and after["reminders"][0]["by_system"] is True)


def review_before_closure(s: Scratch, steps: list[Step]) -> None:
    cid = s.satisfied()
    early = s.post("qa_head", f"/complaints/{cid}/closure", s.signed("qa_head", {"comment": "close"}))
    _check(steps, "Close before the audit trail is reviewed", "409", early.status_code, early.status_code == 409)
    s.post("qa_head", f"/complaints/{cid}/signatures", s.signed("qa_head", {"step": "audit_trail_review"}))
    closed = s.post("qa_head", f"/complaints/{cid}/closure", s.signed("qa_head", {"comment": "close"}))
    steps_signed = [x["step"] for x in closed.get_json().get("signatures", [])]
    _check(steps, "Sign the audit-trail review, then close", "closed, with both signatures",
           f"{closed.status_code} {closed.get_json().get('status')} {steps_signed}",
           closed.status_code == 200 and closed.get_json()["status"] == "closed"
           and {"audit_trail_review", "closure"} <= set(steps_signed))


def recall_decision(s: Scratch, steps: list[Step]) -> None:
    qa = s.tokens["qa_officer"]
    recall = s.post_json("/recalls", {"complaint_ids": [], "batch_nos": ["OQ2601"], "product_code": "OQ-1",
                                      "level": "II", "depth": "retail", "reason": "OQ recall", "safety_hazard": False,
                                      "mock": True}, token=qa).get_json()
    after_qp = s.post("qp", f"/recalls/{recall['id']}/signatures", s.signed("qp", {"step": "recall_decision"}))
    _check(steps, "The QP signs the recall decision", "still proposed (two persons decide)",
           after_qp.get_json().get("status"), after_qp.get_json().get("status") == "proposed")
    decided = s.post("qa_head", f"/recalls/{recall['id']}/signatures", s.signed("qa_head", {"step": "recall_decision"}))
    body = decided.get_json()
    _check(steps, "The head of quality signs it too", "in progress, decided, consignee clock running",
           f"{body.get('status')} {body.get('decided_at')}",
           body.get("status") == "in_progress" and body.get("decided_at") and body["deadlines"]["notify_consignees_by"])


def adr_clock(s: Scratch, steps: list[Step]) -> None:
    cid = s.register()
    s.post("intake", f"/complaints/{cid}/adr", {"aware_on": "2026-11-02", "seriousness": "hospitalisation",
                                                "unexpected": False, "reporter": "Dr OQ", "patient": "F, 45",
                                                "reaction": "rash"})
    shown = s.get("qa_officer", f"/complaints/{cid}").get_json()["adr"]
    _check(steps, "Hand a serious reaction (aware 2026-11-02) to pharmacovigilance", "report due 2026-11-17 (15 days)",
           shown.get("due_on"), shown.get("due_on") == "2026-11-17")


CASES = (
    Case("OQ-01", ("REC-04",), "Complaint numbers are gapless per class and year", numbering),
    Case("OQ-02", ("WF-01",), "A step out of order is refused and changes nothing", state_machine),
    Case("OQ-03", ("AT-01", "AT-02"), "A change is audited with person, old and new value and reason",
         audit_of_a_change),
    Case("OQ-04", ("SIG-03",), "A wrong password signs nothing", wrong_password),
    Case("OQ-05", ("SIG-08",), "The author of a step cannot approve it", four_eyes),
    Case("OQ-06", ("SIG-02",), "A signature over changed content shows superseded", superseded),
    Case("OQ-07", ("AT-03",), "The audit trail exports and verifies offline; a changed event fails", export_verifies),
    Case("OQ-08", ("AT-03",), "An edit outside the application is found by the integrity check", integrity),
    Case("OQ-09", ("RET-02",), "Disposal only after the retention date, with a tombstone", disposal),
    Case("OQ-10", ("SEC-05",), "Repeated failed log-ins lock the account", lockout),
    Case("OQ-11", ("REC-01",), "Every complaint is registered with its channel before any step", registration),
    Case("OQ-12", ("RET-01",), "The retention date follows the batch expiry", retention),
    Case("OQ-13", ("SEC-02",), "A role not allowed is refused and changes nothing", roles),
    Case("OQ-14", ("SIG-05",), "Signing needs the accepted accountability statement", signing_enabled),
    Case("OQ-15", ("SIG-01",), "A signature shows name, time with offset and meaning", manifestation),
    Case("OQ-16", ("WF-09",), "Class I: the interim risk decision comes before the investigation", interim_decision),
    Case("OQ-17", ("WF-06",), "The timer reminds the customer 25 working days after the reply", reminder),
    Case("OQ-18", ("AT-07", "WF-16"), "Closure needs the signed audit-trail review and the head of quality's signature",
         review_before_closure),
    Case("OQ-19", ("HO-05",), "A recall is decided by the head of quality and the QP, two persons", recall_decision),
    Case("OQ-20", ("HO-01",), "A serious adverse reaction is due to the authority in 15 days", adr_clock),
)


def run_cases(database_url: str | None = None) -> list[CaseResult]:
    """Every case on one scratch instance; a case that raises fails with the error recorded."""
    results = []
    with tempfile.TemporaryDirectory(prefix="gmp-oq-") as folder:
        try:
            scratch = Scratch(database_url, Path(folder))
        except Exception as exc:  # noqa: BLE001 - no scratch instance: every case fails, none is skipped
            error = f"the scratch instance could not be set up: {type(exc).__name__}: {exc}"
            return [CaseResult(c.id, c.requirement_ids, c.title, error=error) for c in CASES]
        try:
            for case in CASES:
                result = CaseResult(case.id, case.requirement_ids, case.title)
                try:
                    case.run(scratch, result.steps)
                except Exception as exc:  # noqa: BLE001 - recorded as the case's failure
                    result.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
                results.append(result)
        finally:
            scratch.app.extensions["gmp_engine"].dispose()
    return results

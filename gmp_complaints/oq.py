"""Operational qualification (issue 18; DESIGN §6 `gmp validate oq`; VAL-04): cases with IDs, each citing the
requirements it proves, run against a scratch instance of the *installed* product through its own interfaces (the
API, the services, the offline verifier) — no source tree, no pip, no browser. SQLite in a scratch folder by
default; PostgreSQL when ``DATABASE_URL`` names an empty scratch database. Every step states what was expected and
what happened; a case that cannot run is a failure, never a skip.
"""
from __future__ import annotations

import hashlib
import io
import re
import tempfile
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

PASSWORD = "oq-scratch-password-2026"
TODAY = date(2026, 11, 20)
#: the scratch instance's people, one per role the cases need (user name, role)
PEOPLE = (("oq.intake", "intake"), ("oq.qa", "qa_officer"), ("oq.investigator", "investigator"),
          ("oq.head", "qa_head"), ("oq.qp", "qp"), ("oq.auditor", "auditor"), ("oq.admin", "admin"),
          ("oq.recall", "recall_coordinator"), ("oq.pv", "pv_officer"), ("oq.ra", "regulatory_affairs"))
#: roles that never sign, so never accept the e-signature accountability statement
NON_SIGNERS = ("auditor", "admin")
#: a small image as a customer's photo
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


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


def database_is_empty(database_url: str) -> bool:
    """No table at all: a database made for the OQ, not one in use."""
    engine = sa.create_engine(database_url)
    try:
        return not sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


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

        if database_url and not database_is_empty(database_url):
            # never the installation's own database: the cases write complaints, people and signatures
            raise RuntimeError("the scratch database is not empty; the OQ runs only on an empty database")
        url = database_url or f"sqlite:///{folder / 'oq.sqlite3'}"
        self.folder = folder
        # Every case comes from one address (this process) and the role tokens serve the whole run: the per-address
        # rate limit and the token idle lock would refuse cases that test other rules (the lockout cases run at the
        # default GMP_MAX_FAILED_LOGINS).
        self.settings = load_settings({"GMP_INSTANCE_PATH": str(folder / "instance"), "DATABASE_URL": url,
                                       "GMP_ENV": "test", "GMP_TODAY": TODAY.isoformat(),
                                       "GMP_SOURCE_RATE_LIMIT": "1000", "GMP_API_TOKEN_IDLE_MINUTES": "480"})
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
            if role not in NON_SIGNERS:
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

    @staticmethod
    def registration(**overrides) -> dict:
        """The body of a registration (DESIGN §6), the batch OQ2601 of OQ-1 unless overridden."""
        return {"received_on": "2026-11-02", "channel": "phone",
                "complainant": {"name": "OQ Tester", "organisation": "OQ pharmacy", "phone": "13800000000",
                                "email": "oq@example.com"},
                "product_code": "OQ-1", "batch_nos": ["OQ2601"], "batch_unknown_reason": None,
                "complaint_type": "inner_packaging", "description": "cap cracked (OQ)", "sample_available": True,
                "customer_due_on": None, **overrides}

    def register(self, **overrides) -> int:
        return self.post("intake", "/complaints", self.registration(**overrides)).get_json()["id"]

    def classified(self, klass: str = "II", **registration) -> dict:
        cid = self.register(**registration)
        self.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
        return self.post("qa_officer", f"/complaints/{cid}/classification",
                         {"complaint_class": klass, "rationale": "OQ", "adr_suspected": False}).get_json()

    def assessed(self, **registration) -> int:
        """A class III complaint investigated and assessed not reasonable: the next step is the reply."""
        cid = self.classified("III", **registration)["id"]
        self.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": self.names["investigator"]})
        self.post("investigator", f"/complaints/{cid}/investigation",
                  {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True})
        self.post("qa_officer", f"/complaints/{cid}/assessment", {"reasonable": False, "actions": [],
                                                                  "adr_confirmed": False,
                                                                  "regulator_report_required": False})
        return cid

    def satisfied(self, **registration) -> int:
        """Replied to, and the customer satisfied: pending closure."""
        cid = self.assessed(**registration)
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
        """The business audit trail's length: without the security events a refused act may leave (failed and
        refused log-ins and signatures, the alerts they raise and the notices of those alerts)."""
        return self.scalar("SELECT count(*) FROM audit_events WHERE action NOT LIKE 'user.%' "
                           "AND action NOT LIKE 'security.%' AND action NOT LIKE 'user_notice.%' "
                           "AND action NOT IN ('signature.refused', 'access_request.decision_refused')")

    # --- more of the product, for the cases from OQ-21 on ----------------------------------------------------

    def scalar(self, query: str, **params):
        """One value read from the database (reading only)."""
        with self.app.extensions["gmp_engine"].connect() as connection:
            return connection.execute(sa.text(query), params).scalar()

    def sql(self, statement: str, **params) -> None:
        """SQL from a database console, outside the application; on PostgreSQL it carries an attribution as the
        application's transactions do, so that what refuses it is the record's own guard."""
        with self.app.extensions["gmp_engine"].begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT set_config('gmp.tx', 'oq-console', true)"))
            connection.execute(sa.text(statement), params)

    def refused_by_database(self, statement: str, **params) -> bool:
        try:
            self.sql(statement, **params)
        except sa.exc.DBAPIError:
            return True
        return False

    def state(self, path: str) -> tuple:
        """What a refused act must leave as it was: the record as the auditor reads it and the business trail."""
        return self.get("auditor", path).get_json(), self.audit_count()

    def configure(self, **changes) -> None:
        self.app.config["GMP_SETTINGS"] = replace(self.app.config["GMP_SETTINGS"], **changes)

    def user_id(self, role: str) -> int:
        return self.scalar("SELECT id FROM users WHERE username = :u", u=self.names[role])

    def token(self, username: str, password: str):
        return self.post_json("/auth/token", {"username": username, "password": password}, token=None)

    def person(self, username: str, role: str, **extra) -> str:
        """A further person created at the server (as `gmp create-user` does), with a password of their own, identity
        verified and the statement accepted; their token."""
        from gmp_complaints.services import accounts

        accounts.create_user(self.uow(), actor_id=None, username=username, printed_name=f"OQ {username}",
                             roles=[role], temporary_password="oq-temporary-password-09", identity_verified=True,
                             **extra)
        accounts.change_password(self.uow(), username=username, old_password="oq-temporary-password-09",
                                 new_password=PASSWORD, source_ip=None)
        token = self.token(username, PASSWORD).get_json()["token"]
        if role not in NON_SIGNERS:
            self.post_json("/auth/esignature-statement", {"password": PASSWORD}, token=token)
        return token

    def product(self, code: str, *batches: tuple, **extra) -> None:
        """A product of the case's own (its counts and signals are the case's), with its batches
        ``(batch_no, manufactured_on, expires_on)``."""
        self.post("qa_officer", "/products", {"code": code, "name": f"OQ product {code}", "strength": "10 mg",
                                              "dosage_form": "tablet", **extra})
        for batch_no, made, expires in batches:
            self.post("qa_officer", "/batches", {"product_code": code, "batch_no": batch_no,
                                                 "manufactured_on": made, "expires_on": expires})

    def ship(self, code: str, batch_no: str, consignee: str, quantity: int, shipped_on: str = "2026-03-01",
             **extra) -> None:
        self.post("qa_officer", "/distributions", {"product_code": code, "batch_no": batch_no, "consignee": consignee,
                                                   "quantity": quantity, "shipped_on": shipped_on, **extra})

    def upload(self, role: str, path: str, filename: str, data: bytes, **form):
        return self.client.post(f"/api/v1{path}", data={"file": (io.BytesIO(data), filename), **form},
                                content_type="multipart/form-data",
                                headers={"Authorization": f"Bearer {self.tokens[role]}"})

    def download(self, role: str, path: str, **query):
        return self.client.get(f"/api/v1{path}", query_string=query,
                               headers={"Authorization": f"Bearer {self.tokens[role]}"})

    def delete(self, role: str, path: str):
        return self.client.delete(f"/api/v1{path}", headers={"Authorization": f"Bearer {self.tokens[role]}"})

    def investigated(self, cid: int, **investigation) -> dict:
        self.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": self.names["investigator"]})
        return self.post("investigator", f"/complaints/{cid}/investigation",
                         {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True,
                          **investigation}).get_json()

    def events(self, entity: str) -> list[dict]:
        return self.get("auditor", f"/audit/events?entity={entity}").get_json()["events"]

    def notifications(self, subject: str) -> list[dict]:
        return [n for n in self.get("qa_head", "/notifications").get_json()["notifications"]
                if n["subject"] == subject]

    def browser(self, role: str):
        """The web pages as this person sees them after logging in (the test client, no browser)."""
        client = self.app.test_client()
        client.post("/login", data={"csrf_token": csrf(client, "/login"), "username": self.names[role],
                                    "password": PASSWORD})
        return client


def csrf(client, path: str) -> str:
    """The CSRF token of a web session, read from a form the page renders."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', html)
    return (match.group(1) or match.group(2)) if match else ""


def _check(steps: list[Step], action: str, expected: str, actual, passed: bool) -> None:
    steps.append(Step(action, expected, str(actual), bool(passed)))


def changed_copy(archive: bytes, member: str, change: Callable[[bytes], bytes]) -> bytes:
    """A copy of a zip file with one member's bytes changed, as a forger or a damaged disk would leave it."""
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members[member] = change(members[member])
    copy = io.BytesIO()
    with zipfile.ZipFile(copy, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    return copy.getvalue()


def _invalid(response, field: str) -> bool:
    """Refused as invalid input (400) naming ``field``: refused for the reason the step is about."""
    return response.status_code == 400 and field in (response.get_json() or {}).get("error", {}).get("fields", {})


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
    from audit.export import export_audit_trail
    from audit.verify import verify_bundle

    s.classified("II")
    bundle = export_audit_trail(s.uow(), actor_id=None).data
    report = verify_bundle(bundle, strict=True)
    _check(steps, "Export the whole audit trail and verify it offline", "intact",
           f"{report.events} events, problems {report.problems[:1]}", report.ok)
    tampered = verify_bundle(changed_copy(bundle, "events.jsonl",
                                          lambda data: data.replace(b"cap cracked", b"cap intact!", 1)))
    _check(steps, "Verify the same export with one event's text changed", "fails, naming the event",
           tampered.first_failure, not tampered.ok)


def integrity(s: Scratch, steps: list[Step]) -> None:
    from audit.integrity import integrity_check

    cid = s.classified("II")["id"]
    _check(steps, "Integrity check of the live tables", "no difference", len(integrity_check(s.uow())),
           not integrity_check(s.uow()))
    s.sql("UPDATE complaints SET root_cause = 'edited out of band', class_rationale = 'edited' WHERE id = :id", id=cid)
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


# --- the cases from OQ-21 on: every Must the product's own interfaces can show -----------------------------------

def original_as_received(s: Scratch, steps: list[Step]) -> None:
    original = "瓶盖破裂，胶囊受潮 (OQ, as the customer wrote it)"
    cid = s.classified("III", description=original)["id"]
    photo = s.upload("intake", f"/complaints/{cid}/attachments", "photo.png", PNG)
    sha256 = photo.get_json().get("sha256")
    download = s.download("auditor", f"/complaints/{cid}/attachments/{photo.get_json().get('id')}")
    _check(steps, "Attach the customer's photo to the registered complaint", "201, its SHA-256 recorded, the download "
           "byte for byte the same", f"{photo.status_code} {sha256}", photo.status_code == 201
           and sha256 == hashlib.sha256(PNG).hexdigest() and download.data == PNG)
    before = s.get("auditor", f"/complaints/{cid}").get_json()
    disguised = s.upload("intake", f"/complaints/{cid}/attachments", "photo2.png", b"MZ\x90\x00 not an image")
    removed = s.delete("qa_officer", f"/complaints/{cid}/attachments/{photo.get_json()['id']}")
    _check(steps, "Attach a program named .png; delete the photo", "400 and 409; the complaint and its attachments "
           "as they were", f"{disguised.status_code} {removed.status_code}", _invalid(disguised, "file")
           and removed.status_code == 409 and s.get("auditor", f"/complaints/{cid}").get_json() == before)
    refused = s.refused_by_database("UPDATE complaints SET description = 'rewritten later' WHERE id = :id", id=cid)
    _check(steps, "Rewrite the description as received in the database itself", "refused by the database",
           "refused" if refused else "accepted", refused)
    s.investigated(cid, root_cause="OQ interpretation: the capping torque was low")
    after = s.get("auditor", f"/complaints/{cid}").get_json()
    _check(steps, "Record the investigation (the later interpretation)", "kept in fields of its own; the description "
           "as received unchanged and readable", f"{after['description']!r} / {after['investigation']['root_cause']!r}",
           after["description"] == original and after["investigation"]["root_cause"].startswith("OQ interpretation")
           and after["attachments"][0]["sha256"] == sha256)


def regrading_keeps_the_number(s: Scratch, steps: list[Step]) -> None:
    classified = s.classified("II")
    cid, number = classified["id"], classified["number"]
    before = s.state(f"/complaints/{cid}")
    no_reason = s.post("qa_head", f"/complaints/{cid}/regrading", s.signed("qa_head", {"complaint_class": "I"}))
    _check(steps, "Regrade II → I without a reason", "400, nothing changed", no_reason.status_code,
           _invalid(no_reason, "reason") and s.state(f"/complaints/{cid}") == before)
    regraded = s.post("qa_head", f"/complaints/{cid}/regrading",
                      s.signed("qa_head", {"complaint_class": "I", "reason": "OQ: contamination found"})).get_json()
    _check(steps, "Regrade it II → I with a reason, signed by the head of quality", "the number kept; class I now, "
           "class II still shown as the original", f"{regraded['number']} {regraded['complaint_class']} "
           f"(original {regraded['original_class']})", (regraded["number"], regraded["complaint_class"],
                                                         regraded["original_class"]) == (number, "I", "II"))
    changed = [e for e in s.events(f"complaint:{cid}") if e["changes"].get("complaint_class") == ["II", "I"]]
    rows = s.get("auditor", "/ledger?year=2026").get_json()["rows"]
    listed = [r for r in rows if r["number"] == number]
    _check(steps, "Look the change up in the audit trail and the number in the ledger", "old and new class with the "
           "reason; the number listed once", f"{[(e['changes']['complaint_class'], e['reason']) for e in changed]} "
           f"{len(listed)}", len(changed) == 1 and changed[0]["reason"] == "OQ: contamination found" and len(listed) == 1)


def numbers_under_load(s: Scratch, steps: list[Step]) -> None:
    import threading

    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.domain.roles import Actor
    from gmp_complaints.services import complaint_steps
    from gmp_complaints.uow import UnitOfWork

    s.product("OQ-N", ("OQN2401", "2024-06-01", "2027-06-01"))
    ids = []
    for day in range(12):
        cid = s.register(product_code="OQ-N", batch_nos=["OQN2401"], received_on=f"2025-06-{day + 2:02d}")
        s.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
        ids.append(cid)
    actor, workers = Actor(s.user_id("qa_officer"), frozenset({"qa_officer"})), 4
    engines = [make_engine(s.settings.database_url) for _ in range(workers)]
    numbers, failures, barrier = [], [], threading.Barrier(workers)

    def classify_share(worker: int) -> None:
        factory = make_session_factory(engines[worker])
        barrier.wait()
        for cid in ids[worker::workers]:
            try:
                numbers.append(complaint_steps.classify(UnitOfWork(factory, s.app.config["GMP_SETTINGS"]), cid, {
                    "complaint_class": "III", "rationale": "OQ", "adr_suspected": False}, actor=actor)["number"])
            except Exception as exc:  # noqa: BLE001 - every failure is reported
                failures.append(repr(exc))

    threads = [threading.Thread(target=classify_share, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    _check(steps, "Classify twelve complaints received in 2025 from four connections at once",
           "twelve distinct consecutive numbers TS-III-25-001 … 012", f"{sorted(numbers)[:1]}…{sorted(numbers)[-1:]} "
           f"{failures[:1]}", not failures and sorted(numbers) == [f"TS-III-25-{n:03d}" for n in range(1, 13)])
    s.post("qa_officer", f"/complaints/{ids[5]}/void-requests", {"reason": "OQ: registered twice"})
    s.post("qa_head", f"/complaints/{ids[5]}/signatures", s.signed("qa_head", {"step": "void_approval",
                                                                               "comment": "agreed"}))
    ledger = s.get("auditor", "/ledger?year=2025").get_json()
    void = [r for r in ledger["rows"] if r["status"] == "void"]
    _check(steps, "Void one (request, then the head of quality's signature) and read the 2025 ledger",
           "all twelve numbers listed, the void one with its reason, no unexplained gap",
           f"{ledger['issued']} issued, void {[(r['number'], r['void_reason']) for r in void]}, gaps {ledger['gaps']}",
           ledger["issued"] == 12 and ledger["gaps"] == [] and len(void) == 1
           and void[0]["void_reason"] == "OQ: registered twice"
           and sorted(r["number"] for r in ledger["rows"]) == sorted(numbers))
    read = [s.get("auditor", f"/complaints/{cid}").status_code for cid in ids]
    _check(steps, "The inspector (auditor) opens each complaint of the ledger", "every record retrievable at once",
           sorted(set(read)), read == [200] * len(ids))


def class_criteria(s: Scratch, steps: list[Step]) -> None:
    listing = s.get("qa_officer", "/class-criteria").get_json()
    in_force = next(v for v in listing["versions"] if v["version"] == listing["in_force"])
    code = {c["complaint_class"]: c["code"] for c in in_force["criteria"]}
    cid = s.register()
    s.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    before = s.state(f"/complaints/{cid}")
    wrong = s.post("qa_officer", f"/complaints/{cid}/classification", {
        "complaint_class": "II", "rationale": "OQ", "adr_suspected": False, "criteria": [code["I"]]})
    _check(steps, "Classify as class II citing a class I criterion", "400, not numbered, nothing changed",
           wrong.status_code, _invalid(wrong, "criteria") and s.state(f"/complaints/{cid}") == before)
    under = s.post("qa_officer", f"/complaints/{cid}/classification", {
        "complaint_class": "II", "rationale": "OQ", "adr_suspected": False, "criteria": [code["II"]],
        "severity": "critical"})
    _check(steps, "Classify as class II with a critical severity", "400 naming the severity, not numbered, nothing "
           "changed", under.status_code, _invalid(under, "severity") and s.state(f"/complaints/{cid}") == before)
    done = s.post("qa_officer", f"/complaints/{cid}/classification", {
        "complaint_class": "II", "rationale": "OQ: seal defect", "adr_suspected": False,
        "criteria": [code["II"]], "severity": "major", "units_affected": 240, "batches_affected": 1,
        "markets_affected": ["CN"]}).get_json()
    graded = done["classification"]
    _check(steps, "Classify as class II citing a class II criterion, with severity and extent", "the criteria "
           "version in force, the criterion, the rationale, the severity and the units, batches and markets recorded",
           f"{graded.get('criteria_version')} {done['class_criteria']} {graded.get('severity')} "
           f"{graded.get('units_affected')} {graded.get('batches_affected')} {graded.get('markets_affected')}",
           graded.get("criteria_version") == listing["in_force"]
           and done["class_criteria"] == [code["II"]] and graded.get("rationale") == "OQ: seal defect"
           and (graded.get("severity"), graded.get("units_affected"), graded.get("batches_affected"),
                graded.get("markets_affected")) == ("major", 240, 1, ["CN"]))
    version = {"version": "OQ-SOP/2", "effective_from": TODAY.isoformat(), "reason": "SOP revision, change control "
               "CC-OQ-01", "change_control_ref": "CC-OQ-01", "criteria": [{"complaint_class": k, "code": f"{k}.oq", "text_zh": f"{k} 类 (OQ)",
                                         "text_en": f"Class {k} (OQ)"} for k in ("I", "II", "III")]}
    officer = s.post("qa_officer", "/class-criteria", version)
    no_reason = s.post("qa_head", "/class-criteria", {**version, "reason": ""})
    no_ref = s.post("qa_head", "/class-criteria", {**version, "change_control_ref": ""})
    published = s.post("qa_head", "/class-criteria", version)
    event = s.events("class_criteria:OQ-SOP/2")
    _check(steps, "Publish a new criteria version: as QA officer, as head of quality without a reason, without a "
           "change-control reference, and with both", "403, 400, 400, 201; the publication audited with its reason "
           "and change-control reference", f"{officer.status_code} {no_reason.status_code} {no_ref.status_code} "
           f"{published.status_code} {[(e['reason'], e['changes'].get('change_control_ref')) for e in event]}",
           (officer.status_code, no_reason.status_code, published.status_code) == (403, 400, 201)
           and _invalid(no_ref, "change_control_ref") and event
           and event[0]["changes"].get("change_control_ref") == [None, "CC-OQ-01"])
    kept = s.get("auditor", f"/complaints/{cid}").get_json()["classification"].get("criteria_version")
    _check(steps, "Read the complaint classified before", "still the version it was classified under",
           kept, kept == listing["in_force"])


def master_data_checks(s: Scratch, steps: list[Step]) -> None:
    s.product("OQ-M", ("OQM2601", "2026-02-01", "2028-01-31"))
    s.post("qa_officer", "/batches", {"product_code": "OQ-M", "batch_no": "OQM2602", "manufactured_on": "2026-03-01",
                                      "expires_on": "2028-02-29", "released_on": "2026-03-20"})
    count = s.scalar("SELECT count(*) FROM complaints")
    refused = {}
    for what, overrides in (("unknown batch", {"product_code": "OQ-M", "batch_nos": ["NOPE-1"]}),
                            ("another product's batch", {"product_code": "OQ-M", "batch_nos": ["OQ2601"]}),
                            ("unknown product", {"product_code": "OQ-NOPE", "batch_nos": []}),
                            ("no batch and no reason", {"product_code": "OQ-M", "batch_nos": []})):
        response = s.post("intake", "/complaints", s.registration(**overrides))
        refused[what] = (response.status_code, sorted(response.get_json()["error"]["fields"]))
    _check(steps, "Register with a batch not in master data, another product's batch, an unknown product, no batch "
           "and no reason", "400 each, naming the field; nothing stored", refused,
           all(code == 400 and fields for code, fields in refused.values())
           and s.scalar("SELECT count(*) FROM complaints") == count)
    unknown = s.post("intake", "/complaints", s.registration(
        product_code="OQ-M", batch_nos=[], batch_unknown_reason="OQ: the customer threw the pack away")).get_json()
    _check(steps, "Register with the batch unknown and the reason", "201; kept a year after receipt",
           f"{unknown.get('batch_nos')} {unknown.get('retention_until')}",
           unknown.get("batch_nos") == [] and unknown.get("retention_until") == "2027-11-02")
    cid = s.register(product_code="OQ-M", batch_nos=["OQM2601"])
    s.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    before = s.state(f"/complaints/{cid}")
    answers = [_invalid(s.post("qa_officer", f"/complaints/{cid}/classification", body), field) for body, field in (
        ({"complaint_class": "IV", "rationale": "OQ", "adr_suspected": False}, "complaint_class"),
        ({"complaint_class": "II", "rationale": "OQ"}, "adr_suspected"))]
    _check(steps, "Classify with a class that does not exist; without answering the ADR question",
           "400 each naming the field, not numbered, nothing changed", answers,
           answers == [True, True] and s.state(f"/complaints/{cid}") == before)
    corrections = [400 if _invalid(s.post("qa_officer", f"/complaints/{cid}/batches", body), field) else "other"
                   for body, field in (({"batch_nos": ["OQM2602"]}, "reason"),
                                       ({"batch_nos": ["NOPE-1"], "reason": "r"}, "batch_nos"))]
    corrected = s.post("qa_officer", f"/complaints/{cid}/batches",
                       {"batch_nos": ["OQM2602"], "reason": "OQ: customer sent a photo of the label"}).get_json()
    event = [e for e in s.events(f"complaint:{cid}") if e["action"] == "complaint.batches_changed"]
    _check(steps, "Correct the batch without a reason, to an unknown batch, then with a reason",
           "400, 400, then changed and audited with the reason", f"{corrections} {corrected.get('batch_nos')} "
           f"{[e['reason'] for e in event]}", corrections == [400, 400] and corrected.get("batch_nos") == ["OQM2602"]
           and [e["reason"] for e in event] == ["OQ: customer sent a photo of the label"])
    page = s.get("qa_officer", f"/batches/{corrected['batches'][0]['id']}").get_json()["batch"]
    _check(steps, "Open the batch from the complaint", "product, manufacture, expiry and release dates from master data",
           page, (page.get("manufactured_on"), page.get("expires_on"), page.get("released_on"))
           == ("2026-03-01", "2028-02-29", "2026-03-20"))


def traceability(s: Scratch, steps: list[Step]) -> None:
    s.product("OQ-B", ("OQB01", "2026-01-05", "2028-01-04"), ("OQB02", "2026-02-05", "2028-02-04"),
              ("OQB03", "2026-03-05", "2028-03-04"))
    s.ship("OQ-B", "OQB02", "OQ Pharmacy Shanghai", 1200, address="上海市徐汇区 1 号", contact="Chen", phone="021-5555",
           out_of_hours_contact="139 0000 0101")
    s.ship("OQ-B", "OQB02", "OQ Apotheke Berlin", 50, is_export=True)
    s.ship("OQ-B", "OQB02", "OQ Hospital (samples)", 5, is_medical_sample=True)
    first = s.classified("III", product_code="OQ-B", batch_nos=["OQB02"], received_on="2026-10-01")
    second = s.classified("III", product_code="OQ-B", batch_nos=["OQB02"])
    cid = second["id"]
    page = s.get("qa_officer", f"/batches/{second['batches'][0]['id']}").get_json()
    shanghai = next(d for d in page["distributions"] if d["consignee"] == "OQ Pharmacy Shanghai")
    _check(steps, "Open the complained batch", "adjacent batches, both complaints, every shipment with contacts "
           "(out of hours too), the export and the medical samples marked",
           f"{[b['batch_no'] for b in page['adjacent_batches']]} {len(page['complaints'])} complaints "
           f"{[(d['consignee'], d['quantity']) for d in page['distributions']]}",
           [b["batch_no"] for b in page["adjacent_batches"]] == ["OQB01", "OQB03"] and len(page["complaints"]) == 2
           and shanghai.get("out_of_hours_contact") == "139 0000 0101" and shanghai.get("phone") == "021-5555"
           and [d.get("is_export") for d in page["distributions"]].count(True) == 1
           and [d.get("is_medical_sample") for d in page["distributions"]].count(True) == 1)
    related = s.get("investigator", f"/complaints/{cid}").get_json()["related"]
    _check(steps, "The investigator opens the later complaint", "the adjacent batches and the earlier complaint of the "
           "same product and type are listed", f"{[b['batch_no'] for b in related['adjacent_batches']]} "
           f"{[c['id'] for c in related['earlier_complaints']]}",
           [b["batch_no"] for b in related["adjacent_batches"]] == ["OQB01", "OQB03"]
           and [c["id"] for c in related["earlier_complaints"]] == [first["id"]])
    s.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": s.names["investigator"]})
    before = s.state(f"/complaints/{cid}")
    undecided = s.post("investigator", f"/complaints/{cid}/investigation",
                       {"root_cause": "r", "impact": "i", "substantiated": True})
    _check(steps, "Record the investigation without the decision on other batches", "400, nothing changed",
           undecided.status_code, _invalid(undecided, "other_batches_affected")
           and s.state(f"/complaints/{cid}") == before)
    web = s.browser("investigator")
    shown = web.get(f"/complaints/{cid}").get_data(as_text=True)
    form = {"csrf_token": csrf(web, f"/complaints/{cid}"), "recurrence_asked": "1", "root_cause": "low capping torque",
            "impact": "this batch", "other_batches_affected": "OQB01 and OQB03 checked: not affected",
            "substantiated": "yes", "extend_to_other_batches": "yes", "extension_batch_nos": ["OQB01", "OQB03"],
            "extension_rationale": "same capping line and cap lot as OQB02"}
    unanswered = web.post(f"/complaints/{cid}/investigate", data=form)
    answered = web.post(f"/complaints/{cid}/investigate", data={**form, "recurring_problem": "yes"})
    recorded = s.get("auditor", f"/complaints/{cid}").get_json()["investigation"] or {}
    _check(steps, "On the complaint page, record the investigation without, then with, the answer whether the "
           "problem recurs", "the earlier complaint listed; 400, then recorded with the answer and the other batches",
           f"{first['number'] in shown} {unanswered.status_code} {answered.status_code} "
           f"{recorded.get('recurring_problem')} {recorded.get('extension_batch_nos')}", first["number"] in shown
           and unanswered.status_code == 400 and answered.status_code in (302, 303)
           and recorded.get("recurring_problem") is True and recorded.get("other_batches_affected", "").startswith("OQB01")
           and recorded.get("extend_to_other_batches") is True
           and recorded.get("extension_batch_nos") == ["OQB01", "OQB03"])


def investigation_record(s: Scratch, steps: list[Step]) -> None:
    cid = s.classified("III")["id"]
    s.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": s.names["investigator"]})
    before = s.state(f"/complaints/{cid}")
    missing = s.post("investigator", f"/complaints/{cid}/investigation",
                     {"impact": "i", "other_batches_affected": "o", "substantiated": True})
    _check(steps, "Record an investigation without its root cause", "400, nothing changed", missing.status_code,
           _invalid(missing, "root_cause") and s.state(f"/complaints/{cid}") == before)
    done = s.post("investigator", f"/complaints/{cid}/investigation", {
        "root_cause": "most likely a worn capping head (no other cause found)", "impact": "this batch only",
        "other_batches_affected": "none", "substantiated": True,
        "checklist": {"batch_records": {"outcome": "done", "note": "no deviation"}}}).get_json()
    _check(steps, "Record findings, root cause, impact and the SOP checklist", "all kept on the complaint",
           done.get("investigation"), done["investigation"]["root_cause"].startswith("most likely")
           and list(done["investigation_checklist"]) == ["batch_records"])
    other = s.register()
    before = s.state(f"/complaints/{other}")
    unexplained = s.post("qa_officer", f"/complaints/{other}/validity",
                         {"information_complete": True, "substantiated": False})
    _check(steps, "Decide that a complaint needs no investigation (not substantiated) without saying why",
           "400, nothing changed", unexplained.status_code,
           _invalid(unexplained, "reason") and s.state(f"/complaints/{other}") == before)
    s.post("qa_officer", f"/complaints/{other}/validity", {"information_complete": True, "substantiated": False,
                                                           "reason": "OQ: the retained sample conforms"})
    s.post("qa_officer", f"/complaints/{other}/replies", {"replied_on": TODAY.isoformat(), "summary": "not substantiated"})
    officer = s.post("qa_officer", f"/complaints/{other}/closure", s.signed("qa_officer", {}))
    early = s.post("qa_head", f"/complaints/{other}/closure", s.signed("qa_head", {}))
    s.post("qa_head", f"/complaints/{other}/signatures", s.signed("qa_head", {"step": "audit_trail_review"}))
    closed = s.post("qa_head", f"/complaints/{other}/closure", s.signed("qa_head", {"comment": "no investigation"}))
    body = closed.get_json()
    _check(steps, "Close it: by the QA officer, by the head of quality before the audit-trail review, then after it",
           "403, 409, closed with the reason recorded and the head of quality's signature, no number",
           f"{officer.status_code} {early.status_code} {body.get('status')} {body.get('validity')} "
           f"{[x['signer_name'] for x in body.get('signatures', []) if x['step'] == 'closure']}",
           (officer.status_code, early.status_code, body.get("status")) == (403, 409, "closed")
           and body["validity"]["reason"] == "OQ: the retained sample conforms" and body["number"] is None
           and [x["signer_name"] for x in body["signatures"] if x["step"] == "closure"] == ["OQ qa_head"])


def inspector_copies(s: Scratch, steps: list[Step]) -> None:
    import json

    from gmp_complaints.archive import verify_archive

    cid = s.satisfied()
    s.upload("intake", f"/complaints/{cid}/attachments", "letter.pdf", b"%PDF-1.4 OQ customer letter")
    s.post("qa_head", f"/complaints/{cid}/signatures", s.signed("qa_head", {"step": "audit_trail_review"}))
    s.post("qa_head", f"/complaints/{cid}/closure", s.signed("qa_head", {"comment": "close"}))
    inspector = s.browser("auditor")
    sheet = inspector.get(f"/complaints/{cid}/documents/handling_sheet.pdf?lang=en")
    _check(steps, "The inspector (auditor role) prints the handling sheet", "a PDF, its SHA-256 stated",
           f"{sheet.status_code} {sheet.mimetype}", sheet.status_code == 200 and sheet.data.startswith(b"%PDF")
           and sheet.headers.get("X-Content-SHA256") == hashlib.sha256(sheet.data).hexdigest())
    package = inspector.get(f"/complaints/{cid}/archive.zip")
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    report = verify_archive(package.data)
    _check(steps, "The inspector downloads the complete record and checks it offline", "documents, attachments, the "
           "audit trail bundle and a signed manifest of SHA-256, the complainant masked (SEC-11); it verifies",
           f"{len(names)} files, {report.files_checked} checked, personal data {manifest.get('personal_data')}, "
           f"problems {report.problems[:1]}",
           report.ok and {"documents/handling_sheet.pdf", "documents/audit_trail.pdf", "audit/audit-bundle.zip",
                          "manifest.sig"} <= names and any(n.endswith("letter.pdf") for n in names)
           and manifest["complaint"]["closed_on"] == TODAY.isoformat() and manifest.get("personal_data") == "masked")
    tampered = verify_archive(changed_copy(package.data, "documents/handling_sheet.pdf", lambda data: data + b"%"))
    _check(steps, "Check a copy with one document changed", "fails, naming the file", tampered.problems[:1],
           not tampered.ok and any("handling_sheet.pdf" in p for p in tampered.problems))
    record = s.get("auditor", f"/complaints/{cid}").get_json()
    exports = [e["action"] for e in s.events(f"complaint:{cid}") if e["actor"]["name"] == "OQ auditor"]
    _check(steps, "Read the machine-readable record and the trail of the exports", "the complaint as JSON with its "
           "signatures; the print and the archive audited as the inspector's", f"{record['status']} "
           f"{len(record['signatures'])} signatures; {exports}", record["status"] == "closed"
           and len(record["signatures"]) >= 2 and {"document.printed", "complaint.archived"} <= set(exports))


def us_triage(s: Scratch, steps: list[Step]) -> None:
    from gmp_complaints.services.notifications import remind_field_alerts

    s.product("OQ-US", ("OQUS01", "2026-02-01", "2028-01-31"), markets=["CN", "US"])
    s.on(date(2026, 11, 9))  # a Monday; Wednesday 11 November is Veterans Day, a US federal holiday
    try:
        cid = s.register(product_code="OQ-US", batch_nos=["OQUS01"], received_on="2026-11-09")
        s.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
        body = {"complaint_class": "II", "rationale": "OQ: label of another strength", "adr_suspected": True}
        before = s.state(f"/complaints/{cid}")
        unanswered = [sorted(s.post("qa_officer", f"/complaints/{cid}/classification", attempt).get_json()["error"]
                             ["fields"]) for attempt in (body, {**body, "field_alert": True})]
        _check(steps, "Classify a complaint on a US-marketed product with a suspected reaction, leaving the field-alert "
               "screen unanswered; then 'serious? unexpected?'", "400 naming the questions each time, not numbered, "
               "nothing changed", unanswered, unanswered == [["field_alert"], ["adr_serious", "adr_unexpected"]]
               and s.state(f"/complaints/{cid}") == before)
        classified = s.post("qa_officer", f"/complaints/{cid}/classification", {
            **body, "field_alert": True, "adr_serious": False, "adr_unexpected": True}).get_json()
        [alert] = [n for n in s.notifications(classified["number"]) if n["kind"] == "field_alert"]
        _check(steps, "Answer them: field alert yes, not serious, unexpected", "numbered; a field alert due in 3 US "
               "working days (Friday 13 November, past Veterans Day)", f"{classified['number']} {alert['due_at']}",
               classified["classification"].get("adr_unexpected") is True
               and alert["due_at"] == "2026-11-13T23:59:59+08:00")
        reminders = []
        for day in (10, 11, 12):
            s.on(date(2026, 11, day))
            reminders.append(remind_field_alerts(s.uow()))
    finally:
        s.on(TODAY)
    _check(steps, "Run the field-alert reminder on 10, 11 and 12 November", "one reminder on US working days 1 and 2, "
           "none on the holiday", reminders, reminders == [1, 0, 1])
    refused = s.post("regulatory_affairs", f"/notifications/{alert['id']}/sent",
                     {"sent_at": alert["created_at"], "method": "fax", "reference": "3331a"})
    sent = s.post("regulatory_affairs", f"/notifications/{alert['id']}/sent", {
        "sent_at": alert["created_at"], "method": "electronic", "reference": "FAR-OQ-1",
        "recipient": "FDA CDER Office of Manufacturing Quality", "final": False})
    chain = [(n["stage"], n["status"]) for n in s.notifications(classified["number"]) if n["kind"] == "field_alert"]
    _check(steps, "Record the initial field alert without, then with, the FDA office and whether it is final",
           "400, then sent with a follow-up report due", f"{refused.status_code} {sent.status_code} {chain}",
           _invalid(refused, "recipient") and sent.status_code == 200
           and chain == [("initial", "sent"), ("follow_up", "due")])
    s.investigated(cid)
    s.post("qa_officer", f"/complaints/{cid}/assessment", {"reasonable": False, "actions": [], "adr_confirmed": True,
                                                           "regulator_report_required": False})
    s.post("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY.isoformat(), "summary": "reply"})
    s.post("intake", f"/complaints/{cid}/customer-responses", {"received_on": TODAY.isoformat(), "satisfied": True,
                                                               "text": "ok"})
    s.post("qa_head", f"/complaints/{cid}/signatures", s.signed("qa_head", {"step": "audit_trail_review"}))
    before = s.state(f"/complaints/{cid}")
    blocked = s.post("qa_head", f"/complaints/{cid}/closure", s.signed("qa_head", {"comment": "close"}))
    message = blocked.get_json()["error"]["message"]
    _check(steps, "Close it with the reaction suspected but not handed to pharmacovigilance and the field alert chain "
           "not final", "409 naming both, nothing changed", f"{blocked.status_code} {message}",
           blocked.status_code == 409 and "pharmacovigilance" in message and "field alert" in message
           and s.state(f"/complaints/{cid}") == before)
    handed = s.post("intake", f"/complaints/{cid}/adr", {"aware_on": "2026-11-09", "seriousness": "non_serious",
                                                         "unexpected": True, "reporter": "Dr OQ", "patient": "M, 50",
                                                         "reaction": "rash"}).get_json()
    _check(steps, "Hand the reaction to pharmacovigilance", "a PV case with day 0 the day the company first knew",
           (handed.get("adr") or {}).get("day0"), (handed.get("adr") or {}).get("day0") == "2026-11-09")


def calendars(s: Scratch, steps: list[Step]) -> None:
    from gmp_complaints.services.calendars import US_CALENDAR, load_calendar

    uow = s.uow()
    with uow:
        china, us = load_calendar(uow.session), load_calendar(uow.session, US_CALENDAR)
    days = {d: china.is_working_day(date.fromisoformat(d)) for d in ("2026-02-14", "2026-02-16", "2026-02-24")}
    _check(steps, "Read the site calendar around the 2026 Spring Festival", "Saturday 14 February an adjusted working "
           "day, 16 February a holiday, 24 February a working day", days,
           days == {"2026-02-14": True, "2026-02-16": False, "2026-02-24": True})
    deadlines = s.get("qa_officer", f"/complaints/{s.register(received_on='2026-02-13')}").get_json()["deadlines"]
    _check(steps, "Register a complaint received Friday 13 February 2026 (unclassified: class I limits)",
           "initial feedback due the adjusted Saturday 14 Feb, classification (2 working days) on 24 Feb, across the "
           "holiday", f"{deadlines['initial_feedback_due_on']} {deadlines['classification_due_on']}",
           (deadlines["initial_feedback_due_on"], deadlines["classification_due_on"]) == ("2026-02-14", "2026-02-24"))
    _check(steps, "Count 3 working days from Monday 9 November 2026 on the US federal calendar",
           "Friday 13 November (Veterans Day is not a working day)", us.add_working_days(date(2026, 11, 9), 3),
           us.add_working_days(date(2026, 11, 9), 3) == date(2026, 11, 13))
    notice = "date,kind,name\n2031-10-01,holiday,国庆节\n2031-10-02,holiday,国庆节\n2031-09-28,adjusted_workday,国庆调休\n"
    head = s.browser("qa_head").get("/admin/calendar")
    admin = s.browser("admin")

    def load(text: str, reason: str):
        return admin.post("/admin/calendar", data={"csrf_token": csrf(admin, "/admin/calendar"), "reason": reason,
                                                   "change_control_ref": "CC-OQ-02" if reason else "",
                                                   "file": (io.BytesIO(text.encode()), "2031.csv")},
                          content_type="multipart/form-data")

    events = s.scalar("SELECT count(*) FROM audit_events WHERE action = 'calendar.notice_loaded'")
    refused = [load(notice, "").status_code, load("date,kind,name\n2031-02-30,holiday,x\n", "notice").status_code]
    _check(steps, "Open the calendar as head of quality; load the official notice as administrator without a reason, "
           "and with an impossible date", "403; 400 and 400, nothing changed", f"{head.status_code} {refused}",
           head.status_code == 403 and refused == [400, 400]
           and s.scalar("SELECT count(*) FROM audit_events WHERE action = 'calendar.notice_loaded'") == events)
    loaded = load(notice, "国办发明电 2030 (OQ), change control CC-OQ-02")
    uow = s.uow()
    with uow:
        after = load_calendar(uow.session)
    reason = s.scalar("SELECT reason FROM audit_events WHERE action = 'calendar.notice_loaded' ORDER BY log_index DESC")
    loaded_event = ([e for e in s.events("calendar:CN") if e["action"] == "calendar.notice_loaded"] or [{}])[-1]
    _check(steps, "Load it with the reason", "the year official, the adjusted Sunday a working day, 1 Oct a holiday; "
           "the load audited with its reason", f"{loaded.status_code} {reason}", loaded.status_code in (302, 303)
           and after.is_working_day(date(2031, 9, 28)) and not after.is_working_day(date(2031, 10, 1))
           and after.deadline(date(2031, 9, 26), 3).provisional is False and "CC-OQ-02" in (reason or "")
           and loaded_event.get("changes", {}).get("change_control_ref") == [None, "CC-OQ-02"])


def time_limits(s: Scratch, steps: list[Step]) -> None:
    from gmp_complaints.services.timers import tick

    cid = s.register(received_on="2026-11-16")
    before = s.get("qa_officer", f"/complaints/{cid}").get_json()["deadlines"]["formal_reply_due_on"]
    change = {"key": "I.formal_reply", "working_days": 20, "reason": "OQ: management review, CC-OQ-03",
              "change_control_ref": "CC-OQ-03"}
    refused = [s.post("qa_head", "/time-limits", change).status_code,
               400 if _invalid(s.post("admin", "/time-limits", {**change, "reason": ""}), "reason") else "other"]
    changed = s.post("admin", "/time-limits", change)
    after = s.get("qa_officer", f"/complaints/{cid}").get_json()["deadlines"]["formal_reply_due_on"]
    event = s.events("configuration:time_limits")[-1]
    s.post("admin", "/time-limits", {**change, "working_days": 15, "reason": "OQ: back to the SOP value"})
    _check(steps, "Change the class I formal-reply limit 15 → 20 working days: as head of quality, as administrator "
           "without and with a reason", "403, 400, then in force on the complaint and audited with old and new value",
           f"{refused} {changed.status_code} {before} → {after} {event['changes'].get('time_limits')}",
           refused == [403, 400] and changed.status_code == 200 and after > before
           and "I.formal_reply=15" in str(event["changes"]) and "I.formal_reply=20" in str(event["changes"])
           and event["changes"].get("change_control_ref") == [None, "CC-OQ-03"])
    other = s.classified("II")["id"]
    due = s.get("qa_officer", f"/complaints/{other}").get_json()["deadlines"]["investigation_due_on"]
    request = {"kind": "investigation", "new_due_on": "2026-12-31", "reason": "OQ: stability test takes 4 weeks"}
    no_reason = s.post("investigator", f"/complaints/{other}/extension-requests", {**request, "reason": ""})
    requested = s.post("investigator", f"/complaints/{other}/extension-requests", request).get_json()
    investigator = s.post("investigator", f"/complaints/{other}/signatures",
                          s.signed("investigator", {"step": "extension_approval"}))
    approved = s.post("qa_head", f"/complaints/{other}/signatures",
                      s.signed("qa_head", {"step": "extension_approval"})).get_json()
    _check(steps, "Ask for an extension without and with a reason; approve it as the investigator, then as head of "
           "quality", "400; requested, not yet in force; 403; approved by signature and in force",
           f"{no_reason.status_code} {requested['deadlines']['investigation_due_on']} {investigator.status_code} "
           f"{approved['deadlines']['investigation_due_on']}", _invalid(no_reason, "reason")
           and requested["deadlines"]["investigation_due_on"] == due and investigator.status_code == 403
           and approved["deadlines"]["investigation_due_on"] == "2026-12-31"
           and [x["step"] for x in approved["signatures"]] == ["extension_approval"])
    tick(s.uow())
    board = s.get("qa_head", "/dashboard?scope=all").get_json()
    kinds = sorted(c["escalation"]["kind"] for c in board["escalated"] if c["id"] == cid)
    _check(steps, "Run the timer with the complaint received 16 November still unclassified on 20 November",
           "its overdue time limits escalated and on the head of quality's dashboard", kinds,
           {"initial_feedback", "classification"} <= set(kinds))


def notices(s: Scratch, steps: list[Step]) -> None:
    from gmp_complaints.services.timers import deliver_outbox

    s.person("oq.qpmail", "qp", email="qp@oq.example")
    s.configure(smtp_host="mail.oq.example")
    try:
        registered = s.post("intake", "/complaints", s.registration()).get_json()
        cid, ref = registered["id"], registered["intake_ref"]
        s.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
        number = s.post("qa_officer", f"/complaints/{cid}/classification",
                        {"complaint_class": "III", "rationale": "OQ", "adr_suspected": False}).get_json()["number"]
        s.investigated(cid)
        told = {(n["kind"], n["record_label"]) for n in s.get("qp", "/notices").get_json()["notices"]}
        _check(steps, "Register, classify and investigate a complaint", "the QP told of the complaint, its number and "
               "its investigation, in the application", sorted(k for k, label in told if label in (ref, number)),
               {("complaint_registered", ref), ("complaint_classified", number),
                ("investigation_recorded", number)} <= told)
        sent = []
        delivered = deliver_outbox(s.uow(), send=sent.append)
        mailed = [m for m in sent if m.recipient == "qp@oq.example"]
        _check(steps, "Deliver the outbox (the mail server stands in)", "the QP with an address e-mailed each notice; "
               "each delivery recorded", f"{delivered} {[m.subject for m in mailed][:1]}",
               len(mailed) >= 3 and any(ref in m.subject for m in mailed)
               and s.scalar("SELECT count(*) FROM outbox_messages WHERE status = 'sent'") >= 3)
    finally:
        s.configure(smtp_host=None)
    signed = s.post("qp", f"/complaints/{cid}/signatures", s.signed("qp", {"step": "qp_acknowledgement"})).get_json()
    trail = [e for e in s.events(f"complaint:{cid}") if e["action"] == "user_notice.created"]
    _check(steps, "The QP acknowledges; read the complaint's trail", "the acknowledgement recorded; who was told of "
           "what is in the trail", f"{[x['step'] for x in signed['signatures']]} {len(trail)} notices",
           [x["step"] for x in signed["signatures"]] == ["qp_acknowledgement"] and len(trail) >= 3)


def independence(s: Scratch, steps: list[Step]) -> None:
    cid = s.classified("II")["id"]
    before = s.state(f"/complaints/{cid}")
    answers = [400 if _invalid(s.post("qa_officer", f"/complaints/{cid}/assignment",
                                      {"investigator": s.names["intake"]}), "investigator") else "other",
               400 if _invalid(s.post("qa_officer", f"/complaints/{cid}/assignment",
                                      {"owner": s.names["intake"]}), "owner") else "other",
               s.post("intake", f"/complaints/{cid}/investigation", {"root_cause": "r", "impact": "i",
                      "other_batches_affected": "o", "substantiated": True}).status_code,
               s.post("intake", f"/complaints/{cid}/regrading", s.signed("intake", {"complaint_class": "I",
                                                                                   "reason": "r"})).status_code]
    _check(steps, "Make sales (intake) the investigator, the owner; let sales record the investigation and regrade",
           "400, 400, 403, 403; nothing changed", answers, answers == [400, 400, 403, 403]
           and s.state(f"/complaints/{cid}") == before)
    capa = s.post("qa_officer", "/capas", {"complaint_ids": [s.assessed()], "problem_statement": "p", "risk": "r",
                                           "effectiveness_criteria": "c", "effectiveness_due_on": "2027-06-30"})
    owner = s.post("qa_officer", f"/capas/{capa.get_json()['id']}/actions", {
        "kind": "corrective", "description": "d", "owner": s.names["intake"], "due_on": "2026-12-15"})
    recall = s.post("intake", "/recalls", {"complaint_ids": [cid], "batch_nos": ["OQ2601"], "level": "II",
                                           "depth": "retail", "reason": "r", "safety_hazard": False, "mock": True})
    combined = s.post("admin", "/access-requests", {"kind": "change_roles", "user_id": s.user_id("intake"),
                                                    "roles": ["intake", "recall_coordinator"], "reason": "OQ"})
    _check(steps, "Make sales a CAPA action owner; let sales propose a recall; give sales the recall coordinator role",
           "400, 403, 400", f"{owner.status_code} {recall.status_code} {combined.status_code}",
           _invalid(owner, "owner") and recall.status_code == 403 and _invalid(combined, "roles"))


def capa_lifecycle(s: Scratch, steps: list[Step]) -> None:
    first, second = s.assessed(), s.assessed()
    body = {"complaint_ids": [first], "problem_statement": "OQ: caps crack", "risk": "medium",
            "effectiveness_criteria": "no such complaint for 6 months", "effectiveness_due_on": "2027-06-30",
            "change_control_required": False}
    none = s.post("qa_officer", "/capas", {**body, "complaint_ids": []})
    capa = s.post("qa_officer", "/capas", body).get_json()
    linked = s.post("qa_officer", f"/capas/{capa['id']}/complaints", {"complaint_id": second}).get_json()
    on_complaint = [c["number"] for c in s.get("auditor", f"/complaints/{second}").get_json()["capas"]]
    _check(steps, "Open a CAPA without a complaint, then from one complaint, and link a second", "400; numbered, "
           "linked to both, shown on each complaint", f"{none.status_code} {capa.get('number')} "
           f"{[c['id'] for c in linked['complaints']]} {on_complaint}", _invalid(none, "complaint_ids")
           and capa["number"].startswith("CAPA-26-") and [c["id"] for c in linked["complaints"]] == [first, second]
           and on_complaint == [capa["number"]])
    cid = capa["id"]
    s.post("qa_officer", f"/capas/{cid}/actions", {"kind": "corrective", "description": "replace the capping head",
                                                   "owner": s.names["investigator"], "due_on": "2026-12-15"})
    planned = s.post("qa_head", f"/capas/{cid}/plan-approval", s.signed("qa_head", {"comment": "plan ok"})).get_json()
    action = planned["actions"][0]
    _check(steps, "Plan an action and approve the plan", "the action with its owner and due date; the plan approved "
           "by signature", f"{action['owner']['username']} {action['due_on']} {planned['plan_approved']}",
           action["owner"]["username"] == s.names["investigator"] and action["due_on"] == "2026-12-15"
           and planned["plan_approved"] is True)
    s.post("investigator", f"/capas/{cid}/actions/{action['id']}/implementation",
           {"implemented_on": TODAY.isoformat(), "evidence": "new head fitted"})
    before = s.get("auditor", f"/capas/{cid}").get_json()
    early = [s.post("qa_head", f"/capas/{cid}/closure", s.signed("qa_head", {})).status_code,
             s.post("qa_head", f"/capas/{cid}/effectiveness", s.signed("qa_head", {
                 "result": "effective", "evidence": "e", "early_reason": "r"})).status_code]
    _check(steps, "Close the CAPA, and check its effectiveness, before the implementation is approved",
           "409 each; the CAPA as it was", early, early == [409, 409]
           and s.get("auditor", f"/capas/{cid}").get_json() == before)
    s.post("qa_head", f"/capas/{cid}/actions/{action['id']}/implementation-approval", s.signed("qa_head", {}))
    s.post("qa_head", f"/capas/{cid}/effectiveness", s.signed("qa_head", {
        "result": "not_effective", "evidence": "OQ: two more complaints", "early_reason": "OQ: it recurred already"}))
    before = s.get("auditor", f"/capas/{cid}").get_json()
    blocked = s.post("qa_head", f"/capas/{cid}/closure", s.signed("qa_head", {}))
    _check(steps, "Record the check 'not effective' and close", "409: a follow-up CAPA first; nothing changed",
           f"{blocked.status_code} {blocked.get_json()['error']['message']}", blocked.status_code == 409
           and s.get("auditor", f"/capas/{cid}").get_json() == before)
    follow_up = s.post("qa_officer", "/capas", {**body, "follow_up_of": cid}).get_json()
    closed = s.post("qa_head", f"/capas/{cid}/closure", s.signed("qa_head", {"comment": "follow-up opened"})).get_json()
    _check(steps, "Open the follow-up CAPA, then close", "closed, every approval a valid signature",
           f"{follow_up.get('follow_up_of')} {closed.get('status')} {[x['step'] for x in closed.get('signatures', [])]}",
           follow_up.get("follow_up_of") == cid and closed.get("status") == "closed"
           and [x["step"] for x in closed["signatures"]] == ["capa_plan_approval", "action_implementation",
                                                             "effectiveness_check", "capa_closure"])


def signing_authority(s: Scratch, steps: list[Step]) -> None:
    from gmp_complaints.services import accounts

    cid = s.classified("II")["id"]
    before, refusals = s.state(f"/complaints/{cid}"), s.scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'signature.refused'")
    path = f"/complaints/{cid}/signatures"
    answers = [s.post("qa_head", path, s.signed("qa_head", {"step": "qp_acknowledgement"})).status_code,
               s.post("qa_head", path, s.signed("qp", {"step": "qp_acknowledgement"})).status_code,
               s.post("admin", path, s.signed("admin", {"step": "qp_acknowledgement"})).status_code]
    logged = s.scalar("SELECT count(*) FROM audit_events WHERE action = 'signature.refused'") - refusals
    _check(steps, "Sign the QP acknowledgement as head of quality; as head of quality with the QP's credentials; as "
           "administrator", "403 each, every refusal audited, nothing signed", f"{answers} {logged} refusals logged",
           answers == [403, 403, 403] and logged >= 2 and s.state(f"/complaints/{cid}") == before)
    s.person("oq.reset", "qp")
    temporary = accounts.reset_password(s.uow(), actor_id=s.user_id("admin"), user_id=s.scalar(
        "SELECT id FROM users WHERE username = 'oq.reset'"), reason="OQ: forgotten password").temporary_password
    with_temporary = s.token("oq.reset", temporary)
    _check(steps, "The administrator resets a QP's password; the QP uses the one-time password", "403 "
           "password_change_required: nobody but the QP ever knows a usable password",
           f"{with_temporary.status_code} {with_temporary.get_json()['error']['code']}",
           with_temporary.status_code == 403
           and with_temporary.get_json()["error"]["code"] == "password_change_required")
    accounts.change_password(s.uow(), username="oq.reset", old_password=temporary, new_password=PASSWORD + "-new",
                             source_ip=None)
    token = s.token("oq.reset", PASSWORD + "-new").get_json()["token"]
    done = s.post_json(path, {"step": "qp_acknowledgement", "username": "oq.reset", "password": PASSWORD + "-new"},
                       token=token).get_json()
    _check(steps, "After choosing a new password the QP signs", "the acknowledgement in the QP's own name",
           [x["signer_name"] for x in done.get("signatures", [])], [x["signer_name"] for x in done["signatures"]]
           == ["OQ oq.reset"])


def accounts_are_people(s: Scratch, steps: list[Step]) -> None:
    from gmp_complaints.domain.errors import DomainError
    from gmp_complaints.services import accounts

    nameless = s.post("admin", "/access-requests", {"kind": "create_user", "username": "oq.shared", "printed_name": " ",
                                                    "roles": ["investigator"], "reason": "OQ"})
    _check(steps, "Request an account with no person's name", "400 naming the printed name", nameless.status_code,
           _invalid(nameless, "printed_name"))
    s.person("oq.mover", "investigator")
    mover = s.scalar("SELECT id FROM users WHERE username = 'oq.mover'")
    change = {"kind": "change_roles", "user_id": mover, "roles": ["qa_officer"], "reason": "OQ: moved to QA, R-OQ-7"}
    no_reason = s.post("admin", "/access-requests", {**change, "reason": ""})
    requested = s.post("admin", "/access-requests", change).get_json()
    pending_roles = accounts.get_user(s.uow(), mover).roles
    path = f"/access-requests/{requested['id']}/decision"
    refused = [s.post("admin", path, s.signed("admin", {"decision": "approve"})).status_code,
               s.post("qa_head", path, {"decision": "approve", "username": s.names["qa_head"],
                                        "password": "wrong-password-oq"}).status_code]
    approved = s.post("qa_head", path, s.signed("qa_head", {"decision": "approve", "comment": "agreed"}))
    change_event = [e for e in s.get("admin", f"/audit/events?entity=user:{mover}").get_json()["events"]
                    if e["action"] == "user.roles_changed"]
    _check(steps, "Change a person's roles: request without a reason; request with one; decide it as the requesting "
           "administrator and with a wrong password; approve it as head of quality",
           "400; pending, nothing changed yet; 403, 401; then changed, recorded with approver, old and new roles and "
           "the reason", f"{no_reason.status_code} {pending_roles} {refused} {approved.status_code} "
           f"{[(e['actor']['name'], e['changes'].get('roles'), e['reason']) for e in change_event]}",
           _invalid(no_reason, "reason") and tuple(pending_roles) == ("investigator",) and refused == [403, 401]
           and approved.status_code == 200 and len(change_event) == 1
           and change_event[0]["actor"]["name"] == "OQ qa_head"
           and change_event[0]["changes"]["roles"] == [["investigator"], ["qa_officer"]]
           and "R-OQ-7" in change_event[0]["reason"])
    token = s.person("oq.leaver", "qp")
    cid = s.classified("II")["id"]
    s.post_json(f"/complaints/{cid}/signatures", {"step": "qp_acknowledgement", "username": "oq.leaver",
                                                  "password": PASSWORD}, token=token)
    leaver = s.scalar("SELECT id FROM users WHERE username = 'oq.leaver'")
    request = s.post("admin", "/access-requests", {"kind": "deactivate_user", "user_id": leaver,
                                                   "reason": "OQ: token reported lost"}).get_json()
    s.post("qa_head", f"/access-requests/{request['id']}/decision", s.signed("qa_head", {"decision": "approve"}))
    me = s.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
    login = s.token("oq.leaver", PASSWORD).status_code
    kept = [(x["signer_name"], x["status"]) for x in s.get("auditor", f"/complaints/{cid}").get_json()["signatures"]]
    _check(steps, "Disable a QP who signed (token reported lost): requested and approved", "the token and the log-in "
           "refused at once (401); the signature kept, valid, in the person's name", f"{me} {login} {kept}",
           (me, login) == (401, 401) and kept == [("OQ oq.leaver", "valid")])
    try:
        accounts.create_user(s.uow(), actor_id=None, username="oq.leaver", printed_name="Another Person", roles=["qp"])
        again = "accepted"
    except DomainError as exc:
        again = type(exc).__name__
    database = [s.refused_by_database("UPDATE users SET username = 'oq.someone' WHERE id = :id", id=leaver),
                s.refused_by_database("DELETE FROM users WHERE id = :id", id=leaver)]
    _check(steps, "Give the user name to someone else; rename or delete the user in the database",
           "refused; refused by the database", f"{again} {database}", again != "accepted" and database == [True, True])
    accounts.create_user(s.uow(), actor_id=None, username="oq.erp", printed_name="OQ ERP interface", roles=[],
                         account_type="service", temporary_password="oq-temporary-password-09")
    accounts.change_password(s.uow(), username="oq.erp", old_password="oq-temporary-password-09",
                             new_password=PASSWORD, source_ip=None)
    service = s.token("oq.erp", PASSWORD).get_json()["token"]
    browser = s.app.test_client()
    web = browser.post("/login", data={"csrf_token": csrf(browser, "/login"), "username": "oq.erp",
                                       "password": PASSWORD}).status_code
    acts = [s.post_json("/complaints", s.registration(), token=service).status_code,
            s.post_json("/auth/esignature-statement", {"password": PASSWORD}, token=service).status_code,
            s.post_json("/batches", {"product_code": "OQ-1", "batch_no": "OQ-ERP1", "manufactured_on": "2026-05-01",
                                     "expires_on": "2028-05-01"}, token=service).status_code]
    _check(steps, "A service account (the ERP interface) logs in to the pages, registers a complaint, takes up "
           "signing, feeds a batch", "403, 403, 403: no GMP act and no signature; the master data accepted",
           f"{web} {acts}", web == 403 and acts == [403, 403, 201])


def void_not_delete(s: Scratch, steps: list[Step]) -> None:
    classified = s.classified("II")
    cid = classified["id"]
    deleted = s.delete("qa_officer", f"/complaints/{cid}")
    _check(steps, "Delete a complaint", "409: never deleted", deleted.status_code,
           deleted.status_code == 409 and s.get("auditor", f"/complaints/{cid}").status_code == 200)
    before = s.state(f"/complaints/{cid}")
    no_reason = s.post("qa_officer", f"/complaints/{cid}/void-requests", {})
    _check(steps, "Ask to void it without a reason", "400, nothing changed", no_reason.status_code,
           _invalid(no_reason, "reason") and s.state(f"/complaints/{cid}") == before)
    s.post("qa_officer", f"/complaints/{cid}/void-requests", {"reason": "OQ: duplicate of another registration"})
    voided = s.post("qa_head", f"/complaints/{cid}/signatures",
                    s.signed("qa_head", {"step": "void_approval", "comment": "agreed"})).get_json()
    events = s.events(f"complaint:{cid}")
    void = [e for e in events if e["action"] == "complaint.void"]
    _check(steps, "Void it by request and the head of quality's signature", "status void, the number kept, the void "
           "audited with its reason; every earlier event still there",
           f"{voided.get('status')} {voided.get('number')} {[e['reason'] for e in void]} {events[0]['action']}",
           voided.get("status") == "void" and voided.get("number") == classified["number"] and len(void) == 1
           and void[0]["reason"].startswith("OQ: duplicate") and events[0]["action"] == "complaint.registered")
    later = s.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": s.names["investigator"]})
    _check(steps, "Work on the void complaint", "409; it stays readable", later.status_code,
           later.status_code == 409 and s.get("auditor", f"/complaints/{cid}").get_json()["status"] == "void")


def server_time(s: Scratch, steps: list[Step]) -> None:
    def database_clock() -> datetime:
        uow = s.uow()
        with uow:
            return uow.now()

    start = database_clock()
    cid = s.register()
    s.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True,
                                                         "occurred_at": "2000-01-01T00:00:00+00:00"})
    s.post("qa_officer", f"/complaints/{cid}/classification", {"complaint_class": "III", "rationale": "OQ",
                                                               "adr_suspected": False, "recorded_at": "2000-01-01"})
    end = database_clock()
    times = [datetime.fromisoformat(e["occurred_at"]) for e in s.events(f"complaint:{cid}")
             if e["action"] in ("complaint.registered", "complaint.validity", "complaint.classify")]
    _check(steps, "Register, check and classify a complaint, the client sending times of its own",
           "each act stamped on its own by the database clock, in order, with the site's offset; the client's times "
           "ignored", [t.isoformat() for t in times], len(times) == 3 and all(start <= t <= end for t in times)
           and times[0] < times[1] < times[2] and all(t.utcoffset() == timedelta(hours=8) for t in times))


def audit_in_words(s: Scratch, steps: list[Step]) -> None:
    import csv

    cid = s.classified("II")["id"]
    number = s.get("auditor", f"/complaints/{cid}").get_json()["number"]
    reader = s.browser("auditor")
    reader.post("/language", data={"csrf_token": csrf(reader, "/"), "lang": "en", "next": "/"})
    page = reader.get(f"/audit/?entity=complaint:{cid}").get_data(as_text=True)
    rows = page.split('id="audit-events"')[1] if 'id="audit-events"' in page else ""
    _check(steps, "The auditor opens the complaint's audit trail in the application", "plain language: actions, fields "
           "and codes in words, the record by its number, times with the offset; no table or column names",
           f"{'Complaint registered' in rows} {'Classification rationale' in rows} {number in page} {'+08:00' in rows}",
           "<td>Complaint registered</td>" in rows and "Classification rationale" in rows and number in page
           and "+08:00" in rows and "class_rationale" not in rows and ">complaint.classify<" not in rows)
    filtered = reader.get(f"/audit/?entity=complaint:{cid}&action=complaint.classify&actor={s.user_id('qa_officer')}"
                          f"&from={TODAY.isoformat()}").get_data(as_text=True)
    shown = filtered.split('id="audit-events"')[1].count("<tr>") - 1 if 'id="audit-events"' in filtered else -1
    bad = reader.get("/audit/?from=yesterday").get_data(as_text=True)
    _check(steps, "Filter by record, action, user and date; then give a date that is not one", "one event; the date "
           "field named as wrong", f"{shown} row(s); error shown {'has-error' in bad}", shown == 1 and "has-error" in bad)
    exported = reader.get(f"/audit/events.csv?entity=complaint:{cid}")
    table = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    exports = s.scalar("SELECT count(*) FROM audit_events WHERE action = 'audit.csv_exported' AND actor_id = :a",
                       a=s.user_id("auditor"))
    _check(steps, "Export the same trail to a spreadsheet (CSV)", "a header in words, one row per changed field, "
           "the export itself audited", f"{table[0][:4]} {len(table) - 1} rows; {exports} export(s) recorded",
           exported.mimetype == "text/csv" and table[0][0] == "Index" and len(table) > 3 and exports >= 1
           and any("Complaint registered" in row for row in table))


def security_events(s: Scratch, steps: list[Step]) -> None:
    import csv

    s.person("oq.watched", "investigator")
    watched = s.scalar("SELECT id FROM users WHERE username = 'oq.watched'")
    s.token("oq.watched", "wrong-password-oq-1")
    s.token("oq.watched", PASSWORD)
    s.post_json("/auth/password", {"username": "oq.watched", "old_password": PASSWORD,
                                   "new_password": PASSWORD + "-2"}, token=None)
    for change in ({"kind": "change_roles", "user_id": watched, "roles": ["qa_officer"], "reason": "OQ: moved to QA"},
                   {"kind": "deactivate_user", "user_id": watched, "reason": "OQ: left"}):
        request = s.post("admin", "/access-requests", change).get_json()
        s.post("qa_head", f"/access-requests/{request['id']}/decision", s.signed("qa_head", {"decision": "approve"}))
    reader = s.browser("admin")
    reader.post("/language", data={"csrf_token": csrf(reader, "/"), "lang": "en", "next": "/"})
    exported = reader.get(f"/audit/events.csv?entity=user:{watched}")
    _check(steps, "The administrator exports the account's audit trail", "200, a CSV", exported.status_code,
           exported.status_code == 200 and exported.mimetype == "text/csv")
    if exported.status_code != 200:
        return
    table = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    seen = {row["Action"]: row for row in table}
    failed = next((row for action, row in seen.items() if "fail" in action.lower()), {})
    _check(steps, "Create an account, fail a log-in, log in, change the password, change the roles, deactivate; the "
           "administrator reads the account's trail", "each security event with the user, the time and, for the "
           "log-ins, the source address", f"{len(table)} rows: {sorted(seen)}; failed from {failed.get('Source IP')}",
           len(seen) >= 6 and failed.get("Source IP") == "127.0.0.1" and all(row["Time"] for row in table)
           and all(row["User"] for row in table if "fail" not in row["Action"].lower()))


def idle_lock(s: Scratch, steps: list[Step]) -> None:
    cid = s.classified("II")["id"]
    web = s.browser("qp")
    opened = web.get(f"/complaints/{cid}").status_code
    ago = ("last_seen_at - INTERVAL '16 minutes'" if s.settings.database_url.startswith("postgresql")
           else "datetime(last_seen_at, '-16 minutes')")
    s.sql(f"UPDATE user_sessions SET last_seen_at = {ago} WHERE ended_at IS NULL AND user_id = :u",
          u=s.user_id("qp"))  # 16 minutes pass (the database clock cannot be moved)
    locked = web.get(f"/complaints/{cid}")
    token = csrf(web, "/lock")
    signed = web.post(f"/complaints/{cid}/sign", data={"csrf_token": token, "step": "qp_acknowledgement",
                                                        "username": s.names["qp"], "password": PASSWORD})
    after = s.get("auditor", f"/complaints/{cid}").get_json()["signatures"]
    _check(steps, "The QP's browser session is left idle for 16 minutes (limit 15), then the QP signs in it",
           "the page locks; the signature is not taken", f"{opened} → {locked.status_code} "
           f"{locked.headers.get('Location')}; signing {signed.status_code}, {len(after)} signatures",
           opened == 200 and locked.status_code == 302 and "/lock" in locked.headers.get("Location", "")
           and after == [])
    wrong = web.post("/lock", data={"csrf_token": token, "password": "wrong-password-oq"})
    still = web.get("/").status_code
    right = web.post("/lock", data={"csrf_token": token, "password": PASSWORD})
    _check(steps, "Unlock with a wrong password, then with the right one", "still locked; then unlocked",
           f"{wrong.status_code} {still} {right.status_code} {web.get('/').status_code}",
           still == 302 and right.status_code == 302 and web.get("/").status_code == 200)


def stored_records_verified(s: Scratch, steps: list[Step]) -> None:
    from audit.integrity import verify_storage

    cid = s.register()
    letter = b"%PDF-1.4 OQ letter kept for years " + str(cid).encode()
    attachment = s.upload("intake", f"/complaints/{cid}/attachments", "letter.pdf", letter).get_json()
    differences, files = verify_storage(s.uow())
    _check(steps, "Run the periodic verification of the stored records", "every file matches its SHA-256, the audit "
           "log and every signature verify", f"{files} files, {len(differences)} differences "
           f"{[d.describe() for d in differences][:1]}", files >= 1 and not differences)
    stored = s.app.config["GMP_SETTINGS"].attachment_root / letter_path(attachment["sha256"])
    mode = stored.stat().st_mode & 0o777
    stored.chmod(0o600)
    stored.write_bytes(b"%PDF-1.4 changed on the disk")
    try:
        differences, _ = verify_storage(s.uow())
    finally:
        stored.write_bytes(letter)
        stored.chmod(mode)
    told = [n for n in s.get("qa_head", "/notices").get_json()["notices"] if n["kind"] == "storage_verification_failed"]
    _check(steps, "Change the stored file on the disk and run it again", "the difference named; the head of quality "
           "told; the run in the audit trail", [d.describe() for d in differences],
           any(f"attachment:{attachment['id']}" in d.describe() for d in differences) and told
           and s.scalar("SELECT count(*) FROM audit_events WHERE action = 'storage.verified'") >= 2)
    restored, _ = verify_storage(s.uow())
    _check(steps, "Put the file back and run it again", "no difference", len(restored), not restored)


def letter_path(sha256: str) -> Path:
    """Where the content store keeps a file: by its SHA-256."""
    return Path(sha256[:2]) / sha256[2:4] / sha256


def backup_restore(s: Scratch, steps: list[Step]) -> None:
    from audit.export import export_audit_trail
    from audit.verify import verify_bundle
    from gmp_complaints.backup import BackupError, create_backup, log_head, restore_backup
    from gmp_complaints.config import load_settings
    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.uow import UnitOfWork

    tables = ("complaints", "attachments", "signatures", "users", "capas", "recalls")

    def counts(engine) -> dict:
        with engine.connect() as connection:
            return {t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}

    source = s.app.extensions["gmp_engine"]
    backup = s.folder / "oq-backup.zip"
    manifest = create_backup(s.app.config["GMP_SETTINGS"], backup)
    with source.connect() as connection:
        head = log_head(connection)
    before = counts(source)
    _check(steps, "Back up the instance in use", "one file holding the database, the instance folder and the keys, "
           "with the audit log's tree size and root hash", f"{manifest['tree_size']} {manifest['root_hash'][:16]}…",
           (manifest["tree_size"], manifest["root_hash"]) == (head.tree_size, head.root_hash) and backup.is_file())
    try:
        restore_backup(s.app.config["GMP_SETTINGS"], backup)
        into_used = "restored"
    except BackupError as exc:
        into_used = f"refused: {exc}"
    _check(steps, "Restore it over the instance in use", "refused, nothing changed", into_used[:80],
           into_used.startswith("refused") and counts(source) == before)
    url, drop = _empty_database(s)
    target = load_settings({"GMP_INSTANCE_PATH": str(s.folder / "restored"), "DATABASE_URL": url, "GMP_ENV": "test"})
    with zipfile.ZipFile(backup) as archive:
        key = next(n for n in archive.namelist() if n.startswith("instance/keys/"))
    damaged = s.folder / "oq-backup-damaged.zip"
    damaged.write_bytes(changed_copy(backup.read_bytes(), key, lambda data: data[:-1] + bytes([data[-1] ^ 1])))
    engine = None
    try:
        try:
            restore_backup(target, damaged)
            refused = "restored"
        except BackupError as exc:
            refused = f"refused: {exc}"
        _check(steps, "Restore a copy of the backup with one byte changed into an empty instance",
               "refused, naming the file; nothing written", refused[:120], refused.startswith("refused")
               and key in refused and not [p for p in Path(target.instance_path).rglob("*")
                                           if p.is_file() and p.name != "secret_key"])
        _, restored = restore_backup(target, backup)
        engine = make_engine(url)
        bundle = export_audit_trail(UnitOfWork(make_session_factory(engine), target), actor_id=None).data
        report = verify_bundle(bundle)
        _check(steps, "Restore the backup into an empty database and instance folder; export and verify its trail",
               "the same tree size and root hash; the same record counts; the trail verifies offline",
               f"{restored.tree_size} {restored.root_hash[:16]}… {counts(engine)}",
               (restored.tree_size, restored.root_hash) == (head.tree_size, head.root_hash)
               and counts(engine) == before and report.ok)
    finally:
        if engine is not None:
            engine.dispose()
        drop()


def _empty_database(s: Scratch) -> tuple[str, Callable]:
    """An empty database of the scratch instance's kind for a restore drill, and how to remove it."""
    url = sa.engine.make_url(s.settings.database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{s.folder / 'restored' / 'gmp.sqlite3'}", lambda: None
    name = f"{url.database}_restore"
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

    with server.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False), drop


LEGACY_HEADER = "投诉编号,接收日期,产品代码,批号,投诉类型,级别,状态,关闭日期,投诉内容\n"


def legacy_import(s: Scratch, steps: list[Step]) -> None:
    good = LEGACY_HEADER + ("TS-II-24-001,2024-01-15,OQ-1,,outer_packaging,II,closed,2024-02-20,carton crushed\n"
                            "TS-III-24-001,2024-03-02,OQ-1,,other,III,closed,2024-03-30,leaflet blurred\n"
                            "TS-II-24-002,2024-04-10,OQ-1,,inner_packaging,II,void,,registered twice\n")
    bad = LEGACY_HEADER + ("TS-II-24-010,2024-05-01,OQ-1,,other,II,closed,2024-05-20,fine\n"
                           "TS-III-24-002,2099-01-01,OQ-1,,other,III,closed,2099-02-01,future\n"
                           "TS-II-24-011,2024-05-02,OQ-NOPE,,other,II,closed,2024-05-20,unknown product\n")

    def upload(role: str, text: str):
        return s.upload(role, "/legacy-imports", "ledger.csv", text.encode(), username=s.names[role],
                        password=PASSWORD)

    count = s.scalar("SELECT count(*) FROM complaints")
    refused = upload("qa_head", bad)
    lines = sorted({p.split(":")[0] for p in refused.get_json()["error"]["fields"].get("file", [])})
    officer = upload("qa_officer", good)
    _check(steps, "Import a legacy ledger with a future date and an unknown product; import as QA officer",
           "400 naming every bad line, nothing imported; 403", f"{refused.status_code} {lines} {officer.status_code}",
           refused.status_code == 400 and lines == ["line 3", "line 4"] and officer.status_code == 403
           and s.scalar("SELECT count(*) FROM complaints") == count)
    report = upload("qa_head", good).get_json()
    _check(steps, "Import a good ledger as head of quality", "all rows imported with their numbers, reconciled "
           "(row count and file SHA-256) in a report the head of quality signs",
           f"{report.get('rows_read')}/{report.get('rows_imported')}/{report.get('rows_refused')} "
           f"{report.get('signature', {}).get('signer_name')}", (report.get("rows_read"), report.get("rows_imported"),
                                                                 report.get("rows_refused")) == (3, 3, 0)
           and report["file_sha256"] == hashlib.sha256(good.encode()).hexdigest()
           and report["signature"]["signer_name"] == "OQ qa_head")
    from gmp_complaints.services.legacy_import import stored_content

    uow = s.uow()
    with uow:
        content = stored_content(uow.session, report["id"])
    ledger = {r["number"]: r["status"] for r in s.get("auditor", "/ledger?year=2024").get_json()["rows"]}
    _check(steps, "Reconcile the stored records with the import and read the 2024 ledger", "the content SHA-256 "
           "matches; numbers, statuses and the migrated mark kept", f"{content == report['content_sha256']} {ledger}",
           content == report["content_sha256"] and ledger == {"TS-II-24-001": "closed", "TS-III-24-001": "closed",
                                                               "TS-II-24-002": "void"})


def paper_fallback(s: Scratch, steps: list[Step]) -> None:
    web = s.browser("qa_officer")
    forms = {kind: web.get(f"/forms/{kind}.pdf") for kind in ("intake", "handling", "recall")}
    _check(steps, "Print the blank intake, handling and recall forms (kept ready for an outage)", "three PDFs",
           {k: r.status_code for k, r in forms.items()},
           all(r.status_code == 200 and r.data.startswith(b"%PDF") for r in forms.values()))
    count = s.scalar("SELECT count(*) FROM complaints")
    half = s.post("intake", "/complaints", s.registration(paper_reference="PF-OQ-031"))
    _check(steps, "Enter a complaint from its paper form without saying why it is entered late", "400, nothing stored",
           f"{half.status_code} {sorted(half.get_json()['error']['fields'])}",
           _invalid(half, "entered_late_reason") and s.scalar("SELECT count(*) FROM complaints") == count)
    entered = s.post("intake", "/complaints", s.registration(
        received_on="2026-11-02", paper_reference="PF-OQ-031", entered_late_reason="OQ: system down 2–3 Nov")).get_json()
    registered = next(e for e in s.events(f"complaint:{entered['id']}") if e["action"] == "complaint.registered")
    _check(steps, "Enter it with the paper form's reference and the reason", "the original received date kept, the "
           "paper original referenced on the record and in its trail", f"{entered['received_on']} "
           f"{entered['paper_original']}", entered["received_on"] == "2026-11-02"
           and entered["paper_original"] == {"reference": "PF-OQ-031", "entered_late_reason": "OQ: system down 2–3 Nov"}
           and registered["changes"].get("paper_reference") == [None, "PF-OQ-031"])


ADR_CASE = {"aware_on": "2026-11-02", "seriousness": "hospitalisation", "unexpected": False, "reporter": "Dr OQ",
            "patient": "F, 45", "reaction": "rash"}


def pv_investigation_request(s: Scratch, steps: list[Step]) -> None:
    cid = s.register()
    s.post("intake", f"/complaints/{cid}/adr", ADR_CASE)
    path = f"/complaints/{cid}/adr/1/investigation-requests"
    question = {"question": "OQ: any deviation on this batch?", "batch_nos": ["OQ2601"]}
    refused = [s.post("qa_officer", path, question).status_code,
               400 if _invalid(s.post("pv_officer", path, {**question, "batch_nos": ["NOPE-1"]}), "batch_nos")
               else "other"]
    asked = s.post("pv_officer", path, question)
    _check(steps, "Ask for a batch investigation from the PV case: as QA, with an unknown batch, as PV",
           "403, 400, then the request linked to the case", f"{refused} {asked.status_code}",
           refused == [403, 400] and asked.status_code == 201)
    answer = f"{path}/1/answer"
    refused = [s.post("pv_officer", answer, {"answer": "x"}).status_code,
               400 if _invalid(s.post("investigator", answer, {"answer": " "}), "answer") else "other"]
    s.post("investigator", answer, {"answer": "OQ: batch record and retained sample reviewed, no deviation"})
    seen = s.get("pv_officer", f"/complaints/{cid}").get_json()["adr"]["cases"][0]["investigation_requests"][0]
    _check(steps, "Answer it as PV, blank as the investigator, then with the finding", "403, 400, then the answer "
           "fed back to PV with who and when", f"{refused} {seen.get('answered_by', {}).get('username')} "
           f"{seen.get('answer')}", refused == [403, 400] and seen["answer"].startswith("OQ: batch record")
           and seen["answered_by"]["username"] == s.names["investigator"] and seen["answered_at"])
    before = s.state(f"/complaints/{cid}")
    again = s.post("qa_officer", answer, {"answer": "rewritten"})
    _check(steps, "Answer it again", "409, nothing changed", again.status_code,
           again.status_code == 409 and s.state(f"/complaints/{cid}") == before)


def proposed_recall(s: Scratch, code: str, batch_no: str, **overrides) -> dict:
    return s.post("qa_officer", "/recalls", {"complaint_ids": [], "batch_nos": [batch_no], "product_code": code,
                                             "level": "II", "depth": "retail", "reason": "OQ recall",
                                             "safety_hazard": False, "mock": False, **overrides}).get_json()


def decided_recall(s: Scratch, recall_id: int) -> dict:
    s.post("qp", f"/recalls/{recall_id}/signatures", s.signed("qp", {"step": "recall_decision"}))
    return s.post("qa_head", f"/recalls/{recall_id}/signatures", s.signed("qa_head", {"step": "recall_decision"})).get_json()


def sent_to_authorities(s: Scratch, recall_id: int) -> None:
    """Every register entry of the recall that is owed recorded as sent, at the time it was created."""
    for entry in s.get("qa_head", f"/recalls/{recall_id}").get_json()["notifications"]:
        if entry["sent_at"] is None:
            s.post("recall_coordinator", f"/notifications/{entry['id']}/sent",
                   {"sent_at": entry["created_at"], "method": "email", "reference": f"OQ {entry['kind']}"})


def recall_clocks(s: Scratch, steps: list[Step]) -> None:
    clocks = {c["level"]: (c["notify_hours"], c["report_and_plan_days"], c["progress_every_days"])
              for c in s.get("qa_head", "/recall-clocks").get_json()["recall_clocks"]}
    _check(steps, "Read the recall clocks", "the 2007 rules: I 24 h/1/1 days, II 48 h/3/3, III 72 h/7/7", clocks,
           clocks == {"I": (24, 1, 1), "II": (48, 3, 3), "III": (72, 7, 7)})
    change = {"notify_hours": 72, "report_and_plan_days": 7, "progress_every_days": 5,
              "reason": "OQ: regulatory affairs confirmed the text in force, CC-OQ-04", "change_control_ref": "CC-OQ-04"}
    refused = [s.post("qa_head", "/recall-clocks/III", change).status_code,
               400 if _invalid(s.post("admin", "/recall-clocks/III", {**change, "reason": ""}), "reason") else "other"]
    changed = s.post("admin", "/recall-clocks/III", change).status_code
    s.product("OQ-R", ("OQR01", "2026-02-01", "2028-01-31"))
    s.ship("OQ-R", "OQR01", "OQ Pharmacy", 100)
    decided = decided_recall(s, proposed_recall(s, "OQ-R", "OQR01", level="III")["id"])
    s.post("admin", "/recall-clocks/III", {**change, "progress_every_days": 7, "reason": "OQ: back to 2007 values"})
    at = datetime.fromisoformat(decided["decided_at"])
    due = {k: datetime.fromisoformat(v) - at for k, v in decided["deadlines"].items()}
    logged = s.scalar("SELECT count(*) FROM audit_events WHERE action = 'recall_clock.changed' AND reason LIKE 'OQ:%'")
    _check(steps, "Change level III progress reports to every 5 days: as head of quality, as administrator without and "
           "with a reason; decide a level III recall", "403, 400, changed and audited; the clocks run from the "
           "decision: notify 72 h, report and plan 7 days, progress 5 days", f"{refused} {changed} {due}",
           refused == [403, 400] and changed == 200 and logged == 2
           and due == {"notify_consignees_by": timedelta(hours=72), "report_and_plan_by": timedelta(days=7),
                       "next_progress_report_by": timedelta(days=5)})


def safety_hazard_and_register(s: Scratch, steps: list[Step]) -> None:
    s.product("OQ-S", ("OQS01", "2026-02-01", "2028-01-31"))
    s.ship("OQ-S", "OQS01", "OQ Wholesaler", 300)
    recall = proposed_recall(s, "OQ-S", "OQS01", level="I", safety_hazard=True)
    decided = decided_recall(s, recall["id"])
    notice = next(n for n in decided["notifications"] if n["kind"] == "recall_notice")
    _check(steps, "Decide a recall for a safety hazard", "an immediate report to the local authority, due at the "
           "decision", f"{notice['due_at']} / decided {decided['decided_at']}", notice["due_at"] == decided["decided_at"])
    line = {"consignee": "OQ Wholesaler", "batch_no": "OQS01", "quantity_recovered": 300, "quantity_destroyed": 0}
    before = s.state(f"/recalls/{recall['id']}")
    blocked = s.post("recall_coordinator", f"/recalls/{recall['id']}/reconciliation", line)
    _check(steps, "Reconcile stock before the immediate report is sent", "409, nothing changed",
           f"{blocked.status_code} {blocked.get_json()['error']['message'][:80]}", blocked.status_code == 409
           and s.state(f"/recalls/{recall['id']}") == before)
    sent_at = datetime.fromisoformat(decided["decided_at"])
    answers = [400 if _invalid(s.post("recall_coordinator", f"/notifications/{notice['id']}/sent", {
                   "sent_at": (sent_at + timedelta(days=30)).isoformat(), "method": "fax"}), "sent_at") else "other",
               s.post("intake", f"/notifications/{notice['id']}/sent", {
                   "sent_at": sent_at.isoformat(), "method": "fax"}).status_code]
    sent = s.post("recall_coordinator", f"/notifications/{notice['id']}/sent", {
        "sent_at": sent_at.isoformat(), "method": "fax", "reference": "OQ fax 021-1234"}).get_json()
    copy = s.upload("regulatory_affairs", f"/notifications/{notice['id']}/copy", "report.pdf", b"%PDF-1.4 OQ report")
    second = s.upload("regulatory_affairs", f"/notifications/{notice['id']}/copy", "other.pdf", b"%PDF-1.4 other")
    _check(steps, "Record it as sent in the future; as sales; then as sent with method and reference, with a copy",
           "400, 403; sent with its reference and a copy (SHA-256) that never changes",
           f"{answers} {sent.get('status')} {sent.get('reference')} {copy.status_code} {second.status_code}",
           answers == [400, 403] and sent.get("status") == "sent" and copy.status_code == 201
           and copy.get_json()["copy"]["sha256"] == hashlib.sha256(b"%PDF-1.4 OQ report").hexdigest()
           and second.status_code == 409)
    done = s.post("recall_coordinator", f"/recalls/{recall['id']}/reconciliation", line)
    _check(steps, "Reconcile after the report was sent", "accepted", done.status_code, done.status_code == 200)
    cid = s.classified("II")["id"]
    s.investigated(cid)
    number = s.post("qa_officer", f"/complaints/{cid}/assessment", {
        "reasonable": True, "actions": [], "adr_confirmed": False, "regulator_report_required": True}).get_json()["number"]
    [report] = s.notifications(number)
    register = s.get("qa_head", "/notifications?status=overdue").get_json()["notifications"]
    board = s.get("qa_head", "/dashboard?scope=all").get_json()["notifications"]
    _check(steps, "Assess a complaint as a major quality problem to report; read the register and the dashboard",
           "a quality report due at the end of the next working day; the register lists due, sent and overdue "
           "entries; overdue ones flagged on the dashboard", f"{report['kind']} {report['due_at']}; "
           f"{len(register)} overdue; dashboard {sorted({n['status'] for n in board})}",
           (report["kind"], report["due_at"]) == ("quality_report", "2026-11-23T23:59:59+08:00")
           and all(n["status"] == "overdue" for n in register) and register
           and any(n["status"] == "overdue" for n in board))


def eu_authorities(s: Scratch, steps: list[Step]) -> None:
    s.product("OQ-EU", ("OQEU01", "2026-02-01", "2028-01-31"), ("OQEU00", "2023-01-10", "2025-01-09"),
              markets=["CN", "DE", "FR"], marketing_authorisation_holder="OQ Pharma GmbH")
    s.ship("OQ-EU", "OQEU01", "OQ Grosshandel", 200)
    recall = proposed_recall(s, "OQ-EU", "OQEU01")
    owed = sorted(n["authority"] for n in s.notifications(recall["number"]) if n["kind"] == "quality_report")
    _check(steps, "Propose a recall of a product marketed in Germany and France", "notifications owed at once to both "
           "competent authorities and the MAH", owed, len(owed) == 3 and any(a.startswith("DE ") for a in owed)
           and any(a.startswith("FR ") for a in owed) and any("OQ Pharma GmbH" in a for a in owed))
    decided_recall(s, recall["id"])
    line = {"consignee": "OQ Grosshandel", "batch_no": "OQEU01", "quantity_recovered": 200, "quantity_destroyed": 0}
    before = s.state(f"/recalls/{recall['id']}")
    blocked = s.post("recall_coordinator", f"/recalls/{recall['id']}/reconciliation", line)
    _check(steps, "Execute the recall before the authorities are told", "409 (EU GMP 8.15), nothing changed",
           f"{blocked.status_code} {blocked.get_json()['error']['message'][:60]}", blocked.status_code == 409
           and s.state(f"/recalls/{recall['id']}") == before)
    for entry in s.notifications(recall["number"]):
        if entry["kind"] == "quality_report":
            s.post("recall_coordinator", f"/notifications/{entry['id']}/sent",
                   {"sent_at": entry["created_at"], "method": "email", "reference": "QDR-OQ"})
    done = s.post("recall_coordinator", f"/recalls/{recall['id']}/reconciliation", line)
    _check(steps, "Record the notifications as sent, then execute", "accepted", done.status_code,
           done.status_code == 200)
    cid = s.classified("II", product_code="OQ-EU", batch_nos=["OQEU00"])["id"]
    s.investigated(cid)
    number = s.post("qa_officer", f"/complaints/{cid}/assessment", {
        "reasonable": True, "actions": ["compensation"], "adr_confirmed": False,
        "regulator_report_required": False}).get_json()["number"]
    owed = sorted(n["authority"] for n in s.notifications(number) if n["kind"] == "quality_report")
    _check(steps, "Confirm a defect on an expired batch (no recall possible)", "the authorities are owed a "
           "notification all the same", owed, any(a.startswith("DE ") for a in owed)
           and any(a.startswith("FR ") for a in owed))


def recall_execution(s: Scratch, steps: list[Step]) -> None:
    import csv
    import time

    from openpyxl import load_workbook

    s.product("OQ-X", ("OQX01", "2026-02-01", "2028-01-31"))
    s.ship("OQ-X", "OQX01", "OQ Pharmacy Shanghai", 1200, contact="Chen", phone="021-5555 0101",
           out_of_hours_contact="139 0000 0101", address="上海市徐汇区 1 号")
    s.ship("OQ-X", "OQX01", "OQ Pharmacy Shanghai", 300, shipped_on="2026-04-01")
    s.ship("OQ-X", "OQX01", "OQ Apotheke Berlin", 50, is_export=True)
    recall = proposed_recall(s, "OQ-X", "OQX01", level="III")
    rid = recall["id"]
    started = time.monotonic()
    listed = s.get("recall_coordinator", f"/recalls/{rid}/consignees").get_json()["consignees"]
    as_csv = s.download("recall_coordinator", f"/recalls/{rid}/consignees", format="csv")
    as_xlsx = s.download("recall_coordinator", f"/recalls/{rid}/consignees", format="xlsx")
    seconds = time.monotonic() - started
    shanghai = next(c for c in listed if c["consignee"] == "OQ Pharmacy Shanghai")
    sheet = load_workbook(io.BytesIO(as_xlsx.data)).active
    rows = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True).lstrip("\ufeff"))))
    _check(steps, "List the consignees of the proposed recall, as JSON, CSV and XLSX", "one line per consignee and "
           "batch with the quantity delivered, contacts out of hours, the export marked; within seconds",
           f"{[(c['consignee'], c['quantity_delivered']) for c in listed]} in {seconds:.2f} s",
           [(c["consignee"], c["quantity_delivered"]) for c in listed] == [("OQ Apotheke Berlin", 50),
                                                                         ("OQ Pharmacy Shanghai", 1500)]
           and shanghai["out_of_hours_contact"] == "139 0000 0101" and listed[0]["is_export"] is True
           and len(rows) == 3 and sheet.max_row >= 4 and seconds < 5)
    decided_recall(s, rid)
    sent_to_authorities(s, rid)
    before = s.state(f"/recalls/{rid}")
    over = s.post("recall_coordinator", f"/recalls/{rid}/reconciliation", {
        "consignee": "OQ Apotheke Berlin", "batch_no": "OQX01", "quantity_recovered": 51, "quantity_destroyed": 0})
    early = s.post("qp", f"/recalls/{rid}/signatures", s.signed("qp", {"step": "recall_closure"}))
    _check(steps, "Record more recovered than delivered; sign the final report with lines unreconciled",
           "400 and 409; nothing changed", f"{over.status_code} {early.status_code}",
           _invalid(over, "quantity_recovered") and early.status_code == 409
           and s.state(f"/recalls/{rid}") == before)
    for consignee in ("OQ Apotheke Berlin", "OQ Pharmacy Shanghai"):
        notice = s.download("recall_coordinator", f"/recalls/{rid}/notice.pdf", consignee=consignee)
        prepared = next(n for n in s.get("qa_head", f"/recalls/{rid}").get_json()["notices"]
                        if n["consignee"] == consignee)
        s.post("recall_coordinator", f"/recalls/{rid}/notices", {"consignee": consignee, "method": "email",
                                                                 "sent_at": prepared["prepared_at"]})
    s.post("recall_coordinator", f"/recalls/{rid}/reconciliation", {
        "consignee": "OQ Apotheke Berlin", "batch_no": "OQX01", "quantity_recovered": 0, "quantity_destroyed": 50})
    reconciled = s.post("recall_coordinator", f"/recalls/{rid}/reconciliation", {
        "consignee": "OQ Pharmacy Shanghai", "batch_no": "OQX01", "quantity_recovered": 1500,
        "quantity_destroyed": 0}).get_json()
    lines = {x["consignee"]: (x["quantity_outstanding"], x["stock_status"]) for x in reconciled["reconciliation"]}
    _check(steps, "Send each consignee its notice (a PDF) and reconcile delivered against recovered and destroyed",
           "nothing outstanding; the recovered stock quarantined as recalled", f"{notice.status_code} {lines}",
           notice.data.startswith(b"%PDF") and lines["OQ Apotheke Berlin"][0] == 0
           and lines["OQ Pharmacy Shanghai"] == (0, "quarantined_recalled"))
    s.post("recall_coordinator", f"/recalls/{rid}/completion", {"comment": "all reconciled"})
    sent_to_authorities(s, rid)  # the completion report
    coordinator = s.post("recall_coordinator", f"/recalls/{rid}/batch-dispositions",
                         s.signed("recall_coordinator", {"batch_no": "OQX01", "decision": "destroy"}))
    disposed = s.post("qa_head", f"/recalls/{rid}/batch-dispositions",
                      s.signed("qa_head", {"batch_no": "OQX01", "decision": "destroy", "comment": "destroy under QA"}))
    checked = s.post("recall_coordinator", f"/recalls/{rid}/effectiveness-check", {"level": "A"}).get_json()
    for consignee in checked["effectiveness"]["sample"]:
        s.post("recall_coordinator", f"/recalls/{rid}/effectiveness-contacts", {
            "consignee": consignee, "contacted_on": TODAY.isoformat(), "method": "phone",
            "result": "notice_received_stock_removed"})
    s.post("qp", f"/recalls/{rid}/signatures", s.signed("qp", {"step": "recall_closure"}))
    closed = s.post("qa_head", f"/recalls/{rid}/signatures", s.signed("qa_head", {"step": "recall_closure"})).get_json()
    report = s.browser("qa_officer").get(f"/recalls/{rid}/report.pdf?lang=en")
    _check(steps, "Dispose of the batch as the coordinator, then as head of quality; check effectiveness; sign the "
           "final report (QP, head of quality) and print it", "403, then a signed disposition; closed with every "
           "signature valid; the report a PDF", f"{coordinator.status_code} {disposed.status_code} "
           f"{closed.get('status')} {[x['step'] for x in closed.get('signatures', [])]} {report.status_code}",
           coordinator.status_code == 403 and disposed.status_code == 201 and closed.get("status") == "closed"
           and [x["step"] for x in closed["signatures"]] == ["recall_decision"] * 2 + ["recall_batch_disposition"]
           + ["recall_closure"] * 2 and all(x["status"] == "valid" for x in closed["signatures"])
           and report.data.startswith(b"%PDF"))


def returned_goods(s: Scratch, steps: list[Step]) -> None:
    s.ship("OQ-1", "OQ2601", "OQ Return Pharmacy", 100)
    cid = s.classified("III")["id"]
    receipt = {"batch_no": "OQ2601", "product_code": "OQ-1", "consignee": "OQ Return Pharmacy", "quantity_received": 12,
               "channel": "pharmacy", "returning_party": "OQ Return Pharmacy", "returning_party_address": "上海市 1 号",
               "return_reason": "OQ: complaint, damp cartons", "condition": "carton damp, caps intact",
               "received_on": TODAY.isoformat(), "complaint_id": cid}
    too_many = s.post("investigator", "/returns", {**receipt, "quantity_received": 101})
    received = s.post("investigator", "/returns", receipt).get_json()
    rid = received["id"]
    _check(steps, "Receive more than was shipped; then 12 packs against the complaint", "400; then a return record "
           "linked to the complaint, quarantined, re-dispatch blocked", f"{too_many.status_code} "
           f"{received.get('number')} {received.get('status')} {received.get('redispatch_allowed')}",
           _invalid(too_many, "quantity_received") and received["status"] == "quarantined" and received["redispatch_allowed"] is False
           and received["complaint"]["id"] == cid)
    evaluation = {"storage_conditions": "OQ: temperature log normal, carton damp", "sample_result": "failed",
                  "test_reference": "QC-OQ-1", "other_batches_implicated": False}
    answers = [s.post("qa_head", f"/returns/{rid}/disposition", s.signed("qa_head", {"disposition": "destroy"}))
               .status_code,
               400 if _invalid(s.post("qa_officer", f"/returns/{rid}/evaluation",
                                      {**evaluation, "other_batches_implicated": True}), "investigation_ref")
               else "other"]
    s.post("qa_officer", f"/returns/{rid}/evaluation", evaluation)
    before = s.state(f"/returns/{rid}")
    refused = [s.post("qa_head", f"/returns/{rid}/disposition", s.signed("qa_head", {"disposition": "return_to_stock"}))
               .status_code,
               s.post("qa_head", f"/returns/{rid}/disposition", {"disposition": "destroy", "username": s.names["qa_head"],
                                                                 "password": "wrong-password-oq"}).status_code]
    _check(steps, "Dispose before evaluation; evaluate naming other batches without an investigation link; after a "
           "failed test return to stock; sign with a wrong password", "409, 400, 409, 401; the return as it was",
           f"{answers} {refused}", answers == [409, 400] and refused == [409, 401]
           and s.state(f"/returns/{rid}") == before)
    disposed = s.post("qa_head", f"/returns/{rid}/disposition",
                      s.signed("qa_head", {"disposition": "destroy", "comment": "destroy under QA"})).get_json()
    _check(steps, "The head of quality signs 'destroy'", "disposed, by a valid signature; re-dispatch still blocked",
           f"{disposed.get('status')} {disposed.get('disposition')} {[x['step'] for x in disposed.get('signatures', [])]}",
           disposed.get("status") == "disposed" and disposed.get("redispatch_allowed") is False
           and [x["step"] for x in disposed["signatures"]] == ["return_disposition"])


def trend_signals(s: Scratch, steps: list[Step]) -> None:
    from gmp_complaints.services.trend_reviews import raise_trend_reviews

    s.product("OQ-TR", ("OQTR01", "2026-02-01", "2028-01-31"))
    s.ship("OQ-TR", "OQTR01", "OQ Wholesaler", 100_000, shipped_on="2026-10-10")
    made = [s.classified("III", product_code="OQ-TR", batch_nos=["OQTR01"], complaint_type="outer_packaging",
                         received_on=day)["id"] for day in ("2026-10-05", "2026-11-02", "2026-11-16")]
    s.classified("I", product_code="OQ-TR", batch_nos=["OQTR01"], complaint_type="other", received_on="2026-11-17")
    report = s.get("qa_head", "/trends?from=2026-10-01&to=2026-12-31&product_code=OQ-TR").get_json()
    signals = {x["rule"]: x for x in report["signals"]}
    _check(steps, "Report the quarter for the product", "counts by class and type, the rate per million units shipped, "
           "the recurrence signal (3 of a type in 90 days) and the class I signal", f"{report['by_class']} "
           f"{report['by_type'].get('outer_packaging')} {report['rates']} {sorted(signals)}",
           report["complaints"] == 4 and report["by_type"].get("outer_packaging") == 3
           and report["rates"][0]["per_million"] == 40.0 and signals["recurrence"]["count"] == 3
           and {"recurrence", "class_i"} <= set(signals))
    refused = [s.post("qa_officer", "/trends/rules", {"recurrence_count": 4, "reason": "r"}).status_code,
               400 if _invalid(s.post("qa_head", "/trends/rules", {"recurrence_count": 4}), "reason") else "other"]
    s.post("qa_head", "/trends/rules", {"recurrence_count": 4, "reason": "OQ: rule change, CC-OQ-05",
                                        "change_control_ref": "CC-OQ-05"})
    fewer = {x["rule"] for x in s.get("qa_head", "/trends?from=2026-10-01&to=2026-12-31&product_code=OQ-TR")
             .get_json()["signals"]}
    s.post("qa_head", "/trends/rules", {"recurrence_count": 3, "reason": "OQ: back to the SOP value",
                                        "change_control_ref": "CC-OQ-05"})
    _check(steps, "Change the recurrence rule to 4: as QA officer, as head of quality without and with a reason",
           "403, 400, then in force (no recurrence signal for 3)", f"{refused} {sorted(fewer)}",
           refused == [403, 400] and "recurrence" not in fewer)
    raise_trend_reviews(s.uow())
    reviews = {r["rule"]: r for r in s.get("qa_head", "/trend-reviews?status=open").get_json()["trend_reviews"]
               if r["product_code"] == "OQ-TR"}
    _check(steps, "Run the timer's trend job", "a review task per signal of the product", sorted(reviews),
           set(reviews) == {"recurrence", "class_i"})
    path = f"/trend-reviews/{reviews['class_i']['id']}/evaluation"
    body = {"evaluation": "OQ: a single class I complaint, handled as such", "decision": "no_capa"}
    before = s.state(f"/trend-reviews/{reviews['class_i']['id']}")
    refused = [s.post("qa_officer", path, s.signed("qa_officer", body)).status_code,
               s.post("qa_head", path, {**body, "username": s.names["qa_head"], "password": "wrong-pass-oq"})
               .status_code]
    _check(steps, "Decide 'no CAPA' as QA officer; as head of quality with a wrong password", "403, 401, nothing changed",
           refused, refused == [403, 401] and s.state(f"/trend-reviews/{reviews['class_i']['id']}") == before)
    signed = s.post("qa_head", path, s.signed("qa_head", body)).get_json()
    capa = s.post("qa_head", f"/trend-reviews/{reviews['recurrence']['id']}/evaluation", {
        "evaluation": "OQ: outer packaging damaged three times", "decision": "capa", "capa": {
            "problem_statement": "OQ: cartons crushed", "root_cause": "stacking height", "risk": "low",
            "effectiveness_criteria": "no such complaint for two quarters", "effectiveness_due_on": "2027-06-30"}}
    ).get_json()
    raised = s.get("qa_head", f"/capas/{capa['capa']['id']}").get_json()
    _check(steps, "Decide 'no CAPA' signed by the head of quality; raise a CAPA from the recurrence", "the decision "
           "signed; a CAPA with source 'trend' linked to the three complaints",
           f"{signed.get('status')} {[x['step'] for x in signed.get('signatures', [])]} {raised['source']} "
           f"{sorted(c['id'] for c in raised['complaints'])}", signed.get("status") == "no_capa"
           and [x["step"] for x in signed["signatures"]] == ["trend_no_capa"] and raised["source"] == "trend"
           and sorted(c["id"] for c in raised["complaints"]) == sorted(made))


def annual_review(s: Scratch, steps: list[Step]) -> None:
    from openpyxl import load_workbook

    s.product("OQ-AR", ("OQAR01", "2026-02-01", "2028-01-31"))
    first = s.classified("II", product_code="OQ-AR", batch_nos=["OQAR01"], received_on="2026-03-10")
    s.investigated(first["id"], root_cause="OQ: capping torque")
    s.post("qa_officer", f"/complaints/{first['id']}/assessment", {"reasonable": True, "actions": [],
                                                                    "adr_confirmed": False,
                                                                    "regulator_report_required": False})
    capa = s.post("qa_officer", "/capas", {"complaint_ids": [first["id"]], "problem_statement": "OQ",
                                           "risk": "low", "effectiveness_criteria": "c",
                                           "effectiveness_due_on": "2027-06-30"}).get_json()
    second = s.classified("III", product_code="OQ-AR", batch_nos=["OQAR01"], complaint_type="adr",
                          received_on="2026-10-05")
    s.post("intake", f"/complaints/{second['id']}/adr", {**ADR_CASE, "aware_on": "2026-10-05"})
    s.classified("III", product_code="OQ-AR", batch_nos=["OQAR01"], received_on="2025-12-30")
    extract = s.get("qa_head", "/products/OQ-AR/annual-review?year=2026").get_json()
    row = extract["complaints"][0]
    _check(steps, "Extract the 2026 annual review of the product", "its complaints (not the 2025 one) with root cause "
           "and CAPA, ADR cases, recalls, returns and CAPAs", f"{extract['summary']} {row.get('number')} "
           f"{row.get('capas')}", extract["summary"] == {"complaints": 2, "recalls": 0, "returns": 0, "adr_cases": 1,
                                                          "capas": 1}
           and (row["number"], row["root_cause"], row["capas"]) == (first["number"], "OQ: capping torque",
                                                                   [capa["number"]]))
    same = {}
    for form in ("json", "xlsx"):
        one = s.download("qa_head", "/products/OQ-AR/annual-review", year="2026", format=form).data
        two = s.download("qa_head", "/products/OQ-AR/annual-review", year="2026", format=form).data
        same[form] = one == two
    sheets = load_workbook(io.BytesIO(two)).sheetnames
    recorded = s.scalar("SELECT count(*) FROM audit_events WHERE action = 'product.annual_review_exported'")
    bad = s.get("qa_head", "/products/OQ-AR/annual-review?year=twenty").status_code
    _check(steps, "Export it twice as JSON and as XLSX; give a year that is not one", "the same query gives the same "
           "bytes; every extract audited; 400", f"{same} {sheets} {recorded} extracts recorded; {bad}",
           all(same.values()) and sheets == ["complaints", "recalls", "returns", "adr_cases", "capas"]
           and recorded >= 5 and bad == 400)


def limits_and_negatives(s: Scratch, steps: list[Step]) -> None:
    s.product("OQ-Y", ("OQY01", "2025-01-01", "2027-12-31"))
    numbers = [s.classified("I", product_code="OQ-Y", batch_nos=["OQY01"], received_on=day)["number"]
               for day in ("2025-12-31", "2026-01-02")]
    _check(steps, "Classify class I complaints received 31 Dec 2025 and 2 Jan 2026", "the year of each received date "
           "in its number: TS-I-25-…, TS-I-26-…", numbers, numbers[0] == "TS-I-25-001"
           and numbers[1].startswith("TS-I-26-"))
    events = s.scalar("SELECT count(*) FROM audit_events")
    tampering = [s.refused_by_database("UPDATE audit_events SET reason = 'rewritten'"),
                 s.refused_by_database("DELETE FROM audit_events"),
                 s.refused_by_database("UPDATE signatures SET record_id = record_id + 1"),
                 s.refused_by_database("DELETE FROM signatures")]
    _check(steps, "Rewrite or delete audit events, move or delete signatures in the database itself",
           "refused each time; nothing lost", f"{tampering} {s.scalar('SELECT count(*) FROM audit_events')} events",
           tampering == [True] * 4 and s.scalar("SELECT count(*) FROM audit_events") >= events)
    cid = s.classified("II")["id"]
    first = s.post("qp", f"/complaints/{cid}/signatures", s.signed("qp", {"step": "qp_acknowledgement"}))
    before = s.state(f"/complaints/{cid}")
    replay = s.post("qp", f"/complaints/{cid}/signatures", s.signed("qp", {"step": "qp_acknowledgement"}))
    _check(steps, "Send the same signature request twice (a replay)", "201, then 409; one signature",
           f"{first.status_code} {replay.status_code}", (first.status_code, replay.status_code) == (201, 409)
           and s.state(f"/complaints/{cid}") == before)
    wrong = s.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": 12})
    body = s.post("intake", "/complaints", ["not", "an", "object"])
    _check(steps, "Send a number where a user name is expected; a body that is not an object", "400 each, naming "
           "the field", f"{wrong.status_code} {sorted(wrong.get_json()['error']['fields'])} {body.status_code}",
           _invalid(wrong, "investigator") and _invalid(body, "_body"))


def failed_signings(s: Scratch, steps: list[Step]) -> None:
    import csv

    from gmp_complaints.services.periodic_review import periodic_review

    cid = s.classified("II")["id"]
    token = s.person("oq.guesser", "qp")
    before = s.state(f"/complaints/{cid}")
    codes = [s.post_json(f"/complaints/{cid}/signatures", {"step": "qp_acknowledgement", "username": "oq.guesser",
                                                           "password": f"wrong-password-oq-{i}"}, token=token).status_code
             for i in range(5)]
    right = s.post_json(f"/complaints/{cid}/signatures", {"step": "qp_acknowledgement", "username": "oq.guesser",
                                                          "password": PASSWORD}, token=token).status_code
    _check(steps, "Sign five times with a wrong password, then with the right one", "401 ×4, 423 at the fifth "
           "(locked at once), 401/423 for the right password too; nothing signed", f"{codes} {right}",
           codes == [401] * 4 + [423] and right in (401, 423) and s.state(f"/complaints/{cid}") == before)
    guesser = s.scalar("SELECT id FROM users WHERE username = 'oq.guesser'")
    trail = [e["action"] for e in s.get("admin", f"/audit/events?entity=user:{guesser}").get_json()["events"]]
    listed = {row["username"]: row for row in csv.DictReader(io.StringIO(
        s.browser("admin").get("/admin/users.csv").get_data(as_text=True).lstrip("\ufeff")))}
    review = periodic_review(s.uow(), date_from=date(2020, 1, 1), date_to=date(2099, 12, 31))["incidents"]
    alerts = [a for a in s.get("qa_head", "/security-alerts").get_json()["alerts"] if a["username"] == "oq.guesser"]
    told = {role: [n for n in s.get(role, "/notices").get_json()["notices"]
                   if n["kind"] == "security_alert" and n["record_label"] == "oq.guesser"] for role in ("admin", "qa_head")}
    _check(steps, "Read the security alerts and the notices of the administrator and the head of quality",
           "one alert for the account (at the threshold, not one per failure), with the failures it counts; both told",
           f"{[(a['failure_count'], a['kinds']) for a in alerts]} {({r: len(n) for r, n in told.items()})}",
           len(alerts) == 1 and alerts[0]["failure_count"] >= 3 and all(told.values()))
    _check(steps, "The administrator reads the account's trail, the user list and the periodic review",
           "each failure and the lock-out audited; the account shown locked; counted as incidents",
           f"{trail.count('user.login_failed')} failures, {trail.count('user.locked')} lock-out; "
           f"locked: {listed.get('oq.guesser', {}).get('locked')}; {review.get('user.locked')} lock-outs in the review",
           trail.count("user.login_failed") >= 5 and trail.count("user.locked") == 1
           and listed.get("oq.guesser", {}).get("locked") == "yes" and review.get("user.locked", 0) >= 1)


# --- the cases from OQ-56 on: triage, the complaint file, the root-cause category, the return record, kept due
# dates and the ADR clocks as master data ---------------------------------------------------------------------------

VALID = {"information_complete": True, "substantiated": True}


def notified(s: Scratch, role: str, kind: str) -> list[int]:
    """The records this person was told of by an in-app notice of this kind."""
    return [n["subject_id"] for n in s.get(role, "/notices").get_json()["notices"] if n["kind"] == kind]


def triage(s: Scratch, steps: list[Step]) -> None:
    cid = s.register()
    path = f"/complaints/{cid}/validity"
    before = s.state(f"/complaints/{cid}")
    refused = [_invalid(s.post("qa_officer", path, body), field) for body, field in (
        ({**VALID, "quality_defect_suspected": "no"}, "routed_to"),
        ({**VALID, "quality_defect_suspected": "maybe"}, "quality_defect_suspected"),
        ({**VALID, "quality_defect_suspected": "no", "routed_to": "finance"}, "routed_to"))]
    _check(steps, "Triage: answer 'not a quality defect' without saying where it goes; answer 'maybe'; route it to "
           "a group that does not exist", "400 each naming the field; nothing changed", refused,
           refused == [True] * 3 and s.state(f"/complaints/{cid}") == before)
    routed = s.post("qa_officer", path, {
        **VALID, "substantiated": False, "reason": "OQ: an adverse reaction, not a quality defect",
        "quality_defect_suspected": "no", "falsification_suspected": "no", "routed_to": "pharmacovigilance",
        "routing_note": "OQ: handed to pharmacovigilance"}).get_json()["validity"]
    event = [e["changes"].get("routed_to") for e in s.events(f"complaint:{cid}") if e["action"] == "complaint.routed"]
    _check(steps, "Answer 'not a quality defect', 'not falsified', routed to pharmacovigilance with a note",
           "both answers, the group and the note recorded; the routing audited",
           f"{routed['quality_defect_suspected']} {routed['falsification_suspected']} {routed['routed_to']} "
           f"{routed['routing_note']!r} {event}", (routed["quality_defect_suspected"], routed["falsification_suspected"],
                                                   routed["routed_to"]) == ("no", "no", "pharmacovigilance")
           and routed["routing_note"] == "OQ: handed to pharmacovigilance" and event == [[None, "pharmacovigilance"]])
    other = s.register()
    s.post("qa_officer", f"/complaints/{other}/validity", {**VALID, "quality_defect_suspected": "yes",
                                                            "falsification_suspected": "yes"})
    told = {role: other in notified(s, role, "falsification_suspected") for role in ("qp", "qa_head", "qa_officer")}
    _check(steps, "Answer 'a quality defect', 'falsification suspected'", "the QP and the head of quality told of the "
           "complaint at once, the QA officer who answered not", told,
           told == {"qp": True, "qa_head": True, "qa_officer": False})


def spec_failure_hold(s: Scratch, steps: list[Step]) -> None:
    cid = s.register()
    flagged = s.post("qa_officer", f"/complaints/{cid}/validity", {
        **VALID, "quality_defect_suspected": "yes", "falsification_suspected": "no",
        "spec_failure_suspected": True}).get_json()
    classification = {"complaint_class": "II", "rationale": "OQ", "adr_suspected": False}
    before = s.state(f"/complaints/{cid}")
    held = s.post("qa_officer", f"/complaints/{cid}/classification", classification)
    _check(steps, "Flag a possible failure to meet specification at triage; then classify the complaint",
           "held in triage, the head of quality told; classification 409 citing 21 CFR 211.192, nothing changed",
           f"{flagged['status']} pending={flagged['spec_failure_pending']} {held.status_code} "
           f"{(held.get_json() or {}).get('error', {}).get('message')}", flagged["status"] == "registered"
           and flagged["spec_failure_pending"] is True and cid in notified(s, "qa_head", "spec_failure_determination_due")
           and held.status_code == 409 and "211.192" in held.get_json()["error"]["message"]
           and s.state(f"/complaints/{cid}") == before)
    path = f"/complaints/{cid}/spec-failure-determination"
    determination = {"investigation_required": True, "rationale": "OQ: the assay may be below specification"}
    refused = [s.post("qa_officer", path, s.signed("qa_officer", determination)).status_code,
               s.post("qa_head", path, {**determination, "username": s.names["qa_head"],
                                        "password": "wrong-password-oq"}).status_code,
               *(400 if _invalid(s.post("qa_head", path, s.signed("qa_head", {**determination, **change})), field)
                 else "other" for change, field in (({"investigation_required": "yes"}, "investigation_required"),
                                                    ({"rationale": " "}, "rationale")))]
    _check(steps, "Determine it as QA officer; as head of quality with a wrong password, with 'yes' for a yes/no "
           "answer, without a rationale", "403, 401, 400, 400; nothing changed", refused,
           refused == [403, 401, 400, 400] and s.state(f"/complaints/{cid}") == before)
    determined = s.post("qa_head", path, s.signed("qa_head", determination)).get_json()
    signature = [(x["meaning"], x["status"], x["signer_name"]) for x in determined.get("signatures", [])
                 if x["step"] == "spec_failure_determination"]
    again = s.post("qa_head", path, s.signed("qa_head", determination)).status_code
    classified = s.post("qa_officer", f"/complaints/{cid}/classification", classification).get_json()
    _check(steps, "The head of quality signs 'investigation required' with the rationale; determines again; QA "
           "classifies", "the determination recorded with its signature (approved, valid), the hold lifted; 409; "
           "classified, under investigation", f"{determined.get('spec_failure_determination')} {signature} {again} "
           f"{classified.get('status')}", determined.get("spec_failure_pending") is False
           and determined["spec_failure_determination"]["investigation_required"] is True
           and determined["spec_failure_determination"]["determined_by"]["username"] == s.names["qa_head"]
           and signature == [("approved", "valid", "OQ qa_head")] and again == 409
           and classified.get("status") == "under_investigation")


def complaint_file(s: Scratch, steps: list[Step]) -> None:
    cid = s.register(complainant={"name": "OQ anonymous caller", "organisation": "OQ pharmacy", "phone": None,
                                  "email": None})
    s.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": False,
                                                         "reason": "OQ: the retained sample conforms"})
    s.post("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY.isoformat(), "summary": "not substantiated"})
    s.post("qa_head", f"/complaints/{cid}/signatures", s.signed("qa_head", {"step": "audit_trail_review"}))
    shown = s.get("qa_head", f"/complaints/{cid}").get_json()
    before = s.state(f"/complaints/{cid}")
    refused = s.post("qa_head", f"/complaints/{cid}/closure", s.signed("qa_head", {"comment": "close"}))
    message = (refused.get_json() or {}).get("error", {}).get("message", "")
    _check(steps, "Close the file of an anonymous caller (no phone, no e-mail), the audit trail reviewed",
           "the file lists the contact as missing; closure 409 naming REC-02 and the item; nothing changed",
           f"{shown['status']} {shown['complaint_file']} {refused.status_code} {message}",
           shown["status"] == "closure_pending"
           and shown["complaint_file"] == {"missing": ["complainant_contact"], "not_known": []}
           and refused.status_code == 409 and "REC-02" in message and "contact" in message
           and s.state(f"/complaints/{cid}") == before)
    path = f"/complaints/{cid}/not-known"
    refused = [s.post("intake", path, {"item": "complainant_contact", "reason": "r"}).status_code,
               *(400 if _invalid(s.post("qa_officer", path, body), field) else "other" for body, field in (
                   ({"item": "complainant_contact", "reason": " "}, "reason"), ({"item": "shoe_size", "reason": "r"},
                                                                               "item"))),
               s.post("qa_officer", path, {"item": "strength", "reason": "r"}).status_code]
    _check(steps, "Mark an item 'not known': as intake; without a reason; an item the file does not have; an item "
           "recorded", "403, 400, 400, 409; nothing changed", refused,
           refused == [403, 400, 400, 409] and s.state(f"/complaints/{cid}") == before)
    marked = s.post("qa_officer", path, {"item": "complainant_contact", "reason": "OQ: anonymous call"}).get_json()
    entry = (marked["complaint_file"]["not_known"] or [{}])[0]
    event = [e["reason"] for e in s.events(f"complaint:{cid}") if e["action"] == "not_known_item.marked"]
    review = [x["status"] for x in marked["signatures"] if x["step"] == "audit_trail_review"]
    _check(steps, "QA marks the contact not known, with the reason", "nothing missing; the mark with who and why, "
           "audited; the audit-trail review superseded (the file changed)",
           f"{marked['complaint_file']} {event} {review}", marked["complaint_file"]["missing"] == []
           and (entry.get("item"), entry.get("reason"), entry.get("marked_by", {}).get("username"))
           == ("complainant_contact", "OQ: anonymous call", s.names["qa_officer"])
           and event == ["OQ: anonymous call"] and review == ["superseded"])
    s.post("qa_head", f"/complaints/{cid}/signatures", s.signed("qa_head", {"step": "audit_trail_review"}))
    closed = s.post("qa_head", f"/complaints/{cid}/closure", s.signed("qa_head", {"comment": "close"})).get_json()
    _check(steps, "Review the audit trail again and close", "closed", closed.get("status"),
           closed.get("status") == "closed")


def human_error(s: Scratch, steps: list[Step]) -> None:
    cid = s.classified("III")["id"]
    s.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": s.names["investigator"]})
    path = f"/complaints/{cid}/investigation"
    base = {"root_cause": "OQ: the operator skipped the torque check", "impact": "this batch only",
            "other_batches_affected": "none", "substantiated": True, "root_cause_category": "human_error"}
    causes = ["causes_examined.procedure", "causes_examined.process", "causes_examined.system"]
    before = s.state(f"/complaints/{cid}")
    bare = s.post("investigator", path, base)
    partial = s.post("investigator", path, {**base, "human_error_justification": " ",
                                            "causes_examined": {"process": True, "procedure": False}})
    fields = [(r.status_code, sorted((r.get_json() or {}).get("error", {}).get("fields", {}))) for r in (bare, partial)]
    _check(steps, "Conclude human error without a justification or the confirmations; then with a blank "
           "justification and only process causes examined", "400 naming each missing field; nothing stored", fields,
           fields == [(400, causes + ["human_error_justification"]),
                      (400, causes[:1] + causes[2:] + ["human_error_justification"])]
           and s.state(f"/complaints/{cid}") == before)
    justification = "OQ: equipment, parameters and SOP checked and sound; one person skipped the check"
    recorded = s.post("investigator", path, {**base, "human_error_justification": justification, "causes_examined": {
        "process": True, "procedure": True, "system": True}}).get_json().get("investigation") or {}
    change = next((e["changes"] for e in s.events(f"complaint:{cid}") if e["action"] == "complaint.investigate"), {})
    _check(steps, "Conclude human error with the justification and process, procedure and system causes examined",
           "recorded and audited with the category, the justification and each confirmation",
           f"{recorded.get('root_cause_category')} {recorded.get('causes_examined')} "
           f"{change.get('root_cause_category')} {change.get('causes_examined_system')}",
           (recorded.get("root_cause_category"), recorded.get("human_error_justification"),
            recorded.get("causes_examined")) == ("human_error", justification,
                                                 {"process": True, "procedure": True, "system": True})
           and change.get("root_cause_category") == [None, "human_error"]
           and change.get("human_error_justification") == [None, justification]
           and change.get("causes_examined_system") == [None, True])
    refused = [s.refused_by_database(f"UPDATE complaints SET {column} WHERE id = :id", id=cid)
               for column in ("human_error_justification = NULL", "causes_examined_system = false")]
    _check(steps, "Remove the justification, or a confirmation, in the database itself", "refused by the database",
           refused, refused == [True, True])


def return_record(s: Scratch, steps: list[Step]) -> None:
    s.ship("OQ-1", "OQ2601", "OQ Wholesaler Shanghai", 200)
    s.ship("OQ-1", "OQ2601", "OQ Hospital Pharmacy", 50)
    receipt = {"batch_no": "OQ2601", "product_code": "OQ-1", "consignee": "OQ Wholesaler Shanghai",
               "quantity_received": 30, "condition": "outer case crushed", "received_on": TODAY.isoformat(),
               "channel": "wholesaler", "returning_party": "OQ Wholesaler Shanghai Co., Ltd.",
               "returning_party_address": "上海市黄浦区龙华东路 385 号 (OQ)", "return_reason": "OQ: case damaged in transit"}
    details = ("channel", "returning_party", "returning_party_address", "return_reason")
    count = s.scalar("SELECT count(*) FROM returns")
    refused = [_invalid(s.post("investigator", "/returns", body), field) for field in details
               for body in ({**receipt, field: ""}, {k: v for k, v in receipt.items() if k != field})]
    refused.append(_invalid(s.post("investigator", "/returns", {**receipt, "channel": "courier"}), "channel"))
    _check(steps, "Receive a return with its channel, returning party, address or reason empty, or left out; "
           "through a channel that is not listed", "400 each naming the field; no return stored",
           f"{refused} {s.scalar('SELECT count(*) FROM returns') - count} stored",
           refused == [True] * 9 and s.scalar("SELECT count(*) FROM returns") == count)
    wholesale = s.post("investigator", "/returns", receipt).get_json()
    hospital = s.post("investigator", "/returns", {
        **receipt, "consignee": "OQ Hospital Pharmacy", "quantity_received": 5, "channel": "hospital",
        "returning_party": "OQ Hospital, pharmacy department", "returning_party_address": "杭州市庆春路 88 号 (OQ)",
        "return_reason": "OQ: the hospital stopped using it"}).get_json()
    # QA reads the record: the investigator who received it sees the returning party masked (SEC-11)
    recorded = s.get("qa_officer", f"/returns/{wholesale['id']}").get_json()
    shown = {key: recorded.get(key) for key in ("product_name", "strength", "dosage_form", "batch_no", *details,
                                                "received_on", "quantity_received")}
    received = next((e["changes"] for e in s.events(f"return:{wholesale['id']}") if e["action"] == "return.received"),
                    {})
    _check(steps, "Receive returns of the batch from a wholesaler and from a hospital", "two records, each with the "
           "product's name, strength and dosage form, the batch, channel, returning party, address, reason, date and "
           "quantity (shown to QA); channel and reason audited, party and address audited as recorded (encrypted)",
           f"{shown} / {hospital.get('channel')}",
           hospital["id"] != wholesale["id"] and hospital.get("channel") == "hospital"
           and shown == {"product_name": "OQ capsules", "strength": "0.25 g", "dosage_form": "capsule",
                         "batch_no": "OQ2601", **{k: receipt[k] for k in details}, "received_on": TODAY.isoformat(),
                         "quantity_received": 30}
           and all(received.get(k) == [None, receipt[k]] for k in ("channel", "return_reason"))
           and all(received.get(k) == [None, "recorded (encrypted)"] for k in ("returning_party",
                                                                              "returning_party_address")))
    rid = wholesale["id"]
    s.post("qa_officer", f"/returns/{rid}/evaluation", {"storage_conditions": "OQ: case crushed", "sample_result":
                                                        "failed", "test_reference": "QC-OQ-2",
                                                        "other_batches_implicated": False})
    disposed = s.post("qa_head", f"/returns/{rid}/disposition",
                      s.signed("qa_head", {"disposition": "destroy"})).get_json().get("disposition") or {}
    _check(steps, "Evaluate it and dispose of it by the head of quality's signature", "the record shows the date of "
           "the disposition and the final disposition", disposed, disposed.get("decision") == "destroy"
           and disposed.get("disposed_on") and disposed["disposed_on"] == (disposed.get("disposed_at") or "")[:10])


#: the official 2027 notice as it might read: Spring Festival 8-12 and 15-16 February off, Saturdays 6 and 20
#: February working days (调休); it replaces the provisional year the scratch instance was seeded with
NOTICE_2027 = ("date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,adjusted_workday,春节调休\n"
               + "".join(f"2027-02-{d:02d},holiday,春节\n" for d in (8, 9, 10, 11, 12, 15, 16))
               + "2027-02-20,adjusted_workday,春节调休\n")


def kept_due_dates(s: Scratch, steps: list[Step]) -> None:
    from gmp_complaints.services.calendars import load_official_notice
    from gmp_complaints.services.timers import tick

    day = "2027-01-25"  # a Monday; 2027 is provisional on the seeded calendar
    s.on(date.fromisoformat(day))
    try:
        cid = s.classified("II", received_on=day)["id"]
        replied = s.assessed(received_on=day)
        s.post("qa_officer", f"/complaints/{replied}/replies", {"replied_on": day, "summary": "reply"})
        before = s.get("qa_officer", f"/complaints/{cid}").get_json()["deadlines"]
        reminder_on = s.get("qa_officer", f"/complaints/{replied}").get_json()["deadlines"]["reminder_due_on"]
        years = load_official_notice(s.uow(), csv_text=NOTICE_2027, filename="oq-2027.csv", actor_id=s.user_id("admin"),
                                     reason="OQ: the official 2027 notice, CC-OQ-06", change_control_ref="CC-OQ-06")
        after = s.get("qa_officer", f"/complaints/{cid}").get_json()
        listed = {d["kind"]: (d["due_on"], d["on_calendar_in_force"]) for d in after["due_dates_on_earlier_calendar"]}
        waiting = [c["id"] for c in s.get("qa_officer", "/deadline-recalculations").get_json()["complaints"]]
        _check(steps, "Load the official 2027 notice (its Spring Festival and two adjusted Saturdays) while complaints "
               "count their due dates on the provisional 2027 calendar", "the calculated dates stay; the complaint "
               "shows the dates the calendar in force would give; both complaints listed for QA",
               f"{years} {before['investigation_due_on']}/{before['formal_reply_due_on']} → {listed}",
               years == [2027] and after["deadlines"] == before
               and listed == {"investigation": (before["investigation_due_on"], "2027-02-22"),
                              "formal_reply": (before["formal_reply_due_on"], "2027-03-01")}
               and {cid, replied} <= set(waiting))
        in_force = {d["kind"]: d["on_calendar_in_force"] for d in s.get("qa_officer", f"/complaints/{replied}")
                    .get_json()["due_dates_on_earlier_calendar"]}.get("reminder")
        s.on(date.fromisoformat(reminder_on))
        tick(s.uow())
        reminders = s.get("qa_officer", f"/complaints/{replied}").get_json()["reminders"]
        _check(steps, "Run the timer on the kept reminder date (the calendar in force gives a later one)",
               "the customer reminded on the kept date", f"kept {reminder_on}, in force {in_force}: {reminders}",
               in_force is not None and in_force > reminder_on and [r["sent_on"] for r in reminders] == [reminder_on])
        s.on(date.fromisoformat(day))
        path, body = f"/complaints/{cid}/deadline-recalculation", {"reason": "OQ: recalculated on the official notice"}
        before = s.state(f"/complaints/{cid}")
        refused = [s.post("investigator", path, body).status_code, s.post("qp", path, body).status_code,
                   400 if _invalid(s.post("qa_officer", path, {"reason": " "}), "reason") else "other"]
        _check(steps, "Recalculate as the investigator, as the QP, and as QA without a reason", "403, 403, 400; "
               "nothing changed", refused, refused == [403, 403, 400] and s.state(f"/complaints/{cid}") == before)
        moved = s.post("qa_officer", path, body).get_json()
        event = s.events(f"complaint:{cid}")[-1]
        again = s.post("qa_officer", path, body).status_code
    finally:
        s.on(TODAY)
    _check(steps, "QA recalculates with the reason; then again", "the dates of the calendar in force, nothing listed "
           "any more, audited with old and new dates and the reason; 409",
           f"{moved['deadlines']['investigation_due_on']} {moved['deadlines']['formal_reply_due_on']} "
           f"{event['action']} {event['changes'].get('investigation_due_on')} {event['reason']!r} {again}",
           (moved["deadlines"]["investigation_due_on"], moved["deadlines"]["formal_reply_due_on"])
           == ("2027-02-22", "2027-03-01") and moved["due_dates_on_earlier_calendar"] == []
           and event["action"] == "complaint.due_dates_recalculated" and event["reason"] == body["reason"]
           and event["changes"].get("investigation_due_on") == [before[0]["deadlines"]["investigation_due_on"],
                                                                "2027-02-22"] and again == 409)


def adr_clocks_master_data(s: Scratch, steps: list[Step]) -> None:
    def clocks() -> dict:
        return {c["rule"]: c["days"] for c in s.get("qa_officer", "/adr-clocks").get_json()["adr_clocks"]}

    loaded = clocks()
    _check(steps, "Read the ADR reporting clocks", "today's rules: China death at once (report 15 days), serious 15, "
           "other 30, group event at once; EU 15/90; US serious unexpected 15", loaded,
           loaded == {"cn_death": 0, "cn_death_report": 15, "cn_serious": 15, "cn_other": 30, "eu_serious": 15,
                      "eu_non_serious": 90, "us_serious_unexpected": 15, "cn_group_event": 0})
    earlier = s.register()
    s.post("intake", f"/complaints/{earlier}/adr", ADR_CASE)
    change = {"days": 10, "reason": "OQ: serious reactions within 10 days (drill)", "change_control_ref": "CC-OQ-07"}
    before = (loaded, s.audit_count())
    refused = [s.post("qa_head", "/adr-clocks/cn_serious", change).status_code,
               *(400 if _invalid(s.post("admin", "/adr-clocks/cn_serious", {**change, **bad}), field) else "other"
                 for bad, field in (({"days": -1}, "days"), ({"days": "10"}, "days"), ({"reason": ""}, "reason"),
                                    ({"change_control_ref": ""}, "change_control_ref"))),
               s.post("admin", "/adr-clocks/cn_sometimes", change).status_code]
    _check(steps, "Change China's serious-reaction clock as head of quality; as administrator to -1 days, to a text, "
           "without a reason, without change control; change a clock that does not exist",
           "403, 400 ×4, 404; nothing changed", refused,
           refused == [403, 400, 400, 400, 400, 404] and (clocks(), s.audit_count()) == before)
    changed = s.post("admin", "/adr-clocks/cn_serious", change)
    event = s.events("configuration:adr_clocks")[-1]
    kept = s.get("pv_officer", f"/complaints/{earlier}").get_json()["adr"]["due_on"]
    follow_up = s.post("intake", f"/complaints/{earlier}/adr", ADR_CASE).get_json()["adr"]["cases"]
    later = s.register()
    new = s.post("intake", f"/complaints/{later}/adr", ADR_CASE).get_json()["adr"]["due_on"]
    s.post("admin", "/adr-clocks/cn_serious", {**change, "days": 15, "reason": "OQ: back to the rule in force"})
    _check(steps, "The administrator changes it 15 → 10 days with the reason and change control; hand a serious "
           "reaction (aware 2026-11-02) over before and after", "audited with old and new value, reason and change "
           "control; the earlier hand-off keeps 2026-11-17; a follow-up and a new hand-off due 2026-11-12",
           f"{changed.status_code} {event['action']} {event['changes'].get('days')} {kept} "
           f"{[c['due_on'] for c in follow_up]} {new}", changed.status_code == 200
           and event["action"] == "adr_clock.changed" and event["changes"].get("days") == [15, 10]
           and event["reason"] == change["reason"] and event["changes"].get("change_control_ref") == [None, "CC-OQ-07"]
           and kept == "2026-11-17" and [c["due_on"] for c in follow_up] == ["2026-11-17", "2026-11-12"]
           and new == "2026-11-12")


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
    Case("OQ-21", ("REC-03",), "The complaint and its attachments as received stay read-only, with their hash",
         original_as_received),
    Case("OQ-22", ("REC-05",), "A regrade keeps the number and shows the original class", regrading_keeps_the_number),
    Case("OQ-23", ("REC-06", "RET-06"), "Numbers under concurrent load; the yearly ledger with voids and no gaps",
         numbers_under_load),
    Case("OQ-24", ("REC-08", "AT-10"), "Classification records the versioned criteria, severity and extent; a new "
         "version is audited",
         class_criteria),
    Case("OQ-25", ("REC-10", "REC-18"), "Batches and critical entries are checked against master data",
         master_data_checks),
    Case("OQ-26", ("REC-11", "REC-12", "TR-02"), "The batch, its shipments, adjacent batches and earlier complaints",
         traceability),
    Case("OQ-27", ("REC-13",), "The investigation record, and a complaint closed without one", investigation_record),
    Case("OQ-28", ("REC-17",), "The inspector prints and exports a complete, verifiable record", inspector_copies),
    Case("OQ-29", ("WF-03", "WF-04", "HO-04"), "US triage: reaction and field-alert questions; the field alert clock",
         us_triage),
    Case("OQ-30", ("WF-05", "AT-10"), "Working days from the site and US calendars; the official notice is audited",
         calendars),
    Case("OQ-31", ("WF-08", "AT-10"), "Time limits are configuration; extensions are signed; overdue is escalated",
         time_limits),
    Case("OQ-32", ("WF-10", "WF-11"), "The QP is told of every complaint and investigation, in the app and by e-mail",
         notices),
    Case("OQ-33", ("WF-12",), "Sales never investigate, decide or coordinate a recall", independence),
    Case("OQ-34", ("WF-13", "WF-14"), "A CAPA from complaints to closure; not effective needs a follow-up",
         capa_lifecycle),
    Case("OQ-35", ("SIG-06", "SIG-07"), "Only the configured role signs, and only as oneself", signing_authority),
    Case("OQ-36", ("SIG-04", "SEC-01", "SEC-04", "SEC-08"), "Accounts are people: recorded changes, never reused, "
         "disabled at once", accounts_are_people),
    Case("OQ-37", ("AT-04",), "Nothing is deleted: a void with a reason keeps the record and its history",
         void_not_delete),
    Case("OQ-38", ("AT-05",), "Every act is stamped by the database clock", server_time),
    Case("OQ-39", ("AT-06",), "The audit trail reads in words, filters, and exports to a spreadsheet", audit_in_words),
    Case("OQ-40", ("AT-09",), "Security events are recorded with user, time and source address", security_events),
    Case("OQ-41", ("SEC-07",), "An idle session locks, signs nothing, and unlocks only with the password", idle_lock),
    Case("OQ-42", ("RET-03",), "The periodic verification re-hashes the stored records and names a change",
         stored_records_verified),
    Case("OQ-43", ("RET-04", "VAL-08"), "Backup and restore drill: same audit log, same records; damage refused",
         backup_restore),
    Case("OQ-44", ("RET-05",), "A legacy ledger is migrated whole or not at all, reconciled and signed",
         legacy_import),
    Case("OQ-45", ("RET-07", "VAL-08"), "Paper fallback: blank forms, and late entry referencing the paper original",
         paper_fallback),
    Case("OQ-46", ("HO-03",), "PV asks for a batch investigation and gets the answer back", pv_investigation_request),
    Case("OQ-47", ("HO-06", "AT-10"), "Recall clocks are configuration and run from the decision", recall_clocks),
    Case("OQ-48", ("HO-07", "HO-13"), "A safety-hazard recall waits for its immediate report; the notification register",
         safety_hazard_and_register),
    Case("OQ-49", ("HO-08",), "EU authorities and the MAH are told before a recall is executed", eu_authorities),
    Case("OQ-50", ("HO-09", "HO-10"), "Recall execution: consignee lists, notices, reconciliation, signed disposition "
         "and final report", recall_execution),
    Case("OQ-51", ("HO-12",), "Returned goods are quarantined, evaluated and disposed of by signature", returned_goods),
    Case("OQ-52", ("TR-01",), "Trend signals under configurable rules become reviews the head of quality signs",
         trend_signals),
    Case("OQ-53", ("TR-03",), "The annual product review extract, reproducible and audited", annual_review),
    Case("OQ-54", ("VAL-03",), "Limits and negative cases: year rollover, tampering, replay, malformed input",
         limits_and_negatives),
    Case("OQ-55", ("SEC-06",), "Repeated failed signings raise an alert and lock the account, audited and shown to "
         "the administrator", failed_signings),
    Case("OQ-56", ("REC-09",), "Triage asks whether it is a quality defect and whether it is falsified; routing and "
         "the falsification notice", triage),
    Case("OQ-57", ("WF-02",), "A possible specification failure holds the complaint until the head of quality's signed "
         "determination", spec_failure_hold),
    Case("OQ-58", ("REC-02",), "Closure is refused over an incomplete complaint file until an item is marked not known",
         complaint_file),
    Case("OQ-59", ("REC-14",), "Human error stands only with its justification and the three causes examined",
         human_error),
    Case("OQ-60", ("REC-16",), "The returned-goods record: channel, returning party, address and reason, one per channel",
         return_record),
    Case("OQ-61", ("WF-05",), "A calendar change keeps the calculated due dates until QA recalculates them",
         kept_due_dates),
    Case("OQ-62", ("HO-01",), "ADR clocks are master data: today's rules, an edited clock for new hand-offs only",
         adr_clocks_master_data),
)

#: Must requirements of the URS that no OQ case verifies, and why (the OQ runs the installed product through its
#: own interfaces; these are documents, the test command, or the qualification itself).
NOT_IN_OQ: dict[str, str] = {
    "VAL-01": "A document: the validation plan (GAMP 5 category 5, deliverables, roles, acceptance criteria, risk "
              "assessment), not a behaviour of the installed product.",
    "VAL-02": "The URS and the traceability matrix, and the build gate that fails when a Must has no passing test, "
              "belong to the test command (validation/run_tests.sh, validation/traceability.py), not to the installed "
              "product.",
    "VAL-04": "It is the qualification itself: `gmp validate iq` checks the installation, this OQ runs the functional "
              "cases of the Musts, and PQ/UAT is run by trained users on business scenarios.",
    "VAL-05": "The development process (version control, code review, release notes, defect tracking, supplier "
              "assessment) is evidenced by records outside the product.",
    "VAL-06": "Change control with impact assessment and regression testing, and controlled system documentation, are "
              "procedures and records outside the product.",
    "VAL-07": "A document: the system description and inventory entry (generated by `gmp validate describe`, reviewed "
              "as a document, not a run-time behaviour).",
    "VAL-10": "A document: the Part 11 / Annex 11 applicability assessment stating which records are predicate-rule "
              "records.",
}


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


def report_content(results: list[CaseResult], *, scratch_url: str | None, installation_url: str) -> dict:
    """What the OQ report states and the executor's signature binds: the environment, every case with its steps,
    expected and actual results, the deviations (each failed step or case), and the result."""
    import platform
    from importlib import metadata

    from sqlalchemy.engine import make_url

    try:
        version = metadata.version("gmp-complaints")
    except metadata.PackageNotFoundError:
        version = "not installed"
    deviations = []
    for r in results:
        deviations += [f"{r.id}: {s.action} — expected {s.expected}; actual {s.actual}" for s in r.steps if not s.passed]
        if r.error:
            deviations.append(f"{r.id}: could not run — {r.error.splitlines()[0]}")
        elif not r.steps:
            deviations.append(f"{r.id}: no step was executed")
    return {
        "kind": "operational_qualification",
        "environment": {
            "product": f"gmp-complaints {version}", "python": platform.python_version(),
            "platform": platform.platform(),
            "scratch database": make_url(scratch_url).render_as_string(hide_password=True) if scratch_url
            else "SQLite in a scratch folder",
            "installation database": make_url(installation_url).render_as_string(hide_password=True),
            "business date": TODAY.isoformat()},
        "cases": [{"id": r.id, "requirement_ids": list(r.requirement_ids), "title": r.title, "result": r.result,
                   "steps": [step.__dict__ for step in r.steps], "error": r.error} for r in results],
        "deviations": deviations,
        "result": "pass" if results and all(r.result == "pass" for r in results) else "fail",
    }

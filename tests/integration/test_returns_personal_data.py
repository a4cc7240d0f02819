"""The returning party of returned goods is personal data when a patient brings the goods back (SEC-11, issue 19):
encrypted at rest like the complainant, shown in full only to the roles that may see personal data (QA), masked for
the investigator, the QP and the auditor on the pages and in the API, kept out of the audit trail and its exports in
clear; the integrity check still covers the return; migration 0051 encrypts the parties already held, only with the
instance's key. SQLite and PostgreSQL."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
import sqlalchemy as sa
from alembic import command

from gmp_complaints.domain.personal_data import mask_name, mask_text
from gmp_complaints.migrate import alembic_config, upgrade_to_head
from gmp_complaints.services.personal_data import cipher_for
from tests.conftest import STRONG_PASSWORD, login
from tests.integration.test_check_commands import gmp, out_of_band
from tests.integration.test_complaints_api import api, settings  # noqa: F401
from tests.integration.test_returns import EVALUATION, receipt, shipped  # noqa: F401
from tests.integration.test_signatures import _env_of

PATIENT = "欧阳娜娜"
ADDRESS = "上海市徐汇区漕溪北路 88 弄 3 号 502 室"
#: what nothing outside QA's view may hold (compared with white space removed: PDF cells wrap)
CLEAR = (PATIENT, "漕溪北路", "502室")


def patient_return(api) -> dict:
    return api.ok("investigator", "/returns", receipt(channel="patient", consignee=None, returning_party=PATIENT,
                                                      returning_party_address=ADDRESS, quantity_received=2), 201)


def stored(app) -> tuple:
    with app.extensions["gmp_engine"].connect() as connection:
        return tuple(connection.execute(sa.text("SELECT returning_party, returning_party_address FROM returns")).one())


def trail(app) -> list[str]:
    with app.extensions["gmp_engine"].connect() as connection:
        canonical = connection.execute(sa.text("SELECT canonical FROM audit_events ORDER BY log_index")).scalars()
        # As text with every character as itself (not \u-escaped), to be searched for the values
        return [json.dumps(json.loads(event), ensure_ascii=False) for event in canonical]


def batch_id_of(app, batch_no: str) -> int:
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text("SELECT id FROM batches WHERE batch_no = :b"), {"b": batch_no}).scalar_one()


def holds_clear(text: str) -> bool:
    flat = "".join(text.split())
    return any(value in flat for value in CLEAR)


MASKED = {"returning_party": mask_name(PATIENT), "returning_party_address": mask_text(ADDRESS)}
IN_CLEAR = {"returning_party": PATIENT, "returning_party_address": ADDRESS}


@pytest.mark.req("SEC-11")
def test_the_returning_party_is_stored_encrypted_and_shown_in_clear_only_to_qa(app, shipped, uow_factory):
    from audit.integrity import integrity_check

    api = shipped
    made = patient_return(api)
    rid = made["id"]
    party, address = stored(app)
    assert not holds_clear(party + address)
    cipher = cipher_for(app.config["GMP_SETTINGS"])
    assert (cipher.decrypt(party), cipher.decrypt(address)) == (PATIENT, ADDRESS)
    # The investigator who received it gets the masked record back; QA reads it in clear.
    assert {k: made[k] for k in MASKED} == MASKED and MASKED["returning_party"] == "欧***"
    assert not holds_clear(MASKED["returning_party_address"])
    for role, expected in (("qa_officer", IN_CLEAR), ("qa_head", IN_CLEAR), ("investigator", MASKED), ("qp", MASKED),
                           ("auditor", MASKED)):
        record = api.get(role, f"/returns/{rid}").get_json()
        assert {k: record[k] for k in expected} == expected, role
        [listed] = api.get(role, "/returns").get_json()["returns"]
        assert listed["returning_party"] == expected["returning_party"], role
    batch_id = batch_id_of(app, "B2602")
    for role, expected in (("qa_officer", PATIENT), ("qp", MASKED["returning_party"])):
        [on_batch] = api.get(role, f"/batches/{batch_id}").get_json()["returns"]
        assert on_batch["returning_party"] == expected, role

    # Evaluated and disposed of by signature: the signature covers the party as recorded and shows valid to a reader
    # who sees it masked.
    api.ok("qa_officer", f"/returns/{rid}/evaluation", {**EVALUATION, "sample_result": "failed"})
    disposed = api.ok("qa_head", f"/returns/{rid}/disposition", api.signed("qa_head", {"disposition": "destroy"}))
    assert [s["status"] for s in disposed["signatures"]] == ["valid"]
    assert [s["status"] for s in api.get("qp", f"/returns/{rid}").get_json()["signatures"]] == ["valid"]

    # The trail records that the party was recorded, never the value; the integrity check passes over the return.
    events = trail(app)
    assert not any(holds_clear(event) for event in events)
    [received] = [json.loads(e)["changes"] for e in events if json.loads(e)["action"] == "return.received"]
    assert (received["returning_party"], received["returning_party_address"]) == (
        [None, "recorded (encrypted)"], [None, "recorded (encrypted)"])
    assert integrity_check(uow_factory()) == []


@pytest.mark.req("SEC-11")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_pages_and_the_audit_exports_show_the_party_masked_to_the_qp_and_the_auditor(app, shipped, uow_factory):
    from gmp_complaints.domain.events import DomainEvent

    api = shipped
    rid = patient_return(api)["id"]
    # An event as the application wrote it before revision 0051 (the party in clear): sealed, it stays as it is.
    with uow_factory() as unit:
        unit.record(DomainEvent("return.received", "return", str(rid), {"returning_party": [None, PATIENT]}))
        unit.commit()
    batch_id = batch_id_of(app, "B2602")
    pages = (f"/returns/{rid}", "/returns/", f"/master-data/batches/{batch_id}")
    officer = app.test_client()
    login(officer, "li.na", STRONG_PASSWORD)
    for path in pages:
        assert PATIENT in officer.get(path).get_data(as_text=True), path
    assert ADDRESS in officer.get(f"/returns/{rid}").get_data(as_text=True)
    for username in ("chen.jing", "zhao.lei"):  # the QP, the auditor
        reader = app.test_client()
        login(reader, username, STRONG_PASSWORD)
        for path in pages:
            html = reader.get(path).get_data(as_text=True)
            assert not holds_clear(html) and "欧***" in html, (username, path)
    # The return's audit trail as the auditor reads and exports it: the page, the CSV and the verifiable bundle.
    # (No printout holds the returning party: the complaint's documents and archive list no return's party.)
    auditor = app.test_client()
    login(auditor, "zhao.lei", STRONG_PASSWORD)
    query = f"entity_type=return&entity_id={rid}"
    page = auditor.get(f"/audit/?{query}")
    assert page.status_code == 200 and "RT-26-001" in page.get_data(as_text=True)
    assert not holds_clear(page.get_data(as_text=True)) and "欧***" in page.get_data(as_text=True)
    csv = auditor.get(f"/audit/events.csv?{query}").get_data(as_text=True)
    assert not holds_clear(csv) and "欧***" in csv
    assert PATIENT in officer.get(f"/audit/?{query}").get_data(as_text=True)  # QA reads the old event as written
    bundle = auditor.get(f"/audit/export.zip?{query}")
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as package:
        events = [json.loads(line) for line in package.read("events.jsonl").decode().splitlines()]
        assert "return.received" in {event["action"] for event in events}
        # The bundle is the sealed events byte for byte: only the old event holds the party, none written since.
        assert [event["action"] for event in events if holds_clear(json.dumps(event, ensure_ascii=False))] == [
            "return.received"]
        assert [e["changes"]["returning_party"][1] for e in events if e["action"] == "return.received"] == [
            "recorded (encrypted)", PATIENT]


@pytest.mark.req("SEC-11", "RET-05", "AT-03")
def test_migration_0051_encrypts_the_parties_already_held_only_with_the_instance_key(app, shipped):
    api = shipped
    rid = patient_return(api)["id"]
    url = app.config["GMP_SETTINGS"].database_url
    cipher = cipher_for(app.config["GMP_SETTINGS"])
    app.extensions["gmp_engine"].dispose()
    config = alembic_config(url)
    config.attributes["personal_data_cipher"] = lambda: cipher
    command.downgrade(config, "0050")
    assert stored(app) == (PATIENT, ADDRESS)  # a database as 0050 left it: the party in clear

    # Without the key the upgrade stops and changes nothing.
    with pytest.raises(RuntimeError, match="gmp init"):
        upgrade_to_head(url)
    assert stored(app) == (PATIENT, ADDRESS)
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0050"

    # With it, the values are encrypted in the reconciled upgrade, which names the change 0051 declares.
    report = upgrade_to_head(url, personal_data_cipher=lambda: cipher)
    assert {(f.table, f.column) for f in report.findings} == {("returns", "returning_party"),
                                                              ("returns", "returning_party_address")}
    assert all(f.declared and f.declared.startswith("0051:") for f in report.findings) and not report.refused
    party, address = stored(app)
    assert not holds_clear(party + address) and (cipher.decrypt(party), cipher.decrypt(address)) == (PATIENT, ADDRESS)
    assert api.get("qa_officer", f"/returns/{rid}").get_json()["returning_party"] == PATIENT

    # The integrity check, as the installed command: it passes over the encrypted return and still finds an
    # out-of-band edit of the return.
    env = _env_of(app)
    clean = gmp(env, "integrity-check")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    out_of_band(app, "returns", f"UPDATE returns SET quantity_received = 1 WHERE id = {rid}")
    run = gmp(env, "integrity-check")
    assert run.returncode == 1 and f"return:{rid} quantity_received" in run.stdout, run.stdout + run.stderr

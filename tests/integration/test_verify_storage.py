"""Periodic verification of the stored records (issue 17; RET-03): `gmp verify-storage`, the installed console
script, re-hashes every stored file against its recorded SHA-256 and verifies the audit log and the signatures; it
passes on an intact instance and fails, naming each difference, on a tampered one; the result goes to the audit trail
and the head of quality is told. `gmp tick` runs it on its schedule. SQLite and PostgreSQL."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.integration.test_check_commands import gmp
from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401 (fixtures)
from tests.integration.test_signatures import _env_of


def _attach(api, cid: int, content: bytes, name: str) -> dict:
    response = api.client.post(f"/api/v1/complaints/{cid}/attachments", headers={
        "Authorization": f"Bearer {api.tokens['intake']}"}, data={"file": (io.BytesIO(content), name)})
    assert response.status_code == 201
    return response.get_json()


def _stored(app, sha256: str) -> Path:
    root = app.config["GMP_SETTINGS"].attachment_root
    return root / sha256[:2] / sha256[2:4] / sha256


@pytest.mark.req("RET-03", "AT-03")
def test_verify_storage_passes_intact_and_fails_naming_each_changed_or_missing_file(app, api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    photo = _attach(api, cid, b"%PDF-1.4 photo of the broken cap", "photo.pdf")
    letter = _attach(api, cid, b"%PDF-1.4 customer letter", "letter.pdf")
    env = _env_of(app)
    intact = gmp(env, "verify-storage")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout.startswith("2 stored files match")

    changed = _stored(app, photo["sha256"])
    changed.chmod(0o600)
    changed.write_bytes(b"%PDF-1.4 another photo")
    missing = _stored(app, letter["sha256"])
    missing.chmod(0o600)
    missing.unlink()
    tampered = gmp(env, "verify-storage")
    assert tampered.returncode == 1
    assert f"attachment:{photo['id']} sha256" in tampered.stdout and f"attachment:{letter['id']} sha256" in tampered.stdout
    assert "2 difference(s)" in tampered.stdout
    with app.extensions["gmp_engine"].connect() as connection:
        results = connection.execute(sa.text(
            "SELECT actor_id FROM audit_events WHERE action = 'storage.verified' ORDER BY log_index")).all()
        told = connection.execute(sa.text(
            "SELECT n.record_label, u.username FROM user_notices n JOIN users u ON u.id = n.user_id "
            "WHERE n.kind = 'storage_verification_failed'")).all()
    assert len(results) == 2  # both runs are in the audit trail
    assert [tuple(t) for t in told] == [("2", "liu.yang")]  # the head of quality
    events = [e for e in api.get("auditor", "/audit/events").get_json()["events"] if e["action"] == "storage.verified"]
    assert [e["changes"]["differences"] for e in events] == [[None, 0], [None, 2]], events


@pytest.mark.req("RET-03")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_timer_runs_the_verification_on_its_schedule(app, api):
    from gmp_complaints.cli import main

    env = {**_env_of(app), "GMP_VERIFY_STORAGE_EVERY_DAYS": "7"}
    first = CliRunner(env=env).invoke(main, ["tick"])
    assert first.exit_code == 0 and "Stored records verified" in first.output, first.output
    again = CliRunner(env=env).invoke(main, ["tick"])  # verified minutes ago: not due
    assert again.exit_code == 0 and "Stored records verified" not in again.output
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text(
            "SELECT count(*) FROM audit_events WHERE action = 'storage.verified'")).scalar_one() == 1

"""The check commands as a customer runs them: the installed `gmp` console script in a subprocess, against
an untouched instance (exit 0) and a deliberately tampered one (exit 1, naming the difference). A check
that cannot fail is a defect. SQLite and PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.integration.test_archive import closed_complaint  # noqa: F401 (fixture)
from tests.integration.test_complaints_api import api, settings  # noqa: F401 (fixtures)
from tests.integration.test_signatures import _env_of

GMP = Path(sys.executable).with_name("gmp")


def gmp(env: dict, *args: str) -> subprocess.CompletedProcess:
    """The installed console script, as an operator runs it, on the instance ``env`` names (and no other)."""
    assert GMP.is_file(), f"the console script is not installed beside {sys.executable}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GMP_") and k != "DATABASE_URL"}
    return subprocess.run([str(GMP), *args], env={**clean, **env}, capture_output=True, text=True, timeout=300)


@pytest.fixture
def closed(closed_complaint):  # noqa: F811
    """A closed complaint with an attachment, a reply, a customer response and three signatures."""
    return closed_complaint


def out_of_band(app, table: str, statement: str) -> None:
    """SQL from a database console: the owner/superuser switches the table's guards off, edits, and
    switches them back on."""
    with app.extensions["gmp_engine"].begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT set_config('gmp.tx', 'console', true)"))
            connection.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER ALL"))
            connection.execute(sa.text(statement))
            connection.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER ALL"))
            return
        triggers = connection.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table}).all()
        for name, _sql in triggers:
            connection.execute(sa.text(f'DROP TRIGGER "{name}"'))
        connection.execute(sa.text(statement))
        for _name, sql in triggers:
            connection.execute(sa.text(sql))


@pytest.mark.req("AT-03", "SIG-02")
def test_integrity_check_as_the_console_script_fails_on_each_out_of_band_change(app, api, closed):
    env = _env_of(app)
    clean = gmp(env, "integrity-check")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "agree" in clean.stdout

    # 1. A status edited in the table.
    out_of_band(app, "complaints", f"UPDATE complaints SET status = 'registered' WHERE id = {closed}")
    run = gmp(env, "integrity-check")
    assert run.returncode == 1 and f"complaint:{closed} status" in run.stdout, run.stdout + run.stderr
    out_of_band(app, "complaints", f"UPDATE complaints SET status = 'closed' WHERE id = {closed}")
    assert gmp(env, "integrity-check").returncode == 0

    # 2. A signature bound to other content.
    out_of_band(app, "signatures", "UPDATE signatures SET record_hash = '" + "0" * 64 + "' WHERE step = 'closure'")
    run = gmp(env, "integrity-check")
    assert run.returncode == 1 and "the row differs from its signed manifest" in run.stdout, run.stdout + run.stderr

    # 3. A signature row deleted (on top): the trail recorded it, the table lost it.
    with app.extensions["gmp_engine"].connect() as connection:
        review_id = connection.execute(sa.text("SELECT id FROM signatures WHERE step = 'audit_trail_review'")).scalar_one()
    out_of_band(app, "signatures", f"DELETE FROM signatures WHERE id = {review_id}")
    run = gmp(env, "integrity-check")
    assert run.returncode == 1 and f"signature:{review_id}: recorded signature is missing" in run.stdout, run.stdout

    # 4. A stored file changed on disk.
    with app.extensions["gmp_engine"].connect() as connection:
        attachment_id, sha256 = connection.execute(sa.text("SELECT id, sha256 FROM attachments")).one()
    stored = Path(env["GMP_INSTANCE_PATH"]) / "attachments" / sha256[:2] / sha256[2:4] / sha256
    stored.chmod(0o644)
    stored.write_bytes(b"%PDF-1.4 another letter")
    run = gmp(env, "integrity-check")
    assert run.returncode == 1 and f"attachment:{attachment_id} sha256" in run.stdout, run.stdout

    # 5. A record row deleted.
    out_of_band(app, "attachments", f"DELETE FROM attachments WHERE id = {attachment_id}")
    run = gmp(env, "integrity-check")
    assert run.returncode == 1 and f"attachment:{attachment_id}: recorded row is missing" in run.stdout, run.stdout


@pytest.mark.req("AT-03")
def test_audit_verify_as_the_console_script_fails_on_a_changed_bundle(app, closed, tmp_path):
    env = _env_of(app)
    bundle = tmp_path / "trail.zip"
    exported = gmp(env, "audit", "export", "--out", str(bundle))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    ok = gmp(env, "audit", "verify", str(bundle))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith(".jsonl"):
                lines = data.split(b"\n")
                lines[3] = lines[3].replace(b'"action":"', b'"action":"x', 1)
                data = b"\n".join(lines)
            target.writestr(item, data)
    run = gmp(env, "audit", "verify", str(tampered))
    assert run.returncode == 1 and "3" in (run.stdout + run.stderr), run.stdout + run.stderr


@pytest.mark.req("REC-17", "RET-03")
def test_archive_verify_as_the_console_script_fails_on_a_changed_file(app, closed, tmp_path):
    env = _env_of(app)
    archive = tmp_path / "archive.zip"
    created = gmp(env, "archive", "create", str(closed), "--out", str(archive))
    assert created.returncode == 0, created.stdout + created.stderr
    ok = gmp(env, "archive", "verify", str(archive))
    assert ok.returncode == 0 and ok.stdout.startswith("OK:"), ok.stdout + ok.stderr
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("letter.pdf"):
                data = b"%PDF-1.4 another letter"
            target.writestr(item, data)
    run = gmp(env, "archive", "verify", str(tampered))
    assert run.returncode == 1 and "letter.pdf" in (run.stdout + run.stderr), run.stdout + run.stderr


def test_a_scheduled_command_that_loses_its_database_says_so_in_one_line_and_fails(tmp_path):
    """`gmp tick` from cron during a database restart: exit 1 and one line for the log, not a traceback."""
    env = {**os.environ, "GMP_INSTANCE_PATH": str(tmp_path / "instance"), "GMP_ENV": "test",
           "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/gmp"}  # nothing listens on port 1
    result = subprocess.run([str(GMP), "tick"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: The database connection failed or was lost: connection failed:")
    assert "Run the command again." in result.stderr


@pytest.mark.req("AT-03")
def test_strict_audit_verify_as_the_console_script_fails_on_a_sealed_line_outside_the_canonical_model(tmp_path):
    """A writer sealed `100.0` into one event: the seal holds (plain verify passes), the canonical form does not."""
    import json

    from audit import verify
    from tests.benchmarks.bench_audit_verify import build

    def writer(event):
        if event["index"] != 7:
            return verify.canonical_bytes(event)
        return json.dumps({**verify.canonical_value(event), "changes": {"quantity": [None, 100.0]}}, sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False).encode()

    bundle = tmp_path / "trail.zip"
    bundle.write_bytes(build(20, checkpoint_every=10, encode=writer))
    plain = subprocess.run([str(GMP), "audit", "verify", str(bundle)], capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    strict = subprocess.run([str(GMP), "audit", "verify", "--strict", str(bundle)], capture_output=True, text=True,
                            timeout=60)
    assert strict.returncode == 1 and "event 7: not in canonical form" in strict.stdout + strict.stderr, \
        strict.stdout + strict.stderr

"""Backup and restore drill (issue 17; RET-04, VAL-08), as an operator runs it: the installed `gmp` console script
as a subprocess, on SQLite and on PostgreSQL. A backup taken while the instance is in use restores into an empty
database and instance folder with the same audit log (tree size and root hash), the restored instance passes
`gmp integrity-check` and an exported trail passes `gmp audit verify`; a restore into a used instance, or of a
changed backup, is refused and changes nothing."""
from __future__ import annotations

import io
import re
import uuid
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES_ADMIN_URL
from tests.integration.test_check_commands import gmp
from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401 (fixtures)
from tests.integration.test_signatures import _env_of

HEAD = re.compile(r"tree size (\d+), root hash ([0-9a-f]{64})")



@pytest.fixture
def empty_target(database_url, tmp_path):
    """An empty database of the same kind as the source, an empty instance folder and no signing key yet."""
    instance = tmp_path / "restored"
    env = {"GMP_INSTANCE_PATH": str(instance), "GMP_ENV": "test",
           "GMP_SIGNING_KEY_PATH": str(tmp_path / "restored-keys" / "audit-signing-key.pem")}
    if database_url.startswith("sqlite"):
        env["DATABASE_URL"] = f"sqlite:///{instance / 'gmp.sqlite3'}"
        yield env
        return
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"gmp_test_restore_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    env["DATABASE_URL"] = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    yield env
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _head(output: str) -> tuple[int, str]:
    found = HEAD.findall(output)
    assert found, output
    return int(found[-1][0]), found[-1][1]


def _counts(url: str) -> dict:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("complaints", "attachments", "signatures", "audit_events", "users")}
    finally:
        engine.dispose()


@pytest.mark.req("RET-04", "VAL-08", "VAL-03")
def test_a_backup_restores_into_an_empty_instance_with_the_same_log_and_passes_every_check(
        app, api, empty_target, tmp_path):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    upload = api.client.post(f"/api/v1/complaints/{cid}/attachments", headers={
        "Authorization": f"Bearer {api.tokens['intake']}"}, data={"file": (io.BytesIO(b"%PDF-1.4 photo"), "photo.pdf")})
    assert upload.status_code == 201
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    source = _env_of(app)
    backup = tmp_path / "backup.zip"
    made = gmp(source, "backup", "--out", str(backup))
    assert made.returncode == 0, made.stderr
    assert oct(backup.stat().st_mode & 0o777) == "0o600"  # it holds the site's keys
    backed_up = _head(made.stdout)
    source_counts = _counts(source["DATABASE_URL"])

    restored = gmp(empty_target, "restore", str(backup))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    in_backup, after_restore = HEAD.findall(restored.stdout)[:2]
    assert (int(in_backup[0]), in_backup[1]) == (int(after_restore[0]), after_restore[1]) == backed_up
    # Record counts reconcile (the backup event itself came after the backup's moment).
    restored_counts = _counts(empty_target["DATABASE_URL"])
    assert {k: v for k, v in restored_counts.items() if k != "audit_events"} == \
        {k: v for k, v in source_counts.items() if k != "audit_events"}
    assert restored_counts["audit_events"] == backed_up[0] + 1  # + the restore, recorded in the restored log
    files = sorted(p.name for p in (Path(empty_target["GMP_INSTANCE_PATH"]) / "attachments").rglob("*") if p.is_file())
    assert files and Path(empty_target["GMP_SIGNING_KEY_PATH"]).read_bytes() == \
        Path(source["GMP_SIGNING_KEY_PATH"]).read_bytes()
    checked = gmp(empty_target, "integrity-check")
    assert checked.returncode == 0, checked.stdout
    bundle = tmp_path / "trail.zip"
    assert gmp(empty_target, "audit", "export", "--out", str(bundle)).returncode == 0
    verified = gmp(empty_target, "audit", "verify", str(bundle), "--strict")
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.req("RET-04", "VAL-03")
def test_a_restore_into_a_used_instance_or_of_a_changed_backup_is_refused_and_changes_nothing(
        app, api, empty_target, tmp_path):
    api.ok("intake", "/complaints", registration(), 201)
    source = _env_of(app)
    backup = tmp_path / "backup.zip"
    assert gmp(source, "backup", "--out", str(backup)).returncode == 0
    before = _counts(source["DATABASE_URL"])
    into_used = gmp(source, "restore", str(backup))
    assert into_used.returncode != 0 and "Restore refused, nothing changed" in into_used.stderr
    assert _counts(source["DATABASE_URL"]) == before

    # One byte of one file changed inside the backup: every file is checked before anything is written.
    with zipfile.ZipFile(backup) as original:
        members = {name: original.read(name) for name in original.namelist()}
    name = next(n for n in members if n.startswith("instance/keys/"))
    members[name] = members[name][:-1] + bytes([members[name][-1] ^ 1])
    changed = tmp_path / "changed.zip"
    with zipfile.ZipFile(changed, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    refused = gmp(empty_target, "restore", str(changed))
    assert refused.returncode != 0 and f"{name}: SHA-256 differs" in refused.stderr
    instance = Path(empty_target["GMP_INSTANCE_PATH"])
    assert not [p for p in instance.rglob("*") if p.is_file() and p.name != "secret_key"]
    assert not Path(empty_target["GMP_SIGNING_KEY_PATH"]).exists()
    engine = sa.create_engine(empty_target["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            assert sa.inspect(connection).get_table_names() == []
    finally:
        engine.dispose()

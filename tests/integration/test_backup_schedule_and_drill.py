"""Regular automated backups and the documented test restore (RET-04; Annex 11 §7.2, 21 CFR 211.68(b), China GMP
Art. 163), as an operator runs them: the installed `gmp` console script as a subprocess, on SQLite and PostgreSQL.

`gmp tick` writes a backup into GMP_BACKUP_DIR every GMP_BACKUP_EVERY_DAYS (owner-only files, the newest
GMP_BACKUP_KEEP kept) and records each in the audit trail; a failed one is recorded and the head of quality and the
administrator are told. `gmp restore FILE --drill` restores into a scratch folder and database (never the live
ones), reconciles every table's rows and content hashes and the audit log against the manifest, prints the
reconciliation and records pass or fail in the live trail; a tampered backup fails it (exit 1)."""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
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


def _events(app, action: str) -> list[dict]:
    with app.extensions["gmp_engine"].connect() as connection:
        rows = connection.execute(sa.text("SELECT entity_id, canonical FROM audit_events WHERE action = :a "
                                          "ORDER BY log_index"), {"a": action}).all()
    return [{"entity_id": r.entity_id, **{k: v[1] for k, v in json.loads(bytes(r.canonical))["changes"].items()}}
            for r in rows]


def _count(app, table: str) -> int:
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.req("RET-04")
def test_gmp_tick_writes_regular_owner_only_backups_keeps_the_newest_and_records_each(
        app, api, tmp_path):  # noqa: F811
    api.ok("intake", "/complaints", registration(), 201)
    folder = tmp_path / "backups"
    env = {**_env_of(app), "GMP_BACKUP_DIR": str(folder), "GMP_BACKUP_KEEP": "2"}

    first = gmp(env, "tick")
    assert first.returncode == 0, first.stdout + first.stderr
    [written] = sorted(folder.iterdir())
    assert re.fullmatch(r"gmp-backup-\d{8}T\d{12}Z\.zip", written.name)
    assert oct(written.stat().st_mode & 0o777) == "0o600" and oct(folder.stat().st_mode & 0o777) == "0o700"
    assert f"Backup written to {written}" in first.stdout
    # Daily by default: the next tick the same day writes none.
    assert gmp(env, "tick").returncode == 0 and sorted(folder.iterdir()) == [written]
    [event] = _events(app, "instance.backed_up")
    with zipfile.ZipFile(written) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert event["entity_id"] == "scheduled" and event["file"] == str(written)
    assert event["file_sha256"] == _sha256(written)
    assert (event["tree_size"], event["root_hash"]) == (manifest["tree_size"], manifest["root_hash"])
    assert event["table_rows"]["complaints"] == manifest["tables"]["complaints"]["rows"] == 1
    assert event["tables"] == len(manifest["tables"]) and event["rows"] == sum(
        t["rows"] for t in manifest["tables"].values())

    # Every tick (0 days): the oldest beyond the two kept goes; any other file in the folder stays.
    (folder / "operator-notes.txt").write_text("kept")
    every_tick = {**env, "GMP_BACKUP_EVERY_DAYS": "0"}
    for _ in range(2):
        assert gmp(every_tick, "tick").returncode == 0
    kept = sorted(p.name for p in folder.iterdir() if p.name.startswith("gmp-backup-"))
    assert len(kept) == 2 and written.name not in kept and (folder / "operator-notes.txt").exists()
    events = _events(app, "instance.backed_up")
    assert len(events) == 3 and events[-1]["rotated_out"] == [written.name]
    assert [Path(e["file"]).name for e in events[1:]] == kept

    # A scheduled backup passes the test restore.
    drill = gmp(env, "restore", str(folder / kept[-1]), "--drill")
    assert drill.returncode == 0, drill.stdout + drill.stderr


@pytest.mark.req("RET-04")
def test_a_failed_scheduled_backup_is_recorded_and_tells_the_head_of_quality_and_the_administrator(
        app, api, uow_factory, tmp_path):  # noqa: F811
    from gmp_complaints.services import accounts

    for username, role in (("qa.boss", "qa_head"), ("it.admin", "admin")):
        accounts.create_user(uow_factory(), actor_id=None, username=username, printed_name=username.title(),
                             roles=[role], temporary_password="temporary-password-0001",
                             email=f"{username}@example.cn")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the backup folder should be")
    env = {**_env_of(app), "GMP_BACKUP_DIR": str(blocked / "backups"), "GMP_SMTP_HOST": "127.0.0.1",
           "GMP_SMTP_PORT": "9"}
    run = gmp(env, "tick")
    assert run.returncode == 1 and f"Backup FAILED into {blocked / 'backups'}" in run.stdout, run.stdout + run.stderr
    [failure] = _events(app, "instance.backup_failed")
    assert failure["directory"] == str(blocked / "backups") and "Not a directory" in failure["error"]
    assert _events(app, "instance.backed_up") == []
    with app.extensions["gmp_engine"].connect() as connection:
        told = connection.execute(sa.text(
            "SELECT u.username FROM user_notices n JOIN users u ON u.id = n.user_id WHERE n.kind = 'backup_failed' "
            "ORDER BY u.username")).scalars().all()
        mails = connection.execute(sa.text(
            "SELECT subject FROM outbox_messages WHERE purpose = 'user_notice' AND subject LIKE '%backup%'")).all()
    assert told == ["it.admin", "liu.yang", "qa.boss"]  # every head of quality and the administrator
    assert len(mails) == 2  # e-mailed to those with an address, through the outbox
    # Not written, so still due: the next tick tries again (the unread notice is not repeated).
    again = gmp(env, "tick")
    assert again.returncode == 1 and len(_events(app, "instance.backup_failed")) == 2
    assert _count(app, "user_notices WHERE kind = 'backup_failed'") == 3


@pytest.mark.req("RET-04", "VAL-08")
def test_the_test_restore_reconciles_every_table_and_the_log_in_scratch_and_records_the_result(
        app, api, tmp_path):  # noqa: F811
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    env = _env_of(app)
    backup = tmp_path / "backup.zip"
    made = gmp(env, "backup", "--out", str(backup))
    assert made.returncode == 0, made.stderr
    complaints, users = _count(app, "complaints"), _count(app, "users")

    drill = gmp(env, "restore", str(backup), "--drill")
    assert drill.returncode == 0, drill.stdout + drill.stderr
    in_backup, restored, recomputed = HEAD.findall(drill.stdout)[:3]
    assert in_backup == restored == recomputed
    assert "OK       complaints: backup 1 rows, restored 1 rows" in drill.stdout
    assert f"OK       users: backup {users} rows, restored {users} rows" in drill.stdout
    assert "DIFFERS" not in drill.stdout and "Drill passed" in drill.stdout
    assert "never the live one" in drill.stdout
    # The live instance only gained the record of the drill.
    assert (_count(app, "complaints"), _count(app, "users")) == (complaints, users)
    [recorded] = _events(app, "instance.restore_drilled")
    assert recorded["result"] == "pass" and recorded["differences"] == 0 and recorded["file_sha256"] == _sha256(backup)
    assert recorded["tree_size"] == int(in_backup[0]) and recorded["root_hash"] == in_backup[1]
    assert recorded["tables"] > 40 and recorded["rows"] > 0
    if app.extensions["gmp_engine"].dialect.name == "postgresql":  # the scratch database is gone
        admin = sa.create_engine(POSTGRES_ADMIN_URL)
        with admin.connect() as connection:
            assert connection.execute(sa.text(
                "SELECT count(*) FROM pg_database WHERE datname LIKE 'gmp_drill_%'")).scalar() == 0
        admin.dispose()


def _rewrite(backup: Path, out: Path, members: dict, manifest: dict) -> None:
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", json.dumps(manifest))


def _edit_database(member: str, data: bytes, tmp_path: Path, statement: str) -> bytes:
    """The backed-up database edited after the backup (its guards switched off for the edit, as a console user
    with the owner's rights would), returned in the same form."""
    if member == "database.sqlite3":
        copy = tmp_path / "edited.sqlite3"
        copy.write_bytes(data)
        connection = sqlite3.connect(copy)
        triggers = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                                      "tbl_name = 'complaints'").fetchall()
        for name, _sql in triggers:
            connection.execute(f'DROP TRIGGER "{name}"')
        connection.execute(statement)
        for _name, sql in triggers:
            connection.execute(sql)
        connection.commit()
        connection.close()
        return copy.read_bytes()
    name = f"gmp_test_edit_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql", database=name)
    dump = tmp_path / "edited.pgdump"
    dump.write_bytes(data)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        libpq = url.render_as_string(hide_password=False)
        subprocess.run(["pg_restore", "--no-owner", "--dbname", libpq, str(dump)], check=True, capture_output=True)
        engine = sa.create_engine(url.set(drivername="postgresql+psycopg"))
        with engine.begin() as connection:
            connection.execute(sa.text("SELECT set_config('gmp.tx', 'console', true)"))
            connection.execute(sa.text("ALTER TABLE complaints DISABLE TRIGGER ALL"))
            connection.execute(sa.text(statement))
            connection.execute(sa.text("ALTER TABLE complaints ENABLE TRIGGER ALL"))
        engine.dispose()
        subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), "--dbname", libpq], check=True,
                       capture_output=True)
        return dump.read_bytes()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.req("RET-04")
@pytest.mark.parametrize("tampering", ["database edited, manifest hash rewritten", "manifest counts edited",
                                       "a file changed"])
def test_a_tampered_backup_fails_the_test_restore_and_the_failure_is_recorded(
        app, api, tmp_path, tampering):  # noqa: F811
    api.ok("intake", "/complaints", registration(), 201)
    env = _env_of(app)
    backup = tmp_path / "backup.zip"
    assert gmp(env, "backup", "--out", str(backup)).returncode == 0
    with zipfile.ZipFile(backup) as original:
        members = {name: original.read(name) for name in original.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    database = next(name for name in members if name.startswith("database."))
    if tampering == "database edited, manifest hash rewritten":
        members[database] = _edit_database(database, members[database], tmp_path,
                                           "UPDATE complaints SET description = '瓶盖完好'")
        manifest["files"][database] = hashlib.sha256(members[database]).hexdigest()
        expected = ["complaints.description: the values differ", "is not recorded in this instance's audit trail"]
    elif tampering == "manifest counts edited":
        manifest["tables"]["complaints"]["rows"] += 1
        expected = ["complaints: 2 rows expected, 1 found"]
    else:
        name = next(n for n in members if n.startswith("instance/keys/"))
        members[name] = members[name][:-1] + bytes([members[name][-1] ^ 1])
        expected = [f"{name}: SHA-256 differs"]
    tampered = tmp_path / "tampered.zip"
    _rewrite(backup, tampered, members, manifest)
    complaints = _count(app, "complaints")

    drill = gmp(env, "restore", str(tampered), "--drill")
    assert drill.returncode == 1, drill.stdout + drill.stderr
    for text in expected:
        assert text in drill.stdout, drill.stdout
    assert "Drill FAILED" in drill.stdout and _count(app, "complaints") == complaints
    [recorded] = _events(app, "instance.restore_drilled")
    assert recorded["result"] == "fail" and recorded["differences"] >= len(expected)
    assert recorded["file_sha256"] == _sha256(tampered)
    assert any(expected[0] in line for line in recorded["detail"])

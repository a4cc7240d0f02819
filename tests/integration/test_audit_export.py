"""Export bundles and their offline verification, including every kind of tampering."""
import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.export import export_audit_trail
from audit.keys import Signer, _public_bytes
from audit.service import EventFilter
from audit.verify import verify_bundle
from gmp_complaints.cli import main
from tests.conftest import environment_for, signing_key_path

VERIFY_PY = Path(__file__).resolve().parents[2] / "audit" / "verify.py"


@pytest.fixture
def history(app, make_user, approved_change):
    """A little history: accounts created, roles changed, a failed log-in, a deactivation (each change of access
    requested and approved)."""
    admin_id, _ = make_user("root.admin", "admin")
    ids = [make_user(f"user.{i}", "investigator")[0] for i in range(4)]
    approved_change(admin_id, kind="change_roles", user_id=ids[1], roles=["qa_officer"], reason="Moved")
    approved_change(admin_id, kind="deactivate_user", user_id=ids[2], reason="Left")
    app.test_client().post("/api/v1/auth/token", json={"username": "user.0", "password": "wrong-password"})
    return {"admin": admin_id, "users": ids}


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def lines(files):
    return files["events.jsonl"].split(b"\n")[:-1]


@pytest.mark.req("AT-03")
def test_a_full_export_verifies_offline(uow_factory, history):
    result = export_audit_trail(uow_factory(), actor_id=history["admin"])
    report = verify_bundle(result.data)
    assert report.ok, report.problems
    assert report.scope == "full" and report.events == result.event_count > 10
    files = members(result.data)
    assert [json.loads(line)["index"] for line in lines(files)] == list(range(result.event_count))
    manifest = json.loads(files["manifest.json"])
    assert manifest["files"]["events.jsonl"] == hashlib.sha256(files["events.jsonl"]).hexdigest()


@pytest.mark.req("AT-03")
def test_a_partial_export_of_one_record_verifies_through_inclusion_proofs(uow_factory, history):
    user_id = history["users"][1]
    result = export_audit_trail(uow_factory(), actor_id=history["admin"],
                                event_filter=EventFilter(entity_type="user", entity_id=str(user_id)))
    files = members(result.data)
    entities = {json.loads(line)["entity"]["id"] for line in lines(files)}
    assert entities == {str(user_id)}
    assert len(lines(files)) == result.event_count >= 2
    report = verify_bundle(result.data)
    assert report.ok and report.scope == "partial", report.problems
    # A proof that does not lead to the signed root is caught.
    proofs = [json.loads(p) for p in files["proofs.jsonl"].split(b"\n") if p]
    proofs[0]["proof"][0] = base64.b64encode(b"\x00" * 32).decode()
    files["proofs.jsonl"] = b"".join(json.dumps(p).encode() + b"\n" for p in proofs)
    report = verify_bundle(rezip(files))
    assert not report.ok and report.first_failing_index == proofs[0]["index"]


def test_a_date_range_export_holds_only_that_range(uow_factory, history, settings):
    from gmp_complaints.clock import business_today

    today = business_today(settings)
    result = export_audit_trail(uow_factory(), actor_id=None,
                                event_filter=EventFilter(date_from=today, date_to=today))
    assert verify_bundle(result.data).ok
    empty = export_audit_trail(uow_factory(), actor_id=None,
                               event_filter=EventFilter(date_from=today.replace(year=today.year - 1),
                                                        date_to=today.replace(year=today.year - 1)))
    assert empty.event_count == 0 and verify_bundle(empty.data).ok


@pytest.mark.req("AT-03")
def test_every_export_is_itself_audited_with_the_files_hash_and_sealed(app, uow_factory, history):
    import sqlalchemy as sa

    result = export_audit_trail(uow_factory(), actor_id=history["admin"])
    with app.extensions["gmp_engine"].connect() as connection:
        row = connection.execute(sa.text(
            "SELECT canonical, log_index FROM audit_events WHERE action = 'audit.exported'")).one()
        sealed_to = connection.execute(sa.text("SELECT max(tree_size) FROM audit_checkpoints")).scalar_one()
    assert json.loads(row.canonical)["changes"]["file_sha256"] == [None, result.sha256]
    assert sealed_to == row.log_index + 1  # a checkpoint follows every export


def _flip_a_byte(files):
    events = lines(files)
    target = 7
    changed = events[target].replace(b"Tester", b"Testor", 1) if b"Tester" in events[target] else \
        events[target].replace(b'"user', b'"usEr', 1)
    # whatever event sits there, one byte of it changes
    events[target] = changed if changed != events[target] else events[target].replace(b'"action"', b'"actiom"', 1)
    files["events.jsonl"] = b"\n".join(events) + b"\n"
    return target


def _drop_a_line(files):
    events = lines(files)
    del events[5]
    files["events.jsonl"] = b"\n".join(events) + b"\n"
    return 5


def _swap_two_lines(files):
    events = lines(files)
    events[3], events[4] = events[4], events[3]
    files["events.jsonl"] = b"\n".join(events) + b"\n"
    return 3


@pytest.mark.req("AT-03", "VAL-03")
@pytest.mark.parametrize("tamper", [_flip_a_byte, _drop_a_line, _swap_two_lines], ids=["flip-byte", "drop-line", "swap-lines"])
def test_tampered_events_are_found_at_the_right_index(uow_factory, history, tamper, tmp_path):
    files = members(export_audit_trail(uow_factory(), actor_id=None).data)
    expected = tamper(files)
    report = verify_bundle(rezip(files))
    assert not report.ok
    assert report.first_failing_index == expected, report.problems
    bundle = tmp_path / "tampered.zip"
    bundle.write_bytes(rezip(files))
    run = subprocess.run([sys.executable, str(VERIFY_PY), str(bundle)], capture_output=True, text=True)
    assert run.returncode == 1
    assert f"FAIL at event index {expected}" in run.stdout


@pytest.mark.req("AT-03", "VAL-03")
def test_a_forged_checkpoint_signature_is_refused(uow_factory, history):
    files = members(export_audit_trail(uow_factory(), actor_id=None).data)
    notes = json.loads(files["checkpoints.json"])
    body, _, signature_line = notes[-1].rpartition("\n\u2014 ")
    name, _, blob = signature_line.strip().rpartition(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01
    notes[-1] = f"{body}\n\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
    files["checkpoints.json"] = json.dumps(notes).encode()
    report = verify_bundle(rezip(files))
    assert not report.ok
    assert any("no valid signature" in p for p in report.problems)


@pytest.mark.req("AT-03", "VAL-03")
def test_a_bundle_signed_by_an_unknown_key_is_refused(uow_factory, history, settings):
    """Someone rewrites the log and re-signs it with their own key: pinned keys expose it."""
    trusted = json.loads(members(export_audit_trail(uow_factory(), actor_id=None).data)["keys.json"])
    files = members(export_audit_trail(uow_factory(), actor_id=None).data)
    key = Ed25519PrivateKey.generate()
    impostor = Signer(settings.audit_origin, key, _public_bytes(key))
    notes = []
    for note in json.loads(files["checkpoints.json"]):
        body = note.partition("\n\n")[0] + "\n"
        notes.append(impostor.sign_note(body))
    files["checkpoints.json"] = json.dumps(notes).encode()
    files["keys.json"] = json.dumps([{"name": impostor.name, "public_key": base64.b64encode(impostor.public_key).decode(),
                                      "valid_from": "2000-01-01T00:00:00.000000Z", "valid_until": None}]).encode()
    report = verify_bundle(rezip(files), trusted_keys=trusted)
    assert not report.ok
    assert any("no valid signature by a known key" in p for p in report.problems)


@pytest.mark.req("AT-03", "VAL-03")
def test_a_truncated_bundle_is_refused(uow_factory, history, tmp_path):
    data = export_audit_trail(uow_factory(), actor_id=None).data
    report = verify_bundle(data[: len(data) * 2 // 3])
    assert not report.ok and "truncated" in report.problems[0]
    # Also a bundle that lost its last events but whose zip is intact.
    files = members(data)
    events = lines(files)
    files["events.jsonl"] = b"\n".join(events[:-3]) + b"\n"
    report = verify_bundle(rezip(files))
    assert not report.ok and report.first_failing_index == len(events) - 3


@pytest.mark.req("AT-03")
def test_cli_export_and_verify_and_the_verifier_runs_alone(database_url, tmp_path, tmp_path_factory, history):
    env = environment_for(database_url, tmp_path / "instance", signing_key_path(tmp_path_factory))
    out = tmp_path / "full.zip"
    result = CliRunner(env=env).invoke(main, ["audit", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    verified = CliRunner(env=env).invoke(main, ["audit", "verify", str(out)])
    assert verified.exit_code == 0 and verified.output.strip().endswith("scope full")
    partial = tmp_path / "one.zip"
    result = CliRunner(env=env).invoke(main, ["audit", "export", "--entity", f"user:{history['users'][0]}",
                                              "--out", str(partial)])
    assert result.exit_code == 0, result.output
    # The inspector's copy: verify.py alone in an empty folder, no application, no database.
    alone = tmp_path / "inspector"
    alone.mkdir()
    shutil.copy(VERIFY_PY, alone / "verify.py")
    run = subprocess.run([sys.executable, "-I", "verify.py", str(partial)], cwd=alone, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("scope partial")


@pytest.mark.req("AT-03")
def test_after_a_key_rotation_old_checkpoints_still_verify(database_url, tmp_path, tmp_path_factory, make_user, app):
    from gmp_complaints.config import load_settings

    # Rotation works on its own key file, not the run's shared one.
    key = tmp_path / "rotating.pem"
    shutil.copy(signing_key_path(tmp_path_factory), key)
    env = environment_for(database_url, tmp_path / "instance", key)
    make_user("zhang.wei", "investigator")
    result = CliRunner(env=env).invoke(main, ["audit", "rotate-key", "--reason", "Annual rotation"])
    assert result.exit_code == 0, result.output
    # Work after the rotation is signed with the new key (the old one no longer signs anything).
    created = CliRunner(env=env).invoke(main, ["create-user", "li.na", "--name", "Li Na", "--role", "qa_officer",
                                               "--password-stdin"], input="temporary-password-1\n")
    assert created.exit_code == 0, created.output
    settings = load_settings(env)
    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.uow import UnitOfWork

    engine = make_engine(database_url)
    try:
        bundle = export_audit_trail(UnitOfWork(make_session_factory(engine), settings), actor_id=None)
    finally:
        engine.dispose()
    files = members(bundle.data)
    keys = json.loads(files["keys.json"])
    assert len(keys) == 2 and keys[0]["valid_until"] == keys[1]["valid_from"]
    notes = json.loads(files["checkpoints.json"])
    first_key, last_key = (base64.b64decode(n.rsplit(" ", 1)[1])[:4].hex() for n in (notes[0], notes[-1]))
    assert first_key == keys[0]["key_id"] and last_key == keys[1]["key_id"]
    report = verify_bundle(bundle.data)
    assert report.ok, report.problems
    assert list(tmp_path.glob("rotating.*.retired.pem"))

"""The archive package of a closed complaint (SOP §8): created by `gmp archive create`, checked offline
by `gmp archive verify`, reproduced byte for byte from the print time and anchor in its manifest."""
import io
import json
import zipfile

import pytest
from click.testing import CliRunner

from gmp_complaints.cli import main
from tests.integration.test_complaints_api import api, settings  # noqa: F401
from tests.integration.test_signatures import _env_of, replied_and_satisfied, sign


@pytest.fixture
def closed_complaint(api):
    cid = replied_and_satisfied(api)
    upload = api.client.post(f"/api/v1/complaints/{cid}/attachments",
                             data={"file": (io.BytesIO(b"%PDF-1.4 customer letter"), "letter.pdf")},
                             headers={"Authorization": f"Bearer {api.tokens['intake']}"})
    assert upload.status_code == 201
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    return cid


def run(env, *args):
    return CliRunner(env=env).invoke(main, list(args))


@pytest.mark.req("REC-17", "RET-03")
def test_an_archive_package_verifies_offline_and_is_reproduced_byte_for_byte(app, api, closed_complaint, tmp_path):
    env = _env_of(app)
    first = tmp_path / "a1.zip"
    result = run(env, "archive", "create", str(closed_complaint), "--out", str(first))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(first) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    assert {"documents/handling_sheet.pdf", "documents/intake_form.pdf", "documents/reply-1.pdf",
            "documents/audit_trail.pdf", "audit/audit-bundle.zip", "keys.json", "manifest.sig"} <= names
    assert any(n.startswith("attachments/") and n.endswith("letter.pdf") for n in names)
    assert manifest["complaint"]["number"] == "TS-III-26-001" and manifest["complaint"]["closed_on"]
    verified = run(env, "archive", "verify", str(first))
    assert verified.exit_code == 0 and verified.output.startswith("OK:"), verified.output
    # The same print time and anchor give the same bytes, after the first archiving was recorded.
    second = tmp_path / "a2.zip"
    again = run(env, "archive", "create", str(closed_complaint), "--out", str(second),
                "--printed-at", manifest["printed_at_utc"], "--anchor", str(manifest["audit_anchor_tree_size"]))
    assert again.exit_code == 0, again.output
    assert first.read_bytes() == second.read_bytes()
    events = api.get("auditor", f"/audit/events?entity=complaint:{closed_complaint}").get_json()["events"]
    assert [e["action"] for e in events].count("complaint.archived") == 2


@pytest.mark.req("REC-17")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_changed_file_or_manifest_fails_verification(app, api, closed_complaint, tmp_path):
    env = _env_of(app)
    original = tmp_path / "a.zip"
    assert run(env, "archive", "create", str(closed_complaint), "--out", str(original)).exit_code == 0

    def rewrite(path, change):
        with zipfile.ZipFile(original) as source, zipfile.ZipFile(path, "w") as target:
            for name in source.namelist():
                target.writestr(name, change(name, source.read(name)))

    tampered = tmp_path / "t.zip"
    rewrite(tampered, lambda name, data: data + b"%" if name == "documents/reply-1.pdf" else data)
    failed = run(env, "archive", "verify", str(tampered))
    assert failed.exit_code == 1 and "documents/reply-1.pdf: SHA-256 differs" in failed.output
    forged = tmp_path / "f.zip"

    def forge(name, data):
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["complaint"]["closed_on"] = "2020-01-01"
            return json.dumps(manifest, indent=1, sort_keys=True).encode()
        return data
    rewrite(forged, forge)
    failed = run(env, "archive", "verify", str(forged))
    assert failed.exit_code == 1 and "manifest signature does not verify" in failed.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_only_a_closed_complaint_is_archived(app, api, tmp_path):
    cid = replied_and_satisfied(api)
    result = run(_env_of(app), "archive", "create", str(cid), "--out", str(tmp_path / "x.zip"))
    assert result.exit_code != 0 and "closed" in result.output and not (tmp_path / "x.zip").exists()


@pytest.mark.req("REC-17")
def test_the_archive_holds_the_letters_as_sent(app, api, closed_complaint, tmp_path):
    from tests.conftest import login

    client = app.test_client()
    login(client, *api.credentials["qa_head"])
    sent = client.get(f"/complaints/{closed_complaint}/documents/reply.pdf?n=1").data
    assert sent.startswith(b"%PDF")
    out = tmp_path / "archive.zip"
    result = run(_env_of(app), "archive", "create", str(closed_complaint), "--out", str(out))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        assert archive.read("documents/reply-1.pdf") == sent


@pytest.mark.req("REC-17")
def test_the_archive_holds_the_capa_evidence_and_file_names_cannot_leave_their_folder(app, api, tmp_path):
    from tests.integration.test_capa import action, assessed
    from tests.integration.test_complaints_api import TODAY, capa_body

    cid = assessed(api)
    capa = api.ok("qa_officer", "/capas", capa_body(cid), 201)
    act = action(api, capa["id"])["actions"][0]["id"]
    headers = {"Authorization": f"Bearer {api.tokens['investigator']}"}
    evidence = api.client.post(f"/api/v1/capas/{capa['id']}/actions/{act}/evidence", headers=headers,
                               data={"file": (io.BytesIO(b"%PDF-1.4 calibration certificate"), "../../cert.pdf")})
    assert evidence.status_code == 201
    api.ok("investigator", f"/capas/{capa['id']}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "e"})
    api.ok("qa_head", f"/capas/{capa['id']}/actions/{act}/implementation-approval", api.signed("qa_head", {}))
    upload = api.client.post(f"/api/v1/complaints/{cid}/attachments", headers={
        "Authorization": f"Bearer {api.tokens['intake']}"}, data={"file": (io.BytesIO(b"%PDF-1.4 x"), "..\\..\\x.pdf")})
    assert upload.status_code == 201
    api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": TODAY, "satisfied": True, "text": "满意"})
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    out = tmp_path / "a.zip"
    assert run(_env_of(app), "archive", "create", str(cid), "--out", str(out)).exit_code == 0
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        evidence_names = [n for n in names if n.startswith(f"capa/{capa['number']}/")]
        assert len(evidence_names) == 1 and evidence_names[0].endswith("-cert.pdf")
        assert archive.read(evidence_names[0]) == b"%PDF-1.4 calibration certificate"
    assert not [n for n in names if ".." in n or "\\" in n]
    assert any(n.startswith("attachments/") and n.endswith("-x.pdf") for n in names)
    assert run(_env_of(app), "archive", "verify", str(out)).exit_code == 0

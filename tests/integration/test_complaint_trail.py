"""The audit trail of a complaint takes in every record that belongs to it (issue 16): the auditor's page,
the API and `gmp audit export --entity complaint:<id>` alike. SQLite and PostgreSQL."""
import pytest

from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401


@pytest.mark.req("AT-06")
def test_the_trail_of_a_complaint_takes_in_every_record_that_belongs_to_it(app, api, tmp_path):
    import json as _json
    import zipfile

    from click.testing import CliRunner

    from gmp_complaints.cli import main
    from tests.integration.test_complaints_api import run_to_reply

    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    run_to_reply(api, cid)
    api.ok("qp", f"/complaints/{cid}/signatures", api.signed("qp", {"step": "qp_acknowledgement"}), 201)
    events = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    kinds = {e["entity"].split(":")[0] for e in events}
    assert {"complaint", "complaint_reply", "signature"} <= kinds, kinds
    # The bundle of `gmp audit export --entity complaint:<id>` holds the same events and verifies offline.
    settings = app.config["GMP_SETTINGS"]
    env = {"GMP_INSTANCE_PATH": str(settings.instance_path), "DATABASE_URL": settings.database_url, "GMP_ENV": "test",
           "GMP_SIGNING_KEY_PATH": str(settings.signing_key_file)}
    out = tmp_path / "complaint.zip"
    result = CliRunner(env=env).invoke(main, ["audit", "export", "--entity", f"complaint:{cid}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as bundle:
        lines = [_json.loads(line) for line in bundle.read("events.jsonl").splitlines() if line.strip()]
    assert {"complaint_reply", "signature"} <= {line["entity"]["type"] for line in lines}
    verified = CliRunner(env=env).invoke(main, ["audit", "verify", str(out)])
    assert verified.exit_code == 0, verified.output


@pytest.mark.req("AT-06")
def test_the_trail_reads_in_words_people_and_records_by_name(app, api):
    from tests.conftest import login
    from tests.integration.test_complaints_api import assign_investigator

    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    number = api.ok("qa_officer", f"/complaints/{cid}/classification",
                    {"complaint_class": "II", "rationale": "r", "adr_suspected": False})["number"]
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation", {
        "root_cause": "封口机压力偏低", "impact": "本批", "other_batches_affected": "无", "substantiated": True,
        "checklist": {"batch_records": {"outcome": "done", "note": "压力记录偏低"}}})
    client = app.test_client()
    login(client, *api.credentials["auditor"])
    page = client.get(f"/audit/?entity=complaint:{cid}").get_data(as_text=True)
    assert f"投诉 {number}" in page or f"Complaint {number}" in page  # the record by its number, not its id
    assert "Zhang.Wei Tester" in page  # the investigator assigned, by name
    assert "压力记录偏低" in page and '{"batch_records"' not in page  # the checklist in words, not JSON
    csv_text = client.get(f"/audit/events.csv?entity=complaint:{cid}").get_data(as_text=True)
    assert "Zhang.Wei Tester" in csv_text and number in csv_text

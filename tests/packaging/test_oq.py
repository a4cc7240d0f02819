"""`gmp validate oq` as the customer runs it (issue 18; VAL-04): the installed console script builds a scratch
instance (SQLite by default, an empty PostgreSQL database through DATABASE_URL), runs every case, writes the JSON
{cases: [{id, requirement_ids, title, result}]} and exits 0 only when all pass."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES_ADMIN_URL

GMP = str(Path(sys.executable).with_name("gmp"))


def _oq(tmp_path, database_url=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GMP_") and k != "DATABASE_URL"}
    if database_url:
        env["DATABASE_URL"] = database_url
    out = tmp_path / "oq.json"
    result = subprocess.run([GMP, "validate", "oq", "--json", str(out)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)
    return result, json.loads(out.read_text()) if out.exists() else None


def _assert_every_case_passed(result, report) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OQ passed" in result.stdout
    cases = report["cases"]
    assert [c["id"] for c in cases] == [f"OQ-{n:02d}" for n in range(1, len(cases) + 1)] and len(cases) >= 10
    assert all(c["result"] == "pass" and c["requirement_ids"] and c["steps"] for c in cases)


# The whole OQ runs once per database: here on an empty PostgreSQL database; on the SQLite scratch in
# test_the_oq_report_is_signed_in_the_installation_and_the_installation_is_never_the_scratch.
@pytest.mark.req("VAL-04")
@pytest.mark.parametrize("backend", ["postgresql"])
def test_every_oq_case_passes_on_a_scratch_instance(tmp_path, backend):
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"gmp_test_oq_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    try:
        result, report = _oq(tmp_path, url)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    _assert_every_case_passed(result, report)


@pytest.mark.req("VAL-04")
def test_an_oq_that_cannot_set_up_its_instance_fails_every_case(tmp_path):
    result, report = _oq(tmp_path, "postgresql://nobody@127.0.0.1:1/nowhere")
    assert result.returncode == 1 and "OQ failed" in result.stdout
    assert report["cases"] and all(c["result"] == "fail" and "could not be set up" in c["error"]
                                   for c in report["cases"])


def _gmp(tmp_path, *args, env, stdin=None, timeout=600):
    return subprocess.run([GMP, *args], cwd=tmp_path, env=env, input=stdin, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.req("VAL-04")
def test_the_oq_report_is_signed_in_the_installation_and_the_installation_is_never_the_scratch(tmp_path):
    """On an installation in use (DATABASE_URL names it), every case runs and passes on a SQLite scratch and the
    executor signs the PDF in the installation; the installation holds the signature and nothing of the cases. A
    scratch database that is not empty fails every case and is left as it was; a wrong password writes no report."""
    import sqlite3

    from pypdf import PdfReader

    env = {k: v for k, v in os.environ.items() if not k.startswith("GMP_") and k != "DATABASE_URL"}
    database = tmp_path / "instance" / "gmp.sqlite3"
    env.update(GMP_INSTANCE_PATH=str(tmp_path / "instance"), DATABASE_URL=f"sqlite:///{database}")
    assert _gmp(tmp_path, "init", env=env).returncode == 0
    assert _gmp(tmp_path, "demo", env=env).returncode == 0

    def counts():
        with sqlite3.connect(database) as connection:
            return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    for table in ("complaints", "users", "signatures", "audit_events")}

    before = counts()
    report = tmp_path / "oq.pdf"
    signed = _gmp(tmp_path, "validate", "oq", "--out", str(report), "--json", str(tmp_path / "oq.json"),
                  "--username", "demo.qa", "--password-stdin", env=env, stdin="gmp-demo-qa-officer-2026\n")
    assert signed.returncode == 0 and "signed by 李娜 Li Na" in signed.stdout, signed.stdout + signed.stderr
    _assert_every_case_passed(signed, json.loads((tmp_path / "oq.json").read_text()))
    after = counts()
    assert after["complaints"] == before["complaints"] and after["users"] == before["users"]
    assert after["signatures"] == before["signatures"] + 1
    with sqlite3.connect(database) as connection:
        step, record_type = connection.execute(
            "SELECT step, record_type FROM signatures ORDER BY id DESC LIMIT 1").fetchone()
    assert (step, record_type) == ("oq_execution", "validation_report")
    content = json.loads((tmp_path / "oq.json").read_text())
    assert content["result"] == "pass" and content["deviations"] == []
    assert content["environment"]["scratch database"] == "SQLite in a scratch folder"
    text = "".join(page.extract_text() for page in PdfReader(report).pages)
    assert "运行确认" in text and "李娜 Li Na" in text and "OQ-01" in text and "OQ-" in text

    # The report is signed after the cases ran, pass or fail (a deviation is reported, signed): here every case
    # fails at once on a scratch database that cannot be reached, and only the wrong password keeps the report
    # from being written.
    refused = tmp_path / "refused.pdf"
    wrong = _gmp(tmp_path, "validate", "oq", "--scratch-database-url", "postgresql://nobody@127.0.0.1:1/nowhere",
                 "--out", str(refused), "--username", "demo.qa", "--password-stdin", env=env,
                 stdin="not-the-password\n")
    assert wrong.returncode != 0 and not refused.exists()
    assert "Invalid user name or password." in wrong.stderr, wrong.stdout + wrong.stderr

    used = _gmp(tmp_path, "validate", "oq", "--scratch-database-url", f"sqlite:///{database}",
                "--json", str(tmp_path / "used.json"), env=env)
    assert used.returncode == 1 and "OQ failed" in used.stdout
    cases = json.loads((tmp_path / "used.json").read_text())["cases"]
    assert all(c["result"] == "fail" and "not empty" in c["error"] for c in cases)
    assert counts()["complaints"] == before["complaints"] and counts()["users"] == before["users"]

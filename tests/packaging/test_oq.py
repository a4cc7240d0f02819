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


@pytest.mark.req("VAL-04")
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_oq_case_passes_on_a_scratch_instance(tmp_path, backend):
    url, admin, name = None, None, None
    if backend == "postgresql":
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"gmp_test_oq_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    try:
        result, report = _oq(tmp_path, url)
    finally:
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OQ passed" in result.stdout
    cases = report["cases"]
    assert [c["id"] for c in cases] == [f"OQ-{n:02d}" for n in range(1, len(cases) + 1)] and len(cases) >= 10
    assert all(c["result"] == "pass" and c["requirement_ids"] and c["steps"] for c in cases)


@pytest.mark.req("VAL-04")
def test_an_oq_that_cannot_set_up_its_instance_fails_every_case(tmp_path):
    result, report = _oq(tmp_path, "postgresql://nobody@127.0.0.1:1/nowhere")
    assert result.returncode == 1 and "OQ failed" in result.stdout
    assert report["cases"] and all(c["result"] == "fail" and "could not be set up" in c["error"]
                                   for c in report["cases"])

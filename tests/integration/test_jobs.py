"""Background archiving: a job is claimed once, reports progress in the database, leaves a result, and
`gmp archive create-many` follows one on the console. SQLite and PostgreSQL."""
import io
import zipfile

import pytest
from click.testing import CliRunner

from gmp_complaints.cli import main
from tests.integration.test_archive import closed_complaint  # noqa: F401 (fixture)
from tests.integration.test_complaints_api import api, settings  # noqa: F401
from tests.integration.test_signatures import _env_of


def test_an_archive_job_runs_once_with_progress_and_leaves_a_verifiable_result(app, api, closed_complaint, uow_factory):
    from gmp_complaints.archive import verify_archive
    from gmp_complaints.archive_jobs import run_archive_job
    from gmp_complaints.services import jobs

    job = jobs.queue_archives(uow_factory(), year=2026, locale="en", masked=False, actor_id=None)
    assert (job["status"], job["done"], job["total"]) == ("queued", 0, 1)
    seen = []
    finished = run_archive_job(app, job["id"], on_progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 1)] and finished["status"] == "done" and finished["percent"] == 100
    assert run_archive_job(app, job["id"]) is None  # claimed once: a second runner does nothing
    path = app.config["GMP_SETTINGS"].instance_path / "exports" / finished["result_file"]
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as bundle:
        package = bundle.read("TS-III-26-001.zip")
    assert verify_archive(package).ok
    with pytest.raises(Exception) as refused:
        jobs.queue_archives(uow_factory(), year=2019, locale="en", masked=False, actor_id=None)
    assert "2019" in str(refused.value)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_follows_the_job_with_a_progress_bar(app, closed_complaint, tmp_path):
    out = tmp_path / "many.zip"
    result = CliRunner(env=_env_of(app)).invoke(main, ["archive", "create-many", "--year", "2026", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Archiving 1 complaints" in result.output and "1 archive packages" in result.output
    assert zipfile.ZipFile(out).namelist() == ["TS-III-26-001.zip", "index.json"]
    assert "Jobs run: 0." in CliRunner(env=_env_of(app)).invoke(main, ["jobs", "run"]).output

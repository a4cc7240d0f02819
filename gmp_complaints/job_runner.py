"""Which code runs a background job of each kind (``gmp jobs run``, the pages' threads)."""
from __future__ import annotations

from gmp_complaints import unit_of_work
from gmp_complaints.archive_jobs import run_archive_job
from gmp_complaints.recall_jobs import run_notice_job
from gmp_complaints.retention_jobs import run_disposal_job
from gmp_complaints.services import jobs as service

RUNNERS = {service.ARCHIVES: run_archive_job, service.RECALL_NOTICES: run_notice_job,
           service.DISPOSALS: run_disposal_job}


def run_job(app, job_id: int, on_progress=None) -> dict | None:
    kind = service.get_job(unit_of_work(app, system_actor=f"job {job_id}"), job_id)["kind"]
    return RUNNERS[kind](app, job_id, on_progress)

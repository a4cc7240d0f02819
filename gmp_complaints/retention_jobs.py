"""Background disposal of a signed batch (issue 17; RET-02): the runner of a disposal job, shared by the pages (a
thread beside the request), the API and ``gmp jobs run``. Each complaint is disposed of in its own unit of work;
one no longer due (a hold placed since the batch was signed) is skipped and named in the job's result."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from gmp_complaints import unit_of_work
from gmp_complaints.services import jobs as service
from gmp_complaints.services.retention import dispose_from_batch


def run_disposal_job(app, job_id: int, on_progress=None) -> dict | None:
    def unit():
        return unit_of_work(app, system_actor=f"job {job_id}")

    job = service.claim(unit(), job_id)
    if job is None:
        return None
    settings = app.config["GMP_SETTINGS"]
    target = Path(settings.instance_path) / "exports" / f"job-{job_id}-disposals.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    outcome = {}
    try:
        with app.app_context():
            for done, complaint_id in enumerate(job["parameters"]["complaint_ids"], start=1):
                outcome[str(complaint_id)] = dispose_from_batch(unit(), job, complaint_id)
                service.report_progress(unit(), job_id, done)
                if on_progress:
                    on_progress(done, job["total"])
    except Exception as exc:  # the job records why it failed; what was disposed of stays disposed of
        service.finish(unit(), job_id, result_file=None, sha256=None, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    data = json.dumps({"job": job_id, "outcome": outcome}, indent=1, ensure_ascii=False).encode()
    target.write_bytes(data)
    service.finish(unit(), job_id, result_file=target.name, sha256=hashlib.sha256(data).hexdigest())
    return service.get_job(unit(), job_id)

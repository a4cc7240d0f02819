"""Background archiving: the runner of an archive job, shared by the pages (a thread beside the request),
``gmp archive create-many`` and ``gmp jobs run``. It needs the app, never a request."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from gmp_complaints import unit_of_work
from gmp_complaints.printing import build_archive
from gmp_complaints.services import jobs as service
from gmp_complaints.services.documents import record_archive


def run_archive_job(app, job_id: int, on_progress=None) -> dict | None:
    """Build every archive package of the job into one zip in the instance folder, reporting progress.
    Safe to call from any process: the job is claimed first, and a claimed job is skipped."""

    def unit():
        return unit_of_work(app, system_actor=f"job {job_id}")

    job = service.claim(unit(), job_id)
    if job is None:
        return None
    settings = app.config["GMP_SETTINGS"]
    target = Path(settings.instance_path) / "exports" / f"job-{job_id}-archives.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with app.app_context(), zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as bundle:
            for done, complaint_id in enumerate(job["parameters"]["complaint_ids"], start=1):
                # A job queued before the masked variant existed has no "masked": its packages were clear.
                data, manifest = build_archive(unit, complaint_id, locale=job["parameters"]["locale"],
                                               masked=job["parameters"].get("masked", False))
                record_archive(unit(), complaint_id=complaint_id, sha256=hashlib.sha256(data).hexdigest(),
                               manifest=manifest, actor_id=service.get_job(unit(), job_id)["created_by_id"])
                name = manifest["complaint"]["number"] or manifest["complaint"]["intake_ref"]
                bundle.writestr(f"{name}.zip", data)
                service.report_progress(unit(), job_id, done)
                if on_progress:
                    on_progress(done, job["total"])
            bundle.writestr("index.json", json.dumps({"job": job_id, **job["parameters"]}, indent=1))
    except Exception as exc:  # the job records why it failed; the runner goes on with the next one
        service.finish(unit(), job_id, result_file=None, sha256=None, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    sha256 = hashlib.sha256(target.read_bytes()).hexdigest()
    service.finish(unit(), job_id, result_file=target.name, sha256=sha256)
    return service.get_job(unit(), job_id)

"""Background recall notices: every consignee's letter, in packs of one PDF per hundred consignees, with
the job's progress bar; each notice is recorded as prepared with its pack's SHA-256. Shared by the pages
(a thread beside the request) and ``gmp jobs run``; it needs the app, never a request."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from gmp_complaints import unit_of_work
from gmp_complaints.printing import recall_notices_pdf
from gmp_complaints.services import jobs as service
from gmp_complaints.services import recalls

PACK_SIZE = 100


def run_notice_job(app, job_id: int, on_progress=None) -> dict | None:
    """Render the job's notices pack by pack into one zip in the instance folder, reporting progress.
    A job claimed by another runner is skipped."""

    def unit():
        return unit_of_work(app, system_actor=f"job {job_id}")

    job = service.claim(unit(), job_id)
    if job is None:
        return None
    parameters = job["parameters"]
    recall_id, locale, consignees = parameters["recall_id"], parameters["locale"], parameters["consignees"]
    actor_id = service.get_job(unit(), job_id)["created_by_id"]
    target = Path(app.config["GMP_SETTINGS"].instance_path) / "exports" / f"job-{job_id}-notices.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    packs = []
    try:
        with app.app_context(), zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as bundle:
            for start in range(0, len(consignees), PACK_SIZE):
                names = consignees[start:start + PACK_SIZE]
                data = recall_notices_pdf(recalls.notice_contexts(unit(), recall_id, names, sender_id=actor_id), locale)
                sha256 = hashlib.sha256(data).hexdigest()
                recalls.prepare_notices(unit(), recall_id, consignees=names, locale=locale, sha256=sha256,
                                        actor_id=actor_id)
                name = f"{parameters['number']}-notices-{start // PACK_SIZE + 1:04d}.pdf"
                bundle.writestr(name, data)
                packs.append({"file": name, "sha256": sha256, "consignees": names})
                done = min(start + PACK_SIZE, len(consignees))
                service.report_progress(unit(), job_id, done)
                if on_progress:
                    on_progress(done, job["total"])
            bundle.writestr("index.json", json.dumps({"job": job_id, "recall": parameters["number"], "packs": packs},
                                                     ensure_ascii=False, indent=1))
    except Exception as exc:  # the job records why it failed; the runner goes on with the next one
        service.finish(unit(), job_id, result_file=None, sha256=None, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    service.finish(unit(), job_id, result_file=target.name, sha256=hashlib.sha256(target.read_bytes()).hexdigest())
    return service.get_job(unit(), job_id)

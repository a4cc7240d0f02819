"""Background archiving in the pages: start it, watch its progress bar, download the result."""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from gmp_complaints.services import jobs as service
from gmp_complaints.web import uow

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def run_archive_job(app, job_id: int, on_progress=None) -> dict | None:
    """Build every archive package of the job into one zip in the instance folder, reporting progress.
    Safe to call from any process: the job is claimed first, and a claimed job is skipped."""
    import json
    import zipfile

    from gmp_complaints import unit_of_work
    from gmp_complaints.services.documents import record_archive
    from gmp_complaints.web.documents import build_archive

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
                data, manifest = build_archive(complaint_id, locale=job["parameters"]["locale"])
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


@bp.route("/archives", methods=["POST"])
def start_archives():
    from gmp_complaints.domain.errors import ConflictError, ValidationError
    from gmp_complaints.web.i18n import translate

    raw = request.form.get("year") or ""
    try:
        job = service.queue_archives(uow(), year=int(raw) if raw.isdigit() else raw,
                                     locale="en" if request.form.get("lang") == "en" else "zh_Hans_CN",
                                     actor_id=current_user.id)
    except (ValidationError, ConflictError) as exc:
        from flask import flash

        flash(translate(exc.message), "error")
        return redirect(url_for("documents.ledger_page")), 303
    app = current_app._get_current_object()
    # Runs beside the request; any other node or `gmp jobs run` could take it as well (row lock).
    threading.Thread(target=_run_quietly, args=(app, job["id"]), daemon=True).start()
    return redirect(url_for("jobs.show", job_id=job["id"]))


def _run_quietly(app, job_id: int) -> None:
    try:
        run_archive_job(app, job_id)
    except Exception:  # recorded on the job row by run_archive_job; a web thread has no one to tell
        app.logger.exception("archive job %s failed", job_id)


@bp.route("/<int:job_id>")
def show(job_id: int):
    return render_template("jobs/show.html", job=service.get_job(uow(), job_id))


@bp.route("/<int:job_id>/progress")
def progress(job_id: int):
    job = service.get_job(uow(), job_id)
    return jsonify({k: job[k] for k in ("status", "done", "total", "percent", "error")})


@bp.route("/<int:job_id>/result")
def result(job_id: int):
    from gmp_complaints.domain.errors import ConflictError, Msg

    job = service.get_job(uow(), job_id)
    if job["status"] != "done":
        raise ConflictError(Msg("The job has not finished."))
    settings = current_app.config["GMP_SETTINGS"]
    data = (Path(settings.instance_path) / "exports" / job["result_file"]).read_bytes()
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename={job['result_file']}", "X-Content-SHA256": job["result_sha256"]})

"""Background jobs in the pages: start one, watch its progress bar, download the result (the jobs themselves
are ``gmp_complaints.archive_jobs`` and ``gmp_complaints.recall_jobs``)."""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from gmp_complaints.domain.errors import Msg, PermissionDeniedError
from gmp_complaints.domain.personal_data import may_receive, may_see_personal_data
from gmp_complaints.i18n import translate
from gmp_complaints.job_runner import run_job
from gmp_complaints.services import jobs as service
from gmp_complaints.web import uow
from gmp_complaints.web.access import AUDIT_REVIEWERS, QA_HEAD, RECALL_RUNNERS
from gmp_complaints.web.bounds import number_or_text

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.route("/archives", methods=["POST"])
def start_archives():
    from gmp_complaints.domain.errors import ConflictError, ValidationError

    try:
        job = service.queue_archives(uow(), year=number_or_text(request.form.get("year")),
                                     locale="en" if request.form.get("lang") == "en" else "zh_Hans_CN",
                                     masked=not may_see_personal_data(current_user.roles), actor_id=current_user.id)
    except (ValidationError, ConflictError) as exc:
        from flask import flash

        flash(translate(exc.message), "error")
        return redirect(url_for("documents.ledger_page")), 303
    start_in_background(job["id"])
    return redirect(url_for("jobs.show", job_id=job["id"]))


@bp.route("/disposals", methods=["POST"])
def start_disposals():
    """The head of quality signs the disposal of the complaints ticked on the list due for disposal; a job with a
    progress bar disposes of them."""
    from flask import flash

    from gmp_complaints.domain.errors import DomainError
    from gmp_complaints.services import retention
    from gmp_complaints.web import client_ip

    ids = [number_or_text(v) for v in request.form.getlist("complaint_ids") if v.strip()]
    data = {"complaint_ids": ids, "reason": request.form.get("reason") or None,
            "username": request.form.get("username") or None, "password": request.form.get("password") or None}
    try:
        job = retention.queue_disposal_batch(uow(), data, actor=_actor(), source_ip=client_ip())
    except DomainError as exc:
        details = "; ".join(translate(m) for messages in getattr(exc, "fields", {}).values() for m in messages)
        flash(" ".join(filter(None, (translate(exc.message), details))), "error")
        return redirect(url_for("complaints.disposal_due")), 303
    start_in_background(job["id"])
    return redirect(url_for("jobs.show", job_id=job["id"]))


def _actor():
    from gmp_complaints.domain.roles import Actor

    return Actor(current_user.id, current_user.roles)


def start_in_background(job_id: int) -> None:
    """Run a queued job beside the request; any other node or `gmp jobs run` could take it as well."""
    threading.Thread(target=_run_quietly, args=(current_app._get_current_object(), job_id), daemon=True).start()


def _run_quietly(app, job_id: int) -> None:
    try:
        run_job(app, job_id)
    except Exception:  # recorded on the job row by its runner; a web thread has no one to tell
        app.logger.exception("background job %s failed", job_id)


#: who may watch and download a job of each kind: archives hold the complainant's data (the auditors'
#: and QA's); notices are the recall team's
WATCHERS = {service.ARCHIVES: AUDIT_REVIEWERS, service.RECALL_NOTICES: RECALL_RUNNERS, service.DISPOSALS: QA_HEAD}


def _job(job_id: int) -> dict:
    job = service.get_job(uow(), job_id)
    if not WATCHERS[job["kind"]] & set(current_user.roles):
        raise PermissionDeniedError(Msg("Your roles do not allow you to see this job."))
    return job


@bp.route("/<int:job_id>")
def show(job_id: int):
    return render_template("jobs/show.html", job=_job(job_id))


@bp.route("/<int:job_id>/progress")
def progress(job_id: int):
    job = _job(job_id)
    return jsonify({k: job[k] for k in ("status", "done", "total", "percent", "error")})


@bp.route("/<int:job_id>/result")
def result(job_id: int):
    from gmp_complaints.domain.errors import ConflictError

    job = _job(job_id)
    if job["status"] != "done":
        raise ConflictError(Msg("The job has not finished."))
    # An archive job's result is made once, as its requester may see it (a job queued before the masked variant
    # existed was made in clear).
    if job["kind"] == service.ARCHIVES and not may_receive(job["parameters"].get("masked", False), current_user.roles):
        raise PermissionDeniedError(Msg("This result holds personal data in clear, which your roles do not "
                                        "allow you to see; start an archive job of your own for a masked copy."))
    settings = current_app.config["GMP_SETTINGS"]
    data = (Path(settings.instance_path) / "exports" / job["result_file"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != job["result_sha256"]:
        raise ConflictError(Msg("The result file is no longer the one the job made (its SHA-256 differs); start the "
                                "job again."))
    service.record_result_download(uow(), job_id, sha256=job["result_sha256"], actor_id=current_user.id)
    mimetype = "application/json" if job["result_file"].endswith(".json") else "application/zip"
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={job['result_file']}", "X-Content-SHA256": job["result_sha256"]})

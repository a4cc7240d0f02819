"""Background jobs: long work (archiving many complaints) runs outside the request, reports its
progress in the database (any node can show it, any node can run it) and leaves a downloadable result.
A job is claimed under a row lock, so two runners never do the same job."""
from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa

from gmp_complaints.archive import CLEAR, MASKED
from gmp_complaints.domain.complaints import Status
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.models import Complaint, Job
from gmp_complaints.services.recalls import consignee_lines, load_recall
from gmp_complaints.uow import UnitOfWork

ARCHIVES = "archives"
RECALL_NOTICES = "recall_notices"
DISPOSALS = "disposals"


def job_view(job: Job) -> dict:
    return {"id": job.id, "kind": job.kind, "parameters": json.loads(job.parameters), "status": job.status,
            "done": job.done, "total": job.total, "result_sha256": job.result_sha256, "error": job.error,
            "percent": round(100 * job.done / job.total) if job.total else (100 if job.status == "done" else 0)}


def queue_archives(uow: UnitOfWork, *, year, locale: str, masked: bool, actor_id: int | None) -> dict:
    """Archive packages of every complaint closed among those received in ``year``; ``masked`` for a
    requester without access to personal data (SEC-11): the result then holds only masked packages."""
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2999:
        raise ValidationError(Msg("Invalid year."), {"year": [Msg("A year such as 2026.")]})
    with uow:
        ids = list(uow.session.scalars(sa.select(Complaint.id).where(
            Complaint.status == Status.closed.value,
            Complaint.received_on.between(date(year, 1, 1), date(year, 12, 31))).order_by(Complaint.id)))
        if not ids:
            raise ConflictError(Msg("No closed complaint received in %(year)s to archive.", year=year))
        job = Job(kind=ARCHIVES, parameters=json.dumps({"year": year, "locale": locale, "masked": masked,
                                                        "complaint_ids": ids}),
                  status="queued", done=0, total=len(ids), created_by_id=actor_id, created_at=uow.now())
        uow.session.add(job)
        uow.session.flush()
        uow.record(DomainEvent("job.queued", "job", str(job.id), {"kind": [None, ARCHIVES], "year": [None, year],
                                                                 "personal_data": [None, MASKED if masked else CLEAR],
                                                                 "total": [None, len(ids)]}, actor_id=actor_id))
        uow.commit()
        return job_view(job)


def queue_recall_notices(uow: UnitOfWork, recall_id: int, *, locale: str, actor_id: int | None) -> dict:
    """Every consignee's notice of a decided recall, in packs, with a progress bar (10,000 consignees take
    minutes, not a request)."""
    with uow:
        recall = load_recall(uow, recall_id, for_update=False)
        if recall.decided_at is None:
            raise ConflictError(Msg("Notices are prepared once the recall is decided."))
        consignees = sorted({line["consignee"] for line in consignee_lines(uow.session, recall)})
        if not consignees:
            raise ConflictError(Msg("No distribution records for these batches."))
        job = Job(kind=RECALL_NOTICES, parameters=json.dumps(
            {"recall_id": recall.id, "number": recall.number, "locale": locale, "consignees": consignees},
            ensure_ascii=False), status="queued", done=0, total=len(consignees), created_by_id=actor_id,
            created_at=uow.now())
        uow.session.add(job)
        uow.session.flush()
        uow.record(DomainEvent("job.queued", "job", str(job.id), {"kind": [None, RECALL_NOTICES],
                                                                 "recall_id": [None, recall.id],
                                                                 "total": [None, len(consignees)]},
                               actor_id=actor_id))
        uow.commit()
        return job_view(job)


def claim(uow: UnitOfWork, job_id: int) -> dict | None:
    """Take a queued job (row lock): the job's view, or None when another runner has it."""
    with uow:
        job = uow.session.scalars(sa.select(Job).where(Job.id == job_id).with_for_update()).one_or_none()
        if job is None or job.status != "queued":
            return None
        job.status, job.started_at = "running", uow.now()
        uow.commit()
        return job_view(job)


def next_queued(uow: UnitOfWork) -> int | None:
    with uow:
        return uow.session.scalar(sa.select(Job.id).where(Job.status == "queued").order_by(Job.id).limit(1))


def report_progress(uow: UnitOfWork, job_id: int, done: int) -> None:
    with uow:
        uow.session.get(Job, job_id).done = done
        uow.commit()


def finish(uow: UnitOfWork, job_id: int, *, result_file: str | None, sha256: str | None, error: str | None = None):
    with uow:
        job = uow.session.get(Job, job_id)
        job.status = "failed" if error else "done"
        job.result_file, job.result_sha256, job.error, job.finished_at = result_file, sha256, error, uow.now()
        uow.record(DomainEvent(f"job.{job.status}", "job", str(job.id), {"result_sha256": [None, sha256],
                                                                        "error": [None, error]},
                               actor_id=job.created_by_id))
        uow.commit()


def record_result_download(uow: UnitOfWork, job_id: int, *, sha256: str, actor_id: int | None) -> None:
    """Who took the job's result (an export of GMP data, AT-01), and the SHA-256 of the file handed out."""
    with uow:
        uow.record(DomainEvent("job.result_downloaded", "job", str(job_id), {"file_sha256": [None, sha256]},
                               actor_id=actor_id))
        uow.commit()


def get_job(uow: UnitOfWork, job_id: int) -> dict:
    with uow:
        job = uow.session.get(Job, job_id)
        if job is None:
            raise NotFoundError(Msg("No job %(id)s.", id=job_id))
        view = job_view(job)
        view["result_file"] = job.result_file
        view["created_by_id"] = job.created_by_id
        return view

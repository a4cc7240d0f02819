"""Retention to the end (issue 17; DESIGN §2 Retention, RET-02): legal holds placed and released by the head of
quality, and the signed disposal after the retention date, each a signed act with a reason.

A disposal removes the complaint's content — the description as received, the complainant, the investigation
text, the replies, responses, letters and reply reports, the stored files — and keeps a tombstone: number, intake
reference, class, dates, the SHA-256 of every item removed, who disposed of it, when and why. The audit events of
the complaint and its parts keep their place and sealed leaf hash in the log; only their bodies are removed, so
the log, its checkpoints and an export made afterwards still verify, and the export names the events disposed.
Signatures, legal holds and the records with their own retention (pharmacovigilance, recalls, returns, CAPA,
the regulator register) stay."""
from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from audit.models import AuditEvent
from gmp_complaints.attachment_store import ContentStore
from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaints import Status, check_disposal
from gmp_complaints.domain.errors import ConflictError, Msg
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.roles import Actor
from gmp_complaints.models import (
    Attachment,
    Complaint,
    Disposal,
    FollowUpCall,
    LegalHold,
    OutboxMessage,
    SentLetter,
    UserNotice,
)
from gmp_complaints.services import schemas
from gmp_complaints.services.approvals import authorize, signature_request
from gmp_complaints.services.complaint_records import answered, complaint_records, content_for_signing
from gmp_complaints.services.complaint_repository import computed_retention, load_complaint
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.matrix import SigningStep, rule_for

#: the complaint's own text (DESIGN §2: "removes content"); what identifies the record stays in the tombstone
CONTENT_FIELDS = ("description", "complainant_name", "complainant_organisation", "complainant_phone",
                  "complainant_email", "batch_unknown_reason", "acknowledgement_note", "validity_reason",
                  "class_rationale", "root_cause", "impact", "other_batches_affected", "investigation_checklist",
                  "human_error_justification", "routing_note", "spec_determination_rationale",
                  "extension_rationale")
#: content emptied rather than nulled: NOT NULL, or (human error's justification, the rationale of the decision on
#: other batches) required by a check
EMPTIED_FIELDS = ("description", "human_error_justification", "extension_rationale")
#: (collection of the complaint, audit entity, text column) of the parts whose text goes with it
CONTENT_PARTS = (("replies", "complaint_reply", "summary"), ("responses", "customer_response", "text"),
                 ("reminders", "customer_reminder", "letter_text"), ("reply_reports", "reply_report", "summary"),
                 ("not_known_items", "not_known_item", "reason"))
#: the records whose audit events lose their bodies: everything of the complaint but its signatures and holds
KEPT_RECORDS = ("signature", "legal_hold")


def _active_hold(complaint) -> LegalHold | None:
    return next((h for h in complaint.legal_holds if h.released_at is None), None)


def place_legal_hold(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor,
                     source_ip: str | None = None) -> dict:
    """``POST /complaints/<id>/legal-hold {reason, username, password}``: the head of quality holds the complaint
    (litigation, an authority's inquiry); it cannot be disposed of until the hold is released."""
    fields = schemas.load(schemas.LegalHoldPlacing, data)
    with uow:
        complaint = load_complaint(uow, complaint_id)
        if complaint.disposed_at is not None:
            raise ConflictError(Msg("The complaint is already disposed of."))
        if _active_hold(complaint) is not None:
            raise ConflictError(Msg("The complaint is already under a legal hold."))
        signer = authorize(uow, complaint, SigningStep.legal_hold, (fields["username"], fields["password"]),
                           actor=actor, source_ip=source_ip)
        hold = LegalHold(reason=fields["reason"], placed_by_id=signer.user.id, placed_at=uow.now())
        complaint.legal_holds.append(hold)
        uow.session.flush()
        uow.record(DomainEvent("legal_hold.placed", "legal_hold", str(hold.id), {"complaint_id": [None, complaint.id]},
                               reason=fields["reason"], actor_id=signer.user.id))
        _sign(uow, complaint, signer, SigningStep.legal_hold, hold, fields["reason"], source_ip)
        return answered(uow, complaint, actor.roles)


def release_legal_hold(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor,
                       source_ip: str | None = None) -> dict:
    """``POST /complaints/<id>/legal-hold/release {reason, username, password}``: the hold ends, signed, with why."""
    fields = schemas.load(schemas.LegalHoldRelease, data)
    with uow:
        complaint = load_complaint(uow, complaint_id)
        hold = _active_hold(complaint)
        if hold is None:
            raise ConflictError(Msg("The complaint is not under a legal hold."))
        signer = authorize(uow, complaint, SigningStep.legal_hold_release, (fields["username"], fields["password"]),
                           actor=actor, source_ip=source_ip)
        hold.released_by_id, hold.released_at, hold.release_reason = signer.user.id, uow.now(), fields["reason"]
        uow.record(DomainEvent("legal_hold.released", "legal_hold", str(hold.id), reason=fields["reason"],
                               actor_id=signer.user.id))
        _sign(uow, complaint, signer, SigningStep.legal_hold_release, hold, fields["reason"], source_ip)
        return answered(uow, complaint, actor.roles)


def _sign(uow: UnitOfWork, complaint, signer, step: SigningStep, hold: LegalHold, reason: str, source_ip) -> None:
    uow.session.flush()
    view = content_for_signing(uow, complaint)
    signing.sign(uow, signer, signature_request(complaint, view, step, subject=f"legal_hold:{hold.id}",
                                                comment=reason), source_ip=source_ip)


def _digest(value) -> str:
    return hashlib.sha256(str(value).encode("utf-8")).hexdigest()


def _records_to_dispose(session, complaint: Complaint) -> dict[str, list[str]]:
    records = {kind: ids for kind, ids in complaint_records(session, complaint).items() if kind not in KEPT_RECORDS}

    def ids(model, *where) -> list[str]:
        return [str(i) for i in session.scalars(sa.select(model.id).where(*where))]

    records.update({
        "sent_letter": ids(SentLetter, SentLetter.complaint_id == complaint.id),
        "follow_up_call": ids(FollowUpCall, FollowUpCall.complaint_id == complaint.id),
        "user_notice": ids(UserNotice, UserNotice.subject_type == "complaint", UserNotice.subject_id == complaint.id),
    })
    return records


def _eligible(uow: UnitOfWork, complaint: Complaint) -> None:
    # The rules as they stand now count too (RET-01 (d) switched on, say, after the date was stored): a complaint
    # is never disposed of before what they require.
    retained = max(complaint.retention_until, computed_retention(uow.session, complaint, uow.settings))
    check_disposal(status=Status(complaint.status), retention_until=retained,
                   today=business_today(uow.settings), on_hold=_active_hold(complaint) is not None,
                   disposed=complaint.disposed_at is not None)


def dispose(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor, source_ip: str | None = None) -> dict:
    """``POST /complaints/<id>/disposal {reason, username, password}``: after ``retention_until``, on a closed or
    void complaint under no hold, the head of quality disposes of it (signed). 409 otherwise, nothing changed."""
    fields = schemas.load(schemas.Disposing, data)
    reason = fields["reason"]
    with uow:
        complaint = load_complaint(uow, complaint_id)
        _eligible(uow, complaint)
        signer = authorize(uow, complaint, SigningStep.disposal, (fields["username"], fields["password"]),
                           actor=actor, source_ip=source_ip)
        files = _dispose(uow, complaint, reason, signer.user.id)
        view = content_for_signing(uow, complaint)
        signing.sign(uow, signer, signature_request(complaint, view, SigningStep.disposal, comment=reason),
                     source_ip=source_ip)
        result = answered(uow, complaint, actor.roles)
    # The stored files go once the disposal is committed (a file no other record refers to; the content store
    # is shared by hash).
    _remove_files(uow, files)
    return result


def _dispose(uow: UnitOfWork, complaint: Complaint, reason: str, signer_id: int, authorised_by: dict | None = None
             ) -> list[str]:
    """The disposal itself, in the caller's unit of work: the tombstone first, then the content and the event
    bodies go. Returns the stored files to remove once committed."""
    session = uow.session
    files: list[str] = []
    records = _records_to_dispose(session, complaint)
    # First what goes, as hashes; the disposal row is stored before any content changes (the database lets
    # the description as received change only on a complaint with a recorded disposal).
    removed: dict[str, str] = {}
    blank_complaint = [name for name in CONTENT_FIELDS if getattr(complaint, name) not in (None, "")]
    for name in blank_complaint:
        removed[f"complaint.{name}"] = _digest(getattr(complaint, name))
    blank_parts = [(entity, row, column) for collection, entity, column in CONTENT_PARTS
                   for row in getattr(complaint, collection) if getattr(row, column)]
    for entity, row, column in blank_parts:
        removed[f"{entity}.{row.id}.{column}"] = _digest(getattr(row, column))
    outbox = [row for row in session.scalars(sa.select(OutboxMessage).where(OutboxMessage.complaint_id == complaint.id))
              if row.body]
    for row in outbox:
        removed[f"outbox_message.{row.id}.body"] = _digest(row.body)
    for kind, model in (("attachment", Attachment), ("sent_letter", SentLetter)):
        for row_id, sha256 in session.execute(sa.select(model.id, model.sha256).where(
                model.complaint_id == complaint.id)):
            removed[f"{kind}.{row_id}.file"] = sha256
            files.append(sha256)
    tombstone = {"id": complaint.id, "intake_ref": complaint.intake_ref, "number": complaint.number,
                 "original_class": complaint.original_class, "complaint_class": complaint.complaint_class,
                 "status": complaint.status, "received_on": complaint.received_on.isoformat(),
                 "closed_on": complaint.closed_on.isoformat() if complaint.closed_on else None,
                 "retention_until": complaint.retention_until.isoformat(),
                 **({"authorised_by": authorised_by} if authorised_by else {})}
    conditions = [sa.and_(AuditEvent.entity_type == kind, AuditEvent.entity_id.in_(ids))
                  for kind, ids in records.items() if ids]
    indices = list(session.scalars(sa.select(AuditEvent.log_index).where(
        sa.or_(*conditions), AuditEvent.disposal_id.is_(None)).order_by(AuditEvent.log_index)))
    disposal = Disposal(complaint_id=complaint.id, reason=reason, disposed_by_id=signer_id,
                        disposed_at=uow.now(), tombstone=json.dumps(tombstone, sort_keys=True),
                        removed=json.dumps(removed, sort_keys=True), events_disposed=len(indices))
    session.add(disposal)
    session.flush()

    complaint_changes = {name: [f"sha256:{removed[f'complaint.{name}']}", "" if name in EMPTIED_FIELDS else None]
                         for name in blank_complaint}
    for name in blank_complaint:
        setattr(complaint, name, "" if name in EMPTIED_FIELDS else None)
    events: list[DomainEvent] = []
    for entity, row, column in blank_parts:
        setattr(row, column, "")
        events.append(DomainEvent(f"{entity}.disposed", entity, str(row.id),
                                  {column: [f"sha256:{removed[f'{entity}.{row.id}.{column}']}", ""]},
                                  reason=reason, actor_id=signer_id))
    for row in outbox:
        row.body, row.recipient = "", ""
        events.append(DomainEvent("outbox_message.disposed", "outbox_message", str(row.id),
                                  {"body": [f"sha256:{removed[f'outbox_message.{row.id}.body']}", ""]},
                                  reason=reason, actor_id=signer_id))
    complaint.disposed_at = uow.now()
    complaint.version += 1
    session.flush()
    # The bodies go; each event keeps its index and sealed leaf hash (the database allows exactly this, and
    # only under a recorded disposal).
    table = AuditEvent.__table__
    for start in range(0, len(indices), 500):
        session.execute(sa.update(table).where(table.c.log_index.in_(indices[start:start + 500]))
                        .values(canonical=b"", reason=None, disposal_id=disposal.id))
    uow.record(DomainEvent("complaint.disposed", "complaint", str(complaint.id), complaint_changes, reason=reason,
                           actor_id=signer_id))
    for event in events:
        uow.record(event)
    # Every other record of the complaint whose history went keeps one event: it was disposed of, and why.
    described = {("complaint", str(complaint.id))} | {(e.entity_type, e.entity_id) for e in events}
    for kind, ids in sorted(records.items()):
        for record_id in ids:
            if (kind, record_id) not in described:
                uow.record(DomainEvent("record.disposed", kind, record_id, reason=reason, actor_id=signer_id))
    uow.record(DomainEvent("disposal.recorded", "disposal", str(disposal.id),
                           {"complaint_id": [None, complaint.id], "disposed_events": [None, indices]},
                           reason=reason, actor_id=signer_id))
    session.flush()
    return files


def queue_disposal_batch(uow: UnitOfWork, data: dict, *, actor: Actor, source_ip: str | None = None) -> dict:
    """``POST /retention/disposal-batches {complaint_ids, reason, username, password}``: the head of quality signs
    one decision over a list of complaints due for disposal; a background job then disposes of them one by one
    with a progress bar. Any complaint not due (or held) refuses the whole batch (409, nothing queued)."""
    from gmp_complaints.models import Job
    from gmp_complaints.services.jobs import DISPOSALS, job_view

    fields = schemas.load(schemas.DisposalBatch, data)
    reason, ids = fields["reason"], sorted(set(fields["complaint_ids"]))
    with uow:
        session = uow.session
        complaints = session.scalars(sa.select(Complaint).where(Complaint.id.in_(ids)).order_by(Complaint.id)).all()
        refused = [f"{i}: {Msg('No such complaint.')}" for i in sorted(set(ids) - {c.id for c in complaints})]
        for complaint in complaints:
            try:
                _eligible(uow, complaint)
            except ConflictError as exc:
                refused.append(f"{complaint.number or complaint.intake_ref}: {exc.message}")
        if refused:
            raise ConflictError(Msg("Not every complaint is due for disposal; nothing was queued: %(list)s",
                                    list="; ".join(refused)))
        rule = rule_for(SigningStep.disposal_batch)
        signer = signing.authorize(uow, actor_id=actor.id, username=fields["username"], password=fields["password"],
                                   rule=rule, author_ids=frozenset(), source_ip=source_ip)
        job = Job(kind=DISPOSALS, parameters="{}", status="queued", done=0, total=len(complaints),
                  created_by_id=signer.user.id, created_at=uow.now())
        session.add(job)
        session.flush()
        listed = [{"id": c.id, "number": c.number, "intake_ref": c.intake_ref,
                   "retention_until": c.retention_until.isoformat()} for c in complaints]
        row = signing.sign(uow, signer, signing.SigningRequest(
            record_type="disposal_batch", record_id=str(job.id), record_number=f"DB-{job.id}", record_version=1,
            snapshot={"complaints": listed, "reason": reason}, rule=rule, comment=reason), source_ip=source_ip)
        job.parameters = json.dumps({"complaint_ids": [c.id for c in complaints], "reason": reason,
                                     "signer_id": signer.user.id, "signature_id": row.id}, ensure_ascii=False)
        uow.record(DomainEvent("job.queued", "job", str(job.id), {"kind": [None, DISPOSALS],
                                                                 "total": [None, len(complaints)]},
                               reason=reason, actor_id=signer.user.id))
        uow.commit()
        return job_view(job)


def dispose_from_batch(uow: UnitOfWork, job: dict, complaint_id: int) -> str:
    """One complaint of a signed batch: disposed of, or skipped when no longer due (a hold placed since).
    Returns "disposed" or the reason it was skipped."""
    parameters = job["parameters"]
    with uow:
        complaint = load_complaint(uow, complaint_id)
        try:
            _eligible(uow, complaint)
        except ConflictError as exc:
            return str(exc.message)
        files = _dispose(uow, complaint, parameters["reason"], parameters["signer_id"],
                         authorised_by={"batch_job": job["id"], "signature_id": parameters["signature_id"]})
        uow.commit()
    _remove_files(uow, files)
    return "disposed"


def _remove_files(uow: UnitOfWork, hashes: list[str]) -> None:
    """The disposed complaint's stored files that no other record holds (the store is shared by content hash: the
    same bytes may be another complaint's attachment, a CAPA's evidence or a copy sent to an authority)."""
    from gmp_complaints.models import CapaEvidence, Notification

    with uow:
        session = uow.session
        still_used = set()
        for model in (Attachment, SentLetter):
            still_used.update(session.scalars(sa.select(model.sha256).join(Complaint, Complaint.id == model.complaint_id)
                                              .where(model.sha256.in_(hashes), Complaint.disposed_at.is_(None))))
        still_used.update(session.scalars(sa.select(CapaEvidence.sha256).where(CapaEvidence.sha256.in_(hashes))))
        still_used.update(session.scalars(sa.select(Notification.copy_sha256).where(
            Notification.copy_sha256.in_(hashes))))
    store = ContentStore(uow.settings.attachment_root)
    for sha256 in set(hashes) - still_used:
        store.remove(sha256)


def disposal_due(uow: UnitOfWork) -> list[dict]:
    """Complaints past their retention date, closed or void, not disposed of: what the head of quality may
    dispose of now (those under a legal hold are listed, marked, and refused until released)."""
    with uow:
        today = business_today(uow.settings)
        held = sa.select(LegalHold.complaint_id).where(LegalHold.released_at.is_(None))
        rows = uow.session.execute(sa.select(Complaint.id, Complaint.number, Complaint.intake_ref, Complaint.status,
                                             Complaint.retention_until, Complaint.id.in_(held))
                                   .where(Complaint.status.in_([Status.closed.value, Status.void.value]),
                                          Complaint.disposed_at.is_(None), Complaint.retention_until < today)
                                   .order_by(Complaint.retention_until, Complaint.id)).all()
        return [{"id": r[0], "number": r[1], "intake_ref": r[2], "status": r[3],
                 "retention_until": r[4].isoformat(), "legal_hold": bool(r[5])} for r in rows]

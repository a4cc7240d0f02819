"""Attachments of a complaint: checked on upload, stored by content hash, never deleted (REC-03)."""
from __future__ import annotations

import sqlalchemy as sa

from gmp_complaints.attachment_store import AttachmentPolicy, AttachmentRejected, ContentStore
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.models import Attachment, Complaint
from gmp_complaints.uow import UnitOfWork


def _store(uow: UnitOfWork) -> ContentStore:
    return ContentStore(uow.settings.attachment_root)


def attachment_view(row: Attachment) -> dict:
    return {"id": row.id, "filename": row.filename, "media_type": row.media_type, "size": row.size,
            "sha256": row.sha256, "description": row.description, "uploaded_at": row.created_at.isoformat()}


def checked_media_type(uow: UnitOfWork, filename: str, data: bytes) -> str:
    """Size limit and type allow-list for every uploaded file (attachments, CAPA evidence)."""
    policy = AttachmentPolicy(max_bytes=uow.settings.attachment_max_mb * 1024 * 1024)
    try:
        return policy.check_upload(filename or "", data or b"")
    except AttachmentRejected as exc:
        raise ValidationError(Msg("The file was refused."), exc.fields) from None


def store_bytes(uow: UnitOfWork, data: bytes) -> str:
    """Put the bytes in the content-addressed store; their SHA-256. The bytes go in before the row:
    a stored file without a row is harmless, a row without its file is not."""
    return _store(uow).put(data)


def add_attachment(uow: UnitOfWork, complaint_id: int, *, filename: str, data: bytes, description: str | None,
                   actor_id: int) -> dict:
    media_type = checked_media_type(uow, filename, data)
    with uow:
        complaint = uow.session.get(Complaint, complaint_id)
        if complaint is None:
            raise NotFoundError(Msg("No complaint with id %(id)s.", id=complaint_id))
        if complaint.status in ("closed", "void"):
            # Closed means closed: a file that arrives later goes to the follow-up complaint.
            raise ConflictError(Msg("A closed or void complaint takes no more files; add it to the follow-up "
                                    "complaint."))
        sha256 = store_bytes(uow, data)
        row = Attachment(complaint_id=complaint_id, sha256=sha256, filename=filename[:255], media_type=media_type,
                         size=len(data), description=(description or "").strip() or None, uploaded_by_id=actor_id,
                         created_at=uow.now())
        uow.session.add(row)
        uow.session.flush()
        uow.record(DomainEvent("attachment.added", "attachment", str(row.id),
                               {"complaint_id": [None, complaint_id]}, actor_id=actor_id))
        uow.commit()
        return attachment_view(row)


def list_attachments(uow: UnitOfWork, complaint_id: int) -> list[dict]:
    with uow:
        rows = uow.session.scalars(sa.select(Attachment).where(Attachment.complaint_id == complaint_id)
                                   .order_by(Attachment.id)).all()
        return [attachment_view(r) for r in rows]


def read_stored(uow: UnitOfWork, sha256: str) -> bytes:
    """The stored bytes; their hash is verified on every read."""
    return _store(uow).open(sha256)


def read_attachment(uow: UnitOfWork, complaint_id: int, attachment_id: int) -> tuple[dict, bytes]:
    """The file as stored; its hash is verified on every read."""
    with uow:
        row = uow.session.get(Attachment, attachment_id)
        if row is None or row.complaint_id != complaint_id:
            raise NotFoundError(Msg("No such attachment."))
        if uow.session.get(Complaint, complaint_id).disposed_at is not None:
            raise ConflictError(Msg("The complaint was disposed of after its retention date: its files are gone; "
                                    "the tombstone keeps their SHA-256."))
        return attachment_view(row), read_stored(uow, row.sha256)

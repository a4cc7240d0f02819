"""The data behind the printed records (SOP §8): one read of the complaint or CAPA with everything a
document shows, and the audit event that records each print (an export of GMP data, AT-01)."""
from __future__ import annotations

from gmp_complaints.documents import print_time_text
from gmp_complaints.domain.errors import Msg, NotFoundError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.uow import UnitOfWork

#: the document kinds of a complaint; reply and reminder take the sequence number of the reply
COMPLAINT_DOCUMENTS = ("intake_form", "handling_sheet", "reply", "reminder", "audit_trail")


def complaint_context(uow: UnitOfWork, complaint_id: int, roles) -> dict:
    """The complaint as its documents show it: the view, who did each step and when, its CAPA
    records, the class criteria texts, its audit trail and the print time (database clock)."""
    from audit.service import events_of_records
    from gmp_complaints.domain.review import critical_fields
    from gmp_complaints.services.capa import capa_view, capas_of_complaint
    from gmp_complaints.services.complaint_records import complaint_records, complaint_view
    from gmp_complaints.services.complaint_repository import load_complaint
    from gmp_complaints.services.configuration import criteria_in_force

    site_timezone = uow.settings.site_timezone
    with uow:
        complaint = load_complaint(uow, complaint_id, for_update=False)
        view = complaint_view(uow, complaint, roles)
        events = events_of_records(uow.session, complaint_records(uow.session, complaint))
        steps = {e.action: {"actor": e.actor_name, "at": print_time_text(e.occurred_at, site_timezone)}
                 for e in events if e.entity_type == "complaint"}
        _, criteria = criteria_in_force(uow.session, complaint.received_on)
        return {
            "c": view, "steps": steps, "events": events,
            "critical": {e.index: critical_fields(e.action, e.changes) for e in events
                         if critical_fields(e.action, e.changes)},
            "capas": [capa_view(uow, k, with_signatures=False) for k in capas_of_complaint(uow.session, complaint.id)],
            "criteria": criteria, "printed_at": uow.now(), "site_timezone": site_timezone,
            "record_number": complaint.number or complaint.intake_ref, "record_version": complaint.version,
        }


def capa_context(uow: UnitOfWork, capa_id: int) -> dict:
    from gmp_complaints.services.capa import capa_view, load_capa

    with uow:
        capa = load_capa(uow, capa_id, for_update=False)
        return {"k": capa_view(uow, capa), "printed_at": uow.now(), "site_timezone": uow.settings.site_timezone,
                "record_number": capa.number, "record_version": capa.version}


def record_print(uow: UnitOfWork, *, entity_type: str, entity_id: int, document: str, locale: str, sha256: str,
                 actor_id: int | None) -> None:
    """Who printed which controlled copy, when, and the SHA-256 of the file handed out."""
    with uow:
        uow.record(DomainEvent("document.printed", entity_type, str(entity_id),
                               {"document": [None, document], "locale": [None, locale], "file_sha256": [None, sha256]},
                               actor_id=actor_id))
        uow.commit()


def letter_as_sent(uow: UnitOfWork, complaint_id: int, kind: str, sequence: int, locale: str) -> bytes | None:
    """The kept copy of a letter to the customer (its hash verified on reading), or None before the first
    print."""

    from gmp_complaints.services.attachments import read_stored

    with uow:
        row = uow.session.scalars(_letter(complaint_id, kind, sequence, locale)).one_or_none()
        return read_stored(uow, row.sha256) if row is not None else None


def _letter(complaint_id: int, kind: str, sequence: int, locale: str):
    import sqlalchemy as sa

    from gmp_complaints.models import SentLetter

    return sa.select(SentLetter).where(SentLetter.complaint_id == complaint_id, SentLetter.kind == kind,
                                       SentLetter.sequence == sequence, SentLetter.locale == locale)


def keep_letter(uow: UnitOfWork, complaint_id: int, kind: str, sequence: int, locale: str, data: bytes, *,
                actor_id: int | None) -> bytes:
    """The first print of a letter is the letter sent: its bytes kept, once (a concurrent first print
    loses to the one kept and gets that copy)."""
    import sqlalchemy as sa

    from gmp_complaints.models import SentLetter
    from gmp_complaints.services.attachments import read_stored, store_bytes

    try:
        with uow:
            sha256 = store_bytes(uow, data)
            row = SentLetter(complaint_id=complaint_id, kind=kind, sequence=sequence, locale=locale, sha256=sha256,
                             size=len(data), created_by_id=actor_id, created_at=uow.now())
            uow.session.add(row)
            uow.session.flush()
            uow.record(DomainEvent("sent_letter.kept", "sent_letter", str(row.id), {
                "complaint_id": [None, complaint_id]}, actor_id=actor_id))
            uow.commit()
            return data
    except sa.exc.IntegrityError:
        with uow:
            return read_stored(uow, uow.session.scalars(_letter(complaint_id, kind, sequence, locale)).one().sha256)


def check_document(kind: str, sequence: int | None, view: dict) -> dict:
    """The reply or reminder a letter is about; 404 when the complaint has none with that number."""
    if kind not in COMPLAINT_DOCUMENTS:
        raise NotFoundError(Msg("No such document."))
    if kind == "reply":
        reply = next((r for r in view["replies"] if r["sequence"] == (sequence or 1)), None)
        if reply is None:
            raise NotFoundError(Msg("The complaint has no reply %(n)s.", n=sequence or 1))
        return {"reply": reply}
    if kind == "reminder":
        if not view["reminders"]:
            raise NotFoundError(Msg("The complaint has no reminder."))
        index = (sequence or len(view["reminders"])) - 1
        if not 0 <= index < len(view["reminders"]):
            raise NotFoundError(Msg("The complaint has no reminder %(n)s.", n=sequence))
        return {"reminder": view["reminders"][index], "reply": view["replies"][-1]}
    return {}


def record_archive(uow: UnitOfWork, *, complaint_id: int, sha256: str, manifest: dict, actor_id: int | None) -> None:
    """Archiving is recorded: which package (its SHA-256), with which print time and audit anchor."""
    with uow:
        uow.record(DomainEvent("complaint.archived", "complaint", str(complaint_id), {
            "file_sha256": [None, sha256], "printed_at": [None, manifest["printed_at_utc"]],
            "audit_anchor_tree_size": [None, manifest["audit_anchor_tree_size"]],
            "files": [None, len(manifest["files"])], "personal_data": [None, manifest["personal_data"]]},
            actor_id=actor_id))
        uow.commit()

"""The complaint file of REC-02 (21 CFR 211.198(b)(1)): an item that is not known is marked so, with the reason,
by QA; the closure is refused while any item is neither recorded nor marked (``approvals.closure_blockers``)."""
from __future__ import annotations

from gmp_complaints.domain.complaint_file import FileItem, check_not_known_mark
from gmp_complaints.domain.complaints import Status
from gmp_complaints.domain.errors import ConflictError, Msg
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.roles import Actor
from gmp_complaints.models import Batch, NotKnownItem, Product
from gmp_complaints.services import schemas
from gmp_complaints.services.complaint_records import answered, complaint_file_facts, not_known_marks
from gmp_complaints.services.complaint_repository import load_complaint
from gmp_complaints.services.personal_data import cipher_for
from gmp_complaints.uow import UnitOfWork


def mark_not_known(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /complaints/<id>/not-known {item, reason}``: an item of the complaint file that is missing and cannot
    be known (an anonymous caller's contact, a batch nobody can name) is marked so, with the reason; audited. Only a
    missing item, once, on an open complaint (409 otherwise, nothing changes)."""
    fields = schemas.load(schemas.NotKnownMark, data)
    item, reason = FileItem(fields["item"]), fields["reason"]
    with uow:
        complaint = load_complaint(uow, complaint_id)
        if complaint.disposed_at is not None or Status(complaint.status) in (Status.closed, Status.void):
            raise ConflictError(Msg("The file of a closed or void complaint does not change."))
        session = uow.session
        cipher = cipher_for(uow.settings)
        contact = {"name": cipher.decrypt(complaint.complainant_name),
                   "phone": cipher.decrypt(complaint.complainant_phone),
                   "email": cipher.decrypt(complaint.complainant_email)}
        batch_nos = [session.get(Batch, link.batch_id).batch_no for link in complaint.batch_links]
        facts = complaint_file_facts(complaint, session.get(Product, complaint.product_id), contact, batch_nos)
        check_not_known_mark(item, facts, not_known_marks(complaint))
        # A record of its own, added to the file (like an attachment): the complaint's content version stays.
        row = NotKnownItem(item=item.value, reason=reason, marked_by_id=actor.id, marked_at=uow.now())
        complaint.not_known_items.append(row)
        session.flush()
        uow.record(DomainEvent("not_known_item.marked", "not_known_item", str(row.id), reason=reason,
                               actor_id=actor.id))
        return answered(uow, complaint, actor.roles)

"""SOP 5.4.3: stock of the complained batch and of adjacent batches is quarantined by the warehouse
until the investigation decides. The investigation asks; the warehouse (an investigator) answers."""
from __future__ import annotations

from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaints import Status, check_event_date
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.investigation import QuarantineStatus
from gmp_complaints.domain.notices import NoticeKind
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.models import QuarantineRequest
from gmp_complaints.services import inputs, schemas
from gmp_complaints.services.complaint_records import answered
from gmp_complaints.services.complaint_repository import find_batches, load_complaint
from gmp_complaints.services.notices import notify_complaint
from gmp_complaints.uow import UnitOfWork


def request_quarantine(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """One request per batch named (the complained batches or adjacent ones of the same product)."""
    fields = schemas.load(schemas.QuarantineRequest, data)
    batch_nos, reason = fields["batch_nos"], fields["reason"]
    if not batch_nos:
        inputs.raise_if_any({"batch_nos": [Msg("A list of batch numbers.")]})
    with uow:
        complaint = load_complaint(uow, complaint_id)
        if Status(complaint.status) is not Status.under_investigation:
            raise ConflictError(Msg("Stock is quarantined during the investigation."))
        batches = find_batches(uow.session, complaint.product_id, batch_nos)
        open_ids = {q.batch_id for q in complaint.quarantine_requests if q.status == QuarantineStatus.requested}
        repeated = [b.batch_no for b in batches if b.id in open_ids]
        if repeated:
            raise ValidationError(Msg("Already requested."), {"batch_nos": [Msg(
                "A request for %(batches)s is still open.", batches=", ".join(repeated))]})
        today = business_today(uow.settings)
        for batch in batches:
            row = QuarantineRequest(batch_id=batch.id, reason=reason, status=QuarantineStatus.requested.value,
                                    requested_on=today, requested_by_id=actor.id, created_at=uow.now())
            complaint.quarantine_requests.append(row)
            uow.session.flush()
            uow.record(DomainEvent("quarantine_request.created", "quarantine_request", str(row.id),
                                   {"complaint_id": [None, complaint.id]}, actor_id=actor.id))
        # WF-10: a risk-reducing action; every QP is told and acknowledges the notice.
        notify_complaint(uow, complaint, NoticeKind.quarantine_requested, (Role.qp,), actor_id=actor.id)
        return answered(uow, complaint, actor.roles)


def answer_quarantine(uow: UnitOfWork, complaint_id: int, request_id: int, data: dict, *, actor: Actor) -> dict:
    """The warehouse reports what it did: quarantined (quantity, location) or no stock left."""
    fields = schemas.load(schemas.QuarantineAnswer, data)
    status, answered_on, quantity, location = (fields["status"], fields["answered_on"], fields["quantity"],
                                               fields["location"])
    errors: dict = {}
    if status is QuarantineStatus.requested:
        errors["status"] = [Msg("Answer quarantined or no_stock.")]
    if status is QuarantineStatus.quarantined:  # where and how much, when there was stock
        errors.update({name: [Msg("This field is required.")] for name, value in (("quantity", quantity),
                                                                                  ("location", location)) if not value})
    inputs.raise_if_any(errors)
    with uow:
        complaint = load_complaint(uow, complaint_id)
        row = next((q for q in complaint.quarantine_requests if q.id == request_id), None)
        if row is None:
            raise NotFoundError(Msg("No quarantine request %(id)s on this complaint.", id=request_id))
        if row.status != QuarantineStatus.requested:
            raise ConflictError(Msg("This quarantine request is already answered."))
        check_event_date("answered_on", answered_on, today=business_today(uow.settings), not_before=row.requested_on,
                         not_before_label=Msg("the request"))
        row.status, row.answered_on, row.answered_by_id = status.value, answered_on, actor.id
        row.quantity, row.location = quantity, location
        uow.record(DomainEvent("quarantine_request.answered", "quarantine_request", str(row.id), actor_id=actor.id))
        return answered(uow, complaint, actor.roles)



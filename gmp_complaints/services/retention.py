"""Retention to the end (issue 17; DESIGN §2 Retention, RET-02): legal holds placed and released by the head of
quality, each a signed act with a reason. A complaint under a hold is not disposed of, whatever its retention
date."""
from __future__ import annotations

from gmp_complaints.domain.errors import ConflictError, Msg
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.roles import Actor
from gmp_complaints.models import LegalHold
from gmp_complaints.services import schemas
from gmp_complaints.services.approvals import authorize, signature_request
from gmp_complaints.services.complaint_records import answered, content_for_signing
from gmp_complaints.services.complaint_repository import load_complaint
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.matrix import SigningStep


def _active_hold(complaint) -> LegalHold | None:
    return next((h for h in complaint.legal_holds if h.released_at is None), None)


def place_legal_hold(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor,
                     source_ip: str | None = None) -> dict:
    """``POST /complaints/<id>/legal-hold {reason, username, password}``: the head of quality holds the complaint
    (litigation, an authority's inquiry); it cannot be disposed of until the hold is released."""
    fields = schemas.load(schemas.LegalHoldPlacing, data)
    with uow:
        complaint = load_complaint(uow, complaint_id)
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

"""Compensation (SOP 5.5.1, DESIGN §4): the terms agreed with the customer by sales and finance, and their
approval — an electronic signature of a person whose approval level covers the amount in CNY. The ladder
(the most each level approves) and who holds each level are audited configuration kept by the
administrator. Compensation is commercial: nothing of the complaint's GMP record changes with it.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa

from audit.service import actions_of_records
from gmp_complaints.clock import business_today
from gmp_complaints.domain.compensation import (
    ApprovalLevel,
    CompensationStatus,
    check_may_decide,
    check_terms,
    covers,
    required_level,
)
from gmp_complaints.domain.complaints import Status, check_event_date
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.roles import Actor
from gmp_complaints.models import Compensation, CompensationAuthority
from gmp_complaints.services import schemas
from gmp_complaints.services.compensation_records import CENT, compensation_view, load_ladder
from gmp_complaints.services.complaint_records import answered
from gmp_complaints.services.complaint_repository import load_complaint
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.matrix import SigningStep, authors_of, rule_for
from signatures.scopes import compensation_snapshot

# --- the compensation of a complaint ---------------------------------------------------------------------


def propose(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /complaints/<id>/compensations {amount, currency, amount_cny, agreed_on, finance_reference,
    note}`` → 201: the terms agreed with the customer, waiting for the approval their amount needs."""
    fields = schemas.load(schemas.CompensationTerms, data)
    terms = check_terms(fields["amount"], fields["currency"], fields["amount_cny"])
    with uow:
        session = uow.session
        complaint = load_complaint(uow, complaint_id)
        if complaint.status == Status.void.value:
            raise ConflictError(Msg("A void complaint takes no compensation."))
        check_event_date("agreed_on", fields["agreed_on"], today=business_today(uow.settings),
                         not_before=complaint.received_on, not_before_label=Msg("the receipt"))
        sequence = 1 + (session.scalar(sa.select(sa.func.max(Compensation.sequence)).where(
            Compensation.complaint_id == complaint.id)) or 0)
        row = Compensation(
            complaint_id=complaint.id, sequence=sequence, amount=terms.amount.quantize(CENT), currency=terms.currency,
            amount_cny=terms.amount_cny.quantize(CENT), agreed_on=fields["agreed_on"],
            finance_reference=fields["finance_reference"], note=fields["note"],
            required_level=required_level(terms.amount_cny, load_ladder(session)).value,
            status=CompensationStatus.awaiting_approval.value, version=1, created_by_id=actor.id, created_at=uow.now())
        session.add(row)
        session.flush()
        uow.record(DomainEvent("compensation.agreed", "compensation", str(row.id), actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


def decide(uow: UnitOfWork, complaint_id: int, sequence: int, data: dict, *, actor: Actor,
           source_ip: str | None = None) -> dict:
    """``POST /complaints/<id>/compensations/<n>/decision {decision, username, password, comment}``: approved
    or rejected by the signature of a person whose level covers the amount (403 otherwise, nothing changes);
    the person who recorded the terms does not approve them."""
    fields = schemas.load(schemas.CompensationDecision, data)
    rule = rule_for((SigningStep.compensation_approval if fields["decision"] == "approve"
                     else SigningStep.compensation_rejection).value)
    with uow:
        session = uow.session
        complaint = load_complaint(uow, complaint_id)
        row = session.scalars(sa.select(Compensation).where(
            Compensation.complaint_id == complaint.id, Compensation.sequence == sequence).with_for_update()).one_or_none()
        if row is None:
            raise NotFoundError(Msg("The complaint has no compensation %(n)s.", n=sequence))
        check_may_decide(CompensationStatus(row.status))
        signer = signing.authorize(
            uow, actor_id=actor.id, username=fields["username"], password=fields["password"], rule=rule,
            author_ids=authors_of(rule, actions_of_records(session, {"compensation": [str(row.id)]})),
            source_ip=source_ip)
        held = session.get(CompensationAuthority, signer.user.id)
        needed = ApprovalLevel(row.required_level)
        if not covers(ApprovalLevel(held.level) if held else None, needed):
            signing.refuse(uow, signer.user.id, Msg("The amount needs the approval level %(level)s, which you do not "
                                                    "hold.", level=needed.value), step=rule.step.value,
                           source_ip=source_ip)
        view = compensation_view(session, complaint, row, ZoneInfo(uow.settings.site_timezone), with_signatures=False)
        signing.sign(uow, signer, signing.SigningRequest(
            record_type="compensation", record_id=str(row.id), record_number=f"{complaint.number or complaint.intake_ref}"
            f"/C{row.sequence}", record_version=row.version, snapshot=compensation_snapshot(view, rule.scope), rule=rule,
            comment=fields["comment"]), source_ip=source_ip)
        row.status = (CompensationStatus.approved if fields["decision"] == "approve"
                      else CompensationStatus.rejected).value
        row.decided_at = uow.now()
        uow.record(DomainEvent(f"compensation.{row.status}", "compensation", str(row.id), actor_id=signer.user.id))
        return answered(uow, complaint, actor.roles)

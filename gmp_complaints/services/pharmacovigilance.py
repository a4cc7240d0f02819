"""The pharmacovigilance hand-off (SOP 5.6.2, DESIGN §4 and §6; WF-03, HO-01): a suspected adverse
reaction handed from a complaint to PV, accepted by the PV officer, and submitted from the safety
database. Each call is one unit of work that answers with the complaint (its ``adr`` section).

The hand-off owes each market's authority an expedited report (``adr_report`` entries in the
regulator-notification register, due at the end of their due day in the site's time zone); the PV
officer's submission records them as sent. A complaint does not close while a hand-off is unaccepted.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gmp_complaints.clock import business_today, end_of_day
from gmp_complaints.domain.adr import (
    ROLES_ANSWERING_PV,
    ROLES_HANDING_OFF,
    ROLES_SEEING_CASE,
    check_day0,
    group_event_clocks,
    reporting_clocks,
)
from gmp_complaints.domain.complaints import Status
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, PermissionDeniedError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.markets import split_markets
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.models import AdrCase, AdrInvestigationRequest, Attachment, Batch, Complaint, Notification, Product
from gmp_complaints.services import schemas
from gmp_complaints.services.adr_clocks import adr_clocks
from gmp_complaints.services.adr_records import case_missing, case_view, cases_of, requests_of
from gmp_complaints.services.complaint_records import answered
from gmp_complaints.services.complaint_repository import load_complaint
from gmp_complaints.services.personal_data import cipher_for
from gmp_complaints.uow import UnitOfWork

CASE_TEXTS = ("reporter", "patient", "reaction")


def hand_off(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /complaints/<id>/adr``: the first call is the initial report, every later one a follow-up
    with its own day 0 and clocks. Incomplete (a minimum element missing) is allowed and shown as such."""
    if not actor.roles & ROLES_HANDING_OFF:
        raise PermissionDeniedError(Msg("Your roles do not allow you to hand a reaction to pharmacovigilance."))
    fields = schemas.load(schemas.AdrHandOff, data)
    with uow:
        session = uow.session
        complaint = load_complaint(uow, complaint_id)
        _check_open(complaint)
        check_day0(fields["aware_on"], received_on=complaint.received_on, today=business_today(uow.settings))
        product = session.get(Product, complaint.product_id)
        group_event = bool(fields["group_event"])
        in_force = adr_clocks(session)  # HO-01: master data; the due dates below are stored with the hand-off
        clocks = reporting_clocks(day0=fields["aware_on"], seriousness=fields["seriousness"],
                                  unexpected=fields["unexpected"], markets=split_markets(product.markets),
                                  clocks=in_force)
        if group_event:
            clocks += group_event_clocks(fields["aware_on"], in_force)
        sequence = 1 + max((case.sequence for case in cases_of(session, complaint.id)), default=0)
        cipher = cipher_for(uow.settings)
        case = AdrCase(complaint_id=complaint.id, sequence=sequence, aware_on=fields["aware_on"],
                       seriousness=fields["seriousness"].value, unexpected=fields["unexpected"],
                       **{name: cipher.encrypt(fields[name]) for name in CASE_TEXTS},
                       due_on=min((clock.due_on for clock in clocks), default=None), version=1,
                       is_demo=bool(data.get("is_demo")) if isinstance(data, dict) else False,
                       group_event=group_event, created_by_id=actor.id, created_at=uow.now())
        session.add(case)
        session.flush()
        uow.record(DomainEvent("adr_case.handed_off", "adr_case", str(case.id), {
            "complaint_id": [None, complaint.id], "elements_recorded": [None, sorted(
                name for name in CASE_TEXTS if fields[name])]}, actor_id=actor.id))
        for clock in clocks:
            row = Notification(kind="adr_report", authority=clock.authority, subject_type="complaint",
                               subject_id=complaint.id, subject_number=complaint.number or complaint.intake_ref,
                               due_at=end_of_day(clock.due_on, uow.settings), adr_case_id=case.id,
                               created_at=uow.now())
            session.add(row)
            session.flush()
            uow.record(DomainEvent("notification.due", "notification", str(row.id), {
                "rule": [None, str(clock.rule)]}, actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


def complete_elements(uow: UnitOfWork, complaint_id: int, sequence: int, data: dict, *, actor: Actor) -> dict:
    """``POST /complaints/<id>/adr/<n>/elements``: a missing minimum element added; a recorded one
    corrected only with a reason (and never after the submission: that is a follow-up)."""
    if not actor.roles & ROLES_HANDING_OFF:
        raise PermissionDeniedError(Msg("Your roles do not allow you to change a hand-off to pharmacovigilance."))
    fields = schemas.load(schemas.AdrElements, data)
    given = {name: fields[name] for name in CASE_TEXTS if fields[name]}
    if not given:
        raise ValidationError(Msg("Nothing given."), {"reporter": [Msg(
            "Give the reporter, the patient or the reaction.")]})
    with uow:
        complaint = load_complaint(uow, complaint_id)
        case = _load_case(uow, complaint, sequence)
        if case.submitted_at is not None:
            raise ConflictError(Msg("This report is submitted: record new information as a follow-up."))
        cipher = cipher_for(uow.settings)
        corrected = [name for name, value in given.items()
                     if cipher.decrypt(getattr(case, name)) not in (None, "", value)]
        if corrected and not fields["reason"]:
            raise ValidationError(Msg("A reason is required."), {"reason": [Msg(
                "Give the reason for correcting a recorded element.")]})
        for name, value in given.items():
            setattr(case, name, cipher.encrypt(value))
        case.version += 1
        uow.record(DomainEvent("adr_case.corrected" if corrected else "adr_case.completed", "adr_case", str(case.id),
                               {"elements": [None, sorted(given)]}, reason=fields["reason"], actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


def accept(uow: UnitOfWork, complaint_id: int, sequence: int, *, actor: Actor) -> dict:
    """``POST /complaints/<id>/adr/<n>/acceptance``: the PV officer has the hand-off (time recorded)."""
    _check_pv(actor)
    with uow:
        complaint = load_complaint(uow, complaint_id)
        case = _load_case(uow, complaint, sequence)
        if case.accepted_at is not None:
            raise ConflictError(Msg("This hand-off is already accepted."))
        case.accepted_at, case.accepted_by_id = uow.now(), actor.id
        case.version += 1
        uow.record(DomainEvent("adr_case.accepted", "adr_case", str(case.id), actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


def record_submission(uow: UnitOfWork, complaint_id: int, sequence: int, data: dict, *, actor: Actor) -> dict:
    """``POST /complaints/<id>/adr/<n>/submission {case_number, submitted_at, reference}``: the case in the
    safety database and its expedited report submitted; the case's register entries are sent with it."""
    _check_pv(actor)
    fields = schemas.load(schemas.AdrSubmission, data)
    with uow:
        session = uow.session
        complaint = load_complaint(uow, complaint_id)
        case = _load_case(uow, complaint, sequence)
        if case.accepted_at is None:
            raise ConflictError(Msg("Accept the hand-off before recording its submission."))
        if case.submitted_at is not None:
            raise ConflictError(Msg("This report is already recorded as submitted."))
        missing = case_missing(case, cipher_for(uow.settings), session.get(Product, complaint.product_id).name)
        if missing:
            raise ConflictError(Msg("A valid case report needs all four minimum elements; missing: %(elements)s.",
                                    elements=", ".join(missing)))
        submitted_at = fields["submitted_at"]
        if submitted_at > uow.now():
            raise ValidationError(Msg("Submitted in the future."), {"submitted_at": [Msg("Not later than now.")]})
        if submitted_at < case.accepted_at.replace(second=0, microsecond=0):
            raise ValidationError(Msg("Submitted before acceptance."), {"submitted_at": [Msg(
                "Not before the hand-off was accepted.")]})
        case.case_number, case.submitted_at = fields["case_number"], submitted_at
        case.submission_reference = fields["reference"]
        case.version += 1
        uow.record(DomainEvent("adr_case.submitted", "adr_case", str(case.id), actor_id=actor.id))
        for row in session.scalars(sa.select(Notification).where(
                Notification.adr_case_id == case.id, Notification.sent_at.is_(None)).with_for_update()):
            row.sent_at, row.method, row.sent_by_id = submitted_at, "safety database", actor.id
            row.reference = (fields["reference"] or fields["case_number"])[:200]
            uow.record(DomainEvent("notification.sent", "notification", str(row.id), actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


def request_investigation(uow: UnitOfWork, complaint_id: int, sequence: int, data: dict, *, actor: Actor) -> dict:
    """``POST /complaints/<id>/adr/<n>/investigation-requests {question, batch_nos}``: PV asks for a
    batch-quality investigation from within the hand-off (HO-03). The request joins the complaint's
    investigation; its answer is fed back to PV with the case. Batches must be the product's."""
    _check_pv(actor)
    fields = schemas.load(schemas.AdrInvestigationRequestBody, data)
    with uow:
        session = uow.session
        complaint = load_complaint(uow, complaint_id)
        _check_open(complaint)
        case = _load_case(uow, complaint, sequence)
        batch_nos = sorted(set(fields["batch_nos"] or []))
        known = set(session.scalars(sa.select(Batch.batch_no).where(Batch.product_id == complaint.product_id,
                                                                     Batch.batch_no.in_(batch_nos))))
        unknown = [no for no in batch_nos if no not in known]
        if unknown:
            raise ValidationError(Msg("Unknown batch."), {"batch_nos": [Msg(
                "Not batches of this product: %(batches)s.", batches=", ".join(unknown))]})
        joined = " ".join(batch_nos)
        if len(joined) > 500:
            raise ValidationError(Msg("Too many batches."), {"batch_nos": [Msg("Ask about fewer batches at once.")]})
        number = 1 + max((r.sequence for r in requests_of(session, case.id)), default=0)
        row = AdrInvestigationRequest(adr_case_id=case.id, sequence=number, question=fields["question"],
                                      batch_nos=joined or None, requested_at=uow.now(), requested_by_id=actor.id,
                                      version=1)
        session.add(row)
        session.flush()
        uow.record(DomainEvent("adr_investigation_request.requested", "adr_investigation_request", str(row.id), {
            "adr_case_id": [None, case.id], "complaint_id": [None, complaint.id]}, actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


def answer_investigation_request(uow: UnitOfWork, complaint_id: int, sequence: int, number: int, data: dict, *,
                                 actor: Actor) -> dict:
    """``POST /complaints/<id>/adr/<n>/investigation-requests/<k>/answer {answer}``: QA (or the
    investigator) answers from the complaint's investigation; once, and the answer goes back to PV."""
    if not actor.roles & ROLES_ANSWERING_PV:
        raise PermissionDeniedError(Msg("Your roles do not allow you to answer pharmacovigilance's request."))
    fields = schemas.load(schemas.AdrInvestigationAnswer, data)
    with uow:
        complaint = load_complaint(uow, complaint_id)
        case = _load_case(uow, complaint, sequence)
        row = uow.session.scalars(sa.select(AdrInvestigationRequest).where(
            AdrInvestigationRequest.adr_case_id == case.id, AdrInvestigationRequest.sequence == number)
            .with_for_update()).one_or_none()
        if row is None:
            raise NotFoundError(Msg("This hand-off has no investigation request %(n)s.", n=number))
        if row.answered_at is not None:
            raise ConflictError(Msg("This request is already answered."))
        if row.requested_by_id == actor.id:
            raise PermissionDeniedError(Msg("The person who asked cannot answer the request."))
        row.answer, row.answered_at, row.answered_by_id = fields["answer"], uow.now(), actor.id
        row.version += 1
        uow.record(DomainEvent("adr_investigation_request.answered", "adr_investigation_request", str(row.id),
                               actor_id=actor.id))
        return answered(uow, complaint, actor.roles)


def packet(uow: UnitOfWork, complaint_id: int, sequence: int, *, roles) -> dict:
    """What PV receives (HO-01): the case as recorded, the complaint, the product and its batches, the
    attachments by SHA-256, and the reports the case owes; health data in clear, so only for the roles
    that work the case."""
    if not set(roles) & ROLES_SEEING_CASE:
        raise PermissionDeniedError(Msg("Your roles do not allow you to read the case in clear."))
    with uow:
        session = uow.session
        complaint = load_complaint(uow, complaint_id, for_update=False)
        case = _load_case(uow, complaint, sequence, for_update=False)
        product = session.get(Product, complaint.product_id)
        tz = ZoneInfo(uow.settings.site_timezone)
        batches = sorted((session.get(Batch, link.batch_id) for link in complaint.batch_links), key=lambda b: b.batch_no)
        return {
            "packet_version": 1,
            "generated_at": uow.now().astimezone(tz).isoformat(timespec="seconds"),
            "site_timezone": uow.settings.site_timezone,
            "case": case_view(session, case, cipher_for(uow.settings), roles, tz, product.name, product.id),
            "complaint": {"id": complaint.id, "number": complaint.number, "intake_ref": complaint.intake_ref,
                          "received_on": complaint.received_on.isoformat(), "channel": complaint.channel,
                          "complaint_type": complaint.complaint_type, "description": complaint.description,
                          "complaint_class": complaint.complaint_class, "status": complaint.status},
            "product": {"code": product.code, "name": product.name, "strength": product.strength,
                        "dosage_form": product.dosage_form, "markets": list(split_markets(product.markets)),
                        "marketing_authorisation_holder": product.marketing_authorisation_holder},
            "batches": [{"batch_no": b.batch_no, "manufactured_on": b.manufactured_on.isoformat(),
                         "expires_on": b.expires_on.isoformat() if b.expires_on else None} for b in batches],
            "attachments": [{"filename": a.filename, "media_type": a.media_type, "size": a.size, "sha256": a.sha256}
                            for a in session.scalars(sa.select(Attachment).where(
                                Attachment.complaint_id == complaint.id).order_by(Attachment.id))],
        }


def record_packet_export(uow: UnitOfWork, complaint_id: int, sequence: int, *, document: str, sha256: str,
                         actor_id: int) -> None:
    """Who took the hand-off packet, when, in which form, and the SHA-256 of what was handed out."""
    with uow:
        complaint = load_complaint(uow, complaint_id, for_update=False)
        case = _load_case(uow, complaint, sequence, for_update=False)
        uow.record(DomainEvent("adr_case.packet_exported", "adr_case", str(case.id), {
            "document": [None, document], "file_sha256": [None, sha256]}, actor_id=actor_id))
        uow.commit()


def _check_open(complaint: Complaint) -> None:
    if complaint.status in (Status.closed.value, Status.void.value):
        raise ConflictError(Msg("A closed or void complaint takes no hand-off; record it on its follow-up complaint."))


def _check_pv(actor: Actor) -> None:
    if Role.pv_officer not in actor.roles:
        raise PermissionDeniedError(Msg("Only the pharmacovigilance officer accepts and submits ADR cases."))


def _load_case(uow: UnitOfWork, complaint: Complaint, sequence: int, *, for_update: bool = True) -> AdrCase:
    query = sa.select(AdrCase).where(AdrCase.complaint_id == complaint.id, AdrCase.sequence == sequence)
    case = uow.session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if case is None:
        raise NotFoundError(Msg("The complaint has no ADR hand-off %(n)s.", n=sequence))
    return case


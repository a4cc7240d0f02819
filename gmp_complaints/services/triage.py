"""Triage at the validity step (SOP 5.3): the answers of REC-09 and where a complaint that is not a quality defect
goes, the notices a suspected falsification or a possible failure to meet specification sends, and the head of
quality's signed determination whether a 21 CFR 211.192 investigation is required (WF-02).

``record_triage`` runs inside the validity step's unit of work; ``determine_spec_failure`` is a use case of its own:
one unit of work, the signature in it, one commit."""
from __future__ import annotations

from dataclasses import dataclass

from gmp_complaints.domain.complaints import Step, next_status
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.notices import NoticeKind
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.domain.triage import DEFAULT_ANSWER, Answer, RoutedTo, check_routing, falsification_alert
from gmp_complaints.models import Complaint
from gmp_complaints.services import schemas
from gmp_complaints.services.approvals import authorize, signature_request
from gmp_complaints.services.complaint_records import answered, complaint_facts, content_for_signing, move
from gmp_complaints.services.complaint_repository import load_complaint
from gmp_complaints.services.notices import notify_complaint
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.matrix import SigningStep


@dataclass(frozen=True)
class TriageAnswers:
    quality_defect_suspected: Answer
    falsification_suspected: Answer
    routed_to: RoutedTo | None
    routing_note: str | None
    spec_failure_suspected: bool


def triage_answers(fields: dict) -> TriageAnswers:
    """The triage of a loaded validity body, checked (a question left out through the API is unknown).

    :raise ValidationError: not a quality defect and not routed (``routed_to``), or routed to "other" without a note.
    """
    answers = TriageAnswers(
        quality_defect_suspected=Answer(fields.get("quality_defect_suspected") or DEFAULT_ANSWER),
        falsification_suspected=Answer(fields.get("falsification_suspected") or DEFAULT_ANSWER),
        routed_to=RoutedTo(fields["routed_to"]) if fields.get("routed_to") else None,
        routing_note=fields.get("routing_note"), spec_failure_suspected=bool(fields.get("spec_failure_suspected")))
    check_routing(answers.quality_defect_suspected, answers.routed_to, answers.routing_note)
    return answers


def record_triage(uow: UnitOfWork, complaint: Complaint, answers: TriageAnswers, *, actor_id: int) -> None:
    """Store the answers on the complaint (the validity step's event carries them), record the routing as an act
    of its own, and tell who must know: a suspected falsification the QP and the head of quality at once, a
    possible failure to meet specification the head of quality, who determines it."""
    complaint.quality_defect_suspected = answers.quality_defect_suspected.value
    complaint.falsification_suspected = answers.falsification_suspected.value
    complaint.routed_to = answers.routed_to.value if answers.routed_to else None
    complaint.routing_note = answers.routing_note
    complaint.spec_failure_suspected = answers.spec_failure_suspected
    if answers.routed_to is not None:
        uow.record(DomainEvent("complaint.routed", "complaint", str(complaint.id),
                               {"routed_to": [None, answers.routed_to.value],
                                "routing_note": [None, answers.routing_note]}, actor_id=actor_id))
    if falsification_alert(answers.falsification_suspected):
        notify_complaint(uow, complaint, NoticeKind.falsification_suspected, (Role.qp, Role.qa_head),
                         actor_id=actor_id)
    if answers.spec_failure_suspected:
        notify_complaint(uow, complaint, NoticeKind.spec_failure_determination_due, (Role.qa_head,),
                         actor_id=actor_id)


def determine_spec_failure(uow: UnitOfWork, complaint_id: int, data: dict, *, actor: Actor,
                           source_ip: str | None = None) -> dict:
    """``POST /complaints/<id>/spec-failure-determination {investigation_required, rationale, username, password}``
    (WF-02): the head of quality determines whether a 21 CFR 211.192 investigation is required and signs it in the
    same step, never the person who flagged it. Determined, the complaint may leave triage (found not
    substantiated, it takes that path now). Every refusal changes nothing."""
    fields = schemas.load(schemas.SpecFailureDetermination, data)
    credentials = fields["username"], fields["password"]
    with uow:
        complaint = load_complaint(uow, complaint_id)
        # 409 before the credentials are even asked: nothing flagged, already determined, or closed.
        next_status(complaint_facts(uow, complaint), Step.spec_failure_determination)
        signer = authorize(uow, complaint, SigningStep.spec_failure_determination, credentials, actor=actor,
                           source_ip=source_ip)
        move(uow, complaint, Step.spec_failure_determination, signer.user.id)
        complaint.spec_investigation_required = fields["investigation_required"]
        complaint.spec_determination_rationale = fields["rationale"]
        complaint.spec_determined_by_id, complaint.spec_determined_at = signer.user.id, uow.now()
        uow.session.flush()
        # The determination is recorded before the signature, so that the signature covers it.
        view = content_for_signing(uow, complaint)
        signing.sign(uow, signer, signature_request(complaint, view, SigningStep.spec_failure_determination,
                                                    comment=fields["rationale"]), source_ip=source_ip)
        return answered(uow, complaint, actor.roles)

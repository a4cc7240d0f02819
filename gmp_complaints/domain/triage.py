"""Triage at the validity step (SOP 5.3) as plain rules: the two questions every complaint answers (REC-09),
where a complaint that is not a quality defect goes, and the hold of a possible failure to meet specification
until the head of quality has determined whether a 21 CFR 211.192 investigation is required (WF-02).

No Flask, no SQLAlchemy: the services ask these functions and store what they answer.
"""
from __future__ import annotations

from enum import StrEnum

from gmp_complaints.domain.errors import ConflictError, Msg, ValidationError


class Answer(StrEnum):
    """A triage answer: a question nobody can answer yet is recorded as such, never left blank."""

    yes = "yes"
    no = "no"
    unknown = "unknown"


class RoutedTo(StrEnum):
    """Who takes a complaint that is not a quality defect (EU GMP 8.6, 8.7)."""

    pharmacovigilance = "pharmacovigilance"
    sales = "sales"
    customer_service = "customer_service"
    medical_information = "medical_information"
    other = "other"


#: what the API records when a client leaves a triage question out (the pages always ask)
DEFAULT_ANSWER = Answer.unknown

ANSWER_LABELS = {Answer.yes: Msg("yes"), Answer.no: Msg("no"), Answer.unknown: Msg("unknown")}
ROUTING_LABELS = {
    RoutedTo.pharmacovigilance: Msg("Pharmacovigilance"),
    RoutedTo.sales: Msg("Sales"),
    RoutedTo.customer_service: Msg("Customer service"),
    RoutedTo.medical_information: Msg("Medical information"),
    RoutedTo.other: Msg("Other group"),
}

#: why classification and the not-substantiated path wait (WF-02)
SPEC_FAILURE_HOLD = Msg("A possible failure to meet specification is flagged: the complaint stays in triage until "
                        "the head of quality records the signed determination whether a 21 CFR 211.192 "
                        "investigation is required.")


def check_routing(quality_defect_suspected: Answer, routed_to: RoutedTo | None, routing_note: str | None) -> None:
    """REC-09: a complaint that is not a quality defect is routed to the group responsible for it (an adverse
    event to pharmacovigilance, supply to sales, service to customer service ...); "other" says which group.

    :raise ValidationError: ``no`` without ``routed_to``, or ``other`` without a note naming the group.
    """
    if quality_defect_suspected is Answer.no and routed_to is None:
        raise ValidationError(Msg("Routing missing."), {"routed_to": [Msg(
            "Not a quality defect: say which group takes the complaint (pharmacovigilance, sales, customer service, "
            "medical information or another group).")]})
    if routed_to is RoutedTo.other and not routing_note:
        raise ValidationError(Msg("Routing note missing."), {"routing_note": [Msg(
            "Name the group that takes the complaint.")]})


def falsification_alert(falsification_suspected: Answer | str | None) -> bool:
    """A suspected falsified (counterfeit) medicine is told to the QP and the head of quality at once."""
    return falsification_suspected == Answer.yes


def spec_failure_pending(*, suspected: bool | None, determined: bool) -> bool:
    """WF-02: flagged, and the head of quality's signed determination not yet recorded."""
    return bool(suspected) and not determined


def check_determination_due(*, suspected: bool | None, determined: bool) -> None:
    """The determination is recorded once, and only where a possible failure to meet specification is flagged.

    :raise ConflictError: nothing flagged, or already determined (409, nothing changes).
    """
    if not suspected:
        raise ConflictError(Msg("No possible failure to meet specification is flagged on this complaint: there is "
                                "nothing to determine."))
    if determined:
        raise ConflictError(Msg("The determination is already recorded and signed."))

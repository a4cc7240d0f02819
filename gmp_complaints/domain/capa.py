"""CAPA (SOP 5.7, DESIGN §4, ICH Q10 3.2.2): corrective and preventive actions as plain rules.

open → actions_in_progress (first action planned) → implemented (every action's implementation
approved) → effectiveness_check (result recorded and signed) → closed. Instead of the check, the head of
quality may sign why none is needed (the waiver): the CAPA then closes from implemented. A result "not
effective" needs a follow-up CAPA (one that names this CAPA as its source) or the head of quality's signed
escalation before the closure.

A CAPA comes from complaints (linked many-to-many) or from other quality processes (ICH Q10 3.2.2): each
such source is a type and a reference ("DEV-2026-031"); a recall and a CAPA are records of this system and
are named by their numbers. The plan (ICH Q10 3.2.2, approved by the head of quality) answers whether the
CAPA changes a process, a specification or software, with the change-control reference where it does, and
plans the effectiveness check (criteria and date).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from gmp_complaints.domain.errors import ConflictError, Msg, ValidationError, joined
from gmp_complaints.domain.roles import Role


class CapaStatus(StrEnum):
    open = "open"
    actions_in_progress = "actions_in_progress"
    implemented = "implemented"
    effectiveness_check = "effectiveness_check"
    closed = "closed"


class CapaSource(StrEnum):
    """Where a CAPA comes from (ICH Q10 3.2.2; EU GMP 8.18): complaints, the other quality processes, or a
    CAPA found not effective (its follow-up)."""

    complaint = "complaint"
    product_rejection = "product_rejection"
    non_conformance = "non_conformance"
    recall = "recall"
    deviation = "deviation"
    audit = "audit"
    inspection = "inspection"
    trend = "trend"
    capa = "capa"


#: sources named by a record of this system (its number), not by a free reference
IN_SYSTEM_SOURCES = frozenset({CapaSource.recall, CapaSource.capa})


class ActionKind(StrEnum):
    corrective = "corrective"
    preventive = "preventive"


class ActionStatus(StrEnum):
    open = "open"
    implemented = "implemented"  # the owner recorded the implementation and its evidence
    verified = "verified"        # the QA head approved the implementation (signed)


class Effectiveness(StrEnum):
    effective = "effective"
    not_effective = "not_effective"


STATUS_LABELS = {
    CapaStatus.open: Msg("Open"), CapaStatus.actions_in_progress: Msg("Actions in progress"),
    CapaStatus.implemented: Msg("Implemented"), CapaStatus.effectiveness_check: Msg("Effectiveness checked"),
    CapaStatus.closed: Msg("Closed"),
}
ACTION_KIND_LABELS = {ActionKind.corrective: Msg("Corrective"), ActionKind.preventive: Msg("Preventive")}
ACTION_STATUS_LABELS = {ActionStatus.open: Msg("Open"), ActionStatus.implemented: Msg("Implementation recorded"),
                        ActionStatus.verified: Msg("Implementation approved")}
EFFECTIVENESS_LABELS = {Effectiveness.effective: Msg("Effective"), Effectiveness.not_effective: Msg("Not effective")}
SOURCE_LABELS = {CapaSource.complaint: Msg("Complaint"), CapaSource.product_rejection: Msg("Product rejection"),
                 CapaSource.non_conformance: Msg("Non-conformance"), CapaSource.recall: Msg("Recall"),
                 CapaSource.deviation: Msg("Deviation"), CapaSource.audit: Msg("Audit"),
                 CapaSource.inspection: Msg("Inspection"), CapaSource.trend: Msg("Trend"),
                 CapaSource.capa: Msg("CAPA found not effective")}

#: who may own an action: the departments and QA; never sales (EU GMP 8.1 spirit, DESIGN §1)
ACTION_OWNER_ROLES = frozenset({Role.investigator, Role.qa_officer, Role.qa_head})
#: a CAPA at least this far lets its complaints close (DESIGN §4)
IMPLEMENTED_OR_LATER = frozenset({CapaStatus.implemented, CapaStatus.effectiveness_check, CapaStatus.closed})


def capa_number(year: int, serial: int) -> str:
    """``CAPA-<yy>-<nnn>``: the same gapless serial mechanism as the TS numbers."""
    return f"CAPA-{year % 100:02d}-{serial:03d}"


def check_owner(roles) -> None:
    if not set(roles) & ACTION_OWNER_ROLES:
        raise ValidationError(Msg("Owner not allowed."), {"owner": [Msg(
            "An action owner must be an investigator, a QA officer or the head of quality; sales staff cannot own "
            "actions.")]})


def check_due_date(field: str, due_on: date, today: date) -> None:
    if due_on < today:
        raise ValidationError(Msg("Due date in the past."), {field: [Msg("The due date cannot be in the past.")]})


def check_source_reference(source: CapaSource, reference: str | None, field: str = "source_reference") -> None:
    """A complaint is linked by its id; every other source is named by its reference."""
    if source is CapaSource.complaint and reference:
        raise ValidationError(Msg("A reference of a complaint source."), {field: [Msg(
            "Complaints are linked by their ids (complaint_ids), not by a reference.")]})
    if source is not CapaSource.complaint and not reference:
        raise ValidationError(Msg("Source reference missing."), {field: [Msg(
            "Give the reference of the source (e.g. DEV-2026-031, or the number of the recall or CAPA).")]})


def check_change_control(required: bool | None, reference: str | None) -> None:
    """A change-control reference belongs to a CAPA that changes a process, a specification or software."""
    if reference and required is not True:
        raise ValidationError(Msg("Change-control reference without a change."), {"change_control_ref": [Msg(
            "A change-control reference is recorded only when the CAPA changes a process, a specification or "
            "software (answer yes).")]})


def plan_gaps(change_control_required: bool | None, change_control_ref: str | None, criteria: str | None,
              effectiveness_due_on) -> list[Msg]:
    """What the plan still lacks before the head of quality can approve it (ICH Q10 3.2.2, EU GMP 8.18)."""
    gaps = []
    if change_control_required is None:
        gaps.append(Msg("Answer whether the CAPA changes a process, a specification or software."))
    elif change_control_required and not change_control_ref:
        gaps.append(Msg("The CAPA changes a process, a specification or software: give its change-control "
                        "reference."))
    if not criteria or effectiveness_due_on is None:
        gaps.append(Msg("Plan the effectiveness check: its criteria and date."))
    return gaps


def check_plan_complete(*args) -> None:
    gaps = plan_gaps(*args)
    if gaps:
        raise ConflictError(joined([Msg("The plan is not complete."), *gaps]))


@dataclass(frozen=True)
class CapaFacts:
    status: CapaStatus
    action_statuses: tuple[ActionStatus, ...]
    effectiveness: Effectiveness | None
    has_follow_up: bool
    #: the head of quality signed that no effectiveness check is needed
    waived: bool = False
    #: the head of quality signed the escalation of a result "not effective"
    escalated: bool = False


def refuse(status: CapaStatus) -> ConflictError:
    return ConflictError(Msg("Not allowed while the CAPA is %(status)s.", status=STATUS_LABELS[status]))


def status_after_adding_action(facts: CapaFacts) -> CapaStatus:
    if facts.status not in (CapaStatus.open, CapaStatus.actions_in_progress):
        raise refuse(facts.status)
    return CapaStatus.actions_in_progress


def status_after_verification(facts: CapaFacts) -> CapaStatus:
    """Once every action's implementation is approved, the CAPA is implemented."""
    if facts.action_statuses and all(s is ActionStatus.verified for s in facts.action_statuses):
        return CapaStatus.implemented
    return facts.status


def check_effectiveness_due(facts: CapaFacts) -> CapaStatus:
    if facts.waived:
        raise ConflictError(Msg("The head of quality signed that no effectiveness check is needed."))
    if facts.status is not CapaStatus.implemented:
        raise ConflictError(Msg("The effectiveness check follows the implementation of every action."))
    return CapaStatus.effectiveness_check


def check_effectiveness_timing(due_on, today, early_reason: str | None) -> None:
    """An effectiveness check judges the CAPA over time: not before its due date, unless the QA head signs
    why it can be judged now (the reason is part of what the signature covers)."""
    if today < due_on and not (early_reason or "").strip():
        raise ValidationError(Msg("Effectiveness check before its due date."), {"early_reason": [Msg(
            "The effectiveness check is due on %(date)s: before then, give the reason it can be judged now.",
            date=due_on.isoformat())]})


def check_waiver(facts: CapaFacts) -> None:
    """The justification that no effectiveness check is needed: once, in place of the check, when every
    action's implementation is approved (what was done is then known and fixed)."""
    if facts.waived:
        raise ConflictError(Msg("The head of quality already signed that no effectiveness check is needed."))
    if facts.effectiveness is not None:
        raise ConflictError(Msg("The effectiveness check is already recorded."))
    if facts.status is not CapaStatus.implemented:
        raise ConflictError(Msg("Whether an effectiveness check is needed is decided once every action's "
                                "implementation is approved."))


def check_escalation(facts: CapaFacts) -> None:
    """A result "not effective" is escalated once, instead of (or besides) a follow-up CAPA."""
    if facts.status is CapaStatus.closed:
        raise refuse(facts.status)
    if facts.effectiveness is not Effectiveness.not_effective:
        raise ConflictError(Msg("Only a CAPA found not effective is escalated."))
    if facts.escalated:
        raise ConflictError(Msg("The result is already escalated."))


def check_follow_up_parent(facts: CapaFacts) -> None:
    """A follow-up CAPA answers a CAPA found not effective that is still open."""
    if facts.effectiveness is not Effectiveness.not_effective:
        raise ConflictError(Msg("A follow-up CAPA is opened for a CAPA found not effective."))
    if facts.status is CapaStatus.closed:
        raise refuse(facts.status)


def check_closure(facts: CapaFacts) -> CapaStatus:
    """Every action implemented, and the effectiveness check recorded (or waived by a signed justification);
    a result "not effective" closes only with its follow-up CAPA or a signed escalation (EU GMP 8.18)."""
    if facts.status is CapaStatus.closed:
        raise refuse(facts.status)
    if any(s is not ActionStatus.verified for s in facts.action_statuses):
        raise ConflictError(Msg("Actions are still open: a CAPA closes only when every action is implemented."))
    if facts.waived and facts.status is CapaStatus.implemented:
        return CapaStatus.closed
    if facts.status is not CapaStatus.effectiveness_check or facts.effectiveness is None:
        raise ConflictError(Msg("The effectiveness check must be recorded before the closure, or the head of "
                                "quality signs why none is needed."))
    if facts.effectiveness is Effectiveness.not_effective and not (facts.has_follow_up or facts.escalated):
        raise ConflictError(Msg("Not effective: link the follow-up CAPA, or the head of quality escalates the "
                                "result, before closing this one."))
    return CapaStatus.closed

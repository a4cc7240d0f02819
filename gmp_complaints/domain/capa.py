"""CAPA (SOP 5.7, DESIGN §4, ICH Q10 3.2.2): corrective and preventive actions as plain rules.

open → actions_in_progress (first action planned) → implemented (every action's implementation
approved) → effectiveness_check (result recorded and signed) → closed. A result "not effective" needs a
follow-up CAPA before the closure.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from gmp_complaints.domain.errors import ConflictError, Msg, ValidationError
from gmp_complaints.domain.roles import Role


class CapaStatus(StrEnum):
    open = "open"
    actions_in_progress = "actions_in_progress"
    implemented = "implemented"
    effectiveness_check = "effectiveness_check"
    closed = "closed"


class CapaSource(StrEnum):
    """Where a CAPA comes from; complaints today, the other quality processes later."""

    complaint = "complaint"
    deviation = "deviation"
    audit = "audit"
    trend = "trend"
    recall = "recall"


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
SOURCE_LABELS = {CapaSource.complaint: Msg("Complaint"), CapaSource.deviation: Msg("Deviation"),
                 CapaSource.audit: Msg("Audit"), CapaSource.trend: Msg("Trend"), CapaSource.recall: Msg("Recall")}

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


@dataclass(frozen=True)
class CapaFacts:
    status: CapaStatus
    action_statuses: tuple[ActionStatus, ...]
    effectiveness: Effectiveness | None
    has_follow_up: bool


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


def check_closure(facts: CapaFacts) -> CapaStatus:
    if facts.status is CapaStatus.closed:
        raise refuse(facts.status)
    if any(s is not ActionStatus.verified for s in facts.action_statuses):
        raise ConflictError(Msg("Actions are still open: a CAPA closes only when every action is implemented."))
    if facts.status is not CapaStatus.effectiveness_check or facts.effectiveness is None:
        raise ConflictError(Msg("The effectiveness check must be recorded before the closure."))
    if facts.effectiveness is Effectiveness.not_effective and not facts.has_follow_up:
        raise ConflictError(Msg("Not effective: open the follow-up CAPA before closing this one."))
    return CapaStatus.closed

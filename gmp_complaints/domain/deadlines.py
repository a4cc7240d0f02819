"""The dates a complaint is measured against (SOP §6 time limits, SOP 5.8 reminder and closure), as dates,
from plain facts: no database, no Flask. The view turns them into text at the very end.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date

from gmp_complaints.domain.calendar import KeptDate, Term, due_date
from gmp_complaints.domain.complaints import ComplaintClass, Status

#: each working-day due date of a complaint (its kind, as ``open_time_limits`` names it) and its field
DUE_FIELDS = {"initial_feedback": "initial_feedback_due_on", "classification": "classification_due_on",
              "investigation": "investigation_due_on", "formal_reply": "formal_reply_due_on",
              "reminder": "reminder_due_on", "close_eligible": "close_eligible_on"}


@dataclass(frozen=True)
class DeadlineFacts:
    """What the deadlines of one complaint depend on."""

    status: Status
    complaint_class: ComplaintClass | None
    received_on: date
    substantiated: bool | None
    acknowledged: bool
    classified: bool
    #: approved extensions in the order they were approved: (time limit, new due date)
    approved_extensions: tuple[tuple[str, date], ...] = ()
    last_reply_on: date | None = None
    #: when the customer was reminded of the last reply, if they were
    last_reply_reminded_on: date | None = None
    customer_due_on: date | None = None
    #: WF-09: when the class I interim risk decision is due (fixed when the complaint became class I), and
    #: whether its signatures are complete
    interim_decision_due_on: date | None = None
    interim_decided: bool = False


@dataclass(frozen=True)
class Deadlines:
    initial_feedback_due_on: date
    classification_due_on: date
    investigation_due_on: date
    formal_reply_due_on: date
    reminder_due_on: date | None
    close_eligible_on: date | None
    customer_due_on: date | None
    #: a date falls in a year whose calendar is not yet official
    provisional: bool
    #: WF-09: the class I interim risk decision (signed by the head of quality and the QP) is due by the end of it
    interim_decision_due_on: date | None = None

    def as_view(self) -> dict:
        """The DESIGN §6 ``deadlines`` object: dates as YYYY-MM-DD."""
        return {f.name: (value.isoformat() if isinstance(value, date) else value)
                for f in fields(self) for value in [getattr(self, f.name)]}


def complaint_terms(facts: DeadlineFacts, config) -> dict[str, Term]:
    """What each working-day due date of the complaint counts from (site calendar): the four time limits
    from the received date (per class; not yet graded counts as the strictest, class I), and SOP 5.8's
    reminder after the formal reply of a substantiated complaint (a reply that explains why a complaint is
    not substantiated goes straight to closure) and the closure after that reminder."""
    limits = config.per_class[facts.complaint_class or ComplaintClass.I]
    terms = {"initial_feedback": Term(facts.received_on, limits.initial_feedback),
             "classification": Term(facts.received_on, limits.classification),
             "investigation": Term(facts.received_on, limits.investigation_report),
             "formal_reply": Term(facts.received_on, limits.formal_reply)}
    if facts.last_reply_on is not None and facts.substantiated is not False:
        terms["reminder"] = Term(facts.last_reply_on, config.reminder_after_reply)
        if facts.last_reply_reminded_on is not None:
            terms["close_eligible"] = Term(facts.last_reply_reminded_on, config.closure_after_reminder)
    return terms


def deadlines_for(facts: DeadlineFacts, calendar, config, kept: dict[str, KeptDate] | None = None) -> Deadlines:
    """All the dates, in working days of the site calendar; an approved extension replaces the limit it
    extends. A date kept for its term (``kept``, WF-05) stays as it was calculated, whatever the calendar
    says now, until it is explicitly recalculated."""
    kept = kept or {}
    dates = {kind: due_date(term, kept.get(kind), calendar) for kind, term in complaint_terms(facts, config).items()}
    values = {DUE_FIELDS[kind]: dates[kind].due_on if kind in dates else None for kind in DUE_FIELDS}
    result = Deadlines(**values, customer_due_on=facts.customer_due_on,
                       provisional=any(d.provisional for d in dates.values()),
                       interim_decision_due_on=facts.interim_decision_due_on)
    for kind, new_due_on in facts.approved_extensions:
        result = replace(result, **{f"{kind}_due_on": new_due_on})
    return result


def interim_decision_due_on(became_class_i_on: date, calendar, working_days: int) -> date:
    """WF-09: the signed interim risk decision is due the configured number of working days (site calendar)
    after the day the complaint was classified, or regraded, class I; fixed then (stored on the complaint),
    never moved by a later change of the configuration or the calendar."""
    return calendar.add_working_days(became_class_i_on, working_days)


def open_time_limits(facts: DeadlineFacts, deadlines: Deadlines) -> list[tuple[str, date]]:
    """The time limits the complaint still has to meet: (kind, due date)."""
    status = facts.status
    if status in (Status.closed, Status.void, Status.closure_pending):
        return []
    items: list[tuple[str, date | None]] = []
    if not facts.acknowledged:
        items.append(("initial_feedback", deadlines.initial_feedback_due_on))
    if not facts.classified and facts.substantiated is not False:
        items.append(("classification", deadlines.classification_due_on))
    if status is Status.under_investigation:
        items.append(("investigation", deadlines.investigation_due_on))
    replied = facts.last_reply_on is not None
    if status in (Status.under_investigation, Status.assessed) and not replied:
        items.append(("formal_reply", deadlines.formal_reply_due_on))
    if status is Status.awaiting_customer and replied:
        items.append(("close_eligible", deadlines.close_eligible_on) if facts.last_reply_reminded_on is not None
                     else ("reminder", deadlines.reminder_due_on))
    if facts.customer_due_on and not replied:
        items.append(("customer_due", facts.customer_due_on))
    if (facts.complaint_class is ComplaintClass.I and status is Status.under_investigation
            and not facts.interim_decided):
        items.append(("interim_decision", deadlines.interim_decision_due_on))
    return [(kind, due_on) for kind, due_on in items if due_on]

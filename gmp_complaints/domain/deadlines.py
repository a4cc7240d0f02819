"""The dates a complaint is measured against (SOP §6 time limits, SOP 5.8 reminder and closure), as dates,
from plain facts: no database, no Flask. The view turns them into text at the very end.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date

from gmp_complaints.domain.complaints import ComplaintClass, Status


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

    def as_view(self) -> dict:
        """The DESIGN §6 ``deadlines`` object: dates as YYYY-MM-DD."""
        return {f.name: (value.isoformat() if isinstance(value, date) else value)
                for f in fields(self) for value in [getattr(self, f.name)]}


def deadlines_for(facts: DeadlineFacts, calendar, config) -> Deadlines:
    """All the dates, in working days of the site calendar; an approved extension replaces the limit it
    extends. SOP 5.8's reminder follows the formal reply of a substantiated complaint (a reply that
    explains why a complaint is not substantiated goes straight to closure)."""
    limits = config.per_class[facts.complaint_class or ComplaintClass.I]
    computed = {}
    provisional = False
    for name, days in (("initial_feedback_due_on", limits.initial_feedback),
                       ("classification_due_on", limits.classification),
                       ("investigation_due_on", limits.investigation_report),
                       ("formal_reply_due_on", limits.formal_reply)):
        deadline = calendar.deadline(facts.received_on, days)
        computed[name] = deadline.due_on
        provisional = provisional or deadline.provisional
    reminder_due = close_eligible = None
    if facts.last_reply_on is not None and facts.substantiated is not False:
        due = calendar.deadline(facts.last_reply_on, config.reminder_after_reply)
        reminder_due, provisional = due.due_on, provisional or due.provisional
        if facts.last_reply_reminded_on is not None:
            eligible = calendar.deadline(facts.last_reply_reminded_on, config.closure_after_reminder)
            close_eligible, provisional = eligible.due_on, provisional or eligible.provisional
    result = Deadlines(**computed, reminder_due_on=reminder_due, close_eligible_on=close_eligible,
                       customer_due_on=facts.customer_due_on, provisional=provisional)
    for kind, new_due_on in facts.approved_extensions:
        result = replace(result, **{f"{kind}_due_on": new_due_on})
    return result


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
    return [(kind, due_on) for kind, due_on in items if due_on]

"""The US field alert report (FAR; 21 CFR 314.81(b)(1); baseline WF-04, HO-04) as plain rules.

For a product marketed in the US, classification screens the complaint: labelling mistaken for or
applied to another article; bacteriological contamination, a significant chemical or physical change or
deterioration; a distributed batch failing its specification. A "yes" owes the FDA an initial FAR
(Form FDA 3331a) within 3 working days of receipt, on the US federal calendar, with reminders on working
days 1 and 2. Each report sent that is not the final one makes the next follow-up report due a configured
number of working days later, until the final FAR closes the chain; the complaint does not close before.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from gmp_complaints.domain.errors import Msg, ValidationError

#: where a field alert goes (Form FDA 3331a, to the FDA district office or its electronic submission)
FDA_FIELD_ALERT_AUTHORITY = "FDA district office (Form FDA 3331a)"
FIELD_ALERT_WORKING_DAYS = 3
#: the working days of the initial FAR's clock on which ``gmp tick`` reminds regulatory affairs
REMINDER_WORKING_DAYS = (1, 2)
#: default working days (US calendar) from one report sent to the next follow-up report due
FOLLOW_UP_WORKING_DAYS = 20


class FarStage(StrEnum):
    initial = "initial"
    follow_up = "follow_up"
    #: the report sent as the final FAR: the chain is complete
    final = "final"


FAR_STAGE_LABELS = {FarStage.initial: Msg("Initial FAR"), FarStage.follow_up: Msg("Follow-up FAR"),
                    FarStage.final: Msg("Final FAR")}


def check_field_alert_screen(markets: Iterable[str], answer: bool | None) -> bool | None:
    """For a product marketed in the US the classification answers the field-alert screening question
    (WF-04). Elsewhere the question is not asked and the answer is not kept."""
    if "US" not in set(markets):
        return None
    if answer is None:
        raise ValidationError(Msg("Field-alert screening missing."), {"field_alert": [Msg(
            "The product is marketed in the US: answer the field-alert screening question (labelling mix-up, "
            "contamination, deterioration or a failed specification of a distributed batch?).")]})
    return answer


def field_alert_due_on(received_on: date, us_calendar) -> date:
    """Three working days of the US federal calendar after receipt (HO-04)."""
    return us_calendar.add_working_days(received_on, FIELD_ALERT_WORKING_DAYS)


def reminder_due(received_on: date, us_calendar, today: date, reminders_sent: int) -> int | None:
    """The reminder (working day 1 or 2 of the initial FAR's clock) that is due today and not yet sent;
    a missed run sends only the latest one."""
    reached = [day for day in REMINDER_WORKING_DAYS if us_calendar.add_working_days(received_on, day) <= today]
    if not reached or reached[-1] <= reminders_sent:
        return None
    return reached[-1]


def check_report_sent(kind: str, *, final: bool | None, recipient: str | None) -> None:
    """A field alert names the FDA office it went to and says whether it was the final report; other
    entries have no final report."""
    if kind == "field_alert":
        errors = {}
        if not (recipient or "").strip():
            errors["recipient"] = [Msg("Name the FDA office the field alert report went to.")]
        if final is None:
            errors["final"] = [Msg("Say whether this was the final field alert report.")]
        if errors:
            raise ValidationError(Msg("Field alert details missing."), errors)
    elif final is not None:
        raise ValidationError(Msg("Only a field alert has a final report."), {"final": [Msg(
            "Leave this out: only a field alert report is initial, follow-up or final.")]})

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
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from gmp_complaints.domain.calendar import KeptDate, Term, due_date
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
            "The product is marketed in the US: answer both criteria of the field-alert screen — (i) the product or "
            "its labelling mistaken for or applied to another article; (ii) contamination, significant change or "
            "deterioration, or a distributed batch failing its specification.")]})
    return answer


#: the two criteria of the screen, as the API names them: 314.81(b)(1)(i) and (ii)
MIX_UP = "field_alert_mix_up"
QUALITY_DEFECT = "field_alert_quality_defect"
CRITERION_LABELS = {
    MIX_UP: Msg("(i) The product or its labelling mistaken for, or applied to, another article"),
    QUALITY_DEFECT: Msg("(ii) Bacteriological contamination, a significant chemical, physical or other change or "
                        "deterioration, or a distributed batch failing the specifications of its application"),
}


@dataclass(frozen=True)
class FieldAlertScreen:
    """The screen as recorded: whether a criterion is met (a field alert is owed) and, where answered one by one,
    each criterion. ``None`` throughout for a product not marketed in the US (not asked)."""

    met: bool | None
    mix_up: bool | None = None
    quality_defect: bool | None = None


def screen_field_alert(markets: Iterable[str], *, field_alert: bool | None, mix_up: bool | None,
                       quality_defect: bool | None) -> FieldAlertScreen:
    """WF-04: for a product marketed in the US the classification answers the Field-Alert screen, each criterion
    on its own (``mix_up`` for 314.81(b)(1)(i), ``quality_defect`` for (ii)); either yes owes a field alert.
    ``field_alert`` alone still stands for "a criterion met" when the two are not given; given with them, it
    must agree. Elsewhere nothing is asked and nothing is kept."""
    if "US" not in set(markets):
        return FieldAlertScreen(None)
    criteria = {MIX_UP: mix_up, QUALITY_DEFECT: quality_defect}
    if all(answer is None for answer in criteria.values()):
        return FieldAlertScreen(check_field_alert_screen(markets, field_alert))
    unanswered = {name: [Msg("Answer this criterion of the field-alert screen too: both are recorded.")]
                  for name, answer in criteria.items() if answer is None}
    if unanswered:
        raise ValidationError(Msg("Field-alert screening incomplete."), unanswered)
    met = bool(mix_up or quality_defect)
    if field_alert is not None and field_alert != met:
        raise ValidationError(Msg("Field-alert answers disagree."), {"field_alert": [Msg(
            "This answer contradicts the two criteria: a field alert is owed exactly when either criterion is met.")]})
    return FieldAlertScreen(met, mix_up, quality_defect)


def field_alert_term(received_on: date) -> Term:
    """The initial FAR counts three working days of the US federal calendar from receipt (HO-04)."""
    return Term(received_on, FIELD_ALERT_WORKING_DAYS)


def field_alert_due_on(received_on: date, us_calendar) -> date:
    """Three working days of the US federal calendar after receipt (HO-04)."""
    return us_calendar.add_working_days(received_on, FIELD_ALERT_WORKING_DAYS)


def reminder_kind(day: int) -> str:
    """The kept date of the reminder on working day ``day`` of the initial FAR's clock."""
    return f"field_alert_reminder_{day}"


def reminder_terms(received_on: date, reminders_sent: int) -> dict[str, Term]:
    """The reminders of the initial FAR's clock not yet sent, each a working-day date of its own."""
    return {reminder_kind(day): Term(received_on, day) for day in REMINDER_WORKING_DAYS if day > reminders_sent}


def reminder_due(received_on: date, us_calendar, today: date, reminders_sent: int,
                 kept: dict[str, KeptDate] | None = None) -> int | None:
    """The reminder (working day 1 or 2 of the initial FAR's clock) that is due today and not yet sent;
    a missed run sends only the latest one. A reminder date kept before a calendar change stays (WF-05)."""
    kept = kept or {}
    reached = [day for day in REMINDER_WORKING_DAYS
               if due_date(Term(received_on, day), kept.get(reminder_kind(day)), us_calendar).due_on <= today]
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

"""The complaint process of SOP §5 as plain rules: states, the moves between them, numbers, retention.

No Flask, no SQLAlchemy: services load the facts, ask these functions, and store what they answer.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from gmp_complaints.domain.errors import ConflictError, Msg, ValidationError
from gmp_complaints.domain.markets import eea_markets
from gmp_complaints.domain.triage import SPEC_FAILURE_HOLD, check_determination_due


class Status(StrEnum):
    registered = "registered"
    under_investigation = "under_investigation"
    assessed = "assessed"
    awaiting_customer = "awaiting_customer"
    closure_pending = "closure_pending"
    closed = "closed"
    void = "void"


class Step(StrEnum):
    acknowledge = "acknowledge"
    validity = "validity"
    classify = "classify"
    investigate = "investigate"
    assess = "assess"
    reply = "reply"
    customer_response = "customer_response"
    remind = "remind"
    regrade = "regrade"
    #: WF-02: the head of quality's signed determination of a possible failure to meet specification
    spec_failure_determination = "spec_failure_determination"
    no_response_closure_pending = "no_response_closure_pending"
    void = "void"
    close = "close"


class Channel(StrEnum):
    visit = "visit"
    letter = "letter"
    fax = "fax"
    phone = "phone"
    email = "email"
    web = "web"
    other = "other"


# SOP 5.1.1: an oral complaint should be confirmed in writing where possible.
ORAL_CHANNELS = frozenset({Channel.visit, Channel.phone})


class ComplaintType(StrEnum):
    """SOP §2."""

    adr = "adr"
    intrinsic_quality = "intrinsic_quality"
    inner_packaging = "inner_packaging"
    outer_packaging = "outer_packaging"
    packaging_design = "packaging_design"
    other = "other"


class ComplaintClass(StrEnum):
    """SOP §3: I may endanger life or seriously threaten health; II potential effect; III no hazard."""

    I = "I"  # noqa: E741 (the SOP's own name)
    II = "II"
    III = "III"


CHANNEL_LABELS = {
    Channel.visit: Msg("Visit"), Channel.letter: Msg("Letter"), Channel.fax: Msg("Fax"), Channel.phone: Msg("Phone"),
    Channel.email: Msg("E-mail"), Channel.web: Msg("Web"), Channel.other: Msg("Other"),
}
TYPE_LABELS = {
    ComplaintType.adr: Msg("Adverse drug reaction"),
    ComplaintType.intrinsic_quality: Msg("Intrinsic quality problem"),
    ComplaintType.inner_packaging: Msg("Inner packaging defect"),
    ComplaintType.outer_packaging: Msg("Outer packaging defect"),
    ComplaintType.packaging_design: Msg("Packaging design defect"),
    ComplaintType.other: Msg("Other"),
}
STATUS_LABELS = {
    Status.registered: Msg("Registered"),
    Status.under_investigation: Msg("Under investigation"),
    Status.assessed: Msg("Assessed"),
    Status.awaiting_customer: Msg("Awaiting customer"),
    Status.closure_pending: Msg("Closure pending"),
    Status.closed: Msg("Closed"),
    Status.void: Msg("Void"),
}
#: shown instead of the stored status once a complaint is disposed of (its row stays closed or void)
DISPOSED = "disposed"
DISPOSED_LABEL = Msg("Disposed of (tombstone)")


def check_disposal(*, status: Status, retention_until: date, today: date, on_hold: bool, disposed: bool) -> None:
    """RET-02: disposal is a signed act after the retention date, on a closed or void complaint under no legal
    hold; anything else is refused (409) and nothing changes."""
    if disposed:
        raise ConflictError(Msg("The complaint is already disposed of."))
    if status not in (Status.closed, Status.void):
        raise ConflictError(Msg("Only a closed or void complaint is disposed of."))
    if today <= retention_until:
        raise ConflictError(Msg("Kept until %(date)s: disposal is possible only after that date.",
                                date=retention_until.isoformat()))
    if on_hold:
        raise ConflictError(Msg("The complaint is under a legal hold: it is released before any disposal."))


#: a reply report's way (SOP 5.6.1): drafted by QA, approved by the head of quality, sent by sales
REPLY_REPORT_STATUS_LABELS = {
    "draft": Msg("Awaiting the head of quality's approval"),
    "approved": Msg("Approved, to be sent"),
    "sent": Msg("Sent"),
    "withdrawn": Msg("Replaced by a new draft"),
}


#: the time limit a complaint waits on next (lists and the dashboard)
DUE_KIND_LABELS = {
    "initial_feedback": Msg("Initial feedback"),
    "classification": Msg("Classification"),
    "investigation": Msg("Investigation report"),
    "formal_reply": Msg("Formal reply"),
    "reminder": Msg("Reminder due"),
    "close_eligible": Msg("Closure eligible"),
    "customer_due": Msg("Customer's deadline"),
    "interim_decision": Msg("Interim risk decision (class I)"),
    # WF-05: the initial field alert's dates, kept on the US federal calendar
    "field_alert": Msg("Field alert report (FDA)"),
    "field_alert_reminder_1": Msg("Field alert reminder (working day 1)"),
    "field_alert_reminder_2": Msg("Field alert reminder (working day 2)"),
}
#: SOP 5.5 hand-offs chosen in the assessment
ASSESSMENT_ACTION_LABELS = {
    "compensation": Msg("Compensation"),
    "return_exchange": Msg("Return or exchange"),
    "recall": Msg("Recall"),
}


@dataclass(frozen=True)
class ComplaintFacts:
    """What the rules need to know about a complaint to decide a move."""

    status: Status
    substantiated: bool | None  # validity outcome; None while not decided
    numbered: bool
    investigated: bool
    replies: int
    reasonable: bool | None = None
    acknowledged: bool = False
    #: a reasonable complaint has a linked CAPA or the QA head's signed justification that none is needed
    capa_covered: bool = True
    #: WF-02: a possible failure to meet specification is flagged ...
    spec_failure_suspected: bool = False
    #: ... and the head of quality's signed determination is recorded
    spec_failure_determined: bool = False

    @property
    def spec_failure_pending(self) -> bool:
        return self.spec_failure_suspected and not self.spec_failure_determined


def next_status(facts: ComplaintFacts, step: Step, *, substantiated: bool | None = None,
                satisfied: bool | None = None, spec_failure_suspected: bool = False) -> Status:
    """The status after ``step``, or ConflictError (409) when the step is not allowed now.

    Exactly the moves of DESIGN §2: any other is refused and changes nothing.
    """
    s = facts.status
    refused = ConflictError(Msg("This step is not allowed while the complaint is %(status)s.", status=STATUS_LABELS[s]))
    # Closed means closed: a response after closure opens a linked follow-up complaint instead.
    if s in (Status.closed, Status.void):
        raise refused
    if step is Step.void:
        return Status.void
    if step is Step.close:
        if s is not Status.closure_pending:
            raise ConflictError(Msg("Only a complaint pending closure can be closed."))
        return Status.closed
    if step is Step.acknowledge:
        if s is Status.closure_pending or facts.acknowledged:
            raise ConflictError(Msg("The initial feedback is already recorded.")) if facts.acknowledged else refused
        return s
    if step is Step.validity:
        if s is not Status.registered or facts.substantiated is not None:
            raise refused
        # WF-02: a possible failure to meet specification keeps even a complaint found not substantiated in
        # triage, until the head of quality's signed determination.
        return Status.registered if substantiated or spec_failure_suspected else Status.assessed
    if step is Step.spec_failure_determination:
        check_determination_due(suspected=facts.spec_failure_suspected, determined=facts.spec_failure_determined)
        if s is not Status.registered:
            raise refused
        # Determined: the complaint leaves triage; found not substantiated, it takes that path now (SOP 5.3).
        return Status.assessed if facts.substantiated is False else Status.registered
    if facts.spec_failure_pending and step in (Step.classify, Step.reply):
        raise ConflictError(SPEC_FAILURE_HOLD)
    if step is Step.classify:
        if s is not Status.registered or facts.substantiated is not True or facts.numbered:
            raise ConflictError(Msg("Classification needs a registered complaint found substantiated and not yet numbered."))
        return Status.under_investigation
    if step is Step.investigate:
        if s is not Status.under_investigation:
            raise refused
        return s
    if step is Step.assess:
        if s is not Status.under_investigation or not facts.investigated:
            raise ConflictError(Msg("The assessment needs a recorded investigation."))
        return Status.assessed
    if step is Step.reply:
        if s is not Status.assessed:
            raise refused
        if facts.reasonable and not facts.capa_covered:
            raise ConflictError(Msg("A reasonable complaint gets a CAPA (SOP 5.7): link one, or have the head of "
                                    "quality sign that none is needed, before the formal reply."))
        # Not substantiated (SOP 5.3): the reply explains why, and the complaint goes to closure.
        return Status.closure_pending if facts.substantiated is False else Status.awaiting_customer
    if step is Step.customer_response:
        if s not in (Status.awaiting_customer, Status.closure_pending) or facts.replies == 0:
            raise refused
        # A challenge returns the complaint to investigation; the next reply is a supplementary one.
        return Status.closure_pending if satisfied else Status.under_investigation
    if step is Step.remind:
        if s is not Status.awaiting_customer:
            raise refused
        return s
    if step is Step.no_response_closure_pending:
        if s is not Status.awaiting_customer:
            raise refused
        return Status.closure_pending
    if step is Step.regrade:
        if not facts.numbered or s not in (Status.under_investigation, Status.assessed, Status.awaiting_customer):
            raise ConflictError(Msg("Only a numbered complaint that is still open can be regraded."))
        return s
    raise refused


def complaint_number(complaint_class: ComplaintClass, received_year: int, serial: int) -> str:
    """``TS-<class>-<yy>-<serial>``: serial at least three digits, more when needed (TS-I-26-1000)."""
    return f"TS-{complaint_class.value}-{received_year % 100:02d}-{serial:03d}"


def intake_reference(year: int, serial: int) -> str:
    return f"R-{year:04d}-{serial:05d}"


def retention_until(*, received_on: date, batch_expiry_dates: list[date], product_has_expiry: bool,
                    last_distribution_on: date | None, qp_certification_dates: Iterable[date] = ()) -> date:
    """DESIGN §2 Retention (RET-01): the latest of (a) expiry + 1 year (SOP §8), (b) received + 1 year (21 CFR
    211.198(b)), (c) for a product without expiry dating the last distribution + 3 years, and (d) where the
    complaint file is batch documentation of EU-certified batches, each QP certification + 5 years (EU GMP
    Chapter 4 §4.11; ``qp_certification_dates`` as chosen by :func:`eu_batch_documentation_dates`)."""
    candidates = [_add_years(received_on, 1)]
    candidates += [_add_years(expiry, 1) for expiry in batch_expiry_dates]
    if not product_has_expiry and last_distribution_on is not None:
        candidates.append(_add_years(last_distribution_on, 3))
    candidates += [qp_certification_retention(certified) for certified in qp_certification_dates]
    return max(candidates)


#: EU GMP Chapter 4 §4.11: batch documentation is kept at least five years after the QP certified the batch
QP_CERTIFICATION_RETENTION_YEARS = 5


def qp_certification_retention(certified_on: date) -> date:
    """RET-01 (d): the QP certification (release) date + 5 years."""
    return _add_years(certified_on, QP_CERTIFICATION_RETENTION_YEARS)


def eu_batch_documentation_dates(*, enabled: bool, product_markets: Iterable[str],
                                 release_dates: Iterable[date | None]) -> list[date]:
    """The certification dates rule (d) counts: none unless the site's SOP files the complaint as batch
    documentation (``GMP_RETENTION_EU_BATCH_DOCUMENTATION``); then the QP certification (release) date of each
    linked batch of a product marketed in the EEA (an EU/EEA country or ``EU`` for a central authorisation),
    where master data records one."""
    if not enabled or not eea_markets(product_markets):
        return []
    return sorted(d for d in release_dates if d is not None)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def check_event_date(field: str, value: date, *, today: date, not_before: date | None = None,
                     not_before_label: Msg | None = None) -> None:
    """Event dates record what happened: never in the future, never before the previous step."""
    if value > today:
        raise ValidationError(Msg("Date in the future."), {field: [Msg("The date cannot be in the future.")]})
    if not_before is not None and value < not_before:
        raise ValidationError(Msg("Date too early."), {field: [Msg(
            "The date cannot be before %(step)s (%(date)s).", step=not_before_label or "", date=not_before.isoformat())]})


@dataclass(frozen=True)
class TimeLimits:
    """Working days from the received date, per class (DESIGN §2; the SOP §6 table is missing)."""

    initial_feedback: int
    classification: int
    investigation_report: int
    formal_reply: int


DEFAULT_TIME_LIMITS = {
    ComplaintClass.I: TimeLimits(1, 2, 10, 15),
    ComplaintClass.II: TimeLimits(2, 3, 15, 20),
    ComplaintClass.III: TimeLimits(3, 5, 20, 30),
}
# SOP 5.8: remind the customer 25 working days after the formal reply; close 10 after the reminder.
REMINDER_AFTER_REPLY_WORKING_DAYS = 25
CLOSURE_AFTER_REMINDER_WORKING_DAYS = 10
# SOP 5.6.1 (China GMP Art. 277): enterprise error, deterioration or a major quality problem is reported to
# the regulator; the report is due this many working days after the assessment that found it.
QUALITY_REPORT_WORKING_DAYS = 1


class ClosurePath(StrEnum):
    """SOP 5.3 / 5.8: how a complaint came to be pending closure."""

    not_substantiated = "not_substantiated"
    customer_satisfied = "customer_satisfied"
    no_response = "no_response"


def closure_path(*, substantiated: bool | None, last_response_satisfied: bool | None) -> ClosurePath:
    if substantiated is False:
        return ClosurePath.not_substantiated
    if last_response_satisfied:
        return ClosurePath.customer_satisfied
    return ClosurePath.no_response


def allowed_steps(facts: ComplaintFacts) -> list[Step]:
    """The steps the state machine allows now: what the complaint page offers, nothing else."""
    allowed = []
    for step in (Step.acknowledge, Step.validity, Step.classify, Step.investigate, Step.assess, Step.reply,
                 Step.customer_response, Step.remind, Step.regrade):
        trial = {"substantiated": True} if step is Step.validity else {}
        try:
            next_status(facts, step, **trial)
        except ConflictError:
            continue
        allowed.append(step)
    return allowed


class InterimMeasure(StrEnum):
    """What a class I interim risk decision decides (SOP 5.4: before the root cause is known)."""

    stop_shipment = "stop_shipment"
    quarantine = "quarantine"
    recall_evaluation = "recall_evaluation"
    customer_communication = "customer_communication"
    authority_communication = "authority_communication"
    monitor_only = "monitor_only"


INTERIM_MEASURE_LABELS = {
    InterimMeasure.stop_shipment: Msg("Stop shipment of the batches concerned"),
    InterimMeasure.quarantine: Msg("Quarantine the stock of the batches concerned"),
    InterimMeasure.recall_evaluation: Msg("Evaluate a recall now"),
    InterimMeasure.customer_communication: Msg("Inform customers"),
    InterimMeasure.authority_communication: Msg("Inform the authority"),
    InterimMeasure.monitor_only: Msg("No immediate measure: monitor while the investigation runs"),
}


def check_interim_measures(recorded: list[str], given: list[str] | None) -> list[str]:
    """The first signer of the interim risk decision says what is decided; the second signs the same
    decision. ``monitor_only`` stands alone."""
    known = {m.value for m in InterimMeasure}
    chosen = sorted(set(given or []))
    if not recorded and not chosen:
        raise ValidationError(Msg("Decision missing."), {"measures": [Msg(
            "Choose what the interim risk decision decides (stop shipment, quarantine, recall evaluation, "
            "communication, or monitoring only).")]})
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise ValidationError(Msg("Unknown measure."), {"measures": [Msg("Unknown: %(codes)s.",
                                                                         codes=", ".join(unknown))]})
    if InterimMeasure.monitor_only.value in chosen and len(chosen) > 1:
        raise ValidationError(Msg("Contradictory measures."), {"measures": [Msg(
            "Monitoring only excludes the other measures.")]})
    if recorded and chosen and chosen != sorted(recorded):
        raise ValidationError(Msg("A different decision."), {"measures": [Msg(
            "The decision recorded by the first signer is: %(codes)s. Sign that decision, or discuss it first.",
            codes=", ".join(sorted(recorded)))]})
    return sorted(recorded) or chosen

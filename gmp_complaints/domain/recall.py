"""Recall (SOP 5.5.3, DESIGN §4, 药品召回管理办法, EU GMP 8.25-8.30, 21 CFR 7) as plain rules.

proposed → in_progress (the decision, signed by the QA head and the QP; the second signature's time
starts the clocks) → completed (every consignee line reconciled, the immediate report of a
safety-hazard recall sent) → closed (the final report signed by the QA head and the QP); a proposal
that is not pursued is cancelled with a reason. The China level is chosen on its own definitions and
never copied from the complaint class.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from gmp_complaints.domain.errors import ConflictError, Msg, ValidationError
from gmp_complaints.domain.returns import DISPOSITION_LABELS, Disposition


class RecallStatus(StrEnum):
    proposed = "proposed"
    in_progress = "in_progress"
    completed = "completed"
    closed = "closed"
    cancelled = "cancelled"


OPEN_RECALL_STATUSES = frozenset({RecallStatus.proposed, RecallStatus.in_progress, RecallStatus.completed})


class RecallLevel(StrEnum):
    """China recall level (药品召回管理办法 2007 Art. 14)."""

    I = "I"  # noqa: E741 - the level's own name
    II = "II"
    III = "III"


class RecallDepth(StrEnum):
    wholesale = "wholesale"
    retail = "retail"
    patient = "patient"


class RecallOrigin(StrEnum):
    complaint = "complaint"
    batch = "batch"
    trend = "trend"
    regulator_order = "regulator_order"


class FdaClass(StrEnum):
    """21 CFR 7.3(m), where the product is marketed in the US."""

    I = "I"  # noqa: E741
    II = "II"
    III = "III"


LEVEL_LABELS = {RecallLevel.I: Msg("Level I (一级)"), RecallLevel.II: Msg("Level II (二级)"),
                RecallLevel.III: Msg("Level III (三级)")}
#: the definitions the level is chosen against, shown beside the choice (2007 Art. 14)
LEVEL_DEFINITIONS = {
    RecallLevel.I: Msg("Use of the product may cause a serious health hazard."),
    RecallLevel.II: Msg("Use of the product may cause a temporary or reversible health hazard."),
    RecallLevel.III: Msg("Use of the product generally causes no health hazard, but it must be withdrawn for "
                         "another reason."),
}
DEPTH_LABELS = {RecallDepth.wholesale: Msg("Wholesale"), RecallDepth.retail: Msg("Retail (pharmacies, hospitals)"),
                RecallDepth.patient: Msg("Patient")}
STATUS_LABELS = {RecallStatus.proposed: Msg("Proposed"), RecallStatus.in_progress: Msg("In progress"),
                 RecallStatus.completed: Msg("Completed"), RecallStatus.closed: Msg("Closed"),
                 RecallStatus.cancelled: Msg("Cancelled")}
ORIGIN_LABELS = {RecallOrigin.complaint: Msg("Complaint"), RecallOrigin.batch: Msg("Batch"),
                 RecallOrigin.trend: Msg("Trend signal"), RecallOrigin.regulator_order: Msg("Regulator's order")}

#: the kinds of the regulator-notification register (DESIGN §6)
#: the local authority a safety-hazard recall is reported to at once (China GMP Art. 301); bilingual as stored
LOCAL_AUTHORITY = "所在地省级药品监督管理部门 (provincial MPA)"
LOCAL_AUTHORITY_LABEL = Msg("Provincial medical products administration (所在地省级药品监督管理部门)")

NOTIFICATION_KIND_LABELS = {
    "adr_report": Msg("ADR report"), "recall_notice": Msg("Recall notice to the authority"),
    "recall_report_and_plan": Msg("Investigation report and recall plan"),
    "recall_progress": Msg("Recall progress report"), "field_alert": Msg("Field alert report"),
    "quality_report": Msg("Quality problem report"),
}


def recall_number(year: int, serial: int) -> str:
    """``RC-<yy>-<nnn>``: two-digit year of the proposal, serial per year from 001, at least three digits."""
    return f"RC-{year % 100:02d}-{serial:03d}"


# --- clocks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecallClock:
    """The clocks of one level, from the decision (DESIGN §4; 2007 rules Arts 16-17, to be confirmed
    by regulatory affairs against the NMPA text in force)."""

    level: RecallLevel
    notify_hours: int
    report_and_plan_days: int
    progress_every_days: int


DEFAULT_RECALL_CLOCKS = {
    RecallLevel.I: RecallClock(RecallLevel.I, 24, 1, 1),
    RecallLevel.II: RecallClock(RecallLevel.II, 48, 3, 3),
    RecallLevel.III: RecallClock(RecallLevel.III, 72, 7, 7),
}
CLOCK_FIELDS = ("notify_hours", "report_and_plan_days", "progress_every_days")
CLOCK_LIMITS = {"notify_hours": (1, 24 * 30), "report_and_plan_days": (1, 90), "progress_every_days": (1, 90)}


def check_clock(field: str, value) -> int:
    """A clock value in its range, or a ValidationError naming the field."""
    low, high = CLOCK_LIMITS[field]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(Msg("Invalid recall clock."), {field: [Msg(
            "A whole number from %(low)s to %(high)s.", low=low, high=high)]})
    return value


@dataclass(frozen=True)
class RecallDeadlines:
    notify_consignees_by: datetime | None
    report_and_plan_by: datetime | None
    next_progress_report_by: datetime | None

    def as_view(self, tz) -> dict:
        """DESIGN §6: ISO 8601 times with the site's offset; null until decided."""
        return {name: (value.astimezone(tz).isoformat(timespec="seconds") if value else None)
                for name, value in (("notify_consignees_by", self.notify_consignees_by),
                                    ("report_and_plan_by", self.report_and_plan_by),
                                    ("next_progress_report_by", self.next_progress_report_by))}


def recall_deadlines(*, decided_at: datetime | None, clock: RecallClock, status: RecallStatus,
                     last_progress_report_at: datetime | None = None) -> RecallDeadlines:
    """Calendar hours and days from the decision (the rules count days, not working days). Progress
    reports are due every interval after the last one sent (or the decision) until completion."""
    if decided_at is None:
        return RecallDeadlines(None, None, None)
    progress_from = last_progress_report_at or decided_at
    progress_due = (progress_from + timedelta(days=clock.progress_every_days)
                    if status is RecallStatus.in_progress else None)
    return RecallDeadlines(decided_at + timedelta(hours=clock.notify_hours),
                           decided_at + timedelta(days=clock.report_and_plan_days), progress_due)


# --- market-specific actions (HO-05) --------------------------------------------------------------


@dataclass(frozen=True)
class MarketAction:
    """What the decision requires in one market where the affected batches were distributed (e.g. "US: FDA
    3-day notification", "CN: report to the provincial MPA")."""

    market: str
    action: str


def check_market_actions(items: list[tuple[str, str]], product_markets: tuple[str, ...]) -> tuple[MarketAction, ...]:
    """HO-05: one action per market, each market a two-letter code (or EU) among the product's markets (the
    markets its batches are distributed to); sorted by market. A ValidationError names ``market_actions``."""
    found: dict[str, str] = {}
    problems: list[Msg] = []
    for market, action in items:
        code = (market or "").strip().upper()
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            problems.append(Msg("Markets are two-letter country codes (CN, US, DE …) or EU; not %(codes)s.",
                                codes=market))
        elif code not in product_markets:
            problems.append(Msg("The product is not marketed in %(market)s (its markets: %(markets)s).",
                                market=code, markets=", ".join(product_markets)))
        elif code in found:
            problems.append(Msg("One action per market: %(market)s is named twice.", market=code))
        else:
            found[code] = action.strip()
    if problems:
        raise ValidationError(Msg("Invalid market actions."), {"market_actions": problems})
    return tuple(MarketAction(code, found[code]) for code in sorted(found))


def markets_without_action(actions: tuple[MarketAction, ...], product_markets: tuple[str, ...]) -> tuple[str, ...]:
    """The product's markets for which the decision names no action yet (shown beside the proposal)."""
    named = {a.market for a in actions}
    return tuple(m for m in product_markets if m not in named)


# --- the state machine ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecallFacts:
    status: RecallStatus
    safety_hazard: bool
    #: the immediate report of a safety-hazard recall to the local authority has been sent (HO-07)
    immediate_report_sent: bool
    lines: int
    unreconciled_lines: int
    #: register entries the recall owes the authority and that are not recorded as sent
    unsent_notifications: int = 0
    #: recalled batches without the QA head's signed disposition (HO-10)
    undisposed_batches: int = 0
    #: the effectiveness check's level is chosen (E counts: "none" is a decision too)
    effectiveness_chosen: bool = True
    #: sampled consignees not yet contacted
    effectiveness_pending: int = 0
    #: consignees whose notice is not sent (a mock recall: not prepared)
    unnotified_consignees: int = 0
    mock: bool = False
    #: notifications of the defect to EU competent authorities and the MAH not yet sent (HO-08)
    unsent_defect_notices: int = 0
    #: a documented very-serious-risk reason to execute before those notifications
    authority_notice_exception: bool = False


def check_may_decide(facts: RecallFacts) -> None:
    if facts.status is not RecallStatus.proposed:
        raise ConflictError(Msg("Only a proposed recall is decided."))


def check_may_change_proposal(facts: RecallFacts) -> None:
    """HO-05: the market-specific actions are given at the proposal or before the decision is signed; once
    decided, the decision (and what it covers) stays as signed."""
    if facts.status is not RecallStatus.proposed:
        raise ConflictError(Msg("The market-specific actions are set before the recall is decided; a decided or "
                                "cancelled recall keeps them as signed."))


def check_may_cancel(facts: RecallFacts) -> None:
    if facts.status is not RecallStatus.proposed:
        raise ConflictError(Msg("Only a proposed recall can be cancelled; a decided recall runs to its end."))


def check_may_run(facts: RecallFacts) -> None:
    """Notices, progress reports and reconciliation belong to a decided recall that is not completed;
    a safety-hazard recall goes no further until its immediate report is sent (China GMP Art. 301), nor
    one of a product marketed in the EEA until the authorities there are told, unless a very serious
    risk is documented as the reason to act first (EU GMP 8.15)."""
    if facts.status is not RecallStatus.in_progress:
        raise ConflictError(Msg("This is recorded on a decided recall in progress."))
    if facts.safety_hazard and not facts.immediate_report_sent:
        raise ConflictError(Msg("A safety-hazard recall goes no further until its immediate report to the local "
                                "authority is recorded as sent."))
    if facts.unsent_defect_notices and not facts.authority_notice_exception:
        raise ConflictError(Msg("The EU competent authorities (and the marketing authorisation holder) are told of "
                                "the defect before the recall is executed: %(count)s notification(s) not recorded "
                                "as sent (EU GMP 8.15).", count=facts.unsent_defect_notices))


def check_may_complete(facts: RecallFacts) -> None:
    check_may_run(facts)
    if facts.unnotified_consignees and facts.mock:
        raise ConflictError(Msg("%(count)s consignee(s) have no notice prepared yet.",
                                count=facts.unnotified_consignees))
    if facts.unnotified_consignees:
        raise ConflictError(Msg("%(count)s consignee(s) have no notice sent yet.", count=facts.unnotified_consignees))
    if facts.unreconciled_lines:
        raise ConflictError(Msg("%(count)s consignee line(s) are not reconciled yet.", count=facts.unreconciled_lines))


def check_may_close(facts: RecallFacts) -> None:
    """The final report is signed once every line is reconciled, the recall is completed and everything
    owed to the authority (notice, report and plan, the last progress report) is recorded as sent."""
    if facts.unreconciled_lines:
        raise ConflictError(Msg("%(count)s consignee line(s) are not reconciled yet.", count=facts.unreconciled_lines))
    if facts.status is not RecallStatus.completed:
        raise ConflictError(Msg("The final report is signed on a completed recall."))
    if facts.unsent_notifications:
        raise ConflictError(Msg("%(count)s notification(s) to the authority are not recorded as sent.",
                                count=facts.unsent_notifications))
    if facts.undisposed_batches:
        raise ConflictError(Msg("%(count)s recalled batch(es) have no signed disposition yet.",
                                count=facts.undisposed_batches))
    if not facts.effectiveness_chosen:
        raise ConflictError(Msg("Choose the depth of the effectiveness check first (level E for none)."))
    if facts.effectiveness_pending:
        raise ConflictError(Msg("%(count)s sampled consignee(s) of the effectiveness check are not contacted yet.",
                                count=facts.effectiveness_pending))


def check_may_follow_up(facts: RecallFacts) -> None:
    """Dispositions and the effectiveness check belong to a decided recall, running or completed."""
    if facts.status not in (RecallStatus.in_progress, RecallStatus.completed):
        raise ConflictError(Msg("This is recorded on a decided recall that is not closed."))


#: what becomes of a recalled batch's stock: the same choices as for returned goods
BatchDecision = Disposition
BATCH_DECISION_LABELS = DISPOSITION_LABELS


def check_batch_decision(decision: BatchDecision, rationale: str | None, test_reference: str | None) -> None:
    """Reprocessing states why it is safe; recalled stock goes back only with a test record and a reason."""
    if decision in (BatchDecision.reprocess, BatchDecision.return_to_stock) and not (rationale or "").strip():
        raise ValidationError(Msg("Rationale missing."), {"rationale": [Msg(
            "Give the rationale for this disposition of recalled stock.")]})
    if decision is BatchDecision.return_to_stock and not (test_reference or "").strip():
        raise ValidationError(Msg("Test record missing."), {"test_reference": [Msg(
            "Recalled stock goes back only with the test record that clears it.")]})


# --- reconciliation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciliation:
    delivered: int
    recovered: int
    destroyed: int

    @property
    def outstanding(self) -> int:
        return self.delivered - self.recovered - self.destroyed


def check_reconciliation(delivered: int, recovered: int, destroyed: int, explanation: str | None) -> Reconciliation:
    """Recovered (returned to us) and destroyed (at the consignee, under supervision) never exceed what was
    delivered; what is still outstanding (e.g. dispensed to patients) is explained."""
    if recovered > delivered:
        raise ValidationError(Msg("Recovered more than delivered."), {"quantity_recovered": [Msg(
            "At most the %(delivered)s delivered.", delivered=delivered)]})
    if recovered + destroyed > delivered:
        raise ValidationError(Msg("Recovered and destroyed exceed what was delivered."), {"quantity_destroyed": [Msg(
            "At most %(left)s: %(delivered)s were delivered.", left=delivered - recovered, delivered=delivered)]})
    line = Reconciliation(delivered, recovered, destroyed)
    if line.outstanding and not (explanation or "").strip():
        raise ValidationError(Msg("Explain what is outstanding."), {"explanation": [Msg(
            "%(count)s unit(s) are neither recovered nor destroyed: say where they are.", count=line.outstanding)]})
    return line


# --- effectiveness check --------------------------------------------------------------------------


class EffectivenessLevel(StrEnum):
    """FDA recall effectiveness check levels (21 CFR 7.42(b)(3))."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


#: share of consignees contacted; level B is "less than 100 % but more than 10 %": we take 50 %
EFFECTIVENESS_SHARE = {EffectivenessLevel.A: 1.0, EffectivenessLevel.B: 0.5, EffectivenessLevel.C: 0.1,
                       EffectivenessLevel.D: 0.02, EffectivenessLevel.E: 0.0}


class ContactResult(StrEnum):
    notice_received_stock_removed = "notice_received_stock_removed"
    notice_received_stock_found = "notice_received_stock_found"
    notice_not_received = "notice_not_received"
    not_reached = "not_reached"


CONTACT_RESULT_LABELS = {
    ContactResult.notice_received_stock_removed: Msg("Notice received, stock removed"),
    ContactResult.notice_received_stock_found: Msg("Notice received, stock still found"),
    ContactResult.notice_not_received: Msg("Notice not received"),
    ContactResult.not_reached: Msg("Not reached"),
}
EFFECTIVENESS_LEVEL_LABELS = {EffectivenessLevel.A: Msg("A: every consignee"), EffectivenessLevel.B: Msg("B: half"),
                        EffectivenessLevel.C: Msg("C: 10 %"), EffectivenessLevel.D: Msg("D: 2 %"),
                        EffectivenessLevel.E: Msg("E: none")}


def effectiveness_sample(consignees: list[str], level: EffectivenessLevel, seed: str) -> list[str]:
    """The consignees to contact, drawn reproducibly: the same list, level and seed give the same sample
    (ranked by SHA-256 of seed and consignee, so adding an unrelated name does not reshuffle the rest)."""
    share = EFFECTIVENESS_SHARE[level]
    names = sorted(set(consignees))
    if not names or share == 0:
        return []
    size = max(1, math.ceil(len(names) * share))
    ranked = sorted(names, key=lambda name: hashlib.sha256(f"{seed}\n{name}".encode()).hexdigest())
    return sorted(ranked[:size])

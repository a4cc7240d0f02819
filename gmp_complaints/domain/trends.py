"""Trends and signals for the quarterly review (SOP §7; DESIGN §2 review; baseline TR-01 … TR-05) as
plain rules on plain numbers: periods, proportions, rates per million units distributed, timeliness
statistics, and the signal rules (recurrence, a u-chart on the rate per quarter, any class I complaint).

The signal rules are audited configuration; their defaults are DESIGN's: 3 complaints of the same type on
the same product within 90 days; a quarter's rate beyond 2 sigma (alert) or 3 sigma (action) of the u-chart
built from the 8 quarters before it.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from gmp_complaints.domain.errors import Msg, ValidationError

#: the longest period a trend report covers (a decade of quarters is plenty, and bounds the work)
MAX_PERIOD_DAYS = 3700
#: how many earlier periods of the same length the report sets beside the period
PREVIOUS_PERIODS = 4


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def label(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def check_period(start: date | None, end: date | None) -> Period:
    """A period as the API and the page ask for it: both ends given, ``to`` not before ``from``."""
    errors = {}
    if start is None:
        errors["from"] = [Msg("Give the first day of the period (YYYY-MM-DD).")]
    if end is None:
        errors["to"] = [Msg("Give the last day of the period (YYYY-MM-DD).")]
    if errors:
        raise ValidationError(Msg("Period missing."), errors)
    if end < start:
        raise ValidationError(Msg("The period ends before it starts."), {"to": [Msg(
            "The last day cannot be before the first day (%(start)s).", start=start.isoformat())]})
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationError(Msg("Period too long."), {"to": [Msg("A period covers at most ten years.")]})
    return Period(start, end)


def previous_periods(period: Period, count: int = PREVIOUS_PERIODS) -> list[Period]:
    """The ``count`` periods of the same length just before ``period``, the most recent first."""
    periods, current = [], period
    for _ in range(count):
        current = current.previous()
        periods.append(current)
    return periods


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @staticmethod
    def of(day: date) -> Quarter:
        return Quarter(day.year, (day.month - 1) // 3 + 1)

    @property
    def period(self) -> Period:
        start = date(self.year, 3 * self.number - 2, 1)
        following = date(self.year + 1, 1, 1) if self.number == 4 else date(self.year, 3 * self.number + 1, 1)
        return Period(start, following - timedelta(days=1))

    def before(self, count: int) -> list[Quarter]:
        """The ``count`` quarters before this one, the oldest first."""
        index = self.year * 4 + self.number - 1
        return [Quarter(i // 4, i % 4 + 1) for i in range(index - count, index)]

    def label(self) -> str:
        return f"{self.year}-Q{self.number}"


def proportions(counts: dict[str, int]) -> dict[str, dict]:
    """Each key's count and its share of the total (0 when there is none), largest first (ties by key)."""
    total = sum(counts.values())
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {key: {"count": count, "share": round(count / total, 4) if total else 0.0} for key, count in ordered}


def per_million(complaints: int, units: int) -> float | None:
    """Complaints per million units distributed; None when nothing was distributed (no rate, not 0)."""
    return round(complaints * 1_000_000 / units, 3) if units > 0 else None


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (the smallest value with at least ``fraction`` of the values at or below
    it): always one of the observed values, and the same on every database and Python."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered, middle = sorted(values), len(values) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# --- signal rules ---------------------------------------------------------------------------------


class SignalRule(StrEnum):
    recurrence = "recurrence"
    u_chart = "u_chart"
    class_i = "class_i"


SIGNAL_RULE_LABELS = {
    SignalRule.recurrence: Msg("Recurring problem: complaints of the same type on the same product"),
    SignalRule.u_chart: Msg("Complaint rate beyond the u-chart limits"),
    SignalRule.class_i: Msg("Class I complaint"),
}


@dataclass(frozen=True)
class SignalConfiguration:
    recurrence_count: int = 3
    recurrence_window_days: int = 90
    u_chart_quarters: int = 8
    u_chart_alert_sigma: float = 2.0
    u_chart_action_sigma: float = 3.0


DEFAULT_SIGNAL_CONFIGURATION = SignalConfiguration()
#: the configuration keys, their bounds and what a value must be (whole numbers except the sigmas)
SIGNAL_SETTING_BOUNDS = {"recurrence_count": (2, 100), "recurrence_window_days": (1, 3650),
                         "u_chart_quarters": (4, 40), "u_chart_alert_sigma": (1, 6), "u_chart_action_sigma": (1, 6)}


def check_signal_settings(given: dict) -> dict[str, float | int]:
    """The settings a change gives, each within its bounds; errors name the setting."""
    errors, checked = {}, {}
    for key, value in given.items():
        if key not in SIGNAL_SETTING_BOUNDS:
            errors[key] = [Msg("Unknown signal setting.")]
            continue
        low, high = SIGNAL_SETTING_BOUNDS[key]
        whole = not key.endswith("sigma")
        if isinstance(value, bool) or not isinstance(value, int | float) or (whole and value != int(value)):
            errors[key] = [Msg("A whole number from %(low)s to %(high)s.", low=low, high=high) if whole
                           else Msg("A number from %(low)s to %(high)s.", low=low, high=high)]
        elif value <= 0:
            errors[key] = [Msg("The value must be positive.")]
        elif not low <= value <= high:
            errors[key] = [Msg("From %(low)s to %(high)s.", low=low, high=high)]
        else:
            checked[key] = int(value) if whole else float(value)
    if not given:
        errors["recurrence_count"] = [Msg("Give at least one setting to change.")]
    if errors:
        raise ValidationError(Msg("Invalid signal settings."), errors)
    return checked


def signal_configuration(rows: dict[str, float]) -> SignalConfiguration:
    values = {**DEFAULT_SIGNAL_CONFIGURATION.__dict__, **{k: v for k, v in rows.items() if k in SIGNAL_SETTING_BOUNDS}}
    config = SignalConfiguration(int(values["recurrence_count"]), int(values["recurrence_window_days"]),
                                 int(values["u_chart_quarters"]), float(values["u_chart_alert_sigma"]),
                                 float(values["u_chart_action_sigma"]))
    return config


@dataclass(frozen=True)
class Signal:
    """One signal: the rule that fired, its subject and the numbers that fired it."""

    rule: SignalRule
    product_code: str
    complaint_type: str | None
    count: int
    #: ``alert`` or ``action`` (u-chart); ``action`` for the other rules
    level: str
    #: the complaints behind it (numbers or intake references), and the rule's own figures
    complaints: tuple[str, ...] = ()
    detail: tuple[tuple[str, object], ...] = ()

    @property
    def key(self) -> str:
        """What identifies the signal in a period (a re-run of the same period finds the same keys)."""
        return f"{self.rule.value}:{self.product_code}:{self.complaint_type or '-'}"

    def as_view(self) -> dict:
        return {"rule": self.rule.value, "product_code": self.product_code, "complaint_type": self.complaint_type,
                "count": self.count, "level": self.level, "complaints": list(self.complaints),
                **dict(self.detail), "key": self.key}


@dataclass(frozen=True)
class ComplaintFact:
    """What the signal rules read of one complaint."""

    reference: str
    product_code: str
    complaint_type: str
    received_on: date
    complaint_class: str | None


def recurrence_signals(facts: Iterable[ComplaintFact], period: Period, config: SignalConfiguration) -> list[Signal]:
    """``recurrence_count`` or more complaints of the same type on the same product within
    ``recurrence_window_days`` (a sliding window), where the window ends in the period: one signal per
    product and type, for its fullest window (the earliest such window on a tie)."""
    groups: dict[tuple[str, str], list[ComplaintFact]] = defaultdict(list)
    for fact in facts:
        groups[(fact.product_code, fact.complaint_type)].append(fact)
    signals = []
    window = timedelta(days=config.recurrence_window_days - 1)
    for (product_code, complaint_type), items in sorted(groups.items()):
        items.sort(key=lambda f: (f.received_on, f.reference))
        best: list[ComplaintFact] = []
        first = 0
        for last, fact in enumerate(items):
            while items[first].received_on < fact.received_on - window:
                first += 1
            inside = items[first:last + 1]
            if period.start <= fact.received_on <= period.end and len(inside) > len(best):
                best = inside
        if len(best) >= config.recurrence_count:
            signals.append(Signal(SignalRule.recurrence, product_code, complaint_type, len(best), "action",
                                  tuple(f.reference for f in best),
                                  (("from", best[0].received_on.isoformat()), ("to", best[-1].received_on.isoformat()),
                                   ("window_days", config.recurrence_window_days))))
    return signals


def class_i_signals(facts: Iterable[ComplaintFact], period: Period) -> list[Signal]:
    """Every class I complaint received in the period is a signal of its own product and type."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fact in facts:
        if fact.complaint_class == "I" and period.start <= fact.received_on <= period.end:
            groups[(fact.product_code, fact.complaint_type)].append(fact.reference)
    return [Signal(SignalRule.class_i, product, kind, len(refs), "action", tuple(sorted(refs)))
            for (product, kind), refs in sorted(groups.items())]


@dataclass(frozen=True)
class UChart:
    """A u-chart of complaints per million units over quarters: the centre line from the baseline
    quarters and, for the quarter judged, its limits (they depend on its own units)."""

    quarter: str
    centre: float | None
    rate: float | None
    alert_limit: float | None
    action_limit: float | None
    level: str | None


def u_chart(quarter: Quarter, counts: dict[str, tuple[int, int]], config: SignalConfiguration) -> UChart:
    """Judge ``quarter`` against the ``u_chart_quarters`` before it. ``counts`` maps a quarter label to
    (complaints, units distributed). The rate is per million units: ū = Σc / Σn (n in millions), and the
    limits of a quarter with n_i million units are ū + k·√(ū / n_i). No baseline units or no baseline
    complaints (ū = 0 has no spread to judge against), or no units in the quarter judged: no chart (None),
    never a false signal; the recurrence and class I rules still apply."""
    baseline = [counts.get(q.label(), (0, 0)) for q in quarter.before(config.u_chart_quarters)]
    total_complaints = sum(c for c, _ in baseline)
    total_millions = sum(n for _, n in baseline) / 1_000_000
    complaints, units = counts.get(quarter.label(), (0, 0))
    if total_millions <= 0 or total_complaints == 0 or units <= 0:
        return UChart(quarter.label(), None, None, None, None, None)
    centre = total_complaints / total_millions
    millions = units / 1_000_000
    sigma = math.sqrt(centre / millions)
    rate = complaints / millions
    alert, action = centre + config.u_chart_alert_sigma * sigma, centre + config.u_chart_action_sigma * sigma
    level = "action" if rate > action else "alert" if rate > alert else None
    return UChart(quarter.label(), round(centre, 3), round(rate, 3), round(alert, 3), round(action, 3), level)


def u_chart_signal(product_code: str, chart: UChart, complaints: int) -> Signal | None:
    if chart.level is None:
        return None
    return Signal(SignalRule.u_chart, product_code, None, complaints, chart.level, (),
                  (("quarter", chart.quarter), ("rate", chart.rate), ("centre", chart.centre),
                   ("alert_limit", chart.alert_limit), ("action_limit", chart.action_limit)))


# --- trend reviews ---------------------------------------------------------------------------------


class ReviewStatus(StrEnum):
    #: waiting for the QA head's evaluation
    open = "open"
    #: evaluated: a CAPA was raised (source "trend")
    capa_raised = "capa_raised"
    #: evaluated: no CAPA is needed, signed with the reason
    no_capa = "no_capa"


REVIEW_STATUS_LABELS = {ReviewStatus.open: Msg("Waiting for evaluation"),
                        ReviewStatus.capa_raised: Msg("CAPA raised"),
                        ReviewStatus.no_capa: Msg("No CAPA needed (signed)")}


def review_number(year: int, serial: int) -> str:
    """``TRV-<yy>-<nnn>``: the trend review's own number."""
    return f"TRV-{year % 100:02d}-{serial:03d}"


def review_periods(today: date) -> list[Period]:
    """The quarters ``gmp tick`` looks at for signals: the last full quarter (its u-chart can be judged)
    and the current one so far (recurrences and class I complaints surface at once)."""
    current = Quarter.of(today)
    previous = Quarter.of(current.period.start - timedelta(days=1))
    return [previous.period, current.period]

"""The grading of a complaint beyond its class (REC-08; EU GMP 8.9(iv), 8.10; ICH Q9: risk = probability x severity
of harm): the severity of the harm the defect may cause, on a fixed scale, and its extent — units, batches and
markets affected — and the investigator's decision whether the investigation extends to other batches or
products (REC-11; 21 CFR 211.192).

No Flask, no SQLAlchemy: the services load the fields, ask these rules, and store what they allow.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from gmp_complaints.domain.complaints import ComplaintClass
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.markets import HOME_MARKET


class Severity(StrEnum):
    """The severity of harm, on the SOP §3 scale: critical (§3.1), major (§3.2), minor (§3.3)."""

    critical = "critical"
    major = "major"
    minor = "minor"


#: the scale's short names (page, PDF, audit trail)
SEVERITY_LABELS = {
    Severity.critical: Msg("Critical"),
    Severity.major: Msg("Major"),
    Severity.minor: Msg("Minor"),
}
#: what each step of the scale means (SOP §3.1-3.3), shown with the choice
SEVERITY_DEFINITIONS = {
    Severity.critical: Msg("Critical: may endanger life or seriously threaten health"),
    Severity.major: Msg("Major: may affect health, without a serious threat"),
    Severity.minor: Msg("Minor: no hazard to health"),
}
#: the class whose SOP definition each severity is (§3.1 I, §3.2 II, §3.3 III)
SEVERITY_CLASS = {Severity.critical: ComplaintClass.I, Severity.major: ComplaintClass.II,
                  Severity.minor: ComplaintClass.III}
_RANK = {ComplaintClass.I: 3, ComplaintClass.II: 2, ComplaintClass.III: 1}
#: an extent that could not be established is recorded as such, never guessed
UNKNOWN = "unknown"


def check_severity(complaint_class: ComplaintClass, severity: Severity | None) -> None:
    """The class is the severity's own class, or one class above it — escalated for probability or extent (ICH
    Q9) — never below it (that under-grades the harm) and never two classes above it (the severity or the class
    is then wrong). No severity recorded: nothing to weigh.

    :raise ValidationError: naming ``severity`` (400, nothing stored).
    """
    if severity is None:
        return
    own = SEVERITY_CLASS[severity]
    gap = _RANK[complaint_class] - _RANK[own]
    if gap < 0:
        raise ValidationError(Msg("Severity and class disagree."), {"severity": [Msg(
            "Severity %(severity)s is at least class %(own)s (SOP §3): class %(klass)s would under-grade the harm.",
            severity=SEVERITY_LABELS[severity], own=own.value, klass=complaint_class.value)]})
    if gap > 1:
        raise ValidationError(Msg("Severity and class disagree."), {"severity": [Msg(
            "Class %(klass)s with severity %(severity)s: the class may be one step above the severity (escalated "
            "for probability or extent), not two. Record the severity the evidence supports.",
            klass=complaint_class.value, severity=SEVERITY_LABELS[severity])]})


@dataclass(frozen=True)
class Extent:
    """How far the defect reaches: a count (0 or more), ``UNKNOWN``, or None where not recorded."""

    units_affected: int | str | None
    batches_affected: int | str | None
    markets_affected: tuple[str, ...] | None


def default_extent(linked_batches: int, product_markets: Iterable[str]) -> Extent:
    """What the grading offers, and records where the API leaves it out: the complaint's batches, the product's
    markets (the home market when master data names none); the units affected are never assumed."""
    return Extent(units_affected=None, batches_affected=linked_batches or None,
                  markets_affected=tuple(sorted(set(product_markets))) or (HOME_MARKET,))


def check_count_or_unknown(field: str, number: int | None, unknown: bool | None) -> int | str | None:
    """A count typed on the page with its "unknown" box: one or the other, not both."""
    if unknown and number is not None:
        raise ValidationError(Msg("Number or unknown."), {field: [Msg(
            "Give the number, or tick unknown; not both.")]})
    return UNKNOWN if unknown else number


# --- REC-11: extend the investigation to other batches or products? ------------------------------


@dataclass(frozen=True)
class ExtensionDecision:
    """The investigator's decision whether the investigation extends to other batches or products, why, and
    (when it does) which: batches of the same product (picked from the adjacent batches) and other products."""

    extend: bool
    rationale: str
    batch_nos: tuple[str, ...] = ()
    product_codes: tuple[str, ...] = ()


def check_extension_decision(extend: bool | None, rationale: str | None, batch_nos: Iterable[str] | None,
                             product_codes: Iterable[str] | None, *, required: bool = False
                             ) -> ExtensionDecision | None:
    """The decision with its rationale; with yes, at least one batch or product it extends to; with no, none.
    Left out altogether (the API's contract body), None — unless ``required`` (the page, the decision's own step).

    :raise ValidationError: naming each field at fault (400, nothing stored).
    """
    batches = tuple(dict.fromkeys(b.strip() for b in batch_nos or () if b.strip()))
    products = tuple(dict.fromkeys(p.strip() for p in product_codes or () if p.strip()))
    errors: dict = {}
    no_rationale = Msg("Give the rationale: which batches or products and why, or why no other batch or product is "
                       "concerned.")
    if extend is None:
        if required or rationale or batches or products:
            errors["extend_to_other_batches"] = [Msg(
                "Say whether the investigation extends to other batches or products (yes or no).")]
        if required and not rationale:
            errors["extension_rationale"] = [no_rationale]
    else:
        if not rationale:
            errors["extension_rationale"] = [no_rationale]
        if extend and not (batches or products):
            errors["extension_batch_nos"] = [Msg(
                "Name the batches (from the adjacent batches) or the products the investigation extends to.")]
        if extend is False and (batches or products):
            errors["extension_batch_nos"] = [Msg(
                "The investigation is not extended: name no batches or products.")]
    if errors:
        raise ValidationError(Msg("The decision on other batches is incomplete."), errors)
    if extend is None:
        return None
    return ExtensionDecision(extend=extend, rationale=rationale, batch_nos=batches, product_codes=products)


#: REC-11: what stands between a justified complaint and its closure while the decision is missing
EXTENSION_DECISION_MISSING = Msg(
    "The investigation has not recorded whether it extends to other batches or products (REC-11): record the "
    "decision and its rationale.")


def extension_decision_missing(*, reasonable: bool | None, investigated: bool, decided: bool) -> bool:
    """A complaint assessed reasonable (a defect confirmed) is not closed while its recorded investigation lacks
    the decision. A complaint found not reasonable found no defect to extend, and is the path the fixed contract
    bodies walk to closure (DESIGN §6), so it closes without it."""
    return bool(reasonable) and investigated and not decided

"""The grading beside the class (REC-08: severity and extent) and the investigator's decision whether the
investigation extends to other batches or products (REC-11): the fields as loaded by the steps' schemas, checked
against master data and written to the complaint. The steps themselves (``complaint_steps``) call these inside
their unit of work; this module never commits.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa

from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.grading import (
    UNKNOWN,
    ExtensionDecision,
    Severity,
    check_count_or_unknown,
    default_extent,
)
from gmp_complaints.domain.markets import parse_markets, split_markets
from gmp_complaints.models import Batch, Complaint, Product

REQUIRED = Msg("This field is required.")


@dataclass(frozen=True)
class Grading:
    """The severity and the extent as the request gives them; ``None`` where it leaves one out."""

    severity: Severity | None
    units_affected: int | str | None
    batches_affected: int | str | None
    markets_affected: tuple[str, ...] | None


def collect(errors: dict, check, *args, **kwargs):
    """``check(*args, **kwargs)``, its problems added to ``errors`` (a field already named keeps its first one)."""
    try:
        return check(*args, **kwargs)
    except ValidationError as exc:
        for field, messages in exc.fields.items():
            errors.setdefault(field, messages)
        return None


def grading_fields(fields: dict, errors: dict, *, form: bool) -> Grading:
    """The grading of a classification or regrading body loaded as far as it is valid (``schemas.load_collecting``),
    its problems added to ``errors``. The page (``form``) states every part: the severity, a count or its "unknown"
    box, and at least one market."""
    counts = {}
    for name in ("units_affected", "batches_affected"):
        value = fields.get(name)
        if form and name not in errors:
            value = collect(errors, check_count_or_unknown, name, value, fields.get(f"{name}_unknown"))
            if value is None:
                errors.setdefault(name, [REQUIRED])
        counts[name] = value
    markets = fields.get("markets_affected")
    if markets is not None:
        markets = collect(errors, parse_markets, markets, "markets_affected")
    elif form:
        errors.setdefault("markets_affected", [REQUIRED])
    if form and fields.get("severity") is None:
        errors.setdefault("severity", [REQUIRED])
    return Grading(severity=fields.get("severity"), units_affected=counts.get("units_affected"),
                   batches_affected=counts.get("batches_affected"), markets_affected=markets)


def refuse_if_any(errors: dict) -> None:
    if errors:
        raise ValidationError(Msg("The request has invalid fields."), errors)


def recorded_severity(complaint: Complaint) -> Severity | None:
    return Severity(complaint.severity) if complaint.severity else None


def _count_columns(value: int | str | None) -> tuple[int | None, bool | None]:
    """A count as its two columns: the number, and the "unknown" mark (None where a number or nothing is given)."""
    if value == UNKNOWN:
        return None, True
    return value, None


def grade(complaint: Complaint, grading: Grading, *, with_defaults: bool) -> None:
    """Write the grading to the complaint. ``with_defaults`` (the classification): a batch count or markets left out
    take the complaint's batches and the product's markets; otherwise (a regrading) what is left out stays."""
    batches, markets = grading.batches_affected, grading.markets_affected
    if with_defaults:
        default = default_extent(len(complaint.batch_links), split_markets(complaint.product.markets))
        batches = default.batches_affected if batches is None else batches
        markets = markets or default.markets_affected
    if grading.severity is not None or with_defaults:
        complaint.severity = grading.severity.value if grading.severity else None
    if grading.units_affected is not None or with_defaults:
        complaint.units_affected, complaint.units_affected_unknown = _count_columns(grading.units_affected)
    if batches is not None or with_defaults:
        complaint.batches_affected, complaint.batches_affected_unknown = _count_columns(batches)
    if markets is not None:
        complaint.markets_affected = " ".join(markets)


def _count_view(number: int | None, unknown: bool | None) -> int | str | None:
    return UNKNOWN if unknown else number


def grading_view(complaint: Complaint) -> dict:
    """The grading in the complaint's ``classification``: null where not recorded (classified before it existed,
    or through the API without it)."""
    return {"severity": complaint.severity,
            "units_affected": _count_view(complaint.units_affected, complaint.units_affected_unknown),
            "batches_affected": _count_view(complaint.batches_affected, complaint.batches_affected_unknown),
            "markets_affected": list(split_markets(complaint.markets_affected)) or None}


def grading_defaults(complaint: Complaint) -> dict:
    """What the page's grading form offers before anything is typed: the grading recorded, else the defaults."""
    default = default_extent(len(complaint.batch_links), split_markets(complaint.product.markets))
    recorded = grading_view(complaint)
    batches = recorded["batches_affected"] if recorded["batches_affected"] is not None else default.batches_affected
    units = recorded["units_affected"]
    return {"severity": recorded["severity"] or "",
            "units_affected": "" if units in (None, UNKNOWN) else str(units),
            "units_affected_unknown": "yes" if units == UNKNOWN else "",
            "batches_affected": "" if batches in (None, UNKNOWN) else str(batches),
            "batches_affected_unknown": "yes" if batches == UNKNOWN else "",
            "markets_affected": ", ".join(recorded["markets_affected"] or default.markets_affected)}


# --- REC-11 -------------------------------------------------------------------------------------


def check_extension_targets(session, complaint: Complaint, decision: ExtensionDecision) -> None:
    """The batches named are batches of the complaint's product other than its own; the products named are
    products of master data other than its own.

    :raise ValidationError: naming ``extension_batch_nos`` or ``extension_product_codes`` (400).
    """
    errors: dict = {}
    if decision.batch_nos:
        found = dict(session.execute(sa.select(Batch.batch_no, Batch.id).where(
            Batch.product_id == complaint.product_id, Batch.batch_no.in_(decision.batch_nos))).all())
        own = {link.batch_id for link in complaint.batch_links}
        unknown = [b for b in decision.batch_nos if b not in found]
        mine = [b for b in decision.batch_nos if found.get(b) in own]
        if unknown:
            errors["extension_batch_nos"] = [Msg("Not a batch of this product: %(batches)s.",
                                                 batches=", ".join(unknown))]
        elif mine:
            errors["extension_batch_nos"] = [Msg("Already a batch of this complaint: %(batches)s.",
                                                 batches=", ".join(mine))]
    if decision.product_codes:
        codes = dict(session.execute(sa.select(Product.code, Product.id).where(
            Product.code.in_(decision.product_codes))).all())
        unknown = [c for c in decision.product_codes if c not in codes]
        if unknown:
            errors["extension_product_codes"] = [Msg("Unknown product: %(codes)s.", codes=", ".join(unknown))]
        elif complaint.product_id in codes.values():
            errors["extension_product_codes"] = [Msg(
                "The complaint's own product: name its other batches instead.")]
    if errors:
        raise ValidationError(Msg("Unknown batch or product."), errors)


def _listed(values: tuple[str, ...]) -> str | None:
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":")) if values else None


def decide_extension(complaint: Complaint, decision: ExtensionDecision) -> bool:
    """Write the decision to the complaint; True when it changed anything."""
    before = _decision_columns(complaint)
    complaint.extend_to_other_batches = decision.extend
    complaint.extension_rationale = decision.rationale
    complaint.extension_batch_nos = _listed(decision.batch_nos)
    complaint.extension_product_codes = _listed(decision.product_codes)
    return _decision_columns(complaint) != before


def _decision_columns(complaint: Complaint) -> tuple:
    return (complaint.extend_to_other_batches, complaint.extension_rationale, complaint.extension_batch_nos,
            complaint.extension_product_codes)


def decision_defaults(complaint: Complaint, adjacent_batch_nos: list[str]) -> dict:
    """What the page's decision form offers: the decision recorded (to restate or change), and the batches to pick
    from — the adjacent batches, and any batch already named that is not among them."""
    recorded = extension_view(complaint)
    extend = recorded["extend_to_other_batches"]
    return {"form": {"extend_to_other_batches": "" if extend is None else ("yes" if extend else "no"),
                     "extension_rationale": recorded["extension_rationale"] or "",
                     "extension_product_codes": ", ".join(recorded["extension_product_codes"])},
            "picked": recorded["extension_batch_nos"],
            "batch_choices": list(dict.fromkeys([*adjacent_batch_nos, *recorded["extension_batch_nos"]]))}


def extension_view(complaint: Complaint) -> dict:
    """The decision in the complaint's ``investigation``: null where not recorded."""
    def listed(text: str | None) -> list[str]:
        return json.loads(text) if text else []

    return {"extend_to_other_batches": complaint.extend_to_other_batches,
            "extension_rationale": complaint.extension_rationale,
            "extension_batch_nos": listed(complaint.extension_batch_nos),
            "extension_product_codes": listed(complaint.extension_product_codes)}

"""Compensation to the customer (SOP 5.5.1; the company's customer-complaint rules 客户投诉管理办法) as
plain rules.

The amount and currency are agreed with the customer by sales and finance; who may approve depends on the
amount (in CNY): the approval ladder is configuration, with the company rules' defaults — up to 100,000 the
business department manager, up to 150,000 the vice-president, above that the general manager — and each
level is held by named users. The approval is an electronic signature of a person holding a level that
covers the amount. Compensation is commercial: it never changes a GMP decision (nothing of the complaint's
assessment, class or closure depends on it).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from babel.numbers import list_currencies

from gmp_complaints.domain.errors import ConflictError, Msg, ValidationError

HOME_CURRENCY = "CNY"
#: ISO 4217 codes Babel knows, without the codes reserved for testing and for "no currency"
CURRENCIES = frozenset(code for code in list_currencies() if code not in {"XTS", "XXX"})


class ApprovalLevel(StrEnum):
    """Ordered from the lowest authority to the highest."""

    business_manager = "business_manager"
    vice_president = "vice_president"
    general_manager = "general_manager"


LEVEL_ORDER = tuple(ApprovalLevel)
LEVEL_LABELS = {
    ApprovalLevel.business_manager: Msg("Business department manager"),
    ApprovalLevel.vice_president: Msg("Vice-president"),
    ApprovalLevel.general_manager: Msg("General manager"),
}
#: the company rules' defaults: the most each level approves, in CNY (None: no upper limit)
DEFAULT_LADDER = {ApprovalLevel.business_manager: Decimal("100000"), ApprovalLevel.vice_president: Decimal("150000"),
                  ApprovalLevel.general_manager: None}


class CompensationStatus(StrEnum):
    awaiting_approval = "awaiting_approval"
    approved = "approved"
    rejected = "rejected"


STATUS_LABELS = {
    CompensationStatus.awaiting_approval: Msg("Awaiting approval"),
    CompensationStatus.approved: Msg("Approved"),
    CompensationStatus.rejected: Msg("Rejected"),
}


@dataclass(frozen=True)
class CompensationTerms:
    amount: Decimal
    currency: str
    #: the amount in CNY that the ladder is applied to (the amount itself for CNY)
    amount_cny: Decimal


def check_terms(amount: Decimal, currency: str, amount_cny: Decimal | None) -> CompensationTerms:
    """A positive amount in an ISO 4217 currency; another currency than CNY gives its CNY value too."""
    errors: dict = {}
    if amount <= 0:
        errors["amount"] = [Msg("An amount greater than 0.")]
    if currency not in CURRENCIES:
        errors["currency"] = [Msg("An ISO 4217 currency code such as CNY, USD or EUR.")]
    if currency != HOME_CURRENCY and currency in CURRENCIES:
        if amount_cny is None:
            errors["amount_cny"] = [Msg("Give the amount in CNY too: the approval authority is set in CNY.")]
        elif amount_cny <= 0:
            errors["amount_cny"] = [Msg("An amount greater than 0.")]
    if errors:
        raise ValidationError(Msg("The compensation has invalid fields."), errors)
    return CompensationTerms(amount, currency, amount if currency == HOME_CURRENCY else amount_cny)


def required_level(amount_cny: Decimal, ladder: dict[ApprovalLevel, Decimal | None]) -> ApprovalLevel:
    """The lowest level whose limit covers the amount."""
    for level in LEVEL_ORDER:
        limit = ladder.get(level)
        if limit is None or amount_cny <= limit:
            return level
    return LEVEL_ORDER[-1]


def covers(held: ApprovalLevel | None, needed: ApprovalLevel) -> bool:
    """A higher level approves what a lower one may."""
    return held is not None and LEVEL_ORDER.index(held) >= LEVEL_ORDER.index(needed)


def check_ladder(ladder: dict[ApprovalLevel, Decimal | None]) -> None:
    """Limits rise with the level and only the top level is unlimited."""
    limits = [ladder.get(level) for level in LEVEL_ORDER]
    if limits[-1] is not None or any(limit is None or limit <= 0 for limit in limits[:-1]) or \
            any(a >= b for a, b in zip(limits[:-2], limits[1:-1])):
        raise ValidationError(Msg("Invalid approval ladder."), {"limit": [Msg(
            "Each level's limit is above the one below it, and only the general manager is unlimited.")]})


def check_may_decide(status: CompensationStatus) -> None:
    if status is not CompensationStatus.awaiting_approval:
        raise ConflictError(Msg("This compensation is already decided."))

"""Where a product is marketed, and whom a quality defect must be reported to there (EU GMP Chapter 8
principle, 8.15, 8.25, 8.26; baseline HO-08).

Markets are ISO 3166-1 alpha-2 country codes, plus ``EU`` for a centrally authorised product (one
authorisation for the whole Union). A product marketed in the European Economic Area owes the
competent authorities of those markets — and its marketing authorisation holder, when that is not this
site — a notification of a confirmed or possible quality defect that may lead to a recall or to an
abnormal restriction of supply, before the recall is executed.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from gmp_complaints.domain.errors import Msg, ValidationError

#: the site's own market when master data names none (a Chinese manufacturer)
HOME_MARKET = "CN"
#: a product authorised through the EU's centralised procedure
EU_CENTRAL = "EU"
#: the EEA: the 27 EU member states with Iceland, Liechtenstein and Norway
EEA_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO".split())
#: the notification of a defect is due within a day of the proposal (the EU rapid-alert practice for the most
#: urgent class), and the recall waits for it unless a very serious risk is documented
DEFECT_NOTICE_HOURS = 24
_CODE = re.compile(r"^[A-Z]{2}$")


def parse_markets(values: Iterable[str], field: str = "markets") -> tuple[str, ...]:
    """Upper-cased, de-duplicated, sorted market codes; at least one; each two letters."""
    codes = sorted({str(v).strip().upper() for v in values if str(v).strip()})
    bad = [code for code in codes if not _CODE.match(code)]
    if bad:
        raise ValidationError(Msg("Unknown market."), {field: [Msg(
            "Markets are two-letter country codes (CN, US, DE …) or EU; not %(codes)s.", codes=", ".join(bad))]})
    if not codes:
        raise ValidationError(Msg("No market."), {field: [Msg("Name at least one market, e.g. CN.")]})
    return tuple(codes)


def split_markets(text: str | None) -> tuple[str, ...]:
    """Markets as stored or typed: separated by spaces, commas or semicolons."""
    return tuple(part for part in re.split(r"[\s,;]+", text or "") if part)


def eea_markets(markets: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(code for code in markets if code in EEA_COUNTRIES or code == EU_CENTRAL))


@dataclass(frozen=True)
class DefectRecipient:
    """One party a quality defect is reported to: a competent authority (by market) or the MAH."""

    market: str | None
    authority: str


def defect_notice_recipients(markets: Iterable[str], marketing_authorisation_holder: str | None
                             ) -> list[DefectRecipient]:
    """Every concerned EEA competent authority (EMA for a centrally authorised product), and the MAH when
    the site is not the MAH (EU GMP 8.15). Empty for a product not marketed in the EEA."""
    concerned = eea_markets(markets)
    if not concerned:
        return []
    # Stored in the register as data, in both languages like the local authority's name.
    recipients = [DefectRecipient(code, "EMA / 欧盟监管当局 (EU supervisory authority)" if code == EU_CENTRAL
                                  else f"{code} 药品主管当局 (competent authority)") for code in concerned]
    if marketing_authorisation_holder:
        recipients.append(DefectRecipient(None, f"上市许可持有人 (MAH): {marketing_authorisation_holder}"[:200]))
    return recipients


def expired_without_recall(*, reasonable: bool | None, actions: Iterable[str], batch_expiry_dates: Iterable[date | None],
                           on: date) -> bool:
    """A confirmed defect for which no recall is chosen because every batch concerned has expired: the EU
    authorities are told all the same (EU GMP 8.15, last sentence of HO-08)."""
    expiries = list(batch_expiry_dates)
    return (reasonable is True and "recall" not in set(actions) and bool(expiries)
            and all(expiry is not None and expiry < on for expiry in expiries))


def partner_notice_recipients(marketing_authorisation_holder: str | None, contract_partner: str | None) -> list[str]:
    """Who outside the site is told of a complaint on the product (EU GMP Chapter 8 principle and 8.15,
    China GMP Art. 290; HO-14): the contract giver or manufacturer, and the marketing authorisation
    holder when that is not this site; one entry each, the same organisation once."""
    recipients = []
    if contract_partner:
        recipients.append(f"合同方，投诉告知 (contract partner, complaint notice): {contract_partner}"[:200])
    if marketing_authorisation_holder and marketing_authorisation_holder != contract_partner:
        # Worded apart from the quality-defect notice to the MAH (HO-08), which is a separate entry.
        recipients.append(f"上市许可持有人，投诉告知 (MAH, complaint notice): {marketing_authorisation_holder}"[:200])
    return recipients

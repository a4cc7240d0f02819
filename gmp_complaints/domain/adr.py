"""The pharmacovigilance hand-off (SOP 5.6.2, DESIGN §4; baseline WF-03, HO-01) as plain rules.

A complaint with a suspected adverse reaction is handed to pharmacovigilance. Day 0 is the first
awareness by anyone in the company: the received date or earlier, never later. The case carries the
four minimum elements (identifiable reporter, patient, suspect product, reaction) and stays
"incomplete" until all four are there; its seriousness and whether the reaction is new (unexpected)
set the reporting clocks of each market the product is sold in. The PV officer accepts the hand-off
(time recorded) and records the safety-database case number and the submission. Later information is a
follow-up entry of its own, with its own clocks.

China (药品不良反应报告和监测管理办法 Arts 20-22): a death at once; a new or serious reaction within 15
days; others within 30 days. EU (GVP module VI): serious 15 days, non-serious 90 days. US (21 CFR
314.80(c)(1)(i)): serious and unexpected within 15 calendar days (others go in periodic reports).
These clocks are master data per market (``ClockRule``): the administrator changes them with a reason, and a
change applies to hand-offs created afterwards; a hand-off keeps the due dates it was created with.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.markets import EEA_COUNTRIES, EU_CENTRAL, HOME_MARKET
from gmp_complaints.domain.roles import Role


class Seriousness(StrEnum):
    death = "death"
    life_threatening = "life_threatening"
    hospitalisation = "hospitalisation"
    disability = "disability"
    congenital_anomaly = "congenital_anomaly"
    medically_important = "medically_important"
    non_serious = "non_serious"


SERIOUSNESS_LABELS = {
    Seriousness.death: Msg("Death"),
    Seriousness.life_threatening: Msg("Life-threatening"),
    Seriousness.hospitalisation: Msg("Hospitalisation or its prolongation"),
    Seriousness.disability: Msg("Disability or incapacity"),
    Seriousness.congenital_anomaly: Msg("Congenital anomaly"),
    Seriousness.medically_important: Msg("Other medically important condition"),
    Seriousness.non_serious: Msg("Non-serious"),
}


class AdrStatus(StrEnum):
    #: a minimum element is missing
    incomplete = "incomplete"
    #: complete and waiting for the PV officer
    handed_off = "handed_off"
    accepted = "accepted"
    #: the PV officer recorded the safety-database case and its submission
    submitted = "submitted"


ADR_STATUS_LABELS = {
    AdrStatus.incomplete: Msg("Incomplete"),
    AdrStatus.handed_off: Msg("Handed off, waiting for PV"),
    AdrStatus.accepted: Msg("Accepted by PV"),
    AdrStatus.submitted: Msg("Submitted"),
}

#: who sees the reporter, the patient and the reaction (health data): PV, and the people who receive and
#: handle the complaint; everyone else (investigators, the QP, auditors) sees them masked
ROLES_SEEING_CASE = frozenset({Role.pv_officer, Role.intake, Role.qa_officer, Role.qa_head})
#: who hands a suspected reaction to PV: whoever registers or classifies the complaint, and PV itself
ROLES_HANDING_OFF = frozenset({Role.intake, Role.qa_officer, Role.qa_head, Role.pv_officer})
#: who answers PV's request for a batch-quality investigation (HO-03): the complaint's investigation side
ROLES_ANSWERING_PV = frozenset({Role.qa_officer, Role.qa_head, Role.investigator})

#: the four minimum elements of a valid case report (ICH E2D), in the order they are asked for
MINIMUM_ELEMENTS = ("reporter", "patient", "suspect_product", "reaction")
ELEMENT_LABELS = {"reporter": Msg("Identifiable reporter"), "patient": Msg("Identifiable patient"),
                  "suspect_product": Msg("Suspect product"), "reaction": Msg("Adverse reaction")}


def missing_elements(*, reporter: str | None, patient: str | None, suspect_product: str | None,
                     reaction: str | None) -> list[str]:
    given = {"reporter": reporter, "patient": patient, "suspect_product": suspect_product, "reaction": reaction}
    return [name for name in MINIMUM_ELEMENTS if not (given[name] or "").strip()]


def adr_status(*, missing: list[str], accepted: bool, submitted: bool) -> AdrStatus:
    if submitted:
        return AdrStatus.submitted
    if accepted:
        return AdrStatus.accepted
    return AdrStatus.incomplete if missing else AdrStatus.handed_off


def check_day0(aware_on: date, *, received_on: date, today: date) -> None:
    """Day 0 is when anyone in the company first knew: the received date or earlier (HO-01)."""
    if aware_on > received_on:
        raise ValidationError(Msg("Day 0 after receipt."), {"aware_on": [Msg(
            "Day 0 is the first awareness by anyone in the company: not later than the received date (%(date)s).",
            date=received_on.isoformat())]})
    if aware_on > today:
        raise ValidationError(Msg("Date in the future."), {"aware_on": [Msg("The date cannot be in the future.")]})


@dataclass(frozen=True)
class ReportingClock:
    """One authority's deadline for this case."""

    market: str
    authority: str
    due_on: date
    #: the rule that set it, for the register and the hand-off packet
    rule: Msg


CHINA_AUTHORITY = "国家药品不良反应监测中心 (China ADR monitoring centre)"
#: the authority as read in the page language (the stored name is bilingual)
AUTHORITY_LABELS = {CHINA_AUTHORITY: Msg("China ADR monitoring centre (国家药品不良反应监测中心)")}
EU_AUTHORITY = "EudraVigilance (EMA)"
US_AUTHORITY = "FDA (FAERS)"


class ClockRule(StrEnum):
    """The reporting clocks per market (HO-01): master data, each a number of calendar days after day 0."""

    cn_death = "cn_death"
    cn_death_report = "cn_death_report"
    cn_serious = "cn_serious"
    cn_other = "cn_other"
    eu_serious = "eu_serious"
    eu_non_serious = "eu_non_serious"
    us_serious_unexpected = "us_serious_unexpected"
    cn_group_event = "cn_group_event"


#: the market each clock belongs to
CLOCK_MARKETS = {ClockRule.cn_death: "CN", ClockRule.cn_death_report: "CN", ClockRule.cn_serious: "CN",
                 ClockRule.cn_other: "CN", ClockRule.eu_serious: "EU", ClockRule.eu_non_serious: "EU",
                 ClockRule.us_serious_unexpected: "US", ClockRule.cn_group_event: "CN"}
#: today's rules (药品不良反应报告和监测管理办法 Arts 20-22, 27; GVP module VI; 21 CFR 314.80(c)(1)(i)): the values
#: migration 0046 loads; 0 is "at once" (the same day)
DEFAULT_ADR_CLOCKS: dict[ClockRule, int] = {
    ClockRule.cn_death: 0, ClockRule.cn_death_report: 15, ClockRule.cn_serious: 15, ClockRule.cn_other: 30,
    ClockRule.eu_serious: 15, ClockRule.eu_non_serious: 90, ClockRule.us_serious_unexpected: 15,
    ClockRule.cn_group_event: 0,
}
#: the longest clock an administrator may set, in calendar days
MAX_CLOCK_DAYS = 365
CLOCK_LABELS = {
    ClockRule.cn_death: Msg("China: a death"),
    ClockRule.cn_death_report: Msg("China: the investigation report of a death"),
    ClockRule.cn_serious: Msg("China: a new or serious reaction"),
    ClockRule.cn_other: Msg("China: other reactions"),
    ClockRule.eu_serious: Msg("EU: a serious reaction"),
    ClockRule.eu_non_serious: Msg("EU: a non-serious reaction"),
    ClockRule.us_serious_unexpected: Msg("US: a serious and unexpected reaction"),
    ClockRule.cn_group_event: Msg("China: a group adverse event (to each of the three authorities)"),
}


def clock_rule(rule: ClockRule, days: int) -> Msg:
    """The rule that set an expedited report's deadline, with the clock in force (stored with the report's
    register entry, shown in the page language)."""
    if rule is ClockRule.cn_death:
        return (Msg("China: a death is reported at once") if days == 0
                else Msg("China: a death is reported within %(days)s days", days=days))
    if rule is ClockRule.cn_group_event:
        return (Msg("China: a group adverse event is reported at once") if days == 0
                else Msg("China: a group adverse event is reported within %(days)s days", days=days))
    within = {
        ClockRule.cn_death_report: Msg("China: the investigation report of a death within %(days)s days", days=days),
        ClockRule.cn_serious: Msg("China: a new or serious reaction within %(days)s days", days=days),
        ClockRule.cn_other: Msg("China: other reactions within %(days)s days", days=days),
        ClockRule.eu_serious: Msg("EU: a serious reaction within %(days)s days", days=days),
        ClockRule.eu_non_serious: Msg("EU: a non-serious reaction within %(days)s days", days=days),
        ClockRule.us_serious_unexpected: Msg("US: serious and unexpected within %(days)s calendar days", days=days),
    }
    return within[rule]


def check_clock_days(days) -> int:
    """A clock is a whole number of calendar days, 0 (at once) to ``MAX_CLOCK_DAYS``."""
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_CLOCK_DAYS:
        raise ValidationError(Msg("Invalid clock."), {"days": [Msg(
            "A whole number of calendar days from 0 (at once) to %(max)s.", max=MAX_CLOCK_DAYS)]})
    return days


#: the rules as worded before the clocks became master data (stored with register entries made then)
RULE_CN_DEATH = Msg("China: a death is reported at once")
RULE_CN_DEATH_REPORT = Msg("China: the investigation report of a death within 15 days")
RULE_CN_SERIOUS = Msg("China: a new or serious reaction within 15 days")
RULE_CN_OTHER = Msg("China: other reactions within 30 days")
RULE_EU = Msg("EU: serious 15 days, non-serious 90 days")
RULE_US = Msg("US: serious and unexpected within 15 calendar days")
RULE_CN_GROUP = Msg("China: a group adverse event is reported at once")
#: why the clocks the release loaded are in the audit trail (``gmp init``)
CLOCKS_LOADED = Msg("today's reporting rules, loaded with the release (migration 0046)")
#: every stored text about the clocks the audit trail may hold, read in the page language: the rules as worded
#: before, each rule with today's clocks, and why they were loaded
ADR_CLOCK_RULES = (RULE_CN_DEATH, RULE_CN_DEATH_REPORT, RULE_CN_SERIOUS, RULE_CN_OTHER, RULE_EU, RULE_US,
                   RULE_CN_GROUP, *(clock_rule(rule, days) for rule, days in DEFAULT_ADR_CLOCKS.items()),
                   CLOCKS_LOADED)


def reporting_clocks(*, day0: date, seriousness: Seriousness, unexpected: bool, markets: tuple[str, ...],
                     clocks: dict[ClockRule, int] | None = None) -> list[ReportingClock]:
    """The expedited-report deadlines this case owes, per market the product is sold in (HO-01), on the
    clocks in force (``clocks``; today's rules where not given). A non-serious expected reaction in the US
    owes no expedited report (periodic reporting)."""
    days = {**DEFAULT_ADR_CLOCKS, **(clocks or {})}

    def owed(market: str, authority: str, rule: ClockRule) -> ReportingClock:
        return ReportingClock(market, authority, day0 + timedelta(days=days[rule]), clock_rule(rule, days[rule]))

    serious = seriousness is not Seriousness.non_serious
    result = []
    if HOME_MARKET in markets:
        if seriousness is Seriousness.death:
            result.append(owed("CN", CHINA_AUTHORITY, ClockRule.cn_death))
            result.append(owed("CN", CHINA_AUTHORITY, ClockRule.cn_death_report))
        elif serious or unexpected:
            result.append(owed("CN", CHINA_AUTHORITY, ClockRule.cn_serious))
        else:
            result.append(owed("CN", CHINA_AUTHORITY, ClockRule.cn_other))
    if any(code in EEA_COUNTRIES or code == EU_CENTRAL for code in markets):
        result.append(owed("EU", EU_AUTHORITY, ClockRule.eu_serious if serious else ClockRule.eu_non_serious))
    if "US" in markets and serious and unexpected:
        result.append(owed("US", US_AUTHORITY, ClockRule.us_serious_unexpected))
    return result


def check_us_adr_triage(markets: tuple[str, ...], *, adr_suspected: bool | None, serious: bool | None,
                        unexpected: bool | None) -> tuple[bool | None, bool | None]:
    """WF-03: for a product marketed in the US, a suspected reaction is also triaged as serious or not
    and expected or not (21 CFR 211.198(a): serious and unexpected events are reportable under 314.80).
    Elsewhere, or with no reaction suspected, the answers are not kept."""
    if "US" not in markets or adr_suspected is not True:
        return None, None
    errors = {}
    if serious is None:
        errors["adr_serious"] = [Msg("The product is marketed in the US: say whether the reaction is serious.")]
    if unexpected is None:
        errors["adr_unexpected"] = [Msg("The product is marketed in the US: say whether the reaction is "
                                        "unexpected (not in the labelling).")]
    if errors:
        raise ValidationError(Msg("ADR triage incomplete."), errors)
    return serious, unexpected


#: a cluster of reactions to one product (药品群体不良事件) is looked for within this many days of day 0
CLUSTER_WINDOW_DAYS = 30
#: whom a group adverse event is reported to at once (药品不良反应报告和监测管理办法 Art. 27)
GROUP_EVENT_AUTHORITIES = ("所在地药品监督管理部门 (local medical products administration)",
                           "所在地卫生健康主管部门 (local health authority)",
                           "药品不良反应监测机构 (ADR monitoring centre)")


def in_cluster_window(day0: date, other_day0: date) -> bool:
    """Another reaction to the same product near enough in time to suggest a group event."""
    return abs((other_day0 - day0).days) <= CLUSTER_WINDOW_DAYS


def group_event_clocks(day0: date, clocks: dict[ClockRule, int] | None = None) -> list[ReportingClock]:
    """A group adverse event is reported at once (by phone or fax, then the form) to the local medical
    products administration, the health authority and the ADR monitoring centre (HO-01)."""
    days = {**DEFAULT_ADR_CLOCKS, **(clocks or {})}[ClockRule.cn_group_event]
    return [ReportingClock("CN", authority, day0 + timedelta(days=days), clock_rule(ClockRule.cn_group_event, days))
            for authority in GROUP_EVENT_AUTHORITIES]

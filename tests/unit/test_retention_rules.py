"""RET-01: the retention date is the latest of its four rules, (d) — QP certification + 5 years for EU-certified
batches — only where the site's SOP files the complaint as batch documentation (no database, no Flask)."""
from datetime import date

import pytest

from gmp_complaints.domain.complaints import (
    eu_batch_documentation_dates,
    qp_certification_retention,
    retention_until,
)

RECEIVED = date(2026, 11, 2)


def _until(**overrides):
    facts = {"received_on": RECEIVED, "batch_expiry_dates": [], "product_has_expiry": True,
             "last_distribution_on": None, "qp_certification_dates": ()}
    facts.update(overrides)
    return retention_until(**facts)


@pytest.mark.req("RET-01")
def test_qp_certification_is_kept_five_years_and_a_leap_day_falls_back_to_the_28th():
    assert qp_certification_retention(date(2026, 3, 15)) == date(2031, 3, 15)
    assert qp_certification_retention(date(2028, 2, 29)) == date(2033, 2, 28)


@pytest.mark.req("RET-01")
@pytest.mark.parametrize(("facts", "expected", "rule"), [
    # (b) received + 1 year wins: a complaint received after the batch expired, certified long ago
    ({"batch_expiry_dates": [date(2025, 1, 9)], "qp_certification_dates": [date(2020, 1, 20)]},
     date(2027, 11, 2), "received + 1 year"),
    # (a) the latest expiry + 1 year wins over an older certification + 5 years
    ({"batch_expiry_dates": [date(2027, 6, 30), date(2030, 1, 31)], "qp_certification_dates": [date(2024, 2, 1)]},
     date(2031, 1, 31), "expiry + 1 year"),
    # (c) a product without expiry dating: the last distribution + 3 years wins
    ({"product_has_expiry": False, "last_distribution_on": date(2029, 5, 1),
      "qp_certification_dates": [date(2026, 1, 5)]}, date(2032, 5, 1), "last distribution + 3 years"),
    # (d) the QP certification + 5 years wins over all three
    ({"batch_expiry_dates": [date(2028, 2, 9)], "product_has_expiry": True,
      "qp_certification_dates": [date(2026, 2, 20), date(2026, 3, 15)]}, date(2031, 3, 15), "certification + 5 years"),
    ({"product_has_expiry": False, "last_distribution_on": date(2026, 3, 1),
      "qp_certification_dates": [date(2026, 2, 20)]}, date(2031, 2, 20), "certification + 5 years"),
])
def test_retention_is_the_latest_of_all_four_rules(facts, expected, rule):
    assert _until(**facts) == expected, rule
    # Each rule alone never gives a later date than all of them together.
    assert _until(**{**facts, "qp_certification_dates": ()}) <= expected


@pytest.mark.req("RET-01")
def test_a_batch_unknown_complaint_keeps_received_plus_one_year_whatever_the_setting():
    assert _until() == date(2027, 11, 2)
    assert eu_batch_documentation_dates(enabled=True, product_markets=["DE"], release_dates=[]) == []


@pytest.mark.req("RET-01")
def test_rule_d_counts_only_certified_batches_of_an_eea_marketed_product_and_only_when_the_sop_says_so():
    released = [date(2026, 3, 15), None, date(2026, 2, 20)]
    # Off by default: the SOP files complaints in the QA archive, not as batch documentation.
    assert eu_batch_documentation_dates(enabled=False, product_markets=["DE", "CN"], release_dates=released) == []
    # On: each certified batch of a product marketed in the EEA counts (a batch with no release date does not).
    assert eu_batch_documentation_dates(enabled=True, product_markets=["CN", "DE"], release_dates=released) == [
        date(2026, 2, 20), date(2026, 3, 15)]
    assert eu_batch_documentation_dates(enabled=True, product_markets=["EU"], release_dates=released) != []
    assert eu_batch_documentation_dates(enabled=True, product_markets=["NO"], release_dates=released) != []
    # A product sold only outside the EEA has no EU-certified batches.
    assert eu_batch_documentation_dates(enabled=True, product_markets=["CN", "US", "GB"], release_dates=released) == []

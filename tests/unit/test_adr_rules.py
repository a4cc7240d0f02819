"""The pharmacovigilance hand-off's rules as plain functions (HO-01, WF-03): day 0, minimum elements,
status and the reporting clocks per market. No database, no Flask."""
from datetime import date

import pytest

from gmp_complaints.domain.adr import (
    AdrStatus,
    Seriousness,
    adr_status,
    check_day0,
    missing_elements,
    reporting_clocks,
)
from gmp_complaints.domain.errors import ValidationError

DAY0 = date(2026, 11, 1)


def due(seriousness, unexpected=False, markets=("CN",)):
    return [(c.market, c.due_on) for c in reporting_clocks(day0=DAY0, seriousness=Seriousness(seriousness),
                                                            unexpected=unexpected, markets=markets)]


@pytest.mark.req("HO-01")
def test_china_clocks_death_at_once_serious_or_new_15_days_others_30():
    assert due("death") == [("CN", DAY0), ("CN", date(2026, 11, 16))]  # at once, then the investigation report
    for serious in ("life_threatening", "hospitalisation", "disability", "congenital_anomaly", "medically_important"):
        assert due(serious) == [("CN", date(2026, 11, 16))]
    assert due("non_serious", unexpected=True) == [("CN", date(2026, 11, 16))]  # a new reaction
    assert due("non_serious") == [("CN", date(2026, 12, 1))]


@pytest.mark.req("HO-01")
def test_eu_and_us_clocks_follow_the_markets():
    assert due("hospitalisation", markets=("DE",)) == [("EU", date(2026, 11, 16))]
    assert due("non_serious", markets=("EU",)) == [("EU", date(2027, 1, 30))]
    assert due("hospitalisation", unexpected=True, markets=("US",)) == [("US", date(2026, 11, 16))]
    assert due("hospitalisation", unexpected=False, markets=("US",)) == []  # expected: periodic reporting
    assert due("non_serious", unexpected=True, markets=("US",)) == []
    assert [m for m, _ in due("death", True, ("CN", "FR", "US"))] == ["CN", "CN", "EU", "US"]


@pytest.mark.req("HO-01")
def test_day0_is_never_after_receipt_nor_in_the_future():
    check_day0(date(2026, 10, 30), received_on=date(2026, 11, 2), today=date(2026, 11, 20))
    check_day0(date(2026, 11, 2), received_on=date(2026, 11, 2), today=date(2026, 11, 20))
    with pytest.raises(ValidationError) as late:
        check_day0(date(2026, 11, 3), received_on=date(2026, 11, 2), today=date(2026, 11, 20))
    assert "aware_on" in late.value.fields
    with pytest.raises(ValidationError):
        check_day0(date(2026, 11, 21), received_on=date(2026, 11, 30), today=date(2026, 11, 20))


@pytest.mark.req("HO-01")
def test_the_four_minimum_elements_and_the_status():
    assert missing_elements(reporter="Dr Li", patient="F, 67", suspect_product="Amoxicillin", reaction="rash") == []
    assert missing_elements(reporter=" ", patient=None, suspect_product="Amoxicillin", reaction="") == [
        "reporter", "patient", "reaction"]
    assert adr_status(missing=["patient"], accepted=False, submitted=False) is AdrStatus.incomplete
    assert adr_status(missing=[], accepted=False, submitted=False) is AdrStatus.handed_off
    assert adr_status(missing=["patient"], accepted=True, submitted=False) is AdrStatus.accepted
    assert adr_status(missing=[], accepted=True, submitted=True) is AdrStatus.submitted

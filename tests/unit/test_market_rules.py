"""Markets and the defect notifications they call for (EU GMP 8.15; HO-08), as plain functions. No
database, no Flask."""
from datetime import date

import pytest

from gmp_complaints.domain.errors import ConflictError, ValidationError
from gmp_complaints.domain.markets import (
    defect_notice_recipients,
    eea_markets,
    expired_without_recall,
    parse_markets,
    split_markets,
)
from gmp_complaints.domain.recall import RecallFacts, RecallStatus, check_may_run


def test_markets_are_two_letter_codes_sorted_and_named_once():
    assert parse_markets(["de", " CN", "DE", "eu"]) == ("CN", "DE", "EU")
    assert split_markets("CN, DE;FR  US") == ("CN", "DE", "FR", "US")
    for bad in (["Germany"], ["D"], ["D1"], []):
        with pytest.raises(ValidationError) as refused:
            parse_markets(bad)
        assert "markets" in refused.value.fields


@pytest.mark.req("HO-08")
def test_every_concerned_eea_authority_and_a_third_party_mah_are_told():
    assert eea_markets(["CN", "US", "NO", "DE", "EU"]) == ("DE", "EU", "NO")  # Norway is in the EEA
    assert defect_notice_recipients(["CN", "US"], "Someone") == []  # nothing owed outside the EEA
    recipients = defect_notice_recipients(["CN", "FR", "EU"], "Hanse Pharma GmbH")
    assert [(r.market, r.authority) for r in recipients] == [
        ("EU", "EMA / 欧盟监管当局 (EU supervisory authority)"), ("FR", "FR 药品主管当局 (competent authority)"), (None, "上市许可持有人 (MAH): Hanse Pharma GmbH")]
    assert [r.authority for r in defect_notice_recipients(["IT"], None)] == ["IT 药品主管当局 (competent authority)"]


@pytest.mark.req("HO-08")
def test_a_confirmed_defect_on_expired_batches_without_recall_is_reported():
    today = date(2026, 11, 20)
    expired, in_date = date(2025, 1, 9), date(2028, 1, 9)
    assert expired_without_recall(reasonable=True, actions=["compensation"], batch_expiry_dates=[expired], on=today)
    assert not expired_without_recall(reasonable=True, actions=["recall"], batch_expiry_dates=[expired], on=today)
    assert not expired_without_recall(reasonable=False, actions=[], batch_expiry_dates=[expired], on=today)
    assert not expired_without_recall(reasonable=True, actions=[], batch_expiry_dates=[expired, in_date], on=today)
    assert not expired_without_recall(reasonable=True, actions=[], batch_expiry_dates=[], on=today)  # batch unknown
    assert not expired_without_recall(reasonable=True, actions=[], batch_expiry_dates=[today], on=today)  # last day


@pytest.mark.req("HO-08")
def test_the_recall_runs_only_after_the_eu_notifications_unless_a_very_serious_risk_is_documented():
    waiting = RecallFacts(RecallStatus.in_progress, False, False, 3, 3, unsent_defect_notices=2)
    with pytest.raises(ConflictError, match="EU GMP 8.15"):
        check_may_run(waiting)
    check_may_run(RecallFacts(RecallStatus.in_progress, False, False, 3, 3, unsent_defect_notices=2,
                              authority_notice_exception=True))
    check_may_run(RecallFacts(RecallStatus.in_progress, False, False, 3, 3, unsent_defect_notices=0))

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


def test_the_four_minimum_elements_and_the_status():
    assert missing_elements(reporter="Dr Li", patient="F, 67", suspect_product="Amoxicillin", reaction="rash") == []
    assert missing_elements(reporter=" ", patient=None, suspect_product="Amoxicillin", reaction="") == [
        "reporter", "patient", "reaction"]
    assert adr_status(missing=["patient"], accepted=False, submitted=False) is AdrStatus.incomplete
    assert adr_status(missing=[], accepted=False, submitted=False) is AdrStatus.handed_off
    assert adr_status(missing=["patient"], accepted=True, submitted=False) is AdrStatus.accepted
    assert adr_status(missing=[], accepted=True, submitted=True) is AdrStatus.submitted


@pytest.mark.req("HO-04")
def test_field_alert_reminders_fall_on_us_working_days_1_and_2_once_each():
    from gmp_complaints.domain.calendar import CalendarDay, DayKind, WorkingCalendar, YearStatus
    from gmp_complaints.domain.field_alert import reminder_due

    # Veterans Day, Wednesday 11 November 2026, is a US federal holiday.
    calendar = WorkingCalendar([CalendarDay(date(2026, 11, 11), DayKind.holiday, "Veterans Day")],
                               {2026: YearStatus.official})
    received = date(2026, 11, 9)
    assert reminder_due(received, calendar, date(2026, 11, 9), 0) is None
    assert reminder_due(received, calendar, date(2026, 11, 10), 0) == 1
    assert reminder_due(received, calendar, date(2026, 11, 10), 1) is None
    assert reminder_due(received, calendar, date(2026, 11, 11), 1) is None  # the holiday is not day 2
    assert reminder_due(received, calendar, date(2026, 11, 12), 1) == 2
    assert reminder_due(received, calendar, date(2026, 11, 12), 0) == 2  # a missed run sends only the latest


@pytest.mark.req("WF-03")
def test_us_triage_needs_serious_and_unexpected_only_for_a_suspected_reaction_in_the_us():
    from gmp_complaints.domain.adr import check_us_adr_triage

    assert check_us_adr_triage(("CN",), adr_suspected=True, serious=None, unexpected=None) == (None, None)
    assert check_us_adr_triage(("US",), adr_suspected=False, serious=True, unexpected=True) == (None, None)
    with pytest.raises(ValidationError) as refused:
        check_us_adr_triage(("CN", "US"), adr_suspected=True, serious=None, unexpected=False)
    assert set(refused.value.fields) == {"adr_serious"}
    assert check_us_adr_triage(("US",), adr_suspected=True, serious=False, unexpected=True) == (False, True)


@pytest.mark.req("HO-01")
def test_a_group_event_is_reported_at_once_to_three_authorities_and_clusters_look_30_days_around_day0():
    from gmp_complaints.domain.adr import group_event_clocks, in_cluster_window

    clocks = group_event_clocks(date(2026, 11, 1))
    assert len(clocks) == 3 and {c.due_on for c in clocks} == {date(2026, 11, 1)}
    assert in_cluster_window(date(2026, 11, 1), date(2026, 12, 1))
    assert not in_cluster_window(date(2026, 11, 1), date(2026, 12, 2))
    assert in_cluster_window(date(2026, 11, 1), date(2026, 10, 2))

"""Deadlines as dates from plain facts (SOP §6 time limits, SOP 5.8 reminder and closure): no database."""
from datetime import date

import pytest

from gmp_complaints.calendar_seed import china_days, china_year_status
from gmp_complaints.domain.calendar import WorkingCalendar
from gmp_complaints.domain.complaints import ComplaintClass, Status
from gmp_complaints.domain.criteria import timer_configuration
from gmp_complaints.domain.deadlines import DeadlineFacts, deadlines_for, open_time_limits

CHINA = WorkingCalendar(china_days(2025, 2027), china_year_status(2025, 2027))
DEFAULTS = timer_configuration({})


def facts(**overrides) -> DeadlineFacts:
    base = dict(status=Status.under_investigation, complaint_class=ComplaintClass.II, received_on=date(2026, 9, 28),
                substantiated=True, acknowledged=True, classified=True)
    return DeadlineFacts(**{**base, **overrides})


@pytest.mark.req("WF-08", "WF-05")
def test_time_limits_count_working_days_of_the_site_calendar_per_class():
    # Received Monday 28 September 2026; 1-7 October is the National Day holiday.
    class_ii = deadlines_for(facts(), CHINA, DEFAULTS)
    assert class_ii.initial_feedback_due_on == date(2026, 9, 30)     # 2 working days
    assert class_ii.classification_due_on == date(2026, 10, 8)       # 3: the 29th, the 30th, then the 8th
    class_i = deadlines_for(facts(complaint_class=ComplaintClass.I), CHINA, DEFAULTS)
    assert class_i.initial_feedback_due_on == date(2026, 9, 29)
    assert class_i.formal_reply_due_on < class_ii.formal_reply_due_on
    assert deadlines_for(facts(complaint_class=None), CHINA, DEFAULTS) == class_i  # not yet graded: strictest
    assert class_ii.as_view()["classification_due_on"] == "2026-10-08" and class_ii.as_view()["provisional"] is False


@pytest.mark.req("WF-08")
def test_an_approved_extension_replaces_the_time_limit_it_extends():
    extended = deadlines_for(facts(approved_extensions=(("investigation", date(2026, 12, 31)),)), CHINA, DEFAULTS)
    assert extended.investigation_due_on == date(2026, 12, 31)
    assert extended.formal_reply_due_on == deadlines_for(facts(), CHINA, DEFAULTS).formal_reply_due_on


@pytest.mark.req("WF-06")
def test_reminder_25_and_closure_10_working_days_and_none_for_a_not_substantiated_reply():
    replied = facts(status=Status.awaiting_customer, last_reply_on=date(2026, 11, 20))
    dates = deadlines_for(replied, CHINA, DEFAULTS)
    assert dates.reminder_due_on == date(2026, 12, 25) and dates.close_eligible_on is None
    assert open_time_limits(replied, dates) == [("reminder", date(2026, 12, 25))]
    reminded = facts(status=Status.awaiting_customer, last_reply_on=date(2026, 11, 20),
                     last_reply_reminded_on=date(2026, 12, 28))
    dates = deadlines_for(reminded, CHINA, DEFAULTS)
    assert dates.close_eligible_on == date(2027, 1, 12)  # across New Year's Day, off even in a provisional year
    assert dates.provisional  # 2027 is not yet an official year of the calendar here
    assert open_time_limits(reminded, dates) == [("close_eligible", date(2027, 1, 12))]
    not_substantiated = facts(status=Status.closure_pending, substantiated=False, last_reply_on=date(2026, 11, 20))
    assert deadlines_for(not_substantiated, CHINA, DEFAULTS).reminder_due_on is None


@pytest.mark.req("WF-08")
def test_open_time_limits_follow_the_state_and_end_at_closure():
    fresh = facts(status=Status.registered, acknowledged=False, classified=False, customer_due_on=date(2026, 10, 20))
    dates = deadlines_for(fresh, CHINA, DEFAULTS)
    assert [kind for kind, _ in open_time_limits(fresh, dates)] == ["initial_feedback", "classification",
                                                                     "customer_due"]
    investigating = facts()
    assert [kind for kind, _ in open_time_limits(investigating, deadlines_for(investigating, CHINA, DEFAULTS))] == [
        "investigation", "formal_reply"]
    for status in (Status.closure_pending, Status.closed, Status.void):
        assert open_time_limits(facts(status=status), dates) == []

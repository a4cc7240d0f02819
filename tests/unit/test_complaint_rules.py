"""The complaint state machine, numbers and retention (no database, no Flask)."""
from datetime import date

import pytest

from gmp_complaints.domain.complaints import (
    ComplaintClass,
    ComplaintFacts,
    Status,
    Step,
    allowed_steps,
    complaint_number,
    intake_reference,
    next_status,
    retention_until,
)
from gmp_complaints.domain.errors import ConflictError


def facts(status, substantiated=None, numbered=False, investigated=False, replies=0):
    return ComplaintFacts(Status(status), substantiated, numbered, investigated, replies)


@pytest.mark.req("WF-01")
def test_the_main_path_of_the_sop():
    assert next_status(facts("registered"), Step.validity, substantiated=True) is Status.registered
    assert next_status(facts("registered", True), Step.classify) is Status.under_investigation
    assert next_status(facts("under_investigation", True, True, True), Step.assess) is Status.assessed
    assert next_status(facts("assessed", True, True, True), Step.reply) is Status.awaiting_customer
    assert next_status(facts("awaiting_customer", True, True, True, 1), Step.customer_response,
                       satisfied=True) is Status.closure_pending
    assert next_status(facts("awaiting_customer", True, True, True, 1), Step.customer_response,
                       satisfied=False) is Status.under_investigation
    assert next_status(facts("awaiting_customer", True, True, True, 1),
                       Step.no_response_closure_pending) is Status.closure_pending


@pytest.mark.req("WF-01")
def test_not_substantiated_skips_numbering_and_its_reply_leads_to_closure():
    assert next_status(facts("registered"), Step.validity, substantiated=False) is Status.assessed
    assert next_status(facts("assessed", False), Step.reply) is Status.closure_pending
    with pytest.raises(ConflictError):
        next_status(facts("registered", False), Step.classify)


@pytest.mark.req("WF-01")
@pytest.mark.parametrize("status", [s.value for s in Status])
def test_only_the_listed_moves_are_allowed_and_closed_or_void_allow_none(status):
    allowed = allowed_steps(facts(status, True, status != "registered", True, 1))
    if status in ("void", "closed"):
        # Closed means closed: a response after closure opens a linked follow-up complaint instead (WF-07).
        assert allowed == []
    expected = {
        "registered": [Step.acknowledge, Step.classify],
        "under_investigation": [Step.acknowledge, Step.investigate, Step.assess, Step.regrade],
        "assessed": [Step.acknowledge, Step.reply, Step.regrade],
        "awaiting_customer": [Step.acknowledge, Step.customer_response, Step.remind, Step.regrade],
        "closure_pending": [Step.customer_response],
    }.get(status, [])
    assert allowed == expected


@pytest.mark.req("WF-01")
def test_assessment_needs_an_investigation():
    with pytest.raises(ConflictError):
        next_status(facts("under_investigation", True, True, investigated=False), Step.assess)


@pytest.mark.req("REC-04")
def test_numbers_have_at_least_three_digit_serials_and_references_five():
    assert complaint_number(ComplaintClass.I, 2026, 1) == "TS-I-26-001"
    assert complaint_number(ComplaintClass.III, 2013, 42) == "TS-III-13-042"
    assert complaint_number(ComplaintClass.I, 2026, 1000) == "TS-I-26-1000"
    assert intake_reference(2026, 7) == "R-2026-00007"


@pytest.mark.req("RET-01")
def test_retention_is_the_latest_of_its_three_rules():
    received = date(2026, 3, 1)
    assert retention_until(received_on=received, batch_expiry_dates=[], product_has_expiry=True,
                           last_distribution_on=None) == date(2027, 3, 1)
    assert retention_until(received_on=received, batch_expiry_dates=[date(2027, 6, 30), date(2028, 1, 31)],
                           product_has_expiry=True, last_distribution_on=None) == date(2029, 1, 31)
    assert retention_until(received_on=received, batch_expiry_dates=[], product_has_expiry=False,
                           last_distribution_on=date(2026, 5, 1)) == date(2029, 5, 1)
    assert retention_until(received_on=date(2028, 2, 29), batch_expiry_dates=[], product_has_expiry=True,
                           last_distribution_on=None) == date(2029, 2, 28)


@pytest.mark.req("WF-01")
def test_the_initial_feedback_is_recorded_once_and_then_no_longer_offered():
    from gmp_complaints.domain.complaints import ComplaintFacts, allowed_steps
    from gmp_complaints.domain.errors import ConflictError

    done = ComplaintFacts(Status.under_investigation, True, True, False, 0, acknowledged=True)
    with pytest.raises(ConflictError):
        next_status(done, Step.acknowledge)
    assert Step.acknowledge not in allowed_steps(done)
    assert Step.acknowledge in allowed_steps(facts("under_investigation", True, True))

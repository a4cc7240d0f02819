"""Triage rules (no database, no Flask): the routing of what is not a quality defect (REC-09) and the hold of a
possible failure to meet specification until the head of quality's determination (WF-02)."""
import pytest

from gmp_complaints.domain.complaints import ComplaintFacts, Status, Step, allowed_steps, next_status
from gmp_complaints.domain.errors import ConflictError, ValidationError
from gmp_complaints.domain.triage import Answer, RoutedTo, check_routing, falsification_alert, spec_failure_pending


def facts(status=Status.registered, substantiated=None, suspected=False, determined=False, **more) -> ComplaintFacts:
    return ComplaintFacts(status=status, substantiated=substantiated, numbered=False, investigated=False, replies=0,
                          spec_failure_suspected=suspected, spec_failure_determined=determined, **more)


class TestRouting:
    @pytest.mark.req("REC-09")
    def test_a_complaint_that_is_not_a_quality_defect_must_name_the_group_it_goes_to(self):
        with pytest.raises(ValidationError) as raised:
            check_routing(Answer.no, None, None)
        assert set(raised.value.fields) == {"routed_to"}
        check_routing(Answer.no, RoutedTo.pharmacovigilance, None)

    @pytest.mark.req("REC-09")
    def test_routing_to_another_group_says_which(self):
        with pytest.raises(ValidationError) as raised:
            check_routing(Answer.no, RoutedTo.other, None)
        assert set(raised.value.fields) == {"routing_note"}
        check_routing(Answer.no, RoutedTo.other, "区域经理 regional manager")

    @pytest.mark.req("REC-09")
    @pytest.mark.parametrize("answer", [Answer.yes, Answer.unknown])
    def test_a_suspected_or_undecided_quality_defect_needs_no_routing(self, answer):
        check_routing(answer, None, None)

    @pytest.mark.req("REC-09")
    def test_only_a_yes_raises_the_falsification_alert(self):
        assert falsification_alert(Answer.yes) and falsification_alert("yes")
        assert not any(falsification_alert(a) for a in (Answer.no, Answer.unknown, None))


class TestSpecificationFailureHold:
    @pytest.mark.req("WF-02")
    def test_a_flag_keeps_even_a_complaint_found_not_substantiated_in_triage(self):
        assert next_status(facts(), Step.validity, substantiated=False, spec_failure_suspected=True) is Status.registered
        assert next_status(facts(), Step.validity, substantiated=False) is Status.assessed
        assert next_status(facts(), Step.validity, substantiated=True, spec_failure_suspected=True) is Status.registered

    @pytest.mark.req("WF-02")
    def test_classification_and_the_not_substantiated_reply_wait_for_the_determination(self):
        held = facts(substantiated=True, suspected=True)
        with pytest.raises(ConflictError) as raised:
            next_status(held, Step.classify)
        assert "211.192" in raised.value.message
        with pytest.raises(ConflictError):
            next_status(facts(substantiated=False, suspected=True), Step.reply)
        assert Step.classify not in allowed_steps(held)
        assert next_status(facts(substantiated=True, suspected=True, determined=True), Step.classify) is \
            Status.under_investigation

    @pytest.mark.req("WF-02")
    def test_the_determination_releases_the_complaint_along_its_path(self):
        assert next_status(facts(substantiated=True, suspected=True), Step.spec_failure_determination) is \
            Status.registered
        assert next_status(facts(substantiated=False, suspected=True), Step.spec_failure_determination) is \
            Status.assessed

    @pytest.mark.req("WF-02")
    @pytest.mark.parametrize("suspected,determined,status", [(False, False, Status.registered),
                                                             (True, True, Status.registered),
                                                             (True, False, Status.void)])
    def test_a_determination_not_due_is_a_conflict(self, suspected, determined, status):
        with pytest.raises(ConflictError):
            next_status(facts(status=status, substantiated=True, suspected=suspected, determined=determined),
                        Step.spec_failure_determination)

    @pytest.mark.req("WF-02")
    def test_pending_means_flagged_and_not_yet_determined(self):
        assert spec_failure_pending(suspected=True, determined=False)
        assert not spec_failure_pending(suspected=True, determined=True)
        assert not spec_failure_pending(suspected=None, determined=False)

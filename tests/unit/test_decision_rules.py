"""Decision rules of issue 16 (no database): effectiveness checks not before their due date without a reason; the interim risk decision names its measures."""
import pytest



def test_an_effectiveness_check_before_its_due_date_needs_a_reason():
    from datetime import date

    from gmp_complaints.domain.capa import check_effectiveness_timing
    from gmp_complaints.domain.errors import ValidationError

    due = date(2027, 6, 30)
    check_effectiveness_timing(due, date(2027, 6, 30), None)  # on the due date: no reason needed
    check_effectiveness_timing(due, date(2027, 3, 1), "复发已证实")
    with pytest.raises(ValidationError) as early:
        check_effectiveness_timing(due, date(2027, 3, 1), "  ")
    assert list(early.value.fields) == ["early_reason"]


def test_the_interim_risk_decision_says_what_is_decided_and_the_second_signer_signs_the_same():
    from gmp_complaints.domain.complaints import check_interim_measures
    from gmp_complaints.domain.errors import ValidationError

    assert check_interim_measures([], ["stop_shipment", "quarantine", "quarantine"]) == ["quarantine", "stop_shipment"]
    assert check_interim_measures(["quarantine"], None) == ["quarantine"]  # the second signer signs it as recorded
    for recorded, given in (([], None), ([], ["colour"]), ([], ["monitor_only", "quarantine"]),
                            (["quarantine"], ["stop_shipment"])):
        with pytest.raises(ValidationError) as refused:
            check_interim_measures(recorded, given)
        assert list(refused.value.fields) == ["measures"]

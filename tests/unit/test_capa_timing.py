"""CAPA effectiveness timing (issue 16): not before the due date unless the QA head says why (no database)."""
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

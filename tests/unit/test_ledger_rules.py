"""The ledger's gap rule: every issued serial is held by a complaint (REC-04, REC-05)."""
import pytest

from gmp_complaints.domain.ledger import parse_number, unexplained_gaps


def test_numbers_parse_into_class_year_and_serial():
    assert parse_number("TS-II-26-014") == ("II", 26, 14)
    assert parse_number("TS-I-26-1000") == ("I", 26, 1000)
    with pytest.raises(ValueError):
        parse_number("TS-IV-26-001")


@pytest.mark.req("REC-06")
def test_a_serial_issued_and_held_by_no_complaint_is_an_unexplained_gap():
    numbers = ["TS-I-26-001", "TS-I-26-002", "TS-II-26-001"]
    assert unexplained_gaps(numbers, {"I": 2, "II": 1}) == []
    assert unexplained_gaps(numbers, {"I": 3, "II": 1}) == ["TS-I-26-003"]
    assert unexplained_gaps(["TS-III-26-002"], {"III": 2}) == ["TS-III-26-001"]

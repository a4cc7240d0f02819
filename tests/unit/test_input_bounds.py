"""What an input may be at all (issue 19), as plain rules: the range of record ids and numbers, the span of dates,
the characters text may hold, the depth of a JSON body, and when a complaint can have been received. No database,
no Flask."""
from datetime import date

import pytest

from gmp_complaints.config import ConfigurationError, load_settings
from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.domain.plausibility import (
    EARLIEST_DATE,
    MAX_ID,
    character_problem,
    customer_due_problem,
    date_span_problem,
    received_date_problem,
    record_id_of,
)
from gmp_complaints.services import inputs, schemas


def check(function, value, *args, **kwargs):
    errors: dict = {}
    result = function(errors, {"f": value}, "f", *args, **kwargs)
    return result, [str(m) for m in errors.get("f", [])]


@pytest.mark.req("VAL-03")
@pytest.mark.parametrize("text,code", [("nul\x00", "U+0000"), ("bell\x07", "U+0007"), ("\x1b[31m", "U+001B"),
                                       ("\ud800", "U+D800"), ("low \udfff half", "U+DFFF")])
def test_text_with_a_control_character_or_a_lone_surrogate_is_refused_naming_it(text, code):
    result, messages = check(inputs.text, text, 100)
    assert result is None and len(messages) == 1 and code in messages[0]
    assert ("surrogate" in messages[0]) == (code >= "U+D800")


@pytest.mark.req("VAL-03")
def test_tabs_line_breaks_and_any_real_character_are_kept():
    assert character_problem("行一\r\n\t行二 😀 ü") is None
    assert check(inputs.text, "瓶盖\n破裂 😀", 100) == ("瓶盖\n破裂 😀", [])


@pytest.mark.req("VAL-03")
@pytest.mark.parametrize("value,said", [
    ("0001-01-01", "0001-01-01 is before 2000-01-01, the earliest date a record may carry."),
    ("1999-12-31", "1999-12-31 is before 2000-01-01, the earliest date a record may carry."),
    ("9999-12-31", "9999-12-31 is after 2999-12-31, the latest date a record may carry."),
    ("２０２６-１１-３０", "Use the form YYYY-MM-DD."),
    ("2026-W48-1", "Use the form YYYY-MM-DD."),
    ("2026-334", "Use the form YYYY-MM-DD."),
    (20261130, "Expected a date as text YYYY-MM-DD, not a number."),
    ("2026-02-30", "2026-02-30 is not a date of the calendar."),
])
def test_a_date_is_iso_of_the_calendar_and_within_the_span_of_records(value, said):
    assert check(inputs.day, value) == (None, [said])


@pytest.mark.req("VAL-03")
def test_the_span_of_dates_includes_its_limits():
    assert date_span_problem(date(2000, 1, 1)) is None and date_span_problem(date(2999, 12, 31)) is None
    assert check(inputs.day, "2000-01-01") == (date(2000, 1, 1), [])
    assert check(inputs.day, date(1900, 1, 1))[1]  # a date handed in by code is held to the span too


@pytest.mark.req("REC-01")
def test_a_complaint_is_received_between_the_configured_floor_and_today():
    today, floor = date(2026, 11, 20), date(2024, 1, 1)
    assert received_date_problem(today, today=today, earliest=floor) is None
    assert received_date_problem(floor, today=today, earliest=floor) is None
    assert str(received_date_problem(date(2023, 12, 31), today=today, earliest=floor)) == (
        "2023-12-31 is before 2024-01-01, the earliest received date this site records.")
    assert str(received_date_problem(date(2026, 11, 21), today=today, earliest=floor)) == (
        "The date cannot be in the future.")


@pytest.mark.req("REC-01")
def test_the_customer_deadline_is_never_before_receipt():
    received = date(2026, 11, 10)
    assert customer_due_problem(received, received_on=received) is None
    assert str(customer_due_problem(date(2026, 11, 9), received_on=received)) == (
        "The customer's deadline cannot be before the received date (2026-11-10).")


@pytest.mark.req("VAL-03")
@pytest.mark.parametrize("value", ["99999999999999999999", "9" * 5000, "-1", "0", "²", "١٢", "1.5", 1.5, True,
                                   2**31, 2**63, "12abc"])
def test_a_whole_number_is_ascii_digits_within_its_range(value):
    assert check(inputs.whole_number, value, minimum=1, maximum=MAX_ID) == (
        None, ["A whole number from 1 to 2147483647."])


@pytest.mark.req("VAL-03")
def test_a_whole_number_may_come_as_digits_from_a_query_string():
    assert check(inputs.whole_number, " 42 ", minimum=0, maximum=100) == (42, [])
    assert check(inputs.whole_number, 2**31 - 1, minimum=1, maximum=MAX_ID) == (MAX_ID, [])
    assert check(inputs.whole_number, "", minimum=0, maximum=1, required=False) == (None, [])


@pytest.mark.req("VAL-03")
def test_a_record_id_is_looked_up_only_when_a_record_can_have_it():
    assert record_id_of("12") == 12 and record_id_of(str(MAX_ID)) == MAX_ID
    assert [record_id_of(t) for t in ("0", str(MAX_ID + 1), "²", "١٢", "", None, "user", "-3")] == [None] * 8


@pytest.mark.req("VAL-03")
def test_a_json_body_is_refused_when_nested_too_deep_or_holding_a_bad_character_anywhere():
    inputs.check_payload({"a": [{"b": "ok"}], "n": 1, "t": True, "x": None})
    nested: object = "x"
    for _ in range(inputs.MAX_JSON_DEPTH):
        nested = [nested]
    inputs.check_payload(nested)  # exactly at the limit
    for payload, field in (([nested], "_body"), ({"complainant": {"name": "a\x00"}}, "complainant.name"),
                           ({"batch_nos": ["B1", "\ud800"]}, "batch_nos.1"), ({"bad\ud800key": 1}, "_body"),
                           ({"checklist": {"bad\x00": {}}}, "checklist")):
        with pytest.raises(ValidationError) as refused:
            inputs.check_payload(payload)
        assert list(refused.value.fields) == [field]


@pytest.mark.req("VAL-03", "REC-01")
def test_ids_in_bodies_are_bounded_and_the_complainant_email_is_an_address():
    with pytest.raises(ValidationError) as refused:
        schemas.load(schemas.CapaCreation, {"complaint_ids": [2**31], "follow_up_of": 2**63})
    assert "Ids run from 1 to 2147483647." in str(refused.value.fields["complaint_ids"])
    assert "Ids run from 1 to 2147483647." in str(refused.value.fields["follow_up_of"])
    with pytest.raises(ValidationError) as refused:
        schemas.load(schemas.Registration, {"complainant": {"name": "王芳", "email": "not an address"}})
    assert refused.value.fields["complainant.email"] == ["An e-mail address, e.g. qa@example.com."]


@pytest.mark.req("VAL-03")
def test_the_earliest_received_date_is_configured_never_before_2000(tmp_path):
    assert load_settings({"GMP_INSTANCE_PATH": str(tmp_path)}).earliest_received_on == EARLIEST_DATE
    configured = load_settings({"GMP_INSTANCE_PATH": str(tmp_path), "GMP_EARLIEST_RECEIVED_ON": "2024-07-01"})
    assert configured.earliest_received_on == date(2024, 7, 1)
    for bad in ("1999-12-31", "2024-W27-1", "20240701", "2024-02-30"):
        with pytest.raises(ConfigurationError, match="GMP_EARLIEST_RECEIVED_ON"):
            load_settings({"GMP_INSTANCE_PATH": str(tmp_path), "GMP_EARLIEST_RECEIVED_ON": bad})


@pytest.mark.req("VAL-03")
def test_a_calendar_notice_refuses_days_outside_the_span_and_names_with_control_characters():
    from gmp_complaints.domain.calendar import CalendarImportError, parse_notice_csv

    with pytest.raises(CalendarImportError) as refused:
        parse_notice_csv("date,kind,name\n9999-10-01,holiday,国庆节\n2026-10-01,holiday,国庆\x00节\n")
    assert [line for line, _ in refused.value.problems] == [2, 3]


@pytest.mark.req("VAL-03", "RET-05")
def test_a_legacy_row_with_a_nul_byte_is_refused_naming_the_column():
    from gmp_complaints.domain.legacy import check_row

    row, problems = check_row(2, {"number": "TS-II-24-001", "received_on": "2024-03-01", "product_code": "P-001",
                                  "complaint_type": "other", "complaint_class": "II", "status": "closed",
                                  "description": "破损\x00"}, today=date(2026, 11, 20))
    said = "description: Contains the control character U+0000"
    assert row is None and any(str(problem).startswith(said) for problem in problems)

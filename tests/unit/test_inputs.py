"""The one place request fields are checked: a wrong type says which type is expected (no database)."""
from datetime import date

import pytest

from gmp_complaints.services import inputs


def check(function, value, *args, **kwargs):
    errors: dict = {}
    result = function(errors, {"f": value}, "f", *args, **kwargs)
    return result, [str(m) for m in errors.get("f", [])]


@pytest.mark.req("VAL-03")
@pytest.mark.parametrize("value,said", [(True, "true or false"), (12, "a number"), (["a"], "a list"),
                                        ({"a": 1}, "an object")])
def test_text_names_the_type_it_expected_and_the_one_it_got(value, said):
    assert check(inputs.text, value, 100) == (None, [f"Expected text, not {said}."])


@pytest.mark.req("VAL-03")
def test_a_boolean_field_says_it_expected_true_or_false():
    assert check(inputs.boolean, "yes") == (None, ["Expected true or false, not text."])
    assert check(inputs.boolean, 1) == (None, ["Expected true or false, not a number."])
    assert check(inputs.boolean, False) == (False, [])


@pytest.mark.req("VAL-03")
@pytest.mark.parametrize("value,message", [
    (20261130, "Expected a date as text YYYY-MM-DD, not a number."),
    ("20261130", "Use the form YYYY-MM-DD."),
    ("2026-W48-1", "Use the form YYYY-MM-DD."),
    ("2026-02-30", "2026-02-30 is not a date of the calendar."),
])
def test_a_date_is_written_one_way_and_must_exist(value, message):
    assert check(inputs.day, value) == (None, [message])


def test_a_proper_date_and_text_pass():
    assert check(inputs.day, " 2026-11-30 ") == (date(2026, 11, 30), [])
    assert check(inputs.text, "  瓶盖破裂 ", 100) == ("瓶盖破裂", [])

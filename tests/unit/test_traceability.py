"""The traceability matrix builder (no database, no Flask)."""
import pytest

from validation.traceability import build_matrix, parse_baseline, render_markdown

BASELINE = """
| ID | Requirement (testable) | Source clause | Src | Prio |
|---|---|---|---|---|
| SEC-05 | Password policy is configurable and enforced. | 21 CFR 11.300(b) | P | Must |
| SEC-06 | Repeated failures raise an alert. | 21 CFR 11.300(d) | P | Must |
| TR-04 | Management-review KPIs. | EU Ch1 1.6 | P / S | Should |
"""


@pytest.mark.req("VAL-02")
def test_requirements_are_read_from_the_baseline_table():
    requirements = parse_baseline(BASELINE)
    assert set(requirements) == {"SEC-05", "SEC-06", "TR-04"}
    assert requirements["SEC-05"].priority == "Must"
    assert requirements["TR-04"].text == "Management-review KPIs."


@pytest.mark.req("VAL-02")
def test_the_matrix_lists_untested_must_requirements_and_unknown_tags():
    results = [
        {"test": "t::a", "reqs": ["SEC-05"], "outcome": "passed"},
        {"test": "t::b", "reqs": ["SEC-05", "XYZ-99"], "outcome": "failed"},
    ]
    matrix = build_matrix(results, parse_baseline(BASELINE))
    assert [t["outcome"] for t in matrix["requirements"]["SEC-05"]["tests"]] == ["passed", "failed"]
    assert matrix["must_without_tests"] == ["SEC-06"]
    assert matrix["unknown_ids"] == ["XYZ-99"]
    assert "| SEC-05 | Must | 2 | 1 | 1 |" in render_markdown(matrix)

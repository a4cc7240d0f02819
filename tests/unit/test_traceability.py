"""The URS and the traceability matrix builder (no database, no Flask)."""
from pathlib import Path

import pytest

from gmp_complaints.urs import UrsError, load_urs, risk_class, risk_priority
from validation.traceability import build_failures, build_matrix, render_markdown

ROOT = Path(__file__).resolve().parents[2]

URS = '''
[urs]
title = "test URS"

[[requirement]]
id = "SEC-05"
title = "Password policy"
statement = "Password policy is configurable and enforced."
source = "21 CFR 11.300(b)"
priority = "Must"
severity = 3
probability = 2
detectability = 2
acceptance = ["a short password is refused"]
design = ["gmp_complaints/domain/passwords.py"]

[[requirement]]
id = "SEC-06"
title = "Alert on repeated failures"
statement = "Repeated failures raise an alert."
source = "21 CFR 11.300(d)"
priority = "Must"
severity = 1
probability = 2
detectability = 1
acceptance = ["five failures raise an alert"]
design = ["gmp_complaints/services/accounts.py"]

[[requirement]]
id = "TR-04"
title = "KPIs"
statement = "Management-review KPIs."
source = "EU Ch1 1.6"
priority = "Should"
severity = 1
probability = 1
detectability = 1
acceptance = ["the KPIs are shown"]
design = ["gmp_complaints/services/trends.py"]
'''


def _urs(tmp_path, text=URS) -> dict:
    path = tmp_path / "urs.toml"
    path.write_text(text, encoding="utf-8")
    return load_urs(path)[1]


@pytest.mark.req("VAL-02")
def test_gamp5_risk_class_and_priority():
    assert risk_class(3, 3) == 1 and risk_class(3, 2) == 1 and risk_class(2, 2) == 2 and risk_class(1, 3) == 2
    assert risk_class(2, 1) == 3 and risk_class(1, 1) == 3
    assert risk_priority(1, 2) == "high" and risk_priority(1, 1) == "medium"
    assert risk_priority(2, 3) == "high" and risk_priority(2, 2) == "medium" and risk_priority(2, 1) == "low"
    assert risk_priority(3, 3) == "medium" and risk_priority(3, 1) == "low"


@pytest.mark.req("VAL-02")
def test_a_high_risk_must_needs_two_passing_tests_one_through_the_interfaces(tmp_path):
    requirements = _urs(tmp_path)
    assert requirements["SEC-05"].risk_priority == "high" and requirements["SEC-06"].risk_priority == "low"
    unit_only = [{"test": "tests/unit/test_p.py::a", "reqs": ["SEC-05"], "outcome": "passed"},
                 {"test": "tests/unit/test_p.py::b", "reqs": ["SEC-05", "SEC-06"], "outcome": "passed"}]
    matrix = build_matrix(unit_only, requirements, commit="abc", run_at="2026-12-04T00:00:00+00:00")
    assert [u["id"] for u in matrix["unproven"]] == ["SEC-05"]
    assert "through the product's interfaces" in matrix["unproven"][0]["why"]
    assert matrix["requirements"]["SEC-06"]["result"] == "proven"
    assert matrix["requirements"]["TR-04"]["result"] == "not required"

    with_integration = unit_only + [{"test": "tests/integration/test_p.py::c", "reqs": ["SEC-05"],
                                     "outcome": "passed"}]
    assert build_matrix(with_integration, requirements)["unproven"] == []


@pytest.mark.req("VAL-02")
def test_a_failed_test_does_not_prove_and_unknown_tags_fail_the_build(tmp_path):
    requirements = _urs(tmp_path)
    results = [{"test": "tests/integration/t.py::a", "reqs": ["SEC-05"], "outcome": "passed"},
               {"test": "tests/integration/t.py::b", "reqs": ["SEC-05", "XYZ-99"], "outcome": "failed"},
               {"test": "tests/integration/t.py::c", "reqs": ["SEC-06"], "outcome": "skipped"}]
    matrix = build_matrix(results, requirements, commit="abc123")
    assert [t["outcome"] for t in matrix["requirements"]["SEC-05"]["tests"]] == ["passed", "failed"]
    assert {u["id"] for u in matrix["unproven"]} == {"SEC-05", "SEC-06"}
    assert matrix["unknown_ids"] == ["XYZ-99"]
    failures = build_failures(matrix)
    assert any(f.startswith("SEC-05 (high risk) is not proven: 1 passing test(s), 2 needed") for f in failures)
    assert "tag XYZ-99 names no requirement of the URS" in failures
    markdown = render_markdown(matrix)
    assert "Commit abc123" in markdown and "| SEC-05 | Must | high |" in markdown and "| not proven |" in markdown


@pytest.mark.req("VAL-02")
@pytest.mark.parametrize("change, message", [
    (('priority = "Should"', 'priority = "Maybe"'), "TR-04: priority must be one of"),
    (("severity = 1\nprobability = 1", "severity = 4\nprobability = 1"), "TR-04: severity must be 1, 2 or 3"),
    (('id = "SEC-06"', 'id = "SEC-05"'), "SEC-05: listed twice"),
    (('design = ["gmp_complaints/services/trends.py"]', "design = []"), "TR-04: needs acceptance criteria"),
])
def test_a_malformed_urs_is_refused_naming_the_requirement(tmp_path, change, message):
    with pytest.raises(UrsError, match=message):
        _urs(tmp_path, URS.replace(*change))


@pytest.mark.req("VAL-02")
def test_the_products_urs_rates_and_traces_every_requirement():
    header, requirements = load_urs()
    assert header["document"] and header["revision"] >= 1
    assert len(requirements) == 100
    musts = [r for r in requirements.values() if r.priority == "Must"]
    assert len(musts) == 83
    # the ratings are considered, not uniform: each priority level occurs among the Musts
    assert {r.risk_priority for r in musts} == {"high", "medium", "low"} or \
        len({(r.severity, r.probability, r.detectability) for r in musts}) > 5
    missing = [(r.id, path) for r in requirements.values() for path in r.design if not (ROOT / path).exists()]
    assert missing == []

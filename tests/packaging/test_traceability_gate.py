"""The test command fails when a Must requirement has no passing test (issue 18; VAL-02): a nested run of the
project's conftest over a small URS and a small test folder, as the whole suite would run."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

URS = '''
[urs]
title = "gate URS"

[[requirement]]
id = "REC-01"
title = "Registration"
statement = "Every complaint can be registered."
source = "21 CFR 211.198(a)"
priority = "Must"
severity = 2
probability = 1
detectability = 2
acceptance = ["a registration gets an intake reference"]
design = ["gmp_complaints/services/complaint_intake.py"]

[[requirement]]
id = "REC-04"
title = "Numbering"
statement = "Numbers are system-generated."
source = "Company SOP"
priority = "Must"
severity = 2
probability = 1
detectability = 2
acceptance = ["no field accepts a number"]
design = ["gmp_complaints/services/numbering.py"]
'''


def _run(tmp_path, tests: str, *extra: str) -> subprocess.CompletedProcess:
    folder = tmp_path / "suite"
    folder.mkdir(exist_ok=True)
    (folder / "test_gate.py").write_text(tests)
    (tmp_path / "urs.toml").write_text(URS)
    env = {**os.environ, "CI": "false", "GMP_URS": str(tmp_path / "urs.toml"),
           "GMP_TRACE_OUTPUT": str(tmp_path / "trace")}
    # testpaths set and no paths given: the run is "the whole suite", as the test command runs it
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "tests.conftest",
                           "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"), "-o",
                           f"testpaths={folder}", *extra], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


BOTH = ("import pytest\n\n@pytest.mark.req('REC-01')\ndef test_one():\n    assert True\n\n"
        "@pytest.mark.req('REC-04')\ndef test_four():\n    assert True\n")


@pytest.mark.req("VAL-02")
def test_the_whole_suite_fails_when_a_must_has_no_passing_test(tmp_path):
    proven = _run(tmp_path, BOTH)
    assert proven.returncode == 0, proven.stdout + proven.stderr
    assert "| REC-04 | Must | low |" in (tmp_path / "trace" / "traceability.md").read_text()

    untested = _run(tmp_path, "import pytest\n\n@pytest.mark.req('REC-01')\ndef test_one():\n    assert True\n")
    assert untested.returncode == 1, untested.stdout + untested.stderr
    assert "REC-04 (low risk) is not proven: 0 passing test(s), 1 needed" in untested.stdout

    unknown = _run(tmp_path, BOTH + "\n@pytest.mark.req('XYZ-01')\ndef test_x():\n    assert True\n")
    assert unknown.returncode == 1 and "tag XYZ-01 names no requirement of the URS" in unknown.stdout


@pytest.mark.req("VAL-02")
def test_a_selection_is_not_held_to_the_whole_urs(tmp_path):
    selected = _run(tmp_path, BOTH, "-k", "test_one")
    assert selected.returncode == 0, selected.stdout + selected.stderr
    assert "not proven" not in selected.stdout


@pytest.mark.req("VAL-02")
def test_the_gate_judges_the_whole_run_when_the_tests_run_on_several_workers(tmp_path):
    """The test command runs the suite on every core (pytest-xdist): the tags must reach the controlling process
    from the workers, which neither write a matrix nor judge the run on their share."""
    proven = _run(tmp_path, BOTH, "-n", "2")
    assert proven.returncode == 0, proven.stdout + proven.stderr
    matrix = (tmp_path / "trace" / "traceability.md").read_text()
    assert "| REC-01 | Must |" in matrix and "| REC-04 | Must | low |" in matrix
    assert "test_gate.py::test_four" in (tmp_path / "trace" / "traceability.json").read_text()

    untested = _run(tmp_path, "import pytest\n\n@pytest.mark.req('REC-01')\ndef test_one():\n    assert True\n",
                    "-n", "2")
    assert untested.returncode == 1, untested.stdout + untested.stderr
    assert "REC-04 (low risk) is not proven: 0 passing test(s), 1 needed" in untested.stdout

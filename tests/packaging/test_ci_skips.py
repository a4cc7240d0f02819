"""With CI=true nothing may be skipped (issue 18; VAL-02): a run in which a test skips fails, naming it; without CI
the same run passes with the skip reported."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path, ci: bool, *extra: str) -> subprocess.CompletedProcess:
    test = tmp_path / "test_skips_here.py"
    test.write_text("import pytest\n\ndef test_skipped():\n    pytest.skip('not here')\n\n"
                    "def test_passes():\n    assert True\n")
    env = {**os.environ, "CI": "true" if ci else "false", "GMP_TRACE_OUTPUT": str(tmp_path / "trace")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "tests.conftest",
                           "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"), str(test), *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.req("VAL-02")
def test_a_skipped_test_fails_the_run_under_ci(tmp_path):
    ci = _run(tmp_path, ci=True)
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "CI=true: 1 test(s) skipped" in ci.stdout and "::test_skipped" in ci.stdout
    local = _run(tmp_path, ci=False)
    assert local.returncode == 0, local.stdout + local.stderr


@pytest.mark.req("VAL-02")
def test_a_skip_on_a_worker_fails_the_run_under_ci(tmp_path):
    on_workers = _run(tmp_path, True, "-n", "2")  # as the test command runs the suite
    assert on_workers.returncode == 1, on_workers.stdout + on_workers.stderr
    assert "CI=true: 1 test(s) skipped" in on_workers.stdout and "::test_skipped" in on_workers.stdout

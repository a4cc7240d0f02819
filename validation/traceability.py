"""The URS and the traceability matrix (VAL-01, VAL-02): requirement → design → tests → last result.

The requirements are the product's own URS (``validation/urs.toml``): each with its priority, its GAMP 5 risk
rating and the modules that implement it. The matrix is built from the ``@pytest.mark.req(...)`` tags of a test
run; ``unproven`` names every requirement whose test depth the risk assessment asks for and the run did not
deliver, which fails a full run of the test command. Plain functions, no pytest import.
"""
from __future__ import annotations

import json
from pathlib import Path

from gmp_complaints.urs import Requirement, required_depth

#: a test that drives the product through its interfaces (database, HTTP, console script, browser) — not a unit test
THROUGH_INTERFACES = ("tests/integration/", "tests/packaging/", "tests/browser/")


def build_matrix(results: list[dict], requirements: dict[str, Requirement], *, commit: str = "",
                 run_at: str = "") -> dict:
    """``results``: one ``{"test", "reqs", "outcome"}`` per test. Unknown IDs are reported, not dropped."""
    by_requirement: dict[str, list[dict]] = {}
    for result in results:
        for req in result["reqs"]:
            by_requirement.setdefault(req, []).append({"test": result["test"], "outcome": result["outcome"]})
    entries = {}
    unproven = []
    for req_id, requirement in requirements.items():
        tests = sorted(by_requirement.get(req_id, []), key=lambda t: t["test"])
        passed = [t["test"] for t in tests if t["outcome"] == "passed"]
        needed, through_interfaces = required_depth(requirement)
        shortfall = _shortfall(passed, needed, through_interfaces)
        if shortfall:
            unproven.append({"id": req_id, "risk_priority": requirement.risk_priority, "why": shortfall})
        entries[req_id] = {
            "title": requirement.title, "priority": requirement.priority,
            "risk": {"severity": requirement.severity, "probability": requirement.probability,
                     "detectability": requirement.detectability, "class": requirement.risk_class,
                     "priority": requirement.risk_priority},
            "design": list(requirement.design), "tests": tests,
            "result": "not required" if not needed and not passed else "proven" if not shortfall else "not proven"}
    return {
        "commit": commit, "run_at": run_at,
        "requirements": entries,
        "unknown_ids": sorted(set(by_requirement) - set(requirements)),
        "unproven": unproven,
        "failed_tests": sorted({r["test"] for r in results if r["outcome"] == "failed" and r["reqs"]}),
    }


def _shortfall(passed: list[str], needed: int, through_interfaces: int) -> str:
    if len(passed) < needed:
        return f"{len(passed)} passing test(s), {needed} needed"
    if sum(test.startswith(THROUGH_INTERFACES) for test in passed) < through_interfaces:
        return "no passing test through the product's interfaces (integration, packaging or browser)"
    return ""


def render_markdown(matrix: dict) -> str:
    lines = ["# Traceability matrix", "", f"Commit {matrix['commit'] or 'unknown'}, run {matrix['run_at'] or '?'}.",
             "", "| requirement | priority | risk | design | tests | passed | failed | result |",
             "|---|---|---|---|---|---|---|---|"]
    for req_id, entry in matrix["requirements"].items():
        tests = entry["tests"]
        passed = sum(t["outcome"] == "passed" for t in tests)
        failed = sum(t["outcome"] == "failed" for t in tests)
        lines.append(f"| {req_id} | {entry['priority']} | {entry['risk']['priority']} | "
                     f"{'<br>'.join(entry['design'])} | {len(tests)} | {passed} | {failed} | {entry['result']} |")
    lines += ["", f"Requirements not proven as the risk assessment requires: {len(matrix['unproven'])}"]
    lines += [f"- {u['id']} ({u['risk_priority']} risk): {u['why']}" for u in matrix["unproven"]]
    if matrix["unknown_ids"]:
        lines += ["", "Tags naming no requirement of the URS: " + ", ".join(matrix["unknown_ids"])]
    return "\n".join(lines) + "\n"


def write_reports(matrix: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "traceability.json").write_text(json.dumps(matrix, indent=2, ensure_ascii=False), encoding="utf-8")
    (out_dir / "traceability.md").write_text(render_markdown(matrix), encoding="utf-8")


def build_failures(matrix: dict) -> list[str]:
    """Why a full run of the test command fails: a Must not proven as its risk requires, or a tag naming no
    requirement."""
    failures = [f"{u['id']} ({u['risk_priority']} risk) is not proven: {u['why']}" for u in matrix["unproven"]]
    failures += [f"tag {req_id} names no requirement of the URS" for req_id in matrix["unknown_ids"]]
    return failures

"""Traceability matrix (VAL-02): requirement IDs of the URS → the tests tagged with them → results.

Built from the ``@pytest.mark.req(...)`` tags of a test run; plain functions, no pytest import.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

ROW = re.compile(r"^\|\s*([A-Z]+-\d+)\s*\|(.*)\|\s*(Must|Should|Could)\s*\|\s*$")


@dataclass(frozen=True)
class Requirement:
    id: str
    text: str
    priority: str


def parse_baseline(markdown: str) -> dict[str, Requirement]:
    """The requirement rows of ``regulatory-baseline.md``: ID, text (first cell) and priority."""
    requirements = {}
    for line in markdown.splitlines():
        match = ROW.match(line.strip())
        if match:
            text = match.group(2).split("|")[0].strip()
            requirements[match.group(1)] = Requirement(match.group(1), text, match.group(3))
    return requirements


def build_matrix(results: list[dict], requirements: dict[str, Requirement]) -> dict:
    """``results``: one ``{"test", "reqs", "outcome"}`` per test. Unknown IDs are reported, not dropped."""
    by_requirement: dict[str, list[dict]] = {}
    for result in results:
        for req in result["reqs"]:
            by_requirement.setdefault(req, []).append({"test": result["test"], "outcome": result["outcome"]})
    return {
        "requirements": {
            req_id: {
                "priority": requirements[req_id].priority if req_id in requirements else None,
                "text": requirements[req_id].text if req_id in requirements else None,
                "tests": sorted(by_requirement.get(req_id, []), key=lambda t: t["test"]),
            }
            for req_id in sorted(set(requirements) | set(by_requirement))
        },
        "unknown_ids": sorted(set(by_requirement) - set(requirements)) if requirements else [],
        "must_without_tests": sorted(r.id for r in requirements.values()
                                     if r.priority == "Must" and r.id not in by_requirement),
    }


def render_markdown(matrix: dict) -> str:
    lines = ["# Traceability matrix", "", "| requirement | priority | tests | passed | failed |", "|---|---|---|---|---|"]
    for req_id, entry in matrix["requirements"].items():
        tests = entry["tests"]
        passed = sum(t["outcome"] == "passed" for t in tests)
        failed = sum(t["outcome"] == "failed" for t in tests)
        lines.append(f"| {req_id} | {entry['priority'] or '?'} | {len(tests)} | {passed} | {failed} |")
    lines += ["", f"Must requirements with no test yet: {len(matrix['must_without_tests'])}",
              ", ".join(matrix["must_without_tests"]) or "none"]
    if matrix["unknown_ids"]:
        lines += ["", "Tags naming no requirement of the baseline: " + ", ".join(matrix["unknown_ids"])]
    return "\n".join(lines) + "\n"


def write_reports(results: list[dict], baseline: Path | None, out_dir: Path) -> dict:
    requirements = parse_baseline(baseline.read_text(encoding="utf-8")) if baseline and baseline.exists() else {}
    matrix = build_matrix(results, requirements)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "traceability.json").write_text(json.dumps(matrix, indent=2, ensure_ascii=False), encoding="utf-8")
    (out_dir / "traceability.md").write_text(render_markdown(matrix), encoding="utf-8")
    return matrix

"""The validation documents around IQ and OQ (issue 18), written by the console script from what the release ships:
the validation plan with its risk assessment (VAL-01), the URS (VAL-02), the Part 11 / Annex 11 / China GMP
appendix checklist (VAL-10) and the release notes per version (VAL-05, VAL-06)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from gmp_complaints.migrate import alembic_config
from gmp_complaints.urs import load_urs

GMP = str(Path(sys.executable).with_name("gmp"))


def _document(tmp_path, command: str) -> str:
    out = tmp_path / f"{command}.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GMP_") and k != "DATABASE_URL"}
    result = subprocess.run([GMP, "validate", command, "--out", str(out)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return out.read_text(encoding="utf-8")


@pytest.mark.req("VAL-01")
def test_the_validation_plan_is_gamp5_category5_with_roles_deliverables_criteria_and_risk_driven_depth(tmp_path):
    plan = _document(tmp_path, "plan")
    _, requirements = load_urs()
    assert "GAMP 5 category: **5 (custom application)**" in plan
    for section in ("## 2 Roles and responsibilities", "## 3 Approach (V-model)", "## 4 Risk assessment and test depth",
                    "## 5 Acceptance criteria", "## 6 Deviations", "## 7 Test tools and environments",
                    "## 8 PQ scenarios", "## 9 Change control", "## 10 Supplier SDLC"):
        assert section in plan, section
    for deliverable in ("gmp validate iq --out", "gmp validate oq --out", "gmp validate checklist",
                        "gmp validate release-notes", "gmp review periodic", "bash validation/run_tests.sh"):
        assert deliverable in plan, deliverable
    # every requirement is rated, and its rating decides the depth asked of it
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| ([A-Z]+-\d+) \|.*$", plan, re.MULTILINE)}
    assert set(rows) == set(requirements)
    for req_id, requirement in requirements.items():
        cells = [c.strip() for c in rows[req_id].strip("|").split("|")]
        assert cells[2:8] == [requirement.priority, str(requirement.severity), str(requirement.probability),
                              str(requirement.detectability), str(requirement.risk_class), requirement.risk_priority]
        if requirement.priority == "Must" and requirement.risk_priority == "high":
            assert cells[8] == "2 passing test(s), 1 through the interfaces", rows[req_id]
        elif requirement.priority == "Must":
            assert cells[8] == "1 passing test(s)"
        else:
            assert cells[8] == "reported"
    assert re.search(r"^\| REC-04 \|.*\| OQ-01[^|]*\|$", plan, re.MULTILINE)
    assert set(re.findall(r"\b(?!OQ)[A-Z]{2,3}-\d{2}\b", plan)) <= set(requirements)  # the PQ cites real requirements


@pytest.mark.req("VAL-02")
def test_the_urs_document_states_every_requirement_with_acceptance_risk_and_design(tmp_path):
    urs = _document(tmp_path, "urs")
    _, requirements = load_urs()
    for req_id, requirement in requirements.items():
        assert f"## {req_id} {requirement.title}" in urs
        assert f"**{requirement.risk_priority}**" in urs
    assert urs.count("Acceptance criteria:") == len(requirements) == 100
    assert "`gmp_complaints/services/complaint_intake.py`" in urs


@pytest.mark.req("VAL-10")
def test_the_checklist_assesses_part11_annex11_and_the_china_appendix_with_predicate_rules(tmp_path):
    checklist = _document(tmp_path, "checklist")
    assert "## Applicability" in checklist and "211.198" in checklist and "211.192" in checklist
    assert "| Complaint file" in checklist
    for clause in ("| 11.10(a) |", "| 11.10(e) |", "| 11.50(a) |", "| 11.70 |", "| 11.200(a)(1) |", "| 11.300(a) |"):
        assert clause in checklist, clause
    assert re.search(r"^## .*Annex 11", checklist, re.MULTILINE)
    assert re.search(r"^## .*(China|中国|计算机化系统)", checklist, re.MULTILINE)
    # an applicable clause names the requirements that meet it and the OQ cases that verify them
    audit_trail = next(line for line in checklist.splitlines() if line.startswith("| 11.10(e) |"))
    assert "AT-01" in audit_trail and re.search(r"OQ-\d\d", audit_trail)
    closed_system = next(line for line in checklist.splitlines() if line.startswith("| 11.30 |"))
    assert "| no |" in closed_system


@pytest.mark.req("VAL-05", "VAL-06")
def test_release_notes_cover_this_version_and_every_schema_change(tmp_path):
    notes = _document(tmp_path, "release-notes")
    version = metadata.version("gmp-complaints")
    assert f"## {version} (" in notes and "**Validation impact:**" in notes
    # change control: every migration the release ships is named by the release note of its change
    revisions = {script.revision for script in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()}
    last_cells = [line.rstrip(" |").rsplit("|", 1)[-1] for line in notes.splitlines() if line.startswith("| ")]
    named = set(re.findall(r"\b(\d{4})\b", "\n".join(last_cells)))
    assert revisions - named == set(), f"migrations without a release note: {sorted(revisions - named)}"
    _, requirements = load_urs()
    cited = set(re.findall(r"\b[A-Z]{2,3}-\d{2}\b", notes))
    assert cited and cited <= set(requirements)

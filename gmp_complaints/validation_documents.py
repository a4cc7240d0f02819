"""The validation documents around IQ and OQ (issue 18; VAL-01, VAL-02, VAL-05, VAL-06, VAL-10), generated from the
sources the release ships, so that they cannot drift from it: the URS with its risk assessment
(``validation/urs.toml``), the OQ cases (``gmp_complaints/oq.py``), the Part 11 / Annex 11 / China GMP appendix
checklist (``validation/checklist.toml``) and the release notes (``validation/release_notes.toml``).

Markdown, written by ``gmp validate plan | urs | checklist | release-notes``; the customer's QMS approves them.
"""
from __future__ import annotations

import tomllib
from collections import Counter
from importlib import metadata

from gmp_complaints import resource_dir
from gmp_complaints.urs import Requirement, load_urs, required_depth


def _toml(name: str) -> dict:
    return tomllib.loads((resource_dir("validation") / name).read_text(encoding="utf-8"))


def product_version() -> str:
    try:
        return metadata.version("gmp-complaints")
    except metadata.PackageNotFoundError:
        return "not installed"


def oq_cases_by_requirement() -> dict[str, list[str]]:
    from gmp_complaints.oq import CASES

    cases: dict[str, list[str]] = {}
    for case in CASES:
        for req_id in case.requirement_ids:
            cases.setdefault(req_id, []).append(case.id)
    return cases


def _depth(requirement: Requirement) -> str:
    tests, through_interfaces = required_depth(requirement)
    if not tests:
        return "reported"
    return f"{tests} passing test(s)" + (f", {through_interfaces} through the interfaces" if through_interfaces else "")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


PLAN_BODY = """\
## 1 Purpose and scope

This plan governs the validation of gmp-complaints {version} at the customer's site: the handling of customer
quality complaints (SOP §5: registration, initial feedback, validity and classification, investigation,
assessment, reply, CAPA, closure, archive, review), its hand-offs (recall, returns, ADR, regulator
notifications, compensation) and CAPA, with the audit trail and electronic signatures that make its records
trustworthy. The records it keeps are predicate-rule records (21 CFR 211.198, 211.192, 211.180, 211.204; EU GMP
Ch. 8; China GMP Art. 271–274, 298–305): 21 CFR Part 11, EU GMP Annex 11 and the China GMP computerised-systems
appendix apply in full (`gmp validate checklist`).

GAMP 5 category: **5 (custom application)** — code written for this purpose on Flask, SQLAlchemy and PostgreSQL
(category 1 infrastructure: the operating system, PostgreSQL, Python; category 3: the pinned libraries listed by
`gmp validate describe`). The whole life cycle is therefore validated: requirements, design, code review, tests
at every level, IQ, OQ and PQ.

## 2 Roles and responsibilities

| role | who | responsibility |
|---|---|---|
| System owner | head of quality (`qa_head`) | approves this plan, the URS, the risk assessment, the IQ/OQ/PQ reports and the release for GMP use |
| Process owner | complaint administrator (`qa_officer`) | states the requirements, executes and signs the IQ and OQ (`gmp validate iq/oq --out … --username`), runs the PQ scenarios |
| Users | trained sales, QA, investigators, QP, recall coordinator, PV officer, regulatory affairs | execute the PQ scenarios in their own roles |
| System administrator | IT (`admin`) | installs the release from its wheel and lock, keeps backups, never GMP records |
| Supplier | the gmp-complaints developers | the SDLC below: version control, review, the test command, release notes, defect tracking; supplier records available to inspectors |
| Independent review | internal auditor (`auditor`) | reviews the audit trail and the periodic review report |

## 3 Approach (V-model)

| stage | deliverable | how it is produced |
|---|---|---|
| Requirements | URS with risk assessment | `gmp validate urs` (from `validation/urs.toml`, shipped in the release) |
| Applicability | Part 11 / Annex 11 / China appendix assessment | `gmp validate checklist` |
| Design | system description and inventory; design trace per requirement | `gmp validate describe`; the URS's `design` entries |
| Supplier tests | unit, integration (SQLite and PostgreSQL), browser tests; traceability matrix with commit and date | the test command `bash validation/run_tests.sh`, which fails when a Must requirement is not proven to the depth its risk asks for, or when a test is skipped under `CI=true` |
| IQ | signed IQ report | `gmp validate iq --out iq.pdf --username <executor> --password-stdin` on the installation |
| OQ | signed OQ report with deviations | `gmp validate oq --out oq.pdf --username <executor> --password-stdin` (scratch instance of the installed release) |
| PQ | signed PQ records | section 8, executed by trained users in the live system before release |
| Release | release notes with validation impact | `gmp validate release-notes` |
| Operation | periodic review report | `gmp review periodic --from … --to …` (Annex 11 §11) |

## 4 Risk assessment and test depth

Each requirement of the URS carries a GAMP 5 risk rating. {scales}

Risk class from severity × probability: ≥ 6 → class 1, 3–4 → class 2, ≤ 2 → class 3. Priority from class and
detectability: class 1 → high unless easily detected (medium); class 2 → high when hard to detect, medium, low
when easily detected; class 3 → medium when hard to detect, else low.

The risk priority drives the test depth the traceability matrix demands: a **high**-risk Must requirement needs at
least two passing tests, at least one of them through the product's interfaces (integration, packaging or browser
test); a medium- or low-risk Must needs at least one passing test; Should and Could requirements are reported.
Every Must that can be tested through the product's interfaces is also an OQ case.

Summary: {summary}

| requirement | title | priority | S | P | D | class | risk | test depth | OQ |
|---|---|---|---|---|---|---|---|---|---|
"""

PLAN_TAIL = """
## 5 Acceptance criteria

The system is accepted for GMP use when, for the release being installed:

1. the supplier's test command passed at the release commit: every Must requirement proven to its risk depth, no
   test failed, none skipped (the traceability matrix `validation/output/traceability.md` of that run);
2. `gmp validate iq` passed on the installation (exit 0, signed report);
3. `gmp validate oq` passed (exit 0, every case passed, signed report; a deviation is a failure);
4. the PQ scenarios of section 8 passed, each signed by the user who executed it;
5. every deviation is closed or justified by the system owner, and the release notes' validation impact is
   addressed.

## 6 Deviations

A failed IQ check, OQ case or PQ step is a deviation: recorded with what was expected and what happened (the
reports list them), assessed by the system owner for impact, corrected (a defect in the supplier's tracker,
fixed in a new release, which is then re-qualified) or justified. No deviation may be closed by re-running until
it passes without a recorded cause.

## 7 Test tools and environments (adequacy, Annex 11 §4.7)

pytest runs the supplier's tests; each integration test runs on SQLite and on a real PostgreSQL built by the
migrations; Playwright drives a real Chromium for the pages; Hypothesis generates inputs for the rules. Their
adequacy is shown by the tests themselves: the check commands are tested against deliberately tampered
installations and must fail there; a run that skips a test fails under `CI=true`; a matrix that cannot prove a
Must fails the build. The OQ runs the installed release only (no source tree, no test tools).

## 8 PQ scenarios (executed by trained users)

| scenario | roles | requirements |
|---|---|---|
| Class I complaint from a phone call: register, QP notified and acknowledges, classify (TS-I-yy-nnn), signed interim risk decision, US field alert filed within 3 working days, recall decided by the head of quality and the QP, consignees notified and reconciled, CAPA planned, approved, implemented and checked, reply approved and sent, audit-trail review signed, closure signed | intake, qa_officer, qp, qa_head, regulatory_affairs, recall_coordinator, investigator | REC-01, REC-04, WF-09, HO-01, HO-05, WF-12, WF-16, AT-07 |
| Class III complaint with no customer response: reply, the 25-working-day reminder across a public holiday and an adjusted working day, closure pending after 10 more, sales confirmation, closure | intake, qa_officer, qa_head | WF-06, WF-07 |
| Complaint with a suspected adverse reaction: PV hand-off accepted, safety-database case and submission recorded, authority clock met | qa_officer, pv_officer | HO-01, HO-03 |
| Auditor exports the audit trail of one complaint and of a period and verifies both offline on another machine | auditor | AT-03, AT-06 |
| Backup, restore drill into an empty instance, heads compared | admin | VAL-08 |

## 9 Change control and re-validation (VAL-06)

Every change of the release (code, migrations, templates, pinned dependencies) arrives as a new version with its
release notes (`gmp validate release-notes`), which state the requirements touched and the validation impact.
After every upgrade: IQ, OQ and the PQ scenarios the impact names; configuration changes made in the application
(calendars, clocks, authorities, users and roles) are audited with reason and listed by the periodic review.

## 10 Supplier SDLC (VAL-05)

Version control (git; every change a commit with its reason, referencing its issue); changes work through issues
(the defect and change tracker) and are reviewed before they land; the test command runs on every change (CI)
and must pass; schema changes only through Alembic migrations reviewed by hand; releases are built as wheels with
a SHA-256 manifest (the wheel's RECORD) and a hashed lock of every dependency; release notes per version. The
supplier's records (repository history, issues, CI runs, traceability matrices) are available to the customer
and inspectors on request.
"""


def urs_document() -> str:
    header, requirements = load_urs()
    lines = [f"# {header.get('title', 'User requirements specification')}", "",
             f"Document {header.get('document', '')}, revision {header.get('revision', '')}, effective "
             f"{header.get('effective', '')}; product gmp-complaints {product_version()}.", "",
             " ".join(header.get("scales", "").split()), ""]
    for requirement in requirements.values():
        lines += [f"## {requirement.id} {requirement.title}", "",
                  f"*{requirement.priority}; GMP impact {requirement.gmp_impact}; source: {requirement.source}*", "",
                  requirement.statement, "", "Acceptance criteria:", ""]
        lines += [f"- {criterion}" for criterion in requirement.acceptance]
        lines += ["", f"Risk: severity {requirement.severity}, probability {requirement.probability}, detectability "
                      f"{requirement.detectability} → class {requirement.risk_class}, **{requirement.risk_priority}**"
                      f"{' — ' + requirement.risk_rationale if requirement.risk_rationale else ''}.", "",
                  "Design: " + ", ".join(f"`{path}`" for path in requirement.design), ""]
    return "\n".join(lines)


def validation_plan() -> str:
    header, requirements = load_urs()
    oq = oq_cases_by_requirement()
    musts = [r for r in requirements.values() if r.priority == "Must"]
    by_risk = Counter(r.risk_priority for r in musts)
    summary = (f"{len(requirements)} requirements, {len(musts)} Must; Must by risk: high {by_risk['high']}, "
               f"medium {by_risk['medium']}, low {by_risk['low']}; {sum(r.id in oq for r in musts)} Musts are "
               f"OQ cases.")
    lines = [f"# Validation plan: gmp-complaints {product_version()}", "",
             f"Generated from the URS {header.get('document', '')} revision {header.get('revision', '')}.", "",
             PLAN_BODY.format(version=product_version(), scales=" ".join(header.get("scales", "").split()),
                              summary=summary).rstrip("\n")]
    for r in requirements.values():
        lines.append(f"| {r.id} | {_cell(r.title)} | {r.priority} | {r.severity} | {r.probability} | "
                     f"{r.detectability} | {r.risk_class} | {r.risk_priority} | {_depth(r)} | "
                     f"{', '.join(oq.get(r.id, [])) or '—'} |")
    return "\n".join(lines) + "\n" + PLAN_TAIL


def checklist_document() -> str:
    data = _toml("checklist.toml")
    _, requirements = load_urs()
    oq = oq_cases_by_requirement()
    assessment = data["assessment"]
    lines = [f"# {assessment['title']}: gmp-complaints {product_version()}", "",
             f"Document {assessment.get('document', '')}, revision {assessment.get('revision', '')}.", "",
             "## Applicability", "", " ".join(assessment["statement"].split()), "",
             "| record | predicate rule | in scope |", "|---|---|---|"]
    lines += [f"| {_cell(p['record'])} | {_cell(p['rule'])} | {'yes' if p['in_scope'] else 'no'} |"
              for p in data.get("predicate_rule", [])]
    regulation = None
    for clause in data.get("clause", []):
        if clause["regulation"] != regulation:
            regulation = clause["regulation"]
            lines += ["", f"## {regulation}", "", "| clause | requirement | applies | how the product meets it | "
                      "URS | OQ |", "|---|---|---|---|---|---|"]
        ids = clause.get("requirement_ids", [])
        unknown = [i for i in ids if i not in requirements]
        if unknown:
            raise ValueError(f"checklist clause {clause['clause']}: {', '.join(unknown)} not in the URS")
        cases = sorted({case for i in ids for case in oq.get(i, [])})
        lines.append(f"| {clause['clause']} | {_cell(clause['requirement'])} | "
                     f"{'yes' if clause['applicable'] else 'no'} | {_cell(clause['how'])} | {', '.join(ids) or '—'} | "
                     f"{', '.join(cases) or '—'} |")
    return "\n".join(lines) + "\n"


def release_notes_document() -> str:
    data = _toml("release_notes.toml")
    lines = ["# Release notes: gmp-complaints", ""]
    for release in data.get("release", []):
        lines += [f"## {release['version']} ({release['date']})", "", " ".join(release["summary"].split()), "",
                  "**Validation impact:** " + " ".join(release["validation_impact"].split()), "",
                  "| issue | change | requirements | migrations |", "|---|---|---|---|"]
        for change in release.get("change", []):
            lines.append(f"| {change.get('issue', '')} | **{_cell(change['title'])}** — {_cell(change['summary'])} | "
                         f"{', '.join(change.get('requirement_ids', [])) or '—'} | "
                         f"{', '.join(change.get('migrations', [])) or '—'} |")
        lines.append("")
    return "\n".join(lines)


def released_versions() -> list[str]:
    return [release["version"] for release in _toml("release_notes.toml").get("release", [])]

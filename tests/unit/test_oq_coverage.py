"""The OQ covers every Must of the URS (VAL-04): each is cited by a case of `gmp validate oq` or stated in NOT_IN_OQ
with the reason no OQ case verifies it, never both. No database."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gmp_complaints.oq import CASES, NOT_IN_OQ

URS = Path(__file__).resolve().parents[2] / "validation" / "urs.toml"


def must_ids() -> set[str]:
    if not URS.is_file():
        pytest.fail(f"{URS} is missing: the URS lists the requirements the OQ must cover")
    requirements = tomllib.loads(URS.read_text(encoding="utf-8"))["requirement"]
    return {r["id"] for r in requirements if r["priority"] == "Must"}


def cited() -> set[str]:
    return {requirement for case in CASES for requirement in case.requirement_ids}


@pytest.mark.req("VAL-04")
def test_every_must_is_cited_by_an_oq_case_or_stated_as_not_in_the_oq():
    musts = must_ids()
    assert len(musts) > 50  # the URS was read, not an empty list
    missing = sorted(musts - cited() - set(NOT_IN_OQ))
    assert missing == [], f"Musts neither cited by an OQ case nor in NOT_IN_OQ: {missing}"


@pytest.mark.req("VAL-04")
def test_no_requirement_is_both_cited_and_excluded_and_every_reason_is_real():
    assert sorted(cited() & set(NOT_IN_OQ)) == []
    musts = must_ids()
    assert sorted(set(NOT_IN_OQ) - musts) == [], "NOT_IN_OQ lists only Musts of the URS"
    assert all(len(reason) > 30 for reason in NOT_IN_OQ.values())


@pytest.mark.req("VAL-04")
def test_every_cited_id_is_a_requirement_of_the_urs_and_cases_are_numbered_in_order():
    known = {r["id"] for r in tomllib.loads(URS.read_text(encoding="utf-8"))["requirement"]}
    assert sorted(cited() - known) == []
    assert [c.id for c in CASES] == [f"OQ-{n:02d}" for n in range(1, len(CASES) + 1)]
    assert all(re.fullmatch(r"[A-Z]+-\d+", r) for c in CASES for r in c.requirement_ids)

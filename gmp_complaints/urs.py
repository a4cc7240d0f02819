"""The product's User Requirements Specification (VAL-01, VAL-02): ``validation/urs.toml`` in the checkout,
``gmp_complaints/validation/urs.toml`` in the installed release. Each requirement carries its priority, its GAMP 5
risk rating (severity × probability, then detectability) and the modules that implement it; the risk drives the
test depth the traceability matrix asks for. Plain functions, no Flask, no database.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from gmp_complaints import resource_dir

PRIORITIES = ("Must", "Should", "Could")


def urs_path() -> Path:
    return resource_dir("validation") / "urs.toml"


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    statement: str
    source: str
    priority: str
    gmp_impact: str
    severity: int
    probability: int
    detectability: int
    risk_rationale: str
    acceptance: tuple[str, ...]
    design: tuple[str, ...]

    @property
    def risk_class(self) -> int:
        return risk_class(self.severity, self.probability)

    @property
    def risk_priority(self) -> str:
        return risk_priority(self.risk_class, self.detectability)


def risk_class(severity: int, probability: int) -> int:
    """GAMP 5: severity against probability gives the risk class, 1 (highest) to 3."""
    score = severity * probability
    return 1 if score >= 6 else 2 if score >= 3 else 3


def risk_priority(risk_class_: int, detectability: int) -> str:
    """GAMP 5: the risk class against detectability (3 = hard to detect before harm) gives the priority."""
    table = {1: ("medium", "high", "high"), 2: ("low", "medium", "high"), 3: ("low", "low", "medium")}
    return table[risk_class_][detectability - 1]


def required_depth(requirement: Requirement) -> tuple[int, int]:
    """(passing tests, of which through the product's interfaces) that a requirement needs — the risk assessment
    drives the test depth. Should and Could requirements are reported, never required."""
    if requirement.priority != "Must":
        return 0, 0
    if requirement.risk_priority == "high":
        return 2, 1
    return 1, 0


class UrsError(ValueError):
    """The URS file is malformed; the message names the requirement and the field."""


def load_urs(path: Path | None = None) -> tuple[dict, dict[str, Requirement]]:
    """The URS's header and its requirements by ID, checked: unique IDs, known priorities, ratings 1–3."""
    data = tomllib.loads((path or urs_path()).read_text(encoding="utf-8"))
    requirements: dict[str, Requirement] = {}
    for entry in data.get("requirement", []):
        req_id = entry.get("id", "?")
        if req_id in requirements:
            raise UrsError(f"{req_id}: listed twice")
        if entry.get("priority") not in PRIORITIES:
            raise UrsError(f"{req_id}: priority must be one of {', '.join(PRIORITIES)}")
        for rating in ("severity", "probability", "detectability"):
            if entry.get(rating) not in (1, 2, 3):
                raise UrsError(f"{req_id}: {rating} must be 1, 2 or 3")
        for text in ("title", "statement", "source"):
            if not str(entry.get(text, "")).strip():
                raise UrsError(f"{req_id}: {text} is empty")
        if not entry.get("acceptance") or not entry.get("design"):
            raise UrsError(f"{req_id}: needs acceptance criteria and a design trace")
        requirements[req_id] = Requirement(
            id=req_id, title=entry["title"].strip(), statement=" ".join(entry["statement"].split()),
            source=entry["source"].strip(), priority=entry["priority"], gmp_impact=entry.get("gmp_impact", "direct"),
            severity=entry["severity"], probability=entry["probability"], detectability=entry["detectability"],
            risk_rationale=entry.get("risk_rationale", "").strip(), acceptance=tuple(entry["acceptance"]),
            design=tuple(entry["design"]))
    return data.get("urs", {}), requirements

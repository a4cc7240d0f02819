"""The complaint ledger (客户质量投诉处理台账, SOP 5.3): every number issued in a year, and a check that
no number is missing without an explanation (REC-04, REC-05)."""
from __future__ import annotations

import re

NUMBER = re.compile(r"^TS-(I{1,3})-(\d{2})-(\d{3,})$")


def parse_number(number: str) -> tuple[str, int, int]:
    """``TS-II-26-014`` -> ("II", 26, 14)."""
    match = NUMBER.match(number)
    if match is None:
        raise ValueError(f"not a complaint number: {number!r}")
    return match[1], int(match[2]), int(match[3])


def unexplained_gaps(numbers: list[str], issued_per_class: dict[str, int]) -> list[str]:
    """Serials the counters issued that no complaint holds. Numbers are never deleted or reused (a
    void complaint keeps its number), so any missing serial is a finding for QA to explain."""
    held: dict[str, set[int]] = {}
    year = None
    for number in numbers:
        complaint_class, yy, serial = parse_number(number)
        year = yy
        held.setdefault(complaint_class, set()).add(serial)
    gaps = []
    for complaint_class in sorted(set(held) | set(issued_per_class), key=len):
        highest = max(issued_per_class.get(complaint_class, 0), max(held.get(complaint_class, {0})))
        missing = [s for s in range(1, highest + 1) if s not in held.get(complaint_class, set())]
        gaps += [f"TS-{complaint_class}-{year:02d}-{s:03d}" if year is not None else f"{complaint_class}:{s}"
                 for s in missing]
    return gaps

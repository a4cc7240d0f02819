"""Legacy complaints from a previous ledger (issue 17; RET-05): the rules a row must meet before anything is imported.

A row of the paper-era 客户质量投诉处理台账 (or of this product's own ledger export) keeps its original number, dates,
class and outcome. Every row is checked; one bad row refuses the whole file, and every bad row is named.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from gmp_complaints.domain.complaints import ComplaintClass, ComplaintType, Status, complaint_number
from gmp_complaints.domain.errors import Msg
from gmp_complaints.domain.plausibility import character_problem

#: column -> the headers it is known by: this product's field names and its ledger's headers in both languages
COLUMNS = {
    "number": ("number", "Complaint number", "投诉编号"),
    "received_on": ("received_on", "Received on", "接收日期"),
    "product_code": ("product_code", "Product code", "产品代码"),
    "batch_nos": ("batch_nos", "Batches", "批号"),
    "complaint_type": ("complaint_type", "Complaint type", "投诉类型"),
    "complaint_class": ("complaint_class", "Class", "级别"),
    "original_class": ("original_class", "Original class", "原始级别"),
    "status": ("status", "Status", "状态"),
    "closed_on": ("closed_on", "Closed on", "关闭日期"),
    "description": ("description", "Description", "投诉内容"),
    "void_reason": ("void_reason", "Void reason", "作废原因"),
}
REQUIRED = ("number", "received_on", "product_code", "complaint_type", "complaint_class", "status", "description")
#: outcomes a legacy complaint can have: it was handled to the end on paper
OUTCOMES = (Status.closed.value, Status.void.value)
#: no record of this product's kind is older than this (a typo such as 0019 is refused)
EARLIEST = date(1990, 1, 1)
_NUMBER = re.compile(r"TS-(I|II|III)-(\d{2})-(\d{3,})")
_CODE_IN_BRACKETS = re.compile(r"\(([a-z_]+)\)\s*$")


@dataclass(frozen=True)
class LegacyRow:
    line: int
    number: str
    serial: int
    received_on: date
    product_code: str
    batch_nos: tuple[str, ...]
    complaint_type: str
    complaint_class: str
    original_class: str
    status: str
    closed_on: date | None
    description: str
    void_reason: str | None


def header_map(header: list[str]) -> tuple[dict[str, int], list[Msg]]:
    """Column -> position in the file's header; the required columns that are missing."""
    positions = {}
    for position, name in enumerate(header):
        for column, names in COLUMNS.items():
            if name.strip() in names:
                positions[column] = position
    missing = [Msg("Column missing: %(column)s.", column=column) for column in REQUIRED if column not in positions]
    return positions, missing


def code_of(text: str) -> str:
    """A code written alone or as the ledger writes it, "外包装 (outer_packaging)"."""
    match = _CODE_IN_BRACKETS.search(text)
    return match.group(1) if match else text.strip()


def _day(text: str, field: str, problems: list[Msg]) -> date | None:
    if not text:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        problems.append(Msg("%(field)s: write the date as YYYY-MM-DD (%(value)s).", field=field, value=text))
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(Msg("%(field)s: no such date (%(value)s).", field=field, value=text))
        return None


def check_row(line: int, values: dict[str, str], *, today: date) -> tuple[LegacyRow | None, list[Msg]]:
    """One row checked on its own (numbers across the file and the database are checked by the caller)."""
    problems: list[Msg] = [Msg("%(field)s is required.", field=column) for column in REQUIRED if not values.get(column)]
    problems += [Msg("%(field)s: %(problem)s", field=column, problem=problem) for column, problem in
                 ((column, character_problem(value or "")) for column, value in values.items()) if problem]
    received_on = _day(values.get("received_on", ""), "received_on", problems)
    closed_on = _day(values.get("closed_on", ""), "closed_on", problems)
    if received_on and not EARLIEST <= received_on <= today:
        problems.append(Msg("received_on: %(value)s is in the future or implausibly early.", value=received_on.isoformat()))
    klass, original = values.get("complaint_class", ""), values.get("original_class") or values.get("complaint_class", "")
    for field, value in (("complaint_class", klass), ("original_class", original)):
        if value and value not in ComplaintClass.__members__:
            problems.append(Msg("%(field)s: I, II or III (%(value)s).", field=field, value=value))
    complaint_type = code_of(values.get("complaint_type", ""))
    if complaint_type and complaint_type not in ComplaintType.__members__:
        problems.append(Msg("complaint_type: unknown type %(value)s.", value=complaint_type))
    status = code_of(values.get("status", ""))
    if status and status not in OUTCOMES:
        problems.append(Msg("status: a legacy complaint is closed or void (%(value)s).", value=status))
    if status == Status.closed.value and not closed_on:
        problems.append(Msg("closed_on is required for a closed complaint."))
    if closed_on and (closed_on > today or (received_on and closed_on < received_on)):
        problems.append(Msg("closed_on: %(value)s is in the future or before the received date.",
                            value=closed_on.isoformat()))
    number, serial = values.get("number", ""), 0
    match = _NUMBER.fullmatch(number)
    if number and not match:
        problems.append(Msg("number: %(value)s is not a TS-<class>-<yy>-<serial> number.", value=number))
    elif match and received_on and original in ComplaintClass.__members__:
        serial = int(match.group(3))
        expected = complaint_number(ComplaintClass(original), received_on.year, serial)
        if number != expected:
            problems.append(Msg("number: %(value)s does not match the original class and the received year "
                                "(expected %(expected)s).", value=number, expected=expected))
    if problems:
        return None, problems
    batches = tuple(b.strip() for b in values.get("batch_nos", "").replace("，", ",").split(",") if b.strip())
    return LegacyRow(line, number, serial, received_on, values["product_code"].strip(), batches, complaint_type, klass,
                     original, status, closed_on, values["description"], values.get("void_reason") or None), []

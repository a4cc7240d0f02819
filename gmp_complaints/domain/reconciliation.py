"""Reconciliation of record counts and content hashes, as plain rules (RET-04: a backup against its test restore;
RET-05: a database before and after a schema upgrade; Annex 11 §4.8, §7.2).

A table's *fingerprint* is its number of rows, the SHA-256 over its rows and one SHA-256 per column, each taken
over the rows in primary-key order. Values are hashed in a canonical text form, so the same stored values give the
same hashes whatever the driver hands back. Reading the rows is the adapter's job; this module only hashes what it
is given and compares two sets of fingerprints."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal


def canonical_value(value) -> str:
    """One stored value as text, tagged by kind so that ``1``, ``"1"``, ``True`` and ``NULL`` never collide."""
    if value is None:
        return "n"
    if isinstance(value, bool):
        return "b:1" if value else "b:0"
    if isinstance(value, int):
        return f"i:{value}"
    if isinstance(value, float):
        return f"f:{value!r}"
    if isinstance(value, Decimal):
        return f"d:{value.normalize()}"
    if isinstance(value, str):
        return f"s:{value}"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"x:{bytes(value).hex()}"
    if isinstance(value, (datetime, date, time)):
        return f"t:{value.isoformat()}"
    return "o:" + json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _digest(parts: Sequence[str]) -> bytes:
    return hashlib.sha256(json.dumps(list(parts), ensure_ascii=False).encode("utf-8")).digest()


class TableHasher:
    """Feed the rows of one table (values in ``columns`` order, rows in primary-key order); read its fingerprint."""

    def __init__(self, columns: Sequence[str]):
        self.columns = list(columns)
        self.rows = 0
        self._table = hashlib.sha256()
        self._columns = [hashlib.sha256() for _ in self.columns]

    def add(self, values: Sequence) -> None:
        texts = [canonical_value(v) for v in values]
        self._table.update(_digest(texts))
        for hasher, text in zip(self._columns, texts):
            hasher.update(_digest([text]))
        self.rows += 1

    def fingerprint(self) -> dict:
        return {"rows": self.rows, "sha256": self._table.hexdigest(),
                "columns": {name: h.hexdigest() for name, h in zip(self.columns, self._columns)}}


def sort_key(values: Sequence) -> tuple:
    """A total order on rows whatever their values (for tables whose key is not a plain integer)."""
    return tuple(canonical_value(v) for v in values)


@dataclass(frozen=True)
class Finding:
    """One difference between what was expected of a table and what was found."""

    table: str
    column: str | None
    what: str  # "table missing", "table not expected", "column missing", "rows", "values"
    expected: object = None
    found: object = None
    #: why the difference is intended (a migration's declaration); None: not declared
    declared: str | None = None

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        if self.what == "rows":
            text = f"{where}: {self.expected} rows expected, {self.found} found"
        elif self.what == "values":
            text = f"{where}: the values differ"
        else:
            text = f"{where}: {self.what}"
        return f"{text} (declared: {self.declared})" if self.declared else text


def reconcile(expected: Mapping[str, dict], found: Mapping[str, dict], *, declared: Mapping[str, str] | None = None,
              extra_tables: bool = True) -> list[Finding]:
    """Every difference between two sets of fingerprints, table by table; a difference the ``declared`` map names
    (``"table"`` for anything in the table, ``"table.column"`` for that column) carries the declaration.
    ``extra_tables``: a table found but not expected is a difference (a restore), or not (an upgrade adds tables)."""
    declared = dict(declared or {})

    def why(table: str, column: str | None = None) -> str | None:
        return declared.get(f"{table}.{column}") if column and f"{table}.{column}" in declared else declared.get(table)

    findings: list[Finding] = []
    for table in sorted(expected):
        before, after = expected[table], found.get(table)
        if after is None:
            findings.append(Finding(table, None, "table missing", declared=why(table)))
            continue
        missing = sorted(set(before.get("columns", {})) - set(after.get("columns", {})))
        findings += [Finding(table, column, "column missing", declared=why(table, column)) for column in missing]
        if before["rows"] != after["rows"]:
            findings.append(Finding(table, None, "rows", before["rows"], after["rows"], declared=why(table)))
            continue
        changed = [c for c in sorted(before.get("columns", {})) if c not in missing
                   and before["columns"][c] != after["columns"][c]]
        findings += [Finding(table, column, "values", declared=why(table, column)) for column in changed]
        if not changed and not missing and before["sha256"] != after["sha256"]:
            findings.append(Finding(table, None, "values", declared=why(table)))
    if extra_tables:
        findings += [Finding(table, None, "table not expected", None, found[table]["rows"], declared=why(table))
                     for table in sorted(set(found) - set(expected))]
    return findings


def undeclared(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if not f.declared]


def total_rows(fingerprints: Mapping[str, dict]) -> int:
    return sum(f["rows"] for f in fingerprints.values())


def table_lines(expected: Mapping[str, dict], found: Mapping[str, dict], findings: Iterable[Finding],
                *, expected_label: str, found_label: str) -> list[str]:
    """The reconciliation as printed: one line per table with both counts and whether its content matches."""
    by_table: dict[str, list[Finding]] = {}
    for finding in findings:
        by_table.setdefault(finding.table, []).append(finding)
    lines = []
    for table in sorted(set(expected) | set(found)):
        before, after = expected.get(table), found.get(table)
        problems = by_table.get(table, [])
        if not problems:
            verdict = "OK"
        elif all(p.declared for p in problems):
            verdict = "DECLARED"
        else:
            verdict = "DIFFERS"
        lines.append(f"{verdict:<8} {table}: {expected_label} {before['rows'] if before else '-'} rows, "
                     f"{found_label} {after['rows'] if after else '-'} rows"
                     + "".join(f"; {p.describe()}" for p in problems))
    return lines

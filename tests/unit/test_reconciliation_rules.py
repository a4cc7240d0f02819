"""Record counts and content hashes reconciled (RET-04 test restores, RET-05 upgrades) and the rotation of scheduled
backups, as plain rules (no database)."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from gmp_complaints.backup import backups_to_remove
from gmp_complaints.domain.reconciliation import TableHasher, canonical_value, reconcile, table_lines, undeclared


def _table(*rows, columns=("id", "name")) -> dict:
    hasher = TableHasher(columns)
    for row in rows:
        hasher.add(row)
    return hasher.fingerprint()


def test_canonical_values_never_collide_across_kinds():
    values = [None, True, 1, "1", 1.0, Decimal("1.0"), b"1", date(2026, 1, 1), "t:2026-01-01",
              datetime(2026, 1, 1, tzinfo=timezone.utc), {"a": 1}]
    assert len({canonical_value(v) for v in values}) == len(values)
    assert canonical_value(Decimal("1.10")) == canonical_value(Decimal("1.1"))
    assert canonical_value(memoryview(b"ab")) == canonical_value(b"ab")


@pytest.mark.req("RET-04", "RET-05")
def test_the_same_rows_reconcile_and_each_kind_of_change_is_named():
    before = {"products": _table((1, "阿莫西林"), (2, "头孢")), "batches": _table((1, "B1"))}
    assert reconcile(before, {"products": _table((1, "阿莫西林"), (2, "头孢")), "batches": _table((1, "B1"))}) == []

    changed = reconcile(before, {"products": _table((1, "阿莫西林"), (2, "头孢（改）")), "batches": _table((1, "B1"))})
    assert [f.describe() for f in changed] == ["products.name: the values differ"]
    counted = reconcile(before, {"products": _table((1, "阿莫西林")), "batches": _table((1, "B1"))})
    assert [f.describe() for f in counted] == ["products: 2 rows expected, 1 found"]
    # Order matters: the same values in other rows are a change.
    swapped = reconcile(before, {"products": _table((1, "头孢"), (2, "阿莫西林")), "batches": _table((1, "B1"))})
    assert [f.describe() for f in swapped] == ["products.name: the values differ"]
    gone = reconcile(before, {"products": _table((1,), (2,), columns=("id",))})
    assert [f.describe() for f in gone] == ["batches: table missing", "products.name: column missing"]
    extra = reconcile(before, {**before, "recalls": _table()})
    assert [f.describe() for f in extra] == ["recalls: table not expected"]
    assert reconcile(before, {**before, "recalls": _table()}, extra_tables=False) == []


@pytest.mark.req("RET-05")
def test_a_declared_change_is_accepted_only_where_it_is_declared():
    before = {"products": _table((1, "a"), (2, "b")), "batches": _table((1, "B1"))}
    after = {"products": _table((1, "A"), (2, "B")), "batches": _table((1, "B2"))}
    findings = reconcile(before, after, declared={"products.name": "0099: names upper-cased"})
    assert [f.describe() for f in findings] == [
        "batches.name: the values differ",
        "products.name: the values differ (declared: 0099: names upper-cased)"]
    assert [f.table for f in undeclared(findings)] == ["batches"]
    # A whole table declared covers its counts too.
    grown = reconcile(before, {**before, "products": _table((1, "a"), (2, "b"), (3, "c"))},
                      declared={"products": "0099: a row added"})
    assert undeclared(grown) == [] and grown[0].declared == "0099: a row added"
    lines = table_lines(before, after, findings, expected_label="before", found_label="after")
    assert lines[0].startswith("DIFFERS  batches: before 1 rows, after 1 rows; batches.name")
    assert lines[1].startswith("DECLARED products: before 2 rows, after 2 rows")


@pytest.mark.req("RET-04")
def test_scheduled_backups_beyond_the_newest_kept_are_removed_and_nothing_else():
    names = ["gmp-backup-20261201T010000000000Z.zip", "gmp-backup-20261203T010000000000Z.zip", "notes.txt",
             "gmp-backup-20261202T010000000000Z.zip", ".gmp-backup-20261204T010000000000Z.zip.partial"]
    assert backups_to_remove(names, 2) == ["gmp-backup-20261201T010000000000Z.zip"]
    assert backups_to_remove(names, 3) == [] and backups_to_remove(names, 1) == [
        "gmp-backup-20261201T010000000000Z.zip", "gmp-backup-20261202T010000000000Z.zip"]

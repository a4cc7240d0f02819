"""Schema upgrades are validated data migrations (RET-05; Annex 11 §4.8): `gmp init` over a database that holds
records reconciles every table's row count and content hashes over the columns it had before, prints the
reconciliation and records it in the audit trail; a migration that changes a count or an existing column's values
without declaring it is refused and nothing of the upgrade is committed. SQLite and PostgreSQL."""
from __future__ import annotations

import json
import shutil

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from gmp_complaints import migrate
from gmp_complaints.cli import main
from gmp_complaints.migrate import MigrationReconciliationError, alembic_config, upgrade_to_head
from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401 (fixtures)
from tests.integration.test_signatures import _env_of

PROBE = '''"""Test only: a revision after the head that {what}."""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None
{declaration}

def upgrade() -> None:
    op.add_column("products", sa.Column("probe_note", sa.Text))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT set_config('gmp.tx', 'migration-9999', true)")
    op.execute({statement!r})


def downgrade() -> None:
    op.drop_column("products", "probe_note")
'''


def _events(app, action: str) -> list[dict]:
    with app.extensions["gmp_engine"].connect() as connection:
        rows = connection.execute(sa.text("SELECT entity_id, canonical FROM audit_events WHERE action = :a "
                                          "ORDER BY log_index"), {"a": action}).all()
    return [{"entity_id": r.entity_id, **{k: v[1] for k, v in json.loads(bytes(r.canonical))["changes"].items()}}
            for r in rows]


def _revision(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    return version


def _with_records(api) -> int:  # noqa: F811
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", "/distributions", {"product_code": "P-001", "batch_no": "B2602", "consignee": "仁和大药房",
                                            "quantity": 10, "shipped_on": "2026-03-01"}, 201)
    return cid


@pytest.mark.req("RET-05", "RET-03")
def test_gmp_init_over_a_database_that_holds_records_reconciles_every_table_prints_and_records_it(
        app, api):  # noqa: F811
    _with_records(api)
    url = app.config["GMP_SETTINGS"].database_url
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    app.extensions["gmp_engine"].dispose()
    command.downgrade(alembic_config(url), "0030")
    run = CliRunner(env=_env_of(app)).invoke(main, ["init"])
    assert run.exit_code == 0, run.output
    assert _revision(url) == head
    lines = [line for line in run.output.splitlines() if line.startswith(("OK ", "DECLARED ", "DIFFERS "))]
    assert lines and all(not line.startswith("DIFFERS") for line in lines), run.output
    assert "OK       complaints: before 1 rows, after 1 rows" in lines
    assert "OK       distributions: before 1 rows, after 1 rows" in lines
    assert f"Schema upgraded from 0030 to {head}:" in run.output and "rows reconciled" in run.output
    [event] = _events(app, "schema.upgraded")
    assert (event["entity_id"], event["from_revision"], event["to_revision"]) == (head, "0030", head)
    assert event["differences"] == 0 and event["tables"] == len(lines) and event["rows"] > 0
    # Already at head: nothing to migrate, nothing recorded again.
    again = CliRunner(env=_env_of(app)).invoke(main, ["init"])
    assert again.exit_code == 0 and "nothing to migrate" in again.output and len(_events(app, "schema.upgraded")) == 1


@pytest.fixture
def probe(app, tmp_path, monkeypatch):
    """The product's migrations plus one test-only revision after the head, written by the test."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    url = app.config["GMP_SETTINGS"].database_url
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()

    def write(what: str, statement: str, declaration: str = "") -> None:
        (copy / "versions" / "29991231_0000_9999_probe.py").write_text(
            PROBE.format(what=what, head=head, statement=statement, declaration=declaration), encoding="utf-8")
        monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)

    write.head = head
    write.location = copy
    return write


def _products(url: str) -> tuple[list, list]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        names = connection.execute(sa.text("SELECT code, name FROM products ORDER BY code")).all()
        columns = [c["name"] for c in sa.inspect(connection).get_columns("products")]
    engine.dispose()
    return names, columns


@pytest.mark.req("RET-05")
@pytest.mark.parametrize(("statement", "named"), [
    ("UPDATE products SET name = name || '（已改）' WHERE code = 'P-001'", "products.name: the values differ"),
    ("UPDATE batches SET released_on = manufactured_on", "batches.released_on: the values differ"),
    ("INSERT INTO distributions (batch_id, consignee, quantity, shipped_on, is_export, is_medical_sample, is_demo, "
     "created_at) SELECT batch_id, consignee, quantity, shipped_on, is_export, is_medical_sample, is_demo, created_at "
     "FROM distributions", "distributions: 1 rows expected, 2 found"),
])
def test_a_migration_that_changes_records_held_undeclared_is_refused_and_nothing_is_committed(
        app, api, probe, statement, named):  # noqa: F811
    _with_records(api)
    url = app.config["GMP_SETTINGS"].database_url
    before = _products(url)
    probe("changes records without saying so", statement)
    app.extensions["gmp_engine"].dispose()
    with pytest.raises(MigrationReconciliationError) as refused:
        upgrade_to_head(url)
    assert named in [f.describe() for f in refused.value.reconciliation.refused]
    # Rolled back whole, the new column included (SQLite too): the schema and the records are as they were.
    assert _revision(url) == probe.head and _products(url) == before

    run = CliRunner(env=_env_of(app)).invoke(main, ["init"])
    assert run.exit_code != 0 and "REFUSED and rolled back" in run.output, run.output
    assert any(line.startswith("DIFFERS") and named in line for line in run.output.splitlines()), run.output
    assert _revision(url) == probe.head and _products(url) == before
    [event] = _events(app, "schema.upgrade_refused")
    assert event["to_revision"] == "9999" and event["differences"] >= 1 and named in event["detail"]


@pytest.mark.req("RET-05")
def test_a_change_the_migration_declares_is_accepted_shown_and_recorded(app, api, probe):  # noqa: F811
    _with_records(api)
    url = app.config["GMP_SETTINGS"].database_url
    probe("renames the product on purpose", "UPDATE products SET name = name || '（新）' WHERE code = 'P-001'",
          declaration='data_changes = {"products.name": "the product names follow the new registration"}')
    app.extensions["gmp_engine"].dispose()
    run = CliRunner(env=_env_of(app)).invoke(main, ["init"])
    assert run.exit_code == 0, run.output
    assert _revision(url) == "9999" and _products(url)[0] == [("P-001", "阿莫西林胶囊（新）")]
    declared = "products.name: the values differ (declared: 9999: the product names follow the new registration)"
    assert any(line.startswith("DECLARED") and declared in line for line in run.output.splitlines()), run.output
    assert "1 change(s) declared by the migrations" in run.output
    [event] = _events(app, "schema.upgraded")
    assert event["declared"] == [declared] and event["differences"] == 0

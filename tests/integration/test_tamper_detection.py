"""Tampering as a database superuser would do it (issue 19): TRUNCATE refused on every GMP table on PostgreSQL, even
in replica mode; and what the owner can still do with the guards switched off — delete the tail of the audit log and
rewind its head, delete or swap a signature row, empty a table — is named by the installed `gmp integrity-check`
and `gmp audit verify --checkpoint` run as a customer runs them, in a subprocess. Untampered, both pass."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from audit.verify import read_outside_checkpoints
from tests.integration.test_archive import closed_complaint  # noqa: F401 (fixture)
from tests.integration.test_check_commands import gmp
from tests.integration.test_complaints_api import api, settings  # noqa: F401 (fixtures)
from tests.integration.test_signatures import _env_of

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _tables(connection) -> list[str]:
    return sorted(sa.inspect(connection).get_table_names())


def _row_counts(app) -> dict[str, int]:
    with app.extensions["gmp_engine"].connect() as connection:
        return {table: connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in _tables(connection)}


@pytest.mark.req("AT-03", "AT-04")
@postgresql_only
def test_every_table_the_product_owns_refuses_truncate_and_iq_checks_it(app):
    """The rule for tables to come: every table of the live database (not a list kept by hand) has a BEFORE
    TRUNCATE trigger enabled ALWAYS, and `gmp validate iq`'s protection check names a table without one."""
    from gmp_complaints.db import Base
    from gmp_complaints.iq import protections
    from gmp_complaints.protections import NOT_GUARDED, tables_without_truncate_guard

    engine = app.extensions["gmp_engine"]
    with engine.connect() as connection:
        assert tables_without_truncate_guard(connection) == []
        assert set(Base.metadata.tables) <= set(_tables(connection))
        tables = [t for t in _tables(connection) if t not in NOT_GUARDED]
    for table in tables:  # and each guard raises, naming its own table, in replica mode too
        with pytest.raises(sa.exc.DatabaseError, match=rf"TRUNCATE {table} refused|{table} is append-only"):
            with engine.begin() as connection:
                connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
                connection.exec_driver_sql(f"TRUNCATE {table} CASCADE")
    database_url = app.config["GMP_SETTINGS"].database_url
    assert protections(database_url) == []
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER recalls_no_truncate ON recalls")
    assert protections(database_url) == ["database protection missing: trigger recalls_no_truncate",
                                         "database protection missing: table recalls does not refuse TRUNCATE"]


TRUNCATES = ("TRUNCATE signatures", "TRUNCATE complaints CASCADE", "TRUNCATE attachments", "TRUNCATE capas CASCADE",
             "TRUNCATE recalls CASCADE", "TRUNCATE users CASCADE", "TRUNCATE audit_events", "TRUNCATE audit_log_head",
             "TRUNCATE products, batches, distributions CASCADE")


@pytest.mark.req("AT-03", "AT-04", "SIG-02")
@postgresql_only
def test_a_superuser_cannot_truncate_a_gmp_table_even_in_replica_mode(app, closed_complaint):  # noqa: F811
    before = _row_counts(app)
    assert before["signatures"] and before["complaints"] and before["attachments"]
    for statement in TRUNCATES:
        for replica in (False, True):
            with pytest.raises(sa.exc.DatabaseError, match="TRUNCATE|append-only"):
                with app.extensions["gmp_engine"].begin() as connection:
                    assert connection.exec_driver_sql(
                        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
                    connection.exec_driver_sql("SELECT set_config('gmp.tx', 'console', true)")
                    if replica:
                        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
                    connection.exec_driver_sql(statement)
    assert _row_counts(app) == before


def _without_guards(app, tables: list[str], *statements: str) -> None:
    """SQL from a console by the tables' owner: the guards of ``tables`` switched off, the statements run, the
    guards switched back on (on SQLite: the triggers dropped and re-created)."""
    with app.extensions["gmp_engine"].begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT set_config('gmp.tx', 'console', true)"))
            guards = connection.execute(sa.text(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND c.relname = ANY(:tables)"), {"tables": tables}).all()
            for table in tables:
                connection.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER ALL"))
            for statement in statements:
                connection.execute(sa.text(statement))
            for table, trigger in guards:
                connection.execute(sa.text(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}"))
            return
        triggers = connection.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s)"
            % ", ".join(f"'{t}'" for t in tables))).all()
        for name, _sql in triggers:
            connection.execute(sa.text(f'DROP TRIGGER "{name}"'))
        for statement in statements:
            connection.execute(sa.text(statement))
        for _name, sql in triggers:
            connection.execute(sa.text(sql))


def _rewind_tail(app, count: int) -> int:
    """Delete the newest ``count`` audit events and the checkpoints over them, and rewind the log head to what it
    was before them, so that the log checks out on its own. Returns the new tree size."""
    from audit.verify import CompactRange

    with app.extensions["gmp_engine"].connect() as connection:
        size = connection.execute(sa.text("SELECT tree_size FROM audit_log_head")).scalar_one()
        keep = size - count
        leaves = [bytes(leaf) for (leaf,) in connection.execute(sa.text(
            "SELECT leaf_hash FROM audit_events WHERE log_index < :keep ORDER BY log_index"), {"keep": keep})]
        sealed = connection.execute(sa.text("SELECT max(tree_size) FROM audit_checkpoints WHERE tree_size <= :keep"),
                                    {"keep": keep}).scalar_one()
    compact = CompactRange()
    compact.extend(leaves)
    _without_guards(
        app, ["audit_events", "audit_checkpoints", "audit_log_head"],
        f"DELETE FROM audit_events WHERE log_index >= {keep}",
        f"DELETE FROM audit_checkpoints WHERE tree_size > {keep}",
        f"UPDATE audit_log_head SET tree_size = {keep}, compact_range = '{' '.join(h.hex() for h in compact.hashes)}', "
        f"last_checkpoint_size = {sealed}, last_checkpoint_at = "
        f"(SELECT created_at FROM audit_checkpoints WHERE tree_size = {sealed})")
    return keep


@pytest.mark.req("AT-03", "AT-04", "SIG-02")
def test_a_rewound_log_and_removed_signatures_are_named_by_the_console_scripts(app, closed_complaint,  # noqa: F811
                                                                              tmp_path):
    env = _env_of(app)
    witness = app.config["GMP_SETTINGS"].checkpoint_dir
    with app.extensions["gmp_engine"].connect() as connection:
        attachment_id = connection.execute(sa.text("SELECT id FROM attachments")).scalar_one()
    clean = gmp(env, "integrity-check")
    assert clean.returncode == 0 and "agree" in clean.stdout, clean.stdout + clean.stderr
    # What QA holds outside the database and the instance (a copy on other storage, the mailed checkpoint).
    qa_copy = tmp_path / "qa-copy"
    shutil.copytree(witness, qa_copy)
    newest = {given: max(item.checkpoint.tree_size for item in read_outside_checkpoints(str(given)))
              for given in (qa_copy, qa_copy / "latest.note")}

    bundle = tmp_path / "before.zip"
    assert gmp(env, "audit", "export", "--out", str(bundle)).returncode == 0
    ok = gmp(env, "audit", "verify", str(bundle), "--checkpoint", str(qa_copy / "latest.note"))
    assert ok.returncode == 0 and "extends the checkpoint kept outside the database" in ok.stdout, ok.stdout

    # 1. A signature row overwritten with another, validly signed row's content (its manifest and system signature
    # intact, so the row's own checks pass), then that other row deleted, with the triggers switched off.
    with app.extensions["gmp_engine"].connect() as connection:
        deleted, swapped = connection.execute(sa.text("SELECT id FROM signatures ORDER BY id LIMIT 2")).scalars()
    columns = ("record_type", "record_id", "record_number", "record_version", "record_hash", "step", "meaning",
               "subject", "signer_id", "signer_username", "printed_name", "signed_role", "signed_at", "comment",
               "audit_index", "manifest", "system_signature", "key_id")
    listed = ", ".join(columns)
    _without_guards(app, ["signatures"],
                    f"UPDATE signatures SET ({listed}) = (SELECT {listed} FROM signatures WHERE id = {deleted}) "
                    f"WHERE id = {swapped}", f"DELETE FROM signatures WHERE id = {deleted}")
    run = gmp(env, "integrity-check")
    assert run.returncode == 1 and f"signature:{swapped} step: trail says" in run.stdout, run.stdout
    assert "differs from what the trail recorded when it was signed" in run.stdout
    assert "the row differs from its signed manifest" not in run.stdout
    assert f"signature:{deleted}: recorded signature is missing" in run.stdout

    # 2. The tail of the log deleted and its head rewound (below what QA holds).
    keep = _rewind_tail(app, 8)
    assert keep < min(newest.values())
    run = gmp(env, "integrity-check")
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"the log holds {keep} events" in run.stdout and "are missing (the tail was removed?)" in run.stdout
    refused = gmp(env, "audit", "export", "--out", str(tmp_path / "refused.zip"))
    assert refused.returncode == 1 and "does not match the checkpoints kept outside" in refused.stderr, refused.stderr
    assert not (tmp_path / "refused.zip").exists()

    # 3. The witness on the instance's own disk wiped as well: the export goes through, but the bundle does not
    # extend the checkpoint QA holds.
    shutil.rmtree(witness)
    shortened = tmp_path / "shortened.zip"
    assert gmp(env, "audit", "export", "--out", str(shortened)).returncode == 0
    assert gmp(env, "audit", "verify", str(shortened)).returncode == 0  # on its own it checks out
    for given, size in newest.items():
        run = gmp(env, "audit", "verify", str(shortened), "--checkpoint", str(given))
        assert run.returncode == 1 and f"to {size - 1} are missing (the tail was removed?)" in run.stdout, run.stdout
    # The bundle made before the tail was cut against the checkpoints the rewound log was signed under since.
    run = gmp(env, "audit", "verify", str(bundle), "--checkpoint", str(witness))
    assert run.returncode == 1 and "rewritten" in run.stdout, run.stdout

    # 4. PostgreSQL: tables emptied by their owner with the guards switched off (TRUNCATE ... CASCADE).
    if app.extensions["gmp_engine"].dialect.name == "postgresql":
        with app.extensions["gmp_engine"].connect() as connection:
            tables = [t for t in _tables(connection) if not t.startswith("audit_") and t != "signing_keys"]
        _without_guards(app, tables, "TRUNCATE signatures", "TRUNCATE complaints CASCADE")
        run = gmp(env, "integrity-check")
        assert run.returncode == 1
        assert f"complaint:{closed_complaint}: recorded row is missing from the table" in run.stdout, run.stdout
        assert f"attachment:{attachment_id}: recorded row is missing from the table" in run.stdout

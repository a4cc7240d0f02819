"""The audit trail: capture in the same transaction, the safety net, append-only tables, attribution,
checkpoints, integrity check. On SQLite and PostgreSQL."""
import json
import uuid

import pytest
import sqlalchemy as sa

from audit.tracking import AuditSafetyNetError
from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.models import User
from gmp_complaints.services import accounts
from tests.conftest import execute_sql, login


def events(app, **where):
    query = "SELECT log_index, actor_id, actor_name, action, entity_type, entity_id, reason, canonical FROM audit_events"
    if where:
        query += " WHERE " + " AND ".join(f"{k} = :{k}" for k in where)
    with app.extensions["gmp_engine"].connect() as connection:
        rows = connection.execute(sa.text(query + " ORDER BY log_index"), where).all()
    return [{**row._mapping, "doc": json.loads(row.canonical)} for row in rows]


def count(app, table):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def is_postgres(app):
    return app.extensions["gmp_engine"].dialect.name == "postgresql"


# Some protections exist on one database only: those tests run on that backend alone (not skipped).
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.mark.req("AT-01", "AT-02", "AT-09")
def test_account_actions_are_recorded_with_who_what_and_old_and_new_values(app, make_user, approved_change):
    admin_id, _ = make_user("root.admin", "admin", printed_name="孙强 Sun Qiang")
    user_id, _ = make_user("zhang.wei", "investigator")
    decided = approved_change(admin_id, kind="change_roles", user_id=user_id, roles=["investigator", "qa_officer"],
                              reason="Moved to QA, CC-2026-017")
    (created,) = events(app, action="user.created", entity_id=str(user_id))
    assert created["doc"]["changes"]["printed_name"] == [None, "Zhang.Wei Tester"]
    assert created["doc"]["changes"]["roles"] == [None, ["investigator"]]
    assert "password_hash" not in created["doc"]["changes"]
    (changed,) = events(app, action="user.roles_changed")
    # made by the approver, naming the administrator who requested it (SEC-04)
    assert changed["actor_id"] == decided["decided_by"]["id"] and changed["actor_name"] == "Access Approver"
    assert changed["doc"]["changes"]["requested_by_id"] == [None, admin_id]
    assert changed["doc"]["changes"]["roles"] == [["investigator"], ["investigator", "qa_officer"]]
    assert changed["reason"] == "Moved to QA, CC-2026-017"
    assert changed["doc"]["occurred_at"].endswith("Z")


@pytest.mark.req("AT-09")
def test_log_ins_failures_and_lockout_are_recorded_with_the_source_address(app, client, make_user):
    user_id, password = make_user("li.na", "qa_officer")
    for _ in range(5):
        login(client, "li.na", "wrong-password-x")
    login(client, "nobody", "wrong-password-x")
    failed = events(app, action="user.login_failed")
    assert len(failed) == 6
    assert failed[0]["doc"]["source_ip"] == "127.0.0.1"
    assert failed[0]["doc"]["changes"]["failed_login_count"] == [0, 1]
    assert failed[-1]["entity_id"] is None and failed[-1]["doc"]["changes"]["username"] == [None, "nobody"]
    (locked,) = events(app, action="user.locked", entity_id=str(user_id))
    assert locked["doc"]["changes"]["locked"] == [False, True]


def test_a_rejected_request_leaves_neither_data_nor_audit_events(app, uow_factory):
    before = count(app, "audit_events")
    with pytest.raises(ValidationError):
        accounts.create_user(uow_factory(), actor_id=None, username="x", printed_name="X", roles=["admin", "qp"])
    assert count(app, "audit_events") == before and count(app, "users") == 0


@pytest.mark.req("AT-02")
def test_a_change_to_recorded_data_without_a_reason_is_refused_and_nothing_changes(app, make_user, uow_factory):
    user_id, _ = make_user("zhang.wei", "investigator")
    uow = uow_factory()
    with uow:
        user = uow.session.get(User, user_id)
        user.printed_name = "Someone Else"
        uow.record(DomainEvent("user.roles_changed", "user", str(user_id), actor_id=None, reason="  "))
        with pytest.raises(ValidationError) as raised:
            uow.commit()
    assert "reason" in raised.value.fields
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT printed_name FROM users")).scalar_one() == "Zhang.Wei Tester"


@pytest.mark.req("AT-01")
def test_the_safety_net_fails_a_commit_that_bypasses_the_unit_of_work(app, make_user):
    user_id, _ = make_user("zhang.wei", "investigator")
    session = app.extensions["gmp_session_factory"]()
    user = session.get(User, user_id)
    user.printed_name = "Edited Quietly"
    with pytest.raises(AuditSafetyNetError, match="user:"):
        session.commit()
    session.rollback()
    session.close()
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT printed_name FROM users")).scalar_one() == "Zhang.Wei Tester"


@pytest.mark.req("AT-01")
def test_the_safety_net_fails_a_service_that_forgets_its_event(app, make_user, uow_factory):
    user_id, _ = make_user("zhang.wei", "investigator")
    uow = uow_factory()
    with uow:
        uow.session.get(User, user_id).printed_name = "No Event"
        with pytest.raises(AuditSafetyNetError):
            uow.commit()
    # An event about another record does not cover this one either.
    with uow:
        uow.session.get(User, user_id).printed_name = "Wrong Event"
        uow.record(DomainEvent("user.unlocked", "user", "999999", reason="wrong record"))
        with pytest.raises(AuditSafetyNetError):
            uow.commit()


@pytest.mark.req("AT-01")
def test_bulk_updates_of_audited_tables_are_refused(app, make_user, uow_factory):
    make_user("zhang.wei", "investigator")
    uow = uow_factory()
    with uow:
        with pytest.raises(AuditSafetyNetError, match="bulk UPDATE"):
            uow.session.execute(sa.update(User).values(printed_name="All The Same"))


@pytest.mark.req("AT-03")
@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET reason = 'rewritten'",
    "DELETE FROM audit_events",
    "UPDATE audit_checkpoints SET signed_note = 'x'",
    "DELETE FROM audit_checkpoints",
    "DELETE FROM signing_keys",
    "DELETE FROM audit_log_head",
    "UPDATE audit_log_head SET tree_size = 0",
])
def test_raw_sql_cannot_change_or_remove_the_audit_trail(app, make_user, statement):
    make_user("zhang.wei", "investigator")
    before = events(app)
    with pytest.raises(sa.exc.DatabaseError):
        execute_sql(app, statement)
    assert events(app) == before


@pytest.mark.req("AT-03")
@pytest.mark.parametrize("table", ["audit_events", "audit_checkpoints", "signing_keys", "audit_log_head"])
@postgresql_only
def test_postgresql_refuses_truncate_even_in_replica_mode(app, make_user, table):
    make_user("zhang.wei", "investigator")
    before = count(app, table)
    for prefix in ("", "SET LOCAL session_replication_role = replica; "):
        with pytest.raises(sa.exc.DatabaseError):
            with app.extensions["gmp_engine"].begin() as connection:
                connection.exec_driver_sql("SELECT set_config('gmp.tx', 'test', true)")
                connection.exec_driver_sql(prefix + f"TRUNCATE {table} CASCADE")
    with pytest.raises(sa.exc.DatabaseError):
        with app.extensions["gmp_engine"].begin() as connection:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            connection.exec_driver_sql("SELECT set_config('gmp.tx', 'test', true)")
            connection.exec_driver_sql("DELETE FROM audit_events")
    assert count(app, table) == before


@pytest.mark.req("AT-01", "AT-03")
@pytest.mark.parametrize("statement", [
    "UPDATE users SET printed_name = 'psql edit'",
    "INSERT INTO user_roles (user_id, role) SELECT id, 'qa_head' FROM users",
    "DELETE FROM password_history",
])
@postgresql_only
def test_postgresql_rejects_writes_without_the_applications_attribution(app, make_user, statement):
    make_user("zhang.wei", "investigator")
    with pytest.raises(sa.exc.DatabaseError, match="attribution"):
        with app.extensions["gmp_engine"].begin() as connection:
            connection.exec_driver_sql(statement)


@pytest.mark.req("AT-03")
@postgresql_only
def test_the_application_role_may_add_to_the_audit_trail_but_never_change_it(app, make_user):
    from gmp_complaints.db import grant_application_role

    make_user("zhang.wei", "investigator")
    engine = app.extensions["gmp_engine"]
    role = f"gmp_app_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
    try:
        grant_application_role(engine, role)
        for statement in ("UPDATE audit_events SET reason = 'x'", "DELETE FROM audit_events",
                          "TRUNCATE audit_events", "DELETE FROM users"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with engine.begin() as connection:
                    connection.exec_driver_sql(f"SET LOCAL ROLE {role}")
                    connection.exec_driver_sql("SELECT set_config('gmp.tx', 'test', true)")
                    connection.exec_driver_sql(statement)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"SET LOCAL ROLE {role}")
            assert connection.exec_driver_sql("SELECT count(*) FROM audit_events").scalar_one() > 0
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP OWNED BY {role}")
            connection.exec_driver_sql(f"DROP ROLE {role}")


@pytest.mark.req("AT-03")
def test_log_indices_are_gapless_and_each_leaf_hash_matches_its_bytes(app, make_user):
    from audit.verify import leaf_hash

    for i in range(3):
        make_user(f"user.{i}", "investigator")
    with app.extensions["gmp_engine"].connect() as connection:
        rows = connection.execute(sa.text("SELECT log_index, canonical, leaf_hash FROM audit_events ORDER BY log_index")).all()
    assert [r.log_index for r in rows] == list(range(len(rows)))
    assert all(leaf_hash(bytes(r.canonical)) == bytes(r.leaf_hash) for r in rows)
    assert all(json.loads(r.canonical)["index"] == r.log_index for r in rows)


@pytest.mark.req("AT-03")
def test_checkpoints_are_written_every_n_events(tmp_path, database_url, tmp_path_factory):
    from gmp_complaints import create_app, unit_of_work
    from gmp_complaints.config import load_settings
    from tests.conftest import environment_for, signing_key_path

    env = environment_for(database_url, tmp_path / "instance", signing_key_path(tmp_path_factory))
    env["GMP_CHECKPOINT_EVERY_EVENTS"] = "3"
    env["GMP_CHECKPOINT_EVERY_MINUTES"] = "600"
    app = create_app(load_settings(env))
    try:
        with app.extensions["gmp_engine"].connect() as connection:
            # The template: key registration checkpointed at 1, then the seeded reference data.
            start = connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()
        for i in range(7):
            accounts.create_user(unit_of_work(app), actor_id=None, username=f"user.{i}", printed_name=f"User {i}",
                                 roles=["investigator"], temporary_password="temporary-password-1")
        with app.extensions["gmp_engine"].connect() as connection:
            sizes = connection.execute(sa.text("SELECT tree_size FROM audit_checkpoints ORDER BY tree_size")).scalars().all()
        # At least three events since the last checkpoint seal the log at the next write.
        assert start >= 1
        assert sizes[0] == 1
        assert sizes[1] == max(start + 1, 4)
        assert [b - a for a, b in zip(sizes[1:], sizes[2:])] == [3] * (len(sizes) - 2)
        assert sizes[-1] > start + 7 - 3
    finally:
        app.extensions["gmp_engine"].dispose()


@pytest.mark.req("AT-03")
def test_tick_seals_everything_recorded_so_far(app, make_user, uow_factory):
    from audit.service import seal

    make_user("zhang.wei", "investigator")
    size = seal(uow_factory())
    assert size == count(app, "audit_events")
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT max(tree_size) FROM audit_checkpoints")).scalar_one() == size
    assert seal(uow_factory()) == size  # idempotent: no second checkpoint for the same head
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM audit_checkpoints WHERE tree_size = :s"),
                                  {"s": size}).scalar_one() == 1


@pytest.mark.req("AT-03")
def test_integrity_check_is_clean_after_normal_work(app, make_user, uow_factory, client, approved_change):
    from audit.integrity import integrity_check

    admin_id, _ = make_user("root.admin", "admin")
    user_id, password = make_user("zhang.wei", "investigator")
    login(client, "zhang.wei", password)
    approved_change(admin_id, kind="create_user", username="li.na", printed_name="Li Na", roles=["qa_officer"],
                    reason="New QA officer")
    approved_change(admin_id, kind="change_roles", user_id=user_id, roles=["qa_officer"], reason="Moved")
    approved_change(admin_id, kind="deactivate_user", user_id=user_id, reason="Left")
    for _ in range(3):  # a security alert (SEC-06) too
        login(app.test_client(), "li.na", "wrong-password-x")
    assert integrity_check(uow_factory()) == []
    assert events(app, action="audit.integrity_checked")


@pytest.mark.req("AT-03")
def test_integrity_check_names_rows_edited_outside_the_application(app, make_user, uow_factory):
    from audit.integrity import integrity_check

    user_id, _ = make_user("zhang.wei", "investigator")
    other_id, _ = make_user("li.na", "qa_officer")
    execute_sql(app, "UPDATE users SET printed_name = 'Edited In The Console' WHERE id = :id", id=user_id)
    execute_sql(app, "INSERT INTO user_roles (user_id, role) VALUES (:id, 'qa_head')", id=other_id)
    differences = {(d.entity_id, d.field): d for d in integrity_check(uow_factory())}
    assert differences[(str(user_id), "printed_name")].actual == "Edited In The Console"
    assert differences[(str(user_id), "printed_name")].expected == "Zhang.Wei Tester"
    assert differences[(str(other_id), "roles")].actual == ["qa_head", "qa_officer"]


@pytest.mark.req("AT-03")
@sqlite_only
def test_integrity_check_finds_a_rewritten_event_on_sqlite(app, make_user, uow_factory):
    from audit.integrity import integrity_check

    make_user("zhang.wei", "investigator")
    # An attacker with the file drops the trigger and rewrites history: the seal still catches it.
    execute_sql(app, "DROP TRIGGER audit_events_no_update")
    execute_sql(app, "UPDATE audit_events SET canonical = CAST(replace(CAST(canonical AS TEXT), 'Zhang.Wei Tester', 'Someone Else!!!') AS BLOB)")
    problems = [d.problem for d in integrity_check(uow_factory())]
    assert "event bytes do not match their sealed hash" in problems


@pytest.mark.req("AT-03")
@sqlite_only
def test_gmp_integrity_check_reports_a_raw_sql_edit_and_exits_non_zero(app, make_user, database_url, tmp_path,
                                                                        tmp_path_factory):
    from click.testing import CliRunner

    from gmp_complaints.cli import main
    from tests.conftest import environment_for, signing_key_path

    user_id, _ = make_user("zhang.wei", "investigator")
    env = environment_for(database_url, tmp_path / "instance", signing_key_path(tmp_path_factory))
    clean = CliRunner(env=env).invoke(main, ["integrity-check"])
    assert clean.exit_code == 0, clean.output
    execute_sql(app, "UPDATE users SET failed_login_count = 0, printed_name = 'Changed By Hand' WHERE id = :id",
                id=user_id)
    dirty = CliRunner(env=env).invoke(main, ["integrity-check"])
    assert dirty.exit_code == 1
    assert f"user:{user_id} printed_name: trail says 'Zhang.Wei Tester', table holds 'Changed By Hand'" in dirty.output


@pytest.mark.req("AT-01")
def test_every_session_factory_gets_the_tracking_even_at_a_recycled_address():
    """Regression: SQLAlchemy's event.contains() took fresh factories for equipped ones."""
    import gc

    from audit.tracking import TX_ID
    from gmp_complaints.db import make_engine, make_session_factory

    engine = make_engine("sqlite://")
    try:
        for round_ in range(200):
            factory = make_session_factory(engine)
            session = factory()
            session.execute(sa.text("SELECT 1"))
            assert TX_ID in session.info, f"factory #{round_} has no tracking"
            session.close()
            del factory, session
            if round_ % 20 == 0:
                gc.collect()
    finally:
        engine.dispose()

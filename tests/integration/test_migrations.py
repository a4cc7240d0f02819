"""The schema comes only from the migrations, and they agree with the models."""
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from gmp_complaints.cli import main
from gmp_complaints.db import Base
from gmp_complaints.migrate import alembic_config, upgrade_to_head


def test_models_and_migrations_agree(database_url):
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_the_migrations_upgrade_an_empty_database_and_go_back_down(database_url):
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = sa.create_engine(database_url)
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade_to_head(database_url)
    assert {"users", "user_roles", "password_history", "user_sessions", "api_tokens"} <= set(
        sa.inspect(engine).get_table_names())
    engine.dispose()


def test_gmp_init_is_idempotent(database_url, tmp_path):
    # A fresh instance folder: the first run creates a signing key there and registers it.
    env = {"DATABASE_URL": database_url, "GMP_INSTANCE_PATH": str(tmp_path / "instance")}
    engine = sa.create_engine(database_url)
    before = sa.inspect(engine).get_table_names()
    for _ in range(2):
        result = CliRunner(env=env).invoke(main, ["init"])
        assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
        keys = connection.execute(sa.text("SELECT count(*) FROM signing_keys")).scalar_one()
    assert version == ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert keys == 2  # the run's shared test key and this instance's own, registered once
    assert (tmp_path / "instance" / "keys" / "audit-signing-key.pem").stat().st_mode & 0o777 == 0o400
    assert sa.inspect(engine).get_table_names() == before
    engine.dispose()


@pytest.mark.req("SIG-04", "AT-04")
def test_the_database_refuses_to_delete_or_rename_a_user(app, make_user):
    user_id, _ = make_user("li.na", "qa_officer")
    engine = app.extensions["gmp_engine"]
    for statement in ("DELETE FROM users WHERE id = :id", "UPDATE users SET username = 'someone.else' WHERE id = :id"):
        with pytest.raises(sa.exc.DatabaseError):
            with engine.begin() as connection:
                connection.execute(sa.text(statement), {"id": user_id})
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT username FROM users WHERE id = :id"), {"id": user_id}).scalar_one() == "li.na"


@pytest.mark.req("RET-03", "RET-05")
def test_the_recall_migrations_upgrade_a_database_that_holds_records(app, make_user, uow_factory):
    """0013-0024 on a database with users, roles, products and distribution records made before them: the roles
    check is widened twice (SQLite rebuilds user_roles), the rows keep their data and get the new columns, and the
    register keeps its triggers."""
    from gmp_complaints.services import master_data

    url = app.config["GMP_SETTINGS"].database_url
    user_id, _ = make_user("li.na", "qa_officer")
    master_data.create_product(uow_factory(), {"code": "P-1", "name": "n", "strength": "s", "dosage_form": "d"},
                               actor_id=user_id)
    master_data.create_batch(uow_factory(), {"product_code": "P-1", "batch_no": "B1", "manufactured_on": "2026-01-01",
                                             "expires_on": "2028-01-01"}, actor_id=user_id)
    master_data.create_distribution(uow_factory(), {"product_code": "P-1", "batch_no": "B1", "consignee": "药房",
                                                    "quantity": 5, "shipped_on": "2026-02-01"}, actor_id=user_id)
    app.extensions["gmp_engine"].dispose()
    config = alembic_config(url)
    command.downgrade(config, "0012")
    engine = sa.create_engine(url)
    assert "recalls" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    upgrade_to_head(url)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT role FROM user_roles")).all() == [("qa_officer",)]
        assert connection.execute(sa.text("SELECT consignee, quantity, is_export, email FROM distributions")).all() == [
            ("药房", 5, False, None)]
        # 0018: a product made before markets existed is marketed in the home market, with no other MAH.
        assert connection.execute(sa.text("SELECT markets, marketing_authorisation_holder FROM products")).all() == [
            ("CN", None)]
        # 0019 and 0023 added columns to the register without copying it: its no-delete trigger is still there.
        if connection.dialect.name == "sqlite":
            trigger = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = 'notifications_no_delete'"
        else:
            trigger = "SELECT tgname FROM pg_trigger WHERE tgname = 'notifications_no_delete'"
        assert connection.execute(sa.text(trigger)).all() == [("notifications_no_delete",)]
    engine.dispose()
    make_user("zhou.min", "recall_coordinator")  # the widened check takes the new roles
    make_user("sun.li", "pv_officer")
    with app.extensions["gmp_engine"].connect() as connection:
        roles = connection.execute(sa.text("SELECT role FROM user_roles")).all()
        assert ("recall_coordinator",) in roles and ("pv_officer",) in roles

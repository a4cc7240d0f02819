"""The gmp command (DESIGN §6)."""
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gmp_complaints.cli import main
from gmp_complaints.demo import DEMO_USERS, demo_password
from gmp_complaints.domain.roles import Role
from tests.conftest import environment_for, signing_key_path


@pytest.fixture
def cli_env(database_url, tmp_path, tmp_path_factory):
    return environment_for(database_url, tmp_path / "instance", signing_key_path(tmp_path_factory))


@pytest.mark.req("SIG-05")
def test_create_user_reads_a_temporary_password_from_stdin(cli_env, database_url):
    result = CliRunner(env=cli_env).invoke(main, [
        "create-user", "chen.jing", "--name", "陈静 Chen Jing", "--role", "qp", "--identity-verified",
        "--password-stdin"], input="first-temporary-pass\n")
    assert result.exit_code == 0, result.output
    assert "first-temporary-pass" not in result.output
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        row = connection.execute(sa.text(
            "SELECT printed_name, password_is_temporary, identity_verified_at FROM users WHERE username = 'chen.jing'"
        )).one()
    engine.dispose()
    assert row.printed_name == "陈静 Chen Jing" and row.password_is_temporary and row.identity_verified_at is not None


def test_create_user_refuses_a_forbidden_role_combination_and_stores_nothing(cli_env, database_url):
    result = CliRunner(env=cli_env).invoke(main, [
        "create-user", "zhao.lei", "--name", "Zhao Lei", "--role", "auditor", "--role", "qa_head",
        "--password-stdin"], input="first-temporary-pass\n")
    assert result.exit_code != 0
    assert "roles" in result.output
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 0
    engine.dispose()


def test_demo_creates_one_marked_user_per_role_that_can_log_in_without_a_change(cli_env, database_url, app):
    result = CliRunner(env=cli_env).invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    for username, _, role in DEMO_USERS:
        assert f"{username}" in result.output and demo_password(role) in result.output
    again = CliRunner(env=cli_env).invoke(main, ["demo"])
    assert again.exit_code == 0, again.output
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT username, is_demo, password_is_temporary FROM users")).all()
    engine.dispose()
    assert len(rows) == len(DEMO_USERS) == len(Role)  # one per role
    assert all(row.is_demo and not row.password_is_temporary for row in rows)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "demo.qp", "password": demo_password(DEMO_USERS[4][2])})
    assert token.status_code == 200


def test_demo_refuses_a_database_with_real_accounts(cli_env):
    runner = CliRunner(env=cli_env)
    runner.invoke(main, ["create-user", "li.na", "--name", "Li Na", "--role", "qa_officer", "--password-stdin"],
                  input="first-temporary-pass\n")
    result = runner.invoke(main, ["demo"])
    assert result.exit_code != 0 and "non-demo" in result.output

"""The ``gmp`` command (DESIGN §6): init, create-user, demo, serve."""
from __future__ import annotations

import sys
from contextlib import contextmanager

import click

from gmp_complaints.config import ConfigurationError, load_settings
from gmp_complaints.domain.errors import DomainError
from gmp_complaints.domain.roles import Role


def _settings():
    try:
        return load_settings()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _database(settings):
    """A unit-of-work factory for one command; the engine is closed when the command ends."""
    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.uow import UnitOfWork

    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    try:
        yield lambda: UnitOfWork(session_factory, settings)
    finally:
        engine.dispose()


def _fail(exc: DomainError):
    details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.fields.items())
    raise click.ClickException(f"{exc.message} {details}".strip())


@click.group()
def main():
    """GMP customer quality complaints and CAPA."""


@main.command()
def init():
    """Apply the database migrations and create the instance secrets. Safe to run again."""
    from gmp_complaints.migrate import upgrade_to_head

    settings = _settings()
    upgrade_to_head(settings.database_url)
    click.echo(f"Database is at the latest schema: {_redacted(settings.database_url)}")
    click.echo(f"Instance folder: {settings.instance_path}")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command("create-user")
@click.argument("username")
@click.option("--name", "printed_name", required=True, help="The person's full printed name, as shown on signatures.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role]))
@click.option("--identity-verified", is_flag=True, help="You, the administrator, have verified the person's identity.")
@click.option("--password-stdin", is_flag=True, help="Read the temporary password from standard input.")
def create_user(username, printed_name, roles, identity_verified, password_stdin):
    """Create an account with a temporary password that must be changed at first log-in."""
    from gmp_complaints.services import accounts

    settings = _settings()
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("--password-stdin: no password on standard input.")
    try:
        with _database(settings) as new_uow:
            created = accounts.create_user(
                new_uow(), actor_id=None, username=username, printed_name=printed_name, roles=roles,
                temporary_password=password, identity_verified=identity_verified,
            )
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Created user {created.username} (id {created.user_id}) with roles {', '.join(sorted(roles))}.")
    if not password_stdin:
        click.echo(f"Temporary password (must be changed at first log-in): {created.temporary_password}")


@main.command()
def demo():
    """Load demo data for a first look: one user per role (passwords printed)."""
    from gmp_complaints.demo import load_demo
    from gmp_complaints.migrate import upgrade_to_head

    settings = _settings()
    upgrade_to_head(settings.database_url)
    try:
        with _database(settings) as new_uow:
            report = load_demo(new_uow)
    except DomainError as exc:
        _fail(exc)
    click.echo("Demo data (every demo record is marked as demo). Demo users and passwords:")
    for line in report:
        click.echo(f"  {line}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host, port, workers):
    """Run the web application under gunicorn."""
    from gmp_complaints.server import run_gunicorn

    settings = _settings()
    click.echo(f"Serving on http://{host}:{port}/ ({_redacted(settings.database_url)})")
    run_gunicorn(settings, host=host, port=port, workers=workers)

"""Shared fixtures.

Integration tests run on SQLite and on PostgreSQL: each backend's schema is built once per test run
by the Alembic migrations into a template, and every test gets a fresh copy of it. With ``CI=true``
a missing PostgreSQL or browser fails the run instead of skipping.
"""
from __future__ import annotations

import itertools
import os
import shutil
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from gmp_complaints.config import load_settings

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get("GMP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: uses a database")


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: nothing may be skipped)", pytrace=False)
    pytest.skip(reason)


def _postgres_reachable() -> bool:
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


def environment_for(database_url: str, instance: Path, key_path: Path) -> dict:
    return {"GMP_INSTANCE_PATH": str(instance), "DATABASE_URL": database_url, "GMP_ENV": "test",
            "GMP_SIGNING_KEY_PATH": str(key_path)}


def _initialise(database_url: str, key_path: Path) -> None:
    """What `gmp init` does: migrations, then the signing key registered (one key for the whole run)."""
    from audit.service import ensure_signing_key
    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.migrate import upgrade_to_head
    from gmp_complaints.uow import UnitOfWork

    upgrade_to_head(database_url)
    settings = load_settings(environment_for(database_url, key_path.parent / "instance", key_path))
    from gmp_complaints.services.calendars import seed_china_calendar, seed_us_calendar

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    ensure_signing_key(UnitOfWork(factory, settings))
    seed_china_calendar(UnitOfWork(factory, settings), first_year=2020)
    seed_us_calendar(UnitOfWork(factory, settings), first_year=2020)
    from gmp_complaints.services.configuration import seed_reference_data

    seed_reference_data(UnitOfWork(factory, settings))
    engine.dispose()


class SqliteTemplate:
    def __init__(self, root: Path, key_path: Path):
        self.root = root
        self.template = root / "template.sqlite3"
        _initialise(f"sqlite:///{self.template}", key_path)
        self.counter = itertools.count()

    def new_database(self) -> str:
        path = self.root / f"db{next(self.counter)}.sqlite3"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresTemplate:
    """Copies of the migrated template, made ahead of use by one background thread.

    ``CREATE DATABASE ... TEMPLATE`` costs about 0.4 s of server time; the thread keeps a few copies
    ready (and drops used ones) while the tests run, so a test waits for none of it.
    """

    SPARE = 3

    def __init__(self, key_path: Path):
        self.admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.prefix = f"gmp_test_{uuid.uuid4().hex[:8]}"
        self.template = f"{self.prefix}_template"
        self._execute(f'CREATE DATABASE "{self.template}"')
        _initialise(self._url(self.template), key_path)
        # No session may be connected to a template while it is copied, autovacuum included.
        self._execute(f'ALTER DATABASE "{self.template}" WITH ALLOW_CONNECTIONS false')
        self.counter = itertools.count()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-template")
        self._ready: deque[Future] = deque(self._worker.submit(self._create) for _ in range(self.SPARE))

    def _url(self, name: str) -> str:
        return sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def _execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(sa.text(statement))

    def _create(self) -> str:
        name = f"{self.prefix}_{next(self.counter)}"
        for attempt in range(20):
            try:
                self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                break
            except sa.exc.OperationalError as exc:
                if "being accessed by other users" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.1)
        return self._url(name)

    def new_database(self) -> str:
        url = self._ready.popleft().result()
        self._ready.append(self._worker.submit(self._create))
        return url

    def drop(self, url: str) -> None:
        name = sa.engine.make_url(url).database
        self._worker.submit(self._execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        while self._ready:
            self.drop(self._ready.popleft().result())
        self._worker.shutdown(wait=True)
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self.admin.dispose()


_templates: dict[str, object] = {}


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory):
    yield _templates
    for template in _templates.values():
        template.close()


def signing_key_path(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "keys" / "audit-signing-key.pem"


def _template_for(backend: str, database_templates, tmp_path_factory):
    if backend not in database_templates:
        key_path = signing_key_path(tmp_path_factory)
        if backend == "postgresql":
            if not _postgres_reachable():
                _unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
            database_templates[backend] = PostgresTemplate(key_path)
        else:
            database_templates[backend] = SqliteTemplate(tmp_path_factory.mktemp("sqlite"), key_path)
    return database_templates[backend]


@pytest.fixture(params=BACKENDS)
def database_url(request, database_templates, tmp_path_factory):
    """A freshly migrated, empty database on each backend."""
    template = _template_for(request.param, database_templates, tmp_path_factory)
    url = template.new_database()
    yield url
    # Engines of the test's app hold connections; PostgreSQL's DROP ... WITH (FORCE) ends them.
    template.drop(url)


@pytest.fixture
def settings(tmp_path, database_url, tmp_path_factory):
    return load_settings(environment_for(database_url, tmp_path / "instance", signing_key_path(tmp_path_factory)))


@pytest.fixture
def app(settings):
    from gmp_complaints import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["gmp_engine"].dispose()


@pytest.fixture
def uow_factory(app):
    from gmp_complaints import unit_of_work

    return lambda: unit_of_work(app)


@pytest.fixture
def client(app):
    return app.test_client()


STRONG_PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def make_user(uow_factory):
    """Create a user through the service; by default with a password of their own, ready to work."""
    from gmp_complaints.services import accounts

    def make(username: str, *roles: str, password: str = STRONG_PASSWORD, temporary: bool = False,
             identity_verified: bool = False, printed_name: str | None = None):
        temp = "temporary-password-0001"
        created = accounts.create_user(
            uow_factory(), actor_id=None, username=username, printed_name=printed_name or f"{username.title()} Tester",
            roles=list(roles), temporary_password=temp, identity_verified=identity_verified,
        )
        if not temporary:
            accounts.change_password(uow_factory(), username=username, old_password=temp, new_password=password,
                                     source_ip=None)
        else:
            password = temp
        return created.user_id, password

    return make


@pytest.fixture
def approved_change(uow_factory, make_user):
    """A change of access as the pages and the API make it (SEC-04): ``actor_id`` (an administrator) requests it with
    ``body`` (``kind``, ``reason``, ...), then a head of quality of its own (``access.approver``, made at first use)
    approves it. Returns the decided request."""
    from gmp_complaints.domain.roles import Actor, Role
    from gmp_complaints.services import access_requests

    approver: dict = {}

    def change(actor_id: int, **body) -> dict:
        if not approver:
            approver["id"], approver["password"] = make_user("access.approver", "qa_head",
                                                             printed_name="Access Approver")
        requested = access_requests.request_access_change(uow_factory(), body, actor_id=actor_id)
        return access_requests.decide_access_request(
            uow_factory(), requested["id"],
            {"decision": "approve", "username": "access.approver", "password": approver["password"]},
            actor=Actor(approver["id"], frozenset({Role.qa_head})))

    return change


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of the session, read from a rendered form."""
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(client, username: str, password: str):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password})


def execute_sql(app, statement: str, **params):
    """Raw SQL outside the application, for setting up clocks (e.g. an old password) in tests.

    On PostgreSQL it carries an attribution, as the application's transactions do; the trail does not
    know of the change, so the integrity check would report it.
    """
    with app.extensions["gmp_engine"].begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT set_config('gmp.tx', 'test-setup', true)"))
        return connection.execute(sa.text(statement), params)


# --- traceability (VAL-02): requirement tags → results, written after every run --------------

_REPO = Path(__file__).resolve().parents[1]
_trace_results: list[dict] = []
_deselected: list[int] = []


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        reqs = sorted({req for mark in getattr(report, "req_marks", ()) for req in mark})
        _trace_results.append({"test": report.nodeid, "reqs": reqs, "outcome": report.outcome})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().req_marks = [mark.args for mark in item.iter_markers("req")]


def pytest_deselected(items):
    _deselected.append(len(items))


def _whole_suite(config) -> bool:
    """The test command's own run: the configured test paths, nothing selected away. Only such a run can show
    that every requirement is proven, so only it fails for one that is not."""
    option = config.option
    return (config.args_source == pytest.Config.ArgsSource.TESTPATHS and not option.keyword
            and not option.markexpr and not _deselected and not getattr(option, "lf", False)
            and not getattr(option, "last_failed", False))


def _commit() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=_REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def pytest_sessionfinish(session, exitstatus):
    from datetime import datetime, timezone

    from gmp_complaints.urs import load_urs, urs_path
    from validation.traceability import build_failures, build_matrix, write_reports

    urs = Path(os.environ.get("GMP_URS") or urs_path())
    if _trace_results and not urs.exists():
        print(f"\nTraceability (VAL-02): no URS at {urs}; no matrix written.")
        if _whole_suite(session.config):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif _trace_results:
        _, requirements = load_urs(urs)
        matrix = build_matrix(_trace_results, requirements, commit=_commit(),
                              run_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        write_reports(matrix, Path(os.environ.get("GMP_TRACE_OUTPUT") or _REPO / "validation" / "output"))
        failures = build_failures(matrix)
        if failures and _whole_suite(session.config):
            print(f"\nTraceability (VAL-02): {len(failures)} requirement(s) not proven, which fails the run:\n  "
                  + "\n  ".join(failures))
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    # With CI=true nothing may be skipped (VAL-02): a skipped test fails the run, named.
    skipped = sorted({r["test"] for r in _trace_results if r["outcome"] == "skipped"})
    if IN_CI and skipped:
        print(f"\nCI=true: {len(skipped)} test(s) skipped, which fails the run:\n  " + "\n  ".join(skipped))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

"""Shared fixtures.

Integration tests run on SQLite and on PostgreSQL: each backend's schema is built once per test run
by the Alembic migrations into a template, and every test gets a fresh copy of it. With ``CI=true``
a missing PostgreSQL or browser fails the run instead of skipping.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import os
import shutil
import sqlite3
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
    # No fsync of the checkpoints kept outside the database (about 3 ms a commit here): a power loss is no test's
    # concern; tests/integration/test_tamper_detection.py runs with it.
    return {"GMP_INSTANCE_PATH": str(instance), "DATABASE_URL": database_url, "GMP_ENV": "test",
            "GMP_SIGNING_KEY_PATH": str(key_path), "GMP_CHECKPOINT_FSYNC": "false"}


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
        self.prepared: dict = {}

    def new_database(self, source: str | None = None) -> str:
        """A copy of the migrated template, or of a prepared database (``source``, from ``prepare``)."""
        path = self.root / f"db{next(self.counter)}.sqlite3"
        shutil.copyfile(source or self.template, path)
        return f"sqlite:///{path}"

    def prepare(self, url: str) -> str | None:
        """A copy of a test's database as it is now, to be copied for later tests (SQLite's backup: consistent
        whatever its WAL holds)."""
        path = self.root / f"prepared{next(self.counter)}.sqlite3"
        source, target = sqlite3.connect(url.removeprefix("sqlite:///")), sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return str(path)

    def discard(self, prepared: str) -> None:
        Path(prepared).unlink(missing_ok=True)

    def drop(self, url: str) -> None:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresTemplate:
    """Copies of the migrated template (or of a prepared database), made ahead of use by one background thread.

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
        self.prepared: dict = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-template")
        # DROP DATABASE waits for a checkpoint (seconds on a busy server): on threads of their own, so the next
        # copies are not held up, and several at once, so one checkpoint serves several drops
        self._dropper = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pg-drop")
        #: ready copies per source database
        self._ready: dict[str, deque[Future]] = {}
        self._spares_of(self.template)

    def _url(self, name: str) -> str:
        return sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def _execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(sa.text(statement))

    def _copy(self, source: str, name: str) -> bool:
        """CREATE DATABASE name TEMPLATE source; False when a session stays connected to the source."""
        for attempt in range(20):
            try:
                self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
                return True
            except sa.exc.OperationalError as exc:
                if "being accessed by other users" not in str(exc):
                    raise
                time.sleep(0.1)
        return False

    def _create(self, source: str) -> str:
        name = f"{self.prefix}_{next(self.counter)}"
        if not self._copy(source, name):
            raise RuntimeError(f"database {source} stays in use; it cannot be copied")
        return self._url(name)

    def _spares_of(self, source: str) -> deque[Future]:
        if source not in self._ready:
            self._ready[source] = deque(self._worker.submit(self._create, source) for _ in range(self.SPARE))
        return self._ready[source]

    def new_database(self, source: str | None = None) -> str:
        """A copy of the migrated template, or of a prepared database (``source``, from ``prepare``)."""
        ready = self._spares_of(source or self.template)
        url = ready.popleft().result()
        ready.append(self._worker.submit(self._create, source or self.template))
        return url

    def prepare(self, url: str) -> str | None:
        """A copy of a test's database as it is now, to be copied for later tests; None when the test's
        connections to it could not be closed (its app's engine is disposed first)."""
        name = f"{self.prefix}_prepared_{next(self.counter)}"
        source = sa.engine.make_url(url).database
        if not self._worker.submit(self._copy, source, name).result():
            return None
        self._execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        return name

    def _drop_spares(self, source: str) -> None:
        for future in self._ready.pop(source, ()):
            if not future.cancel():  # a copy not begun is not made at all
                self.drop(future.result())

    def discard(self, prepared: str) -> None:
        self._drop_spares(prepared)
        self._dropper.submit(self._execute, f'DROP DATABASE IF EXISTS "{prepared}" WITH (FORCE)')

    def drop(self, url: str) -> None:
        name = sa.engine.make_url(url).database
        self._dropper.submit(self._execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._drop_spares(self.template)
        for prepared in {state.database for state in self.prepared.values()}:
            self.discard(prepared)
        self._worker.shutdown(wait=True)
        self._dropper.shutdown(wait=True)
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


# --- prepared states: a fixture's database work done once, then copied ----------------------------------------
#
# A fixture that only sets up data (the ``api`` fixture's people, tokens, product and batches) calls
# ``prepared_state``: the first test on a backend runs it and its database and instance folder are kept; a later test
# whose first database work is that same fixture gets a copy of both instead, and the fixture's plain return value.
# The state is exactly what the fixture would have built (same code, same settings); only its wall-clock times are
# up to PREPARED_MAX_AGE earlier, which stays below the API token idle lock (15 minutes).

#: fixtures that write nothing when set up (they return functions or objects); any other fixture set up before a
#: prepared one means the test starts from an empty database and the prepared fixture runs as written
SETUP_WITHOUT_WRITES = {"tmp_path", "tmp_path_factory", "database_templates", "database_url", "settings", "app",
                        "uow_factory", "client", "make_user", "approved_change", "monkeypatch", "capsys", "caplog"}
PREPARED_MAX_AGE_SECONDS = 600
#: GMP_TEST_PREPARED=0 builds every state afresh, as the fixtures are written (to compare, or to rule this out)
PREPARED_STATES = os.environ.get("GMP_TEST_PREPARED", "1") != "0"
_PREPARED_FIXTURES: set[str] = set()


class Prepared:
    def __init__(self, database: str, instance: Path | None, values: dict, settings):
        self.database, self.instance, self.values, self.settings = database, instance, values, settings
        self.made_at = time.monotonic()


def _setup_order(item) -> list[str]:
    """The fixtures of a test in the order pytest sets them up (each after the fixtures it asks for)."""
    definitions = item._fixtureinfo.name2fixturedefs
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in definitions:
            return
        seen.add(name)  # before its arguments: an override may ask for the fixture it overrides (same name)
        for argument in definitions[name][-1].argnames:
            visit(argument)
        order.append(name)

    for name in item.fixturenames:
        visit(name)
    return order


def _prepared_chain(item) -> tuple[str, ...]:
    """The prepared fixtures that do a test's first database work, in order (empty when another fixture does)."""
    from _pytest.python import get_direct_param_fixture_func

    definitions = item._fixtureinfo.name2fixturedefs
    chain: list[str] = []
    for name in _setup_order(item):
        if name in _PREPARED_FIXTURES:
            chain.append(name)
        elif chain or (name not in SETUP_WITHOUT_WRITES and definitions[name][-1].func
                       is not get_direct_param_fixture_func):
            break
    return tuple(chain)


def _prepared_key(item, backend: str):
    chain = _prepared_chain(item)
    if not chain:
        return None
    definitions = item._fixtureinfo.name2fixturedefs
    # the fixture functions themselves: a module's own ``settings`` or ``api`` is another state
    return (backend, chain) + tuple(definitions[name][-1].func for name in _setup_order(item)
                                    if name in SETUP_WITHOUT_WRITES or name in chain)


def _comparable(settings):
    return dataclasses.replace(settings, instance_path=Path("."), database_url="", secret_key="")


def prepared_state(request, app, build):
    """``build()`` (a fixture's database work, returning plain values) run once per backend and copied after.

    Returns what ``build`` returned: from the prepared copy this test's database was made of, or by running it."""
    _PREPARED_FIXTURES.add(request.fixturename)
    restored = getattr(request.node, "gmp_restored", None)
    if restored is not None and request.fixturename in restored.values:
        settings = app.config["GMP_SETTINGS"]
        if _comparable(settings) != restored.settings or settings.instance_path != request.node.gmp_instance:
            raise RuntimeError(f"{request.fixturename}: prepared with other settings than this test's")
        if "gmp_values" not in request.node.__dict__:  # one copy per test: the fixtures' values may share objects
            request.node.gmp_values = copy.deepcopy(restored.values)
        return request.node.gmp_values[request.fixturename]
    value = build()
    built = request.node.__dict__.setdefault("gmp_built", {})
    built[request.fixturename] = value
    key = getattr(request.node, "gmp_prepare_key", None)
    if key is not None and key[1][-1] == request.fixturename:
        template = request.getfixturevalue("database_templates")[key[0]]
        settings = app.config["GMP_SETTINGS"]
        app.extensions["gmp_engine"].dispose()  # no session may be connected to a database PostgreSQL copies
        database = template.prepare(settings.database_url)
        if database is not None:
            instance = None
            if settings.instance_path.exists():
                instance = request.getfixturevalue("tmp_path_factory").mktemp("prepared") / "instance"
                shutil.copytree(settings.instance_path, instance)
            template.prepared[key] = Prepared(database, instance, copy.deepcopy(built), _comparable(settings))
    return value


@pytest.fixture(params=BACKENDS)
def database_url(request, database_templates, tmp_path_factory, tmp_path):
    """A freshly migrated, empty database on each backend; or a copy of a prepared state (``prepared_state``),
    with its instance folder at ``tmp_path / "instance"``."""
    template = _template_for(request.param, database_templates, tmp_path_factory)
    key = _prepared_key(request.node, request.param) if PREPARED_STATES and _PREPARED_FIXTURES else None
    prepared = template.prepared.get(key) if key is not None else None
    if prepared is not None and time.monotonic() - prepared.made_at > PREPARED_MAX_AGE_SECONDS:
        del template.prepared[key]
        template.discard(prepared.database)
        prepared = None
    if prepared is not None:
        url = template.new_database(prepared.database)
        if prepared.instance is not None:
            shutil.copytree(prepared.instance, tmp_path / "instance")
        request.node.gmp_restored, request.node.gmp_instance = prepared, tmp_path / "instance"
    else:
        url = template.new_database()
        request.node.gmp_prepare_key = key
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
def no_minimum_password_age(app):
    """For tests that change a password again at once (the history rule, token revocation): the minimum age (a day
    by default) is tested on its own in tests/integration/test_account_hardening.py."""
    import dataclasses

    settings = app.config["GMP_SETTINGS"]
    app.config["GMP_SETTINGS"] = dataclasses.replace(
        settings, password_policy=dataclasses.replace(settings.password_policy, min_age_days=0))


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
        reqs = sorted({req for name, ids in report.user_properties if name == "req" for req in ids})
        _trace_results.append({"test": report.nodeid, "reqs": reqs, "outcome": report.outcome})


@pytest.hookimpl(tryfirst=True)  # before the fixtures: a failing set-up reports the test's requirements too
def pytest_runtest_setup(item):
    # In the report's user properties: the one place a test's own data travels from an xdist worker to the
    # process that builds the matrix.
    ids = [req for mark in item.iter_markers("req") for req in mark.args]
    if ids:
        item.user_properties.append(("req", ids))


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
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controlling process has every report and judges the whole run
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

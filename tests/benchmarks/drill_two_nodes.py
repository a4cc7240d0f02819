"""Fault drill (issue 19): two app nodes on one PostgreSQL, two ``gmp tick`` at once, N registrations and
classifications under injected faults, a node killed with kill -9 and PostgreSQL restarted mid-load.

What it sets up, all private to the run and removed afterwards (``--keep`` leaves the folder for a look):
- a PostgreSQL 15 cluster of its own (``initdb`` into a temporary folder, port ``--pg-port``, run as the
  ``postgres`` OS user when the drill runs as root), never the shared server on 5432;
- ``gmp init`` and the users through the installed console script (``gmp create-user``), the master data through
  the API;
- two nodes, ``gmp serve --workers W`` on two ports with one ``DATABASE_URL`` and one shared instance folder.
  Shared, as a site shares it on network storage: the instance folder holds what every node must hold the same —
  the audit signing key (one site key signs every checkpoint), the personal-data encryption keys (a complainant
  encrypted by one node is read by the other), the session secret and the attachments;
- two loops running ``gmp tick`` back to back, at the same time as each other and as the load.

The load: ``--clients`` threads share N work items; item i goes to node i mod 2 (the other node when that one
refuses connections, as a load balancer fails over). Each item registers a complaint, records its validity and
classifies it (class and received year spread so that six (class, year) serials run at once). Faults:
- refused requests that stop after partial validation: every 20th item first sends a registration naming a
  batch of another product (400), every 25th classifies its complaint a second time (409);
- a fault thread terminates a random application connection (``pg_terminate_backend``) every ``--kill-every``
  seconds, mid-transaction when it finds one: real rollbacks inside the product;
- at 35 % of the items node B (its gunicorn master and workers) is killed with SIGKILL, and restarted 5 s later;
- at 65 % the private PostgreSQL is restarted (``pg_ctl restart -m fast``); the nodes are not restarted.
A request that fails (5xx, connection error) is retried; a registration that failed may still have been stored
(the answer was lost), so only answered ones (2xx) count as acknowledged.

Then a smaller walk for the timers: ``--reminders`` classified complaints are taken to the formal reply, and the two
``gmp tick`` run together, twice, on the day their reminder is due (``GMP_ENV=test``, ``GMP_TODAY``), then twice
on the day their closure is eligible.

It asserts, on the database: no duplicate intake reference (R-) or complaint number (TS-), no gap in the intake
serial of the year nor in any (class, year) serial, every acknowledged registration and classification present
with the number that was answered, exactly one reminder and one move to closure pending per walked complaint,
no escalation twice; and afterwards that ``gmp integrity-check`` passes and that a full ``gmp audit export``
verifies with ``gmp audit verify`` and ``--strict``. It prints a summary (counts, throughput, p50/p95 latency,
failures by kind) and exits 1 when an invariant is violated.

Run: .venv/bin/python -m tests.benchmarks.drill_two_nodes [--registrations 10000] [--clients 8] [--workers 3]
(start with --registrations 500; at 10,000 it takes a while on a small machine: the load about 20 minutes on two
shared cores, and each ``gmp tick`` of the timer walk then handles every open complaint — thousands of overdue
escalations — which takes several minutes more per tick; ``--reminders 0`` leaves the walk out).
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import requests

PG_BIN = Path("/usr/lib/postgresql/15/bin")
GMP = Path(sys.executable).with_name("gmp")
TODAY = "2026-11-20"
PASSWORD = "Drill-Lantern-Orchid-7319!"
USERS = (("drill.intake", "intake"), ("drill.qa", "qa_officer"), ("drill.investigator", "investigator"))
PRODUCTS = {"P-100": ["B100-1", "B100-2"], "P-200": ["B200-1"]}
RECEIVED = ("2026-11-10", "2026-11-16", "2026-11-19", "2025-12-15")
CLASSES = ("I", "II", "III")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


class PrivatePostgres:
    """A throwaway PostgreSQL 15 cluster on its own port, started and restarted with pg_ctl."""

    def __init__(self, port: int):
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="gmp-drill-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else list(args)
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:1])} failed ({result.returncode}): {result.stdout}")

    def init(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C")
        self.start()
        with psycopg.connect(self.admin_dsn, autocommit=True) as connection:
            connection.execute("CREATE DATABASE gmp")

    def _ctl(self, action: str, *extra: str) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200",
                  *extra, action)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        try:
            self._ctl("stop", "-m", "fast")
        except RuntimeError:
            pass  # not running

    @property
    def admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=gmp"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/gmp"

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class Node:
    """One app node: ``gmp serve`` (a gunicorn master and its workers) in a process group of its own."""

    def __init__(self, name: str, port: int, workers: int, env: dict, logs: Path):
        self.name, self.port, self.workers, self.env, self.logs = name, port, workers, env, logs
        self.process: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        log = open(self.logs / f"node-{self.name}.log", "ab")
        self.process = subprocess.Popen(
            [str(GMP), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/api/v1/openapi.json", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"node {self.name} did not come up; see {self.logs}/node-{self.name}.log")

    def kill9(self) -> None:
        """SIGKILL to the master and every worker at once: no graceful shutdown, no cleanup."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.failures: collections.Counter = collections.Counter()
        self.expected_refusals: collections.Counter = collections.Counter()

    def ok(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latency[kind].append(seconds)

    def fail(self, kind: str, why: str) -> None:
        with self.lock:
            self.failures[(kind, why)] += 1


class Drill:
    def __init__(self, args):
        self.args = args
        self.pg = PrivatePostgres(args.pg_port)
        self.folder = Path(tempfile.mkdtemp(prefix="gmp-drill-"))
        self.instance = self.folder / "instance"
        self.logs = self.folder / "logs"
        self.logs.mkdir()
        self.env = {**os.environ, "DATABASE_URL": self.pg.url, "GMP_INSTANCE_PATH": str(self.instance),
                    "GMP_ENV": "test", "GMP_TODAY": TODAY}
        for name in ("GMP_SIGNING_KEY_PATH", "GMP_BACKUP_DIR"):
            self.env.pop(name, None)
        self.nodes = [Node(name, port, args.workers, self.env, self.logs)
                      for name, port in (("A", args.port), ("B", args.port + 1))]
        self.tokens: dict[str, str] = {}
        self.stats = Stats()
        self.registered: dict[int, str] = {}  # acknowledged: complaint id -> intake reference
        self.classified: dict[int, str] = {}  # acknowledged: complaint id -> number
        self.expected_class: dict[int, tuple[str, str]] = {}
        self.done = 0
        self.done_lock = threading.Lock()
        self.load_running = threading.Event()
        self.events: list[str] = []
        self.violations: list[str] = []
        self.ticks: collections.Counter = collections.Counter()
        self.terminated = 0

    # --- set-up ---------------------------------------------------------------------------------

    def gmp(self, *args: str, stdin: str | None = None, env: dict | None = None, check: bool = True):
        result = subprocess.run([str(GMP), *args], env=env or self.env, input=stdin, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise RuntimeError(f"gmp {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def set_up(self) -> None:
        self.pg.init()
        self.gmp("init")
        for username, role in USERS:
            self.gmp("create-user", username, "--name", f"Drill {role}", "--role", role, "--password-stdin",
                     stdin="Temporary-Drill-Password-42\n")
        for node in self.nodes:
            node.start()
        base = self.nodes[0].base
        for username, _role in USERS:
            changed = requests.post(f"{base}/api/v1/auth/password", json={
                "username": username, "old_password": "Temporary-Drill-Password-42", "new_password": PASSWORD})
            assert changed.status_code == 204, changed.text
        self.log_in()
        for code, batches in PRODUCTS.items():
            self.post_ok(base, "qa_officer", "/products", {"code": code, "name": f"Drill product {code}",
                                                          "strength": "10 mg", "dosage_form": "tablet"})
            for batch_no in batches:
                self.post_ok(base, "qa_officer", "/batches", {"product_code": code, "batch_no": batch_no,
                                                             "manufactured_on": "2025-06-01",
                                                             "expires_on": "2028-05-31"})

    def log_in(self) -> None:
        """Fresh tokens (a token unused for the idle time is locked: the investigator's waits out the load)."""
        for username, role in USERS:
            self.tokens[role] = requests.post(f"{self.nodes[0].base}/api/v1/auth/token", json={
                "username": username, "password": PASSWORD}, timeout=60).json()["token"]

    def post_ok(self, base: str, role: str, path: str, body: dict) -> dict:
        response = requests.post(f"{base}/api/v1{path}", json=body, headers=self.auth(role), timeout=60)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    def auth(self, role: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    # --- the load -------------------------------------------------------------------------------

    def call(self, session: requests.Session, node_index: int, kind: str, role: str, path: str, body: dict | None,
             expected: tuple[int, ...], attempts: int = 40):
        """One request, retried on 5xx and connection failures (failing over to the other node when this one
        refuses connections); returns (status, json) of the first answer that is not a failure."""
        for attempt in range(attempts):
            node = self.nodes[node_index]
            started = time.perf_counter()
            try:
                if body is None:
                    response = session.get(f"{node.base}/api/v1{path}", headers=self.auth(role), timeout=60)
                else:
                    response = session.post(f"{node.base}/api/v1{path}", json=body, headers=self.auth(role),
                                            timeout=60)
            except requests.ConnectionError as exc:
                refused = "refused" in str(exc).lower()
                self.stats.fail(kind, "connection refused (node down)" if refused else "connection lost")
                if refused:
                    node_index = 1 - node_index
                time.sleep(min(2.0, 0.05 * (attempt + 1)))
                continue
            except requests.Timeout:
                self.stats.fail(kind, "timeout")
                continue
            elapsed = time.perf_counter() - started
            if response.status_code >= 500:
                self.stats.fail(kind, f"HTTP {response.status_code}")
                time.sleep(min(2.0, 0.05 * (attempt + 1)))
                continue
            if response.status_code not in expected:
                self.stats.fail(kind, f"unexpected HTTP {response.status_code}: {response.text[:120]}")
                return response.status_code, None
            self.stats.ok(kind, elapsed)
            return response.status_code, response.json() if response.content else None
        return None, None

    def work_item(self, session: requests.Session, item: int) -> None:
        node = item % 2
        rng = random.Random(item)
        received = RECEIVED[item % len(RECEIVED)]
        product = "P-100" if item % 3 else "P-200"
        registration = {
            "received_on": received, "channel": "phone",
            "complainant": {"name": "王芳", "organisation": "仁和大药房", "phone": "13800001234",
                            "email": "wf@example.cn"},
            "product_code": product, "batch_nos": [rng.choice(PRODUCTS[product])], "batch_unknown_reason": None,
            "complaint_type": "inner_packaging", "description": f"Drill complaint {item}: 瓶盖破裂",
            "sample_available": False, "customer_due_on": None}
        if item % 20 == 0:  # refused after the product was looked up: the batch belongs to another product
            status, _ = self.call(session, node, "refused registration", "intake", "/complaints",
                                  {**registration, "batch_nos": [PRODUCTS["P-200" if product == "P-100" else
                                                                          "P-100"][0]]}, (400,))
            if status == 400:
                self.stats.expected_refusals["registration naming another product's batch (400)"] += 1
        status, complaint = self.call(session, node, "register", "intake", "/complaints", registration, (201,))
        if status != 201:
            return
        cid = complaint["id"]
        with self.stats.lock:
            self.registered[cid] = complaint["intake_ref"]
        status, _ = self.call(session, node, "validity", "qa_officer", f"/complaints/{cid}/validity",
                              {"information_complete": True, "substantiated": True, "reason": None}, (200, 409))
        if status is None:
            return
        complaint_class = CLASSES[rng.randrange(3)]
        status, classified = self.call(session, node, "classify", "qa_officer", f"/complaints/{cid}/classification",
                                       {"complaint_class": complaint_class, "rationale": "Drill rationale (SOP 3)",
                                        "adr_suspected": False}, (200, 409))
        with self.stats.lock:
            self.expected_class[cid] = (complaint_class, received[2:4])
            if status == 200:
                self.classified[cid] = classified["number"]
        if item % 25 == 0:  # a second classification is refused in the current state
            status, _ = self.call(session, node, "refused classification", "qa_officer",
                                  f"/complaints/{cid}/classification",
                                  {"complaint_class": "I", "rationale": "again", "adr_suspected": False}, (409,))
            if status == 409:
                self.stats.expected_refusals["second classification (409)"] += 1

    def client(self, items: list[int]) -> None:
        session = requests.Session()
        for item in items:
            self.work_item(session, item)
            with self.done_lock:
                self.done += 1

    def tick_loop(self, name: str) -> None:
        while self.load_running.is_set():
            result = self.gmp("tick", check=False)
            self.ticks[(name, "ok" if result.returncode == 0 else "failed")] += 1
            if result.returncode != 0:
                (self.logs / f"tick-{name}-failed-{self.ticks[(name, 'failed')]}.log").write_text(
                    result.stdout + result.stderr)
                time.sleep(0.5)

    def fault_loop(self) -> None:
        """Terminate a random application connection now and then: mid-transaction when one is busy."""
        rng = random.Random(1)
        connection = None
        while self.load_running.is_set():
            time.sleep(self.args.kill_every * rng.uniform(0.5, 1.5))
            try:
                if connection is None or connection.closed:
                    connection = psycopg.connect(self.pg.dsn, autocommit=True)
                pids = connection.execute(
                    "SELECT pid, state FROM pg_stat_activity WHERE datname = 'gmp' AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'").fetchall()
                busy = [pid for pid, state in pids if state in ("active", "idle in transaction")]
                victims = busy or [pid for pid, _ in pids]
                if victims:
                    connection.execute("SELECT pg_terminate_backend(%s)", (rng.choice(victims),))
                    self.terminated += 1
            except psycopg.Error:
                connection = None  # the server is restarting

    def wait_for(self, share: float) -> None:
        while self.done < self.args.registrations * share and self.load_running.is_set():
            time.sleep(0.2)

    def run_load(self) -> float:
        items = list(range(1, self.args.registrations + 1))
        clients = [threading.Thread(target=self.client, args=(items[c::self.args.clients],), daemon=True)
                   for c in range(self.args.clients)]
        helpers = [threading.Thread(target=self.tick_loop, args=(name,), daemon=True) for name in ("tick-1", "tick-2")]
        helpers.append(threading.Thread(target=self.fault_loop, daemon=True))
        self.load_running.set()
        for thread in helpers:
            thread.start()
        started = time.perf_counter()
        for thread in clients:
            thread.start()

        self.wait_for(0.35)
        self.nodes[1].kill9()
        self.note(started, "node B killed with SIGKILL (master and workers)")
        time.sleep(5)
        self.nodes[1].start()
        self.note(started, "node B restarted")

        self.wait_for(0.65)
        self.note(started, "PostgreSQL restart begins (pg_ctl restart -m fast)")
        self.pg.restart()
        self.note(started, "PostgreSQL back; the nodes were not restarted")
        restarted_at = self.done
        for thread in clients:
            thread.join()
        elapsed = time.perf_counter() - started
        self.load_running.clear()
        for thread in helpers:
            thread.join()
        if self.done <= restarted_at:
            self.violations.append("no work item finished after the PostgreSQL restart")
        return elapsed

    def note(self, started: float, what: str) -> None:
        line = f"{time.perf_counter() - started:7.1f} s  {self.done:>6} items done  {what}"
        self.events.append(line)
        print(line, flush=True)

    # --- the timer walk -------------------------------------------------------------------------

    def two_ticks(self, today: str) -> None:
        env = {**self.env, "GMP_TODAY": today}
        runs = [subprocess.Popen([str(GMP), "tick"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True) for _ in range(2)]
        for run in runs:
            output, _ = run.communicate()
            if run.returncode != 0:
                self.violations.append(f"gmp tick on {today} failed: {output[-500:]}")

    def reminder_walk(self) -> list[int]:
        session, base = requests.Session(), self.nodes[0].base
        self.log_in()
        # class II and III: a class I investigation waits for the signed interim risk decision first
        walked = sorted(cid for cid, number in self.classified.items()
                        if not number.startswith("TS-I-"))[: self.args.reminders]
        if not walked:
            return []
        for cid in walked:
            self.post_ok(base, "qa_officer", f"/complaints/{cid}/assignment", {"investigator": "drill.investigator"})
            self.post_ok(base, "investigator", f"/complaints/{cid}/investigation", {
                "root_cause": "封口压力偏低", "impact": "仅本批", "other_batches_affected": "无", "substantiated": True})
            self.post_ok(base, "qa_officer", f"/complaints/{cid}/assessment", {
                "reasonable": False, "actions": [], "adr_confirmed": False, "regulator_report_required": False})
            self.post_ok(base, "qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})

        def latest(field: str) -> str:
            days = [session.get(f"{base}/api/v1/complaints/{cid}", headers=self.auth("qa_officer"),
                                timeout=60).json()["deadlines"][field] for cid in walked]
            if None in days:
                raise AssertionError(f"{days.count(None)} walked complaints have no {field}")
            return max(days)

        reminder_day = latest("reminder_due_on")
        for _ in range(2):
            self.two_ticks(reminder_day)
        closure_day = latest("close_eligible_on")
        for _ in range(2):
            self.two_ticks(closure_day)
        self.events.append(f"timer walk: {len(walked)} complaints replied on {TODAY}; two ticks at once, twice, on "
                           f"{reminder_day} (reminders) and on {closure_day} (closure pending)")
        return walked

    # --- the checks -----------------------------------------------------------------------------

    def check_database(self, walked: list[int]) -> dict:
        with psycopg.connect(self.pg.dsn) as connection:
            rows = connection.execute("SELECT id, intake_ref, number, original_class, status FROM complaints").fetchall()
            reminders = collections.Counter(cid for (cid,) in connection.execute(
                "SELECT r.complaint_id FROM customer_reminders r"))
            # the steps as the audit trail records them: one "remind" and one "no response, closure pending" each
            steps = collections.Counter((action, int(entity)) for action, entity in connection.execute(
                "SELECT action, entity_id FROM audit_events WHERE entity_type = 'complaint' "
                "AND action IN ('complaint.remind', 'complaint.no_response_closure_pending')"))
            escalations = connection.execute(
                "SELECT count(*), count(DISTINCT (complaint_id, kind, due_on)) FROM escalations").fetchone()
        by_id = {cid: (ref, number, klass, status) for cid, ref, number, klass, status in rows}
        refs = [ref for ref, *_ in by_id.values()]
        numbers = [number for _, number, *_ in by_id.values() if number]
        self.expect(len(refs) == len(set(refs)), f"duplicate intake references: {len(refs) - len(set(refs))}")
        self.expect(len(numbers) == len(set(numbers)), f"duplicate numbers: {len(numbers) - len(set(numbers))}")
        serials: dict[tuple, list[int]] = collections.defaultdict(list)
        for ref in refs:
            year, serial = re.fullmatch(r"R-(\d{4})-(\d+)", ref).groups()
            serials[("R", year)].append(int(serial))
        for number in numbers:
            klass, year, serial = re.fullmatch(r"TS-(I|II|III)-(\d\d)-(\d+)", number).groups()
            serials[(klass, year)].append(int(serial))
        for scope, values in sorted(serials.items()):
            missing = sorted(set(range(1, max(values) + 1)) - set(values))
            self.expect(not missing, f"gaps in serial {scope}: {missing[:10]}")
        lost = [cid for cid, ref in self.registered.items() if by_id.get(cid, (None,))[0] != ref]
        self.expect(not lost, f"acknowledged registrations missing or changed: {lost[:10]}")
        lost = [cid for cid, number in self.classified.items() if by_id.get(cid, (None, None))[1] != number]
        self.expect(not lost, f"acknowledged classifications missing or changed: {lost[:10]}")
        wrong = [cid for cid, (klass, yy) in self.expected_class.items()
                 if by_id[cid][1] and not by_id[cid][1].startswith(f"TS-{klass}-{yy}-")]
        self.expect(not wrong, f"numbers of the wrong class or year: {wrong[:10]}")
        double = {cid: n for cid, n in reminders.items() if n != 1}
        self.expect(not double, f"complaints reminded more than once: {double}")
        self.expect(all(reminders[cid] == 1 for cid in walked),
                    f"walked complaints without their reminder: {[c for c in walked if reminders[c] != 1][:10]}")
        self.expect(all(by_id[cid][3] == "closure_pending" for cid in walked),
                    "walked complaints not in closure pending: "
                    f"{[(c, by_id[c][3]) for c in walked if by_id[c][3] != 'closure_pending'][:10]}")
        twice = {key: n for key, n in steps.items() if n != 1}
        self.expect(not twice, f"timer steps recorded more than once: {twice}")
        self.expect(all(steps[(action, cid)] == 1 for cid in walked
                        for action in ("complaint.remind", "complaint.no_response_closure_pending")),
                    "walked complaints missing a timer step in the audit trail")
        self.expect(escalations[0] == escalations[1], f"escalations recorded twice: {escalations[0] - escalations[1]}")
        return {"complaints in the database": len(by_id), "numbered": len(numbers),
                "serials checked (R- per year, TS- per class and year)": len(serials),
                "reminders": sum(reminders.values()), "escalations": escalations[0]}

    def check_commands(self) -> list[str]:
        lines = []
        integrity = self.gmp("integrity-check", check=False)
        self.expect(integrity.returncode == 0, f"gmp integrity-check failed:\n{integrity.stdout[-2000:]}")
        lines.append(f"gmp integrity-check: exit {integrity.returncode}: {integrity.stdout.strip().splitlines()[-1]}")
        self.gmp("tick")  # seals the log to its head first, as the site's timer does
        bundle = self.folder / "audit.zip"
        exported = self.gmp("audit", "export", "--out", str(bundle), check=False)
        self.expect(exported.returncode == 0, f"gmp audit export failed:\n{exported.stdout}{exported.stderr}")
        lines.append(f"gmp audit export: exit {exported.returncode}: {exported.stdout.strip()[:160]}")
        for extra in ((), ("--strict",)):
            verified = self.gmp("audit", "verify", str(bundle), *extra, check=False)
            self.expect(verified.returncode == 0, f"gmp audit verify {' '.join(extra)} failed:\n{verified.stdout}")
            lines.append(f"gmp audit verify {' '.join(extra)}: exit {verified.returncode}: "
                         f"{verified.stdout.strip().splitlines()[-1]}")
        return lines

    def expect(self, condition: bool, violation: str) -> None:
        if not condition:
            self.violations.append(violation)

    # --- report ---------------------------------------------------------------------------------

    def report_load(self, elapsed: float) -> None:
        """The load's figures, printed as soon as it ends (the timer walk and the checks take a while)."""
        print("\n=== drill: two nodes, two ticks, faults ===")
        print(f"registrations asked: {self.args.registrations:,}; clients {self.args.clients}; "
              f"nodes 2 x {self.args.workers} gunicorn workers; machine: {os.cpu_count()} cores "
              f"(load average now {os.getloadavg()[0]:.1f})")
        for line in self.events:
            print(f"  {line}")
        print(f"acknowledged registrations: {len(self.registered):,}; acknowledged classifications: "
              f"{len(self.classified):,}")
        total = sum(len(v) for v in self.stats.latency.values())
        print(f"load: {elapsed:.0f} s, {total / elapsed:.1f} answered requests/s, "
              f"{len(self.classified) / elapsed:.1f} classified complaints/s")
        print(f"{'request':<24}{'answered':>10}{'p50 ms':>10}{'p95 ms':>10}")
        for kind, samples in sorted(self.stats.latency.items()):
            print(f"{kind:<24}{len(samples):>10,}{statistics.median(samples) * 1000:>10.0f}"
                  f"{percentile(samples, 0.95) * 1000:>10.0f}")
        print("failures by kind (each retried):")
        for (kind, why), count in sorted(self.stats.failures.items()):
            print(f"  {kind:<24}{why:<48}{count:>7,}")
        print("refused as designed (nothing stored):")
        for what, count in sorted(self.stats.expected_refusals.items()):
            print(f"  {what:<72}{count:>7,}")
        print(f"application connections terminated by the fault thread: {self.terminated}")
        print(f"gmp tick runs during the load: {dict(sorted(self.ticks.items()))}", flush=True)

    def report(self, counts: dict, command_lines: list[str]) -> None:
        print("\n=== checks ===")
        for line in self.events:
            if line.startswith("timer walk"):
                print(line)
        for key, value in counts.items():
            print(f"{key}: {value:,}")
        for line in command_lines:
            print(line)
        if self.violations:
            print(f"\nINVARIANTS VIOLATED ({len(self.violations)}):")
            for violation in self.violations:
                print(f"  - {violation}")
        else:
            print("\nall invariants held: 0 duplicates, 0 gaps, 0 double reminders, nothing acknowledged lost")

    def clean_up(self) -> None:
        self.load_running.clear()  # the helper threads end with their current round
        for node in self.nodes:
            node.stop()
        self.pg.stop()
        if self.args.keep:
            print(f"kept: {self.folder} and {self.pg.root}")
        else:
            self.pg.remove()
            shutil.rmtree(self.folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per node")
    parser.add_argument("--reminders", type=int, default=40, help="complaints walked through the timers")
    parser.add_argument("--kill-every", type=float, default=2.0, help="seconds between terminated connections")
    parser.add_argument("--port", type=int, default=18601, help="node A; node B listens on the next port")
    parser.add_argument("--pg-port", type=int, default=55432)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args()
    drill = Drill(args)
    try:
        drill.set_up()
        drill.report_load(drill.run_load())
        try:
            walked = drill.reminder_walk()
        except (AssertionError, requests.RequestException) as exc:
            drill.violations.append(f"the timer walk failed: {exc}")
            walked = []
        counts = drill.check_database(walked)
        command_lines = drill.check_commands()
        drill.report(counts, command_lines)
    finally:
        drill.clean_up()
    return 1 if drill.violations else 0


if __name__ == "__main__":
    sys.exit(main())

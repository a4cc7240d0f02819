"""Benchmark (issue 19): does a log-in tell a known user name from an unknown one by its timing?

Before issue 19 an unknown name answered in about 15 ms and a known one with a wrong password in about 211 ms (the
stand-in hash had cheap parameters). This runs ``POST /api/v1/auth/token`` with a wrong password for a known and an
unknown name, interleaved, with the production Argon2id parameters (GMP_ENV=production), each attempt from an
address of its own (so no lockout or rate limit intervenes), and reports the medians and the ratio unknown/known
(1.00 is the goal; the structural proof is in tests/integration/test_account_hardening.py).

Run: .venv/bin/python -m tests.benchmarks.bench_login_timing [--attempts 40] [--database-url URL]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def run(database_url: str | None, instance: Path, attempts: int) -> dict:
    from audit.service import ensure_signing_key
    from gmp_complaints import create_app, unit_of_work
    from gmp_complaints.config import load_settings
    from gmp_complaints.migrate import upgrade_to_head
    from gmp_complaints.services import accounts

    env = {"GMP_INSTANCE_PATH": str(instance), "GMP_ENV": "production", "GMP_ACCOUNT_LOCK_FAILURES": "1000000",
           "GMP_FAILURE_ALERT_THRESHOLD": "1000000"}
    if database_url:
        env["DATABASE_URL"] = database_url
    settings = load_settings(env)
    upgrade_to_head(settings.database_url)
    app = create_app(settings)
    ensure_signing_key(unit_of_work(app))
    accounts.create_user(unit_of_work(app), actor_id=None, username="bench.known", printed_name="Bench Known",
                         roles=["qa_officer"], temporary_password="temporary-password-0001")
    accounts.change_password(unit_of_work(app), username="bench.known", old_password="temporary-password-0001",
                             new_password="correct-horse-battery-staple", source_ip=None)
    client = app.test_client()
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for number in range(attempts):
        for kind, name in (("known", "bench.known"), ("unknown", "bench.nobody")):
            address = {"REMOTE_ADDR": f"10.{number // 250}.{number % 250}.{1 if kind == 'known' else 2}"}
            started = time.perf_counter()
            response = client.post("/api/v1/auth/token", json={"username": name, "password": "wrong-password-x"},
                                   environ_base=address)
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 401, response.get_json()
    app.extensions["gmp_engine"].dispose()
    known, unknown = statistics.median(timings["known"]), statistics.median(timings["unknown"])
    return {"known_ms": known * 1000, "unknown_ms": unknown * 1000, "ratio": unknown / known}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=40, help="wrong-password attempts per kind of name")
    parser.add_argument("--database-url", help="PostgreSQL, e.g.; default a SQLite file in a scratch folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(args.database_url, Path(tmp) / "instance", args.attempts)
    print(f"wrong password, {args.attempts} attempts each, production Argon2id parameters:")
    print(f"  known name   median {figures['known_ms']:7.1f} ms")
    print(f"  unknown name median {figures['unknown_ms']:7.1f} ms")
    print(f"  ratio unknown/known {figures['ratio']:.2f} (before issue 19: about 0.07)")


if __name__ == "__main__":
    main()

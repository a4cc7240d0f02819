"""The product installs as a normal package (issue 18): the wheel built from this checkout, installed in a fresh
environment outside it, initialises an instance, loads the demo and serves a log-in — with the migrations,
templates, static files and translations it carries, nothing read from the source tree."""
from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args, cwd, env=None, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A fresh virtual environment holding only the built wheel; its dependencies come from the test
    environment's site-packages by a path entry (no network, and not the editable checkout)."""
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT),
         cwd=work)
    (wheel,) = dist.glob("gmp_complaints-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=work)
    python = venv / "bin" / "python"
    purelib = _run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=work).stdout.strip()
    Path(purelib, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel), cwd=work)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GMP_", "DATABASE_URL", "PYTHON"))}
    env["GMP_INSTANCE_PATH"] = str(work / "instance")
    return {"work": work, "venv": venv, "python": python, "gmp": venv / "bin" / "gmp", "env": env}


@pytest.mark.req("VAL-04", "VAL-07")
def test_the_wheel_carries_what_the_product_needs_and_runs_outside_the_checkout(installed):
    work, env = installed["work"], installed["env"]
    located = _run(str(installed["python"]), "-c", "import gmp_complaints, gmp_complaints.migrate as m; "
                   "print(gmp_complaints.__file__); print(m.MIGRATIONS_DIR)", cwd=work, env=env).stdout.split()
    assert all(path.startswith(str(installed["venv"])) for path in located), located
    init = _run(str(installed["gmp"]), "init", cwd=work, env=env)
    assert "latest schema" in init.stdout
    demo = _run(str(installed["gmp"]), "demo", cwd=work, env=env)
    assert "demo.qa" in demo.stdout

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(installed["gmp"]), "serve", "--port", str(port)], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        for _ in range(100):
            try:
                login_page = opener.open(f"{base}/login", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the installed server did not answer")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, "username": "demo.qa",
                                       "password": "gmp-demo-qa-officer-2026"}).encode()
        landing = opener.open(f"{base}/login", data=body, timeout=10).read().decode()
        assert "工作台" in landing and "李娜 Li Na" in landing  # the templates and translations of the wheel
        css = opener.open(f"{base}/static/css/app.css", timeout=5).read()
        assert b".mainnav" in css
    finally:
        server.terminate()
        server.wait(timeout=10)
    # The system description (VAL-07) comes from the installed release itself.
    description = _run(str(installed["gmp"]), "validate", "describe", cwd=work, env=env).stdout
    assert "# System description and inventory: gmp-complaints" in description
    assert "| flask | " in description and "`/api/v1/complaints/{complaint_id}/disposal`" in description
    assert "`reply_approval` | approved | qa_head |" in description and "gmp validate iq" in description
    # ... and so do the validation documents: the URS, checklist and release notes travel in the wheel.
    for command, expected in (("plan", "GAMP 5 category: **5"), ("urs", "## REC-01 "), ("checklist", "| 11.10(e) |"),
                              ("release-notes", "**Validation impact:**")):
        assert expected in _run(str(installed["gmp"]), "validate", command, cwd=work, env=env).stdout, command


@pytest.mark.req("VAL-04")
def test_iq_passes_on_the_release_installation_and_names_every_difference_on_a_changed_one(installed):
    """`gmp validate iq` as the customer runs it: on the installation from the wheel it passes; then a shipped file
    changed, a file added, a protection trigger dropped, a key opened to others and a lock that pins another version
    each fail it, named."""
    import sqlite3

    work, env, gmp = installed["work"], installed["env"], str(installed["gmp"])
    instance = Path(env["GMP_INSTANCE_PATH"])
    if not (instance / "gmp.sqlite3").exists():
        _run(gmp, "init", cwd=work, env=env)
    clean = subprocess.run([gmp, "validate", "iq"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "IQ passed" in clean.stdout and "[PASS] release files" in clean.stdout
    # The report as PDF, signed by the executor; a wrong password writes nothing.
    report = work / "iq.pdf"
    signed = subprocess.run([gmp, "validate", "iq", "--out", str(report), "--username", "demo.qa", "--password-stdin"],
                            cwd=work, env=env, input="gmp-demo-qa-officer-2026\n", capture_output=True, text=True,
                            timeout=300)
    assert signed.returncode == 0 and "signed by 李娜 Li Na" in signed.stdout, signed.stdout + signed.stderr
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(report).pages)
    assert "安装确认" in text and "李娜 Li Na" in text and "IQ-" in text
    refused = work / "refused.pdf"
    wrong = subprocess.run([gmp, "validate", "iq", "--out", str(refused), "--username", "demo.qa", "--password-stdin"],
                           cwd=work, env=env, input="not-the-password\n", capture_output=True, text=True, timeout=300)
    assert wrong.returncode != 0 and not refused.exists()

    site = Path(_run(str(installed["python"]), "-c", "import gmp_complaints, pathlib; "
                     "print(pathlib.Path(gmp_complaints.__file__).parent.parent)", cwd=work, env=env).stdout.strip())
    changed = site / "gmp_complaints" / "domain" / "complaints.py"
    changed.write_text(changed.read_text() + "\n# edited on site\n")
    (site / "audit" / "extra.py").write_text("print('not released')\n")
    with sqlite3.connect(instance / "gmp.sqlite3") as connection:
        connection.execute("DROP TRIGGER audit_events_no_delete")
    key = instance / "keys" / "personal-data.keys"
    key.chmod(0o644)
    lock = work / "other.lock"
    lock.write_text("# autogenerated by pip-compile with Python 3.11\nflask==0.1 \\\n    --hash=sha256:00\n")
    failed = subprocess.run([gmp, "validate", "iq", "--lock", str(lock)], cwd=work, env=env, capture_output=True,
                            text=True, timeout=300)
    assert failed.returncode == 1
    for expected in ("gmp_complaints/domain/complaints.py: changed since the release",
                     "audit/extra.py: not part of the release",
                     "database protection missing: trigger audit_events_no_delete",
                     "personal-data keys", "flask: ", "the lock pins 0.1"):
        assert expected in failed.stdout, (expected, failed.stdout)

"""A live server on a free port and headless Debian Chromium driven by Playwright.

Playwright's own browser download cannot work here, so the system Chromium is launched directly.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import _unavailable

CHROMIUM = os.environ.get("GMP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic",
]


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Save a screenshot when GMP_SCREENSHOT_DIR is set, so a person can look at the pages."""
    target = os.environ.get("GMP_SCREENSHOT_DIR")

    def take(name: str):
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def site_today(app):
    """The business date the app records steps on (its site time zone, not this machine's), so a date a test
    types is never "before the previous step" late in the UTC evening."""
    from gmp_complaints.clock import business_today

    return business_today(app.config["GMP_SETTINGS"])

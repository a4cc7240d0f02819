"""The main pages in both languages: no serious or critical axe-core violation (WCAG), and a screenshot of
each (GMP_SCREENSHOT_DIR) for a person to look at. axe-core comes from the npm registry; the test command
installs it (AXE_CORE_JS names the file)."""
import os
from pathlib import Path

import pytest

from tests.conftest import _unavailable

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

AXE = Path(os.environ.get("AXE_CORE_JS", Path(__file__).resolve().parents[2] / ".cache" / "axe" / "node_modules"
                          / "axe-core" / "axe.min.js"))
MAIN_PAGES = ("/", "/complaints/", "/complaints/new", "/complaints/dashboard", "/complaints/waiting-for-signature",
              "/capas/", "/recalls/", "/returns/", "/recalls/notifications", "/complaints/ledger", "/trends/",
              "/trends/reviews", "/audit/", "/notices", "/capas/1")


def test_the_main_pages_have_no_serious_accessibility_violation_in_either_language(browser, live_server, uow_factory):
    from gmp_complaints.demo import load_demo

    if not AXE.exists():
        _unavailable(f"axe-core is not installed at {AXE} (the test command installs it from npm)")
    load_demo(uow_factory)
    complaint_pages = ["/complaints/1", "/complaints/4", "/complaints/6"]
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("#username", "demo.qahead")
    page.fill("#password", "gmp-demo-qa-head-2026")
    page.click("#login-submit")
    page.wait_for_url(f"{live_server}/")
    script = AXE.read_text()
    shots = os.environ.get("GMP_SCREENSHOT_DIR")
    problems = []
    for language in ("zh_CN", "en"):
        page.goto(f"{live_server}/")
        page.click(f"#lang-{language}")
        for path in (*MAIN_PAGES, *complaint_pages):
            response = page.goto(f"{live_server}{path}")
            assert response.status == 200, (language, path, response.status)
            page.add_script_tag(content=script)
            result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            problems += [(language, path, v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                         for v in result["violations"] if v["impact"] in ("serious", "critical")]
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                name = path.strip("/").replace("/", "-") or "home"
                page.screenshot(path=str(Path(shots) / f"{language}-{name}.png"), full_page=True)
    context.close()
    assert problems == [], "\n".join(map(str, problems))

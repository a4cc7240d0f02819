"""Archiving a year's closed complaints from the ledger page: the job page's progress bar fills and the
result becomes downloadable."""
import pytest

from tests.browser.test_login_flows import log_in
from tests.browser.test_signing import Setup
from tests.conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def test_archiving_runs_in_the_background_with_a_progress_bar(page, live_server, app, make_user, screenshot):
    setup = Setup(app, make_user)
    cid = setup.satisfied()
    setup.post("qa_head", f"/complaints/{cid}/signatures",
               {"step": "audit_trail_review", "username": "liu.yang", "password": STRONG_PASSWORD}, 201)
    setup.post("qa_head", f"/complaints/{cid}/closure", {"username": "liu.yang", "password": STRONG_PASSWORD})
    log_in(page, live_server, "liu.yang", STRONG_PASSWORD)
    page.click("#nav-ledger")
    page.click("#start-archives")
    page.wait_for_url("**/jobs/*")
    assert page.locator("#job-progress").get_attribute("max") == "1"
    page.wait_for_selector("#job-result:not([hidden])", timeout=30_000)
    assert page.locator("#job-progress").evaluate("bar => bar.value") == 1
    assert page.locator("#job-status").get_attribute("data-status") == "done"
    assert page.locator("#job-status").inner_text() in ("完成", "done")
    screenshot("archive-job")
    with page.expect_download() as download:
        page.click("#job-result")
    assert download.value.suggested_filename.endswith("-archives.zip")

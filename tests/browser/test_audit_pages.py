"""The audit trail as an inspector sees it, in Chromium."""
import re

import pytest

from tests.browser.test_login_flows import log_in
from tests.conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.mark.req("AT-06")
def test_an_auditor_filters_the_trail_and_reads_it_in_plain_language(page, live_server, make_user, approved_change,
                                                                      screenshot):
    admin_id, _ = make_user("root.admin", "admin", printed_name="孙强 Sun Qiang")
    user_id, _ = make_user("zhang.wei", "investigator", printed_name="张伟 Zhang Wei")
    approved_change(admin_id, kind="change_roles", user_id=user_id, roles=["investigator", "qa_officer"],
                    reason="调岗至QA，变更单 CC-2026-017")
    make_user("zhao.lei", "auditor", printed_name="赵磊 Zhao Lei")
    log_in(page, live_server, "zhang.wei", "wrong-password-x")
    log_in(page, live_server, "zhao.lei", STRONG_PASSWORD)
    page.click("#nav-audit")
    page.wait_for_selector("#audit-events")
    screenshot("audit-trail")
    page.select_option("#action", "user.roles_changed")
    page.click("#filter-submit")
    rows = page.locator("#audit-events tbody tr")
    assert rows.count() == 1
    text = rows.first.inner_text()
    # made by the approving head of quality, at the request of the administrator (SEC-04)
    assert "Access Approver" in text and "孙强 Sun Qiang" in text and "CC-2026-017" in text
    assert "调查人员 → 调查人员, QA专员（投诉管理员）" in text
    assert re.search(r"\+08:00", text)
    screenshot("audit-trail-filtered")
    with page.expect_download() as download:
        page.click("#export-bundle")
    from audit.verify import verify_bundle

    with open(download.value.path(), "rb") as handle:
        assert verify_bundle(handle.read()).ok

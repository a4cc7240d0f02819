"""A CAPA from a complaint to its closure in Chromium: the QA officer opens it and plans an action,
the owner records the implementation, the QA head approves it, checks effectiveness and closes. A CAPA from a
deviation: its reference, the change-control reference the plan approval waits for, and the closure on the
head of quality's signed justification that no effectiveness check is needed."""
import datetime
import os

import pytest

from tests.browser.test_login_flows import log_in
from tests.browser.test_signing import Setup, sign_in_dialog
from tests.conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def fill_capa_form(page):
    """The new-CAPA form filled in and sent; waits for the CAPA page."""
    page.fill("#problem_statement", "瓶盖密封不良")
    page.fill("#risk", "中")
    page.check("input[name=change_control_required][value=no]")  # WF-13: answered before the plan approval
    page.fill("#effectiveness_criteria", "6 个月内无同类投诉")
    page.fill("#effectiveness_due_on", (datetime.date.today() + datetime.timedelta(days=180)).isoformat())
    page.click("#capa-submit")
    page.wait_for_selector("#capa-title")


def as_user(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server, username, STRONG_PASSWORD)
    page.wait_for_load_state()
    return context, page


@pytest.mark.req("WF-13", "WF-14")
def test_a_capa_from_a_complaint_to_closure_in_the_browser(browser, live_server, app, make_user, site_today):
    setup = Setup(app, make_user)
    cid = setup.satisfied()
    due = (datetime.date.today() + datetime.timedelta(days=14)).isoformat()

    context, page = as_user(browser, live_server, "li.na")
    page.goto(f"{live_server}/complaints/{cid}")
    page.click("#create-capa")
    page.click("#capa-submit")  # empty: every field explained, nothing stored
    assert page.locator(".has-error").count() >= 4
    fill_capa_form(page)
    capa_url = page.url
    assert page.locator("#capa-title").inner_text() == "CAPA-26-001"
    page.select_option("#kind", "corrective")
    page.fill("#add-action #description", "校准封口机压力传感器")
    # Owners are picked from the people who may own an action: sales staff are not offered (EU GMP 8.1).
    offered = page.locator("#add-action #owner option").all_inner_texts()
    assert any("zhang.wei" in o for o in offered) and not any("wang.fang" in o for o in offered)
    page.select_option("#add-action #owner", "zhang.wei")
    page.click("#submit-add-action")  # no due date: said next to the field, the entries kept
    assert page.locator("#add-action .has-error #due_on").count() == 1
    assert page.locator("#add-action #description").input_value() == "校准封口机压力传感器"
    assert page.locator("#add-action #owner").input_value() == "zhang.wei"
    page.fill("#add-action #due_on", due)
    page.click("#submit-add-action")
    assert page.locator("#capa-status").inner_text() == "措施实施中"
    assert "待质量负责人批准" in page.locator("#plan-status").inner_text()
    context.close()

    # The owner cannot carry out an action of a plan not yet approved; the head of quality approves it.
    context, page = as_user(browser, live_server, "zhang.wei")
    page.goto(capa_url)
    assert page.locator("form[id^=implementation-form]").count() == 0
    context.close()
    context, page = as_user(browser, live_server, "liu.yang")
    page.goto(capa_url)
    sign_in_dialog(page, "sign-plan_approval", "liu.yang", STRONG_PASSWORD)
    assert "计划已批准" in page.locator("#plan-status").inner_text()
    context.close()

    context, page = as_user(browser, live_server, "zhang.wei")
    page.goto(f"{live_server}/complaints/dashboard")
    assert page.locator("#board-my-actions").count() == 1
    page.click("#board-my-actions a")
    form = page.locator("form[id^=implementation-form]")
    form.locator("[name=implemented_on]").fill(site_today.isoformat())
    form.locator("[name=evidence]").fill("已校准，见校准证书 C-2026-118")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("[id^=action-status-]").inner_text() == "已记录实施"
    context.close()

    context, page = as_user(browser, live_server, "liu.yang")
    page.goto(capa_url)
    dialog_id = page.locator("details[id^=sign-implementation_approval]").get_attribute("id")
    sign_in_dialog(page, dialog_id, "liu.yang", STRONG_PASSWORD)
    assert page.locator("#capa-status").inner_text() == "已实施"
    box = page.locator("#sign-effectiveness")
    box.locator("summary").click()
    box.locator("input[name=result][value=effective]").check()
    box.locator("textarea[name=evidence]").fill("三个月内无同类投诉")
    box.locator("textarea[name=early_reason]").fill("下一批次已验证，可提前判断")  # due in 180 days
    sign_in_dialog(page, "sign-effectiveness", "liu.yang", STRONG_PASSWORD)
    sign_in_dialog(page, "sign-closure", "liu.yang", STRONG_PASSWORD, comment="同意关闭")
    assert page.locator("#capa-status").inner_text() == "已关闭"
    assert page.locator("#signatures .signature").count() == 4  # plan, implementation, effectiveness, closure
    if os.environ.get("GMP_SCREENSHOT_DIR"):  # this test's pages live in their own contexts
        page.screenshot(path=f"{os.environ['GMP_SCREENSHOT_DIR']}/capa-closed.png", full_page=True)
    context.close()


@pytest.mark.req("WF-13", "WF-14")
def test_a_capa_from_a_deviation_waits_for_its_change_control_reference_and_closes_on_a_signed_waiver(
        browser, live_server, app, make_user, site_today):
    Setup(app, make_user)
    due = (datetime.date.today() + datetime.timedelta(days=14)).isoformat()

    context, page = as_user(browser, live_server, "li.na")
    page.goto(f"{live_server}/capas/")
    page.click("#new-capa")
    page.select_option("#source", "deviation")
    page.fill("#problem_statement", "灭菌柜温度探头漂移")
    page.fill("#root_cause", "探头未按期校准")
    page.check("input[name=change_control_required][value=yes]")
    page.fill("#risk", "中")
    page.fill("#effectiveness_criteria", "连续 3 批灭菌记录无偏差")
    page.fill("#effectiveness_due_on", (datetime.date.today() + datetime.timedelta(days=180)).isoformat())
    page.click("#capa-submit")  # no reference of the deviation: said next to the field, nothing stored
    assert page.locator(".has-error #source_reference").count() == 1
    page.fill("#source_reference", "DEV-2026-031")
    page.click("#capa-submit")
    page.wait_for_selector("#capa-title")
    capa_url = page.url
    assert "DEV-2026-031" in page.locator("#capa-sources").inner_text()
    page.select_option("#add-action #owner", "zhang.wei")
    page.fill("#add-action #description", "按期校准温度探头并纳入校准计划")
    page.fill("#add-action #due_on", due)
    page.click("#submit-add-action")
    # The plan says yes to change control but names no reference: the approval waits for it.
    assert page.locator("#plan-gaps li").count() == 1
    page.fill("#plan-change-control-ref", "CC-2026-045")
    page.click("#submit-plan-details")
    page.wait_for_load_state()
    assert page.locator("#plan-gaps").count() == 0
    assert "CC-2026-045" in page.locator("#capa-change-control").inner_text()
    context.close()

    context, page = as_user(browser, live_server, "liu.yang")
    page.goto(capa_url)
    sign_in_dialog(page, "sign-plan_approval", "liu.yang", STRONG_PASSWORD)
    assert "计划已批准" in page.locator("#plan-status").inner_text()
    context.close()
    context, page = as_user(browser, live_server, "zhang.wei")
    page.goto(capa_url)
    form = page.locator("form[id^=implementation-form]")
    form.locator("[name=implemented_on]").fill(site_today.isoformat())
    form.locator("[name=evidence]").fill("已校准，见校准证书 C-2026-131")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    context.close()

    context, page = as_user(browser, live_server, "liu.yang")
    page.goto(capa_url)
    dialog_id = page.locator("details[id^=sign-implementation_approval]").get_attribute("id")
    sign_in_dialog(page, dialog_id, "liu.yang", STRONG_PASSWORD)
    assert page.locator("#sign-closure").count() == 0  # neither a check nor its waiver yet
    box = page.locator("#sign-effectiveness_waiver")
    box.locator("summary").click()
    box.locator("textarea[name=justification]").fill("一次性校准纠正，纳入校准计划后无需单独的有效性检查")
    sign_in_dialog(page, "sign-effectiveness_waiver", "liu.yang", STRONG_PASSWORD)
    assert "无需单独的有效性检查" in page.locator("#capa-waiver").inner_text()
    sign_in_dialog(page, "sign-closure", "liu.yang", STRONG_PASSWORD, comment="同意关闭")
    assert page.locator("#capa-status").inner_text() == "已关闭"
    assert page.locator("#signatures .signature").count() == 4  # plan, implementation, waiver, closure
    context.close()

"""A class I complaint to a closed recall in Chromium: the QA officer proposes the recall from the
complaint (the level chosen beside its definitions), the QP and the QA head sign the decision, the
recall coordinator records the notice to the authority and reconciles every consignee, and the QA head
and the QP sign the final report."""
import datetime
import os
from zoneinfo import ZoneInfo

import pytest

from tests.browser.test_capa_flow import as_user
from tests.browser.test_signing import Setup, sign_in_dialog
from tests.conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def shot(page, name):
    if os.environ.get("GMP_SCREENSHOT_DIR"):
        page.screenshot(path=f"{os.environ['GMP_SCREENSHOT_DIR']}/{name}.png", full_page=True)


def reconcile(page, consignee, recovered, destroyed, explanation=""):
    box = page.locator("#reconcile")
    if not box.evaluate("element => element.open"):
        box.locator("summary").click()
    box.locator("[name=consignee]").fill(consignee)
    box.locator("[name=batch_no]").fill("B2602")
    box.locator("[name=quantity_recovered]").fill(str(recovered))
    box.locator("[name=quantity_destroyed]").fill(str(destroyed))
    box.locator("[name=explanation]").fill(explanation)
    box.locator("#submit-reconcile").click()
    page.wait_for_load_state()


@pytest.mark.req("HO-05", "HO-06", "HO-09", "HO-10")
def test_a_class_i_complaint_to_a_closed_recall_in_the_browser(browser, live_server, app, make_user):
    setup = Setup(app, make_user)
    make_user("zhou.min", "recall_coordinator", identity_verified=True, printed_name="周敏 Zhou Min")
    cid = setup.classified("I")
    for consignee, quantity in (("国药控股上海", 1200), ("华润医药北京", 800)):
        setup.post("qa_officer", "/distributions", {"product_code": "P-001", "batch_no": "B2602", "consignee": consignee,
                                                    "quantity": quantity, "shipped_on": "2026-03-01",
                                                    "contact": "值班经理", "out_of_hours_contact": "139 0000 0101"}, 201)

    context, page = as_user(browser, live_server, "li.na")
    page.goto(f"{live_server}/complaints/{cid}")
    page.click("#propose-recall")
    page.click("#submit-recall")  # empty: the fields are named, nothing stored
    assert page.locator(".has-error").count() >= 3
    assert "严重健康危害" in page.locator("#level-choice").inner_text()  # the definitions beside the choice
    page.fill("#batch_nos", "B2602")
    page.check("input[name=level][value=I]")
    page.select_option("#depth", "retail")
    page.check("input[name=safety_hazard][value=no]")
    page.fill("#reason", "瓶盖破裂导致胶囊受潮，可能影响疗效")
    shot(page, "recall-new")
    page.click("#submit-recall")
    page.wait_for_selector("#recall-title")
    recall_url = page.url
    assert page.locator("#recall-title").inner_text() == "RC-26-001"
    assert page.locator("#recall-status").inner_text() == "已建议"
    page.goto(f"{live_server}/complaints/{cid}")
    assert page.locator("#recalls").inner_text().count("RC-26-001") == 1
    context.close()

    for username in ("chen.jing", "liu.yang"):  # the QP, then the QA head: two persons
        context, page = as_user(browser, live_server, username)
        page.goto(recall_url)
        sign_in_dialog(page, "sign-recall_decision", username, STRONG_PASSWORD, comment="同意召回")
        context.close()

    context, page = as_user(browser, live_server, "zhou.min")
    page.goto(recall_url)
    assert page.locator("#recall-status").inner_text() == "进行中"
    assert "还剩" in page.locator("#clock-notify_consignees_by").inner_text()
    assert page.locator("#clock-notify_consignees_by").inner_text().count("+08:00") == 1
    shot(page, "recall-decided")
    for number in (1, 2, 3):  # the notice, the report and plan, the first progress report
        entry = page.locator("form[id^=sent-form-]").first
        now = datetime.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
        entry.locator("[name=sent_at]").fill(now)
        entry.locator("[name=method]").fill("传真")
        entry.locator("[name=reference]").fill(f"沪药监召〔2026〕{number}号")
        entry.locator("button[type=submit]").click()
        page.wait_for_load_state()
    register = page.locator("#register").inner_text()
    assert "沪药监召〔2026〕1号" in register and "沪药监召〔2026〕3号" in register and "按时" in register
    reconcile(page, "国药控股上海", 1300, 0)  # more than delivered: refused, named, kept in the form
    assert "1200" in page.locator("#reconcile").inner_text()
    reconcile(page, "国药控股上海", 1200, 0)
    reconcile(page, "华润医药北京", 700, 0, "100 盒已售出至患者")
    page.goto(f"{recall_url}/consignees")  # each consignee's notice printed, then recorded as sent
    for link in page.locator("a.notice-pdf").all():
        notice = page.request.get(live_server + link.get_attribute("href"))
        assert notice.ok and notice.body()[:4] == b"%PDF"
    page.reload()
    while page.locator("form.notice-sent").count():
        form = page.locator("form.notice-sent").first
        form.locator("[name=sent_at]").fill(datetime.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M"))
        form.locator("[name=method]").fill("传真")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
    assert page.locator("#consignee-table").inner_text().count("已发送") == 2
    page.goto(recall_url)
    page.click("#complete-recall")
    page.wait_for_load_state()
    assert page.locator("#recall-status").inner_text() == "已完成"
    last = page.locator("form[id^=sent-form-]")  # the progress report that tells of the completion
    assert last.count() == 1
    last.locator("[name=sent_at]").fill(datetime.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M"))
    last.locator("[name=method]").fill("电子邮件")
    last.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("form[id^=sent-form-]").count() == 0
    page.select_option("#effectiveness-form #level", "A")  # every consignee is called back
    page.click("#submit-effectiveness")
    page.wait_for_load_state()
    for consignee in ("华润医药北京", "国药控股上海"):
        box = page.locator("#contact-form")
        if not box.evaluate("element => element.open"):
            box.locator("summary").click()
        box.locator("[name=consignee]").fill(consignee)
        box.locator("[name=contacted_on]").fill(datetime.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat())
        box.locator("[name=method]").fill("电话")
        box.locator("[name=result]").select_option("notice_received_stock_removed")
        box.locator("#submit-contact").click()
        page.wait_for_load_state()
    assert page.locator("#effectiveness").inner_text().count("已收到通知，库存已撤出") == 2
    page.goto(f"{recall_url}/consignees")
    assert page.locator("#consignee-table tbody tr").count() == 2
    assert "139 0000 0101" in page.locator("#consignee-table").inner_text()
    shot(page, "recall-consignees")
    context.close()

    context, page = as_user(browser, live_server, "liu.yang")  # the recalled stock is destroyed under supervision
    page.goto(recall_url)
    box = page.locator("#sign-disposition-B2602")
    box.locator("summary").click()
    box.locator("input[name=decision][value=destroy]").check()
    sign_in_dialog(page, "sign-disposition-B2602", "liu.yang", STRONG_PASSWORD)
    assert "销毁" in page.locator("#disposition-B2602").inner_text()
    context.close()

    for username in ("chen.jing", "liu.yang"):
        context, page = as_user(browser, live_server, username)
        page.goto(recall_url)
        sign_in_dialog(page, "sign-recall_closure", username, STRONG_PASSWORD)
        if username == "liu.yang":
            assert page.locator("#recall-status").inner_text() == "已关闭"
            assert page.locator("#signatures .signature").count() == 5
            shot(page, "recall-closed")
        context.close()

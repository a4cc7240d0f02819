"""Signing in the browser: the dialog shows the manifestation preview and the statement, asks for
user name and password, refuses a wrong password, and the QA head closes a complaint."""
import pytest

from gmp_complaints.clock import business_today
from tests.browser.test_login_flows import log_in
from tests.conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


class Setup:
    """Drives the complaint to the state a test needs through the API (the browser does the signing)."""

    def __init__(self, app, make_user, without_statement=()):
        self.client, self.settings = app.test_client(), app.config["GMP_SETTINGS"]
        self.tokens = {}
        for username, role, name in (("li.na", "qa_officer", "李娜 Li Na"), ("wang.fang", "intake", "王芳 Wang Fang"),
                                     ("zhang.wei", "investigator", "张伟 Zhang Wei"), ("chen.jing", "qp", "陈静 Chen Jing"),
                                     ("liu.yang", "qa_head", "刘洋 Liu Yang")):
            make_user(username, role, identity_verified=True, printed_name=name)
            token = self.client.post("/api/v1/auth/token", json={"username": username, "password": STRONG_PASSWORD})
            self.tokens[role] = token.get_json()["token"]
            if role in ("qp", "qa_head") and username not in without_statement:
                self.post(role, "/auth/esignature-statement", {"password": STRONG_PASSWORD}, 204)

    def post(self, who, path, body, status=200):
        response = self.client.post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"})
        assert response.status_code == status, response.get_json()
        return response.get_json() if response.data else None

    def classified(self, klass: str = "III") -> int:
        self.post("qa_officer", "/products", {"code": "P-001", "name": "阿莫西林胶囊", "strength": "0.25 g",
                                              "dosage_form": "胶囊"}, 201)
        self.post("qa_officer", "/batches", {"product_code": "P-001", "batch_no": "B2602",
                                             "manufactured_on": "2026-02-10", "expires_on": "2028-02-09"}, 201)
        cid = self.post("qa_officer", "/complaints", {
            "received_on": "2026-11-02", "channel": "phone", "complainant": {"name": "王芳", "organisation": "仁和大药房", "phone": "13800001234"},
            "product_code": "P-001", "batch_nos": ["B2602"], "complaint_type": "inner_packaging",
            "description": "瓶盖破裂", "sample_available": True}, 201)["id"]
        self.post("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
        self.post("qa_officer", f"/complaints/{cid}/classification", {"complaint_class": klass, "rationale": "r",
                                                                      "adr_suspected": False})
        return cid

    def satisfied(self) -> int:
        cid = self.classified()
        self.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": "zhang.wei"})
        self.post("investigator", f"/complaints/{cid}/investigation",
                  {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True})
        self.post("qa_officer", f"/complaints/{cid}/assessment",
                  {"reasonable": False, "actions": [], "adr_confirmed": False, "regulator_report_required": False})
        today = business_today(self.settings).isoformat()
        self.post("qa_officer", f"/complaints/{cid}/replies", {"replied_on": today, "summary": "答复"})
        self.post("intake", f"/complaints/{cid}/customer-responses",
                  {"received_on": today, "satisfied": True, "text": "满意"})
        return cid


def sign_in_dialog(page, dialog: str, username: str, password: str, comment: str = ""):
    box = page.locator(f"#{dialog}")
    if not box.evaluate("element => element.open"):
        box.locator("summary").click()
    if comment:
        box.locator("textarea[name=comment]").fill(comment)
    box.locator("input[name=username]").fill(username)
    box.locator("input[name=password]").fill(password)
    box.locator("button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.req("SIG-01", "SIG-03", "WF-10")
def test_qp_acknowledges_in_the_signing_dialog_after_a_wrong_password_is_refused(page, live_server, app, make_user,
                                                                                screenshot):
    setup = Setup(app, make_user)
    cid = setup.classified()
    log_in(page, live_server, "chen.jing", STRONG_PASSWORD)
    page.click("#nav-waiting")
    page.click(f"#waiting a[href='/complaints/{cid}#signatures']")
    dialog = page.locator("#sign-qp_acknowledgement")
    dialog.locator("summary").click()
    preview = dialog.locator(".manifestation.preview").inner_text()
    assert preview.startswith("确认知悉 — 陈静 Chen Jing — ") and "TS-III-26-001 v" in preview
    assert "法律约束力" in dialog.locator(".statement").inner_text()
    screenshot("signing-dialog")
    sign_in_dialog(page, "sign-qp_acknowledgement", "chen.jing", "not-my-password")
    assert page.locator("#sign-qp_acknowledgement .has-error").count() == 1
    assert page.locator("#signatures .signature").count() == 0
    sign_in_dialog(page, "sign-qp_acknowledgement", "chen.jing", STRONG_PASSWORD, comment="已知悉")
    signature = page.locator("#signatures .signature").first
    assert "确认知悉 — 陈静 Chen Jing — " in signature.inner_text() and "+08:00" in signature.inner_text()
    assert page.locator("#sign-qp_acknowledgement").count() == 0  # signed: no longer offered
    screenshot("signed")


@pytest.mark.req("WF-16", "AT-07", "SIG-01")
def test_the_qa_head_reviews_the_audit_trail_and_closes_the_complaint(page, live_server, app, make_user, screenshot):
    setup = Setup(app, make_user)
    cid = setup.satisfied()
    log_in(page, live_server, "liu.yang", STRONG_PASSWORD)
    page.goto(f"{live_server}/complaints/{cid}")
    assert page.locator("#sign-closure").count() == 0  # the audit-trail review comes first
    page.click("#review-audit-trail")
    # The whole trail the first time; the class, the reply and the like stand out.
    assert page.locator("#review-events tbody tr").count() >= 8
    assert page.locator("#review-events tr.critical").count() >= 2
    assert page.locator("#review-events li.critical", has_text="级别").count() >= 1
    assert page.locator("#review-events li.critical", has_text="根本原因").count() == 1
    screenshot("audit-review")
    sign_in_dialog(page, "sign-audit_trail_review", "liu.yang", "wrong-password")
    assert page.locator("#sign-audit_trail_review .has-error").count() == 1  # refused on the review page
    sign_in_dialog(page, "sign-audit_trail_review", "liu.yang", STRONG_PASSWORD, comment="已审核")
    sign_in_dialog(page, "sign-closure", "liu.yang", STRONG_PASSWORD, comment="客户满意，同意关闭")
    assert page.locator("#complaint-status").inner_text() == "已关闭"
    texts = page.locator("#signatures .signature").all_inner_texts()
    assert [t.split("：")[0].split(":")[0] for t in texts] == ["审计追踪审核", "关闭批准"]
    assert all("刘洋 Liu Yang" in t for t in texts)
    screenshot("closed")
    # Closed means closed: no step, no file; the customer's later word opens a linked follow-up.
    assert page.locator("#closed-notice").is_visible()
    assert page.locator("#upload-form").count() == 0 and page.locator("#next-steps").count() == 0
    assert page.locator("#sign-closure").count() == 0
    form = page.locator("#step-open_follow_up")
    form.locator("input[name=received_on]").fill(business_today(setup.settings).isoformat())
    form.locator("textarea[name=text]").fill("客户来电：问题再次出现")
    page.click("#submit-open_follow_up")
    page.wait_for_load_state()
    assert "已开立后续投诉" in page.locator(".flash-info").inner_text()
    assert page.locator("#complaint-status").inner_text() == "已登记"
    page.click("#follow-up-of a")
    assert page.locator("#complaint-status").inner_text() == "已关闭"
    assert page.locator("#follow-ups a").count() == 1
    assert [t.split("：")[0].split(":")[0] for t in page.locator("#signatures .signature").all_inner_texts()] == [
        "审计追踪审核", "关闭批准"]
    assert page.locator("#signatures .signature.superseded").count() == 0
    screenshot("closed-with-follow-up")


@pytest.mark.req("SIG-05")
def test_at_first_use_the_page_leads_to_the_statement_and_back_to_the_signature(page, live_server, app, make_user):
    setup = Setup(app, make_user, without_statement=("chen.jing",))
    cid = setup.classified()
    log_in(page, live_server, "chen.jing", STRONG_PASSWORD)
    page.goto(f"{live_server}/complaints/{cid}")
    assert page.locator("#statement-first").is_visible()
    assert page.locator("#sign-qp_acknowledgement").count() == 0  # no credentials asked before the statement
    page.click("#go-accept-statement")
    page.fill("#password", STRONG_PASSWORD)
    page.click("#accept-statement")
    page.wait_for_url(f"{live_server}/complaints/{cid}")
    sign_in_dialog(page, "sign-qp_acknowledgement", "chen.jing", STRONG_PASSWORD)
    assert "确认知悉 — 陈静 Chen Jing" in page.locator("#signatures .signature").first.inner_text()


@pytest.mark.req("AT-04")
def test_a_void_is_requested_by_qa_and_decided_by_the_qa_head_in_the_pages(page, live_server, app, make_user,
                                                                           screenshot):
    setup = Setup(app, make_user)
    cid = setup.classified()
    log_in(page, live_server, "li.na", STRONG_PASSWORD)
    page.goto(f"{live_server}/complaints/{cid}")
    assert page.locator("#sign-void_approval-1").count() == 0  # nothing to approve without a request
    page.locator("#step-request_void textarea[name=reason]").fill("重复登记，见 TS-III-26-002")
    page.click("#submit-request_void")
    assert "重复登记" in page.locator("#void-requests").inner_text()
    page.click("#logout")
    log_in(page, live_server, "liu.yang", STRONG_PASSWORD)
    page.goto(f"{live_server}/complaints/{cid}")
    sign_in_dialog(page, "sign-void_approval-1", "liu.yang", STRONG_PASSWORD)  # no reason given
    assert page.locator("#sign-void_approval-1 .has-error, #sign-void_approval-1 .error").count() >= 1
    screenshot("void-approval-needs-a-reason")
    sign_in_dialog(page, "sign-void_approval-1", "liu.yang", STRONG_PASSWORD, comment="同意作废")
    assert page.locator("#complaint-status").inner_text() == "已作废"
    assert "已批准" in page.locator("#void-requests").inner_text()

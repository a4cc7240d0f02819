"""A QA officer runs a complaint from registration to the formal reply in Chromium."""
import pytest

from tests.browser.test_capa_flow import fill_capa_form
from tests.browser.test_login_flows import log_in
from tests.conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def fill_step(page, step, fields):
    form = page.locator(f"#step-{step}")
    for name, value in fields.items():
        if value in ("yes", "no") or name == "severity":
            form.locator(f"input[name={name}][value={value}]").check()
        elif name in ("complaint_class",):
            form.locator(f"select[name={name}]").select_option(value)
        else:
            form.locator(f"[name={name}]").fill(value)
    form.locator(f"#submit-{step}").click()
    page.wait_for_load_state()


@pytest.mark.req("REC-01", "REC-04", "WF-01")
def test_registration_to_formal_reply_in_the_browser(page, live_server, make_user, uow_factory, screenshot,
                                                    site_today):
    from gmp_complaints.services import master_data

    qa_id, _ = make_user("li.na", "qa_officer", printed_name="李娜 Li Na")
    master_data.create_product(uow_factory(), {"code": "P-001", "name": "阿莫西林胶囊", "strength": "0.25 g",
                                               "dosage_form": "胶囊"}, actor_id=qa_id)
    master_data.create_batch(uow_factory(), {"product_code": "P-001", "batch_no": "B2602",
                                             "manufactured_on": "2026-02-10", "expires_on": "2028-02-09"},
                             actor_id=qa_id)
    log_in(page, live_server, "li.na", STRONG_PASSWORD)
    page.click("#nav-register")
    page.click("#register-submit")  # empty form: every field is explained, nothing stored
    assert page.locator(".has-error").count() >= 5
    page.fill("#received_on", "2026-11-02")
    page.select_option("#channel", "phone")
    page.fill("#complainant_name", "王芳")
    page.fill("#complainant_organisation", "仁和大药房")
    page.fill("#product_code", "P-001")
    page.fill("#batch_nos", "B2602")
    page.select_option("#complaint_type", "inner_packaging")
    page.fill("#description", "瓶盖破裂，胶囊受潮")
    page.check("input[name=sample_available][value=yes]")
    page.click("#register-submit")
    page.wait_for_selector("#complaint-title")
    assert page.locator("#complaint-title").inner_text().startswith("R-")
    assert page.locator("#complaint-batches").inner_text() == "B2602"

    fill_step(page, "acknowledge", {"sent_on": "2026-11-03", "method": "电话"})
    fill_step(page, "record_validity", {"information_complete": "yes", "substantiated": "yes",
                                        "quality_defect_suspected": "yes", "falsification_suspected": "no",
                                        "spec_failure_suspected": "no"})
    # The batches and markets affected are offered from the complaint and the product (REC-08).
    fill_step(page, "classify", {"complaint_class": "II", "rationale": "密封缺陷 (SOP 3.2)", "severity": "major",
                                 "units_affected": "24", "adr_suspected": "no"})
    assert page.locator("#complaint-title").inner_text().startswith("TS-II-")
    fill_step(page, "investigate", {"root_cause": "封口压力偏低", "impact": "仅本批", "other_batches_affected": "无",
                                    "extend_to_other_batches": "no", "extension_rationale": "仅本批封口压力偏低",
                                    "substantiated": "yes"})
    # A step with a missing field comes back with the message next to the field and the entries kept.
    fill_step(page, "assess", {"reasonable": "yes", "adr_confirmed": "no"})
    assert page.locator("#step-assess .has-error").count() == 1
    fill_step(page, "assess", {"reasonable": "yes", "adr_confirmed": "no", "regulator_report_required": "no"})
    screenshot("complaint-assessed")
    today = page.locator("#deadlines").inner_text()
    assert "2026" in today

    # A reasonable complaint: no formal reply before its CAPA (SOP 5.7).
    assert page.locator("#step-reply").count() == 0
    page.click("#create-capa")
    assert page.locator("#root_cause").input_value() == "封口压力偏低"  # from the investigation
    fill_capa_form(page)
    assert page.locator("#capa-title").inner_text().startswith("CAPA-")
    page.click("#capa-complaints a")
    fill_step(page, "reply", {"replied_on": site_today.isoformat(), "summary": "调查结果与纠正预防措施"})
    assert page.locator("#complaint-status").inner_text() in ("Awaiting customer", "等待客户反馈")
    assert page.locator("#reminder-due").inner_text() != "—"
    screenshot("complaint-replied")

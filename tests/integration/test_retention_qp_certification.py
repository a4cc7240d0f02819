"""RET-01 (d) through the API: where the site's SOP files the complaint as batch documentation of EU-certified
batches (GMP_RETENTION_EU_BATCH_DOCUMENTATION), `retention_until` also covers each linked batch's QP certification
+ 5 years (EU GMP Chapter 4 §4.11); off by default. SQLite and PostgreSQL."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa

from tests.integration.test_complaints_api import TODAY, api, assign_investigator, registration, settings  # noqa: F401
from tests.integration.test_signatures import sign


def _rule_d(app, enabled: bool) -> None:
    app.config["GMP_SETTINGS"] = replace(app.config["GMP_SETTINGS"], retention_eu_batch_documentation=enabled)


def _eu_batch(api) -> None:  # noqa: F811
    """P-001 is now also marketed in Germany; batch B2604 was certified by the QP on 2026-04-20."""
    api.ok("qa_officer", "/products/P-001/markets", {"markets": ["CN", "DE"], "reason": "德国上市（欧盟 QP 放行）",
                                                     "change_control_ref": "CC-2026-001"})
    api.ok("qa_officer", "/batches", {"product_code": "P-001", "batch_no": "B2604", "manufactured_on": "2026-04-10",
                                      "expires_on": "2028-04-09", "released_on": "2026-04-20"}, 201)


@pytest.mark.req("RET-01")
def test_the_qp_certification_plus_five_years_counts_only_where_the_sop_files_complaints_as_batch_documentation(
        app, api):  # noqa: F811
    _eu_batch(api)
    # Off (the default): expiry 2028-04-09 + 1 year.
    off = api.ok("intake", "/complaints", registration(batch_nos=["B2604"]), 201)
    assert off["retention_until"] == "2029-04-09"

    _rule_d(app, True)
    on = api.ok("intake", "/complaints", registration(batch_nos=["B2604"]), 201)
    assert on["retention_until"] == "2031-04-20"  # certified 2026-04-20 + 5 years, later than expiry + 1 year
    # A batch with no certification date recorded keeps expiry + 1 year.
    uncertified = api.ok("intake", "/complaints", registration(batch_nos=["B2602"]), 201)
    assert uncertified["retention_until"] == "2029-02-09"
    # Linking the certified batch recomputes the date: it moves later.
    relinked = api.ok("qa_officer", f"/complaints/{uncertified['id']}/batches",
                      {"batch_nos": ["B2602", "B2604"], "reason": "补充批号"})
    assert relinked["retention_until"] == "2031-04-20"
    # A product marketed outside the EEA only has no EU-certified batches.
    api.ok("qa_officer", "/products", {"code": "P-US", "name": "头孢", "strength": "0.5 g", "dosage_form": "tablet",
                                        "markets": ["CN", "US"]}, 201)
    api.ok("qa_officer", "/batches", {"product_code": "P-US", "batch_no": "U2601", "manufactured_on": "2026-01-10",
                                      "expires_on": "2028-01-09", "released_on": "2026-01-20"}, 201)
    us_only = api.ok("intake", "/complaints", registration(product_code="P-US", batch_nos=["U2601"]), 201)
    assert us_only["retention_until"] == "2029-01-09"
    # A batch-unknown complaint: received + 1 year.
    unknown = api.ok("intake", "/complaints", registration(batch_nos=[], batch_unknown_reason="客户未提供批号"), 201)
    assert unknown["retention_until"] == "2027-11-02"


def _closed_on(api, batch_no: str) -> int:  # noqa: F811
    cid = api.ok("qa_officer", "/complaints", registration(batch_nos=[batch_no]), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification", {"complaint_class": "III", "rationale": "r",
                                                                "adr_suspected": False})
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/assessment",
           {"reasonable": False, "actions": [], "adr_confirmed": False, "regulator_report_required": False})
    api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": TODAY, "satisfied": True, "text": "满意"})
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    return cid


@pytest.mark.req("RET-01", "RET-02")
def test_a_complaint_stored_before_the_setting_was_switched_on_is_kept_until_certification_plus_five_years(
        app, api):  # noqa: F811
    _eu_batch(api)
    cid = _closed_on(api, "B2604")
    assert api.get("qa_head", f"/complaints/{cid}").get_json()["retention_until"] == "2029-04-09"
    _rule_d(app, True)
    app.config["GMP_SETTINGS"] = replace(app.config["GMP_SETTINGS"], today_override=date(2030, 1, 2))
    with app.extensions["gmp_engine"].connect() as connection:
        events = connection.execute(sa.text(
            "SELECT count(*) FROM audit_events WHERE action NOT LIKE 'user.%'")).scalar()
    refused = api.post("qa_head", f"/complaints/{cid}/disposal", api.signed("qa_head", {"reason": "保存期限已满"}))
    assert refused.status_code == 409 and "2031-04-20" in refused.get_json()["error"]["message"]
    after = api.get("qa_head", f"/complaints/{cid}").get_json()
    assert after["status"] == "closed" and after["description"]
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text(
            "SELECT count(*) FROM audit_events WHERE action NOT LIKE 'user.%'")).scalar() == events

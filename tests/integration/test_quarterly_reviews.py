"""The quarterly complaint review (SOP §7; TR-01): prepared by the complaint administrator with the
quarter's figures frozen, approved by the QA head's signature (four-eyes), reported as PDF from the frozen
figures in zh-CN and en. SQLite and PostgreSQL."""
import io

import pytest

from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401
from tests.integration.test_pharmacovigilance import business_events, rows
from tests.integration.test_trends import complaint, history  # noqa: F401

CONCLUSIONS = "本季度内包装投诉集中于 P-001，已发起趋势 CAPA；其余指标平稳。"


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.req("TR-01")
def test_the_review_freezes_the_quarters_figures_and_reports_them(app, api, history):
    for body, field in (({"quarter": "2026-Q5", "conclusions": "x"}, "quarter"),
                        ({"quarter": "2026-Q4"}, "conclusions")):
        refused = api.post("qa_officer", "/quarterly-reviews", body)
        assert refused.status_code == 400 and field in refused.get_json()["error"]["fields"]
    assert api.post("intake", "/quarterly-reviews", {"quarter": "2026-Q4", "conclusions": "x"}).status_code == 403
    prepared = api.ok("qa_officer", "/quarterly-reviews", {"quarter": "2026-Q4", "conclusions": CONCLUSIONS}, 201)
    assert (prepared["quarter"], prepared["status"], prepared["version"]) == ("2026-Q4", "prepared", 1)
    assert prepared["figures"]["complaints"] == 4 and prepared["figures_still_match"] is True
    assert len(prepared["figures_sha256"]) == 64
    for lang, title in (("", "投诉季度回顾"), ("?lang=en", "Quarterly complaint review")):
        report = api.get("qa_head", f"/quarterly-reviews/{prepared['id']}/report.pdf{lang}")
        assert report.status_code == 200 and report.mimetype == "application/pdf"
        text = pdf_text(report.data)
        assert title in text and "2026-Q4" in text and prepared["figures_sha256"][:16] in text
    assert "内包装投诉集中于" in pdf_text(api.get("qa_head", f"/quarterly-reviews/{prepared['id']}/report.pdf").data)
    # A record added later does not change the frozen report; the review says the records now differ.
    complaint(api, "2026-11-20", complaint_type="other")
    later = api.get("qa_head", f"/quarterly-reviews/{prepared['id']}").get_json()
    assert later["figures"]["complaints"] == 4 and later["figures_still_match"] is False
    assert rows(app, "SELECT count(*) FROM audit_events WHERE action = 'quarterly_review.report_exported'") == [(3,)]


@pytest.mark.req("TR-01", "SIG-08")
def test_the_qa_head_approves_by_signature_and_never_their_own_preparation(app, api, history):
    own = api.ok("qa_head", "/quarterly-reviews", {"quarter": "2026-Q4", "conclusions": CONCLUSIONS}, 201)
    before, events = api.get("qa_head", f"/quarterly-reviews/{own['id']}").get_json(), business_events(app)
    refused = api.post("qa_head", f"/quarterly-reviews/{own['id']}/approval", api.signed("qa_head", {"comment": "批准"}))
    assert refused.status_code == 403  # four-eyes: the preparer does not approve
    assert api.get("qa_head", f"/quarterly-reviews/{own['id']}").get_json() == before
    assert business_events(app) == events
    again = api.ok("qa_officer", "/quarterly-reviews", {"quarter": "2026-Q4", "conclusions": CONCLUSIONS + "（修订）"}, 201)
    assert (again["id"], again["version"]) == (own["id"], 2)
    approved = api.ok("qa_head", f"/quarterly-reviews/{own['id']}/approval", api.signed("qa_head", {"comment": "批准"}))
    assert approved["status"] == "approved"
    [signature] = approved["signatures"]
    assert (signature["step"], signature["meaning"], signature["status"]) == (
        "quarterly_review_approval", "approved", "valid")
    before, events = api.get("qa_head", f"/quarterly-reviews/{own['id']}").get_json(), business_events(app)
    final = api.post("qa_officer", "/quarterly-reviews", {"quarter": "2026-Q4", "conclusions": "改写"})
    assert final.status_code == 409
    assert api.post("qa_head", f"/quarterly-reviews/{own['id']}/approval",
                    api.signed("qa_head", {"comment": "再批"})).status_code == 409
    assert api.get("qa_head", f"/quarterly-reviews/{own['id']}").get_json() == before  # approved is final
    assert business_events(app) == events

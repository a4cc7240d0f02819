"""Trends (SOP §7; DESIGN §6 Trends; TR-01, TR-04): the figures of a period by the API, CSV and XLSX,
the signal rules as audited configuration, and bad input. SQLite and PostgreSQL."""
import csv
import hashlib
import io
import json

import pytest

from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401
from tests.integration.test_pharmacovigilance import business_events, rows

Q4 = "/trends?from=2026-10-01&to=2026-12-31"


def complaint(api, received_on, complaint_type="inner_packaging", channel="phone", klass=None, batch="B2602"):
    cid = api.ok("intake", "/complaints", registration(received_on=received_on, complaint_type=complaint_type,
                                                         channel=channel, batch_nos=[batch]), 201)["id"]
    if klass:
        api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
        return api.ok("qa_officer", f"/complaints/{cid}/classification",
                      {"complaint_class": klass, "rationale": "r", "adr_suspected": False})
    return api.get("qa_officer", f"/complaints/{cid}").get_json()


@pytest.fixture
def history(api):
    """Q4 2026 so far: three inner-packaging complaints within 90 days (one class I), an outer-packaging one,
    and 500,000 capsules shipped; one complaint in Q3."""
    for batch, shipped_on, quantity in (("B2601", "2026-10-10", 300_000), ("B2602", "2026-11-02", 200_000),
                                        ("B2601", "2026-08-01", 100_000)):
        api.ok("qa_officer", "/distributions", {"product_code": "P-001", "batch_no": batch, "consignee": "国药控股",
                                                "quantity": quantity, "shipped_on": shipped_on}, 201)
    made = [complaint(api, "2026-09-15", klass="III"),
            complaint(api, "2026-10-05", klass="II"),
            complaint(api, "2026-11-02", klass="I", batch="B2601"),
            complaint(api, "2026-11-18", channel="email"),
            complaint(api, "2026-11-19", complaint_type="outer_packaging", klass="III")]
    return made


@pytest.mark.req("TR-01", "TR-04")
def test_the_period_is_counted_by_class_type_channel_product_batch_and_rated_per_million(api, history):
    report = api.get("qa_head", Q4).get_json()
    assert (report["from"], report["to"], report["complaints"], report["empty"]) == ("2026-10-01", "2026-12-31", 4, False)
    assert report["by_class"] == {"I": 1, "II": 1, "III": 1, "unclassified": 1}
    assert report["by_type"]["inner_packaging"] == 3 and report["by_type"]["outer_packaging"] == 1
    assert report["by_channel"] == {"email": 1, "phone": 3}
    assert report["by_batch"] == {"B2601": 1, "B2602": 3} and report["by_market"] == {"CN": 4}
    assert report["proportions"]["by_type"]["inner_packaging"] == {"count": 3, "share": 0.75}
    # 4 complaints over the 500,000 units shipped in the period: 8 per million.
    assert report["rates"] == [{"product_code": "P-001", "complaints": 4, "units_distributed": 500_000,
                                "per_million": 8.0}]
    # The period before (same length): the Q3 complaint and the August shipment.
    before = report["previous"][0]
    assert (before["from"], before["to"], before["complaints"], before["units_distributed"]) == (
        "2026-07-01", "2026-09-30", 1, 100_000)
    assert len(report["previous"]) == 4
    # Signals: three inner-packaging complaints on P-001 within 90 days, and the class I complaint.
    by_rule = {s["rule"]: s for s in report["signals"]}
    recurrence = by_rule["recurrence"]
    assert (recurrence["product_code"], recurrence["complaint_type"], recurrence["count"]) == (
        "P-001", "inner_packaging", 4)  # 15 Sep – 18 Nov: four within 90 days
    assert by_rule["class_i"]["complaints"] == [history[2]["number"]]
    # Timeliness of the classified ones: classified today, within the limit for each class.
    assert report["timeliness"]["I"]["complaints"] == 1
    assert report["timeliness"]["I"]["limits"]["classification"]["done"] == 1
    # A filter narrows every figure; re-running gives the same report.
    outer = api.get("qa_head", Q4 + "&complaint_type=outer_packaging").get_json()
    assert outer["complaints"] == 1 and outer["signals"] == []
    assert api.get("qa_head", Q4).get_json() == report


def test_bad_input_names_the_field_and_an_empty_period_says_it_is_empty(api, history):
    for query, field in (("/trends?from=2026-12-31&to=2026-10-01", "to"),
                         ("/trends?from=2026-10-01", "to"),
                         ("/trends?from=2026-13-01&to=2026-12-31", "from"),
                         (Q4 + "&product_code=NOPE", "product_code"),
                         (Q4 + "&complaint_type=colour", "complaint_type")):
        response = api.get("qa_head", query)
        assert response.status_code == 400, query
        assert field in response.get_json()["error"]["fields"], query
    empty = api.get("qa_head", "/trends?from=2025-01-01&to=2025-03-31").get_json()
    assert (empty["complaints"], empty["empty"], empty["signals"], empty["rates"]) == (0, True, [], [])
    assert empty["by_class"] == {"I": 0, "II": 0, "III": 0, "unclassified": 0}


@pytest.mark.req("TR-01")
def test_the_report_exports_as_csv_and_xlsx_and_each_export_is_audited(app, api, history):
    from openpyxl import load_workbook

    response = api.get("qa_officer", Q4 + "&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert table[0] == ["section", "item", "complaints", "share", "units_distributed", "per_million"]
    assert ["rates", "P-001", "4", "", "500000", "8.0"] in table
    assert any(row[0] == "signal:recurrence" for row in table)
    book = load_workbook(io.BytesIO(api.get("qa_officer", Q4 + "&format=xlsx").data))
    values = [[cell.value for cell in row] for row in book.active.iter_rows(min_row=3)]
    assert ["by_class", "I", 1, 0.25, None, None] in values
    exports = [json.loads(canonical)["changes"] for (canonical,) in rows(
        app, "SELECT canonical FROM audit_events WHERE action = 'trends.exported' ORDER BY log_index")]
    assert [e["document"][1] for e in exports] == ["csv", "xlsx"]
    assert exports[0]["file_sha256"][1] == hashlib.sha256(response.data).hexdigest()
    assert exports[0]["period"][1] == "2026-10-01/2026-12-31"


@pytest.mark.req("TR-01", "AT-01", "AT-10")
def test_signal_rules_are_audited_configuration_changed_by_the_qa_head(app, api, history, uow_factory):
    from audit.integrity import integrity_check

    assert api.get("qa_officer", "/trends/rules").get_json()["recurrence_window_days"] == 90
    before = business_events(app)
    cc = {"change_control_ref": "CC-1"}
    for body, field in (({"recurrence_window_days": 0, "reason": "r", **cc}, "recurrence_window_days"),
                        ({"recurrence_window_days": -30, "reason": "r", **cc}, "recurrence_window_days"),
                        ({"recurrence_count": 2.5, "reason": "r", **cc}, "recurrence_count"),
                        ({"recurrence_window_days": 30, "change_control_ref": "CC-1"}, "reason"),
                        ({"recurrence_window_days": 30, "reason": "r"}, "change_control_ref"),
                        ({"reason": "r", "change_control_ref": "CC-1"}, "recurrence_count")):  # nothing to change
        refused = api.post("qa_head", "/trends/rules", body)
        assert refused.status_code == 400 and field in refused.get_json()["error"]["fields"], body
    assert api.post("qa_officer", "/trends/rules", {"recurrence_window_days": 30, "reason": "r",
                                                    "change_control_ref": "CC-1"}).status_code == 403
    assert business_events(app) == before and rows(app, "SELECT count(*) FROM signal_settings") == [(0,)]
    changed = api.ok("qa_head", "/trends/rules", {"recurrence_window_days": 30, "reason": "季度评审会议决定",
                                                  "change_control_ref": "CC-2026-021"})
    assert changed["recurrence_window_days"] == 30 and changed["recurrence_count"] == 3
    [(canonical,)] = rows(app, "SELECT canonical FROM audit_events WHERE action = 'configuration.signal_rules_changed'")
    event = json.loads(canonical)
    assert event["changes"]["signal_rules"] == [[], ["recurrence_window_days=30"]] and event["reason"] == "季度评审会议决定"
    assert event["changes"]["change_control_ref"] == [None, "CC-2026-021"]
    # With a 30-day window at most two of the inner-packaging complaints (2 and 18 Nov) fall together.
    assert not [s for s in api.get("qa_head", Q4).get_json()["signals"] if s["rule"] == "recurrence"]
    assert integrity_check(uow_factory()) == []  # the trail and the configuration table agree


@pytest.mark.req("TR-01")
def test_the_trend_page_shows_figures_signals_and_server_drawn_charts(client, api, history):
    import base64
    import re

    from tests.conftest import login

    login(client, *api.credentials["qa_head"])
    page = client.get("/trends/?from=2026-10-01&to=2026-12-31").get_data(as_text=True)
    assert 'id="trends-count">4<' in page and "signal-recurrence" in page and "signal-class_i" in page
    charts = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(charts) >= 3  # Pareto, periods, the product's u-chart
    pareto = base64.b64decode(charts[0]).decode("utf-8")
    assert pareto.startswith("<svg") and ("内包装" in pareto or "Inner packaging" in pareto)
    # The same figures draw the same chart (the review PDF reuses it).
    again = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', client.get(
        "/trends/?from=2026-10-01&to=2026-12-31").get_data(as_text=True))
    assert again == charts
    refused = client.get("/trends/?from=2026-12-31&to=2026-10-01")
    assert refused.status_code == 400 and "has-error" in refused.get_data(as_text=True)


@pytest.mark.req("TR-02")
def test_the_investigator_answers_whether_the_problem_recurs_where_earlier_complaints_are_listed(app, client, api):
    from tests.conftest import csrf_token, login
    from tests.integration.test_complaints_api import assign_investigator

    first = complaint(api, "2026-10-01", klass="III")
    second = complaint(api, "2026-11-02", klass="III")
    assign_investigator(api, second["id"])
    login(client, *api.credentials["investigator"])
    page = client.get(f"/complaints/{second['id']}").get_data(as_text=True)
    assert first["number"] in page and 'name="recurrence_asked"' in page and 'name="recurring_problem"' in page
    form = {"csrf_token": csrf_token(client, f"/complaints/{second['id']}"), "recurrence_asked": "1",
            "root_cause": "封口机压力偏低", "impact": "本批", "other_batches_affected": "无", "substantiated": "yes",
            "extend_to_other_batches": "no", "extension_rationale": "压力偏低仅见于本批"}
    unanswered = client.post(f"/complaints/{second['id']}/investigate", data=form)
    assert unanswered.status_code == 400 and "recurring_problem" in unanswered.get_data(as_text=True)
    assert api.get("qa_officer", f"/complaints/{second['id']}").get_json()["investigation"] is None
    done = client.post(f"/complaints/{second['id']}/investigate", data={**form, "recurring_problem": "yes"})
    assert done.status_code in (302, 303)
    investigation = api.get("qa_officer", f"/complaints/{second['id']}").get_json()["investigation"]
    assert investigation["recurring_problem"] is True
    # Through the API the answer is recorded where given, and the body of DESIGN §6 stays valid without it.
    assign_investigator(api, first["id"])
    plain = api.ok("investigator", f"/complaints/{first['id']}/investigation", {
        "root_cause": "r", "impact": "i", "other_batches_affected": "无", "substantiated": True})
    assert "recurring_problem" not in plain["investigation"]

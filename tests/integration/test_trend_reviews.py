"""Trend reviews (SOP §7; TR-01): `gmp tick` turns every signal into a review task for the QA head, who
records the evaluation and raises a CAPA (source trend, linked to the complaints) or signs why none is
needed. SQLite and PostgreSQL."""
import pytest
from click.testing import CliRunner

from gmp_complaints.cli import main
from tests.conftest import environment_for, signing_key_path
from tests.integration.test_complaints_api import TODAY, api, registration, settings  # noqa: F401
from tests.integration.test_pharmacovigilance import business_events, rows
from tests.integration.test_trends import history  # noqa: F401

CAPA = {"problem_statement": "内包装密封缺陷反复出现", "root_cause": "封口机压力波动", "risk": "中",
        "effectiveness_criteria": "两个季度内无同类投诉", "effectiveness_due_on": "2027-06-30"}


def tick(settings, tmp_path, tmp_path_factory) -> str:
    env = {**environment_for(settings.database_url, tmp_path / "instance", signing_key_path(tmp_path_factory)),
           "GMP_TODAY": TODAY}
    result = CliRunner(env=env).invoke(main, ["tick"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def raised(api, history, settings, tmp_path, tmp_path_factory):
    output = tick(settings, tmp_path, tmp_path_factory)
    assert "trend reviews raised: 2" in output
    return {r["rule"]: r for r in api.get("qa_head", "/trend-reviews?status=open").get_json()["trend_reviews"]}


@pytest.mark.req("TR-01")
def test_gmp_tick_raises_one_review_per_signal_and_quarter_once(app, api, raised, settings, tmp_path, tmp_path_factory):
    assert set(raised) == {"recurrence", "class_i"}
    recurrence = raised["recurrence"]
    assert (recurrence["product_code"], recurrence["complaint_type"], recurrence["count"]) == (
        "P-001", "inner_packaging", 4)
    assert (recurrence["period_from"], recurrence["period_to"]) == ("2026-10-01", "2026-12-31")
    assert recurrence["number"].startswith("TRV-26-") and recurrence["status"] == "open"
    assert "trend reviews raised: 0" in tick(settings, tmp_path, tmp_path_factory)  # once per signal and quarter
    assert rows(app, "SELECT count(*) FROM trend_reviews") == [(2,)]


@pytest.mark.req("TR-01", "SIG-01", "SIG-03", "SIG-06")
def test_the_qa_head_signs_why_no_capa_is_needed(app, api, raised):
    review = raised["class_i"]
    path = f"/trend-reviews/{review['id']}/evaluation"
    body = {"evaluation": "单起 I 类投诉已按投诉处理，根本原因明确，无系统性趋势", "decision": "no_capa"}
    assert api.post("qa_officer", path, api.signed("qa_officer", body)).status_code == 403
    before, events = rows(app, "SELECT status, version FROM trend_reviews ORDER BY id"), business_events(app)
    wrong = api.post("qa_head", path, {**body, "username": api.credentials["qa_head"][0], "password": "wrong-one"})
    assert wrong.status_code == 401
    unsigned = api.post("qa_head", path, body)
    assert unsigned.status_code == 400 and "password" in unsigned.get_json()["error"]["fields"]
    assert rows(app, "SELECT status, version FROM trend_reviews ORDER BY id") == before
    assert business_events(app) == events
    decided = api.ok("qa_head", path, api.signed("qa_head", body))
    assert decided["status"] == "no_capa" and decided["decided_by"]["username"] == api.credentials["qa_head"][0]
    [signature] = decided["signatures"]
    assert (signature["step"], signature["meaning"], signature["status"]) == ("trend_no_capa", "reviewed", "valid")
    again = api.post("qa_head", path, api.signed("qa_head", body))
    assert again.status_code == 409
    assert api.get("qa_head", f"/trend-reviews/{review['id']}").get_json() == decided


@pytest.mark.req("TR-01", "WF-13")
def test_a_capa_raised_from_a_signal_is_a_trend_capa_linked_to_its_complaints(app, api, raised, history):
    review = raised["recurrence"]
    path = f"/trend-reviews/{review['id']}/evaluation"
    body = {"evaluation": "同一产品内包装缺陷 64 天内 4 起，需系统性纠正", "decision": "capa"}
    missing = api.post("qa_head", path, body)
    assert missing.status_code == 400 and "capa" in missing.get_json()["error"]["fields"]
    incomplete = api.post("qa_head", path, {**body, "capa": {**CAPA, "problem_statement": None}})
    assert incomplete.status_code == 400 and "capa.problem_statement" in incomplete.get_json()["error"]["fields"]
    assert rows(app, "SELECT count(*) FROM capas") == [(0,)]
    decided = api.ok("qa_head", path, {**body, "capa": CAPA})
    assert decided["status"] == "capa_raised" and decided["capa"]["number"].startswith("CAPA-26-")
    capa = api.get("qa_head", f"/capas/{decided['capa']['id']}").get_json()
    assert capa["source"] == "trend"
    linked = sorted(c["id"] for c in capa["complaints"])
    assert linked == sorted(c["id"] for c in history if c["complaint_type"] == "inner_packaging")


@pytest.mark.req("TR-01")
def test_the_review_page_lists_what_waits_and_takes_the_evaluation(client, api, raised):
    from tests.conftest import csrf_token, login

    login(client, *api.credentials["qa_head"])
    page = client.get("/trends/reviews").get_data(as_text=True)
    review = raised["class_i"]
    assert review["number"] in page and f'id="evaluate-{review["id"]}"' in page
    token = csrf_token(client, "/trends/reviews")
    action = f"/trends/reviews/{review['id']}/evaluation"
    undecided = client.post(action, data={"csrf_token": token, "evaluation": "评估"})
    assert undecided.status_code == 400 and "has-error" in undecided.get_data(as_text=True)
    username, password = api.credentials["qa_head"]
    done = client.post(action, data={"csrf_token": token, "evaluation": "无系统性趋势", "decision": "no_capa",
                                     "username": username, "password": password})
    assert done.status_code in (302, 303)
    assert api.get("qa_head", f"/trend-reviews/{review['id']}").get_json()["status"] == "no_capa"


@pytest.mark.req("TR-04")
def test_the_qa_heads_overview_shows_open_complaints_by_age_and_signals_waiting(app, client, api, raised):
    from tests.conftest import login

    login(client, *api.credentials["qa_head"])
    page = client.get("/complaints/dashboard?scope=all").get_data(as_text=True)
    assert 'id="board-management"' in page and 'id="open-by-age"' in page
    assert raised["recurrence"]["number"] in page and raised["class_i"]["number"] in page
    # Received 5 Oct, 2 Nov, 18 Nov and 19 Nov, seen on 20 Nov: the 5 Oct complaint is 46 days old.
    table = page[page.index('id="open-by-age"'):page.index("</table>", page.index('id="open-by-age"'))]
    assert "<th>31-60</th>" in table and "<th>&gt;90</th>" in table
    officer = app.test_client()
    login(officer, *api.credentials["qa_officer"])
    assert 'id="board-management"' not in officer.get("/complaints/dashboard?scope=all").get_data(as_text=True)

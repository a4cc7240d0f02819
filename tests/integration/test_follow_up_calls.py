"""The follow-up call (回访) after closure (DESIGN §4 Follow-up; the company's customer-service rules): a
record of its own, so the closed complaint and its signatures do not change. SQLite and PostgreSQL."""
import pytest
import sqlalchemy as sa

from tests.integration.test_archive import closed_complaint  # noqa: F401
from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401


def count_calls(app) -> int:
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM follow_up_calls")).scalar_one()


@pytest.mark.req("AT-01")
def test_the_customer_is_called_back_after_closure_and_the_closed_complaint_stays_as_it_was(app, api,
                                                                                        closed_complaint):
    cid = closed_complaint
    before = api.get("qa_head", f"/complaints/{cid}").get_json()
    assert before["status"] == "closed" and before["follow_up_calls"] == []
    made = api.client.post(f"/api/v1/complaints/{cid}/follow-up-calls",
                           json={"called_on": "2026-11-20", "result": "partly", "note": "包装已改进，但交货慢"},
                           headers={"Authorization": f"Bearer {api.tokens['intake']}"})
    assert made.status_code == 201, made.get_json()
    after = made.get_json()
    assert after["follow_up_calls"] == [{"called_on": "2026-11-20", "result": "partly", "note": "包装已改进，但交货慢",
                                         "called_by": after["follow_up_calls"][0]["called_by"]}]
    assert after["follow_up_calls"][0]["called_by"]["username"] == "wang.fang"
    # The closed record, its version and its signatures are exactly as closed.
    assert after["version"] == before["version"] and after["signatures"] == before["signatures"]
    assert all(s["status"] == "valid" for s in after["signatures"])
    events = api.get("auditor", "/audit/events").get_json()["events"]
    assert [e["action"] for e in events if e["entity"].startswith("follow_up_call:")] == ["follow_up_call.recorded"]


@pytest.mark.req("VAL-03")
def test_a_call_before_closure_in_the_future_or_with_an_unknown_result_is_refused(app, api, closed_complaint):
    open_one = api.ok("intake", "/complaints", registration(), 201)["id"]
    refused = api.post("intake", f"/complaints/{open_one}/follow-up-calls", {"called_on": "2026-11-20",
                                                                             "result": "satisfied"})
    assert refused.status_code == 409
    for body, field in (({"called_on": "2026-11-21", "result": "satisfied"}, "called_on"),  # tomorrow
                        ({"called_on": "2026-11-01", "result": "satisfied"}, "called_on"),  # before the closure
                        ({"called_on": "2026-11-20", "result": "happy"}, "result"),
                        ({"called_on": "2026-11-20"}, "result")):
        response = api.post("intake", f"/complaints/{closed_complaint}/follow-up-calls", body)
        assert response.status_code == 400 and field in response.get_json()["error"]["fields"], response.get_json()
    assert api.post("investigator", f"/complaints/{closed_complaint}/follow-up-calls",
                    {"called_on": "2026-11-20", "result": "satisfied"}).status_code == 403
    assert count_calls(app) == 0

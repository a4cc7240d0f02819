"""Compensation (SOP 5.5.1, DESIGN §4): the terms agreed by sales and finance, approved by the signature of a
person whose level on the configured ladder covers the amount in CNY; refused (403, nothing changed) when it
does not. SQLite and PostgreSQL."""
import pytest
import sqlalchemy as sa

from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401

TERMS = {"amount": "120000", "currency": "CNY", "agreed_on": "2026-11-20", "finance_reference": "财务审批 FA-2026-031",
         "note": "退货补偿"}


@pytest.fixture
def ladder_api(api, client, make_user):
    """An administrator and three managers, each granted one level of the ladder."""
    _, password = make_user("sun.qiang", "admin")
    api.tokens["admin"] = client.post("/api/v1/auth/token", json={"username": "sun.qiang", "password": password}
                                      ).get_json()["token"]
    for username, level in (("ma.li", "business_manager"), ("he.wei", "vice_president"), ("lu.gang", "general_manager")):
        _, password = make_user(username, "intake", identity_verified=True)
        token = client.post("/api/v1/auth/token", json={"username": username, "password": password}).get_json()["token"]
        assert client.post("/api/v1/auth/esignature-statement", json={"password": password},
                           headers={"Authorization": f"Bearer {token}"}).status_code == 204
        api.tokens[level], api.credentials[level] = token, (username, password)
        api.ok("admin", "/compensation-authorities", {"username": username, "level": level, "reason": "总经理任命",
                                                      "change_control_ref": "CC-2026-030"})
    return api


def stored(app):
    with app.extensions["gmp_engine"].connect() as connection:
        return [tuple(r) for r in connection.execute(sa.text(
            "SELECT sequence, amount, status, version FROM compensations ORDER BY id")).all()]


@pytest.mark.req("SIG-06", "SIG-08")
def test_an_amount_above_the_signers_level_is_refused_and_the_right_level_approves(app, ladder_api):
    api = ladder_api
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    made = api.ok("intake", f"/complaints/{cid}/compensations", TERMS, 201)
    [agreed] = made["compensations"]
    # 120,000 CNY: above the business manager's 100,000, within the vice-president's 150,000.
    assert (agreed["amount"], agreed["required_level"], agreed["status"]) == ("120000.00", "vice_president",
                                                                              "awaiting_approval")
    before = (stored(app), api.get("qa_head", f"/complaints/{cid}").get_json()["version"])
    too_low = api.post("business_manager", f"/complaints/{cid}/compensations/1/decision",
                       api.signed("business_manager", {"decision": "approve"}))
    assert too_low.status_code == 403 and "vice_president" in too_low.get_json()["error"]["message"]
    assert (stored(app), api.get("qa_head", f"/complaints/{cid}").get_json()["version"]) == before
    refusals = [e for e in api.get("auditor", "/audit/events").get_json()["events"] if e["action"] == "signature.refused"]
    assert len(refusals) == 1  # the refusal's only trace is the security event
    # The one who recorded the terms does not approve them (four-eyes), whatever their level.
    api.ok("admin", "/compensation-authorities", {"username": "wang.fang", "level": "general_manager", "reason": "兼任",
                                                  "change_control_ref": "CC-2026-031"})
    own = api.post("intake", f"/complaints/{cid}/compensations/1/decision", api.signed("intake", {"decision": "approve"}))
    assert own.status_code == 403
    approved = api.ok("vice_president", f"/complaints/{cid}/compensations/1/decision",
                      api.signed("vice_president", {"decision": "approve", "comment": "同意"}))
    [done] = approved["compensations"]
    assert done["status"] == "approved" and done["signatures"][0]["signer_name"]
    assert done["signatures"][0]["meaning"] == "approved" and done["signatures"][0]["status"] == "valid"
    assert api.post("general_manager", f"/complaints/{cid}/compensations/1/decision",
                    api.signed("general_manager", {"decision": "reject"})).status_code == 409
    # Commercial: the complaint's GMP content did not change.
    assert approved["version"] == before[1] and approved["status"] == "registered"


@pytest.mark.req("VAL-03")
@pytest.mark.parametrize("change, field", [({"amount": "0"}, "amount"), ({"amount": "-5"}, "amount"),
                                           ({"amount": "12.345"}, "amount"), ({"currency": "RMB"}, "currency"),
                                           ({"currency": "USD"}, "amount_cny"), ({"agreed_on": "2099-01-01"}, "agreed_on"),
                                           ({"finance_reference": None}, "finance_reference")])
def test_bad_terms_name_the_field_and_store_nothing(app, ladder_api, change, field):
    api = ladder_api
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    response = api.post("intake", f"/complaints/{cid}/compensations", {**TERMS, **change})
    assert response.status_code == 400 and field in response.get_json()["error"]["fields"], response.get_json()
    assert stored(app) == []


@pytest.mark.req("SIG-06", "AT-01", "AT-10")
def test_the_ladder_is_audited_configuration_and_a_foreign_currency_is_judged_in_cny(app, ladder_api):
    api = ladder_api
    config = api.get("qa_officer", "/compensation-authorities").get_json()
    assert config["ladder"] == [{"level": "business_manager", "max_amount_cny": "100000.00"},
                                {"level": "vice_president", "max_amount_cny": "150000.00"},
                                {"level": "general_manager", "max_amount_cny": None}]
    assert api.post("qa_officer", "/compensation-ladder", {"level": "vice_president", "limit": "200000",
                                                           "reason": "x"}).status_code == 403
    no_reason = api.post("admin", "/compensation-ladder", {"level": "vice_president", "limit": "200000",
                                                           "change_control_ref": "CC-2026-032"})
    assert no_reason.status_code == 400 and "reason" in no_reason.get_json()["error"]["fields"]
    no_ref = api.post("admin", "/compensation-ladder", {"level": "vice_president", "limit": "200000", "reason": "x"})
    assert no_ref.status_code == 400 and list(no_ref.get_json()["error"]["fields"]) == ["change_control_ref"]
    inverted = api.post("admin", "/compensation-ladder", {"level": "business_manager", "limit": "160000",
                                                          "reason": "调整", "change_control_ref": "CC-2026-032"})
    assert inverted.status_code == 400 and "limit" in inverted.get_json()["error"]["fields"]
    api.ok("admin", "/compensation-ladder", {"level": "vice_president", "limit": "200000", "reason": "2027 年制度修订",
                                             "change_control_ref": "CC-2026-032"})
    [event] = [e for e in api.get("auditor", "/audit/events").get_json()["events"]
               if e["action"] == "configuration.compensation_ladder_changed"]
    assert event["reason"] == "2027 年制度修订" and event["changes"]["change_control_ref"] == [None, "CC-2026-032"]
    assert event["changes"]["compensation_ladder"][1] == ["business_manager=100000.00", "general_manager=*",
                                                          "vice_president=200000.00"]
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    usd = api.ok("intake", f"/complaints/{cid}/compensations", {**TERMS, "amount": "25000", "currency": "USD",
                                                                 "amount_cny": "180000"}, 201)["compensations"][0]
    assert (usd["amount"], usd["currency"], usd["amount_cny"], usd["required_level"]) == (
        "25000.00", "USD", "180000.00", "vice_president")

"""Legal holds (issue 17; RET-02): placed and released by the head of quality, each signed with a reason, shown on
the complaint and in its audit trail; a second hold, a release without a hold, a wrong password and another role
change nothing. SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401 (fixtures)


def _state(api, cid):
    return api.get("auditor", f"/complaints/{cid}").get_json(), \
        [e["action"] for e in api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
         if not e["action"].startswith("user.")]


@pytest.mark.req("RET-02", "SIG-06")
def test_the_head_of_quality_places_and_releases_a_legal_hold_by_signature(api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    held = api.ok("qa_head", f"/complaints/{cid}/legal-hold", api.signed("qa_head", {"reason": "诉讼：仁和大药房案"}))
    assert held["on_legal_hold"] is True
    [hold] = held["legal_holds"]
    assert (hold["reason"], hold["placed_by"]["username"], hold["released_at"]) == ("诉讼：仁和大药房案", "liu.yang", None)
    signature = next(s for s in held["signatures"] if s["step"] == "legal_hold")
    assert (signature["meaning"], signature["status"], signature["signer_name"]) == ("approved", "valid",
                                                                                     "Liu.Yang Tester")
    before = _state(api, cid)
    again = api.post("qa_head", f"/complaints/{cid}/legal-hold", api.signed("qa_head", {"reason": "再次"}))
    assert again.status_code == 409 and _state(api, cid) == before
    assert api.post("qa_officer", f"/complaints/{cid}/legal-hold",
                    api.signed("qa_officer", {"reason": "x"})).status_code == 403
    wrong = api.post("qa_head", f"/complaints/{cid}/legal-hold/release",
                     {"reason": "结案", "username": "liu.yang", "password": "wrong-password-0000"})
    assert wrong.status_code == 401 and _state(api, cid) == before
    missing_reason = api.post("qa_head", f"/complaints/{cid}/legal-hold/release", api.signed("qa_head", {}))
    assert missing_reason.status_code == 400 and "reason" in missing_reason.get_json()["error"]["fields"]
    released = api.ok("qa_head", f"/complaints/{cid}/legal-hold/release", api.signed("qa_head", {"reason": "诉讼结案"}))
    assert released["on_legal_hold"] is False and released["legal_holds"][0]["release_reason"] == "诉讼结案"
    assert [s["step"] for s in released["signatures"]] == ["legal_hold", "legal_hold_release"]
    assert all(s["status"] == "valid" for s in released["signatures"])
    assert api.post("qa_head", f"/complaints/{cid}/legal-hold/release",
                    api.signed("qa_head", {"reason": "x"})).status_code == 409
    actions = _state(api, cid)[1]
    assert actions.count("legal_hold.placed") == 1 and actions.count("legal_hold.released") == 1

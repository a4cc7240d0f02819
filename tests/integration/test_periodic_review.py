"""The periodic review report (issue 18; AT-08): `gmp review periodic`, the console script, lists the accounts and
their standing, the configuration and access changes of the period, closures against signed audit-trail reviews,
incidents (failed log-ins, refused signatures, verification differences) and the latest signed checkpoint with the
keys; producing it is itself audited. SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_complaints_api import api, settings  # noqa: F401 (fixtures)
from tests.integration.test_signatures import _env_of, replied_and_satisfied, sign

GMP = str(Path(sys.executable).with_name("gmp"))


@pytest.mark.req("AT-08", "SEC-04", "TR-05")
def test_the_periodic_review_report_states_access_changes_reviews_and_incidents(app, api, make_user, uow_factory,
                                                                              tmp_path, approved_change):
    admin_id, _ = make_user("root.admin", "admin")
    user_id, _ = make_user("temp.worker", "investigator")
    approved_change(admin_id, kind="change_roles", user_id=user_id, roles=["qa_officer"], reason="转岗")
    cid = replied_and_satisfied(api)
    assert sign(api, "qa_head", cid, "audit_trail_review").status_code == 201
    api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {"comment": "同意关闭"}))
    wrong = api.post("qp", f"/complaints/{cid}/signatures",
                     {"step": "qp_acknowledgement", "username": "chen.jing", "password": "wrong-password-000"})
    assert wrong.status_code in (401, 409)
    api.client.post("/api/v1/auth/token", json={"username": "zhao.lei", "password": "not-his-password-0"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("GMP_") and k != "DATABASE_URL"}
    out = tmp_path / "review.json"
    result = subprocess.run([GMP, "review", "periodic", "--from", "2026-01-01", "--to", "2099-12-31", "--json",
                             str(out)], env={**env, **_env_of(app)}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    users = {u["username"]: u for u in report["user_access"]["users"]}
    assert users["temp.worker"]["roles"] == ["qa_officer"] and users["root.admin"]["roles"] == ["admin"]
    changed = [c for c in report["configuration_changes"] if c["action"] == "user.roles_changed"]
    assert [c["reason"] for c in changed] == ["转岗"]
    # SEC-04: the request (the administrator, why) and its approval (the head of quality) are listed too.
    asked = [c for c in report["configuration_changes"] if c["action"] == "access_request.requested"]
    approved = [c for c in report["configuration_changes"] if c["action"] == "access_request.approved"]
    assert [(c["actor"], c["reason"]) for c in asked] == [("Root.Admin Tester", "转岗")]
    assert [c["actor"] for c in approved] == ["Access Approver"] and changed[0]["actor"] == "Access Approver"
    assert report["audit_trail_reviews"] == {"closures": 1, "signed_reviews": 1}
    assert report["incidents"]["user.login_failed"] >= 1
    assert report["log"]["checkpoint_tree_size"] > 0 and len(report["log"]["checkpoint_root_hash"]) == 64
    assert f"report SHA-256: {report['sha256']}" in result.stdout
    events = [e for e in api.get("auditor", "/audit/events").get_json()["events"]
              if e["action"] == "review.periodic_report"]
    assert [e["changes"]["result_sha256"][1] for e in events] == [report["sha256"]]
    bad = subprocess.run([GMP, "review", "periodic", "--from", "2026-12-31", "--to", "2026-01-01"],
                         env={**env, **_env_of(app)}, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "before its start" in bad.stderr

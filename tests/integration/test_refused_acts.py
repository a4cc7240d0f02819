"""A refused signed act changes nothing (DESIGN §6; issue: trust by construction).

Every signed act × {wrong password, role not allowed, author approving own work, account locked, statement
not accepted, identity not verified}: the answer's status, the record exactly as before (its content, its
version, its signatures), the business audit trail exactly as before, and exactly the security record of
the refusal written after it. SQLite and PostgreSQL.

The account-locked case is the attempt that locks the account: a locked account cannot reach a signing
path at all (its tokens and sessions are refused), so the lock meets a signature only there; its security
record is the failed attempt and the lock.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest
import sqlalchemy as sa

from tests.integration.test_complaints_api import (  # noqa: F401 (fixtures)
    TODAY,
    api,
    assign_investigator,
    capa_body,
    registration,
    settings,
)
from tests.integration.test_signatures import _env_of

AUTHOR = "author.head"  # holds qa_officer and qa_head: authors the work, may sign as QA head


@dataclass
class Target:
    """Where the act is posted and how the record it would change is read back."""

    path: str
    body: dict
    record_path: str


@dataclass(frozen=True)
class Act:
    name: str
    signer_role: str
    #: (api) -> Target: drives a record to the state the act needs; AUTHOR authors the covered work
    prepare: Callable
    #: who tries without the role, and the security action of that refusal
    not_allowed: tuple[str, str]
    #: acts with no four-eyes (an acknowledgement, a verified fact, the QA head's own retention decision)
    four_eyes: bool = True


def _classified(api, klass="II", who="author") -> int:
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok(who, f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok(who, f"/complaints/{cid}/classification", {"complaint_class": klass, "rationale": "r", "adr_suspected": False})
    return cid


def _investigated(api, klass="III", reasonable=False) -> int:
    cid = _classified(api, klass)
    assign_investigator(api, cid)
    api.ok("investigator", f"/complaints/{cid}/investigation",
           {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True})
    api.ok("author", f"/complaints/{cid}/assessment", {"reasonable": reasonable, "actions": [], "adr_confirmed": False,
                                                       "regulator_report_required": False})
    return cid


def _signing(cid, step, **extra) -> Target:
    return Target(f"/complaints/{cid}/signatures", {"step": step, "comment": "意见", **extra}, f"/complaints/{cid}")


def qp_acknowledgement(api):
    return _signing(_classified(api), "qp_acknowledgement")


def interim_risk_decision(api):
    return _signing(_classified(api, "I"), "interim_risk_decision", measures=["quarantine"])


def extension(step):
    def prepare(api):
        cid = _classified(api)
        api.ok("author", f"/complaints/{cid}/extension-requests",
               {"kind": "investigation", "new_due_on": "2026-12-31", "reason": "加速稳定性试验"})
        return _signing(cid, step)
    return prepare


def void(step):
    def prepare(api):
        cid = _classified(api)
        api.ok("author", f"/complaints/{cid}/void-requests", {"reason": "重复登记"})
        return _signing(cid, step)
    return prepare


def capa_not_needed(api):
    return _signing(_investigated(api, reasonable=True), "capa_not_needed")


def reply_approval(api):
    cid = _investigated(api)
    api.ok("author", f"/complaints/{cid}/reply-reports", {"summary": "调查结果：密封不良；纠正预防措施：校准封口机"})
    return _signing(cid, "reply_approval")


def legal_hold(api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    return Target(f"/complaints/{cid}/legal-hold", {"reason": "诉讼"}, f"/complaints/{cid}")


def legal_hold_release(api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_head", f"/complaints/{cid}/legal-hold", api.signed("qa_head", {"reason": "诉讼"}))
    return Target(f"/complaints/{cid}/legal-hold/release", {"reason": "结案"}, f"/complaints/{cid}")


def _pending_closure(api) -> int:
    cid = _investigated(api)
    api.ok("author", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": TODAY, "satisfied": True, "text": "满意"})
    return cid


def audit_trail_review(api):
    return _signing(_pending_closure(api), "audit_trail_review")


def closure(api):
    cid = _pending_closure(api)
    api.ok("qa_head", f"/complaints/{cid}/signatures", api.signed("qa_head", {"step": "audit_trail_review"}), 201)
    return Target(f"/complaints/{cid}/closure", {"comment": "同意关闭"}, f"/complaints/{cid}")


def sales_confirmation(api):
    """The no-response path: reply, reminder, and `gmp tick` ten working days later."""
    from click.testing import CliRunner

    from gmp_complaints.cli import main

    cid = _investigated(api)
    api.ok("author", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "答复"})
    api.ok("author", f"/complaints/{cid}/reminders", {"sent_on": TODAY})
    result = CliRunner(env={**_env_of(api.app), "GMP_TODAY": "2026-12-04"}).invoke(main, ["tick"])
    assert result.exit_code == 0, result.output
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["status"] == "closure_pending"
    return _signing(cid, "sales_confirmation")


def regrading(api):
    cid = _classified(api)
    return Target(f"/complaints/{cid}/regrading", {"complaint_class": "I", "reason": "新证据"}, f"/complaints/{cid}")


def spec_failure_determination(api):
    """WF-02: AUTHOR flags a possible failure to meet specification at the validity step; the head of quality
    determines it, signed."""
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("author", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True,
                                                     "spec_failure_suspected": True})
    return Target(f"/complaints/{cid}/spec-failure-determination",
                  {"investigation_required": True, "rationale": "含量可能不合格"}, f"/complaints/{cid}")


def retention_change(api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]  # B2602: kept until 2029-02-09
    api.ok("author", f"/complaints/{cid}/batches", {"batch_nos": ["B2601"], "reason": "批号更正"})
    return Target(f"/complaints/{cid}/retention", {"retention_until": "2029-01-09", "reason": "按 B2601 有效期保存"},
                  f"/complaints/{cid}")


def _capa(api, owner="zhang.wei") -> tuple[int, int]:
    cid = _investigated(api, reasonable=True)
    capa_id = api.ok("author", "/capas", capa_body(cid), 201)["id"]
    action = api.ok("author", f"/capas/{capa_id}/actions",
                    {"kind": "corrective", "description": "校准封口机", "owner": owner, "due_on": "2026-12-15"}, 201)
    api.ok("qa_head", f"/capas/{capa_id}/plan-approval", api.signed("qa_head", {}))
    return capa_id, action["actions"][0]["id"]


def capa_plan_approval(api):
    cid = _investigated(api, reasonable=True)
    capa_id = api.ok("author", "/capas", capa_body(cid), 201)["id"]
    api.ok("author", f"/capas/{capa_id}/actions",
           {"kind": "corrective", "description": "校准封口机", "owner": "zhang.wei", "due_on": "2026-12-15"}, 201)
    return Target(f"/capas/{capa_id}/plan-approval", {"comment": "计划可行"}, f"/capas/{capa_id}")


def action_implementation(api):
    capa_id, act = _capa(api, owner=AUTHOR)
    api.ok("author", f"/capas/{capa_id}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "已校准"})
    return Target(f"/capas/{capa_id}/actions/{act}/implementation-approval", {"comment": "同意"}, f"/capas/{capa_id}")


def action_due_date_change(api):
    capa_id, act = _capa(api)
    api.ok("author", f"/capas/{capa_id}/actions/{act}/due-date-requests",
           {"new_due_on": "2027-01-15", "reason": "供应商交货延迟"})
    return Target(f"/capas/{capa_id}/actions/{act}/due-date-approval", {"comment": "同意"}, f"/capas/{capa_id}")


def _implemented_capa(api) -> int:
    capa_id, act = _capa(api)
    api.ok("investigator", f"/capas/{capa_id}/actions/{act}/implementation", {"implemented_on": TODAY, "evidence": "e"})
    api.ok("qa_head", f"/capas/{capa_id}/actions/{act}/implementation-approval", api.signed("qa_head", {}))
    return capa_id


def effectiveness_check(api):
    capa_id = _implemented_capa(api)
    return Target(f"/capas/{capa_id}/effectiveness", {"result": "effective", "evidence": "无同类投诉",
                                                      "early_reason": "提前验证"}, f"/capas/{capa_id}")


def capa_closure(api):
    capa_id = _implemented_capa(api)
    api.ok("qa_head", f"/capas/{capa_id}/effectiveness",
           api.signed("qa_head", {"result": "effective", "evidence": "无同类投诉", "early_reason": "提前验证"}))
    return Target(f"/capas/{capa_id}/closure", {"comment": "同意关闭"}, f"/capas/{capa_id}")


def effectiveness_waiver(api):
    capa_id = _implemented_capa(api)
    return Target(f"/capas/{capa_id}/effectiveness-waiver", {"justification": "一次性纠正，无需有效性检查"},
                  f"/capas/{capa_id}")


def effectiveness_escalation(api):
    capa_id = _implemented_capa(api)
    api.ok("qa_head", f"/capas/{capa_id}/effectiveness",
           api.signed("qa_head", {"result": "not_effective", "evidence": "复发", "early_reason": "已复发"}))
    return Target(f"/capas/{capa_id}/escalation", {"reason": "上报管理评审"}, f"/capas/{capa_id}")


# The QA head's own routes refuse other roles at the door (an audited refused access); the complaint's
# signature route lets every signing role in, and the signing service refuses the step.
ACCESS_REFUSED = ("qp", "user.access_refused")
ACTS = (
    Act("qp_acknowledgement", "qp", qp_acknowledgement, ("qa_head", "signature.refused"), four_eyes=False),
    Act("interim_risk_decision", "qa_head", interim_risk_decision, ("investigator", "signature.refused")),
    Act("sales_confirmation", "intake", sales_confirmation, ("qp", "signature.refused"), four_eyes=False),
    Act("audit_trail_review", "qa_head", audit_trail_review, ("qp", "signature.refused")),
    Act("extension_approval", "qa_head", extension("extension_approval"), ("qp", "signature.refused")),
    Act("extension_rejection", "qa_head", extension("extension_rejection"), ("qp", "signature.refused")),
    Act("void_approval", "qa_head", void("void_approval"), ("qa_officer", "signature.refused")),
    Act("void_rejection", "qa_head", void("void_rejection"), ("qa_officer", "signature.refused")),
    Act("capa_not_needed", "qa_head", capa_not_needed, ("intake", "signature.refused")),
    Act("reply_approval", "qa_head", reply_approval, ("qp", "signature.refused")),
    Act("closure", "qa_head", closure, ACCESS_REFUSED),
    Act("regrading", "qa_head", regrading, ("qa_officer", "signature.refused")),
    Act("spec_failure_determination", "qa_head", spec_failure_determination, ACCESS_REFUSED),
    Act("retention_change", "qa_head", retention_change, ACCESS_REFUSED, four_eyes=False),
    Act("legal_hold", "qa_head", legal_hold, ACCESS_REFUSED, four_eyes=False),
    Act("legal_hold_release", "qa_head", legal_hold_release, ACCESS_REFUSED, four_eyes=False),
    Act("capa_plan_approval", "qa_head", capa_plan_approval, ACCESS_REFUSED),
    Act("action_implementation", "qa_head", action_implementation, ACCESS_REFUSED),
    Act("action_due_date_change", "qa_head", action_due_date_change, ACCESS_REFUSED),
    Act("effectiveness_check", "qa_head", effectiveness_check, ACCESS_REFUSED),
    Act("capa_closure", "qa_head", capa_closure, ACCESS_REFUSED),
    Act("effectiveness_waiver", "qa_head", effectiveness_waiver, ACCESS_REFUSED),
    Act("effectiveness_escalation", "qa_head", effectiveness_escalation, ACCESS_REFUSED),
)


def _user(api, client, make_user, username, *roles, statement=True, identity=True):
    from tests.conftest import STRONG_PASSWORD

    make_user(username, *roles, identity_verified=identity)
    token = client.post("/api/v1/auth/token", json={"username": username, "password": STRONG_PASSWORD}).get_json()["token"]
    api.tokens[username], api.credentials[username] = token, (username, STRONG_PASSWORD)
    if statement:
        assert client.post("/api/v1/auth/esignature-statement", json={"password": STRONG_PASSWORD},
                           headers={"Authorization": f"Bearer {token}"}).status_code == 204


def _state(app, api, target: Target) -> tuple:
    """The record as the API shows it (content, version, signatures), the whole audit trail, the
    signature rows."""
    record = api.get("auditor", target.record_path).get_json()
    with app.extensions["gmp_engine"].connect() as connection:
        events = connection.execute(sa.text("SELECT log_index, action FROM audit_events ORDER BY log_index")).all()
        signatures = connection.execute(sa.text("SELECT count(*) FROM signatures")).scalar_one()
    return record, [tuple(e) for e in events], signatures


@pytest.mark.req("SIG-03", "SIG-05", "SIG-06", "SIG-08", "VAL-03")
@pytest.mark.parametrize("act", ACTS, ids=[a.name for a in ACTS])
def test_a_refused_signed_act_changes_nothing_and_leaves_only_its_security_record(app, api, client, make_user, act):
    from audit.actions import ActionKind, action_spec

    api.app = app
    _user(api, client, make_user, AUTHOR, "qa_officer", "qa_head")
    api.tokens["author"], api.credentials["author"] = api.tokens[AUTHOR], api.credentials[AUTHOR]
    role = act.signer_role
    _user(api, client, make_user, f"locked.{role}", role)
    _user(api, client, make_user, f"nostmt.{role}", role, statement=False)
    _user(api, client, make_user, f"noid.{role}", role, identity=False)
    target = act.prepare(api)
    # Four failures already: the next wrong password locks the account.
    for _ in range(4):
        assert client.post("/api/v1/auth/token", json={"username": f"locked.{role}", "password": "wrong-password-0"}
                           ).status_code == 401

    who_not_allowed, not_allowed_action = act.not_allowed
    cases = [
        ("wrong password", role, lambda b: {**b, "password": "wrong-password-0"}, 401, ["user.login_failed"]),
        ("role not allowed", who_not_allowed, None, 403, [not_allowed_action]),
        ("account locked", f"locked.{role}", lambda b: {**b, "password": "wrong-password-0"}, 423,
         ["user.login_failed", "user.locked"]),
        ("statement not accepted", f"nostmt.{role}", None, 403, ["signature.refused"]),
        ("identity not verified", f"noid.{role}", None, 403, ["signature.refused"]),
    ]
    if act.four_eyes:
        cases.append(("author approving own work", "author", None, 403, ["signature.refused"]))
    for label, who, alter, status, security in cases:
        before = _state(app, api, target)
        body = api.signed(who, target.body)
        response = api.post(who, target.path, alter(body) if alter else body)
        assert response.status_code == status, (label, response.get_json())
        record, events, signatures = _state(app, api, target)
        assert record == before[0], label  # content, version, signatures' status: all as before
        assert signatures == before[2], label
        assert events[:len(before[1])] == before[1], label  # nothing of the trail changed
        written = [action for _index, action in events[len(before[1]):]]
        assert written == security, label
        assert all(action_spec(a).kind is ActionKind.security for a in written), label
    # The proper signer still can: the refusals left the act possible.
    proper = api.post("qa_head" if role == "qa_head" else role, target.path,
                      api.signed("qa_head" if role == "qa_head" else role, target.body))
    assert proper.status_code in (200, 201), proper.get_json()

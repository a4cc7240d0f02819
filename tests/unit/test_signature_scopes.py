"""What a signature covers is an explicit, versioned field list per scope (no database, no Flask).

The lists must reproduce exactly what signatures made so far hashed (the view minus its workflow keys,
as it stood), and a key added anywhere to the view must never change a snapshot (it would supersede
every signature on every complaint)."""
import copy

import pytest

from signatures.binding import canonical_snapshot_hash
from signatures.scopes import SCOPE_VERSION, complaint_snapshot

SCOPES = ("registration+classification", "classification+decision", "regrading", "assessment", "retention",
          "complaint", "complaint+audit_trail", "void")

VIEW = {
    "id": 7, "intake_ref": "R-2026-00007", "number": "TS-II-26-003", "complaint_class": "I", "original_class": "II",
    "status": "closure_pending", "version": 9, "channel": "phone", "received_on": "2026-11-02",
    "complainant": {"name": "王芳", "organisation": "仁和大药房", "phone": "138", "email": "wf@example.cn"},
    "product_code": "P-001", "product_name": "阿莫西林胶囊", "batch_nos": ["B2602"],
    "batches": [{"id": 2, "batch_no": "B2602"}], "batch_unknown_reason": None, "complaint_type": "inner_packaging",
    "description": "瓶盖破裂", "sample_available": True, "written_confirmation_requested": True,
    "retention_until": "2029-02-09",
    "acknowledgement": {"sent_on": "2026-11-03", "method": "电话", "note": None},
    "validity": {"information_complete": True, "substantiated": True, "reason": None},
    "classification": {"complaint_class": "II", "rationale": "r", "adr_suspected": False, "criteria_version": "SOP-3/1",
                       "classified_on": "2026-11-04"},
    "investigation": {"root_cause": "封口压力偏低", "impact": "i", "other_batches_affected": "o", "substantiated": True,
                      "investigated_on": "2026-11-10"},
    "assessment": {"reasonable": True, "actions": ["return_exchange"], "adr_confirmed": False,
                   "regulator_report_required": False, "assessed_on": "2026-11-11"},
    "replies": [{"sequence": 1, "replied_on": "2026-11-12", "summary": "s"}],
    "customer_responses": [{"received_on": "2026-11-13", "satisfied": True, "text": "满意"}],
    "reminders": [{"sent_on": "2026-11-14", "by_system": True}],
    "attachments": [{"id": 1, "filename": "a.pdf", "media_type": "application/pdf", "size": 9, "sha256": "ab" * 32}],
    "deadlines": {"reminder_due_on": None}, "class_criteria": ["II-1"],
    "investigation_checklist": {"5.4.1": {"outcome": "done", "note": "n"}},
    "owner": {"id": 2, "username": "li.na", "printed_name": "Li Na"}, "investigator": None,
    "extensions": [{"id": 4, "kind": "investigation", "due_on_before": "2026-11-20", "new_due_on": "2026-12-31",
                    "reason": "r", "status": "approved"}],
    "quarantine_requests": [{"id": 5, "batch_no": "B2602", "reason": "r", "status": "quarantined",
                             "requested_on": "2026-11-05", "answered_on": "2026-11-06", "quantity": "10",
                             "location": "W1"}],
    "closed_on": None, "follow_up_of_id": None, "follow_up_of": None, "follow_ups": [],
    "void_requests": [{"id": 3, "reason": "重复", "status": "requested",
                       "requested_by": {"id": 2, "username": "li.na", "printed_name": "Li Na"}}],
    "signatures": [], "capas": [{"id": 1, "number": "CAPA-26-001", "status": "open"}],
}

# What signatures before the explicit lists hashed, written out once: the view minus these keys.
_WORKFLOW_KEYS = ("status", "version", "signatures", "related", "deadlines", "owner", "investigator", "closed_on",
                  "retention_kept_later", "follow_up_of_id", "complainant", "capas", "capa_justified", "follow_ups",
                  "follow_up_of", "void_requests")
_REGISTRATION = ("intake_ref", "channel", "received_on", "product_code", "batch_nos", "batch_unknown_reason",
                 "complaint_type", "description", "sample_available", "written_confirmation_requested")
_CLASSIFICATION = ("number", "complaint_class", "original_class", "classification", "class_criteria")


def signed_so_far(view, scope, subject=None):
    organisation = view["complainant"]["organisation"]
    if scope == "registration+classification":
        content = {**{k: view[k] for k in _REGISTRATION + _CLASSIFICATION}, "organisation": organisation}
        if subject == "investigation":
            content.update(investigation=view["investigation"], checklist=view["investigation_checklist"])
        return content
    if scope in ("classification+decision", "regrading"):
        return {"id": view["id"], **{k: view[k] for k in _CLASSIFICATION}}
    if scope == "assessment":
        return {"id": view["id"], **{k: view[k] for k in _CLASSIFICATION}, "investigation": view["investigation"],
                "assessment": view["assessment"]}
    if scope == "retention":
        return {"id": view["id"], "number": view["number"], "retention_until": view["retention_until"]}
    content = {**{k: v for k, v in view.items() if k not in _WORKFLOW_KEYS}, "organisation": organisation,
               "capas": [c["number"] for c in view["capas"]]}
    if scope == "void" and subject:
        content["void_request"] = {k: v for k, v in view["void_requests"][0].items() if k != "status"}
    return content


CASES = [(scope, None) for scope in SCOPES] + [("registration+classification", "investigation"),
                                                ("void", "void_request:3")]


@pytest.mark.req("SIG-02")
@pytest.mark.parametrize("scope,subject", CASES)
def test_the_field_lists_hash_exactly_what_signatures_so_far_covered(scope, subject):
    assert SCOPE_VERSION == 1
    assert canonical_snapshot_hash(complaint_snapshot(VIEW, scope, subject)) == \
        canonical_snapshot_hash(signed_so_far(VIEW, scope, subject))


@pytest.mark.req("SIG-02")
@pytest.mark.parametrize("scope,subject", CASES)
def test_a_field_added_to_the_view_anywhere_supersedes_no_signature(scope, subject):
    before = canonical_snapshot_hash(complaint_snapshot(VIEW, scope, subject))
    grown = copy.deepcopy(VIEW)
    grown["adr"] = {"status": "accepted"}  # a new top-level block (e.g. the pharmacovigilance hand-off)
    for block in ("acknowledgement", "classification", "investigation", "assessment", "validity"):
        grown[block]["new_field"] = "x"
    for listed in ("replies", "attachments", "batches", "extensions", "quarantine_requests", "customer_responses",
                   "reminders"):
        for item in grown[listed]:
            item["new_field"] = "x"
    grown["void_requests"][0]["decided_by"] = "y"
    assert canonical_snapshot_hash(complaint_snapshot(grown, scope, subject)) == before


@pytest.mark.req("SIG-02")
def test_a_change_of_signed_content_still_changes_the_snapshot():
    changed = copy.deepcopy(VIEW)
    changed["investigation"]["root_cause"] = "人员培训不足"
    for scope in ("assessment", "complaint", "complaint+audit_trail"):
        assert complaint_snapshot(changed, scope) != complaint_snapshot(VIEW, scope)
    assert complaint_snapshot(changed, "registration+classification") == \
        complaint_snapshot(VIEW, "registration+classification")
    with pytest.raises(ValueError):
        complaint_snapshot(VIEW, "no_such_scope")


CAPA_VIEW = {
    "id": 1, "number": "CAPA-26-001", "status": "implemented", "source": "complaint", "version": 4,
    "problem_statement": "p", "root_cause": "r", "risk": "中",
    "complaints": [{"id": 7, "number": "TS-II-26-003", "intake_ref": "R-2026-00007", "status": "assessed"}],
    "effectiveness": {"criteria": "c", "due_on": "2027-06-30", "result": None, "evidence": None, "checked_on": None},
    "follow_up_of": None, "follow_ups": [], "closed_on": None,
    "actions": [{"id": 3, "kind": "corrective", "description": "d", "owner": {"id": 4, "username": "zhang.wei",
                                                                              "printed_name": "Zhang Wei"},
                 "due_on": "2026-12-15", "status": "verified", "evidence": "e", "implemented_on": "2026-11-20",
                 "evidence_files": [{"id": 1, "filename": "c.pdf", "sha256": "cd" * 32, "size": 3}],
                 "requested_due_on": None, "due_change_reason": None, "overdue": False}],
    "signatures": [],
}


def capa_signed_so_far(view, scope, subject=None):
    if scope in ("capa_action", "capa_action_due"):
        action = next(a for a in view["actions"] if f"capa_action:{a['id']}" == subject)
        keys = ("id", "kind", "description", "owner", "due_on") if scope == "capa_action_due" else (
            "id", "kind", "description", "owner", "evidence", "implemented_on", "evidence_files")
        return {"capa": view["number"], "action": {k: action[k] for k in keys}}
    content = {k: v for k, v in view.items()
               if k not in ("status", "version", "closed_on", "signatures", "follow_ups", "complaints")}
    content["complaints"] = [c["id"] for c in view["complaints"]]
    content["actions"] = [{k: v for k, v in a.items() if k not in ("status", "requested_due_on", "due_change_reason",
                                                                   "overdue")} for a in view["actions"]]
    return content


@pytest.mark.req("SIG-02")
@pytest.mark.parametrize("scope,subject", [("capa", None), ("capa_action", "capa_action:3"),
                                           ("capa_action_due", "capa_action:3")])
def test_capa_field_lists_hash_what_was_signed_and_ignore_added_fields(scope, subject):
    from signatures.scopes import capa_snapshot

    signed = canonical_snapshot_hash(capa_signed_so_far(CAPA_VIEW, scope, subject))
    assert canonical_snapshot_hash(capa_snapshot(CAPA_VIEW, scope, subject)) == signed
    grown = copy.deepcopy(CAPA_VIEW)
    grown["source_detail"] = "x"
    grown["effectiveness"]["method"] = "x"
    grown["actions"][0]["owner"]["department"] = "QC"
    grown["actions"][0]["evidence_files"][0]["uploaded_by"] = "x"
    grown["actions"][0]["new_field"] = "x"
    assert canonical_snapshot_hash(capa_snapshot(grown, scope, subject)) == signed

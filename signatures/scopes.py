"""What a signature of each scope covers: explicit, versioned field lists (DESIGN §3, §6).

A signature binds the SHA-256 of a snapshot of the record. The snapshot is projected from the record's
view through the lists below — never "the view minus some keys" — so a field added to the view, the API
or a page can never supersede a signature by accident. Changing what a scope covers is a new version
of the list; every signature so far was made with version 1.

A spec is, per key: ``None`` (the value as it is), a tuple of keys (a mapping, those keys), or a list
holding one tuple of keys (a list of mappings, those keys of each).
"""
from __future__ import annotations

SCOPE_VERSION = 1

REGISTRATION = ("intake_ref", "channel", "received_on", "product_code", "batch_nos", "batch_unknown_reason",
                "complaint_type", "description", "sample_available", "written_confirmation_requested")
CLASSIFICATION = {
    "number": None, "complaint_class": None, "original_class": None,
    "classification": ("complaint_class", "rationale", "adr_suspected", "criteria_version", "classified_on"),
    "class_criteria": None,
}
INVESTIGATION = ("root_cause", "impact", "other_batches_affected", "substantiated", "investigated_on")
ASSESSMENT = ("reasonable", "actions", "adr_confirmed", "regulator_report_required", "assessed_on")
EXTENSION = ("id", "kind", "due_on_before", "new_due_on", "reason")

#: the whole complaint (closure, audit-trail review, sales confirmation, void): its content as it stands,
#: not its workflow state, deadlines or who is assigned; CAPAs by number (their progress is signed on the CAPA)
WHOLE_COMPLAINT = {
    "id": None, **{key: None for key in REGISTRATION}, **CLASSIFICATION,
    "product_name": None, "batches": [("id", "batch_no")], "retention_until": None,
    "acknowledgement": ("sent_on", "method", "note"),
    "validity": ("information_complete", "substantiated", "reason"),
    "investigation": INVESTIGATION, "assessment": ASSESSMENT,
    "replies": [("sequence", "replied_on", "summary")],
    "customer_responses": [("received_on", "satisfied", "text")],
    "reminders": [("sent_on", "by_system")],
    "attachments": [("id", "filename", "media_type", "size", "sha256")],
    "investigation_checklist": None,
    "extensions": [EXTENSION + ("status",)],
    "quarantine_requests": [("id", "batch_no", "reason", "status", "requested_on", "answered_on", "quantity",
                             "location")],
}


def project(view: dict, spec: dict) -> dict:
    """The part of ``view`` that ``spec`` names, nothing else."""
    return {key: _take(view.get(key), part) for key, part in spec.items()}


def _take(value, part):
    if part is None or value is None:
        return value
    if isinstance(part, list):
        return [{key: item.get(key) for key in part[0]} for item in value]
    return {key: value.get(key) for key in part}


#: the severity and the extent beside the class (REC-08), in a classification where recorded
GRADING = ("severity", "units_affected", "batches_affected", "markets_affected")


def _classification(view: dict) -> dict:
    """The classification's fields, with the US field-alert screening answer (and its two criteria) where it was
    asked, and the severity and the extent (REC-08) where graded: added to version 1 only where given, so every
    signature made before they existed stays as it was."""
    content = project(view, CLASSIFICATION)
    if view.get("field_alert") is not None:
        content["field_alert"] = view["field_alert"]
    if view.get("field_alert_mix_up") is not None:  # WF-04: the two criteria, where answered one by one
        content["field_alert_criteria"] = {"mix_up": view["field_alert_mix_up"],
                                           "quality_defect": view["field_alert_quality_defect"]}
    triage = view.get("classification") or {}
    if triage.get("adr_serious") is not None:  # US products with a suspected reaction (WF-03)
        content["adr_triage"] = {"serious": triage["adr_serious"], "unexpected": triage["adr_unexpected"]}
    grading = {key: triage[key] for key in GRADING if triage.get(key) is not None}
    if grading:  # REC-08: the severity and the extent, where graded
        content["grading"] = grading
    return content


def _received_time(view: dict) -> dict:
    """The time of receipt where it was recorded, and the paper original a record was entered from after an outage
    (each added to version 1 only where given, so every signature made before stays as it was)."""
    content = {"received_time": view["received_time"]} if view.get("received_time") else {}
    if view.get("paper_original"):
        content["paper_original"] = view["paper_original"]
    return content


#: the category of the root cause and what human error needs (REC-14), in an investigation where given
ROOT_CAUSE_CATEGORY = ("root_cause_category", "human_error_justification", "causes_examined")
#: the decision whether the investigation extends to other batches or products (REC-11), where recorded
EXTENSION_DECISION = ("extend_to_other_batches", "extension_rationale", "extension_batch_nos", "extension_product_codes")


def _investigation(view: dict) -> dict | None:
    """The investigation's fields, with the recurrence answer (TR-02), the category of the root cause
    (REC-14) and the decision on other batches (REC-11) where given: added to version 1 only where answered, so
    every signature made before they existed stays as it was."""
    content = _take(view.get("investigation"), INVESTIGATION)
    if content is not None and (view.get("investigation") or {}).get("recurring_problem") is not None:
        content["recurring_problem"] = view["investigation"]["recurring_problem"]
    if content is not None:  # REC-14: the category of the root cause, and for human error its justification
        for key in ROOT_CAUSE_CATEGORY:
            if view["investigation"].get(key) is not None:
                content[key] = view["investigation"][key]
    if content is not None and view["investigation"].get("extend_to_other_batches") is not None:
        content["other_batches_decision"] = {key: view["investigation"].get(key) for key in EXTENSION_DECISION}
    return content


#: the triage answers of the validity step (REC-09, WF-02), where they were asked
TRIAGE = ("quality_defect_suspected", "falsification_suspected", "routed_to", "routing_note", "spec_failure_suspected")
#: the head of quality's determination of a possible failure to meet specification (WF-02)
SPEC_FAILURE_DETERMINATION = ("investigation_required", "rationale")


def _triage(view: dict) -> dict:
    """The triage answers, the determination and the items marked not known (REC-02): each added to version 1
    only where recorded, so every signature made before they existed stays as it was."""
    content = {}
    validity = view.get("validity") or {}
    if any(validity.get(key) is not None for key in TRIAGE):
        content["triage"] = {key: validity.get(key) for key in TRIAGE}
    if view.get("spec_failure_determination"):
        content["spec_failure_determination"] = _take(view["spec_failure_determination"], SPEC_FAILURE_DETERMINATION)
    not_known = (view.get("complaint_file") or {}).get("not_known")
    if not_known:
        content["not_known"] = _take(not_known, [("item", "reason")])
    return content


def complaint_snapshot(view: dict, scope: str, subject: str | None = None) -> dict:
    """The canonical content a signature of ``scope`` covers on a complaint. Attachments are only ever
    added, so they count in the whole-complaint scopes (by their hashes), not in the QP's."""
    organisation = (view.get("complainant") or {}).get("organisation")
    if scope == "registration+classification":
        content = {**project(view, {key: None for key in REGISTRATION}), **_classification(view),
                   "organisation": organisation, **_received_time(view)}
        if subject == "investigation":  # SOP 4.2: the QP is told of the investigation too
            content.update(investigation=_investigation(view), checklist=view.get("investigation_checklist"))
        return content
    if scope == "classification+decision":
        content = {"id": view["id"], **_classification(view)}
        if view.get("interim_measures"):  # what the decision decides; added to version 1 only where recorded
            content["interim_measures"] = view["interim_measures"]
        return content
    if scope == "regrading":
        return {"id": view["id"], **_classification(view)}
    if scope == "extension":
        # The request as made; its decision (status) is what the signature brings about, not what it covers.
        extension = next(x for x in view["extensions"] if f"deadline_extension:{x['id']}" == subject)
        return {"complaint": view["intake_ref"], "extension": _take(extension, EXTENSION)}
    if scope == "assessment":
        return {"id": view["id"], **_classification(view), "investigation": _investigation(view),
                "assessment": _take(view.get("assessment"), ASSESSMENT)}
    if scope == "disposal":
        # What was kept and the hashes of what was removed, and why: the tombstone the signature stands behind.
        return {"complaint": view["intake_ref"], "number": view["number"],
                "disposal": _take(view.get("disposal"), ("tombstone", "removed", "reason"))}
    if scope in ("legal_hold", "legal_hold_release"):
        # The hold as placed (and, for its release, why it is released): what blocks or frees disposal.
        hold = next(h for h in view["legal_holds"] if f"legal_hold:{h['id']}" == subject)
        keys = ("id", "reason") + (("release_reason",) if scope == "legal_hold_release" else ())
        return {"complaint": view["intake_ref"], "number": view["number"], "legal_hold": _take(hold, keys)}
    if scope == "reply_report":
        # The report as drafted: its text, for which reply; its approval is what the signature brings about.
        report = next(r for r in view["reply_reports"] if f"reply_report:{r['id']}" == subject)
        return {"complaint": view["intake_ref"], "number": view["number"],
                "reply_report": _take(report, ("id", "sequence", "summary"))}
    if scope == "retention":
        return {"id": view["id"], "number": view["number"], "retention_until": view["retention_until"]}
    if scope == "spec_failure_determination":
        # What the head of quality determined, on which triage: the flag, the validity found and the decision.
        return {"id": view["id"], "intake_ref": view["intake_ref"],
                "validity": _take(view.get("validity"), ("information_complete", "substantiated", "reason")),
                **_triage({"validity": view.get("validity"),
                           "spec_failure_determination": view.get("spec_failure_determination")})}
    if scope not in ("complaint", "complaint+audit_trail", "void"):
        raise ValueError(f"no field list for the scope {scope!r}")
    content = {**project(view, WHOLE_COMPLAINT), **_classification(view), "organisation": organisation,
               "investigation": _investigation(view), "capas": [c["number"] for c in view.get("capas", [])],
               **_received_time(view), **_triage(view)}
    if scope == "void" and subject is not None:
        # The request as made (its reason); its decision is what the signature brings about.
        request = next(x for x in view["void_requests"] if f"void_request:{x['id']}" == subject)
        content["void_request"] = {"id": request["id"], "reason": request["reason"],
                                   "requested_by": _take(request.get("requested_by"), ("id", "username",
                                                                                       "printed_name"))}
    return content


PERSON = ("id", "username", "printed_name")
CAPA_ACTION = ("id", "kind", "description", "owner", "evidence", "implemented_on", "evidence_files")
CAPA_ACTION_DUE = ("id", "kind", "description", "owner", "due_on")
CAPA_ACTION_IN_CAPA = ("id", "kind", "description", "owner", "due_on", "evidence", "implemented_on", "evidence_files")
#: the whole CAPA (effectiveness check, closure): its content, not its status; complaints by id
WHOLE_CAPA = {
    "id": None, "number": None, "source": None, "problem_statement": None, "root_cause": None, "risk": None,
    "effectiveness": ("criteria", "due_on", "result", "evidence", "checked_on"), "follow_up_of": None,
}


def _action(action: dict, keys: tuple) -> dict:
    content = {key: action.get(key) for key in keys}
    if "owner" in content:
        content["owner"] = _take(content["owner"], PERSON)
    if "evidence_files" in content:
        content["evidence_files"] = _take(content["evidence_files"], [("id", "filename", "sha256", "size")])
    if "owner" in content and action.get("external_party"):
        # Added to version 1 only where given (external rectification), so earlier signatures stay as they were.
        content["external_party"] = action["external_party"]
    return content


#: the CAPA plan (ICH Q10 3.2.2, approved before it is carried out): the problem, the actions and who
#: owns them. Not the actions' due dates: a due date moves only by its own signed approval.
CAPA_PLAN = {"id": None, "number": None, "source": None, "problem_statement": None, "root_cause": None, "risk": None,
             "effectiveness": ("criteria", "due_on")}
CAPA_PLAN_ACTION = ("id", "kind", "description", "owner")


#: a source of a CAPA other than a complaint (WF-13): its type and reference
CAPA_SOURCE = ("source_type", "reference")
#: the escalation of a result "not effective" (WF-14): the result it escalates and why
CAPA_ESCALATION = {"id": None, "number": None,
                   "effectiveness": ("criteria", "due_on", "result", "evidence", "checked_on")}
#: the justification that no effectiveness check is needed (WF-14): the problem, the check as planned, the
#: actions as implemented and the justification; not the links, which may still grow
CAPA_WAIVER = {"id": None, "number": None, "problem_statement": None, "root_cause": None, "risk": None,
               "effectiveness": ("criteria", "due_on", "waiver")}


def _capa_plan_additions(view: dict) -> dict:
    """The sources and the change-control answer, added to version 1 only where given (CAPAs planned before
    they existed have neither, so their signatures stay as they were)."""
    added = {}
    if view.get("sources"):
        added["sources"] = _take(view["sources"], [CAPA_SOURCE])
    change_control = view.get("change_control") or {}
    if change_control.get("required") is not None:
        added["change_control"] = _take(change_control, ("required", "reference"))
    return added


def capa_snapshot(view: dict, scope: str, subject: str | None = None) -> dict:
    """What a CAPA signature covers: never the workflow status, so progress supersedes nothing. The plan
    approval covers the plan: an action added later supersedes it, and the new plan is approved again."""
    if scope == "capa_plan":
        return {**project(view, CAPA_PLAN), "complaints": [c["id"] for c in view["complaints"]],
                "actions": [_action(a, CAPA_PLAN_ACTION) for a in view["actions"]], **_capa_plan_additions(view)}
    if scope in ("capa_action", "capa_action_due"):
        action = next(a for a in view["actions"] if f"capa_action:{a['id']}" == subject)
        return {"capa": view["number"], "action": _action(action, CAPA_ACTION_DUE if scope == "capa_action_due"
                                                          else CAPA_ACTION)}
    if scope == "capa_escalation":
        # The escalation with the result it escalates; not the rest of the CAPA, which it does not decide.
        return {**project(view, CAPA_ESCALATION), "escalation": view.get("escalation")}
    if scope == "capa_effectiveness_waiver":
        return {**project(view, CAPA_WAIVER), "actions": [_action(a, CAPA_ACTION_IN_CAPA) for a in view["actions"]]}
    if scope != "capa":
        raise ValueError(f"no field list for the scope {scope!r}")
    content = {**project(view, WHOLE_CAPA), "complaints": [c["id"] for c in view["complaints"]],
               "actions": [_action(a, CAPA_ACTION_IN_CAPA) for a in view["actions"]], **_capa_plan_additions(view)}
    effectiveness = view.get("effectiveness") or {}
    for key in ("early_reason", "waiver"):
        if effectiveness.get(key):  # added to version 1 only where given, so earlier signatures stay as they were
            content["effectiveness"][key] = effectiveness[key]
    return content


#: what the recall decision covers: the proposal as it stands (never its status or clocks)
RECALL = {"id": None, "number": None, "origin": None, "origin_reference": None, "level": None, "depth": None,
          "fda_class": None, "safety_hazard": None, "reason": None, "no_alternative_product": None,
          "supply_impact": None, "mock": None, "batches": [("batch_no", "product_code")], "complaint_ids": None}
RECALL_LINE = ("consignee", "batch_no", "quantity_delivered", "quantity_recovered", "quantity_destroyed",
               "explanation")


RECALL_DISPOSITION = ("batch_no", "decision", "rationale", "test_reference")


def recall_snapshot(view: dict, scope: str, subject: str | None = None) -> dict:
    """What a recall signature covers: the decision covers the proposal; a batch's disposition covers
    that batch's reconciliation and the decision on its stock; the final report adds the decision time,
    the reconciliation of every line, the dispositions, the effectiveness check and the completion."""
    content = project(view, RECALL)
    if view.get("authority_notice_exception"):
        # Added to version 1 only where given: the reason to execute before the EU authorities are told
        # is part of the decision, and every recall signed before it existed stays as it was.
        content["authority_notice_exception"] = view["authority_notice_exception"]
    if view.get("market_actions"):
        # HO-05: the market-specific actions are part of the decision; added to version 1 only where given, so
        # every recall signed before they existed stays as it was.
        content["market_actions"] = _take(view["market_actions"], [("market", "action")])
    if scope == "recall":
        return content
    if scope == "recall_batch":
        batch_no = subject.split(":", 1)[1]
        disposition = next((d for d in view["dispositions"] if d["batch_no"] == batch_no), None)
        return {"recall": view["number"], "batch_no": batch_no,
                "lines": [_take(line, RECALL_LINE) for line in view["reconciliation"] if line["batch_no"] == batch_no],
                "disposition": _take(disposition, RECALL_DISPOSITION)}
    if scope != "recall_final":
        raise ValueError(f"no field list for the scope {scope!r}")
    effectiveness = view.get("effectiveness") or {}
    return {**content, "decided_at": view["decided_at"], "completed_at": view["completed_at"],
            "lines": [_take(line, RECALL_LINE) for line in view["reconciliation"]],
            "dispositions": [_take(d, RECALL_DISPOSITION) for d in view["dispositions"]],
            "effectiveness": {"level": effectiveness.get("level"), "seed": effectiveness.get("seed"),
                              "contacts": [_take(c, ("consignee", "contacted_on", "method", "result"))
                                           for c in effectiveness.get("contacts", [])]}}


#: what the QA head's disposition of returned goods covers: the receipt, the evaluation and the decision
#: (with the receipt's channel, returning party, address and reason where recorded, REC-16)
RETURN_RECEIPT = ("channel", "returning_party", "returning_party_address", "return_reason")
RETURN = {"id": None, "number": None, "complaint_id": None, "batch_no": None, "product_code": None, "consignee": None,
          "quantity_received": None, "condition": None, "received_on": None,
          "evaluation": ("storage_conditions", "sample_result", "test_reference", "other_batches_implicated",
                         "investigation_ref"),
          "disposition": ("decision", "rationale")}


def return_snapshot(view: dict, scope: str, subject: str | None = None) -> dict:
    if scope != "return":
        raise ValueError(f"no field list for the scope {scope!r}")
    content = project(view, RETURN)
    # Added to version 1 only where recorded, so every return disposed of before they existed stays as it was.
    content.update({key: view[key] for key in RETURN_RECEIPT if view.get(key) is not None})
    return content


#: what the approval (or rejection) of a compensation covers: the terms agreed with the customer
COMPENSATION = ("complaint", "sequence", "amount", "currency", "amount_cny", "agreed_on", "finance_reference", "note",
                "required_level")


def compensation_snapshot(view: dict, scope: str, subject: str | None = None) -> dict:
    if scope != "compensation":
        raise ValueError(f"no field list for the scope {scope!r}")
    return _take(view, COMPENSATION)


#: what the QA head's signature on a trend review covers: the signal as it fired and the evaluation
TREND_REVIEW = ("number", "rule", "product_code", "complaint_type", "level", "count", "period_from", "period_to",
                "signal", "evaluation")


def trend_review_snapshot(view: dict, scope: str, subject: str | None = None) -> dict:
    if scope != "trend_review":
        raise ValueError(f"no field list for the scope {scope!r}")
    return _take(view, TREND_REVIEW)


#: what the QA head approves in a quarterly review: the quarter, its frozen figures (by SHA-256), the
#: conclusions and who prepared it
QUARTERLY_REVIEW = ("quarter", "period_from", "period_to", "figures_sha256", "conclusions", "prepared_by")


def quarterly_review_snapshot(view: dict, scope: str, subject: str | None = None) -> dict:
    if scope != "quarterly_review":
        raise ValueError(f"no field list for the scope {scope!r}")
    content = _take(view, QUARTERLY_REVIEW)
    content["prepared_by"] = _take(content["prepared_by"], PERSON)
    return content

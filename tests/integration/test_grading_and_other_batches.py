"""The grading beside the class (REC-08: severity on a fixed scale, extent in units, batches and markets) and the
investigator's decision whether the investigation extends to other batches or products (REC-11; 21 CFR 211.192):
stored, audited, in the complaint JSON, on the page and the handling sheet, covered by the signatures; optional in
the DESIGN §6 bodies, required on the page; a justified complaint is not closed without the decision. A refused act
changes nothing. SQLite and PostgreSQL."""
import re

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token, login
from tests.integration import test_complaints_api
from tests.integration.test_complaints_api import TODAY, assign_investigator, registration
from tests.integration.test_documents import pdf_text
from tests.integration.test_signatures import business_events, classified, sign, waiting_for

#: the fixtures of the API tests: a pinned business date, and a signed-in client per role
settings, api = test_complaints_api.settings, test_complaints_api.api

CONTRACT_INVESTIGATION = {"root_cause": "封口压力偏低", "impact": "仅本批", "other_batches_affected": "B2601、B2603 待查",
                          "substantiated": True}
RATIONALE = "B2601 与 B2603 使用同一批瓶盖，封口工序相同"


def row(app, sql, **params):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(sql), params).one()


def validated(api) -> int:
    cid = api.ok("qa_officer", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    return cid


def state(api, cid):
    """What a refused act must leave as it was: the record (with its version) and its business audit events."""
    return api.get("qa_officer", f"/complaints/{cid}").get_json(), business_events(api, cid)


def classify_body(klass="II", **grading):
    return {"complaint_class": klass, "rationale": "密封缺陷（SOP 3.2）", "adr_suspected": False, **grading}


def under_investigation(api, klass="III") -> int:
    cid = classified(api, klass)
    assign_investigator(api, cid)
    return cid


def changes_of(api, cid, action):
    return [e["changes"] for e in api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
            if e["action"] == action]


def web_client(app, api, role):
    client = app.test_client()
    login(client, *api.credentials[role])
    client.post("/language", data={"csrf_token": csrf_token(client, "/"), "lang": "en", "next": "/"})
    return client


# --- REC-08 ----------------------------------------------------------------------------------------------------


@pytest.mark.req("REC-08")
def test_the_classification_records_severity_and_extent_stored_audited_and_returned(app, api):
    cid = validated(api)
    graded = api.ok("qa_officer", f"/complaints/{cid}/classification", classify_body(
        severity="major", units_affected=240, batches_affected=2, markets_affected=["cn", "US"]))
    assert graded["number"].startswith("TS-II-")
    classification = graded["classification"]
    assert (classification["severity"], classification["units_affected"], classification["batches_affected"],
            classification["markets_affected"]) == ("major", 240, 2, ["CN", "US"])
    assert classification["criteria_version"] and classification["rationale"]  # beside the version and rationale
    [change] = changes_of(api, cid, "complaint.classify")
    assert (change["severity"], change["units_affected"], change["batches_affected"], change["markets_affected"]) == (
        [None, "major"], [None, 240], [None, 2], [None, "CN US"])
    assert row(app, "SELECT severity, units_affected, units_affected_unknown, batches_affected, markets_affected "
                    "FROM complaints WHERE id = :id", id=cid) == ("major", 240, None, 2, "CN US")
    # An extent that could not be established is recorded as unknown, never guessed.
    other = validated(api)
    unknown = api.ok("qa_officer", f"/complaints/{other}/classification", classify_body(
        "I", severity="critical", units_affected="unknown", batches_affected="unknown"))["classification"]
    assert (unknown["units_affected"], unknown["batches_affected"], unknown["markets_affected"]) == (
        "unknown", "unknown", ["CN"])
    assert row(app, "SELECT units_affected, units_affected_unknown, batches_affected, batches_affected_unknown "
                    "FROM complaints WHERE id = :id", id=other) == (None, True, None, True)
    assert api.get("auditor", f"/complaints/{other}").get_json()["classification"]["severity"] == "critical"


@pytest.mark.req("REC-08")
def test_the_contract_body_still_classifies_and_the_extent_defaults_to_the_batches_and_markets(api):
    cid = validated(api)
    plain = api.ok("qa_officer", f"/complaints/{cid}/classification",
                   {"complaint_class": "II", "rationale": "密封缺陷", "adr_suspected": False})
    assert plain["number"].startswith("TS-II-") and plain["status"] == "under_investigation"
    classification = plain["classification"]
    # Not stated: no severity and no units are assumed; the batches and markets are the complaint's and product's.
    assert (classification["severity"], classification["units_affected"], classification["batches_affected"],
            classification["markets_affected"]) == (None, None, 1, ["CN"])


@pytest.mark.req("REC-08")
@pytest.mark.parametrize("body,field", [
    (classify_body("III", severity="critical"), "severity"),
    (classify_body("II", severity="critical"), "severity"),
    (classify_body("I", severity="minor"), "severity"),
    (classify_body("II", severity="fatal"), "severity"),
    (classify_body("II", severity="major", units_affected=-1), "units_affected"),
    (classify_body("II", severity="major", units_affected="many"), "units_affected"),
    (classify_body("II", severity="major", batches_affected=True), "batches_affected"),
    (classify_body("II", severity="major", markets_affected=["USA"]), "markets_affected"),
    (classify_body("II", severity="major", markets_affected=[]), "markets_affected"),
])
def test_a_severity_that_disagrees_with_the_class_or_a_bad_extent_is_400_naming_it_and_issues_no_number(
        app, api, body, field):
    cid = validated(api)
    before = state(api, cid)
    refused = api.post("qa_officer", f"/complaints/{cid}/classification", body)
    assert refused.status_code == 400 and set(refused.get_json()["error"]["fields"]) == {field}
    assert state(api, cid) == before and before[0]["number"] is None
    assert row(app, "SELECT severity, units_affected, markets_affected FROM complaints WHERE id = :id", id=cid) == (
        None, None, None)
    # Escalated one class above the severity (for its extent) is a grading of its own.
    escalated = api.ok("qa_officer", f"/complaints/{cid}/classification", classify_body(
        "I", severity="major", units_affected=120000, markets_affected=["CN", "DE", "US"]))
    assert escalated["number"].startswith("TS-I-") and escalated["classification"]["severity"] == "major"


@pytest.mark.req("REC-08", "REC-05")
def test_a_regrading_keeps_severity_and_class_consistent_and_its_signature_covers_the_grading(app, api):
    cid = validated(api)
    api.ok("qa_officer", f"/complaints/{cid}/classification", classify_body(
        "III", severity="minor", units_affected=12, batches_affected=1))
    regrading = api.signed("qa_head", {"complaint_class": "I", "reason": "同批另有 3 起同类投诉"})
    before, signatures = state(api, cid), row(app, "SELECT count(*) FROM signatures")
    refused = api.post("qa_head", f"/complaints/{cid}/regrading", regrading)
    assert refused.status_code == 400 and set(refused.get_json()["error"]["fields"]) == {"severity"}
    assert state(api, cid) == before and row(app, "SELECT count(*) FROM signatures") == signatures
    regraded = api.ok("qa_head", f"/complaints/{cid}/regrading", {
        **regrading, "severity": "critical", "units_affected": 5000, "batches_affected": 3})
    assert (regraded["complaint_class"], regraded["original_class"]) == ("I", "III")
    graded = regraded["classification"]
    assert (graded["severity"], graded["units_affected"], graded["batches_affected"], graded["markets_affected"]) == (
        "critical", 5000, 3, ["CN"])
    [change] = changes_of(api, cid, "complaint.regrade")
    assert change["severity"] == ["minor", "critical"] and change["units_affected"] == [12, 5000]
    [signature] = [s for s in regraded["signatures"] if s["step"] == "regrading"]
    assert signature["status"] == "valid"
    # The regrading signature covers the severity: a later regrading that changes it supersedes it.
    again = api.ok("qa_head", f"/complaints/{cid}/regrading", api.signed("qa_head", {
        "complaint_class": "II", "reason": "复核后确认仅有潜在影响", "severity": "major"}))
    assert [s["status"] for s in again["signatures"] if s["step"] == "regrading"] == ["superseded", "valid"]


@pytest.mark.req("REC-08")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_classification_page_requires_severity_and_extent_and_shows_them_with_the_handling_sheet(app, api):
    cid = validated(api)
    qa = web_client(app, api, "qa_officer")
    page = qa.get(f"/complaints/{cid}").get_data(as_text=True)
    assert all(f'name="severity" value="{s}"' in page for s in ("critical", "major", "minor"))
    assert 'id="classify-batches_affected" name="batches_affected" type="number" min="0" step="1" value="1"' in page
    assert re.search(r'id="classify-markets_affected" name="markets_affected" type="text" value="CN"', page)
    form = {"csrf_token": csrf_token(qa, f"/complaints/{cid}"), "complaint_class": "II", "rationale": "密封缺陷",
            "adr_suspected": "no", "units_affected": "30", "units_affected_unknown": "yes", "batches_affected": "1",
            "markets_affected": ""}
    refused = qa.post(f"/complaints/{cid}/classify", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    for name in ("severity", "units_affected", "markets_affected"):
        assert html.count(f'id="classify-{name}"') >= 1
    assert 'class="field has-error" id="classify-severity"' in html
    assert re.search(r'class="field has-error"><label for="classify-units_affected"', html)
    assert re.search(r'class="field has-error"><label for="classify-markets_affected"', html)
    assert "Give the number, or tick unknown; not both." in html
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["number"] is None
    done = qa.post(f"/complaints/{cid}/classify", data={**form, "severity": "major", "units_affected": "",
                                                        "markets_affected": "CN, US"})
    assert done.status_code == 302
    stored = api.get("auditor", f"/complaints/{cid}").get_json()["classification"]
    assert (stored["severity"], stored["units_affected"], stored["batches_affected"], stored["markets_affected"]) == (
        "major", "unknown", 1, ["CN", "US"])
    shown = qa.get(f"/complaints/{cid}").get_data(as_text=True)
    grading = re.search(r'<span id="grading">(.*?)</span>', shown).group(1)
    assert grading == ("severity: Major · units affected: unknown · batches affected: 1 · "
                       "markets affected: CN, US · ")
    head = web_client(app, api, "qa_head")
    sheet = pdf_text(head.get(f"/complaints/{cid}/documents/handling_sheet.pdf?lang=en").data)
    assert "severity: Major · units affected: unknown · batches affected: 1 · markets affected: CN, US" in sheet
    # The regrading form states them again and the head of quality signs in the same step.
    regrade = {"csrf_token": csrf_token(head, f"/complaints/{cid}"), "complaint_class": "I", "reason": "扩大到多市场",
               "severity": "minor", "units_affected": "800", "batches_affected": "1", "markets_affected": "CN, US",
               "username": api.credentials["qa_head"][0], "password": api.credentials["qa_head"][1]}
    wrong = head.post(f"/complaints/{cid}/regrade", data=regrade)
    assert wrong.status_code == 400 and 'class="field has-error" id="regrade-severity"' in wrong.get_data(as_text=True)
    assert head.post(f"/complaints/{cid}/regrade", data={**regrade, "severity": "critical"}).status_code == 302
    regraded = api.get("auditor", f"/complaints/{cid}").get_json()
    assert (regraded["complaint_class"], regraded["classification"]["severity"],
            regraded["classification"]["units_affected"]) == ("I", "critical", 800)


# --- REC-11 ----------------------------------------------------------------------------------------------------


@pytest.mark.req("REC-11")
def test_the_investigation_records_the_decision_on_other_batches_stored_audited_and_returned(app, api):
    cid = under_investigation(api)
    recorded = api.ok("investigator", f"/complaints/{cid}/investigation", {
        **CONTRACT_INVESTIGATION, "extend_to_other_batches": True, "extension_batch_nos": ["B2601", "B2603"],
        "extension_rationale": RATIONALE})["investigation"]
    assert (recorded["extend_to_other_batches"], recorded["extension_batch_nos"], recorded["extension_product_codes"],
            recorded["extension_rationale"]) == (True, ["B2601", "B2603"], [], RATIONALE)
    [change] = changes_of(api, cid, "complaint.investigate")
    assert change["extend_to_other_batches"] == [None, True] and change["extension_rationale"] == [None, RATIONALE]
    assert change["extension_batch_nos"] == [None, '["B2601","B2603"]']
    assert row(app, "SELECT extend_to_other_batches, extension_batch_nos FROM complaints WHERE id = :id", id=cid) == (
        True, '["B2601","B2603"]')
    # Through the API the contract body records the investigation without the decision.
    other = under_investigation(api)
    plain = api.ok("investigator", f"/complaints/{other}/investigation", CONTRACT_INVESTIGATION)["investigation"]
    assert (plain["extend_to_other_batches"], plain["extension_rationale"], plain["extension_batch_nos"]) == (
        None, None, [])


@pytest.mark.req("REC-11")
@pytest.mark.parametrize("decision,field", [
    ({"extend_to_other_batches": True, "extension_rationale": RATIONALE}, "extension_batch_nos"),
    ({"extend_to_other_batches": True, "extension_batch_nos": ["B2601"]}, "extension_rationale"),
    ({"extension_rationale": RATIONALE}, "extend_to_other_batches"),
    ({"extend_to_other_batches": False, "extension_rationale": "仅本批", "extension_batch_nos": ["B2601"]},
     "extension_batch_nos"),
    ({"extend_to_other_batches": True, "extension_rationale": RATIONALE, "extension_batch_nos": ["B9999"]},
     "extension_batch_nos"),
    ({"extend_to_other_batches": True, "extension_rationale": RATIONALE, "extension_batch_nos": ["B2602"]},
     "extension_batch_nos"),
    ({"extend_to_other_batches": True, "extension_rationale": RATIONALE, "extension_product_codes": ["P-001"]},
     "extension_product_codes"),
    ({"extend_to_other_batches": True, "extension_rationale": RATIONALE, "extension_product_codes": ["P-404"]},
     "extension_product_codes"),
    ({"extend_to_other_batches": "yes", "extension_rationale": RATIONALE}, "extend_to_other_batches"),
])
def test_an_incomplete_decision_is_400_naming_the_field_and_stores_nothing(app, api, decision, field):
    cid = under_investigation(api)
    before = state(api, cid)
    refused = api.post("investigator", f"/complaints/{cid}/investigation", {**CONTRACT_INVESTIGATION, **decision})
    assert refused.status_code == 400 and set(refused.get_json()["error"]["fields"]) == {field}
    assert state(api, cid) == before and before[0]["investigation"] is None
    assert row(app, "SELECT root_cause, extend_to_other_batches FROM complaints WHERE id = :id", id=cid) == (None, None)


def justified_and_satisfied(api, investigation=CONTRACT_INVESTIGATION) -> int:
    """A complaint assessed reasonable (a defect confirmed; the head of quality signed that no CAPA is needed),
    answered, the customer satisfied, its audit trail reviewed: only the closure is left."""
    cid = under_investigation(api, "II")
    api.ok("investigator", f"/complaints/{cid}/investigation", investigation)
    api.ok("qa_officer", f"/complaints/{cid}/assessment",
           {"reasonable": True, "actions": [], "adr_confirmed": False, "regulator_report_required": False})
    assert sign(api, "qa_head", cid, "capa_not_needed", comment="偶发，已由 CAPA-25-014 覆盖").status_code == 201
    api.ok("qa_officer", f"/complaints/{cid}/replies", {"replied_on": TODAY, "summary": "调查结果"})
    api.ok("intake", f"/complaints/{cid}/customer-responses", {"received_on": TODAY, "satisfied": True, "text": "满意"})
    assert sign(api, "qa_head", cid, "audit_trail_review", comment="已审核").status_code == 201
    return cid


@pytest.mark.req("REC-11")
def test_a_justified_complaint_is_not_closed_while_its_investigation_lacks_the_decision(app, api):
    cid = justified_and_satisfied(api)
    closure = api.signed("qa_head", {"comment": "同意关闭"})
    before, signatures = state(api, cid), row(app, "SELECT count(*) FROM signatures")
    blocked = api.post("qa_head", f"/complaints/{cid}/closure", closure)
    assert blocked.status_code == 409
    assert "extends to other batches or products (REC-11)" in blocked.get_json()["error"]["message"]
    assert state(api, cid) == before and row(app, "SELECT count(*) FROM signatures") == signatures
    assert before[0]["status"] == "closure_pending"
    # The head of quality is not offered a closure that would be refused.
    assert (cid, "closure", None) not in waiting_for(api, "qa_head")
    decided = api.ok("investigator", f"/complaints/{cid}/other-batches-decision", {
        "extend_to_other_batches": False, "extension_rationale": "相邻批次封口记录与留样检查均无异常"})
    assert decided["investigation"]["extend_to_other_batches"] is False
    # The decision adds to the investigation the audit-trail review covered: it is reviewed again, then closed.
    assert [s["status"] for s in decided["signatures"] if s["step"] == "audit_trail_review"] == ["superseded"]
    assert sign(api, "qa_head", cid, "audit_trail_review", comment="已复核").status_code == 201
    assert api.ok("qa_head", f"/complaints/{cid}/closure", closure)["status"] == "closed"


@pytest.mark.req("REC-11")
def test_a_justified_complaint_investigated_with_the_decision_closes(api):
    cid = justified_and_satisfied(api, {**CONTRACT_INVESTIGATION, "extend_to_other_batches": True,
                                        "extension_batch_nos": ["B2603"], "extension_rationale": RATIONALE})
    assert api.ok("qa_head", f"/complaints/{cid}/closure", api.signed("qa_head", {}))["status"] == "closed"


@pytest.mark.req("REC-11")
def test_the_decision_step_after_the_investigation_changes_with_a_reason_and_never_on_a_closed_complaint(
        app, api, uow_factory):
    from audit.integrity import integrity_check

    cid = under_investigation(api)
    decision = {"extend_to_other_batches": True, "extension_batch_nos": ["B2601"], "extension_rationale": RATIONALE}
    before = state(api, cid)
    early = api.post("investigator", f"/complaints/{cid}/other-batches-decision", decision)
    assert early.status_code == 409 and state(api, cid) == before
    api.ok("investigator", f"/complaints/{cid}/investigation", CONTRACT_INVESTIGATION)
    assert sign(api, "qp", cid, "qp_acknowledgement").status_code == 201
    assert sign(api, "qp", cid, "qp_acknowledgement", subject="investigation").status_code == 201
    before = state(api, cid)
    assert api.post("intake", f"/complaints/{cid}/other-batches-decision", decision).status_code == 403
    assert state(api, cid) == before
    first = api.ok("investigator", f"/complaints/{cid}/other-batches-decision", decision)
    assert first["version"] == before[0]["version"] + 1
    # The QP's acknowledgement of the investigation covered it without the decision; the first one did not cover it.
    assert [(s["subject"], s["status"]) for s in first["signatures"]] == [(None, "valid"), ("investigation",
                                                                                         "superseded")]
    before = state(api, cid)
    unexplained = api.post("investigator", f"/complaints/{cid}/other-batches-decision", {
        **decision, "extension_batch_nos": ["B2601", "B2603"]})
    assert unexplained.status_code == 400 and set(unexplained.get_json()["error"]["fields"]) == {"reason"}
    same = api.post("investigator", f"/complaints/{cid}/other-batches-decision", {**decision, "reason": "复核"})
    assert same.status_code == 400 and set(same.get_json()["error"]["fields"]) == {"extend_to_other_batches"}
    assert state(api, cid) == before
    changed = api.ok("qa_officer", f"/complaints/{cid}/other-batches-decision", {
        **decision, "extension_batch_nos": ["B2601", "B2603"], "reason": "B2603 使用同一批瓶盖"})
    assert changed["investigation"]["extension_batch_nos"] == ["B2601", "B2603"]
    events = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    [decided, change] = [e for e in events if e["action"].startswith("complaint.other_batches_decision")
                         or e["action"] == "complaint.other_batches_decided"]
    assert (decided["action"], change["action"], change["reason"]) == (
        "complaint.other_batches_decided", "complaint.other_batches_decision_changed", "B2603 使用同一批瓶盖")
    assert change["changes"]["extension_batch_nos"] == ['["B2601"]', '["B2601","B2603"]']
    assert integrity_check(uow_factory()) == []  # the trail replays to the decision as stored
    # Closed means closed.
    closed = under_investigation(api)
    api.ok("investigator", f"/complaints/{closed}/investigation", CONTRACT_INVESTIGATION)
    api.ok("qa_officer", f"/complaints/{closed}/assessment",
           {"reasonable": False, "actions": [], "adr_confirmed": False, "regulator_report_required": False})
    api.ok("qa_officer", f"/complaints/{closed}/replies", {"replied_on": TODAY, "summary": "答复"})
    api.ok("intake", f"/complaints/{closed}/customer-responses", {"received_on": TODAY, "satisfied": True, "text": "满意"})
    sign(api, "qa_head", closed, "audit_trail_review")
    api.ok("qa_head", f"/complaints/{closed}/closure", api.signed("qa_head", {}))  # not reasonable: no decision needed
    before = state(api, closed)
    late = api.post("investigator", f"/complaints/{closed}/other-batches-decision", decision)
    assert late.status_code == 409 and state(api, closed) == before


@pytest.mark.req("REC-11")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_investigation_page_requires_the_decision_offers_the_adjacent_batches_and_shows_it(app, api):
    cid = under_investigation(api)
    investigator = web_client(app, api, "investigator")
    page = investigator.get(f"/complaints/{cid}").get_data(as_text=True)
    form_html = page.split('id="step-investigate"')[1].split("</form>")[0]
    assert 'name="extend_to_other_batches"' in form_html and 'name="extension_rationale"' in form_html
    assert all(f'name="extension_batch_nos" value="{b}"' in form_html for b in ("B2601", "B2603"))
    form = {"csrf_token": csrf_token(investigator, f"/complaints/{cid}"), **{
        k: v for k, v in CONTRACT_INVESTIGATION.items() if k != "substantiated"}, "substantiated": "yes"}
    refused = investigator.post(f"/complaints/{cid}/investigate", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Say whether the investigation extends to other batches or products (yes or no)." in html
    assert re.search(r'class="field has-error"><label for="investigate-extension_rationale"', html)
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["investigation"] is None
    unnamed = investigator.post(f"/complaints/{cid}/investigate", data={
        **form, "extend_to_other_batches": "yes", "extension_rationale": RATIONALE})
    assert unnamed.status_code == 400 and "Name the batches" in unnamed.get_data(as_text=True)
    done = investigator.post(f"/complaints/{cid}/investigate", data={
        **form, "extend_to_other_batches": "yes", "extension_rationale": RATIONALE,
        "extension_batch_nos": ["B2601", "B2603"]})
    assert done.status_code in (302, 303)
    shown = investigator.get(f"/complaints/{cid}").get_data(as_text=True)
    decision = re.search(r'<span id="other-batches-decision">(.*?)</span>', shown).group(1)
    assert decision == f"Extend the investigation to other batches or products: extended · batches: B2601, B2603 · " \
                       f"{RATIONALE}"
    assert 'id="step-decide_other_batches"' in shown  # to change it, with a reason
    head = web_client(app, api, "qa_head")
    sheet = pdf_text(head.get(f"/complaints/{cid}/documents/handling_sheet.pdf?lang=en").data)
    assert f"extended · batches: B2601, B2603 · {RATIONALE}".replace(" ", "") in sheet.replace(" ", "")
    # Changed on its own form: the reason is asked for.
    change = {"csrf_token": csrf_token(investigator, f"/complaints/{cid}"), "extend_to_other_batches": "no",
              "extension_rationale": "留样检验合格，排除其他批次"}
    unexplained = investigator.post(f"/complaints/{cid}/decide_other_batches", data=change)
    assert unexplained.status_code == 400 and re.search(
        r'class="field has-error"><label for="decision-reason"', unexplained.get_data(as_text=True))
    assert investigator.post(f"/complaints/{cid}/decide_other_batches",
                             data={**change, "reason": "留样检验结果"}).status_code == 302
    assert api.get("auditor", f"/complaints/{cid}").get_json()["investigation"]["extend_to_other_batches"] is False

"""The category of the root cause (REC-14, EU GMP 8.17): human error stands only with its justification and the
confirmation that process, procedure and system causes were examined; otherwise the investigation is refused
naming each missing field and nothing is stored. The category is stored, audited and shown in the API, on the
complaint page and on the handling sheet; the contract body without it still works. SQLite and PostgreSQL."""
import re

import pytest
import sqlalchemy as sa

from tests.integration.test_complaints_api import api, assign_investigator, registration, settings  # noqa: F401
from tests.integration.test_documents import pdf_text
from tests.integration.test_signatures import classified

BASE = {"root_cause": "操作工未按 SOP 复核封口压力", "impact": "仅本批", "other_batches_affected": "B2603 已核查",
        "substantiated": True}
JUSTIFICATION = "封口设备、工艺参数与 SOP 均经核查无缺陷；偏差源于个人未执行复核步骤"
HUMAN_ERROR = {**BASE, "root_cause_category": "human_error", "human_error_justification": JUSTIFICATION,
               "causes_examined": {"process": True, "procedure": True, "system": True}}
CAUSES = {"causes_examined.process", "causes_examined.procedure", "causes_examined.system"}


def rows(app, sql, **params):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(sql), params).all()


def complaint_events(app, cid):
    return rows(app, "SELECT log_index FROM audit_events WHERE entity_type = 'complaint' AND entity_id = :id",
                id=str(cid))


def under_investigation(api):
    cid = classified(api, "III")
    assign_investigator(api, cid)
    return cid


@pytest.mark.req("REC-14")
def test_human_error_without_its_justification_and_confirmations_is_refused_naming_each_field(app, api):
    cid = under_investigation(api)
    before, events = api.get("qa_officer", f"/complaints/{cid}").get_json(), complaint_events(app, cid)
    bare = api.post("investigator", f"/complaints/{cid}/investigation", {**BASE, "root_cause_category": "human_error"})
    assert bare.status_code == 400
    assert set(bare.get_json()["error"]["fields"]) == {"human_error_justification", *CAUSES}
    partial = api.post("investigator", f"/complaints/{cid}/investigation", {
        **HUMAN_ERROR, "human_error_justification": "  ", "causes_examined": {"process": True, "procedure": False}})
    assert partial.status_code == 400
    assert set(partial.get_json()["error"]["fields"]) == {
        "human_error_justification", "causes_examined.procedure", "causes_examined.system"}
    # Nothing stored: the complaint, its version and its audit trail are as they were.
    after = api.get("qa_officer", f"/complaints/{cid}").get_json()
    assert (after["status"], after["version"], after["investigation"]) == (before["status"], before["version"], None)
    assert complaint_events(app, cid) == events
    assert rows(app, "SELECT root_cause_category, human_error_justification FROM complaints WHERE id = :id",
                id=cid) == [(None, None)]

    recorded = api.ok("investigator", f"/complaints/{cid}/investigation", HUMAN_ERROR)["investigation"]
    assert (recorded["root_cause_category"], recorded["human_error_justification"], recorded["causes_examined"]) == (
        "human_error", JUSTIFICATION, {"process": True, "procedure": True, "system": True})
    read = api.get("auditor", f"/complaints/{cid}").get_json()["investigation"]
    assert read["root_cause_category"] == "human_error" and read["causes_examined"]["system"] is True
    [change] = [e["changes"] for e in api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
                if e["action"] == "complaint.investigate"]
    assert change["root_cause_category"] == [None, "human_error"]
    assert change["human_error_justification"] == [None, JUSTIFICATION]
    assert {k: change[f"causes_examined_{k}"] for k in ("process", "procedure", "system")} == {
        "process": [None, True], "procedure": [None, True], "system": [None, True]}


@pytest.mark.req("REC-14")
def test_the_database_itself_refuses_human_error_without_its_justification(app, api):
    cid = under_investigation(api)
    api.ok("investigator", f"/complaints/{cid}/investigation", HUMAN_ERROR)
    for change in ("human_error_justification = NULL", "causes_examined_system = false",
                   "causes_examined_procedure = NULL"):
        with pytest.raises(sa.exc.IntegrityError):
            with app.extensions["gmp_engine"].begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(sa.text("SELECT set_config('gmp.tx', 'test', true)"))
                connection.execute(sa.text(f"UPDATE complaints SET {change} WHERE id = :id"), {"id": cid})
    assert rows(app, "SELECT human_error_justification, causes_examined_procedure, causes_examined_system "
                     "FROM complaints WHERE id = :id", id=cid) == [(JUSTIFICATION, True, True)]


def test_the_contract_body_and_other_categories_need_no_justification(api):
    cid = under_investigation(api)
    plain = api.ok("investigator", f"/complaints/{cid}/investigation", BASE)
    assert plain["investigation"]["root_cause"] == BASE["root_cause"]
    assert (plain["investigation"]["root_cause_category"], plain["investigation"]["causes_examined"]) == (None, None)
    other = under_investigation(api)
    unknown = api.post("investigator", f"/complaints/{other}/investigation", {**BASE, "root_cause_category": "fate"})
    assert unknown.status_code == 400 and set(unknown.get_json()["error"]["fields"]) == {"root_cause_category"}
    equipment = api.ok("investigator", f"/complaints/{other}/investigation",
                       {**BASE, "root_cause_category": "equipment"})["investigation"]
    assert (equipment["root_cause_category"], equipment["human_error_justification"]) == ("equipment", None)


@pytest.mark.req("REC-14")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_investigation_form_asks_for_the_justification_and_the_three_confirmations(app, api):
    from tests.conftest import STRONG_PASSWORD, csrf_token, login

    cid = under_investigation(api)
    investigator = app.test_client()
    login(investigator, "zhang.wei", STRONG_PASSWORD)
    investigator.post("/language", data={"csrf_token": csrf_token(investigator, "/"), "lang": "en", "next": "/"})
    page = investigator.get(f"/complaints/{cid}").get_data(as_text=True)
    assert 'name="root_cause_category"' in page and 'name="human_error_justification"' in page
    assert all(f'name="causes_examined.{c}"' in page for c in ("process", "procedure", "system"))
    form = {"csrf_token": csrf_token(investigator, f"/complaints/{cid}"), "root_cause": BASE["root_cause"],
            "impact": BASE["impact"], "other_batches_affected": BASE["other_batches_affected"], "substantiated": "yes",
            "root_cause_category": "human_error", "causes_examined.process": "yes", "extend_to_other_batches": "no",
            "extension_rationale": "个人未执行复核步骤，仅涉及本批"}
    refused = investigator.post(f"/complaints/{cid}/investigate", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert re.search(r'class="field has-error"><label for="human_error_justification"', html)
    for cause, flagged in (("process", False), ("procedure", True), ("system", True)):
        marked = re.search(rf'class="field has-error"><label class="check"><input type="checkbox" '
                           rf'id="causes_examined_{cause}"', html)
        assert bool(marked) is flagged, cause
    assert "Confirm that system causes were examined before concluding human error." in html
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["investigation"] is None
    done = investigator.post(f"/complaints/{cid}/investigate", data={
        **form, "human_error_justification": JUSTIFICATION, "causes_examined.procedure": "yes",
        "causes_examined.system": "yes"})
    assert done.status_code in (302, 303)
    shown = investigator.get(f"/complaints/{cid}").get_data(as_text=True)
    assert re.search(r'id="root-cause-category">Root cause category: Human error<', shown)
    assert JUSTIFICATION in shown and "System causes were examined: yes" in shown
    head = app.test_client()
    login(head, "liu.yang", STRONG_PASSWORD)
    sheet = pdf_text(head.get(f"/complaints/{cid}/documents/handling_sheet.pdf?lang=en").data)
    assert "Root cause category Human error" in sheet and JUSTIFICATION.replace(" ", "") in sheet.replace(" ", "")
    assert "Procedure causes were examined: yes" in sheet

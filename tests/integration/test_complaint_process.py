"""The rest of the complaint process through /api/v1: class criteria as versioned master data, time
limits as configuration with extensions, the SOP 5.4 checklist and quarantine requests, owners and
"mine", batch corrections with retention, and refused deletion. SQLite and PostgreSQL."""
import pytest
import sqlalchemy as sa

from tests.integration.test_complaints_api import TODAY, api, assign_investigator, registration, settings  # noqa: F401 (fixtures)


def classified(api, **classification):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    body = {"complaint_class": "II", "rationale": "密封缺陷", "adr_suspected": False, **classification}
    return cid, api.ok("qa_officer", f"/complaints/{cid}/classification", body)


def count(app, table: str) -> int:
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


@pytest.mark.req("REC-08")
def test_classification_records_the_criteria_of_the_version_in_force(api):
    listing = api.get("qa_officer", "/class-criteria").get_json()
    assert listing["in_force"] == "SOP-3/1"
    sop = listing["versions"][0]["criteria"]
    assert {c["complaint_class"] for c in sop} == {"I", "II", "III"}
    assert any(c["code"] == "II.seal_defect" and c["text_zh"] == "密封缺陷" for c in sop)
    _, complaint = classified(api, criteria=["II.seal_defect"])
    assert complaint["classification"]["criteria_version"] == "SOP-3/1"
    assert complaint["class_criteria"] == ["II.seal_defect"]


@pytest.mark.req("REC-08", "VAL-03")
@pytest.mark.parametrize("criteria, message", [(["I.contamination"], "another class"), (["II.nonsense"], "Not a criterion")])
def test_a_criterion_of_another_class_or_unknown_is_refused_and_nothing_is_numbered(api, criteria, message):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    response = api.post("qa_officer", f"/complaints/{cid}/classification",
                        {"complaint_class": "II", "rationale": "r", "adr_suspected": False, "criteria": criteria})
    assert response.status_code == 400
    assert message in " ".join(response.get_json()["error"]["fields"]["criteria"])
    after = api.get("qa_officer", f"/complaints/{cid}").get_json()
    assert after["number"] is None and after["status"] == "registered"


@pytest.mark.req("AT-10", "REC-08")
def test_a_new_criteria_version_is_published_by_the_qa_head_never_retroactively(api):
    body = {"version": "SOP-3/2", "effective_from": TODAY, "reason": "SOP revision 2 (change control CC-26-014)",
            "change_control_ref": "CC-26-014", "criteria": [{"complaint_class": "I", "code": "I.any", "text_zh": "危及生命", "text_en": "Life-threatening"},
                         {"complaint_class": "II", "code": "II.any", "text_zh": "潜在影响", "text_en": "Potential"},
                         {"complaint_class": "III", "code": "III.any", "text_zh": "无危害", "text_en": "No hazard"}]}
    assert api.post("qa_officer", "/class-criteria", body).status_code == 403
    early = api.post("qa_head", "/class-criteria", {**body, "effective_from": "2026-11-01"})
    assert early.status_code == 400 and "effective_from" in early.get_json()["error"]["fields"]
    missing_class = api.post("qa_head", "/class-criteria", {**body, "criteria": body["criteria"][:2]})
    assert missing_class.status_code == 400
    no_ref = api.post("qa_head", "/class-criteria", {k: v for k, v in body.items() if k != "change_control_ref"})
    assert no_ref.status_code == 400 and list(no_ref.get_json()["error"]["fields"]) == ["change_control_ref"]
    assert api.get("qa_head", "/class-criteria").get_json()["in_force"] != "SOP-3/2"  # nothing published
    api.ok("qa_head", "/class-criteria", body, 201)
    assert api.post("qa_head", "/class-criteria", body).status_code == 400  # a version is never rewritten
    _, complaint = classified(api, criteria=["II.any"])
    assert complaint["classification"]["criteria_version"] == "SOP-3/2"
    events = api.get("auditor", "/audit/events?entity=class_criteria:SOP-3/2").get_json()["events"]
    assert events[0]["action"] == "class_criteria.published" and "CC-26-014" in events[0]["reason"]
    assert events[0]["changes"]["change_control_ref"] == [None, "CC-26-014"]  # AT-10: in the event itself
    assert "II.any: 潜在影响 / Potential" in events[0]["changes"]["criteria"][1]


@pytest.mark.req("WF-08", "AT-10")
def test_time_limits_are_configuration_changed_with_a_reason_and_audited(app, api, make_user, client):
    _, password = make_user("sys.admin", "admin")
    admin = client.post("/api/v1/auth/token", json={"username": "sys.admin", "password": password}).get_json()["token"]
    api.tokens["admin"] = admin
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    before = api.get("qa_officer", f"/complaints/{cid}").get_json()["deadlines"]["formal_reply_due_on"]
    no_reason = api.post("admin", "/time-limits", {"key": "I.formal_reply", "working_days": 20,
                                                   "change_control_ref": "CC-2026-014"})
    assert no_reason.status_code == 400 and "reason" in no_reason.get_json()["error"]["fields"]
    no_ref = api.post("admin", "/time-limits", {"key": "I.formal_reply", "working_days": 20, "reason": "x"})
    assert no_ref.status_code == 400 and list(no_ref.get_json()["error"]["fields"]) == ["change_control_ref"]
    cc = {"change_control_ref": "CC-2026-014"}
    bad = api.post("admin", "/time-limits", {"key": "I.formal_reply", "working_days": 0, "reason": "x", **cc})
    assert bad.status_code == 400 and "working_days" in bad.get_json()["error"]["fields"]
    assert api.post("admin", "/time-limits", {"key": "IV.reply", "working_days": 3, "reason": "x", **cc}).status_code == 400
    assert api.post("qa_head", "/time-limits", {"key": "I.formal_reply", "working_days": 20, "reason": "x",
                                                **cc}).status_code == 403
    # An unclassified complaint is measured as class I until classified.
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["deadlines"]["formal_reply_due_on"] == before
    limits = api.ok("admin", "/time-limits", {"key": "I.formal_reply", "working_days": 20,
                                              "reason": "Management review 2026: 15 days not achievable",
                                              "change_control_ref": "CC-2026-014"})
    assert {"key": "I.formal_reply", "working_days": 20, "default": 15} in limits["time_limits"]
    after = api.get("qa_officer", f"/complaints/{cid}").get_json()["deadlines"]["formal_reply_due_on"]
    assert after > before
    event = api.get("auditor", "/audit/events?entity=configuration:time_limits").get_json()["events"][-1]
    assert event["action"] == "configuration.time_limit_changed" and event["actor"]["name"]
    old, new = event["changes"]["time_limits"]
    assert "I.formal_reply=15" in old and "I.formal_reply=20" in new
    assert event["changes"]["change_control_ref"] == [None, "CC-2026-014"]


@pytest.mark.req("WF-08")
def test_an_extension_is_requested_with_a_reason_and_waits_for_the_qa_head(api):
    cid, complaint = classified(api)
    due = complaint["deadlines"]["investigation_due_on"]
    assert api.post("qa_officer", f"/complaints/{cid}/extension-requests",
                    {"kind": "investigation", "new_due_on": "2026-12-31"}).status_code == 400
    early = api.post("investigator", f"/complaints/{cid}/extension-requests",
                     {"kind": "investigation", "new_due_on": due, "reason": "稳定性试验"})
    assert early.status_code == 400 and "new_due_on" in early.get_json()["error"]["fields"]
    done = api.post("qa_officer", f"/complaints/{cid}/extension-requests",
                    {"kind": "classification", "new_due_on": "2026-12-31", "reason": "x"})
    assert done.status_code == 409  # classification is done: nothing to extend
    result = api.ok("investigator", f"/complaints/{cid}/extension-requests",
                    {"kind": "investigation", "new_due_on": "2026-12-31", "reason": "留样加速稳定性试验需 4 周"})
    assert result["extensions"] == [{"id": result["extensions"][0]["id"], "kind": "investigation",
                                     "due_on_before": due, "new_due_on": "2026-12-31",
                                     "reason": "留样加速稳定性试验需 4 周", "status": "requested"}]
    assert result["deadlines"]["investigation_due_on"] == due  # not in force before approval
    again = api.post("investigator", f"/complaints/{cid}/extension-requests",
                     {"kind": "investigation", "new_due_on": "2027-01-15", "reason": "y"})
    assert again.status_code == 409
    assert api.post("intake", f"/complaints/{cid}/extension-requests",
                    {"kind": "investigation", "new_due_on": "2027-01-15", "reason": "y"}).status_code == 403


@pytest.mark.req("REC-13", "REC-15")
def test_the_investigation_records_the_sop_checklist_and_a_reinvestigation_adds_to_it(api):
    cid, _ = classified(api)
    base = {"root_cause": "封口压力偏低", "impact": "仅本批", "other_batches_affected": "B2603 已核查", "substantiated": True}
    assign_investigator(api, cid)
    bad = api.post("investigator", f"/complaints/{cid}/investigation",
                   {**base, "checklist": {"site_visit": {"outcome": "not_applicable", "note": ""},
                                          "teleport": {"outcome": "done", "note": "x"},
                                          "carrier": {"outcome": "maybe", "note": "x"}}})
    assert bad.status_code == 400
    assert set(bad.get_json()["error"]["fields"]) == {"checklist.site_visit", "checklist.teleport", "checklist.carrier"}
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["investigation"] is None
    assign_investigator(api, cid)
    first = api.ok("investigator", f"/complaints/{cid}/investigation", {**base, "checklist": {
        "batch_records": {"outcome": "done", "note": "批生产记录 B2602 无偏差"},
        "site_visit": {"outcome": "not_applicable", "note": "照片足以判断"}}})
    assert list(first["investigation_checklist"]) == ["batch_records", "site_visit"]
    assign_investigator(api, cid)
    second = api.ok("investigator", f"/complaints/{cid}/investigation", {**base, "checklist": {
        "sample_vs_retained": {"outcome": "done", "note": "退回样品与留样对比：封口扭矩低"}}})
    assert list(second["investigation_checklist"]) == ["batch_records", "sample_vs_retained", "site_visit"]


def test_quarantine_of_the_complained_and_adjacent_batches_is_requested_and_answered(app, api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    assert api.post("investigator", f"/complaints/{cid}/quarantine-requests",
                    {"batch_nos": ["B2602"], "reason": "r"}).status_code == 409  # not under investigation yet
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    api.ok("qa_officer", f"/complaints/{cid}/classification", {"complaint_class": "II", "rationale": "r",
                                                                "adr_suspected": False})
    assert api.post("intake", f"/complaints/{cid}/quarantine-requests",
                    {"batch_nos": ["B2602"], "reason": "r"}).status_code == 403
    assert api.post("investigator", f"/complaints/{cid}/quarantine-requests",
                    {"batch_nos": ["B9999"], "reason": "r"}).status_code == 400
    result = api.ok("investigator", f"/complaints/{cid}/quarantine-requests",
                    {"batch_nos": ["B2602", "B2603"], "reason": "SOP 5.4.3 本批及相邻批库存隔离"}, 201)
    assert [(q["batch_no"], q["status"]) for q in result["quarantine_requests"]] == [("B2602", "requested"),
                                                                                    ("B2603", "requested")]
    repeat = api.post("investigator", f"/complaints/{cid}/quarantine-requests", {"batch_nos": ["B2602"], "reason": "r"})
    assert repeat.status_code == 400 and count(app, "quarantine_requests") == 2
    first = result["quarantine_requests"][0]["id"]
    path = f"/complaints/{cid}/quarantine-requests/{first}/answer"
    missing = api.post("investigator", path, {"status": "quarantined", "answered_on": TODAY})
    assert missing.status_code == 400 and {"quantity", "location"} <= set(missing.get_json()["error"]["fields"])
    future = api.post("investigator", path, {"status": "no_stock", "answered_on": "2026-12-25"})
    assert future.status_code == 400 and "answered_on" in future.get_json()["error"]["fields"]
    answered = api.ok("investigator", path, {"status": "quarantined", "answered_on": TODAY, "quantity": "120 盒",
                                             "location": "待验区 Q-3"})
    assert answered["quarantine_requests"][0]["status"] == "quarantined"
    assert api.post("investigator", path, {"status": "no_stock", "answered_on": TODAY}).status_code == 409


@pytest.mark.req("WF-12")
def test_owner_and_investigator_are_assigned_never_sales_and_appear_on_my_dashboard(api):
    cid, _ = classified(api)
    sales = api.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": "wang.fang"})
    assert sales.status_code == 400 and "sales" in sales.get_json()["error"]["fields"]["investigator"][0]
    assert api.post("qa_officer", f"/complaints/{cid}/assignment", {"owner": "zhang.wei"}).status_code == 400
    assigned = api.ok("qa_officer", f"/complaints/{cid}/assignment", {"owner": "li.na", "investigator": "zhang.wei"})
    assert assigned["investigator"]["username"] == "zhang.wei" and assigned["owner"]["username"] == "li.na"
    mine = api.get("investigator", "/dashboard?scope=mine").get_json()
    assert [c["id"] for c in mine["due"] + mine["overdue"]] == [cid]
    head_mine = api.get("qa_head", "/dashboard?scope=mine").get_json()
    assert head_mine["due"] + head_mine["overdue"] == []
    head_all = api.get("qa_head", "/dashboard?scope=all").get_json()
    assert [c["id"] for c in head_all["due"] + head_all["overdue"]] == [cid]
    again = api.post("qa_officer", f"/complaints/{cid}/assignment", {"investigator": "li.na"})
    assert again.status_code == 400 and "reason" in again.get_json()["error"]["fields"]


@pytest.mark.req("RET-01", "REC-10", "REC-18")
def test_batch_correction_needs_a_reason_and_moves_retention_later_never_earlier(api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]  # B2602, expires 2028-02-09
    assert api.post("qa_officer", f"/complaints/{cid}/batches", {"batch_nos": ["B2603"]}).status_code == 400
    other = api.post("qa_officer", f"/complaints/{cid}/batches", {"batch_nos": ["B9999"], "reason": "r"})
    assert other.status_code == 400 and "batch_nos" in other.get_json()["error"]["fields"]
    later = api.ok("qa_officer", f"/complaints/{cid}/batches", {"batch_nos": ["B2603"], "reason": "客户补充照片：批号 B2603"})
    assert later["batch_nos"] == ["B2603"] and later["retention_until"] == "2029-03-09"
    earlier = api.ok("qa_officer", f"/complaints/{cid}/batches", {"batch_nos": ["B2601"], "reason": "再次核对批号"})
    assert earlier["retention_until"] == "2029-03-09" and earlier["retention_kept_later"] is True
    events = api.get("auditor", f"/audit/events?entity=complaint:{cid}").get_json()["events"]
    changed = [e for e in events if e["action"] == "complaint.batches_changed"]
    assert [e["reason"] for e in changed] == ["客户补充照片：批号 B2603", "再次核对批号"]
    assert changed[0]["changes"]["retention_until"] == ["2029-02-09", "2029-03-09"]


@pytest.mark.req("RET-02", "AT-04")
def test_deleting_a_complaint_or_attachment_is_refused_with_409_and_audited(app, api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    upload = api.client.post(f"/api/v1/complaints/{cid}/attachments", data={"file": (__import__("io").BytesIO(b"%PDF-1.4 x"), "letter.pdf")},
                             headers={"Authorization": f"Bearer {api.tokens['intake']}"})
    assert upload.status_code == 201
    aid = upload.get_json()["id"]
    headers = {"Authorization": f"Bearer {api.tokens['qa_officer']}"}
    refused = api.client.delete(f"/api/v1/complaints/{cid}", headers=headers)
    assert refused.status_code == 409 and "2029-02-09" in refused.get_json()["error"]["message"]
    assert api.client.delete(f"/api/v1/complaints/{cid}/attachments/{aid}", headers=headers).status_code == 409
    assert api.client.delete(f"/api/v1/complaints/{cid}",
                             headers={"Authorization": f"Bearer {api.tokens['auditor']}"}).status_code == 403
    assert count(app, "complaints") == 1 and count(app, "attachments") == 1
    actions = [e["action"] for e in api.get("auditor", "/audit/events").get_json()["events"]]
    assert "complaint.delete_refused" in actions and "attachment.delete_refused" in actions

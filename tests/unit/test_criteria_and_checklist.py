"""Plain rules: SOP §3 class criteria, time-limit configuration, the SOP 5.4 checklist."""
import pytest

from gmp_complaints.domain.complaints import ComplaintClass, TimeLimits
from gmp_complaints.domain.criteria import (
    SOP_CRITERIA,
    check_criteria,
    check_new_criteria,
    check_time_limit_change,
    default_time_limit_rows,
    timer_configuration,
)
from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.domain.investigation import check_checklist, merged_checklist


@pytest.mark.req("REC-08")
def test_the_sop_criteria_cover_every_class_with_unique_codes():
    check_new_criteria(list(SOP_CRITERIA))
    assert {c.code.split(".")[0] for c in SOP_CRITERIA} == {"I", "II", "III"}
    assert all(c.code.startswith(f"{c.complaint_class.value}.") for c in SOP_CRITERIA)


@pytest.mark.req("REC-08")
def test_selected_criteria_must_belong_to_the_chosen_class_and_come_back_in_sop_order():
    available = list(SOP_CRITERIA)
    assert check_criteria(ComplaintClass.I, ["I.mix_up", "I.contamination", "I.mix_up"], available) == [
        "I.contamination", "I.mix_up"]
    with pytest.raises(ValidationError) as wrong_class:
        check_criteria(ComplaintClass.III, ["I.mix_up"], available)
    assert "criteria" in wrong_class.value.fields
    with pytest.raises(ValidationError):
        check_criteria(ComplaintClass.I, ["I.invented"], available)


@pytest.mark.req("REC-08")
def test_a_new_criteria_version_without_a_class_or_with_duplicates_is_refused():
    with pytest.raises(ValidationError):
        check_new_criteria([c for c in SOP_CRITERIA if c.complaint_class is not ComplaintClass.II])
    with pytest.raises(ValidationError):
        check_new_criteria(list(SOP_CRITERIA) + [SOP_CRITERIA[0]])


@pytest.mark.req("WF-08")
def test_time_limits_default_to_design_values_and_configuration_overrides_them():
    defaults = timer_configuration({})
    assert defaults.per_class[ComplaintClass.I] == TimeLimits(1, 2, 10, 15)
    assert defaults.per_class[ComplaintClass.III] == TimeLimits(3, 5, 20, 30)
    assert (defaults.reminder_after_reply, defaults.closure_after_reminder) == (25, 10)
    assert defaults.quality_report_after_assessment == 1  # SOP 5.6.1: the regulator's report, one working day
    changed = timer_configuration({"II.formal_reply": 25, "closure_after_reminder": 12,
                                   "quality_report_after_assessment": 2})
    assert changed.per_class[ComplaintClass.II].formal_reply == 25 and changed.closure_after_reminder == 12
    assert changed.quality_report_after_assessment == 2
    assert len(default_time_limit_rows()) == 18
    assert defaults.partner_notice_after_classification == 1  # HO-14: the contract partner is told next working day
    assert defaults.field_alert_follow_up == 20  # HO-04: US working days to the next follow-up FAR
    assert defaults.interim_decision_after_class_i == 1  # WF-09: the signed interim decision, next working day
    assert timer_configuration({"interim_decision_after_class_i": 2}).interim_decision_after_class_i == 2


@pytest.mark.req("WF-08", "VAL-03")
@pytest.mark.parametrize("key, days", [("II.formal_reply", 0), ("II.formal_reply", 251), ("II.formal_reply", True),
                                       ("II.formal_reply", "5"), ("IV.formal_reply", 5)])
def test_a_time_limit_out_of_range_or_unknown_is_refused(key, days):
    with pytest.raises(ValidationError):
        check_time_limit_change(key, days)


@pytest.mark.req("REC-13")
def test_the_checklist_needs_a_finding_or_a_reason_for_every_answered_item():
    result = check_checklist({"carrier": {"outcome": "not_applicable", "note": " 未经第三方运输 "},
                              "batch_records": {"outcome": "done", "note": "无偏差"}})
    assert list(result) == ["batch_records", "carrier"] and result["carrier"]["note"] == "未经第三方运输"
    with pytest.raises(ValidationError) as missing_note:
        check_checklist({"site_visit": {"outcome": "not_applicable"}})
    assert list(missing_note.value.fields) == ["checklist.site_visit"]
    with pytest.raises(ValidationError):
        check_checklist(["batch_records"])
    assert check_checklist(None) == {}


@pytest.mark.req("REC-13")
def test_a_reinvestigation_replaces_answered_items_and_keeps_the_others():
    first = {"batch_records": {"outcome": "done", "note": "a"}, "carrier": {"outcome": "not_applicable", "note": "b"}}
    merged = merged_checklist(first, {"carrier": {"outcome": "done", "note": "承运商已调查"}})
    assert merged == {"batch_records": {"outcome": "done", "note": "a"},
                      "carrier": {"outcome": "done", "note": "承运商已调查"}}

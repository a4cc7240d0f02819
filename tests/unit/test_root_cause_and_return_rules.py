"""Plain rules (no database, no Flask): human error as the root cause only with its justification and the
other causes examined (EU GMP 8.17); what a signature covers of the root-cause category and of a return's
receipt."""
import copy

import pytest

from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.domain.investigation import RootCauseCategory, check_root_cause_category
from signatures.binding import canonical_snapshot_hash
from signatures.scopes import complaint_snapshot, return_snapshot

ALL_EXAMINED = {"process": True, "procedure": True, "system": True}
CAUSES = {"causes_examined.process", "causes_examined.procedure", "causes_examined.system"}


def refused(category, justification, examined) -> dict:
    with pytest.raises(ValidationError) as error:
        check_root_cause_category(category, justification, examined)
    return error.value.fields


@pytest.mark.req("REC-14")
def test_human_error_needs_its_justification_and_the_three_causes_confirmed_as_examined():
    assert set(refused(RootCauseCategory.human_error, None, None)) == {"human_error_justification", *CAUSES}
    assert set(refused(RootCauseCategory.human_error, "   ", ALL_EXAMINED)) == {"human_error_justification"}
    # A cause left out or answered false is named, each on its own.
    assert set(refused(RootCauseCategory.human_error, "操作工未复核", {"process": True, "procedure": False})) == {
        "causes_examined.procedure", "causes_examined.system"}
    recorded = check_root_cause_category(RootCauseCategory.human_error, " 操作工未按 SOP 复核 ",
                                         {"system": True, "process": True, "procedure": True})
    assert recorded.category is RootCauseCategory.human_error
    assert recorded.human_error_justification == "操作工未按 SOP 复核"
    assert list(recorded.causes_examined.items()) == [("process", True), ("procedure", True), ("system", True)]


def test_any_other_category_or_none_needs_nothing_more_and_keeps_what_is_given():
    assert check_root_cause_category(None, None, None).category is None
    equipment = check_root_cause_category(RootCauseCategory.equipment, None, {"process": True})
    assert (equipment.human_error_justification, equipment.causes_examined) == (None, {"process": True})
    assert check_root_cause_category(RootCauseCategory.not_determined, None, {}).causes_examined == {}


def test_malformed_confirmations_are_named_whatever_the_category():
    assert set(refused(RootCauseCategory.equipment, None, {"people": True, "system": "yes"})) == {
        "causes_examined.people", "causes_examined.system"}
    assert set(refused(RootCauseCategory.human_error, "x", ["process"])) == {"causes_examined"}


def test_the_category_counts_in_the_investigations_signatures_only_where_recorded():
    view = {"id": 1, "intake_ref": "R-2026-00001", "number": "TS-III-26-001", "complaint_class": "III",
            "original_class": "III", "complainant": {"organisation": "o"}, "classification": {}, "capas": [],
            "investigation": {"root_cause": "r", "impact": "i", "other_batches_affected": "o", "substantiated": True,
                              "investigated_on": "2026-11-20", "root_cause_category": None,
                              "human_error_justification": None, "causes_examined": None}}
    before = {k: v for k, v in view["investigation"].items() if v is not None}
    assert complaint_snapshot(view, "assessment")["investigation"] == before  # as signed before the category
    human = copy.deepcopy(view)
    human["investigation"].update(root_cause_category="human_error", human_error_justification="j",
                                  causes_examined=ALL_EXAMINED)
    for scope in ("assessment", "complaint"):
        assert canonical_snapshot_hash(complaint_snapshot(human, scope)) != \
            canonical_snapshot_hash(complaint_snapshot(view, scope))
    assert complaint_snapshot(human, "assessment")["investigation"]["causes_examined"] == ALL_EXAMINED


def test_a_returns_receipt_details_count_in_its_disposition_signature_only_where_recorded():
    old = {"id": 1, "number": "RT-26-001", "complaint_id": None, "batch_no": "B1", "product_code": "P",
           "product_name": "n", "strength": "s", "dosage_form": "d", "consignee": None, "quantity_received": 3,
           "condition": "c", "received_on": "2026-11-20", "evaluation": None, "disposition": None, "channel": None,
           "returning_party": None, "returning_party_address": None, "return_reason": None}
    assert set(return_snapshot(old, "return")) == {"id", "number", "complaint_id", "batch_no", "product_code",
                                                   "consignee", "quantity_received", "condition", "received_on",
                                                   "evaluation", "disposition"}
    new = {**old, "channel": "pharmacy", "returning_party": "p", "returning_party_address": "a", "return_reason": "r"}
    assert return_snapshot(new, "return")["channel"] == "pharmacy"
    assert canonical_snapshot_hash(return_snapshot({**new, "return_reason": "other"}, "return")) != \
        canonical_snapshot_hash(return_snapshot(new, "return"))

"""The complaint file of REC-02 (no database, no Flask): each item recorded, or marked "not known" with a reason,
before QA approves the closure."""
from dataclasses import replace
from datetime import date

import pytest

from gmp_complaints.domain.complaint_file import (
    ComplaintFileFacts,
    FileItem,
    check_not_known_mark,
    incomplete_file_message,
    missing_complaint_file_items,
)
from gmp_complaints.domain.errors import ConflictError

COMPLETE = ComplaintFileFacts(
    product_name="阿莫西林胶囊", strength="0.25 g", dosage_form="capsule", batch_nos=("B2602",), batch_unknown_reason=None,
    complainant_name="王芳", complainant_phone="13800001234", complainant_email=None, complaint_type="inner_packaging",
    description="瓶盖破裂", received_on=date(2026, 11, 2), replies=(("调查结果", date(2026, 11, 20)),))


@pytest.mark.req("REC-02")
def test_a_complete_file_misses_nothing():
    assert missing_complaint_file_items(COMPLETE) == []


@pytest.mark.req("REC-02")
@pytest.mark.parametrize("change,item", [
    ({"product_name": " "}, FileItem.product_name),
    ({"strength": ""}, FileItem.strength),
    ({"dosage_form": None}, FileItem.dosage_form),
    ({"batch_nos": ()}, FileItem.batch),
    ({"complainant_name": None}, FileItem.complainant_name),
    ({"complainant_phone": None}, FileItem.complainant_contact),
    ({"description": ""}, FileItem.nature),
    ({"complaint_type": None}, FileItem.nature),
    ({"received_on": None}, FileItem.received_on),
    ({"replies": ()}, FileItem.reply),
    ({"replies": (("", date(2026, 11, 20)),)}, FileItem.reply),
    ({"replies": (("调查结果", None),)}, FileItem.reply),
])
def test_each_empty_item_is_missing(change, item):
    assert missing_complaint_file_items(replace(COMPLETE, **change)) == [item]


@pytest.mark.req("REC-02")
def test_either_phone_or_email_is_a_contact_and_a_batch_unknown_with_its_reason_counts():
    assert missing_complaint_file_items(replace(COMPLETE, complainant_phone=None, complainant_email="wf@example.cn")) == []
    assert missing_complaint_file_items(replace(COMPLETE, batch_nos=(), batch_unknown_reason="包装已丢弃")) == []


@pytest.mark.req("REC-02")
def test_an_item_marked_not_known_with_a_reason_is_no_longer_missing_and_the_order_is_that_of_the_requirement():
    anonymous = replace(COMPLETE, complainant_phone=None, strength=None)
    assert missing_complaint_file_items(anonymous) == [FileItem.strength, FileItem.complainant_contact]
    assert missing_complaint_file_items(anonymous, {"complainant_contact": "匿名来电"}) == [FileItem.strength]
    # A mark without a reason is no mark.
    assert missing_complaint_file_items(anonymous, {"complainant_contact": " "}) == [FileItem.strength,
                                                                                   FileItem.complainant_contact]


@pytest.mark.req("REC-02")
def test_only_a_missing_item_is_marked_and_only_once():
    anonymous = replace(COMPLETE, complainant_phone=None)
    check_not_known_mark(FileItem.complainant_contact, anonymous, {})
    with pytest.raises(ConflictError):
        check_not_known_mark(FileItem.complainant_contact, anonymous, {"complainant_contact": "匿名来电"})
    with pytest.raises(ConflictError):
        check_not_known_mark(FileItem.product_name, anonymous, {})


@pytest.mark.req("REC-02")
def test_the_refusal_names_each_missing_item():
    message = incomplete_file_message([FileItem.strength, FileItem.reply])
    assert "Strength" in message and "Reply to the complainant (content and date sent)" in message

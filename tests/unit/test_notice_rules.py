"""Notice rules without a database (WF-10, WF-11): who acknowledges which notice, who is told for a scope of the
responsible officials, how a notice's e-mail fared, and that every kind has its texts in both languages."""
import pytest

from gmp_complaints.domain.errors import ConflictError, PermissionDeniedError
from gmp_complaints.domain.notices import (
    ACKNOWLEDGED_KINDS,
    MAX_DELIVERY_ATTEMPTS,
    NOTICE_KIND_NAMES,
    NOTICE_LABELS,
    NOTICE_MAIL_TEXTS,
    SCOPE_LABELS,
    Delivery,
    NoticeKind,
    OfficialScope,
    check_acknowledgement,
    delivery,
    notice_mail,
    official_recipients,
)


@pytest.mark.req("WF-10")
def test_only_the_person_told_acknowledges_a_notice_that_asks_for_it_and_only_once():
    check_acknowledgement("recall_proposed", recipient_id=7, actor_id=7, acknowledged=False)
    check_acknowledgement("quarantine_requested", recipient_id=7, actor_id=7, acknowledged=False)
    with pytest.raises(PermissionDeniedError):
        check_acknowledgement("recall_proposed", recipient_id=7, actor_id=8, acknowledged=False)
    with pytest.raises(ConflictError):
        check_acknowledgement("recall_proposed", recipient_id=7, actor_id=7, acknowledged=True)
    with pytest.raises(ConflictError):  # the QP acknowledges a complaint by the qp_acknowledgement signature
        check_acknowledgement("complaint_classified", recipient_id=7, actor_id=7, acknowledged=False)


@pytest.mark.req("WF-10")
def test_risk_reducing_actions_and_recalls_ask_for_the_acknowledgement():
    assert {k.value for k in ACKNOWLEDGED_KINDS} == {
        "quarantine_requested", "interim_decision_taken", "recall_proposed", "recall_decided",
        "mock_recall_proposed", "mock_recall_decided"}


@pytest.mark.req("WF-11")
def test_a_scope_with_nobody_designated_goes_to_the_head_of_quality():
    assert official_recipients([], [3, 4]) == [3, 4]
    assert official_recipients([9], [3, 4]) == [9]
    scopes = {"investigations", "returns", "recalls"}
    assert {s.value for s in OfficialScope} == scopes == {s.value for s in SCOPE_LABELS}


@pytest.mark.req("WF-11")
def test_the_delivery_of_a_notice_reads_from_its_outbox_message():
    assert delivery(None, 0, MAX_DELIVERY_ATTEMPTS) is Delivery.not_emailed
    assert delivery("pending", 0, MAX_DELIVERY_ATTEMPTS) is Delivery.pending
    assert delivery("pending", 3, MAX_DELIVERY_ATTEMPTS) is Delivery.retrying
    assert delivery("pending", MAX_DELIVERY_ATTEMPTS, MAX_DELIVERY_ATTEMPTS) is Delivery.failed
    assert delivery("sent", 2, MAX_DELIVERY_ATTEMPTS) is Delivery.sent


def test_every_kind_has_its_page_text_its_name_and_its_mail_in_both_languages():
    for kind in NoticeKind:
        assert kind in NOTICE_LABELS and kind in NOTICE_KIND_NAMES and kind in NOTICE_MAIL_TEXTS
        assert len(kind.value) <= 40  # user_notices.kind
    subject, body = notice_mail(NoticeKind.investigation_conducted, "TS-II-26-001", "https://qa/complaints/1")
    assert subject.startswith("投诉 TS-II-26-001") and "211.198" in subject and "https://qa/complaints/1" in body

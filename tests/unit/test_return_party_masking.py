"""The returning party of returned goods masked like a complainant (SEC-11; no database, no Flask)."""
import pytest

from gmp_complaints.domain.personal_data import RECORDED_ENCRYPTED, masked_audit_changes, masked_returning_party


@pytest.mark.req("SEC-11")
def test_a_patient_returning_goods_keeps_only_the_first_character_of_the_name_and_address():
    assert masked_returning_party("欧阳娜娜", "上海市徐汇区 88 弄 3 号") == {
        "returning_party": "欧***", "returning_party_address": "上***** ** * * *"}


@pytest.mark.req("SEC-11")
def test_an_organisation_is_masked_too_because_the_record_cannot_tell_it_from_a_person():
    assert masked_returning_party("Wang Fang Pharmacy", "12 Jiefang Road")["returning_party"] == "W*** F*** P*******"


@pytest.mark.req("SEC-11")
def test_a_return_recorded_before_the_party_existed_stays_not_recorded():
    assert masked_returning_party(None, None) == {"returning_party": None, "returning_party_address": None}


@pytest.mark.req("SEC-11")
def test_a_returning_party_an_older_event_holds_in_clear_is_masked_in_the_readable_trail():
    changes = {"returning_party": [None, "欧阳娜娜"], "returning_party_address": ["上海市 1 号", "上海市 2 号"],
               "return_reason": [None, "破损"], "quantity_received": [None, 3]}
    assert masked_audit_changes(changes) == {
        "returning_party": [None, "欧***"], "returning_party_address": ["上** * *", "上** * *"],
        "return_reason": [None, "破损"], "quantity_received": [None, 3]}


@pytest.mark.req("SEC-11")
def test_the_marker_of_an_encrypted_field_stays_readable():
    recorded = {"returning_party": [None, RECORDED_ENCRYPTED], "returning_party_address": [None, RECORDED_ENCRYPTED]}
    assert masked_audit_changes(recorded) == recorded

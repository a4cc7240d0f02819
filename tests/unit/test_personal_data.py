"""Complainant personal data: who sees it, masking, and encryption at rest (no database, no Flask)."""
import os
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.fernet import Fernet

from gmp_complaints.config import ConfigurationError
from gmp_complaints.domain.personal_data import (
    ROLES_SEEING_PERSONAL_DATA,
    mask_email,
    mask_name,
    mask_phone,
    mask_text,
    masked_complainant,
    may_see_personal_data,
)
from gmp_complaints.domain.roles import Role
from gmp_complaints.personal_data_crypto import (
    PersonalDataCipher,
    PersonalDataKeyError,
    keys_from_env,
    load_or_create_key_file,
)

KEY_A = Fernet.generate_key()
KEY_B = Fernet.generate_key()


# --- who sees it ---------------------------------------------------------------------------------------------


@pytest.mark.req("SEC-11")
@pytest.mark.parametrize("role", [Role.intake, Role.qa_officer, Role.qa_head])
def test_roles_that_talk_to_the_complainant_see_personal_data(role):
    assert may_see_personal_data({role})
    assert may_see_personal_data([role.value])  # role keys from a token or session work too


@pytest.mark.req("SEC-11")
@pytest.mark.parametrize("roles", [{Role.investigator}, {Role.qp}, {Role.auditor}, {Role.admin},
                                   {Role.investigator, Role.qp}, set(), None])
def test_other_roles_do_not_see_personal_data(roles):
    assert not may_see_personal_data(roles)


@pytest.mark.req("SEC-11")
def test_one_role_that_needs_the_data_is_enough():
    assert may_see_personal_data({Role.investigator, Role.qa_officer})
    assert ROLES_SEEING_PERSONAL_DATA == {Role.intake, Role.qa_officer, Role.qa_head}


# --- masking -------------------------------------------------------------------------------------------------


@pytest.mark.req("SEC-11")
@pytest.mark.parametrize(("name", "masked"), [
    ("王芳", "王*"),
    ("欧阳娜娜", "欧***"),
    ("Wang Fang", "W*** F***"),
    ("  Anna   Maria Schmidt ", "A*** M**** S******"),
    ("J. Smith", "J* S****"),
    ("李", "李"),
    ("", ""),
    (None, None),
])
def test_names_keep_only_the_first_character_of_each_word(name, masked):
    assert mask_name(name) == masked


@pytest.mark.req("SEC-11")
@pytest.mark.parametrize(("phone", "masked"), [
    ("13800001234", "*******1234"),
    ("+86 138-0000-1234", "*********1234"),
    ("021-6123 4567", "*******4567"),
    ("1234", "****"),  # the last four digits would be the whole number
    ("微信 wangfang", "微* ********"),
    (None, None),
])
def test_phone_numbers_keep_only_the_last_four_digits(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.req("SEC-11")
@pytest.mark.parametrize(("email", "masked"), [
    ("wang.fang@example.cn", "w***@example.cn"),
    ("a@hospital.org", "a***@hospital.org"),
    ("not-an-address", "n*************"),
    ("@example.cn", "@**********"),
    (None, None),
])
def test_email_addresses_keep_the_first_character_and_the_domain(email, masked):
    assert mask_email(email) == masked


@pytest.mark.req("SEC-11")
def test_generic_mask_keeps_the_first_character_and_the_blanks():
    assert mask_text("上海市徐汇区 1号") == "上***** **"
    assert mask_text("x") == "x"
    assert mask_text("") == ""


@pytest.mark.req("SEC-11")
def test_masked_complainant_hides_the_person_but_keeps_the_organisation():
    contact = {"name": "王芳", "organisation": "仁和大药房", "phone": "13800001234", "email": "wang.fang@example.cn"}
    masked = masked_complainant(contact)
    assert masked == {"name": "王*", "organisation": "仁和大药房", "phone": "*******1234", "email": "w***@example.cn"}
    assert contact["name"] == "王芳"  # the caller's dict is not changed


@pytest.mark.req("SEC-11")
def test_masked_complainant_treats_unknown_fields_as_personal_and_fills_missing_ones():
    masked = masked_complainant({"name": "Li Na", "address": "88 Nanjing Road", "age": 54})
    assert masked == {"name": "L* N*", "organisation": None, "phone": None, "email": None,
                      "address": "8* ******* ****", "age": None}


# --- encryption at rest --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["王芳", "wang.fang@example.cn", "13800001234", "", "仁和 pharmacy ✓"])
def test_encryption_round_trip(text):
    cipher = PersonalDataCipher([KEY_A])
    token = cipher.encrypt(text)
    assert cipher.decrypt(token) == text
    assert token != text
    if text:
        assert text not in token and text.encode("utf-8").hex() not in token


@pytest.mark.req("SEC-11")
def test_ciphertext_does_not_contain_the_plaintext_and_differs_each_time():
    cipher = PersonalDataCipher([KEY_A])
    first, second = cipher.encrypt("13800001234"), cipher.encrypt("13800001234")
    assert "13800001234" not in first and "王芳" not in cipher.encrypt("王芳")
    assert first != second  # a fresh IV: equal values cannot be recognised in the database


def test_none_stays_none():
    cipher = PersonalDataCipher([KEY_A])
    assert cipher.encrypt(None) is None and cipher.decrypt(None) is None


def test_a_wrong_key_gives_a_clear_error_naming_the_key_setting():
    token = PersonalDataCipher([KEY_A]).encrypt("王芳")
    with pytest.raises(PersonalDataKeyError, match="key is wrong or missing.*GMP_PERSONAL_DATA_KEYS"):
        PersonalDataCipher([KEY_B]).decrypt(token)


@pytest.mark.parametrize("token", ["not a token", "王芳", ""])
def test_a_value_that_is_no_token_gives_the_same_clear_error(token):
    with pytest.raises(PersonalDataKeyError, match="cannot be decrypted"):
        PersonalDataCipher([KEY_A]).decrypt(token)


def test_an_altered_token_is_refused():
    cipher = PersonalDataCipher([KEY_A])
    token = cipher.encrypt("王芳")
    altered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(PersonalDataKeyError):
        cipher.decrypt(altered)


def test_rotation_re_encrypts_with_the_newest_key_and_old_keys_still_decrypt():
    old_token = PersonalDataCipher([KEY_A]).encrypt("王芳")
    rotating = PersonalDataCipher([KEY_B, KEY_A])  # new key in front, old key kept
    assert rotating.decrypt(old_token) == "王芳"
    new_token = rotating.rotate(old_token)
    assert new_token != old_token
    # After rotation the old key can be dropped: the newest key alone reads the value.
    assert PersonalDataCipher([KEY_B]).decrypt(new_token) == "王芳"
    with pytest.raises(PersonalDataKeyError):
        PersonalDataCipher([KEY_A]).decrypt(new_token)


def test_rotating_a_value_no_key_opens_is_a_clear_error():
    token = PersonalDataCipher([KEY_A]).encrypt("王芳")
    with pytest.raises(PersonalDataKeyError, match="wrong or missing"):
        PersonalDataCipher([KEY_B]).rotate(token)


def test_a_cipher_needs_at_least_one_valid_key():
    with pytest.raises(PersonalDataKeyError, match="No personal-data key"):
        PersonalDataCipher([])
    with pytest.raises(PersonalDataKeyError, match="not a Fernet key"):
        PersonalDataCipher([b"too-short"])


def test_key_errors_are_configuration_errors_for_the_cli():
    assert issubclass(PersonalDataKeyError, ConfigurationError)


# --- keys from the environment -------------------------------------------------------------------------------


def test_keys_from_the_environment_are_comma_separated_newest_first():
    keys = keys_from_env(f" {KEY_B.decode()} ,{KEY_A.decode()},")
    assert keys == [KEY_B, KEY_A]
    assert PersonalDataCipher(keys).decrypt(PersonalDataCipher([KEY_A]).encrypt("王芳")) == "王芳"


@pytest.mark.parametrize(("value", "message"), [
    ("", "holds no key"),
    (" , ", "holds no key"),
    ("not-a-key", "GMP_PERSONAL_DATA_KEYS: key 1 of 1 is not a Fernet key"),
    (f"{KEY_A.decode()},zzz", "GMP_PERSONAL_DATA_KEYS: key 2 of 2 is not a Fernet key"),
    ("密钥", "GMP_PERSONAL_DATA_KEYS: key 1 of 1"),
], ids=["empty", "commas", "not-a-key", "second-bad", "not-ascii"])  # KEY_A is new each run: not in an id
def test_bad_environment_keys_are_refused_naming_the_variable(value, message):
    with pytest.raises(PersonalDataKeyError, match=message) as raised:
        keys_from_env(value)
    assert "GMP_PERSONAL_DATA_KEYS" in str(raised.value)
    assert "zzz" not in str(raised.value)  # the key material never goes into a message (or a log)


# --- the key file in the instance folder ---------------------------------------------------------------------


def test_the_key_file_is_created_once_read_only_and_then_reused(tmp_path):
    path = tmp_path / "instance" / "keys" / "personal-data.keys"
    keys = load_or_create_key_file(path)
    assert len(keys) == 1
    Fernet(keys[0])  # a valid key
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert load_or_create_key_file(path) == keys  # not replaced on the next start
    assert [p.name for p in path.parent.iterdir()] == ["personal-data.keys"]  # no temporary file left behind


def test_workers_starting_at_once_agree_on_one_key(tmp_path):
    path = tmp_path / "keys" / "personal-data.keys"
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: load_or_create_key_file(path), range(16)))
    assert all(result == results[0] for result in results)
    assert len(results[0]) == 1


def test_the_key_file_holds_several_keys_newest_first(tmp_path):
    path = tmp_path / "personal-data.keys"
    path.write_bytes(KEY_B + b"\n\n" + KEY_A + b"\n")
    assert load_or_create_key_file(path) == [KEY_B, KEY_A]


@pytest.mark.parametrize(("content", "message"), [(b"", "holds no key"), (b"garbage\n", "line 1 is not a Fernet key")])
def test_a_broken_key_file_is_refused_naming_the_file(tmp_path, content, message):
    path = tmp_path / "personal-data.keys"
    path.write_bytes(content)
    with pytest.raises(PersonalDataKeyError, match=message) as raised:
        load_or_create_key_file(path)
    assert str(path) in str(raised.value)


@pytest.mark.req("SEC-11")
def test_the_key_file_is_not_readable_by_group_or_others(tmp_path):
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        path = tmp_path / "keys" / "personal-data.keys"
        load_or_create_key_file(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0

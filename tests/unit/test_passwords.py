"""Password policy rules, on plain values (no database, no Flask)."""
from datetime import datetime, timedelta, timezone

import pytest

from gmp_complaints.domain.passwords import (
    PasswordPolicy,
    generate_temporary_password,
    password_expired,
    password_problems,
)

POLICY = PasswordPolicy(min_length=12, history_size=5, max_age_days=90)
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


@pytest.mark.req("SEC-05")
def test_accepts_a_long_password_unrelated_to_the_user_name():
    assert password_problems(POLICY, "li.na", "correct-horse-battery") == []


@pytest.mark.req("SEC-05")
def test_refuses_a_password_shorter_than_the_minimum():
    problems = password_problems(POLICY, "li.na", "short-pass1")
    assert problems == ["Use at least 12 characters."]


@pytest.mark.req("SEC-05")
def test_minimum_length_is_configuration():
    assert password_problems(PasswordPolicy(min_length=16), "li.na", "fifteen-chars-x") == ["Use at least 16 characters."]


@pytest.mark.req("SEC-05")
def test_refuses_a_password_containing_the_user_name_in_any_case():
    problems = password_problems(POLICY, "li.na", "my-LI.NA-password-2026")
    assert "The password must not contain the user name." in problems


@pytest.mark.req("SEC-05")
def test_refuses_any_of_the_last_five_passwords_but_not_the_sixth():
    history = [f"hash-of-old-password-{i}" for i in range(6)]  # newest first

    def matches(old_hash, candidate):
        return old_hash == f"hash-of-{candidate}"

    assert password_problems(POLICY, "li.na", "old-password-4", history, matches) == [
        "The password must differ from your last 5 passwords."
    ]
    assert password_problems(POLICY, "li.na", "old-password-5", history, matches) == []


@pytest.mark.req("SEC-05")
def test_password_expires_after_the_configured_age():
    assert not password_expired(POLICY, NOW - timedelta(days=89, hours=23), NOW)
    assert password_expired(POLICY, NOW - timedelta(days=90), NOW)
    assert password_expired(PasswordPolicy(max_age_days=30), NOW - timedelta(days=31), NOW)


def test_problem_messages_keep_their_template_for_translation():
    (problem,) = password_problems(POLICY, "li.na", "too-short")
    assert problem.template == "Use at least %(count)s characters."
    assert problem.params == {"count": 12}


@pytest.mark.req("SIG-07")
def test_temporary_passwords_are_random_and_long_enough():
    passwords = {generate_temporary_password() for _ in range(200)}
    assert len(passwords) == 200
    assert all(len(p.replace("-", "")) == 16 for p in passwords)
    assert not any(c in "0O1lI" for p in passwords for c in p)

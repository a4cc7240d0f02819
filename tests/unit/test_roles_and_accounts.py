"""Role combination and account life-cycle rules (no database, no Flask)."""
from datetime import datetime, timedelta, timezone

import pytest

from gmp_complaints.domain.accounts import (
    FailureCounts,
    LockoutLimits,
    PasswordChangeReason,
    count_failure,
    password_change_reason,
    temporary_password_usable,
)
from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.domain.passwords import PasswordPolicy
from gmp_complaints.domain.roles import SIGNING_ROLES, Role, parse_roles

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


@pytest.mark.req("SEC-02")
def test_roles_are_exactly_those_of_the_design():
    # DESIGN §1
    assert {r.value for r in Role} == {"intake", "qa_officer", "investigator", "qa_head", "qp", "auditor", "admin",
                                       "recall_coordinator", "pv_officer", "regulatory_affairs"}


def test_business_roles_combine():
    assert parse_roles(["qa_officer", "investigator"]) == {Role.qa_officer, Role.investigator}


@pytest.mark.req("SEC-03")
@pytest.mark.parametrize("solitary", ["admin", "auditor"])
@pytest.mark.parametrize("other", ["intake", "qa_officer", "investigator", "qa_head", "qp", "admin", "auditor"])
def test_admin_and_auditor_combine_with_no_other_role(solitary, other):
    if solitary == other:
        assert parse_roles([solitary]) == {Role(solitary)}
        return
    with pytest.raises(ValidationError) as raised:
        parse_roles([solitary, other])
    assert "roles" in raised.value.fields


def test_unknown_and_missing_roles_are_refused_naming_the_field():
    with pytest.raises(ValidationError) as raised:
        parse_roles(["qa_officer", "superuser"])
    assert raised.value.fields["roles"] == ["Unknown role: superuser."]
    with pytest.raises(ValidationError) as raised:
        parse_roles([])
    assert raised.value.fields == {"roles": ["Choose at least one role."]}


@pytest.mark.req("SEC-03")
def test_administrators_and_auditors_never_sign():
    assert Role.admin not in SIGNING_ROLES and Role.auditor not in SIGNING_ROLES
    assert {Role.qa_head, Role.qp, Role.intake} <= SIGNING_ROLES


@pytest.mark.req("SEC-05")
def test_the_fifth_consecutive_failure_locks():
    counts = FailureCounts()
    for _ in range(4):
        outcome = count_failure(counts, LockoutLimits(per_source=5))
        counts = outcome.counts
        assert not outcome.locks_now
    assert count_failure(counts, LockoutLimits(per_source=5)).locks_for_source
    assert count_failure(FailureCounts(), LockoutLimits(per_source=1)).locks_now


@pytest.mark.req("SEC-05")
def test_a_temporary_password_must_be_changed_before_anything_else():
    policy = PasswordPolicy()
    assert password_change_reason(policy, is_temporary=True, changed_at=NOW, now=NOW) is PasswordChangeReason.temporary
    assert password_change_reason(policy, is_temporary=False, changed_at=NOW, now=NOW) is None
    old = NOW - timedelta(days=91)
    assert password_change_reason(policy, is_temporary=False, changed_at=old, now=NOW) is PasswordChangeReason.expired
    assert password_change_reason(policy, is_temporary=False, changed_at=old, now=NOW, exempt_from_expiry=True) is None


@pytest.mark.req("SIG-07")
def test_a_temporary_password_is_usable_only_until_it_expires():
    assert temporary_password_usable(NOW + timedelta(seconds=1), NOW)
    assert not temporary_password_usable(NOW, NOW)

"""Rules of the account life cycle (21 CFR 11.300, Annex 11 §12): lockout and forced changes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gmp_complaints.domain.passwords import PasswordPolicy, password_expired


class PasswordChangeReason(StrEnum):
    temporary = "temporary"
    expired = "expired"


@dataclass(frozen=True)
class FailedLogin:
    failed_count: int
    locks_now: bool


def register_failed_login(failed_count: int, max_failures: int) -> FailedLogin:
    """One more consecutive failure; the account locks when the count reaches the limit."""
    count = failed_count + 1
    return FailedLogin(failed_count=count, locks_now=count >= max_failures)


def password_change_reason(
    policy: PasswordPolicy,
    *,
    is_temporary: bool,
    changed_at: datetime | None,
    now: datetime,
    exempt_from_expiry: bool = False,
) -> PasswordChangeReason | None:
    """Why the user must set a new password before doing anything else, or None."""
    if is_temporary:
        return PasswordChangeReason.temporary
    if not exempt_from_expiry and password_expired(policy, changed_at, now):
        return PasswordChangeReason.expired
    return None


def temporary_password_usable(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is None or now < expires_at

"""Password policy (21 CFR 11.300(b), Annex 11 §12.1): rules on plain values.

Hashing is not here: checking history needs the hasher, which the caller passes in as a function,
so the rules stay free of any library.
"""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

from gmp_complaints.domain.errors import Msg


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 12
    history_size: int = 5
    max_age_days: int = 90


def password_problems(
    policy: PasswordPolicy,
    username: str,
    new_password: str,
    previous_hashes: Iterable[str] = (),
    matches_hash: Callable[[str, str], bool] | None = None,
) -> list[str]:
    """Every rule the new password breaks, as sentences for the user; empty when it is acceptable.

    ``previous_hashes`` are the user's current and earlier hashes, newest first.
    """
    problems = []
    if len(new_password) < policy.min_length:
        problems.append(Msg("Use at least %(count)s characters.", count=policy.min_length))
    if username and username.casefold() in new_password.casefold():
        problems.append(Msg("The password must not contain the user name."))
    if new_password.strip() != new_password or not new_password.strip():
        problems.append(Msg("The password must not start or end with spaces."))
    if matches_hash is not None and policy.history_size:
        recent = list(previous_hashes)[: policy.history_size]
        if any(matches_hash(old, new_password) for old in recent):
            problems.append(Msg("The password must differ from your last %(count)s passwords.", count=policy.history_size))
    return problems


def password_expired(policy: PasswordPolicy, changed_at: datetime | None, now: datetime) -> bool:
    if changed_at is None:
        return True
    return now >= changed_at + timedelta(days=policy.max_age_days)


# Ambiguous characters left out: temporary passwords are read out or copied by hand.
_TEMPORARY_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


def generate_temporary_password(length: int = 16) -> str:
    """A one-time password an administrator hands over; it only allows setting a new one."""
    return "-".join(
        "".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(4)) for _ in range(length // 4)
    )

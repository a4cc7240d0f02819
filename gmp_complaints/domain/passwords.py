"""Password policy (21 CFR 11.300(b), Annex 11 §12.1): rules on plain values.

Hashing is not here: checking history needs the hasher, which the caller passes in as a function.
How guessable a password is comes from zxcvbn (Dropbox's estimator: common-password and word lists, keyboard
patterns, repeats, sequences, dates), whose findings are told to the user in our own words.
"""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

from zxcvbn import zxcvbn

from gmp_complaints.domain.errors import Msg


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 12
    history_size: int = 5
    max_age_days: int = 90
    #: zxcvbn's score (0 to 4) a new password must reach; 3: "safely unguessable" against online attack
    min_strength: int = 3
    #: days a chosen password must be kept before the user changes it again, so that the history cannot be
    #: cycled through at once; not applied to the change forced after an administrator's reset or at first use
    min_age_days: int = 1


#: what zxcvbn found, told in our words (its own English text is neither translated nor always apt)
_WEAKNESS_MESSAGES = {
    "passwords": Msg("It is, or closely resembles, a commonly used password."),
    "user_inputs": Msg("It is built on your user name or your name."),
    "words": Msg("Common words or names on their own are easy to guess."),
    "repeat": Msg("Repeated characters or groups (like 'aaaa' or 'abcabc') are easy to guess."),
    "sequence": Msg("Sequences (like 'abcd' or '1234') are easy to guess."),
    "spatial": Msg("Rows of neighbouring keys (like 'qwerty') are easy to guess."),
    "dates": Msg("Dates and years are easy to guess."),
}

#: zxcvbn reads at most this many characters (it grows slow beyond); longer passwords are judged on their start
_STRENGTH_CHECK_LENGTH = 72


def strength_problems(policy: PasswordPolicy, new_password: str, user_inputs: Iterable[str] = ()) -> list[str]:
    """Why zxcvbn finds the password too easy to guess, or nothing when it reaches ``policy.min_strength``."""
    if policy.min_strength <= 0 or not new_password:
        return []
    inputs = sorted({variant for value in user_inputs if value for variant in _name_variants(value)})
    result = zxcvbn(new_password[:_STRENGTH_CHECK_LENGTH], user_inputs=inputs)
    if result["score"] >= policy.min_strength:
        return []
    problems = [Msg("The password is too easy to guess (strength %(score)s of 4, at least %(minimum)s needed): "
                    "use a longer phrase of uncommon words.", score=result["score"], minimum=policy.min_strength)]
    found = []
    for match in result["sequence"]:
        pattern = match.get("pattern")
        if pattern == "dictionary":
            kind = match.get("dictionary_name")
            key = kind if kind in ("passwords", "user_inputs") else "words"
        elif pattern in ("regex", "date"):
            key = "dates"
        else:
            key = pattern
        if key in _WEAKNESS_MESSAGES and key not in found:
            found.append(key)
    problems.extend(_WEAKNESS_MESSAGES[key] for key in found)
    return problems


def _name_variants(value: str) -> set[str]:
    """A name as it may hide in a password: whole, run together, and each part of three letters or more
    ('zhang.wei' -> 'zhangwei', 'zhang', 'wei'; a two-letter part would match too much by chance)."""
    parts = value.lower().replace(".", " ").replace("-", " ").replace("_", " ").split()
    return {value.lower(), "".join(parts), *(part for part in parts if len(part) >= 3)}


def changeable_from(policy: PasswordPolicy, changed_at: datetime | None, *, is_temporary: bool) -> datetime | None:
    """When the user may next choose a password: None when at once (a temporary password, or no minimum age)."""
    if is_temporary or changed_at is None or policy.min_age_days <= 0:
        return None
    return changed_at + timedelta(days=policy.min_age_days)


def password_problems(
    policy: PasswordPolicy,
    username: str,
    new_password: str,
    previous_hashes: Iterable[str] = (),
    matches_hash: Callable[[str, str], bool] | None = None,
    user_inputs: Iterable[str] = (),
) -> list[str]:
    """Every rule the new password breaks, as sentences for the user; empty when it is acceptable.

    ``previous_hashes`` are the user's current and earlier hashes, newest first; ``user_inputs`` what else is
    known of the person (the printed name), which a password must not be built on.
    """
    problems = []
    if len(new_password) < policy.min_length:
        problems.append(Msg("Use at least %(count)s characters.", count=policy.min_length))
    if username and username.casefold() in new_password.casefold():
        problems.append(Msg("The password must not contain the user name."))
    if new_password.strip() != new_password or not new_password.strip():
        problems.append(Msg("The password must not start or end with spaces."))
    if len(new_password) >= policy.min_length:
        problems.extend(strength_problems(policy, new_password, [username, *user_inputs]))
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

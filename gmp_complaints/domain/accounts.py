"""Rules of the account life cycle (21 CFR 11.300, Annex 11 §12): lockout and forced changes, the two kinds of
account (SEC-01) and who decides a requested change of access (SEC-04)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from gmp_complaints.domain.errors import Msg, PermissionDeniedError, ValidationError
from gmp_complaints.domain.passwords import PasswordPolicy, password_expired
from gmp_complaints.domain.roles import Role


class PasswordChangeReason(StrEnum):
    temporary = "temporary"
    expired = "expired"


# --- lockout per account and per source, and the rate limit per source (SEC-05, issue 19) ----------------------
#
# Failed password checks are counted three ways, for a user name whether or not an account has it (an unknown name
# answers exactly like a known one):
#  - per (user name, source address), consecutive: at ``per_source`` failures the name is locked *for that address*
#    (423), until an administrator unlocks the account. Someone elsewhere cannot lock a user out.
#  - per user name from every address, consecutive: at ``per_account`` failures (higher) the name is locked
#    everywhere (423), until an administrator unlocks it: the answer to an attack spread over many addresses.
#  - per source address over every name, within a window: at ``source_rate`` failures the address gets 429 with
#    Retry-After until the window ends, whatever name it tries (password spraying).
# A right password resets the first two counts (never the third: one valid account must not buy more guesses).


@dataclass(frozen=True)
class LockoutLimits:
    per_source: int = 5
    per_account: int = 25
    source_rate: int = 20
    source_window_minutes: int = 15


@dataclass(frozen=True)
class FailureCounts:
    """The failures counted before this attempt; ``source`` only those within the current window."""

    name_source: int = 0
    name: int = 0
    source: int = 0


class Refusal(StrEnum):
    #: the address tried too many times: 429, nothing checked
    rate_limited = "rate_limited"
    #: the name is locked for this address or everywhere: 423, the password is not looked at
    locked = "locked"


def refusal_before_check(*, locked_for_source: bool, locked_everywhere: bool, source_failures: int,
                         limits: LockoutLimits) -> Refusal | None:
    """Whether an attempt is refused before its password is checked (the same for a known and an unknown name)."""
    if source_failures >= limits.source_rate:
        return Refusal.rate_limited
    if locked_for_source or locked_everywhere:
        return Refusal.locked
    return None


@dataclass(frozen=True)
class FailureOutcome:
    counts: FailureCounts
    #: this failure locks the name for the source address
    locks_for_source: bool
    #: this failure locks the name everywhere
    locks_everywhere: bool
    #: this failure uses up the address's allowance: the next attempts get 429 until the window ends
    limits_source: bool

    @property
    def locks_now(self) -> bool:
        return self.locks_for_source or self.locks_everywhere


def count_failure(before: FailureCounts, limits: LockoutLimits) -> FailureOutcome:
    """One more failed password check on a name from an address."""
    after = FailureCounts(before.name_source + 1, before.name + 1, before.source + 1)
    return FailureOutcome(
        after,
        locks_for_source=before.name_source < limits.per_source <= after.name_source,
        locks_everywhere=before.name < limits.per_account <= after.name,
        limits_source=before.source < limits.source_rate <= after.source,
    )


def window_open(started_at: datetime | None, now: datetime, window_minutes: int) -> bool:
    """Whether a source's counting window that began at ``started_at`` still runs at ``now``."""
    return started_at is not None and now < started_at + timedelta(minutes=window_minutes)


def retry_after_seconds(started_at: datetime, now: datetime, window_minutes: int) -> int:
    """Seconds until a rate-limited address may try again (at least 1, whole seconds rounded up)."""
    remaining = (started_at + timedelta(minutes=window_minutes) - now).total_seconds()
    return max(1, int(-(-remaining // 1)))


# --- how long a session or a token lives (SEC-07, issue 19) -----------------------------------------------------


def session_outlived(created_at: datetime, now: datetime, max_hours: int) -> bool:
    """A browser session ends this long after its log-in, however active it is (absolute lifetime)."""
    return now >= created_at + timedelta(hours=max_hours)


def token_idle(last_used_at: datetime, now: datetime, idle_minutes: int) -> bool:
    """An API token unused this long is refused (idle lock); every use moves ``last_used_at``."""
    return now - last_used_at > timedelta(minutes=idle_minutes)


def normalised_name(username: str | None) -> str:
    """The user name as accounts store it: what the counters are keyed by (at most 64 characters)."""
    return (username or "").strip().lower()[:64]


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


# --- account types (SEC-01) -----------------------------------------------------------------------


class AccountType(StrEnum):
    #: an individual: logs in, holds roles, may sign once enabled
    person = "person"
    #: a system integration (the ERP's master-data feed): API calls for master data only; no web log-in,
    #: no role, never a signature, never a GMP act on complaints, CAPA or recalls
    service = "service"


ACCOUNT_TYPE_LABELS = {
    AccountType.person: Msg("Person"),
    AccountType.service: Msg("Service account (system integration)"),
}


def check_account_roles(account_type: AccountType, roles) -> None:
    """A person holds at least one role (``parse_roles`` checks which); a service account holds none: what it may
    call is fixed (the master-data integration), not granted."""
    if account_type is AccountType.service and roles:
        raise ValidationError(Msg("A service account holds no role."), {"roles": [Msg(
            "A service account holds no role: it may only feed master data (products, batches, distributions).")]})


# --- approval of access changes (SEC-04, Annex 11 §12.3) ----------------------------------------------------


class AccessRequestKind(StrEnum):
    create_user = "create_user"
    change_roles = "change_roles"
    deactivate_user = "deactivate_user"


class AccessRequestStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class AccessDecision(StrEnum):
    approve = "approve"
    reject = "reject"


ACCESS_REQUEST_KIND_LABELS = {
    AccessRequestKind.create_user: Msg("Create an account"),
    AccessRequestKind.change_roles: Msg("Grant or withdraw roles"),
    AccessRequestKind.deactivate_user: Msg("Deactivate an account"),
}

ACCESS_REQUEST_STATUS_LABELS = {
    AccessRequestStatus.pending: Msg("waiting for approval"),
    AccessRequestStatus.approved: Msg("approved"),
    AccessRequestStatus.rejected: Msg("rejected"),
}

#: how an account made at the server is approved: ``gmp create-user`` is the installation's bootstrap, run by the
#: operator at the server's command line, so its creation and its approval are one act (stored as this text)
APPROVED_AT_THE_COMMAND_LINE = Msg("approved at creation by the operator at the server's command line")

#: the role that approves or rejects a change of access (a second person, never the requesting administrator)
ACCESS_APPROVER_ROLE = Role.qa_head


def check_access_decider(*, decider_id: int, decider_roles, requested_by_id: int | None,
                         target_user_id: int | None) -> None:
    """Who may decide a requested change of access: the head of quality, never the person who asked for it and
    never the person whose access it changes."""
    if ACCESS_APPROVER_ROLE not in set(decider_roles):
        raise PermissionDeniedError(Msg("Only the head of quality approves or rejects a change of access."))
    if decider_id == requested_by_id:
        raise PermissionDeniedError(Msg("The person who requested a change of access does not decide it."))
    if target_user_id is not None and decider_id == target_user_id:
        raise PermissionDeniedError(Msg("Another head of quality decides a change of your own access."))


def decided_status(decision: AccessDecision) -> AccessRequestStatus:
    return AccessRequestStatus.approved if decision is AccessDecision.approve else AccessRequestStatus.rejected

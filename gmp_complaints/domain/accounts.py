"""Rules of the account life cycle (21 CFR 11.300, Annex 11 §12): lockout and forced changes, the two kinds of
account (SEC-01) and who decides a requested change of access (SEC-04)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gmp_complaints.domain.errors import Msg, PermissionDeniedError, ValidationError
from gmp_complaints.domain.passwords import PasswordPolicy, password_expired
from gmp_complaints.domain.roles import Role


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

"""Account use cases (21 CFR 11.10(d), 11.100, 11.300; Annex 11 §12).

Each public function is one unit of work: it opens the transaction, applies the rules of
``domain.accounts`` / ``domain.passwords``, records what happened and commits once.

Password checks (``check_credentials``: log-in, API token, password change, idle unlock, every signature) follow
one design, so that nobody learns from outside whether a user name exists and nobody can lock someone else out:

- Same answer for every name. An unknown (or deactivated) name is verified against a real Argon2id hash made once
  per process with exactly the configured parameters, so a wrong password costs the same whether or not the account
  exists; the status and message are the same; and its failures are counted like a known name's (``login_throttles``,
  keyed by the normalised name, never creating a user), so the same 423 and 429 follow after the same number.
- Lockout per name and source address. ``GMP_MAX_FAILED_LOGINS`` (5) consecutive failures on a name from one address
  lock the name for that address (423 there, "account locked"); the person still logs in from their own workstation.
  ``GMP_ACCOUNT_LOCK_FAILURES`` (25) consecutive failures on a name from all addresses lock it everywhere: guessing
  spread over many addresses. Only an administrator unlocks, with a reason; the unlock clears both and ends every
  session and token issued before it. A right password resets the name's counts.
- Rate limit per source address. ``GMP_SOURCE_RATE_LIMIT`` (20) failures from one address within
  ``GMP_SOURCE_RATE_WINDOW_MINUTES`` (15), over any names, and that address gets 429 with ``Retry-After`` until the
  window ends, without a password being checked (spraying one password over many names, or CPU exhaustion).
- The address is the peer's; a forwarded one only behind ``GMP_TRUSTED_PROXIES`` configured proxies (``create_app``).
- Every failure stays an audit event, and the SEC-06 alert reports repeated failures on a name within minutes.
"""
from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gmp_complaints.domain.accounts import (
    APPROVED_AT_THE_COMMAND_LINE,
    AccountType,
    FailureCounts,
    PasswordChangeReason,
    Refusal,
    check_account_roles,
    count_failure,
    normalised_name,
    password_change_reason,
    refusal_before_check,
    retry_after_seconds,
    session_outlived,
    temporary_password_usable,
    token_idle,
    window_open,
)
from gmp_complaints.domain.errors import (
    AccountLockedError,
    AuthenticationError,
    ConflictError,
    Msg,
    NotFoundError,
    PasswordChangeRequiredError,
    PermissionDeniedError,
    TokenIdleError,
    TooManyAttemptsError,
    ValidationError,
)
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.passwords import (
    changeable_from,
    generate_temporary_password,
    password_expired,
    password_problems,
)
from gmp_complaints.domain.roles import Role, parse_roles
from gmp_complaints.models import ApiToken, LoginThrottle, PasswordHistory, User, UserRole, UserSession
from gmp_complaints.uow import UnitOfWork

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
INVALID_CREDENTIALS = Msg("Invalid user name or password.")

ACCOUNT_LOCKED = Msg("The account is locked after repeated failed log-ins. Ask an administrator to unlock it.")
ACCOUNT_LOCKED_NOW = Msg("The account is now locked after repeated failed log-ins. Ask an administrator to unlock it.")

# Argon2id (RFC 9106 second recommended profile). The test environment uses cheaper parameters;
# every hash carries its own parameters, so either verifies the other's.
_PRODUCTION_HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
_TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)

#: a browser session's or token's last use is written at most this often (the idle clocks count minutes)
_LAST_USE_RESOLUTION = timedelta(seconds=30)


def _hasher(uow: UnitOfWork) -> PasswordHasher:
    return _TEST_HASHER if uow.settings.is_test else _PRODUCTION_HASHER


@functools.lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int, hash_len: int, salt_len: int) -> str:
    """A real Argon2id hash of a random password, made once per process with exactly the given parameters."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism,
                            hash_len=hash_len, salt_len=salt_len)
    return hasher.hash(secrets.token_urlsafe(24))


def dummy_hash_for(hasher: PasswordHasher) -> str:
    """What a password is verified against when no account's hash is (an unknown, deactivated or locked name): the
    same work as a known name's wrong password, so the answer's timing tells nothing."""
    return _dummy_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len)


def _matches(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the web and API layers see it; plain values, no lazy loading."""

    id: int
    username: str
    printed_name: str
    roles: frozenset[Role]
    password_change_reason: PasswordChangeReason | None
    #: the browser session went idle and must be unlocked with the password (SEC-07)
    idle_locked: bool = False
    #: a system integration's account (SEC-01): master-data API calls only, never a page, a GMP act or a signature
    is_service: bool = False

    def has_any_role(self, roles) -> bool:
        return bool(self.roles & set(roles))


@dataclass(frozen=True)
class UserCredentials:
    user_id: int
    username: str
    temporary_password: str


@dataclass(frozen=True)
class LoginResult:
    session_token: str
    principal: Principal


def _principal(uow: UnitOfWork, user: User, idle_locked: bool = False) -> Principal:
    reason = password_change_reason(
        uow.settings.password_policy,
        is_temporary=user.password_is_temporary,
        changed_at=user.password_changed_at,
        now=uow.now(),
        exempt_from_expiry=user.is_demo,
    )
    return Principal(user.id, user.username, user.printed_name, user.roles, reason, idle_locked, user.is_service)


def _get_user(uow: UnitOfWork, user_id: int, *, for_update: bool = False) -> User:
    query = sa.select(User).where(User.id == user_id)
    if for_update:
        query = query.with_for_update()
    user = uow.session.scalars(query).one_or_none()
    if user is None:
        raise NotFoundError(Msg("No user with id %(id)s.", id=user_id))
    return user


def _user_by_name(uow: UnitOfWork, username: str) -> User | None:
    username = (username or "").strip().lower()
    return uow.session.scalars(sa.select(User).where(User.username == username).with_for_update()).one_or_none()


def _require_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(Msg("A reason is required."), {"reason": [Msg("Give the reason for this change.")]})
    return reason


def _set_password(uow: UnitOfWork, user: User, new_hash: str, *, temporary: bool) -> None:
    now = uow.now()
    if user.password_hash:
        uow.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, set_at=user.password_changed_at))
    user.password_hash = new_hash
    user.password_changed_at = now
    user.password_is_temporary = temporary
    user.temporary_password_expires_at = (
        now + timedelta(hours=uow.settings.temporary_password_hours) if temporary else None
    )


def _end_sessions_and_tokens(uow: UnitOfWork, user_id: int, reason: str, keep_session_hash: str | None = None) -> None:
    now = uow.now()
    sessions = sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep_session_hash:
        sessions = sessions.where(UserSession.token_hash != keep_session_hash)
    uow.session.execute(sessions.values(ended_at=now, end_reason=reason))
    uow.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason)
    )


# --- administration -------------------------------------------------------------------------

@dataclass(frozen=True)
class NewAccount:
    """The checked fields of an account to create (by ``gmp create-user`` or by an approved access request)."""

    username: str
    printed_name: str
    roles: frozenset[Role]
    account_type: AccountType
    email: str | None
    identity_verified: bool


def checked_new_account(uow: UnitOfWork, *, username: str, printed_name: str, roles, account_type=AccountType.person,
                        email: str | None = None, identity_verified: bool = False,
                        temporary_password: str | None = None) -> NewAccount:
    """The fields of a new account, or ``ValidationError`` naming every bad one. Nothing is read or written."""
    username = (username or "").strip().lower()
    printed_name = " ".join((printed_name or "").split())
    errors: dict[str, list[str]] = {}
    if not USERNAME_PATTERN.match(username):
        errors["username"] = [Msg("3 to 64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.")]
    if len(printed_name) < 2:
        errors["printed_name"] = [Msg("Give the person's full printed name.")]
    elif len(printed_name) > 200:
        errors["printed_name"] = [Msg("At most 200 characters.")]
    try:
        account_type = AccountType(account_type or AccountType.person)
    except ValueError:
        errors["account_type"] = [Msg("person or service.")]
        account_type = AccountType.person
    role_set: frozenset[Role] = frozenset()
    try:
        if account_type is AccountType.service:
            check_account_roles(account_type, list(roles or ()))
        else:
            role_set = parse_roles(roles)
    except ValidationError as exc:
        errors.update(exc.fields)
    if account_type is AccountType.service and identity_verified:
        errors["identity_verified"] = [Msg("A service account never signs: no identity verification is recorded.")]
    try:
        email = _checked_email(email)
    except ValidationError as exc:
        errors.update(exc.fields)
    if temporary_password is not None and len(temporary_password) < uow.settings.password_policy.min_length:
        errors["password"] = [Msg("Use at least %(count)s characters.", count=uow.settings.password_policy.min_length)]
    if errors:
        raise ValidationError(Msg("The user could not be created."), errors)
    return NewAccount(username, printed_name, role_set, account_type, email, identity_verified)


def check_username_free(uow: UnitOfWork, username: str) -> None:
    """Never reused: a deactivated user keeps the name forever (SIG-04)."""
    if uow.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise ValidationError(Msg("User name taken."), {"username": [Msg("This user name exists (or existed) and is never reused.")]})


def new_password_hash(uow: UnitOfWork, password: str) -> str:
    return _hasher(uow).hash(password)


def add_account(uow: UnitOfWork, new: NewAccount, *, password_hash: str, temporary: bool, actor_id: int | None,
                created_by_id: int | None, identity_verified_at: datetime | None = None,
                identity_verified_by_id: int | None = None, is_demo: bool = False, approval: dict | None = None,
                reason: str | None = None) -> User:
    """Add the account inside the caller's unit of work (which commits) and record ``user.created`` with how the
    creation was approved."""
    check_username_free(uow, new.username)
    now = uow.now()
    user = User(
        username=new.username,
        printed_name=new.printed_name,
        password_hash=password_hash,
        password_is_temporary=temporary,
        temporary_password_expires_at=now + timedelta(hours=uow.settings.temporary_password_hours) if temporary else None,
        password_changed_at=now,
        failed_login_count=0,
        is_active=True,
        is_demo=is_demo,
        created_at=now,
        created_by_id=created_by_id,
        identity_verified_at=identity_verified_at,
        identity_verified_by_id=identity_verified_by_id,
        role_rows=[UserRole(role=role.value) for role in sorted(new.roles)],
        email=new.email,
        account_type=new.account_type.value,
    )
    uow.session.add(user)
    uow.session.flush()
    uow.record(DomainEvent(
        "user.created", "user", str(user.id),
        {
            "username": [None, new.username],
            "printed_name": [None, new.printed_name],
            "roles": [None, sorted(new.roles)],
            "identity_verified": [None, identity_verified_at is not None],
            "is_demo": [None, is_demo],
            "account_type": [None, new.account_type.value],
            **(approval or {}),
        },
        reason=reason, actor_id=actor_id,
    ))
    return user


def create_user(
    uow: UnitOfWork,
    *,
    actor_id: int | None,
    username: str,
    printed_name: str,
    roles,
    temporary_password: str | None = None,
    identity_verified: bool = False,
    is_demo: bool = False,
    email: str | None = None,
    account_type: str = AccountType.person.value,
) -> UserCredentials:
    """Create an account at the server (``gmp create-user``, ``gmp demo``): the installation's bootstrap, run by
    the operator, so it is recorded as approved at creation by the command line. An administrator in the pages or
    the API requests a new account instead, and the head of quality approves it (``access_requests``, SEC-04).

    Without ``temporary_password`` the system generates one; either way the administrator never
    knows a usable password (SIG-07).
    """
    if actor_id is not None:
        raise ConflictError(Msg("An administrator requests a new account; it exists once the head of quality "
                                "approves the request."))
    new = checked_new_account(uow, username=username, printed_name=printed_name, roles=roles,
                              account_type=account_type, email=email, identity_verified=identity_verified,
                              temporary_password=temporary_password)
    with uow:
        password = temporary_password or generate_temporary_password()
        now = uow.now()
        user = add_account(uow, new, password_hash=_hasher(uow).hash(password), temporary=not is_demo,
                           actor_id=None, created_by_id=None,
                           identity_verified_at=now if new.identity_verified else None, is_demo=is_demo,
                           approval={"approval": [None, str(APPROVED_AT_THE_COMMAND_LINE)]})
        uow.commit()
        return UserCredentials(user.id, user.username, password)


def _checked_email(email: str | None) -> str | None:
    """The address where a person's notices are e-mailed; blank means none."""
    from gmp_complaints.services import schemas

    return schemas.load(schemas.UserEmail, {"email": email or None})["email"]


def change_email(uow: UnitOfWork, *, actor_id: int, user_id: int, email: str | None, reason: str) -> None:
    """The administrator sets or clears the address a person's notices go to, with a reason."""
    email = _checked_email(email)
    reason = _require_reason(reason)
    with uow:
        user = _get_user(uow, user_id, for_update=True)
        if not user.is_active:
            raise ConflictError(Msg("A deactivated user's address is not changed."))
        if user.email == email:
            raise ValidationError(Msg("Nothing changed."), {"email": [Msg("The user already has this address.")]})
        user.email = email
        uow.record(DomainEvent("user.email_changed", "user", str(user.id), reason=reason, actor_id=actor_id))
        uow.commit()


def user_for_change(uow: UnitOfWork, user_id: int) -> User:
    """The account whose access is to change, locked for the rest of the unit of work."""
    return _get_user(uow, user_id, for_update=True)


def check_role_change(uow: UnitOfWork, user: User, role_set: frozenset[Role], *, requested_by_id: int | None) -> None:
    """Whether ``user``'s roles may become ``role_set`` now (at the request and again at the approval)."""
    if not user.is_active:
        raise ConflictError(Msg("A deactivated user's roles cannot be changed."))
    if user.is_service:
        raise ValidationError(Msg("A service account holds no role."), {"roles": [Msg(
            "A service account holds no role: it may only feed master data (products, batches, distributions).")]})
    if user.roles == role_set:
        raise ValidationError(Msg("Nothing changed."), {"roles": [Msg("The user already has exactly these roles.")]})
    if user.id == requested_by_id:
        raise ConflictError(Msg("Administrators cannot change their own roles."))
    if Role.admin in user.roles and Role.admin not in role_set and _active_admin_count(uow) <= 1:
        raise ConflictError(Msg("The last active administrator keeps the administrator role."))


def apply_role_change(uow: UnitOfWork, user: User, role_set: frozenset[Role], *, actor_id: int, reason: str,
                      approval: dict) -> None:
    """Grant and withdraw roles as approved, inside the caller's unit of work."""
    before = user.roles
    user.role_rows = [UserRole(role=role.value) for role in sorted(role_set)]
    uow.record(DomainEvent(
        "user.roles_changed", "user", str(user.id),
        {"roles": [sorted(before), sorted(role_set)], **approval}, reason=reason, actor_id=actor_id,
    ))


def check_deactivation(uow: UnitOfWork, user: User, *, requested_by_id: int | None) -> None:
    """Whether ``user`` may be deactivated now (at the request and again at the approval)."""
    if not user.is_active:
        raise ConflictError(Msg("The user is already deactivated."))
    if user.id == requested_by_id:
        raise ConflictError(Msg("Administrators cannot deactivate their own account."))
    if Role.admin in user.roles and _active_admin_count(uow) <= 1:
        raise ConflictError(Msg("The last active administrator cannot be deactivated."))


def apply_deactivation(uow: UnitOfWork, user: User, *, actor_id: int, reason: str, approval: dict) -> None:
    """Deactivation instead of deletion, as approved: history and signatures stay attributable (SEC-08); every
    session and token of the user ends at once."""
    user.is_active = False
    user.deactivated_at = uow.now()
    _end_sessions_and_tokens(uow, user.id, "deactivated")
    uow.record(DomainEvent(
        "user.deactivated", "user", str(user.id), {"is_active": [True, False], **approval}, reason=reason,
        actor_id=actor_id,
    ))


def _active_admin_count(uow: UnitOfWork) -> int:
    return uow.session.scalar(
        sa.select(sa.func.count()).select_from(User).join(UserRole)
        .where(User.is_active.is_(True), UserRole.role == Role.admin.value)
    )


def unlock_user(uow: UnitOfWork, *, actor_id: int, user_id: int, reason: str) -> None:
    reason = _require_reason(reason)
    with uow:
        user = _get_user(uow, user_id, for_update=True)
        locked_sources = _locked_sources(uow, user.username)
        if not user.is_locked and not locked_sources:
            raise ConflictError(Msg("The account is not locked."))
        user.locked_at = None
        user.failed_login_count = 0
        uow.session.execute(sa.delete(LoginThrottle).where(
            LoginThrottle.name == user.username, LoginThrottle.scope.in_(("name", "name_source"))))
        # Whoever got in before the lock (the reason it was locked, perhaps) does not stay in after it.
        _end_sessions_and_tokens(uow, user.id, "unlocked")
        changes = {"locked": [True, False]}
        if locked_sources:
            changes["locked_for_addresses"] = [" ".join(sorted(s or "-" for s in locked_sources)), None]
        uow.record(DomainEvent("user.unlocked", "user", str(user.id), changes, reason=reason, actor_id=actor_id))
        uow.commit()


def _locked_sources(uow: UnitOfWork, username: str) -> list[str]:
    """The addresses a user name is locked for (not counting a lock everywhere)."""
    return list(uow.session.scalars(sa.select(LoginThrottle.source).where(
        LoginThrottle.scope == "name_source", LoginThrottle.name == username, LoginThrottle.locked_at.is_not(None))))


def reset_password(uow: UnitOfWork, *, actor_id: int, user_id: int, reason: str) -> UserCredentials:
    """Issue a one-time temporary password; every session and token of the user ends."""
    reason = _require_reason(reason)
    with uow:
        user = _get_user(uow, user_id, for_update=True)
        if not user.is_active:
            raise ConflictError(Msg("A deactivated user's password cannot be reset."))
        if user.id == actor_id:
            raise ConflictError(Msg("Change your own password on the password page, not by a reset."))
        password = generate_temporary_password()
        _set_password(uow, user, _hasher(uow).hash(password), temporary=True)
        _end_sessions_and_tokens(uow, user.id, "password_reset")
        uow.record(DomainEvent(
            "user.password_reset", "user", str(user.id), {"password_is_temporary": [False, True]},
            reason=reason, actor_id=actor_id,
        ))
        uow.commit()
        return UserCredentials(user.id, user.username, password)


def record_identity_verification(uow: UnitOfWork, *, actor_id: int, user_id: int, reason: str) -> None:
    """The administrator confirms having verified the person's identity (21 CFR 11.100(b), SIG-05)."""
    reason = _require_reason(reason)
    with uow:
        user = _get_user(uow, user_id, for_update=True)
        if user.identity_verified_at is not None:
            raise ConflictError(Msg("The identity of this user is already recorded as verified."))
        if not user.is_active:
            raise ConflictError(Msg("The user is deactivated."))
        if user.id == actor_id:
            raise ConflictError(Msg("Another administrator must verify your identity."))
        if user.is_service:
            raise ConflictError(Msg("A service account never signs: no identity verification is recorded."))
        user.identity_verified_at = uow.now()
        user.identity_verified_by_id = actor_id
        uow.record(DomainEvent(
            "user.identity_verified", "user", str(user.id), {"identity_verified": [False, True]},
            reason=reason, actor_id=actor_id,
        ))
        uow.commit()


# --- authentication ---------------------------------------------------------------------------


def check_credentials(uow: UnitOfWork, username: str, password: str, source_ip: str | None, via: str) -> User:
    """Verify a user name and password inside the caller's unit of work; commits nothing.

    A failure is raised after registering its security record (the failed attempt, the counters, the
    lockout) with ``uow.on_refusal``: the caller's transaction is rolled back and that record alone is
    written in a short transaction of its own. On success the failure counts are reset with the
    caller's change; should the caller's act then be refused, the reset is kept all the same (the
    password was right). A known and an unknown name take the same steps (see the module's docstring).
    """
    source_ip = source_ip or uow.client_address
    name = normalised_name(username)
    source = (source_ip or "")[:64]
    user = _user_by_name(uow, username)
    account = user if user is not None and user.is_active else None
    hasher = _hasher(uow)
    now = uow.now()
    limits = uow.settings.lockout_limits
    counters = _throttle_counters(uow, name, source, now)
    refusal = refusal_before_check(
        locked_for_source=counters.locked_for_source,
        locked_everywhere=counters.locked_everywhere or (account is not None and account.is_locked),
        source_failures=counters.counts.source, limits=limits)
    if refusal is Refusal.rate_limited:
        raise TooManyAttemptsError(
            Msg("Too many failed attempts from your address. Try again in %(minutes)s minute(s).",
                minutes=-(-counters.retry_after // 60)),
            counters.retry_after)
    user_ref = str(user.id) if user is not None else None
    if refusal is Refusal.locked:
        _matches(hasher, dummy_hash_for(hasher), password or "")
        uow.on_refusal(lambda u: u.record(DomainEvent(
            "user.login_refused_locked", "user", user_ref, {"username": [None, name], "via": [None, via]},
            source_ip=source_ip)))
        raise AccountLockedError(ACCOUNT_LOCKED)
    valid = _matches(hasher, account.password_hash if account is not None else dummy_hash_for(hasher), password or "")
    if valid and account.password_is_temporary and not temporary_password_usable(
            account.temporary_password_expires_at, now):
        valid = False
    if not valid:
        outcome = count_failure(counters.counts, limits)
        account_id = account.id if account is not None else None  # the row itself goes with the rollback
        uow.on_refusal(lambda u: _count_failed_login(u, name=name, source=source, user_ref=user_ref,
                                                     account_id=account_id, via=via, source_ip=source_ip))
        _alert_on_repeated_failures(uow, int(user_ref) if user_ref else None, username)
        if outcome.locks_now:
            raise AccountLockedError(ACCOUNT_LOCKED_NOW)
        raise AuthenticationError(INVALID_CREDENTIALS)
    if account.failed_login_count or counters.counts.name or counters.counts.name_source:
        account.failed_login_count = 0
        _forget_failures(uow, name, source)
        account_id = account.id
        uow.on_refusal(lambda u: _reset_failed_logins(u, account_id, name, source))
    if hasher.check_needs_rehash(account.password_hash) and not account.password_is_temporary:
        account.password_hash = hasher.hash(password)
    return account


@dataclass(frozen=True)
class _Counters:
    counts: FailureCounts
    locked_for_source: bool
    locked_everywhere: bool
    retry_after: int


def _throttle_counters(uow: UnitOfWork, name: str, source: str, now: datetime) -> _Counters:
    """The failure counts of a name from an address, of the name, and of the address in its current window."""
    rows = {row.scope: row for row in uow.session.scalars(sa.select(LoginThrottle).where(sa.or_(
        sa.and_(LoginThrottle.scope == "name_source", LoginThrottle.name == name, LoginThrottle.source == source),
        sa.and_(LoginThrottle.scope == "name", LoginThrottle.name == name, LoginThrottle.source == ""),
        sa.and_(LoginThrottle.scope == "source", LoginThrottle.name == "", LoginThrottle.source == source))))}
    pair, whole, address = rows.get("name_source"), rows.get("name"), rows.get("source")
    window = uow.settings.source_rate_window_minutes
    source_open = address is not None and window_open(address.first_failure_at, now, window)
    return _Counters(
        FailureCounts(pair.failure_count if pair else 0, whole.failure_count if whole else 0,
                      address.failure_count if source_open else 0),
        locked_for_source=pair is not None and pair.locked_at is not None,
        locked_everywhere=whole is not None and whole.locked_at is not None,
        retry_after=retry_after_seconds(address.first_failure_at, now, window) if source_open else 0,
    )


def _throttle_row(uow: UnitOfWork, scope: str, name: str, source: str, now: datetime) -> LoginThrottle:
    """The counter's row, made if missing and locked for the rest of the transaction (concurrent failures add up)."""
    if uow.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # Twice at most: the scheduled job may remove a closed window's row between the insert and the lock.
    for _ in range(2):
        uow.session.execute(insert(LoginThrottle).values(
            scope=scope, name=name, source=source, failure_count=0, first_failure_at=now, last_failure_at=now,
        ).on_conflict_do_nothing(index_elements=["scope", "name", "source"]))
        row = uow.session.scalars(sa.select(LoginThrottle).where(
            LoginThrottle.scope == scope, LoginThrottle.name == name, LoginThrottle.source == source)
            .with_for_update().execution_options(populate_existing=True)).one_or_none()
        if row is not None:
            return row
    raise RuntimeError(f"the {scope} failure counter vanished twice while being taken")


def forget_closed_source_windows(uow: UnitOfWork) -> int:
    """The scheduled job's clean-up: an address's counter whose rate-limit window has closed counts for nothing (its
    next failure starts a new window), so it is removed and failures from many addresses do not pile up. The
    names' counters stay: they count consecutive failures until a right password or an unlock."""
    with uow:
        closed_before = uow.now() - timedelta(minutes=uow.settings.source_rate_window_minutes)
        removed = uow.session.execute(sa.delete(LoginThrottle).where(
            LoginThrottle.scope == "source", LoginThrottle.first_failure_at <= closed_before)).rowcount
        uow.commit()
    return removed


def _forget_failures(uow: UnitOfWork, name: str, source: str) -> None:
    """A right password: the name's consecutive failures from this address and from everywhere start again (the
    address's rate-limit count does not: one valid account must not buy more guesses)."""
    uow.session.execute(sa.delete(LoginThrottle).where(
        LoginThrottle.name == name, LoginThrottle.locked_at.is_(None),
        sa.or_(sa.and_(LoginThrottle.scope == "name_source", LoginThrottle.source == source),
               LoginThrottle.scope == "name")))


def _alert_on_repeated_failures(uow: UnitOfWork, user_id: int | None, username: str | None) -> None:
    """Behind the failure's own record: the count on the account and, at the threshold, the alert (SEC-06)."""
    from gmp_complaints.services import security_alerts

    uow.on_refusal(lambda u: security_alerts.after_failure(u, user_id=user_id, username=username))


def _count_failed_login(uow: UnitOfWork, *, name: str, source: str, user_ref: str | None, account_id: int | None,
                        via: str, source_ip: str | None) -> None:
    """The security record of a wrong password: counted (under the row locks), audited, locked at the limits."""
    now = uow.now()
    limits = uow.settings.lockout_limits
    # The user's row first, then the counters: the same order as a successful log-in, so the two never deadlock.
    account = _get_user(uow, account_id, for_update=True) if account_id is not None else None
    pair = _throttle_row(uow, "name_source", name, source, now)
    whole = _throttle_row(uow, "name", name, "", now)
    address = _throttle_row(uow, "source", "", source, now)
    if not window_open(address.first_failure_at, now, limits.source_window_minutes) or not address.failure_count:
        address.failure_count, address.first_failure_at = 0, now
    outcome = count_failure(FailureCounts(pair.failure_count, whole.failure_count, address.failure_count), limits)
    for row, count in ((pair, outcome.counts.name_source), (whole, outcome.counts.name),
                       (address, outcome.counts.source)):
        row.failure_count, row.last_failure_at = count, now
    changes: dict = {"via": [None, via]}
    if account is not None:
        changes["failed_login_count"] = [account.failed_login_count, account.failed_login_count + 1]
        account.failed_login_count += 1
    else:
        changes["username"] = [None, name]
    uow.record(DomainEvent("user.login_failed", "user", user_ref, changes, source_ip=source_ip))
    locked_by = []
    if outcome.locks_for_source and pair.locked_at is None:
        pair.locked_at = now
        locked_by.append("this address")
    if outcome.locks_everywhere and whole.locked_at is None:
        whole.locked_at = now
        locked_by.append("every address")
        if account is not None and account.locked_at is None:
            account.locked_at = now
    if locked_by:
        lock_changes = {"locked": [False, True], "locked_for": [None, " and ".join(locked_by)]}
        if account is None:
            lock_changes["username"] = [None, name]
        uow.record(DomainEvent("user.locked", "user", user_ref, lock_changes, source_ip=source_ip))
    if outcome.limits_source:
        uow.record(DomainEvent(
            "user.source_rate_limited", "user", None,
            {"failures": [None, outcome.counts.source], "window_minutes": [None, limits.source_window_minutes]},
            source_ip=source_ip))


def _reset_failed_logins(uow: UnitOfWork, user_id: int, name: str, source: str) -> None:
    """The right password was given, though the act that asked for it was refused: the counts of
    consecutive failures start again (the reset is audited with the user's row)."""
    user = _get_user(uow, user_id, for_update=True)
    _forget_failures(uow, name, source)
    if user.failed_login_count:
        user.failed_login_count = 0
        uow.record(DomainEvent("user.reauthenticated", "user", str(user.id), {"via": [None, "refused_act"]},
                               actor_id=user.id))


def record_refused_access(uow: UnitOfWork, *, user_id: int, endpoint: str, method: str,
                          source_ip: str | None) -> None:
    """A request the authorisation matrix refuses for the user's roles: audited, nothing else."""
    with uow:
        uow.record(DomainEvent("user.access_refused", "user", str(user_id),
                               {"endpoint": [None, endpoint[:120]], "method": [None, method[:10]]},
                               actor_id=user_id, source_ip=source_ip))
        uow.commit()


def log_in(uow: UnitOfWork, *, username: str, password: str, source_ip: str | None) -> LoginResult:
    """A browser log-in: a new server-side session with a fresh random id."""
    with uow:
        user = check_credentials(uow, username, password, source_ip, "web")
        if user.is_service:
            refused_id = str(user.id)
            uow.on_refusal(lambda u: u.record(DomainEvent(
                "user.login_refused_service", "user", refused_id, {"via": [None, "web"]}, source_ip=source_ip)))
            raise PermissionDeniedError(Msg("A service account cannot log in to the pages: it only calls the API "
                                            "for master data."))
        now = uow.now()
        token = secrets.token_urlsafe(32)
        uow.session.add(UserSession(
            token_hash=_token_hash(token), user_id=user.id, created_at=now, last_seen_at=now, source_ip=source_ip,
        ))
        user.last_login_at = now
        principal = _principal(uow, user)
        uow.record(DomainEvent(
            "user.logged_in", "user", str(user.id), {"via": [None, "web"]}, actor_id=user.id, source_ip=source_ip,
        ))
        uow.commit()
        return LoginResult(token, principal)


def issue_api_token(uow: UnitOfWork, *, username: str, password: str, source_ip: str | None) -> tuple[str, datetime]:
    with uow:
        user = check_credentials(uow, username, password, source_ip, "api")
        principal = _principal(uow, user)
        if principal.password_change_reason is not None:
            raise PasswordChangeRequiredError(
                Msg("The password must be changed first: POST /api/v1/auth/password.")
                if principal.password_change_reason is PasswordChangeReason.temporary
                else Msg("The password has expired and must be changed: POST /api/v1/auth/password.")
            )
        now = uow.now()
        token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(hours=uow.settings.api_token_hours)
        uow.session.add(ApiToken(token_hash=_token_hash(token), user_id=user.id, created_at=now, expires_at=expires_at,
                                 last_used_at=now))
        user.last_login_at = now
        uow.record(DomainEvent(
            "user.logged_in", "user", str(user.id), {"via": [None, "api"]}, actor_id=user.id, source_ip=source_ip,
        ))
        uow.commit()
        return token, expires_at


def change_password(
    uow: UnitOfWork,
    *,
    username: str,
    old_password: str,
    new_password: str,
    source_ip: str | None,
    keep_session_token: str | None = None,
) -> None:
    """Change one's own password after proving the old one. Other sessions and all tokens end."""
    with uow:
        user = check_credentials(uow, username, old_password, source_ip, "password_change")
        hasher = _hasher(uow)
        policy = uow.settings.password_policy
        history = [user.password_hash] + list(uow.session.scalars(
            sa.select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
            .order_by(PasswordHistory.set_at.desc(), PasswordHistory.id.desc())
        ))
        problems = _too_soon(uow, user) + password_problems(
            policy, user.username, new_password or "", history,
            lambda old_hash, candidate: _matches(hasher, old_hash, candidate), user_inputs=[user.printed_name],
        )
        if problems:
            raise ValidationError(Msg("The new password does not meet the policy."), {"new_password": problems})
        was_temporary = user.password_is_temporary
        _set_password(uow, user, hasher.hash(new_password), temporary=False)
        keep = _token_hash(keep_session_token) if keep_session_token else None
        _end_sessions_and_tokens(uow, user.id, "password_changed", keep_session_hash=keep)
        uow.record(DomainEvent(
            "user.password_changed", "user", str(user.id), {"password_is_temporary": [was_temporary, False]},
            actor_id=user.id, source_ip=source_ip,
        ))
        uow.commit()


def _too_soon(uow: UnitOfWork, user: User) -> list[str]:
    """The minimum age: a chosen password is kept a while, so the history cannot be cycled through at once. Not for
    a temporary password (first use, after a reset) nor an expired one."""
    policy, now = uow.settings.password_policy, uow.now()
    allowed_from = changeable_from(policy, user.password_changed_at, is_temporary=user.password_is_temporary)
    if allowed_from is None or now >= allowed_from or password_expired(policy, user.password_changed_at, now):
        return []
    hours = -(-int((allowed_from - now).total_seconds()) // 3600)
    return [Msg("Your password was changed less than %(days)s day(s) ago: it can be changed again in %(hours)s "
                "hour(s). If someone else may know it, ask an administrator to reset it.",
                days=policy.min_age_days, hours=hours)]


def accept_esignature_statement(uow: UnitOfWork, *, user_id: int, password: str, source_ip: str | None) -> None:
    """The user accepts that the e-signature is the legally binding equivalent of a handwritten one."""
    with uow:
        user = _get_user(uow, user_id)
        check_credentials(uow, user.username, password, source_ip, "esignature_statement")
        if user.is_service:
            raise PermissionDeniedError(Msg("A service account never signs."))
        if user.esignature_accepted_at is not None:
            raise ConflictError(Msg("The accountability statement was already accepted."))
        user.esignature_accepted_at = uow.now()
        uow.record(DomainEvent(
            "user.esignature_statement_accepted", "user", str(user.id), {"esignature_accepted": [False, True]},
            actor_id=user.id, source_ip=source_ip,
        ))
        uow.commit()


# --- sessions and tokens ----------------------------------------------------------------------


def load_session_principal(uow: UnitOfWork, session_token: str) -> Principal | None:
    """The user of a browser session, or None when the session ended or the user is inactive.

    Marks the session seen; an idle session comes back ``idle_locked`` until unlocked.
    """
    with uow:
        row = uow.session.get(UserSession, _token_hash(session_token))
        if row is None or row.ended_at is not None:
            return None
        user = uow.session.get(User, row.user_id)
        if user is None or not user.is_active or user.is_locked or user.is_service:
            return None
        now = uow.now()
        if session_outlived(row.created_at, now, uow.settings.session_max_hours):
            # The absolute lifetime: however active, a session ends and the person logs in again.
            row.ended_at, row.end_reason = now, "lifetime_reached"
            uow.commit()
            return None
        idle_locked = now - row.last_seen_at > timedelta(minutes=uow.settings.idle_lock_minutes)
        if not idle_locked and now - row.last_seen_at > _LAST_USE_RESOLUTION:
            # Throttled: the idle clock needs only coarse resolution, not a write per request.
            row.last_seen_at = now
            uow.commit()
        return _principal(uow, user, idle_locked=idle_locked)


def unlock_idle_session(uow: UnitOfWork, *, session_token: str, password: str, source_ip: str | None) -> None:
    """Unlocking an idle session takes the password again (SEC-07); failures count toward lockout."""
    with uow:
        row = uow.session.get(UserSession, _token_hash(session_token))
        if row is None or row.ended_at is not None:
            raise ConflictError(Msg("The session has ended; log in again."))
        user = uow.session.get(User, row.user_id)
        check_credentials(uow, user.username, password, source_ip, "session_unlock")
        row.last_seen_at = uow.now()
        uow.record(DomainEvent("user.session_unlocked", "user", str(user.id), actor_id=user.id, source_ip=source_ip))
        uow.commit()


def log_out(uow: UnitOfWork, *, session_token: str, source_ip: str | None) -> None:
    with uow:
        row = uow.session.get(UserSession, _token_hash(session_token))
        if row is None or row.ended_at is not None:
            return
        row.ended_at = uow.now()
        row.end_reason = "logout"
        uow.record(DomainEvent("user.logged_out", "user", str(row.user_id), actor_id=row.user_id, source_ip=source_ip))
        uow.commit()


def load_token_principal(uow: UnitOfWork, token: str) -> Principal | None:
    """The user of a bearer token, or None when it is unknown, expired or revoked, or its user may not act.

    A token unused for ``api_token_idle_minutes`` raises ``TokenIdleError`` (the caller asks for a new one);
    each use moves its last use, written at most twice a minute.
    """
    with uow:
        row = uow.session.scalars(sa.select(ApiToken).where(ApiToken.token_hash == _token_hash(token))).one_or_none()
        now = uow.now()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        if token_idle(row.last_used_at, now, uow.settings.api_token_idle_minutes):
            raise TokenIdleError(Msg("The token was not used for %(minutes)s minutes and is locked: "
                                     "POST /api/v1/auth/token for a new one.",
                                     minutes=uow.settings.api_token_idle_minutes))
        user = uow.session.get(User, row.user_id)
        if user is None or not user.is_active or user.is_locked:
            return None
        principal = _principal(uow, user)
        if now - row.last_used_at > _LAST_USE_RESOLUTION:
            row.last_used_at = now
            uow.commit()
        return principal


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserSummary:
    id: int
    username: str
    printed_name: str
    roles: tuple[str, ...]
    is_active: bool
    is_locked: bool
    is_demo: bool
    password_is_temporary: bool
    identity_verified_at: datetime | None
    esignature_accepted_at: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    deactivated_at: datetime | None
    failed_login_count: int
    password_changed_at: datetime
    identity_verified_by: str | None
    email: str | None = None
    account_type: str = AccountType.person.value
    #: the addresses the user name is locked for (failures from there); empty when locked everywhere or not at all
    locked_for_addresses: tuple[str, ...] = ()

    @property
    def is_service(self) -> bool:
        return self.account_type == AccountType.service.value


def _summary(user: User, verifier: str | None = None, locked_for: tuple[str, ...] = ()) -> UserSummary:
    """``is_locked``: locked everywhere, or for at least one address (either needs an administrator's unlock)."""
    return UserSummary(
        user.id, user.username, user.printed_name, tuple(sorted(r.value for r in user.roles)), user.is_active,
        user.is_locked or bool(locked_for), user.is_demo, user.password_is_temporary, user.identity_verified_at,
        user.esignature_accepted_at, user.last_login_at, user.created_at, user.deactivated_at, user.failed_login_count,
        user.password_changed_at, verifier, user.email, user.account_type, locked_for,
    )


def all_user_summaries(uow: UnitOfWork) -> list[UserSummary]:
    """Every account, inside the caller's unit of work."""
    locked: dict[str, list[str]] = {}
    for name, source in uow.session.execute(sa.select(LoginThrottle.name, LoginThrottle.source).where(
            LoginThrottle.scope == "name_source", LoginThrottle.locked_at.is_not(None))):
        locked.setdefault(name, []).append(source)
    return [_summary(u, locked_for=tuple(sorted(locked.get(u.username, ()))))
            for u in uow.session.scalars(sa.select(User).order_by(User.username))]


def user_summary(uow: UnitOfWork, user_id: int) -> UserSummary:
    """One account with the name of whoever verified the identity, inside the caller's unit of work."""
    user = _get_user(uow, user_id)
    verifier = uow.session.get(User, user.identity_verified_by_id) if user.identity_verified_by_id else None
    locked_for = tuple(sorted(_locked_sources(uow, user.username)))
    return _summary(user, verifier.printed_name if verifier else None, locked_for)


def list_users(uow: UnitOfWork) -> list[UserSummary]:
    with uow:
        return all_user_summaries(uow)


def get_user(uow: UnitOfWork, user_id: int) -> UserSummary:
    with uow:
        return user_summary(uow, user_id)


def has_users(uow: UnitOfWork) -> bool:
    with uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(User)) > 0


def non_demo_user_count(uow: UnitOfWork) -> int:
    with uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.is_demo.is_(False)))


def previous_login(uow: UnitOfWork, user_id: int) -> dict:
    """The log-in before the current one (web or API) and the failed attempts on the account since then,
    from the audit trail: what a user should check on arrival (someone else using the account)."""
    from audit.models import AuditEvent

    with uow:
        mine = (AuditEvent.entity_type == "user", AuditEvent.entity_id == str(user_id))
        logins = list(uow.session.scalars(sa.select(AuditEvent.occurred_at).where(
            *mine, AuditEvent.action == "user.logged_in").order_by(AuditEvent.log_index.desc()).limit(2)))
        previous = logins[1] if len(logins) > 1 else None
        failed = uow.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            *mine, AuditEvent.action == "user.login_failed",
            *([AuditEvent.occurred_at > previous] if previous is not None else [])))
        return {"at": previous, "failed_since": failed}

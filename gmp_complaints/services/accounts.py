"""Account use cases (21 CFR 11.10(d), 11.100, 11.300; Annex 11 §12).

Each public function is one unit of work: it opens the transaction, applies the rules of
``domain.accounts`` / ``domain.passwords``, records what happened and commits once.
"""
from __future__ import annotations

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
    PasswordChangeReason,
    check_account_roles,
    password_change_reason,
    register_failed_login,
    temporary_password_usable,
)
from gmp_complaints.domain.errors import (
    AccountLockedError,
    AuthenticationError,
    ConflictError,
    Msg,
    NotFoundError,
    PasswordChangeRequiredError,
    PermissionDeniedError,
    ValidationError,
)
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.passwords import generate_temporary_password, password_problems
from gmp_complaints.domain.roles import Role, parse_roles
from gmp_complaints.models import ApiToken, PasswordHistory, User, UserRole, UserSession
from gmp_complaints.uow import UnitOfWork

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
INVALID_CREDENTIALS = Msg("Invalid user name or password.")

# Argon2id (RFC 9106 second recommended profile). The test environment uses cheaper parameters;
# every hash carries its own parameters, so either verifies the other's.
_PRODUCTION_HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
_TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
# Verified against when the user name is unknown, so both answers take the same time.
_DUMMY_HASH = _TEST_HASHER.hash("timing-equaliser")


def _hasher(uow: UnitOfWork) -> PasswordHasher:
    return _TEST_HASHER if uow.settings.is_test else _PRODUCTION_HASHER


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
        if not user.is_locked:
            raise ConflictError(Msg("The account is not locked."))
        user.locked_at = None
        user.failed_login_count = 0
        uow.record(DomainEvent(
            "user.unlocked", "user", str(user.id), {"locked": [True, False]}, reason=reason, actor_id=actor_id,
        ))
        uow.commit()


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

    A failure is raised after registering its security record (the failed attempt, the counter, the
    lockout) with ``uow.on_refusal``: the caller's transaction is rolled back and that record alone is
    written in a short transaction of its own. On success the failed-attempt counter is reset with the
    caller's change; should the caller's act then be refused, the reset is kept all the same (the
    password was right).
    """
    user = _user_by_name(uow, username)
    hasher = _hasher(uow)
    if user is None or not user.is_active:
        _matches(hasher, _DUMMY_HASH, password or "")
        user_id = str(user.id) if user else None
        uow.on_refusal(lambda u: u.record(DomainEvent(
            "user.login_failed", "user", user_id,
            {"username": [None, (username or "")[:64]], "via": [None, via]}, source_ip=source_ip)))
        _alert_on_repeated_failures(uow, int(user_id) if user_id else None, username)
        raise AuthenticationError(INVALID_CREDENTIALS)
    if user.is_locked:
        _matches(hasher, _DUMMY_HASH, password or "")
        user_id = str(user.id)
        uow.on_refusal(lambda u: u.record(DomainEvent(
            "user.login_refused_locked", "user", user_id, {"via": [None, via]}, source_ip=source_ip)))
        raise AccountLockedError(Msg("The account is locked after repeated failed log-ins. Ask an administrator to unlock it."))
    valid = _matches(hasher, user.password_hash, password or "")
    if valid and user.password_is_temporary and not temporary_password_usable(user.temporary_password_expires_at, uow.now()):
        valid = False
    if not valid:
        outcome = register_failed_login(user.failed_login_count, uow.settings.max_failed_logins)
        user_id = user.id  # the row itself is gone with the rolled-back transaction
        uow.on_refusal(lambda u: _count_failed_login(u, user_id, via, source_ip))
        _alert_on_repeated_failures(uow, user_id, user.username)
        if outcome.locks_now:
            raise AccountLockedError(Msg("The account is now locked after repeated failed log-ins. Ask an administrator to unlock it."))
        raise AuthenticationError(INVALID_CREDENTIALS)
    if user.failed_login_count:
        user.failed_login_count = 0
        user_id = user.id
        uow.on_refusal(lambda u: _reset_failed_logins(u, user_id))
    if hasher.check_needs_rehash(user.password_hash) and not user.password_is_temporary:
        user.password_hash = hasher.hash(password)
    return user


def _alert_on_repeated_failures(uow: UnitOfWork, user_id: int | None, username: str | None) -> None:
    """Behind the failure's own record: the count on the account and, at the threshold, the alert (SEC-06)."""
    from gmp_complaints.services import security_alerts

    uow.on_refusal(lambda u: security_alerts.after_failure(u, user_id=user_id, username=username))


def _count_failed_login(uow: UnitOfWork, user_id: int, via: str, source_ip: str | None) -> None:
    """The security record of a wrong password: counted (under the row lock), audited, locked at the limit."""
    user = _get_user(uow, user_id, for_update=True)
    outcome = register_failed_login(user.failed_login_count, uow.settings.max_failed_logins)
    user.failed_login_count = outcome.failed_count
    uow.record(DomainEvent(
        "user.login_failed", "user", str(user.id),
        {"failed_login_count": [outcome.failed_count - 1, outcome.failed_count], "via": [None, via]},
        source_ip=source_ip,
    ))
    if outcome.locks_now and user.locked_at is None:
        user.locked_at = uow.now()
        uow.record(DomainEvent("user.locked", "user", str(user.id), {"locked": [False, True]}, source_ip=source_ip))


def _reset_failed_logins(uow: UnitOfWork, user_id: int) -> None:
    """The right password was given, though the act that asked for it was refused: the counter of
    consecutive failures starts again (the reset is audited with the user's row)."""
    user = _get_user(uow, user_id, for_update=True)
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
        uow.session.add(ApiToken(token_hash=_token_hash(token), user_id=user.id, created_at=now, expires_at=expires_at))
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
        history = [user.password_hash] + list(uow.session.scalars(
            sa.select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
            .order_by(PasswordHistory.set_at.desc(), PasswordHistory.id.desc())
        ))
        problems = password_problems(
            uow.settings.password_policy, user.username, new_password or "", history,
            lambda old_hash, candidate: _matches(hasher, old_hash, candidate),
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
        idle_locked = now - row.last_seen_at > timedelta(minutes=uow.settings.idle_lock_minutes)
        if not idle_locked and now - row.last_seen_at > timedelta(seconds=30):
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
    with uow:
        row = uow.session.scalars(sa.select(ApiToken).where(ApiToken.token_hash == _token_hash(token))).one_or_none()
        if row is None or row.revoked_at is not None or row.expires_at <= uow.now():
            return None
        user = uow.session.get(User, row.user_id)
        if user is None or not user.is_active or user.is_locked:
            return None
        return _principal(uow, user)


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

    @property
    def is_service(self) -> bool:
        return self.account_type == AccountType.service.value


def _summary(user: User, verifier: str | None = None) -> UserSummary:
    return UserSummary(
        user.id, user.username, user.printed_name, tuple(sorted(r.value for r in user.roles)), user.is_active,
        user.is_locked, user.is_demo, user.password_is_temporary, user.identity_verified_at,
        user.esignature_accepted_at, user.last_login_at, user.created_at, user.deactivated_at, user.failed_login_count,
        user.password_changed_at, verifier, user.email, user.account_type,
    )


def all_user_summaries(uow: UnitOfWork) -> list[UserSummary]:
    """Every account, inside the caller's unit of work."""
    return [_summary(u) for u in uow.session.scalars(sa.select(User).order_by(User.username))]


def user_summary(uow: UnitOfWork, user_id: int) -> UserSummary:
    """One account with the name of whoever verified the identity, inside the caller's unit of work."""
    user = _get_user(uow, user_id)
    verifier = uow.session.get(User, user.identity_verified_by_id) if user.identity_verified_by_id else None
    return _summary(user, verifier.printed_name if verifier else None)


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

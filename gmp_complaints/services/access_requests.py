"""Approved changes of access (Annex 11 §12.3; SEC-04): creating an account, granting or withdrawing roles and
deactivating an account take two people.

The administrator requests the change with a reason: it is recorded with requester, date and reason and changes
nothing yet; the head of quality is told. A second person, the head of quality (never the requester, never the
person whose access changes), approves or rejects it after entering their own user name and password again; only
an approval makes the change, in the same transaction, attributed to the approver and naming the request and its
requester. Both steps are audit events. An account to create gets its one-time temporary password at the request
(the administrator hands it over); only its hash is kept, and the account exists from the approval.

``gmp create-user`` (the installation's bootstrap at the server) stays a single step, recorded as approved at
creation by the command line (``accounts.create_user``).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gmp_complaints.domain.accounts import (
    ACCESS_APPROVER_ROLE,
    AccessDecision,
    AccessRequestKind,
    AccessRequestStatus,
    AccountType,
    check_access_decider,
    decided_status,
)
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, PermissionDeniedError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.notices import NoticeKind
from gmp_complaints.domain.passwords import generate_temporary_password
from gmp_complaints.domain.roles import Actor, Role, parse_roles
from gmp_complaints.models import AccessRequest, User
from gmp_complaints.services import accounts, notices, schemas
from gmp_complaints.uow import UnitOfWork

#: how many decided requests the page lists
HISTORY = 100


def _role_text(roles) -> str:
    return " ".join(sorted(getattr(r, "value", r) for r in roles))


def _role_set(text: str | None) -> frozenset[Role]:
    return frozenset(Role(r) for r in (text or "").split())


def _pending_for(uow: UnitOfWork, *, user_id: int | None = None, username: str | None = None) -> AccessRequest | None:
    query = sa.select(AccessRequest).where(AccessRequest.status == AccessRequestStatus.pending.value)
    query = query.where(AccessRequest.user_id == user_id) if user_id is not None else query.where(
        AccessRequest.username == username, AccessRequest.kind == AccessRequestKind.create_user.value)
    return uow.session.scalars(query.limit(1)).first()


def _refuse_second_pending(uow: UnitOfWork, **target) -> None:
    if _pending_for(uow, **target) is not None:
        raise ConflictError(Msg("A change of this account's access already waits for approval: the head of quality "
                                "decides it first."))


def request_access_change(uow: UnitOfWork, data: dict, *, actor_id: int) -> dict:
    """The administrator's request ``{kind, reason, ...}`` (``schemas.AccessChangeRequest``): recorded, not yet
    effective. For a new account the answer carries the one-time temporary password, shown only now."""
    try:
        body = schemas.load(schemas.AccessChangeRequest, data)
    except ValidationError as exc:
        raise ValidationError(exc.message, {**_account_problems(uow, data), **exc.fields}) from None
    kind = body["kind"]
    if kind is AccessRequestKind.create_user:
        return _request_creation(uow, body, actor_id=actor_id)
    if body["user_id"] is None:
        raise ValidationError(Msg("Which user?"), {"user_id": [Msg("The id of the user whose access changes.")]})
    role_set = None
    if kind is AccessRequestKind.change_roles:
        if body["roles"] is None:
            raise ValidationError(Msg("Which roles?"), {"roles": [Msg("Choose at least one role.")]})
        role_set = parse_roles(body["roles"])
    with uow:
        user = accounts.user_for_change(uow, body["user_id"])
        if kind is AccessRequestKind.change_roles:
            accounts.check_role_change(uow, user, role_set, requested_by_id=actor_id)
        else:
            accounts.check_deactivation(uow, user, requested_by_id=actor_id)
        _refuse_second_pending(uow, user_id=user.id)
        request = AccessRequest(
            kind=kind.value, status=AccessRequestStatus.pending.value, user_id=user.id, username=user.username,
            account_type=user.account_type, identity_verified=False, roles_before=_role_text(user.roles),
            roles=_role_text(role_set) if role_set is not None else None, reason=body["reason"],
            requested_by_id=actor_id, requested_at=uow.now())
        view = _record_request(uow, request, actor_id=actor_id)
        uow.commit()
        return view


def _account_problems(uow: UnitOfWork, data) -> dict:
    """For a form that says everything at once: what else is wrong with a new account whose request has bad fields."""
    if not isinstance(data, dict) or data.get("kind") != AccessRequestKind.create_user.value:
        return {}
    roles = data.get("roles")
    try:
        accounts.checked_new_account(
            uow, username=str(data.get("username") or ""), printed_name=str(data.get("printed_name") or ""),
            roles=roles if isinstance(roles, list) else [], account_type=data.get("account_type") or "person",
            email=data.get("email") if isinstance(data.get("email"), str) else None,
            identity_verified=data.get("identity_verified") is True)
    except ValidationError as exc:
        return exc.fields
    return {}


def _request_creation(uow: UnitOfWork, body: dict, *, actor_id: int) -> dict:
    new = accounts.checked_new_account(
        uow, username=body["username"], printed_name=body["printed_name"], roles=body["roles"] or [],
        account_type=body["account_type"] or AccountType.person, email=body["email"],
        identity_verified=bool(body["identity_verified"]))
    with uow:
        accounts.check_username_free(uow, new.username)
        _refuse_second_pending(uow, username=new.username)
        password = generate_temporary_password()
        request = AccessRequest(
            kind=AccessRequestKind.create_user.value, status=AccessRequestStatus.pending.value, user_id=None,
            username=new.username, printed_name=new.printed_name, account_type=new.account_type.value,
            email=new.email, identity_verified=new.identity_verified, roles_before=None,
            roles=_role_text(new.roles), password_hash=accounts.new_password_hash(uow, password),
            reason=body["reason"], requested_by_id=actor_id, requested_at=uow.now())
        view = _record_request(uow, request, actor_id=actor_id)
        uow.commit()
        return {**view, "temporary_password": password}


def _record_request(uow: UnitOfWork, request: AccessRequest, *, actor_id: int) -> dict:
    uow.session.add(request)
    uow.session.flush()
    uow.record(DomainEvent("access_request.requested", "access_request", str(request.id), reason=request.reason,
                           actor_id=actor_id))
    # The approver is told; never the person whose access changes (they do not decide their own).
    approvers = [i for i in notices.holders_of(uow.session, ACCESS_APPROVER_ROLE) if i != request.user_id]
    notices.notify(uow, approvers, NoticeKind.access_change_to_approve, subject_type="access_request",
                   subject_id=request.id, record_label=request.username, actor_id=actor_id)
    return _view(uow, request)


def decide_access_request(uow: UnitOfWork, request_id: int, data: dict, *, actor: Actor,
                          source_ip: str | None = None) -> dict:
    """The head of quality's decision ``{decision, comment, username, password}``: their own user name and password
    again (failures count toward lockout and the alert), never on their own request or their own access. An
    approval makes the change at once; a rejection (with its reason) leaves everything as it was."""
    body = schemas.load(schemas.AccessDecisionBody, data)
    decision = body["decision"]
    if decision is AccessDecision.reject and not body["comment"]:
        raise ValidationError(Msg("Say why."), {"comment": [Msg("Give the reason for the rejection.")]})
    with uow:
        request = uow.session.scalars(sa.select(AccessRequest).where(AccessRequest.id == request_id)
                                      .with_for_update()).one_or_none()
        if request is None:
            raise NotFoundError(Msg("No access request with id %(id)s.", id=request_id))
        me = uow.session.get(User, actor.id)
        if body["username"].strip().lower() != me.username:
            _refuse(uow, actor.id, request_id, Msg("Decide with your own user name."), source_ip)
        approver = accounts.check_credentials(uow, body["username"], body["password"], source_ip, "access_approval")
        try:
            check_access_decider(decider_id=approver.id, decider_roles=approver.roles,
                                 requested_by_id=request.requested_by_id, target_user_id=request.user_id)
        except PermissionDeniedError as exc:
            _refuse(uow, approver.id, request_id, exc.message, source_ip)
        if request.status != AccessRequestStatus.pending.value:
            raise ConflictError(Msg("This request was already decided."))
        uow.record(DomainEvent("user.reauthenticated", "user", str(approver.id), {"via": [None, "access_approval"]},
                               actor_id=approver.id, source_ip=source_ip))
        if decision is AccessDecision.approve:
            _apply(uow, request, approver_id=approver.id)
        request.status = decided_status(decision).value
        request.decided_by_id = approver.id
        request.decided_at = uow.now()
        request.decision_comment = body["comment"]
        request.password_hash = None  # the new account holds it now, or nobody needs it
        action = "access_request.approved" if decision is AccessDecision.approve else "access_request.rejected"
        uow.record(DomainEvent(action, "access_request", str(request.id), reason=body["comment"],
                               actor_id=approver.id, source_ip=source_ip))
        uow.commit()
        return _view(uow, request)


def _refuse(uow: UnitOfWork, actor_id: int, request_id: int, message: Msg, source_ip: str | None):
    """403, nothing changed; the refused decision is the only trace (a security event)."""
    refusal = str(message)
    uow.on_refusal(lambda u: u.record(DomainEvent(
        "access_request.decision_refused", "access_request", str(request_id), {"refusal": [None, refusal]},
        actor_id=actor_id, source_ip=source_ip)))
    raise PermissionDeniedError(message)


def _apply(uow: UnitOfWork, request: AccessRequest, *, approver_id: int) -> None:
    """Make the approved change, checked again against the accounts as they are now (409 if it no longer fits:
    reject it then)."""
    approval = {"access_request_id": [None, request.id], "requested_by_id": [None, request.requested_by_id]}
    kind = AccessRequestKind(request.kind)
    if kind is AccessRequestKind.create_user:
        new = accounts.NewAccount(request.username, request.printed_name, _role_set(request.roles),
                                  AccountType(request.account_type), request.email, request.identity_verified)
        try:
            accounts.check_username_free(uow, new.username)
        except ValidationError:
            raise ConflictError(Msg("The user name was taken since the request: reject this request.")) from None
        user = accounts.add_account(
            uow, new, password_hash=request.password_hash, temporary=True, actor_id=approver_id,
            created_by_id=request.requested_by_id,
            identity_verified_at=request.requested_at if request.identity_verified else None,
            identity_verified_by_id=request.requested_by_id if request.identity_verified else None,
            approval=approval, reason=request.reason)
        request.user_id = user.id
        return
    user = accounts.user_for_change(uow, request.user_id)
    if kind is AccessRequestKind.change_roles:
        role_set = _role_set(request.roles)
        try:
            accounts.check_role_change(uow, user, role_set, requested_by_id=request.requested_by_id)
        except ValidationError as exc:
            raise ConflictError(exc.message) from None
        accounts.apply_role_change(uow, user, role_set, actor_id=approver_id, reason=request.reason,
                                   approval=approval)
    else:
        accounts.check_deactivation(uow, user, requested_by_id=request.requested_by_id)
        accounts.apply_deactivation(uow, user, actor_id=approver_id, reason=request.reason, approval=approval)


def _names(session, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(sa.select(User.id, User.printed_name).where(User.id.in_(ids))).all())


def _view(uow: UnitOfWork, request: AccessRequest, names: dict[int, str] | None = None) -> dict:
    names = names if names is not None else _names(uow.session, (request.requested_by_id, request.decided_by_id))
    tz = ZoneInfo(uow.settings.site_timezone)
    return {
        "id": request.id, "kind": request.kind, "status": request.status, "user_id": request.user_id,
        "username": request.username, "printed_name": request.printed_name, "account_type": request.account_type,
        "email": request.email, "identity_verified": request.identity_verified,
        "roles_before": request.roles_before.split() if request.roles_before is not None else None,
        "roles": request.roles.split() if request.roles is not None else None, "reason": request.reason,
        "requested_by": {"id": request.requested_by_id, "name": names.get(request.requested_by_id)},
        "requested_at": request.requested_at.astimezone(tz).isoformat(),
        "decided_by": ({"id": request.decided_by_id, "name": names.get(request.decided_by_id)}
                       if request.decided_by_id is not None else None),
        "decided_at": request.decided_at.astimezone(tz).isoformat() if request.decided_at else None,
        "decision_comment": request.decision_comment,
    }


def list_access_requests(uow: UnitOfWork, *, status: str | None = None, user_id: int | None = None) -> dict:
    """``{pending: [...], decided: [...]}``: every pending request (oldest first) and the latest decided ones (newest
    first); ``status`` keeps one of the two, ``user_id`` the requests about one account."""
    if status not in (None, "", "pending", "decided"):
        raise ValidationError(Msg("Unknown status."), {"status": [Msg("pending or decided.")]})
    with uow:
        query = sa.select(AccessRequest)
        if user_id is not None:
            query = query.where(AccessRequest.user_id == user_id)
        pending, decided = [], []
        if status in (None, "", "pending"):
            pending = list(uow.session.scalars(query.where(
                AccessRequest.status == AccessRequestStatus.pending.value).order_by(AccessRequest.id)))
        if status in (None, "", "decided"):
            decided = list(uow.session.scalars(query.where(
                AccessRequest.status != AccessRequestStatus.pending.value).order_by(AccessRequest.id.desc())
                .limit(HISTORY)))
        names = _names(uow.session, [r.requested_by_id for r in pending + decided]
                       + [r.decided_by_id for r in pending + decided])
        return {"pending": [_view(uow, r, names) for r in pending],
                "decided": [_view(uow, r, names) for r in decided]}


def pending_count(uow: UnitOfWork) -> int:
    with uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(AccessRequest).where(
            AccessRequest.status == AccessRequestStatus.pending.value))


def users_overview(uow: UnitOfWork) -> dict:
    """The administrator's users page in one transaction: every account, and the changes waiting for approval."""
    with uow:
        users = accounts.all_user_summaries(uow)
        pending = list(uow.session.scalars(sa.select(AccessRequest).where(
            AccessRequest.status == AccessRequestStatus.pending.value).order_by(AccessRequest.id)))
        names = _names(uow.session, [r.requested_by_id for r in pending])
        return {"users": users, "pending": [_view(uow, r, names) for r in pending]}


def user_overview(uow: UnitOfWork, user_id: int) -> dict:
    """One account and the requests about it (pending first, then decided, newest first)."""
    with uow:
        user = accounts.user_summary(uow, user_id)
        rows = list(uow.session.scalars(sa.select(AccessRequest).where(AccessRequest.user_id == user_id)
                                        .order_by(AccessRequest.id.desc()).limit(HISTORY)))
        names = _names(uow.session, [r.requested_by_id for r in rows] + [r.decided_by_id for r in rows])
        views = [_view(uow, r, names) for r in rows]
        return {"user": user, "pending": [v for v in views if v["status"] == AccessRequestStatus.pending.value],
                "decided": [v for v in views if v["status"] != AccessRequestStatus.pending.value]}

"""Responsible officials (WF-11, 21 CFR 211.180(f)): who is told in writing — in the app and by e-mail through
the outbox, delivery logged — of every complaint investigation (211.198), every evaluation of returned goods
(211.204) and every recall. The list per scope is configuration the administrator keeps, each change with a
reason and its change-control reference (AT-10), one audit event per designation or withdrawal. A scope with
nobody designated (or nobody still active) goes to the head of quality, as before the list existed.

The product keeps no salvaged goods (211.208): there is nothing of that kind to notify."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gmp_complaints.domain.errors import Msg, PermissionDeniedError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.notices import NoticeKind, OfficialScope, official_recipients
from gmp_complaints.domain.roles import SOLITARY_ROLES, Actor, Role
from gmp_complaints.models import ResponsibleOfficial, User
from gmp_complaints.services import schemas
from gmp_complaints.services.notices import holders_of, notify
from gmp_complaints.uow import UnitOfWork


def _designated(session, scope: OfficialScope) -> list[ResponsibleOfficial]:
    return list(session.scalars(sa.select(ResponsibleOfficial).where(
        ResponsibleOfficial.scope == scope.value, ResponsibleOfficial.withdrawn_at.is_(None))
        .order_by(ResponsibleOfficial.user_id)))


def officials_for(session, scope: OfficialScope) -> list[int]:
    """Who is told for ``scope`` now: the designated officials whose accounts are active, else the head of
    quality."""
    active = list(session.scalars(sa.select(User.id).join(ResponsibleOfficial, ResponsibleOfficial.user_id == User.id)
                                  .where(ResponsibleOfficial.scope == scope.value,
                                         ResponsibleOfficial.withdrawn_at.is_(None), User.is_active.is_(True))
                                  .order_by(User.id)))
    return official_recipients(active, holders_of(session, Role.qa_head) if not active else [])


def notify_officials(uow: UnitOfWork, scope: OfficialScope, kind: NoticeKind, *, subject_type: str, subject_id: int,
                     record_label: str, actor_id: int | None, also=(), skip=frozenset()) -> int:
    """Tell the officials of ``scope`` (and ``also``, e.g. the QP; never those in ``skip``) of ``kind`` on the
    record, in the caller's unit of work: one notice each, e-mailed where the person has an address."""
    people = [i for i in (*also, *officials_for(uow.session, scope)) if i not in skip]
    return notify(uow, people, kind, subject_type=subject_type, subject_id=subject_id, record_label=record_label,
                  actor_id=actor_id)


def officials_view(uow: UnitOfWork) -> dict:
    """``GET /responsible-officials``: per scope the designated officials (with whether each has an address to
    be e-mailed at) and who is told now (the head of quality where nobody is designated)."""
    with uow:
        session = uow.session
        tz = ZoneInfo(uow.settings.site_timezone)
        scopes = {}
        for scope in OfficialScope:
            rows = session.execute(sa.select(ResponsibleOfficial, User).join(
                User, User.id == ResponsibleOfficial.user_id).where(
                ResponsibleOfficial.scope == scope.value, ResponsibleOfficial.withdrawn_at.is_(None))
                .order_by(User.username)).all()
            told = officials_for(session, scope)
            users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(told)))} if told else {}
            scopes[scope.value] = {
                "officials": [{"username": user.username, "printed_name": user.printed_name,
                               "active": user.is_active, "email_on_file": bool(user.email),
                               "designated_at": row.designated_at.astimezone(tz).isoformat(timespec="seconds")}
                              for row, user in rows],
                "default_head_of_quality": not any(user.is_active for _row, user in rows),
                "recipients": [{"username": users[i].username, "printed_name": users[i].printed_name,
                                "email_on_file": bool(users[i].email)} for i in told if i in users],
            }
        return {"scopes": scopes}


def eligible_people(uow: UnitOfWork) -> list[dict]:
    """The people who may be designated: active person accounts holding a role in the process."""
    with uow:
        users = uow.session.scalars(sa.select(User).where(User.is_active.is_(True), User.account_type == "person")
                                    .order_by(User.username)).all()
        return [{"username": u.username, "printed_name": u.printed_name, "roles": sorted(r.value for r in u.roles),
                 "email_on_file": bool(u.email)} for u in users if u.roles - SOLITARY_ROLES]


def _people(session, usernames: list[str]) -> list[User]:
    """The named users, each once; a name that is unknown, inactive, a service account or an administrator or
    auditor (who hold no role in the process) is refused on ``usernames``."""
    wanted = list(dict.fromkeys(usernames))
    found = {u.username: u for u in session.scalars(sa.select(User).where(User.username.in_(wanted)))} if wanted \
        else {}
    problems = []
    for name in wanted:
        user = found.get(name)
        if user is None or not user.is_active:
            problems.append(Msg("%(name)s: no active user has this user name.", name=name))
        elif user.account_type != "person" or not (user.roles - SOLITARY_ROLES):
            problems.append(Msg("%(name)s holds no role in the complaint process: a responsible official is a person "
                                "of the quality system, not an administrator, auditor or service account.", name=name))
    if problems:
        raise ValidationError(Msg("The request has invalid fields."), {"usernames": problems})
    return [found[name] for name in wanted]


def set_responsible_officials(uow: UnitOfWork, data: dict, *, actor: Actor) -> dict:
    """``POST /responsible-officials {scope, usernames, reason, change_control_ref}`` (administrator): the whole
    list of one scope; an empty list goes back to the head of quality. Each designation and each withdrawal is
    an audit event with the reason and the change-control reference (AT-10). A non-administrator is refused (403)
    and nothing changes."""
    if Role.admin not in actor.roles:
        raise PermissionDeniedError(Msg("Only the administrator keeps the list of responsible officials."))
    fields = schemas.load(schemas.ResponsibleOfficialsChange, data)
    scope, reason, ref = fields["scope"], fields["reason"], fields["change_control_ref"]
    with uow:
        session = uow.session
        people = _people(session, fields["usernames"])
        current = {row.user_id: row for row in _designated(session, scope)}
        wanted = {user.id for user in people}
        if set(current) == wanted:
            raise ValidationError(Msg("Nothing changed."), {"usernames": [Msg(
                "These are already the responsible officials of this scope.")]})
        now = uow.now()
        for user_id, row in current.items():
            if user_id not in wanted:
                row.withdrawn_at, row.withdrawn_by_id = now, actor.id
                session.flush()
                uow.record(DomainEvent("responsible_official.withdrawn", "responsible_official", str(row.id),
                                       reason=reason, actor_id=actor.id, change_control_ref=ref))
        for user in people:
            if user.id not in current:
                row = ResponsibleOfficial(scope=scope.value, user_id=user.id, designated_at=now,
                                          designated_by_id=actor.id)
                session.add(row)
                session.flush()
                uow.record(DomainEvent("responsible_official.designated", "responsible_official", str(row.id),
                                       reason=reason, actor_id=actor.id, change_control_ref=ref))
        uow.commit()
    return officials_view(uow)

"""Alerts on repeated failed log-ins and signings (21 CFR 11.300(d); SEC-06).

Every failed password check leaves its security record (``user.login_failed``, written by ``accounts`` after the
refused act is rolled back). ``after_failure`` runs right behind it, in the same refusal: it commits that record,
so the failure has its audit index, then counts the failures on the account (or on the user name attempted, where
no account has it) within the configured window. At the threshold it raises one alert: a record with the event
record, an audit event, a notice to every active administrator and head of quality (on the notices page, the
navigation count and the dashboard) and an e-mail to each of them through the outbox. While the window of an alert
is open the account raises no other (no flood).
"""
from __future__ import annotations

import json

import sqlalchemy as sa

from audit import recorder
from audit.models import AuditEvent
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.notices import NoticeKind
from gmp_complaints.domain.roles import Role
from gmp_complaints.domain.security_alerts import (
    Failure,
    account_key,
    alert_due,
    alert_mail_details,
    attempted_name,
    failure_kind,
    in_window,
    summarise,
    window_start,
)
from gmp_complaints.models import SecurityAlert, User
from gmp_complaints.services import notices
from gmp_complaints.uow import UnitOfWork

#: the security record of every failed password check, whatever the channel
FAILURE_ACTION = "user.login_failed"
#: who is alerted: the security unit (the system administrators) and QA (the head of quality)
ALERTED_ROLES = (Role.admin, Role.qa_head)
#: how many alerts the alerts page lists, newest first
PAGE = 200
#: how long an alert stays on the dashboard
DASHBOARD_DAYS = 7


def after_failure(uow: UnitOfWork, *, user_id: int | None, username: str | None) -> int | None:
    """The check behind a failed attempt, inside the refusal's own unit of work (see ``uow.on_refusal``): the id of
    the alert it raised, or None."""
    # The failure (recorded just before) is committed first: it has its index and counts even if the rest fails.
    uow.commit()
    # The log's lock serialises the counting on both databases: of two failures at once, one raises the alert.
    _head, _actor, clock = recorder.lock_log(uow.session, None)
    uow.note_database_clock(clock)
    now = uow.now()
    settings = uow.settings
    key = account_key(user_id, username)
    failures = _failures(uow.session, user_id, username, window_start(now, settings.failure_alert_window_minutes))
    last_alert_at = uow.session.scalar(sa.select(sa.func.max(SecurityAlert.raised_at))
                                       .where(SecurityAlert.account_key == key))
    if not alert_due(failures, threshold=settings.failure_alert_threshold, now=now,
                     window_minutes=settings.failure_alert_window_minutes, last_alert_at=last_alert_at):
        return None
    summary = summarise(in_window(failures, now=now, window_minutes=settings.failure_alert_window_minutes))
    user = uow.session.get(User, user_id) if user_id is not None else None
    name = user.username if user is not None else attempted_name(username)
    alert = SecurityAlert(
        raised_at=now, account_key=key, user_id=user_id, username=name,
        kinds=" ".join(kind.value for kind in summary.kinds), failure_count=summary.failure_count,
        threshold=settings.failure_alert_threshold, window_minutes=settings.failure_alert_window_minutes,
        first_failure_at=summary.first_failure_at, last_failure_at=summary.last_failure_at,
        source_addresses=" ".join(summary.source_addresses),
        event_indices=" ".join(str(index) for index in summary.event_indices))
    uow.session.add(alert)
    uow.session.flush()
    uow.record(DomainEvent("security.alert_raised", "security_alert", str(alert.id)))
    details = alert_mail_details(name, user is not None, summary, window_minutes=settings.failure_alert_window_minutes,
                                 site_timezone=settings.site_timezone)
    notices.notify(uow, notices.holders_of(uow.session, *ALERTED_ROLES), NoticeKind.security_alert,
                   subject_type="security_alert", subject_id=alert.id, record_label=name, actor_id=None,
                   mail_details=details)
    return alert.id


def _failures(session, user_id: int | None, username: str | None, since) -> list[Failure]:
    """The failed attempts on the account (or, with no account, on the user name attempted) since ``since``."""
    query = sa.select(AuditEvent.log_index, AuditEvent.occurred_at, AuditEvent.canonical).where(
        AuditEvent.action == FAILURE_ACTION, AuditEvent.entity_type == "user", AuditEvent.occurred_at >= since)
    if user_id is not None:
        query = query.where(AuditEvent.entity_id == str(user_id))
    else:
        query = query.where(AuditEvent.entity_id.is_(None))
    wanted = attempted_name(username)
    failures = []
    for index, occurred_at, canonical in session.execute(query.order_by(AuditEvent.log_index)):
        if not canonical:
            continue
        document = json.loads(canonical)
        changes = document.get("changes") or {}
        if user_id is None and attempted_name(_new_value(changes.get("username"))) != wanted:
            continue
        failures.append(Failure(index, occurred_at, failure_kind(_new_value(changes.get("via"))),
                                document.get("source_ip")))
    return failures


def _new_value(pair):
    return pair[1] if isinstance(pair, list) and len(pair) == 2 else None


def _view(alert: SecurityAlert) -> dict:
    return {"id": alert.id, "raised_at": alert.raised_at, "username": alert.username, "user_id": alert.user_id,
            "known_account": alert.user_id is not None, "kinds": alert.kinds.split(),
            "failure_count": alert.failure_count, "threshold": alert.threshold,
            "window_minutes": alert.window_minutes, "first_failure_at": alert.first_failure_at,
            "last_failure_at": alert.last_failure_at, "source_addresses": alert.source_addresses.split(),
            "event_indices": [int(i) for i in alert.event_indices.split()]}


def list_alerts(uow: UnitOfWork, *, limit: int = PAGE) -> list[dict]:
    """The alerts, newest first, each with its event record."""
    with uow:
        return [_view(a) for a in uow.session.scalars(
            sa.select(SecurityAlert).order_by(SecurityAlert.id.desc()).limit(limit))]


def recent_alerts(uow: UnitOfWork, *, days: int = DASHBOARD_DAYS) -> list[dict]:
    """The alerts of the last ``days`` days, newest first: what the dashboard shows the alerted roles."""
    from datetime import timedelta

    with uow:
        since = uow.now() - timedelta(days=days)
        return [_view(a) for a in uow.session.scalars(
            sa.select(SecurityAlert).where(SecurityAlert.raised_at >= since).order_by(SecurityAlert.id.desc()))]

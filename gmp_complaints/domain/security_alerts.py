"""Alerts on repeated failed log-ins and signings (21 CFR 11.300(d): "detect and report in an immediate and urgent
manner"; SEC-06), as plain rules on plain values.

A failure is one wrong password (or an unknown user name) at a log-in (web page, API token, idle-session unlock,
password change) or at a signing (any signature, the approval of an access change, the acceptance of the
signature statement). They are counted per account, or per user name attempted where no account has that name,
within a sliding window; at the threshold one alert is raised, and no second one for the same account while the
window of the first is still open (no flood).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from gmp_complaints.domain.errors import Msg


class FailureKind(StrEnum):
    login = "login"
    signing = "signing"


FAILURE_KIND_LABELS = {
    FailureKind.login: Msg("log-in"),
    FailureKind.signing: Msg("signing"),
}

#: the channels of a password check that are a signing; every other channel is a log-in
SIGNING_CHANNELS = frozenset({"signature", "access_approval", "esignature_statement"})


def failure_kind(via: str | None) -> FailureKind:
    return FailureKind.signing if via in SIGNING_CHANNELS else FailureKind.login


def attempted_name(username: str | None) -> str:
    """A user name as the log-in compares it (an unknown name is counted as typed, in this form)."""
    return (username or "").strip().lower()[:64]


def account_key(user_id: int | None, username: str | None) -> str:
    """What failures are counted by: the account where one has the name, else the user name attempted."""
    return f"user:{user_id}" if user_id is not None else f"name:{attempted_name(username)}"


@dataclass(frozen=True)
class Failure:
    """One failed attempt as the audit trail holds it."""

    index: int
    at: datetime
    kind: FailureKind
    source_ip: str | None


def window_start(now: datetime, window_minutes: int) -> datetime:
    return now - timedelta(minutes=window_minutes)


def in_window(failures, *, now: datetime, window_minutes: int) -> list[Failure]:
    start = window_start(now, window_minutes)
    return sorted((f for f in failures if start <= f.at <= now), key=lambda f: f.index)


def alert_due(failures, *, threshold: int, now: datetime, window_minutes: int,
              last_alert_at: datetime | None) -> bool:
    """The failures in the window reach the threshold, and no alert on the account was raised in the window."""
    if last_alert_at is not None and last_alert_at >= window_start(now, window_minutes):
        return False
    return len(in_window(failures, now=now, window_minutes=window_minutes)) >= threshold


@dataclass(frozen=True)
class AlertSummary:
    """The event record an alert carries: how many, of which kind, from where, when, and the audit events."""

    failure_count: int
    kinds: tuple[FailureKind, ...]
    source_addresses: tuple[str, ...]
    first_failure_at: datetime
    last_failure_at: datetime
    event_indices: tuple[int, ...]


def summarise(failures) -> AlertSummary:
    failures = sorted(failures, key=lambda f: f.index)
    if not failures:
        raise ValueError("an alert summarises at least one failure")
    addresses: list[str] = []
    for failure in failures:
        address = failure.source_ip or "unknown"
        if address not in addresses:
            addresses.append(address)
    return AlertSummary(
        failure_count=len(failures),
        kinds=tuple(kind for kind in FailureKind if any(f.kind is kind for f in failures)),
        source_addresses=tuple(addresses),
        first_failure_at=min(f.at for f in failures),
        last_failure_at=max(f.at for f in failures),
        event_indices=tuple(f.index for f in failures),
    )


_KIND_WORDS = {FailureKind.login: ("登录", "log-in"), FailureKind.signing: ("签名", "signing")}


def alert_mail_details(username: str, known_account: bool, summary: AlertSummary, *, window_minutes: int,
                       site_timezone: str) -> str:
    """The event record for the e-mail, Chinese first, then English (the mail goes out before anyone chooses a
    language)."""
    tz = ZoneInfo(site_timezone)

    def local(moment: datetime) -> str:
        text = moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %z")
        return f"{text[:-2]}:{text[-2:]}"

    zh_kinds = "、".join(_KIND_WORDS[k][0] for k in summary.kinds)
    en_kinds = ", ".join(_KIND_WORDS[k][1] for k in summary.kinds)
    addresses = ", ".join(summary.source_addresses)
    indices = ", ".join(str(i) for i in summary.event_indices)
    zh_account = username if known_account else f"{username}（无此用户）"
    en_account = username if known_account else f"{username} (no such user)"
    return (
        f"账户：{zh_account}\n类型：{zh_kinds}\n{window_minutes} 分钟内失败次数：{summary.failure_count}\n"
        f"来源地址：{addresses}\n首次：{local(summary.first_failure_at)}\n最近：{local(summary.last_failure_at)}\n"
        f"审计事件序号：{indices}\n\n"
        f"Account: {en_account}\nKind: {en_kinds}\nFailures within {window_minutes} minutes: {summary.failure_count}\n"
        f"Source addresses: {addresses}\nFirst: {local(summary.first_failure_at)}\n"
        f"Last: {local(summary.last_failure_at)}\nAudit event indices: {indices}"
    )

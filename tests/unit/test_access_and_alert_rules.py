"""Rules of issue 18 on plain values (no database): when repeated failures raise an alert (SEC-06), what a service
account may hold (SEC-01) and who decides a requested change of access (SEC-04)."""
from datetime import datetime, timedelta, timezone

import pytest

from gmp_complaints.domain.accounts import (
    AccessDecision,
    AccessRequestStatus,
    AccountType,
    check_access_decider,
    check_account_roles,
    decided_status,
)
from gmp_complaints.domain.errors import PermissionDeniedError, ValidationError
from gmp_complaints.domain.roles import Role
from gmp_complaints.domain.security_alerts import (
    Failure,
    FailureKind,
    account_key,
    alert_due,
    alert_mail_details,
    failure_kind,
    in_window,
    summarise,
)

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=timezone.utc)


def failures(*minutes_ago, kind=FailureKind.login, ip="10.0.0.1"):
    return [Failure(index, NOW - timedelta(minutes=m), kind, ip) for index, m in enumerate(minutes_ago, start=100)]


class TestFailureAlerts:
    @pytest.mark.req("SEC-06")
    def test_the_alert_is_due_at_the_threshold_within_the_window_and_not_below(self):
        assert not alert_due(failures(1, 2), threshold=3, now=NOW, window_minutes=15, last_alert_at=None)
        assert alert_due(failures(1, 2, 14), threshold=3, now=NOW, window_minutes=15, last_alert_at=None)
        # a failure older than the window does not count
        assert not alert_due(failures(1, 2, 16), threshold=3, now=NOW, window_minutes=15, last_alert_at=None)
        assert alert_due(failures(1, 2, 16), threshold=3, now=NOW, window_minutes=20, last_alert_at=None)

    @pytest.mark.req("SEC-06")
    def test_one_alert_per_account_and_window(self):
        assert not alert_due(failures(1, 2, 3, 4), threshold=3, now=NOW, window_minutes=15,
                             last_alert_at=NOW - timedelta(minutes=5))
        # once the window of the last alert has passed, continued failures alert again
        assert alert_due(failures(1, 2, 3), threshold=3, now=NOW, window_minutes=15,
                         last_alert_at=NOW - timedelta(minutes=16))

    def test_log_ins_and_signings_are_told_apart_by_channel(self):
        assert [failure_kind(v) for v in ("web", "api", "session_unlock", "password_change")] == [FailureKind.login] * 4
        assert [failure_kind(v) for v in ("signature", "access_approval", "esignature_statement")] == [
            FailureKind.signing] * 3

    def test_failures_are_counted_by_account_or_by_the_name_attempted(self):
        assert account_key(7, "anything") == "user:7"
        assert account_key(None, " Ghost.User ") == account_key(None, "ghost.user") == "name:ghost.user"

    def test_the_summary_is_the_event_record(self):
        mixed = failures(3, 2, ip="10.0.0.1") + [Failure(200, NOW - timedelta(minutes=1), FailureKind.signing, None)]
        summary = summarise(in_window(mixed, now=NOW, window_minutes=15))
        assert summary.failure_count == 3 and summary.event_indices == (100, 101, 200)
        assert summary.kinds == (FailureKind.login, FailureKind.signing)
        assert summary.source_addresses == ("10.0.0.1", "unknown")
        assert summary.first_failure_at == NOW - timedelta(minutes=3) and summary.last_failure_at == NOW - timedelta(minutes=1)
        text = alert_mail_details("zhang.wei", True, summary, window_minutes=15, site_timezone="Asia/Shanghai")
        assert "zhang.wei" in text and "100, 101, 200" in text and "2026-12-04 09:57:00 +08:00" in text
        assert "登录、签名" in text and "log-in, signing" in text
        assert "(no such user)" in alert_mail_details("ghost", False, summary, window_minutes=15,
                                                      site_timezone="Asia/Shanghai")


class TestAccessRules:
    @pytest.mark.req("SEC-01")
    def test_a_service_account_holds_no_role(self):
        check_account_roles(AccountType.service, [])
        check_account_roles(AccountType.person, [Role.qa_officer])
        with pytest.raises(ValidationError) as refused:
            check_account_roles(AccountType.service, [Role.qa_officer])
        assert "roles" in refused.value.fields

    @pytest.mark.req("SEC-04")
    def test_only_a_head_of_quality_who_neither_asked_nor_is_concerned_decides(self):
        check_access_decider(decider_id=3, decider_roles={Role.qa_head}, requested_by_id=1, target_user_id=2)
        refused = [
            dict(decider_id=3, decider_roles={Role.admin}, requested_by_id=1, target_user_id=2),
            dict(decider_id=3, decider_roles={Role.qa_officer}, requested_by_id=1, target_user_id=2),
            dict(decider_id=1, decider_roles={Role.qa_head}, requested_by_id=1, target_user_id=2),
            dict(decider_id=2, decider_roles={Role.qa_head}, requested_by_id=1, target_user_id=2),
        ]
        for case in refused:
            with pytest.raises(PermissionDeniedError):
                check_access_decider(**case)
        # a new account has nobody concerned yet
        check_access_decider(decider_id=3, decider_roles={Role.qa_head}, requested_by_id=1, target_user_id=None)

    def test_a_decision_ends_the_request(self):
        assert decided_status(AccessDecision.approve) is AccessRequestStatus.approved
        assert decided_status(AccessDecision.reject) is AccessRequestStatus.rejected


@pytest.mark.req("SEC-06")
def test_the_alert_threshold_and_window_are_site_settings(tmp_path):
    from gmp_complaints.config import ConfigurationError, load_settings

    base = {"GMP_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"}
    defaults = load_settings(base)
    assert (defaults.failure_alert_threshold, defaults.failure_alert_window_minutes) == (3, 15)
    site = load_settings({**base, "GMP_FAILURE_ALERT_THRESHOLD": "4", "GMP_FAILURE_ALERT_WINDOW_MINUTES": "30"})
    assert (site.failure_alert_threshold, site.failure_alert_window_minutes) == (4, 30)
    with pytest.raises(ConfigurationError, match="GMP_FAILURE_ALERT_THRESHOLD"):
        load_settings({**base, "GMP_FAILURE_ALERT_THRESHOLD": "0"})

"""Rules of issue 19's account hardening (no database, no Flask): lockout per name and address with a rate limit per
address, the password policy against guessable passwords and its minimum age, the token idle lock and the session's
absolute lifetime, and their configuration."""
from datetime import datetime, timedelta, timezone

import pytest

from gmp_complaints.domain.accounts import (
    FailureCounts,
    LockoutLimits,
    Refusal,
    count_failure,
    normalised_name,
    refusal_before_check,
    retry_after_seconds,
    session_outlived,
    token_idle,
    window_open,
)
from gmp_complaints.domain.passwords import PasswordPolicy, changeable_from, password_problems

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=timezone.utc)
LIMITS = LockoutLimits(per_source=5, per_account=25, source_rate=20, source_window_minutes=15)


class TestLockout:
    @pytest.mark.req("SEC-05")
    def test_the_fifth_failure_from_one_address_locks_the_name_for_that_address_only(self):
        counts = FailureCounts()
        for _ in range(4):
            outcome = count_failure(counts, LIMITS)
            assert not outcome.locks_now
            counts = outcome.counts
        fifth = count_failure(counts, LIMITS)
        assert fifth.locks_for_source and not fifth.locks_everywhere and fifth.counts.name_source == 5

    @pytest.mark.req("SEC-05")
    def test_failures_from_many_addresses_lock_the_name_everywhere_at_the_higher_threshold(self):
        # The 25th failure on the name, the first from this address.
        outcome = count_failure(FailureCounts(name_source=0, name=24, source=0), LIMITS)
        assert outcome.locks_everywhere and not outcome.locks_for_source

    @pytest.mark.req("SEC-05")
    def test_a_lock_is_reported_once_at_the_threshold_not_again_after_it(self):
        assert not count_failure(FailureCounts(5, 5, 5), LIMITS).locks_now

    @pytest.mark.req("SEC-05")
    def test_an_address_reaching_the_rate_limit_is_held_back_before_any_password_check(self):
        assert count_failure(FailureCounts(0, 0, 19), LIMITS).limits_source
        assert refusal_before_check(locked_for_source=False, locked_everywhere=False, source_failures=20,
                                    limits=LIMITS) is Refusal.rate_limited
        # The rate limit comes first: a held-back address learns nothing of locks either.
        assert refusal_before_check(locked_for_source=True, locked_everywhere=True, source_failures=20,
                                    limits=LIMITS) is Refusal.rate_limited
        assert refusal_before_check(locked_for_source=False, locked_everywhere=False, source_failures=19,
                                    limits=LIMITS) is None

    @pytest.mark.req("SEC-05")
    def test_a_name_locked_for_the_address_or_everywhere_is_refused_unchecked(self):
        for for_source, everywhere in ((True, False), (False, True)):
            assert refusal_before_check(locked_for_source=for_source, locked_everywhere=everywhere,
                                        source_failures=0, limits=LIMITS) is Refusal.locked

    def test_the_address_window_runs_from_its_first_failure_and_says_when_to_come_back(self):
        started = NOW - timedelta(minutes=10)
        assert window_open(started, NOW, 15)
        assert not window_open(started, NOW + timedelta(minutes=5), 15)
        assert not window_open(None, NOW, 15)
        assert retry_after_seconds(started, NOW, 15) == 300
        assert retry_after_seconds(started, NOW + timedelta(seconds=299, microseconds=1), 15) == 1
        assert retry_after_seconds(started, NOW + timedelta(minutes=6), 15) == 1  # never 0 or negative

    def test_names_are_counted_as_accounts_store_them(self):
        assert normalised_name("  Li.Na ") == "li.na"
        assert normalised_name(None) == ""
        assert len(normalised_name("x" * 500)) == 64


class TestPasswordPolicy:
    @pytest.mark.req("SEC-05")
    @pytest.mark.parametrize("weak", ["aaaaaaaaaaaa", "123456789012", "abcdefghijkl", "qwertyuiop12",
                                      "Password1234", "iloveyou2026"])
    def test_common_repetitive_and_sequential_passwords_are_refused(self, weak):
        problems = password_problems(PasswordPolicy(), "li.na", weak)
        assert problems and problems[0].startswith("The password is too easy to guess")

    @pytest.mark.req("SEC-05")
    def test_the_reasons_are_told_in_our_words(self):
        assert "Repeated characters or groups (like 'aaaa' or 'abcabc') are easy to guess." in password_problems(
            PasswordPolicy(), "li.na", "aaaaaaaaaaaa")
        assert "Sequences (like 'abcd' or '1234') are easy to guess." in password_problems(
            PasswordPolicy(), "li.na", "123456789012")
        assert "It is built on your user name or your name." in password_problems(
            PasswordPolicy(), "zhang.wei", "zhangwei2026!", user_inputs=["Zhang Wei"])

    @pytest.mark.req("SEC-05")
    def test_the_strength_threshold_is_configuration(self):
        assert password_problems(PasswordPolicy(min_strength=0), "li.na", "aaaaaaaaaaaa") == []
        assert password_problems(PasswordPolicy(min_strength=4), "li.na", "LiNa19850101x")

    @pytest.mark.req("SEC-05")
    def test_a_short_password_is_told_its_length_not_judged_on_strength(self):
        assert password_problems(PasswordPolicy(), "li.na", "aaaa") == ["Use at least 12 characters."]

    @pytest.mark.req("SEC-05")
    def test_the_passwords_the_suite_the_demo_and_the_oq_choose_meet_the_policy(self):
        from gmp_complaints.demo import DEMO_USERS, demo_password
        from gmp_complaints.oq import PASSWORD as OQ_PASSWORD
        from tests.conftest import STRONG_PASSWORD

        chosen = [("li.na", "Li.Na Tester", STRONG_PASSWORD), ("li.na", "Li.Na Tester", "another-long-secret-2026"),
                  ("oq.person", "OQ Person", OQ_PASSWORD),
                  *[("li.na", "Li.Na Tester", f"rotating-secret-{i:02d}") for i in range(1, 6)],
                  *[(username, name, demo_password(role)) for username, name, role in DEMO_USERS]]
        for username, name, password in chosen:
            assert password_problems(PasswordPolicy(), username, password, user_inputs=[name]) == [], password

    @pytest.mark.req("SEC-05")
    def test_a_chosen_password_is_kept_for_the_minimum_age_but_a_temporary_one_is_not(self):
        policy = PasswordPolicy(min_age_days=1)
        assert changeable_from(policy, NOW, is_temporary=False) == NOW + timedelta(days=1)
        assert changeable_from(policy, NOW, is_temporary=True) is None
        assert changeable_from(PasswordPolicy(min_age_days=0), NOW, is_temporary=False) is None


class TestLifetimes:
    @pytest.mark.req("SEC-07")
    def test_a_session_ends_at_its_absolute_lifetime_however_active(self):
        assert not session_outlived(NOW, NOW + timedelta(hours=11, minutes=59), 12)
        assert session_outlived(NOW, NOW + timedelta(hours=12), 12)

    @pytest.mark.req("SEC-07", "SEC-09")
    def test_a_token_unused_for_the_idle_limit_is_idle(self):
        assert not token_idle(NOW, NOW + timedelta(minutes=15), 15)
        assert token_idle(NOW, NOW + timedelta(minutes=15, seconds=1), 15)


class TestConfiguration:
    def test_defaults(self, tmp_path):
        from gmp_complaints.config import load_settings

        settings = load_settings({"GMP_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
        assert settings.lockout_limits == LockoutLimits(5, 25, 20, 15)
        assert (settings.password_policy.min_strength, settings.password_policy.min_age_days) == (3, 1)
        assert (settings.session_max_hours, settings.api_token_idle_minutes, settings.trusted_proxies) == (12, 15, 0)

    def test_settings_are_read_and_checked(self, tmp_path):
        from gmp_complaints.config import ConfigurationError, load_settings

        base = {"GMP_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"}
        settings = load_settings({**base, "GMP_MAX_FAILED_LOGINS": "3", "GMP_ACCOUNT_LOCK_FAILURES": "9",
                                  "GMP_SOURCE_RATE_LIMIT": "50", "GMP_PASSWORD_MIN_AGE_DAYS": "0",
                                  "GMP_PASSWORD_MIN_STRENGTH": "4", "GMP_TRUSTED_PROXIES": "1"})
        assert settings.lockout_limits == LockoutLimits(3, 9, 50, 15)
        assert (settings.password_policy.min_age_days, settings.password_policy.min_strength) == (0, 4)
        assert settings.trusted_proxies == 1
        with pytest.raises(ConfigurationError, match="GMP_ACCOUNT_LOCK_FAILURES"):
            load_settings({**base, "GMP_MAX_FAILED_LOGINS": "5", "GMP_ACCOUNT_LOCK_FAILURES": "4"})
        with pytest.raises(ConfigurationError, match="GMP_PASSWORD_MIN_STRENGTH"):
            load_settings({**base, "GMP_PASSWORD_MIN_STRENGTH": "5"})

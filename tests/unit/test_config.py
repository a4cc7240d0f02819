"""Configuration from the environment (no database, no Flask)."""
from datetime import date

import pytest

from gmp_complaints.config import ConfigurationError, load_settings


def test_defaults_are_safe(tmp_path):
    settings = load_settings({"GMP_INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'gmp.sqlite3'}"
    assert settings.site_timezone == "Asia/Shanghai"
    assert settings.default_locale == "zh_CN"
    assert settings.environment == "production"
    assert (settings.password_policy.min_length, settings.password_policy.history_size,
            settings.password_policy.max_age_days) == (12, 5, 90)
    assert (settings.max_failed_logins, settings.idle_lock_minutes) == (5, 15)


def test_secret_key_is_generated_once_into_the_instance_folder_and_private(tmp_path):
    first = load_settings({"GMP_INSTANCE_PATH": str(tmp_path)}).secret_key
    second = load_settings({"GMP_INSTANCE_PATH": str(tmp_path)}).secret_key
    other = load_settings({"GMP_INSTANCE_PATH": str(tmp_path / "other")}).secret_key
    assert first == second and first != other and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_postgres_urls_use_psycopg3(tmp_path):
    settings = load_settings({"GMP_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgresql://u@h/db"})
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(("name", "value", "needle"), [
    ("GMP_SITE_TIMEZONE", "Mars/Olympus", "GMP_SITE_TIMEZONE"),
    ("GMP_DEFAULT_LOCALE", "fr", "GMP_DEFAULT_LOCALE"),
    ("GMP_MAX_FAILED_LOGINS", "five", "GMP_MAX_FAILED_LOGINS"),
    ("GMP_PASSWORD_MIN_LENGTH", "4", "GMP_PASSWORD_MIN_LENGTH"),
    ("GMP_ENV", "staging", "GMP_ENV"),
])
def test_bad_settings_name_the_variable(tmp_path, name, value, needle):
    with pytest.raises(ConfigurationError, match=needle):
        load_settings({"GMP_INSTANCE_PATH": str(tmp_path), name: value})


def test_business_today_can_be_pinned_only_in_the_test_environment(tmp_path):
    from gmp_complaints.clock import business_today

    with pytest.raises(ConfigurationError, match="GMP_TODAY"):
        load_settings({"GMP_INSTANCE_PATH": str(tmp_path), "GMP_TODAY": "2026-10-01"})
    pinned = load_settings({"GMP_INSTANCE_PATH": str(tmp_path), "GMP_TODAY": "2026-10-01", "GMP_ENV": "test"})
    assert business_today(pinned) == date(2026, 10, 1)


def test_retention_rule_d_and_scheduled_backups_are_off_unless_configured(tmp_path):
    default = load_settings({"GMP_INSTANCE_PATH": str(tmp_path)})
    assert default.retention_eu_batch_documentation is False and default.backup_dir is None
    assert (default.backup_every_days, default.backup_keep) == (1, 7)
    configured = load_settings({"GMP_INSTANCE_PATH": str(tmp_path), "GMP_RETENTION_EU_BATCH_DOCUMENTATION": "true",
                                "GMP_BACKUP_DIR": str(tmp_path / "b"), "GMP_BACKUP_EVERY_DAYS": "0",
                                "GMP_BACKUP_KEEP": "30"})
    assert configured.retention_eu_batch_documentation is True and configured.backup_dir == tmp_path / "b"
    assert (configured.backup_every_days, configured.backup_keep) == (0, 30)
    for name, value in (("GMP_RETENTION_EU_BATCH_DOCUMENTATION", "maybe"), ("GMP_BACKUP_KEEP", "0"),
                        ("GMP_BACKUP_EVERY_DAYS", "-1")):
        with pytest.raises(ConfigurationError, match=name):
            load_settings({"GMP_INSTANCE_PATH": str(tmp_path), name: value})

"""Configuration from environment variables, with safe defaults.

Everything a site may tune is read here once, when the app or the CLI starts; nothing else reads
``os.environ``. Secrets are never constants: the Flask secret key is generated into the instance
folder the first time it is needed.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gmp_complaints.domain.accounts import LockoutLimits
from gmp_complaints.domain.passwords import PasswordPolicy
from gmp_complaints.domain.plausibility import EARLIEST_DATE

SUPPORTED_LOCALES = ("zh_CN", "en")


class ConfigurationError(Exception):
    """A setting is missing or malformed; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    secret_key: str
    site_timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    environment: str = "production"
    password_policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    # Annex 11 §12 / 21 CFR 11.300(d): lock after N consecutive failures; only an admin unlocks. Counted per user name
    # and source address: the name locks for that address (services/accounts.py says why).
    max_failed_logins: int = 5
    #: consecutive failures on one user name from all addresses that lock it everywhere
    account_lock_failures: int = 25
    #: failed log-ins and signings from one address (any names) within the window before it gets 429
    source_rate_limit: int = 20
    source_rate_window_minutes: int = 15
    idle_lock_minutes: int = 15
    #: a browser session ends this long after its log-in, however active (absolute lifetime)
    session_max_hours: int = 12
    #: an API token unused this long is refused (401 token_idle)
    api_token_idle_minutes: int = 15
    #: the app runs behind this many reverse proxies, whose X-Forwarded-For / -Proto it trusts (0: none, direct)
    trusted_proxies: int = 0
    #: Strict-Transport-Security max-age sent on HTTPS answers (never over plain http)
    hsts_max_age_seconds: int = 31536000
    #: 21 CFR 11.300(d) (SEC-06): this many failed log-ins or signings on one account (or one unknown user name)
    #: within the window raise an alert to the administrators and the head of quality at once
    failure_alert_threshold: int = 3
    failure_alert_window_minutes: int = 15
    api_token_hours: int = 8
    temporary_password_hours: int = 72
    session_cookie_secure: bool = False
    # DESIGN §6: the business "today" can be pinned only in a test environment.
    today_override: date | None = None
    #: no complaint is recorded as received before this day (GMP_EARLIEST_RECEIVED_ON): the site's first records
    earliest_received_on: date = EARLIEST_DATE
    #: names this site's audit log in its signed checkpoints (C2SP origin and key name)
    site_id: str = "gmp-site"
    signing_key_path: Path | None = None
    checkpoint_every_events: int = 1000
    checkpoint_every_minutes: int = 5
    #: issue 19: every checkpoint is also appended to files in this folder, outside the database (None: the instance
    #: folder's ``audit-checkpoints``); with several app machines, a folder on storage they share
    checkpoint_dir_path: Path | None = None
    #: fsync each appended checkpoint (off only where a power loss does not matter: the test suite)
    checkpoint_fsync: bool = True
    #: Fernet keys for complainant personal data (comma-separated, newest first); else the key file
    personal_data_keys: str | None = None

    attachment_max_mb: int = 20
    #: outgoing mail (customer reminders); without a host, reminders are recorded but not e-mailed
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "qa@localhost"
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    #: the letterhead of letters to customers (replies, reminders): company, address, telephone
    company_name: str | None = None
    company_address: str | None = None
    company_phone: str | None = None
    #: SOP 5.6.1 as a control: every reply is a report approved by the head of quality and sent by sales
    #: (off: a reply may be recorded as sent without a prior approval, the DESIGN §6 contract's minimum)
    reply_approval_required: bool = False
    #: the address people reach the app at: the links in e-mailed notices
    public_url: str = "http://127.0.0.1:5000"
    #: how often `gmp tick` re-hashes the stored records and verifies the log and signatures (RET-03)
    verify_storage_every_days: int = 7
    #: RET-01 (d): the site's SOP files the complaint as batch documentation of EU-certified batches, so it is
    #: kept at least 5 years after each linked batch's QP certification (EU GMP Chapter 4 §4.11)
    retention_eu_batch_documentation: bool = False
    #: RET-04: `gmp tick` writes a backup into this folder (None: no scheduled backups) ...
    backup_dir: Path | None = None
    #: ... every this many days (0: at every tick) ...
    backup_every_days: int = 1
    #: ... and keeps the newest this many there
    backup_keep: int = 7

    @property
    def attachment_root(self) -> Path:
        return self.instance_path / "attachments"

    @property
    def personal_data_key_file(self) -> Path:
        return self.instance_path / "keys" / "personal-data.keys"

    @property
    def audit_origin(self) -> str:
        return f"{self.site_id}/gmp-audit/v1"

    @property
    def checkpoint_dir(self) -> Path:
        return self.checkpoint_dir_path or self.instance_path / "audit-checkpoints"

    @property
    def signing_key_file(self) -> Path:
        return self.signing_key_path or self.instance_path / "keys" / "audit-signing-key.pem"

    @property
    def lockout_limits(self) -> LockoutLimits:
        return LockoutLimits(per_source=self.max_failed_logins, per_account=self.account_lock_failures,
                             source_rate=self.source_rate_limit, source_window_minutes=self.source_rate_window_minutes)

    @property
    def is_test(self) -> bool:
        return self.environment == "test"

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)


def _int(env: dict, name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _earliest_received_on(env: dict) -> date:
    """GMP_EARLIEST_RECEIVED_ON (YYYY-MM-DD): a registration received before it is refused. Never before 2000: the
    complaint number's two-digit year could not tell the century."""
    raw = (env.get("GMP_EARLIEST_RECEIVED_ON") or "").strip()
    if not raw:
        return EARLIEST_DATE
    try:
        value = date.fromisoformat(raw) if len(raw) == 10 and raw[4] == raw[7] == "-" else None
    except ValueError:
        value = None
    if value is None:
        raise ConfigurationError(f"GMP_EARLIEST_RECEIVED_ON must be a date YYYY-MM-DD, got {raw!r}")
    if value < EARLIEST_DATE:
        raise ConfigurationError(f"GMP_EARLIEST_RECEIVED_ON cannot be before {EARLIEST_DATE.isoformat()}: the "
                                 f"complaint number's two-digit year could not tell the century, got {raw!r}")
    return value


def _secret_key(instance_path: Path) -> str:
    """Read the instance's secret key, creating it (mode 0600) on first use."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def load_settings(env: dict | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    instance_path = Path(env.get("GMP_INSTANCE_PATH") or "instance").resolve()
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)  # the owner's alone, whatever the umask

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'gmp.sqlite3'}"
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; SQLAlchemy's bare scheme would look for psycopg2.
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    site_timezone = env.get("GMP_SITE_TIMEZONE") or "Asia/Shanghai"
    try:
        ZoneInfo(site_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"GMP_SITE_TIMEZONE is not a known time zone: {site_timezone!r}") from None

    default_locale = (env.get("GMP_DEFAULT_LOCALE") or "zh_CN").replace("-", "_")
    if default_locale not in SUPPORTED_LOCALES:
        raise ConfigurationError(f"GMP_DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}")

    environment = env.get("GMP_ENV") or "production"
    if environment not in ("production", "development", "test"):
        raise ConfigurationError("GMP_ENV must be production, development or test")

    today_override = None
    if env.get("GMP_TODAY"):
        if environment != "test":
            raise ConfigurationError("GMP_TODAY is refused unless GMP_ENV=test")
        try:
            today_override = date.fromisoformat(env["GMP_TODAY"])
        except ValueError:
            raise ConfigurationError(f"GMP_TODAY must be YYYY-MM-DD, got {env['GMP_TODAY']!r}") from None

    policy = PasswordPolicy(
        min_length=_int(env, "GMP_PASSWORD_MIN_LENGTH", 12, minimum=8),
        history_size=_int(env, "GMP_PASSWORD_HISTORY", 5, minimum=0),
        max_age_days=_int(env, "GMP_PASSWORD_MAX_AGE_DAYS", 90),
        min_strength=_int(env, "GMP_PASSWORD_MIN_STRENGTH", 3, minimum=0),
        min_age_days=_int(env, "GMP_PASSWORD_MIN_AGE_DAYS", 1, minimum=0),
    )
    if policy.min_strength > 4:
        raise ConfigurationError(f"GMP_PASSWORD_MIN_STRENGTH is a zxcvbn score from 0 to 4, got {policy.min_strength}")
    max_failed_logins = _int(env, "GMP_MAX_FAILED_LOGINS", 5)
    account_lock_failures = _int(env, "GMP_ACCOUNT_LOCK_FAILURES", max(25, max_failed_logins),
                                 minimum=max_failed_logins)

    return Settings(
        instance_path=instance_path,
        database_url=database_url,
        secret_key=env.get("SECRET_KEY") or _secret_key(instance_path),
        site_timezone=site_timezone,
        default_locale=default_locale,
        environment=environment,
        password_policy=policy,
        max_failed_logins=max_failed_logins,
        account_lock_failures=account_lock_failures,
        source_rate_limit=_int(env, "GMP_SOURCE_RATE_LIMIT", 20),
        source_rate_window_minutes=_int(env, "GMP_SOURCE_RATE_WINDOW_MINUTES", 15),
        idle_lock_minutes=_int(env, "GMP_IDLE_LOCK_MINUTES", 15),
        session_max_hours=_int(env, "GMP_SESSION_MAX_HOURS", 12),
        api_token_idle_minutes=_int(env, "GMP_API_TOKEN_IDLE_MINUTES", 15),
        trusted_proxies=_int(env, "GMP_TRUSTED_PROXIES", 0, minimum=0),
        hsts_max_age_seconds=_int(env, "GMP_HSTS_MAX_AGE_SECONDS", 31536000),
        failure_alert_threshold=_int(env, "GMP_FAILURE_ALERT_THRESHOLD", 3),
        failure_alert_window_minutes=_int(env, "GMP_FAILURE_ALERT_WINDOW_MINUTES", 15),
        api_token_hours=_int(env, "GMP_API_TOKEN_HOURS", 8),
        temporary_password_hours=_int(env, "GMP_TEMPORARY_PASSWORD_HOURS", 72),
        session_cookie_secure=env.get("GMP_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
        today_override=today_override,
        earliest_received_on=_earliest_received_on(env),
        site_id=_site_id(env.get("GMP_SITE_ID") or "gmp-site"),
        signing_key_path=Path(env["GMP_SIGNING_KEY_PATH"]).resolve() if env.get("GMP_SIGNING_KEY_PATH") else None,
        checkpoint_every_events=_int(env, "GMP_CHECKPOINT_EVERY_EVENTS", 1000),
        checkpoint_every_minutes=_int(env, "GMP_CHECKPOINT_EVERY_MINUTES", 5),
        checkpoint_dir_path=Path(env["GMP_CHECKPOINT_DIR"]).resolve() if env.get("GMP_CHECKPOINT_DIR") else None,
        checkpoint_fsync=_flag(env, "GMP_CHECKPOINT_FSYNC") if env.get("GMP_CHECKPOINT_FSYNC") else True,
        personal_data_keys=env.get("GMP_PERSONAL_DATA_KEYS") or None,
        attachment_max_mb=_int(env, "GMP_ATTACHMENT_MAX_MB", 20),
        smtp_host=env.get("GMP_SMTP_HOST") or None,
        smtp_port=_int(env, "GMP_SMTP_PORT", 25),
        smtp_sender=env.get("GMP_SMTP_FROM") or "qa@localhost",
        smtp_starttls=env.get("GMP_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
        smtp_user=env.get("GMP_SMTP_USER") or None,
        smtp_password=env.get("GMP_SMTP_PASSWORD") or None,
        company_name=env.get("GMP_COMPANY_NAME") or None,
        company_address=env.get("GMP_COMPANY_ADDRESS") or None,
        company_phone=env.get("GMP_COMPANY_PHONE") or None,
        reply_approval_required=env.get("GMP_REPLY_APPROVAL_REQUIRED", "").lower() in ("1", "true", "yes"),
        public_url=(env.get("GMP_PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/"),
        verify_storage_every_days=_int(env, "GMP_VERIFY_STORAGE_EVERY_DAYS", 7),
        retention_eu_batch_documentation=_flag(env, "GMP_RETENTION_EU_BATCH_DOCUMENTATION"),
        backup_dir=Path(env["GMP_BACKUP_DIR"]).resolve() if env.get("GMP_BACKUP_DIR") else None,
        backup_every_days=_int(env, "GMP_BACKUP_EVERY_DAYS", 1, minimum=0),
        backup_keep=_int(env, "GMP_BACKUP_KEEP", 7),
    )


def _flag(env: dict, name: str) -> bool:
    """A yes/no setting: true/1/yes or false/0/no (or unset: no); anything else is refused by name."""
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigurationError(f"{name} must be true or false, got {env[name]!r}")


def _site_id(value: str) -> str:
    # It becomes the first line of every checkpoint: one line, no spaces, printable ASCII.
    if not all(33 <= ord(c) < 127 for c in value):
        raise ConfigurationError(f"GMP_SITE_ID must be printable ASCII without spaces, got {value!r}")
    return value

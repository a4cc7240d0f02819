"""Web layer: pages, the JSON API, access control, security headers, language and time display."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_babel import get_locale
from flask_login import UserMixin, current_user

from gmp_complaints.audit_text import stored_text
from gmp_complaints.config import SUPPORTED_LOCALES
from gmp_complaints.domain.roles import ROLE_LABELS, Role
from gmp_complaints.extensions import babel, csrf, login_manager
from gmp_complaints.services import accounts
from gmp_complaints.services.accounts import Principal
from gmp_complaints.web.access import access_for, may_reach, service_may_reach
from gmp_complaints.web.errors import forbidden, register_error_handlers

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class WebUser(UserMixin):
    """flask-login's view of a browser session; its id is the session token, not the user id."""

    def __init__(self, principal: Principal, session_token: str):
        self.principal = principal
        self.session_token = session_token

    def get_id(self) -> str:
        return self.session_token

    def __getattr__(self, name):
        return getattr(self.principal, name)


def uow():
    from gmp_complaints import unit_of_work

    # Events with no signed-in user (a failed log-in) are attributed to this label, with the address.
    unit = unit_of_work(current_app, system_actor="not signed in (web)")
    unit.client_address = client_ip()
    return unit


def settings():
    return current_app.config["GMP_SETTINGS"]


def client_ip() -> str | None:
    """The peer's address; behind ``GMP_TRUSTED_PROXIES`` proxies the forwarded one (``create_app`` installs
    ProxyFix only then, so a client cannot forge X-Forwarded-For to dodge the per-address lockout)."""
    return request.remote_addr


def principal() -> Principal | None:
    """The user of this request: the bearer token's for the API, the session's for pages."""
    if "principal" in g:
        return g.principal
    if current_user.is_authenticated:
        return current_user.principal
    return None


def select_locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in SUPPORTED_LOCALES else settings().default_locale


def format_datetime_local(value: datetime | str | None) -> str:
    """An instant in the site time zone with its offset, e.g. ``2026-11-22 13:31:36 +08:00``; an ISO 8601
    text (as the services' views carry instants) is read first."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = value.astimezone(ZoneInfo(settings().site_timezone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def format_datetime_iso(value: datetime) -> str:
    """ISO 8601 in the site time zone with its offset, for the API."""
    return value.astimezone(ZoneInfo(settings().site_timezone)).isoformat()


def enforce_access():
    """Refuse, before the view runs, every request the matrix does not allow."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # unknown URL: Flask answers 404
    access = access_for(endpoint)
    if access is None:
        return forbidden("This page is not in the authorisation matrix.")
    if access.public:
        return None
    is_api = endpoint.startswith("api_v1.")
    if is_api:
        from gmp_complaints.web.bearer import authenticate_bearer

        refusal = authenticate_bearer(access, uow())
        if refusal is not None:
            return refusal
        user = g.principal
    else:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        user = current_user.principal
        if user.idle_locked and not access.while_idle_locked:
            return redirect(url_for("auth.lock", next=request.full_path if request.method == "GET" else None))
        if user.password_change_reason is not None and not access.during_password_change:
            return redirect(url_for("auth.change_password"))
    if user.is_service:
        # SEC-01: a system integration reaches its master-data calls and nothing else (no GMP act, no signature).
        if service_may_reach(endpoint):
            return None
        accounts.record_refused_access(uow(), user_id=user.id, endpoint=endpoint, method=request.method,
                                       source_ip=client_ip())
        return forbidden("A service account may only call the master-data integration (products, batches, "
                         "distributions).")
    if not user.has_any_role(access.roles):
        # A refused access is a security event of its own (it changes nothing else).
        accounts.record_refused_access(uow(), user_id=user.id, endpoint=endpoint, method=request.method,
                                       source_ip=client_ip())
        return forbidden("Your role does not allow this.")
    return None


def security_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "static":
        # GMP records and one-time passwords must not linger in shared caches or the back button.
        response.headers["Cache-Control"] = "no-store"
    if request.is_secure:
        # Only over HTTPS (directly, or as a trusted proxy forwards it): over plain http the header means nothing
        # and would pin a site that has no certificate yet.
        response.headers["Strict-Transport-Security"] = f"max-age={settings().hsts_max_age_seconds}"
    return response


def init_web(app: Flask) -> None:
    from gmp_complaints.web.bounds import bound_request, install_request_bounds

    install_request_bounds(app)  # before any route: the ``int`` converter every route's ids go through
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_token: str):
        principal = accounts.load_session_principal(uow(), session_token)
        return WebUser(principal, session_token) if principal else None

    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: settings().site_timezone)

    # Access control runs before CSRF, so a refused role gets 403 whatever it posted.
    app.before_request(enforce_access)
    app.before_request(bound_request)  # issue 19: sizes, depth and characters, before CSRF and every view read them
    csrf.init_app(app)
    app.after_request(security_headers)

    app.jinja_env.filters["localtime"] = format_datetime_local
    # what the system stored in English (a reason, a rule, a bilingual authority name), in the page language
    app.jinja_env.filters["stored_text"] = stored_text
    app.jinja_env.globals.update(
        may_reach=may_reach,
        ROLE_LABELS=ROLE_LABELS,
        ALL_ROLES=list(Role),
        SUPPORTED_LOCALES=SUPPORTED_LOCALES,
        current_locale=lambda: str(get_locale()),
        gmp_settings=settings,
        nav_counts=nav_counts,
    )

    from gmp_complaints.web.account import bp as account_bp
    from gmp_complaints.web.admin import bp as admin_bp
    from gmp_complaints.web.attachments import bp as attachments_bp
    from gmp_complaints.web.audit import bp as audit_bp
    from gmp_complaints.web.auth import bp as auth_bp
    from gmp_complaints.web.capa import bp as capa_bp
    from gmp_complaints.web.complaints import bp as complaints_bp
    from gmp_complaints.web.documents import bp as documents_bp
    from gmp_complaints.web.jobs import bp as jobs_bp
    from gmp_complaints.web.main import bp as main_bp
    from gmp_complaints.web.master_data import bp as master_data_bp
    from gmp_complaints.web.recalls import bp as recalls_bp
    from gmp_complaints.web.returns import bp as returns_bp
    from gmp_complaints.web.security import bp as security_bp
    from gmp_complaints.web.trends import bp as trends_bp

    for blueprint in (auth_bp, main_bp, account_bp, admin_bp, audit_bp, complaints_bp, master_data_bp, attachments_bp,
                      capa_bp, recalls_bp, returns_bp, documents_bp, jobs_bp, trends_bp, security_bp):
        app.register_blueprint(blueprint)
    register_error_handlers(app)


#: the navigation shows counts up to this, then "99+"
NAV_COUNT_CAP = 99


def nav_counts() -> dict:
    """The counts on the navigation: my unread notices, and the signatures waiting for me."""
    from gmp_complaints.domain.roles import SIGNING_ROLES
    from gmp_complaints.services import notices
    from gmp_complaints.services.waiting import waiting_for_signature

    if not current_user.is_authenticated or current_user.idle_locked:
        return {}
    counts = {"notices": min(notices.unread_count(uow(), current_user.id), NAV_COUNT_CAP + 1)}
    if set(current_user.roles) & SIGNING_ROLES:
        counts["waiting"] = len(waiting_for_signature(uow(), user_id=current_user.id, limit=NAV_COUNT_CAP + 1))
    return counts

"""The application factory: the Flask app with its database engine, pages and API."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from gmp_complaints.config import Settings, load_settings
from gmp_complaints.db import make_engine, make_session_factory

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def resource_dir(name: str) -> Path:
    """``migrations`` or ``templates``: inside the package when installed from the wheel, else the checkout's
    top-level folder (an editable install or the source tree)."""
    installed = Path(__file__).resolve().parent / name
    return installed if installed.is_dir() else PROJECT_ROOT / name


def create_app(settings: Settings | None = None) -> Flask:
    """Create and configure an instance of the Flask application."""
    restrict_new_files()
    settings = settings or load_settings()
    app = Flask(
        "gmp_complaints",
        instance_path=str(settings.instance_path),
        template_folder=str(resource_dir("templates")),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        GMP_SETTINGS=settings,
        SESSION_COOKIE_NAME="gmp_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (idle-locked) session
        # MAX_CONTENT_LENGTH follows GMP_ATTACHMENT_MAX_MB: set with the other request bounds (web/bounds.py)
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.site_timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
    )
    engine = make_engine(settings.database_url)
    app.extensions["gmp_engine"] = engine
    app.extensions["gmp_session_factory"] = make_session_factory(engine)

    _log_to_stderr()
    from gmp_complaints.api import api_v1
    from gmp_complaints.extensions import csrf
    from gmp_complaints.web import init_web

    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Believed only when configured: the client address (lockout per address) and the scheme (HSTS).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    init_web(app)  # pages, the authorisation matrix, error handlers
    csrf.exempt(api_v1)  # bearer tokens, not cookies: no cross-site request can carry them
    app.register_blueprint(api_v1)  # the API uses the web layer's matrix; the web layer never imports the API
    return app


def restrict_new_files() -> None:
    """Files and folders this process creates (database, keys, attachments, backups, the instance folder) are the
    owner's alone: the database holds personal data and the keys sign the audit log."""
    os.umask(0o077)


def _log_to_stderr() -> None:
    """Application and security events go to stderr (gunicorn's error log) unless logging is set up."""
    logger = logging.getLogger("gmp")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def unit_of_work(app: Flask, system_actor: str = "system"):
    from gmp_complaints.uow import UnitOfWork

    return UnitOfWork(app.extensions["gmp_session_factory"], app.config["GMP_SETTINGS"], system_actor=system_actor)

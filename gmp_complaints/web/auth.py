"""Log-in, log-out, idle lock, password change and language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from gmp_complaints.config import SUPPORTED_LOCALES
from gmp_complaints.domain.accounts import PasswordChangeReason
from gmp_complaints.domain.errors import (
    AccountLockedError,
    AuthenticationError,
    ConflictError,
    PermissionDeniedError,
    TooManyAttemptsError,
    ValidationError,
)
from gmp_complaints.i18n import translate
from gmp_complaints.services import accounts
from gmp_complaints.web import WebUser, client_ip, uow
from gmp_complaints.web.forms import ChangePasswordForm, LoginForm, UnlockForm
from gmp_complaints.web.i18n import add_field_errors

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only local paths: an open redirect after log-in would be a phishing aid."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("main.dashboard")


def end_locked_session(exc: AccountLockedError):
    """The account locked during a password re-entry: the session ends and the log-in page says why."""
    logout_user()
    session.clear()
    flash(translate(exc.message), "error")
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("main.dashboard"))
    if form.validate_on_submit():
        try:
            result = accounts.log_in(
                uow(), username=form.username.data, password=form.password.data, source_ip=client_ip()
            )
        except (AuthenticationError, AccountLockedError, PermissionDeniedError, TooManyAttemptsError) as exc:
            # A wrong password answers 200 with the form (as before); a locked account 423; a service account,
            # which never uses the pages (SEC-01), 403; an address held back after too many failures 429.
            form.form_errors.append(translate(exc.message))
            page = render_template("auth/login.html", form=form, locked=isinstance(exc, AccountLockedError))
            if isinstance(exc, TooManyAttemptsError):
                return page, exc.http_status, {"Retry-After": str(exc.retry_after_seconds)}
            return page, (200 if isinstance(exc, AuthenticationError) else exc.http_status)
        lang = session.get("lang")
        # A fresh session at log-in: nothing from before the log-in survives (session fixation).
        session.clear()
        if lang:
            session["lang"] = lang
        login_user(WebUser(result.principal, result.session_token))
        if result.principal.password_change_reason is not None:
            return redirect(url_for("auth.change_password"))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form, locked=False)


@bp.route("/logout", methods=["POST"])
def logout():
    accounts.log_out(uow(), session_token=current_user.session_token, source_ip=client_ip())
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lock", methods=["GET", "POST"])
def lock():
    """The idle lock screen: the same user unlocks with the password, or logs out."""
    form = UnlockForm()
    if not current_user.idle_locked and request.method == "GET":
        return redirect(url_for("main.dashboard"))
    if form.validate_on_submit():
        try:
            accounts.unlock_idle_session(
                uow(), session_token=current_user.session_token, password=form.password.data, source_ip=client_ip()
            )
        except AuthenticationError as exc:
            form.password.errors = [translate(exc.message)]
        except (AccountLockedError, ConflictError) as exc:
            return end_locked_session(exc)
        else:
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/lock.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                uow(),
                username=current_user.username,
                old_password=form.old_password.data,
                new_password=form.new_password.data,
                source_ip=client_ip(),
                keep_session_token=current_user.session_token,
            )
        except AuthenticationError:
            form.old_password.errors = [_("The current password is not correct.")]
        except AccountLockedError as exc:
            return end_locked_session(exc)
        except ValidationError as exc:
            add_field_errors(form, exc.fields)
        else:
            flash(_("Your password has been changed."), "info")
            return redirect(url_for("main.dashboard"))
    reason = current_user.password_change_reason
    return render_template(
        "auth/change_password.html",
        form=form,
        forced_reason=reason.value if isinstance(reason, PasswordChangeReason) else None,
    )


@bp.route("/language", methods=["POST"])
def set_language():
    lang = request.form.get("lang", "")
    if lang in SUPPORTED_LOCALES:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))

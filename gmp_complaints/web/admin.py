"""User administration (Annex 11 §12.3): unlock, reset, verify identity, the notice address; and the requests to
create an account, grant or withdraw roles and deactivate, which take effect when the head of quality approves them
(SEC-04)."""
from __future__ import annotations

import hashlib
import io

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audit.service import record_export
from gmp_complaints.domain.errors import ConflictError, NotFoundError, ValidationError
from gmp_complaints.domain.plausibility import EARLIEST_DATE, LATEST_DATE
from gmp_complaints.i18n import translate
from gmp_complaints.services import access_requests, accounts
from gmp_complaints.spreadsheets import CsvWriter, csv_bytes
from gmp_complaints.web import client_ip, format_datetime_local, uow
from gmp_complaints.web.bounds import number_or_text, query_number
from gmp_complaints.web.forms import EmailForm, NewUserForm, ReasonForm, RolesForm
from gmp_complaints.web.i18n import add_field_errors
from gmp_complaints.web.security import access_labels

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
def users():
    overview = access_requests.users_overview(uow())
    return render_template("admin/users.html", users=overview["users"], pending=overview["pending"],
                           access_labels=access_labels())


@bp.route("/users.csv")
def users_csv():
    """The list of authorised users and their roles, for periodic access review."""
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    writer.writerow([
        "username", "printed_name", "roles", "status", "locked", "identity_verified_at",
        "esignature_accepted_at", "last_login_at", "created_at", "deactivated_at", "account_type",
    ])
    users = accounts.list_users(uow())
    for user in users:
        writer.writerow([
            user.username, user.printed_name, " ".join(user.roles), "active" if user.is_active else "deactivated",
            "yes" if user.is_locked else "no", format_datetime_local(user.identity_verified_at),
            format_datetime_local(user.esignature_accepted_at), format_datetime_local(user.last_login_at),
            format_datetime_local(user.created_at), format_datetime_local(user.deactivated_at), user.account_type,
        ])
    data = csv_bytes(buffer.getvalue())
    record_export(uow(), action="audit.users_exported", actor_id=current_user.id, scope={"scope": "users"},
                  file_sha256=hashlib.sha256(data).hexdigest(), event_count=len(users), source_ip=client_ip())
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=authorised-users.csv"},
    )


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """The request for a new account (SEC-04): its temporary password is shown now, to hand over; the account
    exists once the head of quality approves."""
    form = NewUserForm()
    status = 200
    if form.validate_on_submit():
        try:
            requested = access_requests.request_access_change(uow(), {
                "kind": "create_user", "reason": form.reason.data, "username": form.username.data,
                "printed_name": form.printed_name.data, "roles": form.roles.data,
                "account_type": form.account_type.data or "person", "email": form.email.data or None,
                "identity_verified": bool(form.identity_verified.data)}, actor_id=current_user.id)
        except ValidationError as exc:
            add_field_errors(form, exc.fields)
        except ConflictError as exc:
            form.form_errors.append(translate(exc.message))
            status = 409
        else:
            return render_template("admin/temporary_password.html", credentials=requested, created=True,
                                   request=requested)
    return render_template("admin/new_user.html", form=form), status


def _user_page(user_id: int, **forms):
    overview = access_requests.user_overview(uow(), user_id)
    user = overview["user"]
    roles_form = forms.get("roles_form") or RolesForm(prefix="roles", data={"roles": list(user.roles)})
    return render_template(
        "admin/user.html",
        user=user,
        pending=overview["pending"],
        decided=overview["decided"],
        access_labels=access_labels(),
        roles_form=roles_form,
        deactivate_form=forms.get("deactivate_form") or ReasonForm(prefix="deactivate"),
        unlock_form=forms.get("unlock_form") or ReasonForm(prefix="unlock"),
        reset_form=forms.get("reset_form") or ReasonForm(prefix="reset"),
        verify_form=forms.get("verify_form") or ReasonForm(prefix="verify"),
        email_form=forms.get("email_form") or EmailForm(prefix="email", data={"email": user.email or ""}),
    )


@bp.route("/users/<int:user_id>")
def user(user_id: int):
    return _user_page(user_id)


def _admin_action(user_id: int, form, form_key: str, run, on_success):
    """Run one administrative action; field errors go back next to the field, a refused state is 409."""
    if form.validate_on_submit():
        try:
            result = run(form)
        except ValidationError as exc:
            add_field_errors(form, exc.fields)
        except ConflictError as exc:
            flash(translate(exc.message), "error")
            return _user_page(user_id), 409
        else:
            return on_success(result)
    return _user_page(user_id, **{form_key: form}), 400


def _reason_action(user_id: int, prefix: str, action, done_message: str):
    def done(_result):
        flash(done_message, "info")
        return redirect(url_for("admin.user", user_id=user_id))

    return _admin_action(
        user_id, ReasonForm(prefix=prefix), f"{prefix}_form",
        lambda form: action(uow(), actor_id=current_user.id, user_id=user_id, reason=form.reason.data),
        done,
    )


def _requested(user_id: int):
    def done(_result):
        flash(_("The change is requested. It takes effect when the head of quality approves it."), "info")
        return redirect(url_for("admin.user", user_id=user_id))

    return done


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
def change_roles(user_id: int):
    """A request to grant or withdraw roles (SEC-04): effective on the head of quality's approval."""
    return _admin_action(
        user_id, RolesForm(prefix="roles"), "roles_form",
        lambda form: access_requests.request_access_change(uow(), {
            "kind": "change_roles", "user_id": user_id, "roles": form.roles.data, "reason": form.reason.data},
            actor_id=current_user.id),
        _requested(user_id),
    )


@bp.route("/users/<int:user_id>/email", methods=["POST"])
def change_email(user_id: int):
    def done(_result):
        flash(_("The notice e-mail address has been changed."), "info")
        return redirect(url_for("admin.user", user_id=user_id))

    return _admin_action(
        user_id, EmailForm(prefix="email"), "email_form",
        lambda form: accounts.change_email(uow(), actor_id=current_user.id, user_id=user_id,
                                           email=form.email.data or None, reason=form.reason.data),
        done,
    )


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate(user_id: int):
    """A request to deactivate the account (SEC-04): effective on the head of quality's approval."""
    return _admin_action(
        user_id, ReasonForm(prefix="deactivate"), "deactivate_form",
        lambda form: access_requests.request_access_change(uow(), {
            "kind": "deactivate_user", "user_id": user_id, "reason": form.reason.data}, actor_id=current_user.id),
        _requested(user_id),
    )


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
def unlock(user_id: int):
    return _reason_action(user_id, "unlock", accounts.unlock_user, _("The account has been unlocked."))


@bp.route("/users/<int:user_id>/verify-identity", methods=["POST"])
def verify_identity(user_id: int):
    return _reason_action(
        user_id, "verify", accounts.record_identity_verification, _("The identity verification has been recorded.")
    )


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
def reset_password(user_id: int):
    return _admin_action(
        user_id, ReasonForm(prefix="reset"), "reset_form",
        lambda form: accounts.reset_password(uow(), actor_id=current_user.id, user_id=user_id, reason=form.reason.data),
        lambda credentials: render_template("admin/temporary_password.html", credentials=credentials, created=False),
    )


@bp.route("/calendar", methods=["GET", "POST"])
def calendar():
    """The site's working-day calendar: each year's days and status; the official notice loads as CSV."""
    from gmp_complaints.clock import business_today
    from gmp_complaints.domain.calendar import CalendarImportError
    from gmp_complaints.services import calendars
    from gmp_complaints.web import settings

    year = query_number("year", minimum=EARLIEST_DATE.year, maximum=LATEST_DATE.year,
                        default=business_today(settings()).year)
    errors, problems, status = {}, [], 200
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            loaded = calendars.load_official_notice(
                uow(), csv_text=(upload.read() if upload else b"").decode("utf-8", errors="replace"),
                filename=upload.filename if upload else "", actor_id=current_user.id, reason=request.form.get("reason"),
                change_control_ref=request.form.get("change_control_ref"))
        except CalendarImportError as exc:
            problems, status = [f"line {line}: {message}" for line, message in exc.problems], 400
        except ValidationError as exc:
            errors, status = {k: [translate(m) for m in v] for k, v in exc.fields.items()}, 400
        else:
            flash(_("The official notice for %(years)s is loaded.", years=", ".join(map(str, loaded))), "info")
            return redirect(url_for("admin.calendar", year=loaded[0]))
    return render_template("admin/calendar.html", overview=calendars.calendar_overview(uow(), year), errors=errors,
                           problems=problems, form=request.form), status


@bp.route("/time-limits", methods=["GET", "POST"])
def time_limits():
    """The time limits in working days (DESIGN §2, SOP 5.8): configuration, each change with a reason."""
    from gmp_complaints.services import configuration

    errors, status = {}, 200
    if request.method == "POST":
        data = {"key": request.form.get("key"), "reason": request.form.get("reason"),
                "change_control_ref": request.form.get("change_control_ref"),
                "working_days": number_or_text(request.form.get("working_days")) or ""}
        try:
            configuration.change_time_limit(uow(), data, actor_id=current_user.id)
        except ValidationError as exc:
            errors, status = {k: [translate(m) for m in v] for k, v in exc.fields.items()}, 400
        else:
            flash(_("Time limit changed."), "info")
            return redirect(url_for("admin.time_limits"))
    from gmp_complaints.domain.criteria import time_limit_label

    limits = configuration.time_limits_view(uow())["time_limits"]
    return render_template("admin/time_limits.html", limits=limits, errors=errors, form=request.form,
                           key_labels={row["key"]: translate(time_limit_label(row["key"])) for row in limits}), status


@bp.route("/responsible-officials", methods=["GET", "POST"])
def responsible_officials():
    """WF-11 (21 CFR 211.180(f)): who is told in writing of every complaint investigation, every evaluation of
    returned goods and every recall; the list of one scope changed with a reason and its change-control
    reference. Nobody designated: the head of quality."""
    from gmp_complaints.domain.notices import SCOPE_LABELS
    from gmp_complaints.domain.roles import Actor
    from gmp_complaints.services import responsible_officials as officials

    errors, status = {}, 200
    if request.method == "POST":
        data = {"scope": request.form.get("scope") or None, "usernames": request.form.getlist("usernames"),
                "reason": request.form.get("reason"), "change_control_ref": request.form.get("change_control_ref")}
        try:
            officials.set_responsible_officials(uow(), data, actor=Actor(current_user.id, current_user.roles))
        except ValidationError as exc:
            errors, status = {k: [translate(m) for m in v] for k, v in exc.fields.items()}, 400
        else:
            flash(_("Responsible officials changed; notices from now on go to them."), "info")
            return redirect(url_for("admin.responsible_officials"))
    return render_template("admin/responsible_officials.html", view=officials.officials_view(uow()),
                           people=officials.eligible_people(uow()), errors=errors, form=request.form,
                           chosen=request.form.getlist("usernames"),
                           scope_labels={scope.value: translate(label) for scope, label in SCOPE_LABELS.items()}
                           ), status


@bp.route("/adr-clocks", methods=["GET", "POST"])
def adr_clocks():
    """The ADR reporting clocks per market (HO-01): master data, each change with a reason and its change-control
    reference; a change applies to hand-offs created afterwards."""
    from gmp_complaints.domain.adr import CLOCK_LABELS, ClockRule, clock_rule
    from gmp_complaints.domain.roles import Actor
    from gmp_complaints.services import adr_clocks as clocks

    errors, status = {}, 200
    if request.method == "POST":
        data = {"days": number_or_text(request.form.get("days")), "reason": request.form.get("reason"),
                "change_control_ref": request.form.get("change_control_ref")}
        code = request.form.get("rule") or ""
        try:
            clocks.change_adr_clock(uow(), code, data, actor=Actor(current_user.id, current_user.roles))
        except ValidationError as exc:
            errors, status = {k: [translate(m) for m in v] for k, v in exc.fields.items()}, 400
        except NotFoundError as exc:
            errors, status = {"rule": [translate(exc.message)]}, 400
        else:
            flash(_("ADR reporting clock changed; hand-offs made from now on take it."), "info")
            return redirect(url_for("admin.adr_clocks"))
    rows = clocks.list_adr_clocks(uow())
    return render_template("admin/adr_clocks.html", rows=rows, errors=errors, form=request.form,
                           labels={rule.value: translate(label) for rule, label in CLOCK_LABELS.items()},
                           texts={row["rule"]: translate(clock_rule(ClockRule(row["rule"]), row["days"]))
                                  for row in rows}), status

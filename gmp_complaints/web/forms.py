"""Page forms (Flask-WTF: every form carries a CSRF token). Labels are translatable."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from gmp_complaints.domain.roles import ROLE_LABELS, Role
from gmp_complaints.web import settings


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices():
    return [(role.value, _l(ROLE_LABELS[role])) for role in Role]


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(_l("Enter your user name."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class UnlockForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your current password."))])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a new password."))])
    confirm_password = PasswordField(_l("Repeat the new password"), validators=[DataRequired(_l("Repeat the new password."))])

    def validate_confirm_password(self, field):
        if field.data != self.new_password.data:
            from wtforms.validators import ValidationError

            raise ValidationError(_l("The two new passwords differ."))


class StatementForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class NewUserForm(FlaskForm):
    account_type = RadioField(_l("Account type"), default="person", validate_choice=False, choices=[
        SelectChoice("person", _l("A person")),
        SelectChoice("service", _l("A service account for a system integration (master data only)"))])
    username = StringField(_l("User name"), validators=[DataRequired(_l("Enter a user name.")), Length(max=64)])
    printed_name = StringField(_l("Printed name"), validators=[DataRequired(_l("Enter the person's full name.")), Length(max=200)])
    roles = MultiCheckboxField(_l("Roles"), choices=role_choices, validate_choice=False)
    identity_verified = BooleanField(_l("I have verified this person's identity (ID document seen)"))
    email = StringField(_l("E-mail for notices (optional)"), validators=[Length(max=254)])
    # required by the service, which names it with every other problem of the request at once
    reason = TextAreaField(_l("Reason for the request"), validators=[Length(max=1000)])


class AccessDecisionForm(FlaskForm):
    """The head of quality's decision on a requested change of access, with the password entered again."""

    comment = TextAreaField(_l("Comment (required to reject)"), validators=[Length(max=1000)])
    username = StringField(_l("User name"), validators=[DataRequired(_l("Enter your user name."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give the reason for this change.")), Length(max=1000)])


class EmailForm(ReasonForm):
    email = StringField(_l("E-mail for notices"), validators=[Length(max=254)])


class RolesForm(ReasonForm):
    roles = MultiCheckboxField(_l("Roles"), choices=role_choices, validate_choice=False)


def run_form(call, *, show_errors, done_url: str, general_field: str = "_step", success=None):
    """One service call behind a page form, the same way on every page: field errors next to the
    fields (400), a refused signature in its dialog with the refusal's status (401 / 403 / 423 / 429), a
    state that forbids the action as a message (409, nothing changed), success back to ``done_url``.

    ``show_errors(errors)`` renders the page again with ``{field: [messages]}``; ``success(result)``, where
    given, says where a success leads and what it tells the user: ``(url, message)``.
    """
    from flask import flash, redirect
    from flask_babel import gettext

    from gmp_complaints.domain.errors import (
        AccountLockedError,
        AuthenticationError,
        ConflictError,
        PermissionDeniedError,
        TooManyAttemptsError,
        ValidationError,
    )
    from gmp_complaints.i18n import translate

    try:
        result = call()
    except ValidationError as exc:
        errors = {name: [translate(m) for m in messages] for name, messages in exc.fields.items()}
        return show_errors(errors or {general_field: [translate(exc.message)]}), 400
    except (AuthenticationError, AccountLockedError, PermissionDeniedError) as exc:
        return show_errors({"password": [translate(exc.message)]}), exc.http_status
    except TooManyAttemptsError as exc:
        # The address is held back after too many wrong passwords: said in the signature dialog, with when to retry.
        return (show_errors({"password": [translate(exc.message)]}), exc.http_status,
                {"Retry-After": str(exc.retry_after_seconds)})
    except ConflictError as exc:
        flash(translate(exc.message), "error")
        return redirect(done_url), 303
    if success is not None:
        url, message = success(result)
        flash(message, "info")
        return redirect(url)
    flash(gettext("Saved."), "info")
    return redirect(done_url)


def with_site_offset(value: str | None) -> str | None:
    """An ``<input type="datetime-local">`` value (site time, to the minute, no offset) as ISO 8601 with
    the site's offset at that moment; anything else goes to the service as typed (and is refused there)."""
    if not value or len(value) != 16:
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.replace(tzinfo=ZoneInfo(settings().site_timezone)).isoformat()

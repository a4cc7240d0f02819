"""The user's own account: accepting the e-signature accountability statement."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from gmp_complaints.domain.errors import AccountLockedError, AuthenticationError, ConflictError
from gmp_complaints.i18n import translate
from gmp_complaints.services import accounts
from gmp_complaints.web import client_ip, uow
from gmp_complaints.web.auth import end_locked_session
from gmp_complaints.web.forms import StatementForm
from signatures.statement import STATEMENT_VERSION, statement_text

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/esignature-statement", methods=["GET", "POST"])
def esignature_statement():
    me = accounts.get_user(uow(), current_user.id)
    form = StatementForm()
    if me.esignature_accepted_at is None and form.validate_on_submit():
        try:
            accounts.accept_esignature_statement(
                uow(), user_id=current_user.id, password=form.password.data, source_ip=client_ip()
            )
        except AuthenticationError:
            form.password.errors = [_("The password is not correct.")]
        except AccountLockedError as exc:
            return end_locked_session(exc)
        except ConflictError as exc:
            flash(translate(exc.message), "error")
        else:
            flash(_("You have accepted the e-signature accountability statement."), "info")
            # Back to the record the user was about to sign (a local path only, never another site).
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("main.dashboard")
            return redirect(target)
    return render_template(
        "account/esignature_statement.html",
        form=form,
        me=me,
        statement=statement_text(get_locale()),
        statement_version=STATEMENT_VERSION,
    )

"""Access requests and security alerts: the head of quality decides the administrator's requested changes of access
(SEC-04), and the administrators, the head of quality and the inspector read the alerts on repeated failed log-ins
and signings (SEC-06)."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gmp_complaints.domain.accounts import ACCESS_REQUEST_KIND_LABELS, ACCESS_REQUEST_STATUS_LABELS, ACCOUNT_TYPE_LABELS
from gmp_complaints.domain.roles import Actor
from gmp_complaints.domain.security_alerts import FAILURE_KIND_LABELS
from gmp_complaints.i18n import translate
from gmp_complaints.services import access_requests, security_alerts
from gmp_complaints.web import client_ip, uow
from gmp_complaints.web.forms import AccessDecisionForm, run_form

bp = Blueprint("security", __name__)


def access_labels() -> dict:
    """The words for an access request's kind and status, an account's type and a failure's kind, in the page
    language."""
    def words(labels: dict) -> dict:
        return {key.value: translate(label) for key, label in labels.items()}

    return {"kind": words(ACCESS_REQUEST_KIND_LABELS), "status": words(ACCESS_REQUEST_STATUS_LABELS),
            "account_type": words(ACCOUNT_TYPE_LABELS), "failure": words(FAILURE_KIND_LABELS)}


def _page(form: AccessDecisionForm, errors: dict | None = None, failed_id: int | None = None):
    requests = access_requests.list_access_requests(uow())
    return render_template("security/access_requests.html", pending=requests["pending"], decided=requests["decided"],
                           form=form, errors=errors or {}, failed_id=failed_id, access_labels=access_labels())


@bp.route("/access-requests", endpoint="access_requests")
def access_requests_page():
    """Every change of access waiting for approval, with the head of quality's decision forms, and the latest
    decided ones."""
    return _page(AccessDecisionForm())


@bp.route("/access-requests/<int:request_id>/decision", methods=["POST"])
def decide_access_request(request_id: int):
    form = AccessDecisionForm()
    done_url = url_for("security.access_requests")
    if not form.validate_on_submit():
        return _page(form, {name: list(messages) for name, messages in form.errors.items()}, request_id), 400
    decision = request.form.get("decision")

    def success(result):
        message = (_("Approved: the change of access is in effect.") if result["status"] == "approved"
                   else _("Rejected: nothing changed."))
        return f"{done_url}#request-{result['id']}", message

    return run_form(
        lambda: access_requests.decide_access_request(
            uow(), request_id, {"decision": decision, "comment": form.comment.data, "username": form.username.data,
                                "password": form.password.data},
            actor=Actor(current_user.id, frozenset(current_user.roles)), source_ip=client_ip()),
        show_errors=lambda errors: _page(form, errors, request_id), done_url=done_url, general_field="decision",
        success=success)


@bp.route("/security-alerts")
def alerts():
    """The alerts on repeated failed log-ins and signings, newest first, each with its event record."""
    return render_template("security/alerts.html", alerts=security_alerts.list_alerts(uow()),
                           access_labels=access_labels())

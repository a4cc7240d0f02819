"""Returned-goods pages: the list, receiving a return (from a complaint or standalone), and the return
page with QA's evaluation and the QA head's signed disposition."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from gmp_complaints.domain.plausibility import MAX_ID
from gmp_complaints.domain.returns import (
    CHANNEL_LABELS,
    DISPOSITION_LABELS,
    SAMPLE_RESULT_LABELS,
    STATUS_LABELS,
    Disposition,
    ReturnStatus,
    SampleResult,
)
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.i18n import signature_labels, translate
from gmp_complaints.services import returns
from gmp_complaints.web import client_ip, uow
from gmp_complaints.web.bounds import query_number
from gmp_complaints.web.forms import run_form
from signatures.statement import statement_text

bp = Blueprint("returns", __name__, url_prefix="/returns")


def return_labels() -> dict:
    return {"status": {k.value: translate(v) for k, v in STATUS_LABELS.items()},
            "sample": {k.value: translate(v) for k, v in SAMPLE_RESULT_LABELS.items()},
            "disposition": {k.value: translate(v) for k, v in DISPOSITION_LABELS.items()},
            "channel": {k.value: translate(v) for k, v in CHANNEL_LABELS.items()}}


def _actor() -> Actor:
    return Actor(current_user.id, current_user.roles)


def _fields(*names: str) -> dict:
    return {name: request.form.get(name) or None for name in names}


def _flag(name: str) -> bool | None:
    return {"yes": True, "no": False}.get(request.form.get(name) or "")


@bp.route("/")
def index():
    status = request.args.get("status") or None
    rows = returns.list_returns(uow(), roles=current_user.roles, status=status)
    return render_template("returns/list.html", rows=rows,
                           labels=return_labels(), statuses=list(ReturnStatus), status=status)


@bp.route("/new", methods=["GET", "POST"])
def new():
    complaint_id = query_number("complaint", minimum=1, maximum=MAX_ID)
    form = dict(request.values)
    if request.method == "POST":
        data = {**_fields("product_code", "batch_no", "channel", "returning_party", "returning_party_address",
                          "return_reason", "consignee", "condition", "received_on"),
                "complaint_id": complaint_id}
        raw = (request.form.get("quantity_received") or "").strip()
        data["quantity_received"] = raw or None
        return run_form(lambda: returns.receive_return(uow(), data, actor=_actor()),
                        show_errors=lambda e: _new_page(complaint_id, e, form), done_url=request.path,
                        general_field="_form",
                        success=lambda made: (url_for("returns.show", return_id=made["id"]),
                                              _("Return %(number)s received into quarantine.", number=made["number"])))
    return _new_page(complaint_id, {}, form)


def _new_page(complaint_id, errors, form):
    return render_template("returns/new.html", complaint_id=complaint_id, errors=errors, form=form,
                           labels=return_labels())


@bp.route("/<int:return_id>")
def show(return_id: int, errors: dict | None = None, open_form: str | None = None):
    record = returns.get_return(uow(), return_id, roles=current_user.roles)
    roles = set(current_user.roles)
    return render_template(
        "returns/show.html", record=record, labels=return_labels(), errors=errors or {}, open_form=open_form,
        form=request.form if errors else {}, results=list(SampleResult), dispositions=list(Disposition),
        sign_labels=signature_labels(), statement=statement_text(str(get_locale())),
        may_evaluate=bool(roles & {Role.qa_officer.value, Role.qa_head.value}),
        may_dispose=Role.qa_head.value in roles)


def _run(return_id: int, form_name: str, call):
    return run_form(call, show_errors=lambda errors: show(return_id, errors=errors, open_form=form_name),
                    done_url=url_for("returns.show", return_id=return_id), general_field="_form")


@bp.route("/<int:return_id>/evaluation", methods=["POST"])
def evaluate(return_id: int):
    data = {**_fields("storage_conditions", "sample_result", "test_reference", "investigation_ref", "reason"),
            "other_batches_implicated": _flag("other_batches_implicated")}
    return _run(return_id, "evaluation", lambda: returns.evaluate_return(uow(), return_id, data, actor=_actor()))


@bp.route("/<int:return_id>/disposition", methods=["POST"])
def dispose(return_id: int):
    data = _fields("disposition", "rationale", "comment", "username", "password")
    return _run(return_id, "disposition", lambda: returns.dispose_return(
        uow(), return_id, data, actor=_actor(), source_ip=client_ip()))

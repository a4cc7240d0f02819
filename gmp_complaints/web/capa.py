"""CAPA pages: the list, a new CAPA from a complaint, and the CAPA page with its actions, evidence and
the QA head's signing dialogs. Forms post plain fields; the services validate them."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from gmp_complaints.clock import business_today
from gmp_complaints.domain.capa import (
    ACTION_KIND_LABELS,
    ACTION_STATUS_LABELS,
    EFFECTIVENESS_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    ActionKind,
    CapaSource,
    CapaStatus,
    Effectiveness,
)
from gmp_complaints.domain.errors import ConflictError, ValidationError
from gmp_complaints.domain.plausibility import MAX_ID
from gmp_complaints.domain.roles import Actor
from gmp_complaints.i18n import signature_labels, translate
from gmp_complaints.services import capa as service
from gmp_complaints.web import client_ip, uow
from gmp_complaints.web.bounds import number_or_text, query_number
from gmp_complaints.web.forms import run_form
from signatures.statement import statement_text

bp = Blueprint("capa", __name__, url_prefix="/capas")



def _actor() -> Actor:
    return Actor(current_user.id, current_user.roles)


def _labels() -> dict:
    return {"status": {k.value: translate(v) for k, v in STATUS_LABELS.items()},
            "kind": {k.value: translate(v) for k, v in ACTION_KIND_LABELS.items()},
            "action_status": {k.value: translate(v) for k, v in ACTION_STATUS_LABELS.items()},
            "effectiveness": {k.value: translate(v) for k, v in EFFECTIVENESS_LABELS.items()},
            "source": {k.value: translate(v) for k, v in SOURCE_LABELS.items()}}


def _errors(exc: ValidationError) -> dict:
    return {name: [translate(m) for m in messages] for name, messages in exc.fields.items()} or {
        "_form": [translate(exc.message)]}


@bp.route("/")
def index():
    status = request.args.get("status") or None
    return render_template("capa/list.html", rows=service.list_capas(uow(), status=status), labels=_labels(),
                           statuses=list(CapaStatus), status=status)


def _yes_no(value: str | None):
    """A yes/no radio as the service expects it; anything else goes on as given, to be refused by name."""
    return {"yes": True, "no": False}.get(value, value) if value else None


#: the sources a CAPA is opened from or linked to by reference (complaints are linked by id)
LINKABLE_SOURCES = [s for s in CapaSource if s is not CapaSource.complaint]
#: the sources offered on a new CAPA that comes from neither a complaint nor a CAPA found not effective
OTHER_SOURCES = [s for s in LINKABLE_SOURCES if s is not CapaSource.capa]


@bp.route("/new", methods=["GET", "POST"])
def new():
    """A CAPA from one complaint (``?complaint=ID``), as the follow-up of a CAPA found not effective
    (``?follow_up_of=ID``), or from another source named by its reference; more complaints and sources can be
    linked afterwards."""
    from gmp_complaints.services.complaint_queries import get_complaint

    complaint_id = query_number("complaint", minimum=1, maximum=MAX_ID)
    follow_up_of = query_number("follow_up_of", minimum=1, maximum=MAX_ID)
    complaint = get_complaint(uow(), complaint_id, roles=current_user.roles) if complaint_id else None
    errors, form = {}, request.form
    if request.method == "POST":
        if complaint_id:
            source = CapaSource.complaint.value
        elif follow_up_of:
            source = CapaSource.capa.value
        else:
            source = form.get("source") or None
        data = {"complaint_ids": [complaint_id] if complaint_id else [], "follow_up_of": follow_up_of,
                "source": source, "change_control_required": _yes_no(form.get("change_control_required")),
                **{k: form.get(k) or None for k in ("problem_statement", "root_cause", "risk",
                                                    "effectiveness_criteria", "effectiveness_due_on",
                                                    "source_reference", "change_control_ref")}}
        try:
            created = service.create_capa(uow(), data, actor=_actor())
        except ValidationError as exc:
            errors = _errors(exc)
        except ConflictError as exc:
            errors = {"_form": [translate(exc.message)]}
        else:
            flash(_("CAPA %(number)s created.", number=created["number"]), "info")
            return redirect(url_for("capa.show", capa_id=created["id"]))
    elif complaint:
        form = {"root_cause": (complaint.get("investigation") or {}).get("root_cause") or ""}
    return render_template("capa/new.html", complaint=complaint, follow_up_of=follow_up_of, errors=errors,
                           form=form, labels=_labels(), sources=OTHER_SOURCES), (400 if errors else 200)


@bp.route("/<int:capa_id>")
def show(capa_id: int, errors: dict | None = None, open_form: str | None = None):
    capa = service.get_capa(uow(), capa_id)
    return render_template("capa/show.html", capa=capa, action_owners=service.action_owners(uow()), labels=_labels(), kinds=list(ActionKind),
                           sources=LINKABLE_SOURCES, plan_gaps=[translate(m) for m in capa["plan_gaps"]],
                           results=list(Effectiveness), errors=errors or {}, open_form=open_form,
                           form=request.form if errors else {}, sign_labels=signature_labels(),
                           statement=statement_text(str(get_locale())),
                           today=business_today(current_app.config["GMP_SETTINGS"]).isoformat())


def _run(capa_id: int, form_name: str, call):
    """One service call for a form of the CAPA page, its errors shown in that form."""
    return run_form(call, show_errors=lambda errors: show(capa_id, errors=errors, open_form=form_name),
                    done_url=url_for("capa.show", capa_id=capa_id), general_field="_form")


def _fields(*names: str) -> dict:
    return {name: request.form.get(name) or None for name in names}


@bp.route("/<int:capa_id>/actions", methods=["POST"])
def add_action(capa_id: int):
    data = _fields("kind", "description", "owner", "due_on", "external_party")
    return _run(capa_id, "add_action", lambda: service.add_action(uow(), capa_id, data, actor=_actor()))


@bp.route("/<int:capa_id>/complaints", methods=["POST"])
def link_complaint(capa_id: int):
    data = {"complaint_id": number_or_text(request.form.get("complaint_id"))}
    return _run(capa_id, "link_complaint", lambda: service.link_complaint(uow(), capa_id, data, actor=_actor()))


@bp.route("/<int:capa_id>/sources", methods=["POST"])
def link_source(capa_id: int):
    data = _fields("source_type", "reference")
    return _run(capa_id, "link_source", lambda: service.link_source(uow(), capa_id, data, actor=_actor()))


@bp.route("/<int:capa_id>/follow-ups", methods=["POST"])
def link_follow_up(capa_id: int):
    data = _fields("capa_number")
    return _run(capa_id, "link_follow_up", lambda: service.link_follow_up(uow(), capa_id, data, actor=_actor()))


@bp.route("/<int:capa_id>/plan-details", methods=["POST"])
def plan_details(capa_id: int):
    data = {**_fields("change_control_ref", "effectiveness_criteria", "effectiveness_due_on", "reason"),
            "change_control_required": _yes_no(request.form.get("change_control_required"))}
    return _run(capa_id, "plan_details", lambda: service.record_plan_details(uow(), capa_id, data, actor=_actor()))


#: form name → (service function, fields, signed) for the forms on one action
ACTION_FORMS = {
    "implementation": (service.record_implementation, ("implemented_on", "evidence"), False),
    "due_date_request": (service.request_due_date_change, ("new_due_on", "reason"), False),
    "implementation_approval": (service.approve_implementation, ("username", "password", "comment"), True),
    "due_date_approval": (service.approve_due_date_change, ("username", "password", "comment"), True),
}


@bp.route("/<int:capa_id>/actions/<int:action_id>/<form_name>", methods=["POST"])
def action_form(capa_id: int, action_id: int, form_name: str):
    if form_name not in ACTION_FORMS:
        return redirect(url_for("capa.show", capa_id=capa_id)), 303
    function, names, signed = ACTION_FORMS[form_name]
    extra = {"source_ip": client_ip()} if signed else {}
    return _run(capa_id, f"{form_name}_{action_id}",
                lambda: function(uow(), capa_id, action_id, _fields(*names), actor=_actor(), **extra))


@bp.route("/<int:capa_id>/actions/<int:action_id>/evidence", methods=["POST"])
def add_evidence(capa_id: int, action_id: int):
    upload = request.files.get("file")
    return _run(capa_id, f"evidence_{action_id}", lambda: service.add_evidence(
        uow(), capa_id, action_id, filename=upload.filename if upload else "", data=upload.read() if upload else b"",
        actor=_actor()))


@bp.route("/<int:capa_id>/evidence/<int:evidence_id>")
def evidence(capa_id: int, evidence_id: int):
    from gmp_complaints.web.attachments import file_response

    return file_response(*service.read_evidence(uow(), capa_id, evidence_id))


@bp.route("/<int:capa_id>/plan-approval", methods=["POST"])
def plan_approval(capa_id: int):
    data = _fields("comment", "username", "password")
    return _run(capa_id, "plan_approval", lambda: service.approve_plan(uow(), capa_id, data, actor=_actor(),
                                                                       source_ip=client_ip()))


@bp.route("/<int:capa_id>/effectiveness", methods=["POST"])
def effectiveness(capa_id: int):
    data = _fields("result", "evidence", "early_reason", "username", "password")
    return _run(capa_id, "effectiveness", lambda: service.record_effectiveness(
        uow(), capa_id, data, actor=_actor(), source_ip=client_ip()))


@bp.route("/<int:capa_id>/effectiveness-waiver", methods=["POST"])
def effectiveness_waiver(capa_id: int):
    data = _fields("justification", "username", "password")
    return _run(capa_id, "effectiveness_waiver", lambda: service.waive_effectiveness(
        uow(), capa_id, data, actor=_actor(), source_ip=client_ip()))


@bp.route("/<int:capa_id>/escalation", methods=["POST"])
def escalation(capa_id: int):
    data = _fields("reason", "username", "password")
    return _run(capa_id, "escalation", lambda: service.escalate_not_effective(
        uow(), capa_id, data, actor=_actor(), source_ip=client_ip()))


@bp.route("/<int:capa_id>/closure", methods=["POST"])
def closure(capa_id: int):
    data = _fields("comment", "username", "password")
    return _run(capa_id, "closure", lambda: service.close_capa(uow(), capa_id, data, actor=_actor(),
                                                               source_ip=client_ip()))

"""Complaint pages: dashboard of what is due, the list, registration, and the complaint page with the
next allowed steps. Forms post plain fields; the services validate them (one place for the rules) and
their field errors are shown next to the fields with the entered values kept."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gmp_complaints.domain.complaints import (
    ASSESSMENT_ACTION_LABELS,
    CHANNEL_LABELS,
    DUE_KIND_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
    Channel,
    ComplaintClass,
    ComplaintType,
    Status,
)
from gmp_complaints.domain.errors import ConflictError, Msg, ValidationError
from gmp_complaints.services import complaints as service
from gmp_complaints.web import uow
from gmp_complaints.web.i18n import translate

bp = Blueprint("complaints", __name__, url_prefix="/complaints")
PAGE_SIZE = 50

#: service name → (service function, label) for the complaint page's step forms
STEPS = {
    "acknowledge": (service.acknowledge, Msg("Record the initial feedback")),
    "record_validity": (service.record_validity, Msg("Decide validity")),
    "classify": (service.classify, Msg("Classify and number")),
    "investigate": (service.investigate, Msg("Record the investigation")),
    "assess": (service.assess, Msg("Assess")),
    "reply": (service.reply, Msg("Record a reply")),
    "record_customer_response": (service.record_customer_response, Msg("Record the customer's response")),
    "record_reminder": (service.record_reminder, Msg("Record a reminder")),
    "regrade": (service.regrade, Msg("Regrade")),
}
# domain step name → service name
STEP_SERVICE = {"acknowledge": "acknowledge", "validity": "record_validity", "classify": "classify",
                "investigate": "investigate", "assess": "assess", "reply": "reply",
                "customer_response": "record_customer_response", "remind": "record_reminder", "regrade": "regrade"}


def _actor():
    return service.Actor(current_user.id, current_user.roles)


def _bool_field(form, name: str):
    value = form.get(name)
    return {"yes": True, "no": False}.get(value) if value else None


def _date_arg(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _labels() -> dict:
    return {"status": {k.value: translate(v) for k, v in STATUS_LABELS.items()},
            "type": {k.value: translate(v) for k, v in TYPE_LABELS.items()},
            "channel": {k.value: translate(v) for k, v in CHANNEL_LABELS.items()},
            "due": {k: translate(v) for k, v in DUE_KIND_LABELS.items()},
            "action": {k: translate(v) for k, v in ASSESSMENT_ACTION_LABELS.items()}}


@bp.route("/dashboard")
def dashboard():
    return render_template("complaints/dashboard.html", board=service.dashboard(uow()), labels=_labels())


@bp.route("/")
def index():
    query = service.ComplaintQuery(
        text=request.args.get("q") or None, status=request.args.get("status") or None,
        complaint_class=request.args.get("class") or None, product_code=request.args.get("product") or None,
        received_from=_date_arg("from"), received_to=_date_arg("to"))
    page = max(int(request.args.get("page", "1")) if request.args.get("page", "1").isdigit() else 1, 1)
    rows, total = service.list_complaints(uow(), query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("complaints/list.html", rows=rows, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), args=request.args, labels=_labels(),
                           statuses=list(Status), classes=list(ComplaintClass))


def _registration_from_form(form) -> dict:
    batch_nos = [b.strip() for b in (form.get("batch_nos") or "").replace("，", ",").split(",") if b.strip()]
    return {
        "received_on": form.get("received_on"), "channel": form.get("channel"),
        "complainant": {"name": form.get("complainant_name"), "organisation": form.get("complainant_organisation"),
                        "phone": form.get("complainant_phone"), "email": form.get("complainant_email")},
        "product_code": form.get("product_code"), "batch_nos": batch_nos,
        "batch_unknown_reason": form.get("batch_unknown_reason") or None, "complaint_type": form.get("complaint_type"),
        "description": form.get("description"), "sample_available": form.get("sample_available") == "yes",
        "customer_due_on": form.get("customer_due_on") or None,
    }


@bp.route("/new", methods=["GET", "POST"])
def new():
    errors: dict = {}
    if request.method == "POST":
        try:
            created = service.register_complaint(uow(), _registration_from_form(request.form), actor=_actor())
        except ValidationError as exc:
            errors = {name.replace("complainant.", "complainant_"): [translate(m) for m in messages]
                      for name, messages in exc.fields.items()}
        else:
            flash(_("Complaint registered as %(ref)s.", ref=created["intake_ref"]), "info")
            return redirect(url_for("complaints.show", complaint_id=created["id"]))
    return render_template("complaints/new.html", errors=errors, form=request.form, labels=_labels(),
                           channels=list(Channel), types=list(ComplaintType)), (400 if errors else 200)


@bp.route("/<int:complaint_id>")
def show(complaint_id: int, errors: dict | None = None, open_step: str | None = None):
    complaint = service.get_complaint(uow(), complaint_id, roles=current_user.roles)
    steps = [STEP_SERVICE[s] for s in service.allowed_steps_for(complaint)]
    return render_template("complaints/show.html", c=complaint, steps=steps, step_labels={k: translate(v[1]) for k, v in STEPS.items()},
                           errors=errors or {}, open_step=open_step, form=request.form if errors else {},
                           labels=_labels(), classes=list(ComplaintClass))


def _step_data(step: str, form) -> dict:
    """The form fields of one step, in the shape of the API body (DESIGN §6)."""
    if step == "acknowledge":
        return {"sent_on": form.get("sent_on"), "method": form.get("method"), "note": form.get("note")}
    if step == "record_validity":
        return {"information_complete": _bool_field(form, "information_complete"),
                "substantiated": _bool_field(form, "substantiated"), "reason": form.get("reason")}
    if step == "classify":
        return {"complaint_class": form.get("complaint_class"), "rationale": form.get("rationale"),
                "adr_suspected": _bool_field(form, "adr_suspected")}
    if step == "investigate":
        return {"root_cause": form.get("root_cause"), "impact": form.get("impact"),
                "other_batches_affected": form.get("other_batches_affected"),
                "substantiated": _bool_field(form, "substantiated")}
    if step == "assess":
        return {"reasonable": _bool_field(form, "reasonable"), "actions": form.getlist("actions"),
                "adr_confirmed": _bool_field(form, "adr_confirmed"),
                "regulator_report_required": _bool_field(form, "regulator_report_required")}
    if step == "reply":
        return {"replied_on": form.get("replied_on"), "summary": form.get("summary")}
    if step == "record_customer_response":
        return {"received_on": form.get("received_on"), "satisfied": _bool_field(form, "satisfied"),
                "text": form.get("text")}
    if step == "record_reminder":
        return {"sent_on": form.get("sent_on")}
    return {"complaint_class": form.get("complaint_class"), "reason": form.get("reason")}


def _step_view(step: str):
    def view(complaint_id: int):
        function = STEPS[step][0]
        try:
            function(uow(), complaint_id, _step_data(step, request.form), actor=_actor())
        except ValidationError as exc:
            errors = {name: [translate(m) for m in messages] for name, messages in exc.fields.items()}
            return show(complaint_id, errors=errors or {"_step": [translate(exc.message)]}, open_step=step), 400
        except ConflictError as exc:
            flash(translate(exc.message), "error")
            return redirect(url_for("complaints.show", complaint_id=complaint_id)), 303
        flash(_("Saved."), "info")
        return redirect(url_for("complaints.show", complaint_id=complaint_id))

    view.__name__ = f"step_{step}"
    return view


for _step in STEPS:
    bp.add_url_rule(f"/<int:complaint_id>/{_step}", endpoint=f"step_{_step}", view_func=_step_view(_step),
                    methods=["POST"])

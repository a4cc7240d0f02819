"""Complaint pages: dashboard of what is due, the list, registration, and the complaint page with the
next allowed steps. Forms post plain fields; the services validate them (one place for the rules) and
their field errors are shown next to the fields with the entered values kept."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from gmp_complaints.audit_text import action_label, readable_changes, record_label
from gmp_complaints.clock import business_today
from gmp_complaints.domain.capa import STATUS_LABELS as CAPA_STATUS_LABELS
from gmp_complaints.domain.compensation import LEVEL_LABELS
from gmp_complaints.domain.compensation import STATUS_LABELS as COMPENSATION_STATUS_LABELS
from gmp_complaints.domain.complaints import (
    DISPOSED,
    Channel,
    ComplaintClass,
    ComplaintType,
    Status,
)
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.follow_up import CALL_RESULT_LABELS
from gmp_complaints.domain.investigation import ChecklistItem, ExaminedCause
from gmp_complaints.domain.recall import NOTIFICATION_KIND_LABELS
from gmp_complaints.domain.recall import STATUS_LABELS as RECALL_STATUS_LABELS
from gmp_complaints.domain.returns import CHANNEL_LABELS as RETURN_CHANNEL_LABELS
from gmp_complaints.domain.returns import STATUS_LABELS as RETURN_STATUS_LABELS
from gmp_complaints.domain.roles import Actor
from gmp_complaints.i18n import adr_labels, complaint_labels, signature_labels, translate
from gmp_complaints.services import (
    approvals,
    attachments,
    complaint_file,
    complaint_steps,
    master_data,
    pharmacovigilance,
    triage,
)
from gmp_complaints.services import compensation as compensations
from gmp_complaints.services import complaint_intake as intake
from gmp_complaints.services import complaint_queries as queries
from gmp_complaints.services.audit_scope import names_of
from gmp_complaints.services.complaint_records import EXTENSIBLE
from gmp_complaints.web import uow
from gmp_complaints.web.bounds import MAX_PAGE, number_or_text, query_number
from gmp_complaints.web.forms import run_form, with_site_offset
from gmp_complaints.web.recalls import recall_labels
from signatures.statement import statement_text

bp = Blueprint("complaints", __name__, url_prefix="/complaints")
PAGE_SIZE = 50

#: service name → (service function, label) for the complaint page's step forms
STEPS = {
    "acknowledge": (complaint_steps.acknowledge, Msg("Record the initial feedback")),
    "record_validity": (complaint_steps.record_validity, Msg("Decide validity")),
    "classify": (complaint_steps.classify, Msg("Classify and number")),
    "investigate": (complaint_steps.investigate, Msg("Record the investigation")),
    "decide_other_batches": (complaint_steps.decide_other_batches, Msg("Record the decision on other batches")),
    "assess": (complaint_steps.assess, Msg("Assess")),
    "draft_reply_report": (complaint_steps.draft_reply_report, Msg("Draft the reply report")),
    "reply": (complaint_steps.reply, Msg("Record the reply as sent")),
    "record_customer_response": (complaint_steps.record_customer_response, Msg("Record the customer's response")),
    "record_reminder": (complaint_steps.record_reminder, Msg("Record a reminder")),
    "regrade": (complaint_steps.regrade, Msg("Regrade")),
    "assign": (complaint_steps.assign, Msg("Assign")),
    "change_batches": (complaint_steps.change_batches, Msg("Correct the batches")),
    "request_extension": (complaint_steps.request_extension, Msg("Request a deadline extension")),
    "request_void": (complaint_steps.request_void, Msg("Request a void")),
    "open_follow_up": (intake.open_follow_up, Msg("Open a follow-up complaint")),
    "determine_spec_failure": (triage.determine_spec_failure, Msg("Record the determination and sign")),
    "mark_not_known": (complaint_file.mark_not_known, Msg("Mark not known")),
}
#: forms offered on every open complaint, outside the state machine's steps
MANAGE_STEPS = ("assign", "change_batches", "request_extension", "request_void")
#: the only form on a closed complaint: what the customer says later opens a linked follow-up
CLOSED_STEPS = ("open_follow_up",)
# domain step name → service name
STEP_SERVICE = {"acknowledge": "acknowledge", "validity": "record_validity", "classify": "classify",
                "investigate": "investigate", "assess": "assess", "reply": "reply",
                "customer_response": "record_customer_response", "remind": "record_reminder", "regrade": "regrade"}


def _actor():
    return Actor(current_user.id, current_user.roles)


def _bool_field(form, name: str):
    value = form.get(name)
    return {"yes": True, "no": False}.get(value) if value else None


def _date_arg(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bp.route("/dashboard")
def dashboard():
    mine_only = request.args.get("scope", "mine") != "all"
    board = queries.dashboard(uow(), user_id=current_user.id, roles=current_user.roles, mine_only=mine_only)
    return render_template("complaints/dashboard.html", board=board, labels=complaint_labels(),
                           notification_labels={k: translate(v) for k, v in NOTIFICATION_KIND_LABELS.items()},
                           recall_labels=recall_labels())


@bp.route("/")
def index():
    query = queries.ComplaintQuery(
        text=request.args.get("q") or None, status=request.args.get("status") or None,
        complaint_class=request.args.get("class") or None, product_code=request.args.get("product") or None,
        received_from=_date_arg("from"), received_to=_date_arg("to"))
    page = query_number("page", minimum=1, maximum=MAX_PAGE, default=1)
    rows, total = queries.list_complaints(uow(), query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("complaints/list.html", rows=rows, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), args=request.args, labels=complaint_labels(),
                           statuses=list(Status), classes=list(ComplaintClass))


def _batch_list(raw: str | None) -> list[str]:
    return [b.strip() for b in (raw or "").replace("，", ",").split(",") if b.strip()]


def _registration_from_form(form) -> dict:
    batch_nos = _batch_list(form.get("batch_nos"))
    return {
        "received_on": form.get("received_on"), "received_time": form.get("received_time") or None,
        "channel": form.get("channel"),
        "complainant": {"name": form.get("complainant_name"), "organisation": form.get("complainant_organisation"),
                        "phone": form.get("complainant_phone"), "email": form.get("complainant_email")},
        "product_code": form.get("product_code"), "batch_nos": batch_nos,
        "batch_unknown_reason": form.get("batch_unknown_reason") or None, "complaint_type": form.get("complaint_type"),
        "description": form.get("description"), "sample_available": form.get("sample_available") == "yes",
        "customer_due_on": form.get("customer_due_on") or None,
        "paper_reference": form.get("paper_reference") or None,
        "entered_late_reason": form.get("entered_late_reason") or None,
    }


@bp.route("/new", methods=["GET", "POST"])
def new():
    errors: dict = {}
    if request.method == "POST":
        try:
            created = intake.register_complaint(uow(), _registration_from_form(request.form), actor=_actor())
        except ValidationError as exc:
            errors = {name.replace("complainant.", "complainant_"): [translate(m) for m in messages]
                      for name, messages in exc.fields.items()}
        else:
            flash(_("Complaint registered as %(ref)s.", ref=created["intake_ref"]), "info")
            _attach_at_registration(created["id"], request.files.get("attachment"))
            if request.form.get("adr_suspected") == "yes" or created["complaint_type"] == ComplaintType.adr.value:
                # SOP 5.6.2: a suspected reaction goes to PV at once; its clock runs from day 0, not triage.
                flash(_("An adverse reaction is reported: hand it to pharmacovigilance now."), "info")
                return redirect(url_for("complaints.show", complaint_id=created["id"], adr_hand_off=1,
                                        _anchor="adr-hand-off"))
            return redirect(url_for("complaints.show", complaint_id=created["id"]))
    return render_template("complaints/new.html", errors=errors, form=request.form, labels=complaint_labels(),
                           channels=list(Channel), types=list(ComplaintType),
                           pickers=master_data.registration_pickers(uow())), (400 if errors else 200)


def _attach_at_registration(complaint_id: int, upload) -> None:
    """A photo or a scan received with the complaint, kept with it (SOP 5.1). The complaint is registered
    whatever becomes of the file: a refused file is said, and can be added again on the complaint page."""
    if upload is None or not upload.filename:
        return
    try:
        attachments.add_attachment(uow(), complaint_id, filename=upload.filename, data=upload.read(),
                                   description=None, actor_id=current_user.id)
    except ValidationError as exc:
        reasons = "; ".join(translate(m) for messages in exc.fields.values() for m in messages) or translate(exc.message)
        flash(_("The attachment was not kept: %(reason)s", reason=reasons), "error")


@bp.route("/<int:complaint_id>")
def show(complaint_id: int, errors: dict | None = None, open_step: str | None = None):
    page = queries.complaint_page(uow(), complaint_id, user_id=current_user.id, roles=current_user.roles)
    complaint, criteria, offers = page["complaint"], page["criteria"], page["offers"]
    steps = [STEP_SERVICE[s] for s in queries.allowed_steps_for(complaint)]
    if "reply" in steps:  # SOP 5.6.1: QA forms the reply report, the head of quality approves, sales send it
        steps.insert(steps.index("reply"), "draft_reply_report")
    manage = {Status.closed.value: list(CLOSED_STEPS), Status.void.value: [], DISPOSED: []}.get(
        complaint["status"], list(MANAGE_STEPS))
    if complaint["investigation"] and complaint["status"] not in (Status.closed.value, Status.void.value, DISPOSED):
        manage.insert(0, "decide_other_batches")  # REC-11: after an investigation recorded without it, or to change it
    in_force = next(v for v in criteria["versions"] if v["version"] == criteria["in_force"])
    texts = {c["code"]: c[_text_key()] for v in criteria["versions"] for c in v["criteria"]}
    signer = page["signer"]
    return render_template("complaints/show.html", c=complaint, steps=steps, manage=manage, offers=offers, signer=signer,
                           sales_people=page["sales_people"], reply_approval_required=page["reply_approval_required"],
                           owners=page["owners"], investigators=page["investigators"], may_dispose=page["may_dispose"],
                           grading_form=page["grading_form"], decision_form=page["decision_form"],
                           recalls=page["recalls"], returned=page["returns"], adr_labels=adr_labels(),
                           call_labels={k.value: translate(v) for k, v in CALL_RESULT_LABELS.items()},
                           compensation_labels={"status": {k.value: translate(v) for k, v in
                                                           COMPENSATION_STATUS_LABELS.items()},
                                                "level": {k.value: translate(v) for k, v in LEVEL_LABELS.items()}},
                           return_labels={k.value: translate(v) for k, v in RETURN_STATUS_LABELS.items()},
                           return_channels={k.value: translate(v) for k, v in RETURN_CHANNEL_LABELS.items()},
                           recall_labels={k.value: translate(v) for k, v in RECALL_STATUS_LABELS.items()},
                           statement=statement_text(str(get_locale())), sign_labels=signature_labels(),
                           capa_labels={k.value: translate(v) for k, v in CAPA_STATUS_LABELS.items()},
                           step_labels={k: translate(v[1]) for k, v in STEPS.items()},
                           errors=errors or {}, open_step=open_step, form=request.form if errors else {},
                           labels=complaint_labels(), classes=list(ComplaintClass), criteria=in_force["criteria"],
                           criterion_text=texts, text_key=_text_key(), extensible=list(EXTENSIBLE))


def _text_key() -> str:
    return "text_zh" if str(get_locale()).startswith("zh") else "text_en"


@bp.route("/<int:complaint_id>/quarantine-requests", methods=["POST"])
def request_quarantine(complaint_id: int):
    from gmp_complaints.services import investigation

    data = {"batch_nos": request.form.getlist("batch_nos") or _batch_list(request.form.get("batch_list")),
            "reason": request.form.get("reason")}
    return _run(complaint_id, "request_quarantine",
                lambda: investigation.request_quarantine(uow(), complaint_id, data, actor=_actor()))


@bp.route("/<int:complaint_id>/quarantine-requests/<int:request_id>/answer", methods=["POST"])
def answer_quarantine(complaint_id: int, request_id: int):
    from gmp_complaints.services import investigation

    data = {key: request.form.get(key) or None for key in ("status", "answered_on", "quantity", "location")}
    return _run(complaint_id, f"answer_quarantine_{request_id}",
                lambda: investigation.answer_quarantine(uow(), complaint_id, request_id, data, actor=_actor()))


@bp.route("/<int:complaint_id>/compensations", methods=["POST"])
def compensation(complaint_id: int):
    data = {name: request.form.get(name) or None
            for name in ("amount", "currency", "amount_cny", "agreed_on", "finance_reference", "note")}
    return _run(complaint_id, "compensation", lambda: compensations.propose(uow(), complaint_id, data, actor=_actor()))


@bp.route("/<int:complaint_id>/compensations/<int:sequence>/decision", methods=["POST"])
def compensation_decision(complaint_id: int, sequence: int):
    data = {name: request.form.get(name) or None for name in ("decision", "username", "password", "comment")}
    return _run(complaint_id, f"compensation_{sequence}", lambda: compensations.decide(
        uow(), complaint_id, sequence, data, actor=_actor(), source_ip=request.remote_addr))


@bp.route("/<int:complaint_id>/follow-up-calls", methods=["POST"])
def follow_up_call(complaint_id: int):
    data = {name: request.form.get(name) or None for name in ("called_on", "result", "note")}
    return _run(complaint_id, "follow_up_call", lambda: intake.record_follow_up_call(uow(), complaint_id, data,
                                                                                     actor=_actor()))


@bp.route("/<int:complaint_id>/adr", methods=["POST"])
def adr_hand_off(complaint_id: int):
    form = request.form
    data = {"aware_on": form.get("aware_on") or None, "seriousness": form.get("seriousness") or None,
            "unexpected": _bool_field(form, "unexpected"), "group_event": _bool_field(form, "group_event"),
            **{name: form.get(name) or None for name in ("reporter", "patient", "reaction")}}
    return _run(complaint_id, "adr_hand_off", lambda: pharmacovigilance.hand_off(uow(), complaint_id, data,
                                                                                 actor=_actor()))


@bp.route("/<int:complaint_id>/adr/<int:sequence>/elements", methods=["POST"])
def adr_elements(complaint_id: int, sequence: int):
    data = {name: request.form.get(name) or None for name in ("reporter", "patient", "reaction", "reason")}
    return _run(complaint_id, f"adr_elements_{sequence}", lambda: pharmacovigilance.complete_elements(
        uow(), complaint_id, sequence, data, actor=_actor()))


@bp.route("/<int:complaint_id>/adr/<int:sequence>/acceptance", methods=["POST"])
def adr_acceptance(complaint_id: int, sequence: int):
    return _run(complaint_id, f"adr_acceptance_{sequence}", lambda: pharmacovigilance.accept(
        uow(), complaint_id, sequence, actor=_actor()))


@bp.route("/<int:complaint_id>/adr/<int:sequence>/submission", methods=["POST"])
def adr_submission(complaint_id: int, sequence: int):
    data = {"case_number": request.form.get("case_number") or None, "reference": request.form.get("reference") or None,
            "submitted_at": with_site_offset(request.form.get("submitted_at") or None)}
    return _run(complaint_id, f"adr_submission_{sequence}", lambda: pharmacovigilance.record_submission(
        uow(), complaint_id, sequence, data, actor=_actor()))


@bp.route("/<int:complaint_id>/adr/<int:sequence>/investigation-requests", methods=["POST"])
def adr_investigation_request(complaint_id: int, sequence: int):
    data = {"question": request.form.get("question") or None,
            "batch_nos": (request.form.get("batch_nos") or "").split() or None}
    return _run(complaint_id, f"adr_request_{sequence}", lambda: pharmacovigilance.request_investigation(
        uow(), complaint_id, sequence, data, actor=_actor()))


@bp.route("/<int:complaint_id>/adr/<int:sequence>/investigation-requests/<int:number>/answer", methods=["POST"])
def adr_investigation_answer(complaint_id: int, sequence: int, number: int):
    data = {"answer": request.form.get("answer") or None}
    return _run(complaint_id, f"adr_answer_{sequence}_{number}", lambda: pharmacovigilance.answer_investigation_request(
        uow(), complaint_id, sequence, number, data, actor=_actor()))


@bp.route("/<int:complaint_id>/sign", methods=["POST"])
def sign(complaint_id: int):
    """The signing dialog: user name and password again, for the step shown with its manifestation."""
    form = request.form
    data = {"step": form.get("step"), "username": form.get("username"), "password": form.get("password"),
            "comment": form.get("comment") or None,
            "extension_id": number_or_text(form.get("extension_id")),
            "subject": form.get("subject") or None, "measures": form.getlist("measures") or None}
    # The audit-trail review is signed on the review page, so its errors are shown there.
    page = audit_review if data["step"] == "audit_trail_review" else show
    # The dialog's name, as the page builds it from the subject's id (an extension, a void request).
    key = form.get("extension_id") or (form.get("subject") or "").split(":")[-1]
    return _run(complaint_id, f"sign_{form.get('step')}_{key}",
                lambda: approvals.sign_step(uow(), complaint_id, data, actor=_actor(), source_ip=request.remote_addr),
                page=page)


@bp.route("/<int:complaint_id>/retention", methods=["POST"])
def change_retention(complaint_id: int):
    data = {key: request.form.get(key) or None for key in ("retention_until", "reason", "username", "password")}
    return _run(complaint_id, "change_retention",
                lambda: approvals.change_retention(uow(), complaint_id, data, actor=_actor(),
                                                   source_ip=request.remote_addr))


@bp.route("/<int:complaint_id>/legal-hold", methods=["POST"])
def legal_hold(complaint_id: int):
    """Place the legal hold, or release the one in force (``release`` set), signed by the head of quality."""
    from gmp_complaints.services import retention

    data = {key: request.form.get(key) or None for key in ("reason", "username", "password")}
    function = retention.release_legal_hold if request.form.get("release") else retention.place_legal_hold
    return _run(complaint_id, "legal_hold",
                lambda: function(uow(), complaint_id, data, actor=_actor(), source_ip=request.remote_addr))


@bp.route("/<int:complaint_id>/disposal", methods=["POST"])
def dispose(complaint_id: int):
    """The signed disposal after the retention date (the head of quality)."""
    from gmp_complaints.services import retention

    data = {key: request.form.get(key) or None for key in ("reason", "username", "password")}
    return _run(complaint_id, "disposal",
                lambda: retention.dispose(uow(), complaint_id, data, actor=_actor(), source_ip=request.remote_addr))


@bp.route("/disposal-due")
def disposal_due():
    """Complaints past their retention date, not yet disposed of (those under a legal hold marked)."""
    from gmp_complaints.services import retention

    return render_template("complaints/disposal_due.html", rows=retention.disposal_due(uow()), labels=complaint_labels())


@bp.route("/<int:complaint_id>/close", methods=["POST"])
def close(complaint_id: int):
    data = {"username": request.form.get("username"), "password": request.form.get("password"),
            "comment": request.form.get("comment") or None}
    return _run(complaint_id, "sign_closure_",
                lambda: approvals.close(uow(), complaint_id, data, actor=_actor(), source_ip=request.remote_addr))


@bp.route("/<int:complaint_id>/audit-review")
def audit_review(complaint_id: int, errors: dict | None = None, open_step: str | None = None):
    """The QA head reviews the complaint's audit trail (changes since the last review, critical fields
    highlighted) and signs the review here (AT-07)."""
    review = approvals.audit_review(uow(), complaint_id)
    signing = approvals.signature_offers(uow(), complaint_id, user_id=current_user.id)
    offers = [o for o in signing["offers"] if o["step"] == "audit_trail_review"]
    return render_template("complaints/audit_review.html", review=review, offers=offers,
                           signer=signing["signer"] if offers else None,
                           statement=statement_text(str(get_locale())), sign_labels=signature_labels(),
                           errors=errors or {}, open_step=open_step, readable_changes=readable_changes, action_label=action_label,
                           record_label=record_label, names=names_of(uow(), review["events"]))


@bp.route("/waiting-for-signature")
def waiting():
    from gmp_complaints.services import waiting as waiting_list

    today = business_today(current_app.config["GMP_SETTINGS"])
    return render_template("complaints/waiting.html", rows=waiting_list.waiting_for_signature(uow(), user_id=current_user.id),
                           sign_labels=signature_labels(), labels=complaint_labels(),
                           age_of=lambda received_on: (today - date.fromisoformat(received_on)).days)


def _run(complaint_id: int, form_name: str, call, page=None, success=None):
    """One service call for a form of the complaint page (or ``page``), its errors shown in that form."""
    page = page or show
    return run_form(call, show_errors=lambda errors: page(complaint_id, errors=errors, open_step=form_name),
                    done_url=url_for("complaints.show", complaint_id=complaint_id), success=success)


def _follow_up_opened(follow_up: dict):
    """Explicitly: the user is told a new complaint was opened and taken to it."""
    return (url_for("complaints.show", complaint_id=follow_up["id"]),
            _("Follow-up complaint %(ref)s opened and linked to %(closed)s; the closed complaint is unchanged.",
              ref=follow_up["intake_ref"], closed=follow_up["follow_up_of"]["number"]
              or follow_up["follow_up_of"]["intake_ref"]))


def _step_data(step: str, form) -> dict:
    """The form fields of one step, in the shape of the API body (DESIGN §6)."""
    if step == "acknowledge":
        return {"sent_on": form.get("sent_on"), "method": form.get("method"), "note": form.get("note")}
    if step == "record_validity":
        return {"information_complete": _bool_field(form, "information_complete"),
                "substantiated": _bool_field(form, "substantiated"), "reason": form.get("reason"),
                "quality_defect_suspected": form.get("quality_defect_suspected") or None,
                "falsification_suspected": form.get("falsification_suspected") or None,
                "routed_to": form.get("routed_to") or None, "routing_note": form.get("routing_note") or None,
                "spec_failure_suspected": _bool_field(form, "spec_failure_suspected")}
    if step == "determine_spec_failure":
        return {"investigation_required": _bool_field(form, "investigation_required"),
                "rationale": form.get("rationale"), "username": form.get("username"),
                "password": form.get("password")}
    if step == "mark_not_known":
        return {"item": form.get("item") or None, "reason": form.get("reason")}
    if step == "classify":
        return {**_grading_data(form), "complaint_class": form.get("complaint_class"), "rationale": form.get("rationale"),
                "adr_suspected": _bool_field(form, "adr_suspected"), "criteria": form.getlist("criteria"),
                "field_alert_mix_up": _bool_field(form, "field_alert_mix_up"),
                "field_alert_quality_defect": _bool_field(form, "field_alert_quality_defect"),
                "adr_serious": _bool_field(form, "adr_serious"),
                "adr_unexpected": _bool_field(form, "adr_unexpected")}
    if step in ("investigate", "decide_other_batches"):
        decision = {"extend_to_other_batches": _bool_field(form, "extend_to_other_batches"),
                    "extension_rationale": form.get("extension_rationale"),
                    "extension_batch_nos": form.getlist("extension_batch_nos"),
                    "extension_product_codes": _batch_list(form.get("extension_product_codes"))}
        if step == "decide_other_batches":
            return {**decision, "reason": form.get("reason") or None}
        return {**decision, "root_cause": form.get("root_cause"), "impact": form.get("impact"),
                "other_batches_affected": form.get("other_batches_affected"),
                "substantiated": _bool_field(form, "substantiated"),
                "recurring_problem": _bool_field(form, "recurring_problem"),
                "root_cause_category": form.get("root_cause_category") or None,
                "human_error_justification": form.get("human_error_justification") or None,
                "causes_examined": {cause.value: True for cause in ExaminedCause
                                    if form.get(f"causes_examined.{cause.value}")} or None,
                "checklist": {item.value: {"outcome": form.get(f"check_{item.value}"),
                                           "note": form.get(f"check_{item.value}_note")}
                              for item in ChecklistItem if form.get(f"check_{item.value}")}}
    if step == "assess":
        return {"reasonable": _bool_field(form, "reasonable"), "actions": form.getlist("actions"),
                "adr_confirmed": _bool_field(form, "adr_confirmed"),
                "regulator_report_required": _bool_field(form, "regulator_report_required")}
    if step == "reply":
        return {"replied_on": form.get("replied_on"), "summary": form.get("summary") or None,
                "sent_by": form.get("sent_by") or None}
    if step == "draft_reply_report":
        return {"summary": form.get("summary"), "reason": form.get("reason") or None}
    if step == "record_customer_response":
        return {"received_on": form.get("received_on"), "satisfied": _bool_field(form, "satisfied"),
                "text": form.get("text")}
    if step == "record_reminder":
        return {"sent_on": form.get("sent_on")}
    if step == "assign":
        return {"owner": form.get("owner"), "investigator": form.get("investigator"), "reason": form.get("reason")}
    if step == "change_batches":
        return {"batch_nos": _batch_list(form.get("batch_nos")),
                "batch_unknown_reason": form.get("batch_unknown_reason") or None, "reason": form.get("reason")}
    if step == "request_extension":
        return {"kind": form.get("kind"), "new_due_on": form.get("new_due_on"), "reason": form.get("reason")}
    if step == "request_void":
        return {"reason": form.get("reason")}
    if step == "open_follow_up":
        return {"received_on": form.get("received_on"), "text": form.get("text")}
    return {**_grading_data(form), "complaint_class": form.get("complaint_class"), "reason": form.get("reason"),
            "username": form.get("username"), "password": form.get("password")}


def _grading_data(form) -> dict:
    """REC-08: the severity and the extent as the classification and regrading forms post them."""
    return {"severity": form.get("severity") or None, "units_affected": form.get("units_affected") or None,
            "units_affected_unknown": bool(form.get("units_affected_unknown")) or None,
            "batches_affected": form.get("batches_affected") or None,
            "batches_affected_unknown": bool(form.get("batches_affected_unknown")) or None,
            "markets_affected": _batch_list(form.get("markets_affected"))}


def _asked_about_recurrence(form) -> None:
    """TR-02: where the page listed earlier complaints of the same product and type, the investigator
    says whether the problem recurs (the API records the answer where given)."""
    if form.get("recurrence_asked") and _bool_field(form, "recurring_problem") is None:
        raise ValidationError(Msg("Recurrence not answered."), {"recurring_problem": [Msg(
            "Earlier complaints of this kind are listed: say whether this is a recurring problem.")]})


def _step_view(step: str):
    def view(complaint_id: int):
        function = STEPS[step][0]

        def call():
            if step == "investigate":
                _asked_about_recurrence(request.form)
            extra = {}
            if step == "record_validity":  # REC-09: the page asks each triage question; nothing is defaulted
                extra = {"explicit_answers": True}
            elif step in ("classify", "investigate"):  # REC-08, REC-11: the page states the grading, the decision
                extra = {"form": True}
            elif step == "regrade":
                extra = {"form": True, "source_ip": request.remote_addr}
            elif step == "determine_spec_failure":
                extra = {"source_ip": request.remote_addr}
            return function(uow(), complaint_id, _step_data(step, request.form), actor=_actor(), **extra)

        return _run(complaint_id, step, call,
                    success=_follow_up_opened if step == "open_follow_up" else None)

    view.__name__ = f"step_{step}"
    return view


for _step in STEPS:
    bp.add_url_rule(f"/<int:complaint_id>/{_step}", endpoint=f"step_{_step}", view_func=_step_view(_step),
                    methods=["POST"])


# --- WF-05: due dates calculated on an earlier calendar --------------------------------------------------


@bp.route("/due-dates")
def due_dates():
    """The complaints whose kept due dates the calendar in force would put on another day: each kept date beside
    the recalculated one; QA recalculates them all here (or one by one on the complaint page)."""
    return _due_dates_page({})


def _due_dates_page(errors: dict):
    from gmp_complaints.services import due_dates as kept

    return render_template("complaints/due_dates.html", rows=kept.due_dates_to_recalculate(uow()),
                           labels=complaint_labels(), errors=errors, form=request.form if errors else {})


@bp.route("/due-dates", methods=["POST"], endpoint="recalculate_due_dates")
def recalculate_due_dates():
    from gmp_complaints.services import due_dates as kept

    def done(result: dict):
        return url_for("complaints.due_dates"), _("Due dates recalculated on the calendar in force for %(n)s "
                                                  "complaints.", n=len(result["recalculated"]))

    data = {"reason": request.form.get("reason"),
            "complaint_ids": [number_or_text(i) for i in request.form.getlist("complaint_ids") if i.strip()] or None}
    return run_form(lambda: kept.recalculate_listed_due_dates(uow(), data, actor=_actor()),
                    show_errors=_due_dates_page, done_url=url_for("complaints.due_dates"),
                    success=done)


@bp.route("/<int:complaint_id>/deadline-recalculation", methods=["POST"])
def recalculate_complaint_due_dates(complaint_id: int):
    from gmp_complaints.services import due_dates as kept

    data = {"reason": request.form.get("reason")}
    return _run(complaint_id, "deadline_recalculation",
                lambda: kept.recalculate_due_dates(uow(), complaint_id, data, actor=_actor()))

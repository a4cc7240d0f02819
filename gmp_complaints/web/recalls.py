"""Recall pages: the list, a proposal (from a complaint or a batch), and the recall page with its clocks,
the signing dialogs of the QA head and the QP, the register entries, the consignee list and its
reconciliation. Forms post plain fields; the services validate them."""
from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from gmp_complaints import printing
from gmp_complaints.domain.errors import ConflictError, Msg
from gmp_complaints.domain.notices import DELIVERY_LABELS
from gmp_complaints.domain.plausibility import MAX_ID
from gmp_complaints.domain.recall import (
    BatchDecision,
    ContactResult,
    EffectivenessLevel,
    FdaClass,
    RecallDepth,
    RecallLevel,
    RecallOrigin,
    RecallStatus,
)
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.i18n import signature_labels, translate
from gmp_complaints.services import jobs, notifications, recalls
from gmp_complaints.services.complaint_queries import get_complaint
from gmp_complaints.spreadsheets import csv_table
from gmp_complaints.web import client_ip, settings, uow
from gmp_complaints.web.access import REGISTER_KEEPERS
from gmp_complaints.web.bounds import number_or_text, query_number
from gmp_complaints.web.documents import email_notice_now
from gmp_complaints.web.forms import run_form, with_site_offset
from gmp_complaints.web.jobs import start_in_background
from gmp_complaints.web.main import notice_text
from signatures.statement import statement_text

bp = Blueprint("recalls", __name__, url_prefix="/recalls")

def _actor() -> Actor:
    return Actor(current_user.id, current_user.roles)


def recall_labels() -> dict:
    return printing.recall_labels()


def _flag(value: str | None) -> bool | None:
    return {"yes": True, "on": True, "no": False}.get(value or "")


@bp.route("/")
def index():
    status = request.args.get("status") or None
    return render_template("recalls/list.html", rows=recalls.list_recalls(uow(), status=status), labels=recall_labels(),
                           statuses=list(RecallStatus), status=status)


@bp.route("/new", methods=["GET", "POST"])
def new():
    """A proposal from a complaint (``?complaint=ID``) or a batch (``?batch_no=…&product_code=…``)."""
    complaint_id = query_number("complaint", minimum=1, maximum=MAX_ID)
    errors, form = {}, dict(request.values)
    if request.method == "POST":
        data = {
            "complaint_ids": [complaint_id] if complaint_id else [],
            "batch_nos": [b.strip() for b in (request.form.get("batch_nos") or "").replace("，", ",").split(",")
                          if b.strip()],
            **{k: request.form.get(k) or None for k in ("product_code", "origin", "origin_reference", "level",
                                                        "depth", "fda_class", "reason", "supply_impact",
                                                        "authority_notice_exception")},
            "safety_hazard": _flag(request.form.get("safety_hazard")),
            "no_alternative_product": request.form.get("no_alternative_product") == "yes",
            "mock": request.form.get("mock") == "yes",
            "market_actions": market_action_lines(request.form.get("market_actions")),
        }
        result = run_form(lambda: recalls.propose_recall(uow(), data, actor=_actor()),
                          show_errors=lambda e: _new_page(complaint_id, e, form), done_url=request.path,
                          general_field="_form",
                          success=lambda made: (url_for("recalls.show", recall_id=made["id"]),
                                                _("Recall %(number)s proposed.", number=made["number"])))
        return result
    if complaint_id:  # from a complaint: its product and batches, to narrow down or widen
        complaint = get_complaint(uow(), complaint_id, roles=current_user.roles)
        form = {"product_code": complaint["product_code"], "batch_nos": ", ".join(complaint["batch_nos"]), **form}
    return _new_page(complaint_id, errors, form)


def market_action_lines(text: str | None) -> list[dict]:
    """HO-05: the page's market-specific actions, one per line written ``MARKET: action`` (e.g. ``US: FDA 3-day
    notification``), in the shape of the API body; the service checks them."""
    items = []
    for line in (text or "").splitlines():
        if line.strip():
            market, colon, action = line.replace("：", ":").partition(":")
            items.append({"market": market.strip(), "action": action.strip() if colon else None})
    return items


def _new_page(complaint_id, errors, form):
    return render_template("recalls/new.html", complaint_id=complaint_id, errors=errors, form=form,
                           labels=recall_labels(), levels=list(RecallLevel), depths=list(RecallDepth),
                           origins=list(RecallOrigin), fda_classes=list(FdaClass))


def time_left(due_at: str, now: datetime) -> tuple[str, bool]:
    """"in 23 h 10 min" or "overdue by 2 h 5 min", and whether it is overdue."""
    delta = datetime.fromisoformat(due_at) - now
    overdue = delta.total_seconds() < 0
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    span = (_("%(d)s d %(h)s h", d=days, h=rest // 60) if days else
            _("%(h)s h %(m)s min", h=rest // 60, m=rest % 60))
    return (_("overdue by %(span)s", span=span) if overdue else _("in %(span)s", span=span)), overdue


CLOCK_LABELS = (("notify_consignees_by", Msg("Notify consignees")),
                ("report_and_plan_by", Msg("Investigation report and recall plan")),
                ("next_progress_report_by", Msg("Next progress report")))


@bp.route("/<int:recall_id>")
def show(recall_id: int, errors: dict | None = None, open_form: str | None = None):
    recall = recalls.get_recall(uow(), recall_id)
    roles = set(current_user.roles)
    now = datetime.now(ZoneInfo(settings().site_timezone))
    clocks = []
    for key, label in CLOCK_LABELS:
        due_at = recall["deadlines"][key]
        left, overdue = time_left(due_at, now) if due_at else ("", False)
        clocks.append({"key": key, "label": translate(label), "due_at": due_at, "left": left, "overdue": overdue})
    entries = [{**n, "overdue": not n["sent_at"] and time_left(n["due_at"], now)[1],
                "late": bool(n["sent_at"]) and datetime.fromisoformat(n["sent_at"]) > datetime.fromisoformat(n["due_at"])}
               for n in recall["notifications"]]
    return render_template(
        "recalls/show.html", recall=recall, labels=recall_labels(), errors=errors or {}, open_form=open_form,
        clocks=clocks, notifications=entries,
        form=request.form if errors else {}, sign_labels=signature_labels(), statement=statement_text(str(get_locale())),
        may_sign=bool(roles & {Role.qa_head.value, Role.qp.value}),
        may_run=bool(roles & {Role.recall_coordinator.value, Role.qa_officer.value, Role.qa_head.value}),
        may_set_market_actions=bool(roles & {Role.recall_coordinator.value, Role.qa_officer.value,
                                             Role.qa_head.value, Role.regulatory_affairs.value}),
        is_qa_head=Role.qa_head.value in roles, decisions=list(BatchDecision),
        effectiveness_levels=list(EffectivenessLevel), contact_results=list(ContactResult),
        notice_text=notice_text, delivery_labels={d.value: translate(label) for d, label in DELIVERY_LABELS.items()})


@bp.route("/<int:recall_id>/consignees")
def consignees(recall_id: int, errors: dict | None = None):
    recall = recalls.get_recall(uow(), recall_id)
    _number, lines = recalls.get_consignees(uow(), recall_id)
    return render_template("recalls/consignees.html", recall=recall, lines=lines, labels=recall_labels(),
                           notices={n["consignee"]: n for n in recall["notices"]},
                           may_run=bool(set(current_user.roles) & {Role.recall_coordinator.value,
                                                                    Role.qa_officer.value, Role.qa_head.value}),
                           errors=errors or {})


def _run(recall_id: int, form_name: str, call, *, back: str = "recalls.show"):
    return run_form(call, show_errors=lambda errors: show(recall_id, errors=errors, open_form=form_name),
                    done_url=url_for(back, recall_id=recall_id), general_field="_form")


def _fields(*names: str) -> dict:
    return {name: request.form.get(name) or None for name in names}


@bp.route("/<int:recall_id>/signatures", methods=["POST"])
def sign(recall_id: int):
    data = _fields("step", "username", "password", "comment")
    return _run(recall_id, f"sign_{data['step']}", lambda: recalls.sign_recall(
        uow(), recall_id, data, actor=_actor(), source_ip=client_ip()))


@bp.route("/<int:recall_id>/reconciliation", methods=["POST"])
def reconcile(recall_id: int):
    data = _fields("consignee", "batch_no", "explanation", "reason")
    for name in ("quantity_recovered", "quantity_destroyed"):
        data[name] = number_or_text(request.form.get(name))
    return _run(recall_id, "reconcile", lambda: recalls.record_reconciliation(uow(), recall_id, data, actor=_actor()))


@bp.route("/<int:recall_id>/completion", methods=["POST"])
def complete(recall_id: int):
    return _run(recall_id, "complete", lambda: recalls.complete_recall(uow(), recall_id, _fields("comment"),
                                                                       actor=_actor()))


@bp.route("/<int:recall_id>/market-actions", methods=["POST"])
def market_actions(recall_id: int):
    data = {"market_actions": market_action_lines(request.form.get("market_actions")),
            "reason": request.form.get("reason") or None}
    return _run(recall_id, "market_actions", lambda: recalls.set_market_actions(uow(), recall_id, data,
                                                                                actor=_actor()))


@bp.route("/<int:recall_id>/cancellation", methods=["POST"])
def cancel(recall_id: int):
    return _run(recall_id, "cancel", lambda: recalls.cancel_recall(uow(), recall_id, _fields("reason"),
                                                                   actor=_actor()))


@bp.route("/<int:recall_id>/notifications/<int:notification_id>/sent", methods=["POST"])
def notification_sent(recall_id: int, notification_id: int):
    data = _fields("sent_at", "method", "reference")
    data["sent_at"] = with_site_offset(data["sent_at"])
    return _run(recall_id, f"sent_{notification_id}", lambda: notifications.mark_sent(
        uow(), notification_id, data, actor=_actor()))


@bp.route("/<int:recall_id>/batch-dispositions", methods=["POST"])
def dispose_batch(recall_id: int):
    data = _fields("batch_no", "decision", "rationale", "test_reference", "comment", "username", "password")
    return _run(recall_id, f"dispose_{data['batch_no']}", lambda: recalls.dispose_recall_batch(
        uow(), recall_id, data, actor=_actor(), source_ip=client_ip()))


@bp.route("/<int:recall_id>/effectiveness-check", methods=["POST"])
def effectiveness_check(recall_id: int):
    return _run(recall_id, "effectiveness", lambda: recalls.choose_effectiveness_check(
        uow(), recall_id, _fields("level", "seed"), actor=_actor()))


@bp.route("/<int:recall_id>/effectiveness-contacts", methods=["POST"])
def effectiveness_contact(recall_id: int):
    return _run(recall_id, "contact", lambda: recalls.record_effectiveness_contact(
        uow(), recall_id, _fields("consignee", "contacted_on", "method", "result", "note"), actor=_actor()))


@bp.route("/<int:recall_id>/notices", methods=["POST"])
def notice_sent(recall_id: int):
    data = _fields("consignee", "sent_at", "method")
    data["sent_at"] = with_site_offset(data["sent_at"])
    return run_form(lambda: recalls.record_notice_sent(uow(), recall_id, data, actor=_actor()),
                    show_errors=lambda errors: consignees(recall_id, errors=errors),
                    done_url=url_for("recalls.consignees", recall_id=recall_id), general_field="_form")


@bp.route("/<int:recall_id>/notice-pack", methods=["POST"])
def notice_pack(recall_id: int):
    """Every consignee's notice, prepared in the background with a progress bar."""
    try:
        job = jobs.queue_recall_notices(uow(), recall_id, locale="en" if request.form.get("lang") == "en"
                                        else "zh_Hans_CN", actor_id=current_user.id)
    except ConflictError as exc:
        flash(translate(exc.message), "error")
        return redirect(url_for("recalls.consignees", recall_id=recall_id)), 303
    start_in_background(job["id"])
    return redirect(url_for("jobs.show", job_id=job["id"]))


@bp.route("/<int:recall_id>/notice-emails", methods=["POST"])
def notice_email(recall_id: int):
    data = {"consignee": request.form.get("consignee") or "", "lang": request.form.get("lang")}
    return run_form(lambda: email_notice_now(recall_id, data, current_user.id, _actor()),
                    show_errors=lambda errors: consignees(recall_id, errors=errors),
                    done_url=url_for("recalls.consignees", recall_id=recall_id), general_field="_form")


#: the register's statuses as the filter offers them
REGISTER_STATUS_LABELS = {"due": Msg("Due"), "overdue": Msg("Overdue"), "sent": Msg("Sent")}
REGISTER_COLUMNS = ("subject", "kind", "stage", "authority", "due_at", "sent_at", "method", "reference", "recipient",
                    "status")


@bp.route("/notifications")
def notifications_page(errors: dict | None = None, open_form: str | None = None):
    """The regulator-notification register (DESIGN §6), as a page; what is due is recorded as sent here."""
    status = request.args.get("status") or None
    return render_template("recalls/notifications.html", rows=notifications.list_notifications(uow(), status=status),
                           labels=recall_labels(), statuses=list(REGISTER_STATUS_LABELS), status=status,
                           status_labels={k: translate(v) for k, v in REGISTER_STATUS_LABELS.items()},
                           may_send=bool(set(current_user.roles) & {r.value for r in REGISTER_KEEPERS}),
                           errors=errors or {}, open_form=open_form)


@bp.route("/notifications/<int:notification_id>/copy", methods=["POST"])
def register_notification_copy(notification_id: int):
    """Keep the copy of what was sent with the entry, from the register page."""
    upload = request.files.get("file")
    return run_form(lambda: notifications.attach_copy(uow(), notification_id, filename=upload.filename if upload else "",
                                                      data=upload.read() if upload else b"", actor=_actor()),
                    show_errors=lambda errors: notifications_page(errors, open_form=f"copy_{notification_id}"),
                    done_url=url_for("recalls.notifications_page"), general_field="_form")


@bp.route("/notifications/<int:notification_id>/sent", methods=["POST"])
def register_notification_sent(notification_id: int):
    """Record an entry of the register as sent, from the register page (a complaint's entries have no
    recall page to do it on)."""
    data = _fields("sent_at", "method", "reference", "recipient")
    data["sent_at"] = with_site_offset(data["sent_at"])
    final = request.form.get("final")
    data["final"] = {"yes": True, "no": False}.get(final) if final else None
    return run_form(lambda: notifications.mark_sent(uow(), notification_id, data, actor=_actor()),
                    show_errors=lambda errors: notifications_page(errors, open_form=f"sent_{notification_id}"),
                    done_url=url_for("recalls.notifications_page"), general_field="_form")


@bp.route("/notifications.csv")
def notifications_csv():
    """The register as CSV (UTF-8 with BOM), every export audited."""
    status = request.args.get("status") or None
    rows = notifications.list_notifications(uow(), status=status)
    content = csv_table(REGISTER_COLUMNS, [[row[c] for c in REGISTER_COLUMNS] for row in rows])
    notifications.record_register_export(uow(), status=status, rows=len(rows),
                                         sha256=hashlib.sha256(content).hexdigest(), actor_id=current_user.id)
    return Response(content, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="regulator-notifications.csv"'})

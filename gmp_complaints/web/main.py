"""The start page: what the signed-in user needs to know first."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gmp_complaints.audit_text import record_label
from gmp_complaints.clock import business_today
from gmp_complaints.domain.notices import DELIVERY_LABELS, NOTICE_KIND_NAMES, NOTICE_LABELS, NoticeKind
from gmp_complaints.domain.plausibility import MAX_ID
from gmp_complaints.domain.roles import Actor
from gmp_complaints.i18n import complaint_labels, signature_labels, translate
from gmp_complaints.printing import recall_labels
from gmp_complaints.services import notices
from gmp_complaints.services.home import home
from gmp_complaints.web import settings, uow
from gmp_complaints.web.bounds import query_number
from gmp_complaints.web.security import access_labels

bp = Blueprint("main", __name__)


@bp.route("/")
def dashboard():
    """The landing page: my tasks first (due and overdue, signatures waiting with their age, CAPA actions,
    what my role watches), then my account with the previous log-in."""
    page = home(uow(), user_id=current_user.id, roles=current_user.roles)
    me = page["me"]
    policy = settings().password_policy
    password_expires_on = None if me.is_demo else (me.password_changed_at + timedelta(days=policy.max_age_days))
    today = business_today(settings())
    return render_template(
        "main/dashboard.html", me=me, today=today, password_expires_on=password_expires_on,
        previous_login=page["previous_login"], board=page["board"], waiting=page["waiting"],
        more_waiting=page["more_waiting"], labels=complaint_labels(), sign_labels=signature_labels(),
        recall_labels=recall_labels(), notices=page["notices"], capa_waiting=page["capa_waiting"],
        notice_text=notice_text, age_of=lambda received_on: (today - date.fromisoformat(received_on)).days,
        security_alerts=page["security_alerts"], access_waiting=page["access_waiting"], access_labels=access_labels())


def notice_text(notice: dict) -> str:
    """A notice in the page language, naming its record."""
    return _(NOTICE_LABELS[NoticeKind(notice["kind"])].template, record=notice["record_label"])


@bp.route("/notices")
def notice_list():
    """My notices, newest first; the unread ones marked."""
    return render_template("main/notices.html", notices=notices.my_notices(uow(), current_user.id),
                           notice_text=notice_text)


@bp.route("/notices/read", methods=["POST"])
def notices_read():
    marked = notices.mark_read(uow(), current_user.id)
    flash(_("%(n)s notices marked read.", n=marked), "info")
    return redirect(url_for("main.notice_list"))


@bp.route("/notices/<int:notice_id>/acknowledge", methods=["POST"])
def acknowledge_notice(notice_id: int):
    """WF-10: the person told acknowledges the notice (the QP of a risk-reducing action or a recall)."""
    done = notices.acknowledge_notice(uow(), notice_id, actor=Actor(current_user.id, current_user.roles))
    flash(_("Notice on %(record)s acknowledged.", record=done["record_label"]), "info")
    return redirect(url_for("main.notice_list"))


@bp.route("/notices/delivery")
def notice_delivery():
    """WF-11: every notice, to whom, read and acknowledged or not, and how its e-mail fared; filtered by record
    type and id or by kind."""
    subject_type = request.args.get("subject_type") or None
    subject_id = query_number("subject_id", minimum=1, maximum=MAX_ID)
    kind = request.args.get("kind") or None
    rows = notices.delivery_log(uow(), subject_type=subject_type, subject_id=subject_id, kind=kind)
    return render_template("main/notice_delivery.html", rows=rows, notice_text=notice_text,
                           delivery_labels={d.value: translate(label) for d, label in DELIVERY_LABELS.items()},
                           kind_names={k.value: translate(name) for k, name in NOTICE_KIND_NAMES.items()},
                           subject_types={t: record_label("instance" if t == "backup" else t, None)
                                          for t in notices.SUBJECT_TYPES},
                           filters={"subject_type": subject_type or "", "subject_id": subject_id or "",
                                    "kind": kind or ""})

"""Printed records as PDF downloads: the complaint's intake form, handling sheet, replies, reminder
letters and audit trail, and the CAPA record, in zh-CN or English (``?lang=en``)."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, request
from flask_babel import gettext as _
from flask_login import current_user

from gmp_complaints.documents import print_time_text, render_pdf
from gmp_complaints.services import documents as service
from gmp_complaints.web import uow
from gmp_complaints.web.i18n import signature_labels, translate

bp = Blueprint("documents", __name__)

TITLES = {
    "intake_form": ("Complaint customer information registration form", "投诉客户信息登记表"),
    "handling_sheet": ("Customer quality complaint handling sheet", "客户质量投诉处理单"),
    "reply": ("Reply report", "答复报告"),
    "reminder": ("Reminder letter", "提醒函"),
    "audit_trail": ("Audit trail", "审计追踪"),
    "capa_record": ("CAPA record", "纠正与预防措施记录"),
}


def document_locale() -> str:
    return "en" if request.args.get("lang") == "en" else "zh_Hans_CN"


def title(kind: str, locale: str) -> str:
    english, chinese = TITLES[kind]
    return english if locale == "en" else chinese


def common_context(context: dict, kind: str, locale: str) -> dict:
    from gmp_complaints.domain.capa import ACTION_KIND_LABELS, ACTION_STATUS_LABELS, EFFECTIVENESS_LABELS
    from gmp_complaints.domain.capa import STATUS_LABELS as CAPA_STATUS_LABELS
    from gmp_complaints.web.audit import action_label, readable_changes, record_label
    from gmp_complaints.web.complaints import _labels

    return {**context, "doc_title": title(kind, locale), "sign_labels": signature_labels(), "labels": _labels(),
            "printed_at": print_time_text(context["printed_at"], context["site_timezone"]),
            "site_name": _("Quality department"),
            "capa_labels": {k.value: translate(v) for k, v in CAPA_STATUS_LABELS.items()},
            "kind_labels": {k.value: translate(v) for k, v in ACTION_KIND_LABELS.items()},
            "action_status_labels": {k.value: translate(v) for k, v in ACTION_STATUS_LABELS.items()},
            "effectiveness_labels": {k.value: translate(v) for k, v in EFFECTIVENESS_LABELS.items()},
            "action_label": action_label, "record_label": record_label, "readable_changes": readable_changes}


def complaint_pdf(complaint_id: int, kind: str, sequence: int | None, locale: str, roles) -> bytes:
    from flask_babel import force_locale

    context = service.complaint_context(uow(), complaint_id, roles)
    extra = service.check_document(kind, sequence, context["c"])
    with force_locale(locale):
        texts_key = "text_zh" if locale.startswith("zh") else "text_en"
        context["criterion_text"] = {c.code: getattr(c, texts_key) for c in context["criteria"]}
        full = {**common_context(context, kind, locale), **extra}
        if kind != "audit_trail":
            full["signatures"] = context["c"]["signatures"]
    return render_pdf(f"{kind}.html", full, locale=locale).pdf


def pdf_response(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename={filename}",
                             "X-Content-SHA256": hashlib.sha256(data).hexdigest()})


@bp.route("/complaints/<int:complaint_id>/documents/<kind>.pdf")
def complaint_document(complaint_id: int, kind: str):
    locale = document_locale()
    sequence = request.args.get("n", type=int)
    data = complaint_pdf(complaint_id, kind, sequence, locale, current_user.roles)
    service.record_print(uow(), entity_type="complaint", entity_id=complaint_id, document=kind, locale=locale,
                         sha256=hashlib.sha256(data).hexdigest(), actor_id=current_user.id)
    return pdf_response(data, f"complaint-{complaint_id}-{kind}.pdf")


def capa_pdf(capa_id: int, locale: str) -> bytes:
    from flask_babel import force_locale

    context = service.capa_context(uow(), capa_id)
    with force_locale(locale):
        full = {**common_context(context, "capa_record", locale), "signatures": context["k"]["signatures"]}
    return render_pdf("capa_record.html", full, locale=locale).pdf


@bp.route("/capas/<int:capa_id>/record.pdf")
def capa_document(capa_id: int):
    locale = document_locale()
    data = capa_pdf(capa_id, locale)
    service.record_print(uow(), entity_type="capa", entity_id=capa_id, document="capa_record", locale=locale,
                         sha256=hashlib.sha256(data).hexdigest(), actor_id=current_user.id)
    return pdf_response(data, f"capa-{capa_id}.pdf")

"""Printed records as PDF downloads: the complaint's intake form, handling sheet, replies, reminder
letters and audit trail, and the CAPA record, in zh-CN or English (``?lang=en``)."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, request
from flask_babel import gettext as _
from flask_login import current_user

from gmp_complaints.documents import print_time_text, render_audit_trail, render_pdf
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
    return render_complaint_document(service.complaint_context(uow(), complaint_id, roles), kind, sequence, locale)


def render_complaint_document(context: dict, kind: str, sequence: int | None, locale: str) -> bytes:
    from flask_babel import force_locale

    extra = service.check_document(kind, sequence, context["c"])
    with force_locale(locale):
        texts_key = "text_zh" if locale.startswith("zh") else "text_en"
        context["criterion_text"] = {c.code: getattr(c, texts_key) for c in context["criteria"]}
        full = {**common_context(context, kind, locale), **extra}
        if kind != "audit_trail":
            full["signatures"] = context["c"]["signatures"]
        else:
            return render_audit_trail(full, locale=locale).pdf
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
    return render_capa_document(service.capa_context(uow(), capa_id), locale)


def render_capa_document(context: dict, locale: str) -> bytes:
    from flask_babel import force_locale

    with force_locale(locale):
        full = {**common_context(context, "capa_record", locale), "signatures": context["k"]["signatures"]}
    return render_pdf("capa_record.html", full, locale=locale).pdf


@bp.route("/complaints/<int:complaint_id>/archive.zip")
def complaint_archive(complaint_id: int):
    data, manifest = build_archive(complaint_id, locale=document_locale())
    service.record_archive(uow(), complaint_id=complaint_id, sha256=hashlib.sha256(data).hexdigest(),
                           manifest=manifest, actor_id=current_user.id)
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename=archive-{manifest['complaint']['number']}.zip",
        "X-Content-SHA256": hashlib.sha256(data).hexdigest()})


@bp.route("/capas/<int:capa_id>/record.pdf")
def capa_document(capa_id: int):
    locale = document_locale()
    data = capa_pdf(capa_id, locale)
    service.record_print(uow(), entity_type="capa", entity_id=capa_id, document="capa_record", locale=locale,
                         sha256=hashlib.sha256(data).hexdigest(), actor_id=current_user.id)
    return pdf_response(data, f"capa-{capa_id}.pdf")


def build_archive(complaint_id: int, *, locale: str, printed_at=None, anchor_tree_size: int | None = None):
    """The archive package of a closed complaint (SOP §8); the same arguments give the same bytes.
    Returns (zip bytes, manifest dict)."""
    import json

    from audit.export import build_bundle
    from audit.keys import load_signer, public_keys
    from gmp_complaints.archive import AUDIT_BUNDLE, KEYS, MANIFEST, SIGNATURE, manifest_for, pack, signature_for
    from gmp_complaints.domain.errors import ConflictError, Msg
    from gmp_complaints.domain.roles import Role
    from gmp_complaints.services.complaint_records import complaint_records
    from gmp_complaints.services.attachments import read_stored
    from gmp_complaints.services.complaint_records import load_complaint

    context = service.complaint_context(uow(), complaint_id, frozenset(Role))
    c = context["c"]
    if c["status"] != "closed":
        raise ConflictError(Msg("Only a closed complaint is archived."))
    if printed_at is not None:
        context["printed_at"] = printed_at
    unit = uow()
    with unit:
        records = complaint_records(unit.session, load_complaint(unit, complaint_id, for_update=False))
        attachments = {f"attachments/{a['id']}-{a['filename']}": read_stored(unit, a["sha256"]) for a in c["attachments"]}
        keys = public_keys(unit.session)
    # The audit trail up to the anchor: what the bundle proves is exactly what the PDF shows, and a
    # later package with the same anchor shows the same (the archiving itself comes after).
    bundle = build_bundle(uow(), None, None, records=records, anchor_tree_size=anchor_tree_size)
    context["events"] = [e for e in context["events"] if e.index < bundle.anchor_tree_size]
    files: dict[str, bytes] = dict(attachments)
    for kind in ("intake_form", "handling_sheet", "audit_trail"):
        files[f"documents/{kind}.pdf"] = render_complaint_document(context, kind, None, locale)
    for reply in c["replies"]:
        files[f"documents/reply-{reply['sequence']}.pdf"] = render_complaint_document(
            context, "reply", reply["sequence"], locale)
    for position, _reminder in enumerate(c["reminders"], start=1):
        files[f"documents/reminder-{position}.pdf"] = render_complaint_document(context, "reminder", position, locale)
    for capa in context["capas"]:
        capa_context = service.capa_context(uow(), capa["id"])
        capa_context["printed_at"] = context["printed_at"]
        files[f"documents/{capa['number']}.pdf"] = render_capa_document(capa_context, locale)
    files[AUDIT_BUNDLE] = bundle.data
    files[KEYS] = json.dumps(keys, indent=1).encode()
    settings = unit.settings
    about = {"complaint": {"id": c["id"], "number": c["number"], "intake_ref": c["intake_ref"],
                           "closed_on": c["closed_on"], "retention_until": c["retention_until"]},
             "printed_at": print_time_text(context["printed_at"], context["site_timezone"]),
             "printed_at_utc": context["printed_at"].isoformat(), "locale": locale,
             "audit_anchor_tree_size": bundle.anchor_tree_size, "site": settings.site_id}
    manifest = manifest_for(files, about)
    files[MANIFEST] = manifest
    files[SIGNATURE] = signature_for(manifest, load_signer(settings.signing_key_file, settings.audit_origin))
    return pack(files), json.loads(manifest)


LEDGER_HEADERS = {
    "number": ("Complaint number", "投诉编号"), "original_class": ("Original class", "原始级别"),
    "complaint_class": ("Class", "级别"), "received_on": ("Received on", "接收日期"),
    "product_code": ("Product code", "产品代码"), "product_name": ("Product", "产品"),
    "batch_nos": ("Batches", "批号"), "complaint_type": ("Complaint type", "投诉类型"), "status": ("Status", "状态"),
    "closed_on": ("Closed on", "关闭日期"), "void_reason": ("Void reason", "作废原因"), "capas": ("CAPA", "CAPA"),
}
LEDGER_TITLE = ("Customer quality complaint ledger", "客户质量投诉处理台账")


def _ledger_request():
    from gmp_complaints.clock import business_today
    from gmp_complaints.services import ledger
    from gmp_complaints.web import settings

    year = request.args.get("year", type=int) or business_today(settings()).year
    data = ledger.ledger(uow(), year=year, complaint_class=request.args.get("class") or None,
                         status=request.args.get("status") or None)
    return data, ("en" if request.args.get("lang") == "en" else "zh")


@bp.route("/complaints/ledger")
def ledger_page():
    from flask import render_template

    from gmp_complaints.domain.complaints import ComplaintClass, Status
    from gmp_complaints.services.ledger import COLUMNS
    from gmp_complaints.web.complaints import _labels

    data, _lang = _ledger_request()
    return render_template("complaints/ledger.html", data=data, columns=COLUMNS, labels=_labels(),
                           classes=list(ComplaintClass), statuses=list(Status), args=request.args)


@bp.route("/complaints/ledger.<file_format>")
def ledger_file(file_format: str):
    from flask import abort

    from gmp_complaints.services import ledger

    if file_format not in ("csv", "xlsx"):
        abort(404)
    data, lang = _ledger_request()
    headers = [pair[0] if lang == "en" else pair[1] for pair in (LEDGER_HEADERS[c] for c in ledger.COLUMNS)]
    title = LEDGER_TITLE[0 if lang == "en" else 1] + f" {data['year']}"
    content = ledger.as_csv(data, headers) if file_format == "csv" else ledger.as_xlsx(data, headers, title)
    sha256 = hashlib.sha256(content).hexdigest()
    ledger.record_ledger_export(uow(), year=data["year"], file_format=file_format, sha256=sha256,
                                rows=len(data["rows"]), actor_id=current_user.id)
    mimetype = "text/csv" if file_format == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=complaint-ledger-{data['year']}.{file_format}",
        "X-Content-SHA256": sha256})

"""Printed records as PDF downloads: the complaint's intake form, handling sheet, replies, reminder
letters and audit trail, the CAPA record and the archive package, in zh-CN or English (``?lang=en``);
``gmp_complaints.printing`` makes them. Also the complaint ledger as a page, CSV or XLSX."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, request
from flask_login import current_user

from gmp_complaints.domain.personal_data import may_see_personal_data
from gmp_complaints.domain.plausibility import EARLIEST_DATE, LATEST_DATE, MAX_ID
from gmp_complaints.printing import (
    CUSTOMER_LETTERS,
    build_archive,
    capa_pdf,
    complaint_pdf,
    consignee_list_pdf,
    recall_notice_mail,
    recall_notice_pdf,
    recall_report_pdf,
)
from gmp_complaints.services import documents as service
from gmp_complaints.services import recalls, schemas
from gmp_complaints.spreadsheets import csv_table, xlsx
from gmp_complaints.web import uow
from gmp_complaints.web.bounds import query_number

bp = Blueprint("documents", __name__)


def document_locale() -> str:
    return "en" if request.args.get("lang") == "en" else "zh_Hans_CN"


def pdf_response(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename={filename}",
                             "X-Content-SHA256": hashlib.sha256(data).hexdigest()})


@bp.route("/complaints/<int:complaint_id>/documents/<kind>.pdf")
def complaint_document(complaint_id: int, kind: str):
    locale = document_locale()
    sequence = query_number("n", minimum=1, maximum=MAX_ID)
    kept = None
    # A letter to the customer is printed once as sent; a reprint is that copy, byte for byte. It is addressed to the
    # complainant: a reader without access to personal data gets a masked print, never kept as the letter sent.
    as_sent = kind in CUSTOMER_LETTERS and sequence is not None and may_see_personal_data(current_user.roles)
    if as_sent:
        kept = service.letter_as_sent(uow(), complaint_id, kind, sequence, locale)
    data = kept if kept is not None else complaint_pdf(uow(), complaint_id, kind, sequence, locale, current_user.roles)
    if as_sent and kept is None:
        data = service.keep_letter(uow(), complaint_id, kind, sequence, locale, data, actor_id=current_user.id)
    service.record_print(uow(), entity_type="complaint", entity_id=complaint_id, document=kind, locale=locale,
                         sha256=hashlib.sha256(data).hexdigest(), actor_id=current_user.id)
    return pdf_response(data, f"complaint-{complaint_id}-{kind}.pdf")


@bp.route("/complaints/<int:complaint_id>/archive.zip")
def complaint_archive(complaint_id: int):
    """The archive package as the reader may see it: masked for a role without access to personal data (SEC-11)."""
    masked = not may_see_personal_data(current_user.roles)
    data, manifest = build_archive(uow, complaint_id, locale=document_locale(), masked=masked)
    service.record_archive(uow(), complaint_id=complaint_id, sha256=hashlib.sha256(data).hexdigest(),
                           manifest=manifest, actor_id=current_user.id)
    name = manifest["complaint"]["number"] or manifest["complaint"]["intake_ref"]
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename=archive-{name}{'-masked' if masked else ''}.zip",
        "X-Content-SHA256": hashlib.sha256(data).hexdigest()})


@bp.route("/capas/<int:capa_id>/record.pdf")
def capa_document(capa_id: int):
    locale = document_locale()
    data = capa_pdf(uow(), capa_id, locale)
    service.record_print(uow(), entity_type="capa", entity_id=capa_id, document="capa_record", locale=locale,
                         sha256=hashlib.sha256(data).hexdigest(), actor_id=current_user.id)
    return pdf_response(data, f"capa-{capa_id}.pdf")


@bp.route("/recalls/<int:recall_id>/report.pdf")
def recall_report(recall_id: int):
    """The recall's final report (HO-10): timeline, clocks met or missed, reconciliation, dispositions,
    effectiveness check and the signatures; printed at any stage, final once signed."""
    locale = document_locale()
    data = recall_report_pdf(uow(), recall_id, locale)
    service.record_print(uow(), entity_type="recall", entity_id=recall_id, document="recall_report", locale=locale,
                         sha256=hashlib.sha256(data).hexdigest(), actor_id=current_user.id)
    return pdf_response(data, f"recall-{recall_id}-report.pdf")


@bp.route("/recalls/<int:recall_id>/notice.pdf")
def recall_notice(recall_id: int):
    """The notice to one consignee (``?consignee=``), as the consignee receives it; the first copy is
    recorded as the prepared notice (its SHA-256), later ones as prints."""
    return notice_response(recall_id, request.args.get("consignee") or "", document_locale(), current_user.id)


def notice_response(recall_id: int, consignee: str, locale: str, actor_id: int) -> Response:
    data = recall_notice_pdf(recalls.notice_context(uow(), recall_id, consignee, sender_id=actor_id), locale)
    recalls.prepare_notice(uow(), recall_id, consignee=consignee, locale=locale,
                           sha256=hashlib.sha256(data).hexdigest(), actor_id=actor_id)
    return pdf_response(data, f"recall-{recall_id}-notice.pdf")


def email_notice_now(recall_id: int, data: dict, sender_id: int, actor) -> dict:
    """Render the consignee's notice (in its language) as PDF and as covering text, and queue the e-mail
    through the outbox."""
    fields = schemas.load(schemas.RecallNoticeEmail, data)
    consignee, locale = fields["consignee"], "en" if fields["lang"] == "en" else "zh_Hans_CN"
    context = recalls.notice_context(uow(), recall_id, consignee, sender_id=sender_id)
    subject, body = recall_notice_mail(context, locale)
    pdf = recall_notice_pdf(context, locale)
    return recalls.email_notice(uow(), recall_id, consignee=consignee, subject=subject, body=body, pdf=pdf,
                                pdf_name=f"{context['recall']['number']}-notice.pdf", actor=actor)


CONSIGNEE_COLUMNS = ("consignee", "batch_no", "quantity_delivered", "shipped_on", "last_shipped_on", "address",
                     "contact", "phone", "email", "out_of_hours_contact", "is_export", "is_medical_sample",
                     "quantity_recovered", "quantity_destroyed", "quantity_outstanding", "stock_status", "reconciled")
FILE_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              "pdf": "application/pdf"}


@bp.route("/recalls/<int:recall_id>/consignees.<file_format>")
def recall_consignees_file(recall_id: int, file_format: str):
    return consignee_file(recall_id, file_format, current_user.id)


def consignee_file(recall_id: int, file_format: str, actor_id: int) -> Response:
    """A recall's consignee list as CSV (UTF-8 with BOM), XLSX or PDF (EU GMP 8.22): an audited export."""
    from flask import abort

    if file_format not in FILE_TYPES:
        abort(404)
    number, lines = recalls.get_consignees(uow(), recall_id, export=file_format, actor_id=actor_id)
    rows = [[line[c] for c in CONSIGNEE_COLUMNS] for line in lines]
    if file_format == "csv":
        content = csv_table(CONSIGNEE_COLUMNS, rows)
    elif file_format == "xlsx":
        content = xlsx(f"{number} consignees / 收货单位清单", number, list(CONSIGNEE_COLUMNS), rows)
    else:
        content = consignee_list_pdf(uow(), recall_id, lines, document_locale())
    return Response(content, mimetype=FILE_TYPES[file_format], headers={
        "Content-Disposition": f'attachment; filename="{number}-consignees.{file_format}"',
        "X-Content-SHA256": hashlib.sha256(content).hexdigest()})


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

    year = query_number("year", minimum=EARLIEST_DATE.year, maximum=LATEST_DATE.year,
                        default=business_today(settings()).year)
    data = ledger.ledger(uow(), year=year, complaint_class=request.args.get("class") or None,
                         status=request.args.get("status") or None)
    return data, ("en" if request.args.get("lang") == "en" else "zh")


@bp.route("/forms/<kind>.pdf")
def blank_form(kind: str):
    """A blank paper form (intake, handling sheet, recall progress) printed in advance for an outage (RET-07)."""
    from flask import abort
    from flask_babel import get_locale

    from gmp_complaints.printing import BLANK_FORMS, blank_form_pdf
    from gmp_complaints.web import settings

    if kind not in BLANK_FORMS:
        abort(404)
    locale = "en" if str(get_locale()).startswith("en") else "zh_CN"
    return Response(blank_form_pdf(kind, locale, settings().site_timezone), mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=blank-{kind}-form.pdf"})


@bp.route("/complaints/ledger")
def ledger_page():
    from flask import render_template

    from gmp_complaints.domain.complaints import ComplaintClass, Status
    from gmp_complaints.i18n import complaint_labels
    from gmp_complaints.services.ledger import COLUMNS

    data, _lang = _ledger_request()
    return render_template("complaints/ledger.html", data=data, columns=COLUMNS, labels=complaint_labels(),
                           classes=list(ComplaintClass), statuses=list(Status), args=request.args)


def _ledger_words(rows: list[dict], lang: str) -> list[dict]:
    """The ledger's codes as words of the file's language, the code kept in brackets (type and status)."""
    from flask_babel import force_locale

    from gmp_complaints.i18n import complaint_labels

    with force_locale("en" if lang == "en" else "zh_CN"):
        labels = complaint_labels()
    return [{**row, "complaint_type": f"{labels['type'][row['complaint_type']]} ({row['complaint_type']})",
             "status": f"{labels['status'][row['status']]} ({row['status']})"} for row in rows]


@bp.route("/complaints/ledger.<file_format>")
def ledger_file(file_format: str):
    from flask import abort

    from gmp_complaints.services import ledger

    if file_format not in ("csv", "xlsx"):
        abort(404)
    data, lang = _ledger_request()
    data = {**data, "rows": _ledger_words(data["rows"], lang)}
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

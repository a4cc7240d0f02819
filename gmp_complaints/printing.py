"""Printed records and archive packages, outside the web layer: the complaint's intake form, handling
sheet, replies, reminder letters and audit trail, the CAPA record, and the archive package of a closed
complaint (SOP §8), in zh-CN or English.

Rendering needs the Flask app context (templates, translations), not a request, so the pages, the CLI
and the background archive job print alike. The unit of work is passed in: a ``UnitOfWork`` where one
transaction is read, a factory that returns a new one (``new_uow()``) where several are.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _

from audit.export import build_bundle
from audit.keys import load_signer, public_keys
from gmp_complaints.archive import (
    AUDIT_BUNDLE,
    CLEAR,
    KEYS,
    MANIFEST,
    MASKED,
    SIGNATURE,
    entry_name,
    manifest_for,
    pack,
    signature_for,
)
from gmp_complaints.audit_text import action_label, readable_changes, record_label
from gmp_complaints.charts import pareto_svg, periods_svg, u_chart_svg
from gmp_complaints.documents import print_time_text, render_audit_trail, render_pdf
from gmp_complaints.domain.capa import ACTION_KIND_LABELS, ACTION_STATUS_LABELS, EFFECTIVENESS_LABELS, SOURCE_LABELS
from gmp_complaints.domain.capa import STATUS_LABELS as CAPA_STATUS_LABELS
from gmp_complaints.domain.errors import ConflictError, Msg
from gmp_complaints.domain.field_alert import FAR_STAGE_LABELS
from gmp_complaints.domain.recall import (
    BATCH_DECISION_LABELS,
    CONTACT_RESULT_LABELS,
    DEPTH_LABELS,
    EFFECTIVENESS_LEVEL_LABELS,
    LEVEL_DEFINITIONS,
    LEVEL_LABELS,
    NOTIFICATION_KIND_LABELS,
    ORIGIN_LABELS,
)
from gmp_complaints.domain.recall import STATUS_LABELS as RECALL_STATUS_LABELS
from gmp_complaints.domain.returns import CHANNEL_LABELS as RETURN_CHANNEL_LABELS
from gmp_complaints.domain.roles import Role
from gmp_complaints.domain.trends import REVIEW_STATUS_LABELS, SIGNAL_RULE_LABELS
from gmp_complaints.i18n import adr_labels, complaint_labels, signature_labels, translate
from gmp_complaints.services import documents as service
from gmp_complaints.services import recalls
from gmp_complaints.services.attachments import read_stored
from gmp_complaints.services.complaint_records import complaint_records
from gmp_complaints.services.complaint_repository import load_complaint
from gmp_complaints.uow import UnitOfWork

TITLES = {
    "intake_form": ("Complaint customer information registration form", "投诉客户信息登记表"),
    "handling_sheet": ("Customer quality complaint handling sheet", "客户质量投诉处理单"),
    "reply": ("Reply report", "答复报告"),
    "reminder": ("Reminder letter", "提醒函"),
    "audit_trail": ("Audit trail", "审计追踪"),
    "quarterly_review": ("Quarterly complaint review", "投诉季度回顾"),
    "capa_record": ("CAPA record", "纠正与预防措施记录"),
    "recall_report": ("Recall final report", "召回总结报告"),
    "recall_notice": ("Recall notice", "药品召回通知"),
    "consignee_list": ("Recall consignee list", "召回收货单位清单"),
    "adr_packet": ("Adverse reaction hand-off to pharmacovigilance", "药品不良反应移交单"),
    "iq_report": ("Installation qualification report", "安装确认（IQ）报告"),
    "oq_report": ("Operational qualification report", "运行确认（OQ）报告"),
    "blank_intake": ("Complaint customer information registration form (paper fallback)", "投诉客户信息登记表（停机备用纸质表）"),
    "blank_handling": ("Customer quality complaint handling sheet (paper fallback)", "客户质量投诉处理单（停机备用纸质表）"),
    "blank_recall": ("Recall progress and reconciliation form (paper fallback)", "召回进度与核对表（停机备用纸质表）"),
}
#: the blank forms printed in advance for an outage (RET-07)
BLANK_FORMS = ("intake", "handling", "recall")


def iq_report_pdf(report, signature: dict, locale: str, site_timezone: str) -> bytes:
    """The installation qualification report (VAL-04): environment, every check with its differences, deviations,
    and the executor's signature."""
    from datetime import timezone

    from gmp_complaints.iq import LABELS

    with force_locale(locale):
        context = {"doc_title": title("iq_report", locale), "labels_of": lambda key: translate(LABELS.get(key, key)), "record_number": signature["record_number"],
                   "record_version": 1, "site_name": _("Quality department"), "report": report,
                   "signatures": [signature], "sign_labels": signature_labels(), "site_timezone": site_timezone,
                   "printed_at": print_time_text(datetime.now(timezone.utc), site_timezone)}
    return render_pdf("iq_report.html", context, locale=locale).pdf


def oq_report_pdf(content: dict, signature: dict, locale: str, site_timezone: str) -> bytes:
    """The operational qualification report (VAL-04): environment, every case with its steps, expected and actual
    results, the deviations, and the executor's signature."""
    from datetime import timezone

    from gmp_complaints.iq import LABELS

    with force_locale(locale):
        context = {"doc_title": title("oq_report", locale), "labels_of": lambda key: translate(LABELS.get(key, key)),
                   "record_number": signature["record_number"], "record_version": 1,
                   "site_name": _("Quality department"), "report": content, "signatures": [signature],
                   "sign_labels": signature_labels(), "site_timezone": site_timezone,
                   "printed_at": print_time_text(datetime.now(timezone.utc), site_timezone)}
    return render_pdf("oq_report.html", context, locale=locale).pdf


def blank_form_pdf(kind: str, locale: str, site_timezone: str) -> bytes:
    """A blank form (intake, handling sheet, recall progress) to fill in by hand while the system is down."""
    from datetime import timezone

    from gmp_complaints.domain.complaints import CHANNEL_LABELS, TYPE_LABELS
    from gmp_complaints.domain.investigation import (
        CHECKLIST_LABELS,
        EXAMINED_CAUSE_LABELS,
        ROOT_CAUSE_CATEGORY_LABELS,
    )

    with force_locale(locale):
        if kind == "intake":
            fields = [_("Received on (date and time)"), _("Received by"), _("Channel"), _("Complainant"),
                      _("Complainant organisation"), _("Contact"), _("Product"), _("Batches"), _("Complaint type"),
                      _("Description as received"), _("Sample available"), _("Customer's deadline")]
            ticks = {_("Channel"): [translate(v) for v in CHANNEL_LABELS.values()],
                     _("Complaint type"): [translate(v) for v in TYPE_LABELS.values()],
                     _("Sample available"): [_("yes"), _("no")]}
            rows, signers = [], [_("Received by")]
        elif kind == "handling":
            examined = [translate(v) for v in EXAMINED_CAUSE_LABELS.values()]
            fields = [_("Complaint number"), _("Initial feedback"), _("Validity"), _("Classification"),
                      *[translate(v) for v in CHECKLIST_LABELS.values()], _("Root cause"), _("Root cause category"),
                      _("Justification of human error"), *examined, _("Impact"),
                      _("Other batches possibly affected"), _("Assessment"), _("Formal reply"), _("CAPA")]
            ticks = {_("Classification"): ["I", "II", "III"],
                     _("Root cause category"): [translate(v) for v in ROOT_CAUSE_CATEGORY_LABELS.values()],
                     **{label: [_("yes"), _("no")] for label in examined}}
            rows, signers = [], [_("QA officer (complaint administrator)"), _("Head of quality"), _("QP")]
        else:
            fields = [_("Recall number"), _("Batches"), _("Recall level"), _("Recall depth")]
            ticks = {_("Recall level"): ["一级 I", "二级 II", "三级 III"]}
            rows = [_("Consignee"), _("Batch"), _("Delivered"), _("Notified on"), _("Recovered"), _("Destroyed"),
                    _("Outstanding")]
            signers = [_("Recall coordinator"), _("Head of quality")]
        context = {"doc_title": title(f"blank_{kind}", locale), "record_number": _("blank form"), "record_version": 1,
                   "site_name": _("Quality department"), "fields": fields, "ticks": ticks, "rows": rows,
                   "signers": signers, "site_timezone": site_timezone,
                   "printed_at": print_time_text(datetime.now(timezone.utc), site_timezone)}
    return render_pdf("blank_form.html", context, locale=locale).pdf


def title(kind: str, locale: str) -> str:
    english, chinese = TITLES[kind]
    return english if locale == "en" else chinese


def common_context(context: dict, kind: str, locale: str) -> dict:
    """What every printed record shows besides its own data: title, labels, print time, site name."""
    return {**context, "doc_title": title(kind, locale), "sign_labels": signature_labels(),
            "labels": complaint_labels(),
            "printed_at": print_time_text(context["printed_at"], context["site_timezone"]),
            "site_name": _("Quality department"),
            "capa_labels": {k.value: translate(v) for k, v in CAPA_STATUS_LABELS.items()},
            "kind_labels": {k.value: translate(v) for k, v in ACTION_KIND_LABELS.items()},
            "action_status_labels": {k.value: translate(v) for k, v in ACTION_STATUS_LABELS.items()},
            "effectiveness_labels": {k.value: translate(v) for k, v in EFFECTIVENESS_LABELS.items()},
            "source_labels": {k.value: translate(v) for k, v in SOURCE_LABELS.items()},
            "action_label": action_label, "record_label": record_label, "readable_changes": readable_changes}


def complaint_pdf(unit: UnitOfWork, complaint_id: int, kind: str, sequence: int | None, locale: str,
                  roles) -> bytes:
    """One printed record of a complaint, as the holder of ``roles`` may see it."""
    return render_complaint_document(service.complaint_context(unit, complaint_id, roles), kind, sequence, locale)


def render_complaint_document(context: dict, kind: str, sequence: int | None, locale: str) -> bytes:
    extra = service.check_document(kind, sequence, context["c"])
    with force_locale(locale):
        texts_key = "text_zh" if locale.startswith("zh") else "text_en"
        context["criterion_text"] = {c.code: getattr(c, texts_key) for c in context["criteria"]}
        full = {**common_context(context, kind, locale), **extra}
        if kind in CUSTOMER_LETTERS:
            # A letter carries no internal signatures: signed later or not, they are not the customer's.
            full.update(letterhead=_letterhead(), signatory=_signatory(context["c"]))
        elif kind != "audit_trail":
            full["signatures"] = context["c"]["signatures"]
        else:
            return render_audit_trail(full, locale=locale).pdf
    return render_pdf(f"{kind}.html", full, locale=locale).pdf


#: the documents that go to the customer: letters, not records
CUSTOMER_LETTERS = ("reply", "reminder")


def _letterhead() -> dict:
    from flask import current_app

    settings = current_app.config["GMP_SETTINGS"]
    return {"company": settings.company_name, "address": settings.company_address, "phone": settings.company_phone}


def _signatory(c: dict) -> dict | None:
    """The complaint administrator who owns the complaint signs its letters by name (SOP 5.6)."""
    owner = c.get("owner")
    if not owner:
        return None
    return {"printed_name": owner["printed_name"], "title": _("Complaint administrator")}


def capa_pdf(unit: UnitOfWork, capa_id: int, locale: str) -> bytes:
    return render_capa_document(service.capa_context(unit, capa_id), locale)


def render_capa_document(context: dict, locale: str) -> bytes:
    with force_locale(locale):
        full = {**common_context(context, "capa_record", locale), "signatures": context["k"]["signatures"]}
    return render_pdf("capa_record.html", full, locale=locale).pdf


def recall_report_pdf(unit: UnitOfWork, recall_id: int, locale: str) -> bytes:
    with unit:
        recall = recalls.load_recall(unit, recall_id, for_update=False)
        view = recalls.recall_view(unit, recall)
        context = {"r": view, "printed_at": unit.now(), "site_timezone": unit.settings.site_timezone,
                   "record_number": recall.number, "record_version": recall.version}
    totals = {key: sum(line[key] or 0 for line in view["reconciliation"])
              for key in ("quantity_delivered", "quantity_recovered", "quantity_destroyed", "quantity_outstanding")}
    entries = [{**n, "late": bool(n["sent_at"]) and datetime.fromisoformat(n["sent_at"]) > datetime.fromisoformat(
        n["due_at"])} for n in view["notifications"]]
    notify_by = view["deadlines"]["notify_consignees_by"]
    notices = [{**n, "late": bool(n["sent_at"] and notify_by) and datetime.fromisoformat(n["sent_at"]) >
                datetime.fromisoformat(notify_by)} for n in view["notices"]]
    with force_locale(locale):
        full = {**common_context(context, "recall_report", locale), "signatures": view["signatures"],
                "totals": totals, "entries": entries, "notices": notices, "recall_labels": recall_labels()}
    return render_pdf("recall_report.html", full, locale=locale).pdf


def recall_notice_pdf(context: dict, locale: str) -> bytes:
    """The letter one consignee receives (``recalls.notice_context``), in its language."""
    return render_pdf("recall_notice.html", {**_notice_furniture(context, locale), "notice": context},
                      locale=locale).pdf


def consignee_list_pdf(unit: UnitOfWork, recall_id: int, lines: list[dict], locale: str) -> bytes:
    """The consignee list of a recall for the recall team: contacts, out-of-hours, export and sample flags."""
    with unit:
        recall = recalls.load_recall(unit, recall_id, for_update=False)
        context = {"r": recalls.recall_view(unit, recall, with_signatures=False), "lines": lines,
                   "printed_at": unit.now(), "site_timezone": unit.settings.site_timezone,
                   "record_number": recall.number, "record_version": recall.version}
    with force_locale(locale):
        full = {**common_context(context, "consignee_list", locale), "recall_labels": recall_labels()}
    return render_pdf("consignee_list.html", full, locale=locale).pdf


def recall_notice_mail(context: dict, locale: str) -> tuple[str, str]:
    """The same notice as an e-mail: (subject, plain-text body)."""
    from flask import render_template

    furniture = _notice_furniture(context, locale)
    with force_locale(locale):
        body = render_template("mail/recall_notice.txt", notice=context, **furniture)
    return f"{furniture['doc_title']} {context['recall']['number']}", body


def recall_notices_pdf(contexts: list[dict], locale: str) -> bytes:
    """Many consignees' letters in one PDF, a page each: one rendering instead of one per letter (about
    four times faster for a long consignee list)."""
    return render_pdf("recall_notices.html", {**_notice_furniture(contexts[0], locale), "notices": contexts},
                      locale=locale).pdf


def _notice_furniture(context: dict, locale: str) -> dict:
    with force_locale(locale):
        return {"doc_title": title("recall_notice", locale), "site_name": _("Quality department"),
                "recall_labels": recall_labels(),
                "printed": print_time_text(context["printed_at"], context["site_timezone"])[:10]}


def recall_labels() -> dict:
    """The recall's codes in the page language."""
    return {"status": {k.value: translate(v) for k, v in RECALL_STATUS_LABELS.items()},
            "level": {k.value: translate(v) for k, v in LEVEL_LABELS.items()},
            "definition": {k.value: translate(v) for k, v in LEVEL_DEFINITIONS.items()},
            "depth": {k.value: translate(v) for k, v in DEPTH_LABELS.items()},
            "origin": {k.value: translate(v) for k, v in ORIGIN_LABELS.items()},
            "kind": {k: translate(v) for k, v in NOTIFICATION_KIND_LABELS.items()},
            "far_stage": {k.value: translate(v) for k, v in FAR_STAGE_LABELS.items()},
            "decision": {k.value: translate(v) for k, v in BATCH_DECISION_LABELS.items()},
            "contact": {k.value: translate(v) for k, v in CONTACT_RESULT_LABELS.items()},
            "effectiveness": {k.value: translate(v) for k, v in EFFECTIVENESS_LEVEL_LABELS.items()}}


def build_archive(new_uow: Callable[[], UnitOfWork], complaint_id: int, *, locale: str, masked: bool,
                  printed_at: datetime | None = None, anchor_tree_size: int | None = None) -> tuple[bytes, dict]:
    """The archive package of a closed complaint (SOP §8); the same arguments give the same bytes.
    ``new_uow()`` returns a new unit of work (the package is read in several). Returns (zip bytes,
    manifest dict).

    ``masked`` makes the variant for a reader without access to personal data (SEC-11): the records printed as
    the pages show them to such a reader (complainant and ADR case texts masked), the letters to the customer
    printed again from that record instead of the copies sent (whose SHA-256 the manifest lists), and the
    manifest saying ``"personal_data": "masked"``. It is a package of its own, signed and verified like the
    clear one. The audit bundle is the same in both: the audit trail never holds the complainant's contact or
    the ADR case texts (they are excluded from it, ``models``), and its proofs must stay as signed."""
    # No role at all sees no personal data; every role together sees all of it.
    context = service.complaint_context(new_uow(), complaint_id, frozenset() if masked else frozenset(Role))
    c = context["c"]
    if c["status"] != "closed":
        raise ConflictError(Msg("Only a closed complaint is archived."))
    if printed_at is not None:
        context["printed_at"] = printed_at
    unit = new_uow()
    with unit:
        records = complaint_records(unit.session, load_complaint(unit, complaint_id, for_update=False))
        attachments = {f"attachments/{a['id']}-{entry_name(a['filename'])}": read_stored(unit, a["sha256"])
                       for a in c["attachments"]}
        # The CAPA's implementation evidence belongs to the complaint's record too (SOP §8).
        attachments.update({f"capa/{capa['number']}/{f['id']}-{entry_name(f['filename'])}": read_stored(unit, f["sha256"])
                            for capa in context["capas"] for action in capa["actions"]
                            for f in action["evidence_files"]})
        keys = public_keys(unit.session)
    # The audit trail up to the anchor: what the bundle proves is exactly what the PDF shows, and a
    # later package with the same anchor shows the same (the archiving itself comes after).
    bundle = build_bundle(new_uow(), None, None, records=records, anchor_tree_size=anchor_tree_size)
    context["events"] = [e for e in context["events"] if e.index < bundle.anchor_tree_size]
    files: dict[str, bytes] = dict(attachments)
    for kind in ("intake_form", "handling_sheet", "audit_trail"):
        files[f"documents/{kind}.pdf"] = render_complaint_document(context, kind, None, locale)
    # The letters as they were sent (kept at their first print), else as they read now. A sent letter is
    # addressed to the complainant: the masked package prints it again from the masked record.
    letters_as_sent = {}
    for kind, sequences in (("reply", [r["sequence"] for r in c["replies"]]),
                            ("reminder", list(range(1, len(c["reminders"]) + 1)))):
        for sequence in sequences:
            name = f"documents/{kind}-{sequence}.pdf"
            kept = service.letter_as_sent(new_uow(), complaint_id, kind, sequence, locale)
            if kept is not None and masked:
                letters_as_sent[name] = hashlib.sha256(kept).hexdigest()
            files[name] = kept if kept is not None and not masked else render_complaint_document(
                context, kind, sequence, locale)
    for capa in context["capas"]:
        capa_context = service.capa_context(new_uow(), capa["id"])
        capa_context["printed_at"] = context["printed_at"]
        files[f"documents/{capa['number']}.pdf"] = render_capa_document(capa_context, locale)
    files[AUDIT_BUNDLE] = bundle.data
    files[KEYS] = json.dumps(keys, indent=1).encode()
    settings = unit.settings
    about = {"complaint": {"id": c["id"], "number": c["number"], "intake_ref": c["intake_ref"],
                           "closed_on": c["closed_on"], "retention_until": c["retention_until"]},
             "printed_at": print_time_text(context["printed_at"], context["site_timezone"]),
             "printed_at_utc": context["printed_at"].isoformat(), "locale": locale,
             "audit_anchor_tree_size": bundle.anchor_tree_size, "site": settings.site_id,
             "personal_data": MASKED if masked else CLEAR}
    if letters_as_sent:
        about["letters_as_sent"] = letters_as_sent
    manifest = manifest_for(files, about)
    files[MANIFEST] = manifest
    files[SIGNATURE] = signature_for(manifest, load_signer(settings.signing_key_file, settings.audit_origin))
    return pack(files), json.loads(manifest)


def adr_packet_pdf(packet: dict, locale: str) -> bytes:
    """The hand-off packet PV receives (``pharmacovigilance.packet``), in zh-CN or English."""
    context = {"p": packet, "printed_at": datetime.fromisoformat(packet["generated_at"]),
               "site_timezone": packet["site_timezone"], "record_number": packet["complaint"]["number"] or packet["complaint"]["intake_ref"],
               "record_version": packet["case"]["sequence"]}
    with force_locale(locale):
        full = {**common_context(context, "adr_packet", locale), "adr_labels": adr_labels()}
    return render_pdf("adr_packet.html", full, locale=locale).pdf


ANNUAL_REVIEW_TITLES = ("Annual product review: complaints, recalls, returns, ADR and CAPA", "年度产品质量回顾：投诉、召回、退货、不良反应与 CAPA")


def annual_review_pdf(extract: dict, locale: str) -> bytes:
    """The annual product review extract (``services.product_review``): no print time, so the same data
    gives the same bytes."""
    from gmp_complaints.services.product_review import SHEETS

    with force_locale(locale):
        sections = [("complaints", _("Complaints")), ("recalls", _("Recalls")), ("returns", _("Returned goods")),
                    ("adr_cases", _("ADR hand-offs")), ("capas", _("CAPA"))]
        labels = complaint_labels()
        shown = {"complaint_type": labels["type"], "status": {**labels["status"], **recall_labels()["status"]},
                 "actions": labels["action"], "seriousness": adr_labels()["seriousness"],
                 "root_cause_category": labels["root_cause_category"],
                 "channel": {k.value: translate(v) for k, v in RETURN_CHANNEL_LABELS.items()}}

        def display(name: str) -> list[list]:
            """The section's cells for a reader: codes as words, yes/no in the page language."""
            rows = []
            for row in extract[name]:
                cells = []
                for column in SHEETS[name]:
                    value = row.get(column)
                    words = shown.get(column, {})
                    if isinstance(value, bool):
                        value = _("yes") if value else _("no")
                    elif isinstance(value, list):
                        value = ", ".join(words.get(v, v) for v in value)
                    elif isinstance(value, str) and value in words:
                        value = words[value]
                    cells.append(value)
                rows.append(cells)
            return rows

        context = {"x": extract, "doc_title": ANNUAL_REVIEW_TITLES[0] if locale == "en" else ANNUAL_REVIEW_TITLES[1],
                   "site_name": _("Quality department"), "sections": sections, "columns": SHEETS,
                   "rows": {name: display(name) for name in SHEETS}, "column_labels": annual_review_columns()}
    return render_pdf("annual_review.html", context, locale=locale).pdf


def annual_review_columns() -> dict:
    """The extract's column headings in the current language."""
    return {"number": _("Number"), "intake_ref": _("Intake reference"), "received_on": _("Received on"),
            "complaint_type": _("Complaint type"), "complaint_class": _("Class"), "batches": _("Batches"),
            "status": _("Status"), "root_cause": _("Root cause"), "root_cause_category": _("Root cause category"),
            "channel": _("Returned through"), "reasonable": _("Reasonable"),
            "actions": _("Actions"), "closed_on": _("Closed on"), "capas": _("CAPA"), "level": _("Level"),
            "depth": _("Recall depth"), "safety_hazard": _("Safety hazard"), "decided_on": _("Decided on"),
            "reason": _("Reason"), "batch_no": _("Batch"), "quantity_received": _("Quantity received"),
            "disposition": _("Disposition"), "complaint": _("Complaint"), "sequence": _("Report"),
            "day0": _("Day 0"), "seriousness": _("Seriousness"), "unexpected": _("Unexpected"),
            "group_event": _("Group adverse event"), "accepted": _("Accepted by PV"),
            "case_number": _("Safety-database case number"), "submitted": _("Submitted"), "source": _("Source"),
            "problem_statement": _("Problem statement"), "effectiveness_due_on": _("Effectiveness check due on"),
            "effectiveness_result": _("Effectiveness"), "complaints": _("Complaints")}


#: u-charts drawn besides those of flagged products: the busiest products'
U_CHARTS_SHOWN = 3


def charts_for(report: dict) -> dict:
    """The report's charts as SVG, labelled in the page language."""
    labels = complaint_labels()
    charts = {}
    types = [(labels["type"].get(k, k), v) for k, v in report["by_type"].items() if v]
    if types:
        charts["pareto"] = pareto_svg(_("Complaints by type (Pareto)"), [t for t, _v in types], [v for _t, v in types],
                                      _("cumulative share"))
    periods = list(reversed(report["previous"])) + [report]
    charts["periods"] = periods_svg(
        _("Complaints per period"), [f"{p['from']}\n{p['to']}" for p in periods],
        {_("complaints"): [p["complaints"] for p in periods]}, _("complaints"))
    names = {"rate": _("per million units"), "centre": _("centre line"), "alert": _("alert limit (2σ)"),
             "action": _("action limit (3σ)"), "unit": _("complaints per million units")}
    # A chart per product would bury the page: the products a u-chart signal names, and the three with the
    # most complaints in the period.
    busiest = sorted(report["by_product"], key=lambda code: -report["by_product"][code])[:U_CHARTS_SHOWN]
    flagged = {s["product_code"] for s in report["signals"] if s["rule"] == "u_chart"}
    charts["u_charts"] = [{"product_code": c["product_code"], "svg": u_chart_svg(
        _("u-chart %(product)s", product=c["product_code"]), c["quarters"], c["rates"], c["centre"], c["alert_limit"],
        c["action_limit"], names)} for c in report["u_chart"]
        if (c["product_code"] in flagged or c["product_code"] in busiest) and any(r is not None for r in c["rates"])]
    return charts


def quarterly_review_pdf(review: dict, locale: str) -> bytes:
    """The quarterly review report (``services.quarterly_reviews.review``): the frozen figures, their
    charts (the trend page's), the signals and their evaluation, the conclusions and the signatures."""
    from datetime import datetime as _datetime

    from flask import current_app

    with force_locale(locale):
        report = review["figures"]
        context = {"r": review, "f": report, "charts": charts_for(report), "printed_at": _datetime.now().astimezone(),
                   "site_timezone": current_app.config["GMP_SETTINGS"].site_timezone, "record_number": review["quarter"],
                   "record_version": review["version"], "signatures": review["signatures"],
                   "rule_labels": {k.value: translate(v) for k, v in SIGNAL_RULE_LABELS.items()},
                   "review_status_labels": {k.value: translate(v) for k, v in REVIEW_STATUS_LABELS.items()}}
        full = common_context(context, "quarterly_review", locale)
    return render_pdf("quarterly_review.html", full, locale=locale).pdf

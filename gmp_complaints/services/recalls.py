"""Recall use cases (SOP 5.5.3, DESIGN §4 and §6): propose, decide (QA head and QP), run (consignee list,
reconciliation, register entries), complete, close with the signed final report, or cancel a proposal.

Every signature goes through ``signatures.service``; every act is one unit of work; the regulator
notifications a decided recall owes are entries of the register (``services.notifications``).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from audit.models import AuditEvent
from audit.service import actions_of_records
from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaints import Status
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.field_alert import FarStage
from gmp_complaints.domain.markets import DEFECT_NOTICE_HOURS, HOME_MARKET, defect_notice_recipients, split_markets
from gmp_complaints.domain.notices import NoticeKind, OfficialScope
from gmp_complaints.domain.recall import (
    CLOCK_FIELDS,
    DEFAULT_RECALL_CLOCKS,
    LOCAL_AUTHORITY,
    OPEN_RECALL_STATUSES,
    MarketAction,
    RecallClock,
    RecallFacts,
    RecallLevel,
    RecallOrigin,
    RecallStatus,
    check_batch_decision,
    check_clock,
    check_market_actions,
    check_may_cancel,
    check_may_change_proposal,
    check_may_close,
    check_may_complete,
    check_may_decide,
    check_may_follow_up,
    check_may_run,
    check_reconciliation,
    effectiveness_sample,
    markets_without_action,
    recall_deadlines,
    recall_number,
)
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.models import (
    Batch,
    Complaint,
    Distribution,
    Notification,
    OutboxMessage,
    Product,
    Recall,
    RecallBatch,
    RecallBatchDisposition,
    RecallClockRow,
    RecallComplaint,
    RecallEffectivenessCheck,
    RecallEffectivenessContact,
    RecallNotice,
    RecallReconciliation,
    User,
    recall_clock_line,
)
from gmp_complaints.services import schemas
from gmp_complaints.services.notices import holders_of, notices_of
from gmp_complaints.services.numbering import take_serial
from gmp_complaints.services.personal_data import cipher_for
from gmp_complaints.services.responsible_officials import notify_officials
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.binding import canonical_snapshot_hash
from signatures.matrix import SigningStep, authors_of, missing_roles, rule_for
from signatures.scopes import recall_snapshot

#: the authority a recall's register entries are due to, until the site names its own


# --- loading ---------------------------------------------------------------------------------------


def load_recall(uow: UnitOfWork, recall_id: int, *, for_update: bool = True) -> Recall:
    query = sa.select(Recall).where(Recall.id == recall_id)
    if for_update:
        query = query.with_for_update(of=Recall)
    recall = uow.session.scalars(query).one_or_none()
    if recall is None:
        raise NotFoundError(Msg("No recall with id %(id)s.", id=recall_id))
    return recall


def recall_clocks(session) -> dict[RecallLevel, RecallClock]:
    """The configured clocks per level; the DESIGN §4 defaults where a level has no row yet."""
    clocks = dict(DEFAULT_RECALL_CLOCKS)
    for row in session.scalars(sa.select(RecallClockRow)):
        level = RecallLevel(row.level)
        clocks[level] = RecallClock(level, row.notify_hours, row.report_and_plan_days, row.progress_every_days)
    return clocks


def _batches(session, recall: Recall) -> list[tuple[Batch, str]]:
    ids = [link.batch_id for link in recall.batch_links]
    rows = session.execute(sa.select(Batch, Product.code).join(Product, Product.id == Batch.product_id)
                           .where(Batch.id.in_(ids)).order_by(Batch.batch_no)).all()
    return [(batch, code) for batch, code in rows]


def consignee_lines(session, recall: Recall, consignee: str | None = None) -> list[dict]:
    """Per consignee and batch: what the distribution records say was delivered, with the consignee's
    contacts (from the latest shipment) and the reconciliation recorded so far. One grouped query and one
    query for the reconciliation, whatever the number of distribution rows."""
    batch_ids = [link.batch_id for link in recall.batch_links]
    if not batch_ids:
        return []
    grouped = (sa.select(Distribution.consignee, Distribution.batch_id, Batch.batch_no,
                         sa.func.sum(Distribution.quantity).label("delivered"),
                         sa.func.min(Distribution.shipped_on).label("first_shipped"),
                         sa.func.max(Distribution.shipped_on).label("last_shipped"),
                         sa.func.max(sa.case((Distribution.is_export, 1), else_=0)).label("export"),
                         sa.func.max(sa.case((Distribution.is_medical_sample, 1), else_=0)).label("sample"))
               .join(Batch, Batch.id == Distribution.batch_id)
               .where(Distribution.batch_id.in_(batch_ids))
               .where(sa.true() if consignee is None else Distribution.consignee == consignee)
               .group_by(Distribution.consignee, Distribution.batch_id, Batch.batch_no)
               .order_by(Distribution.consignee, Batch.batch_no))
    rows = session.execute(grouped).all()
    contacts = _contacts(session, batch_ids, consignee)
    reconciliation = sa.select(RecallReconciliation).where(RecallReconciliation.recall_id == recall.id)
    if consignee is not None:
        reconciliation = reconciliation.where(RecallReconciliation.consignee == consignee)
    reconciled = {(r.consignee, r.batch_id): r for r in session.scalars(reconciliation)}
    lines = []
    for row in rows:
        contact = contacts[(row.consignee, row.batch_id)]
        entry = reconciled.get((row.consignee, row.batch_id))
        recovered = entry.quantity_recovered if entry else None
        destroyed = entry.quantity_destroyed if entry else None
        lines.append({
            "consignee": row.consignee, "batch_no": row.batch_no, "quantity_delivered": int(row.delivered),
            "shipped_on": row.first_shipped.isoformat(), "last_shipped_on": row.last_shipped.isoformat(),
            **contact, "is_export": bool(row.export),
            "is_medical_sample": bool(row.sample),
            "quantity_recovered": recovered, "quantity_destroyed": destroyed,
            "quantity_outstanding": (int(row.delivered) - recovered - destroyed) if entry else None,
            "explanation": entry.explanation if entry else None,
            "stock_status": "quarantined_recalled" if entry and entry.quantity_recovered else None,
            "reconciled": entry is not None,
        })
    return lines


CONTACT_FIELDS = ("address", "contact", "phone", "email", "out_of_hours_contact")


def _contacts(session, batch_ids: list[int], consignee: str | None = None) -> dict[tuple[str, int], dict]:
    """Per consignee and batch, each contact field from the latest shipment that gives it (a later shipment
    without an e-mail address does not lose the one an earlier shipment gave)."""
    found: dict[tuple[str, int], dict] = {}
    columns = [getattr(Distribution, name) for name in CONTACT_FIELDS]
    query = sa.select(Distribution.consignee, Distribution.batch_id, *columns).where(
        Distribution.batch_id.in_(batch_ids)).order_by(Distribution.id)
    if consignee is not None:
        query = query.where(Distribution.consignee == consignee)
    for row in session.execute(query):
        entry = found.setdefault((row.consignee, row.batch_id), dict.fromkeys(CONTACT_FIELDS))
        for name in CONTACT_FIELDS:
            value = getattr(row, name)
            if value is not None:
                entry[name] = value
    return found


def _facts(session, recall: Recall, lines: list[dict] | None = None) -> RecallFacts:
    lines = consignee_lines(session, recall) if lines is None else lines
    entries = session.execute(sa.select(Notification.kind, Notification.sent_at).where(
        Notification.subject_type == "recall", Notification.subject_id == recall.id)).all()
    notice_sent = any(kind == "recall_notice" and sent_at is not None for kind, sent_at in entries)
    disposed = set(session.scalars(sa.select(RecallBatchDisposition.batch_id).where(
        RecallBatchDisposition.recall_id == recall.id)))
    check = session.scalars(sa.select(RecallEffectivenessCheck).where(
        RecallEffectivenessCheck.recall_id == recall.id)).one_or_none()
    contacted = set(session.scalars(sa.select(RecallEffectivenessContact.consignee).where(
        RecallEffectivenessContact.recall_id == recall.id)))
    notices = sa.select(RecallNotice.consignee).where(RecallNotice.recall_id == recall.id)
    notified = set(session.scalars(notices if recall.mock else notices.where(RecallNotice.sent_at.is_not(None))))
    return RecallFacts(status=RecallStatus(recall.status), safety_hazard=recall.safety_hazard,
                       immediate_report_sent=notice_sent or recall.mock, lines=len(lines),
                       unreconciled_lines=sum(1 for line in lines if not line["reconciled"]),
                       unsent_notifications=sum(1 for _, sent_at in entries if sent_at is None),
                       undisposed_batches=sum(1 for link in recall.batch_links if link.batch_id not in disposed),
                       effectiveness_chosen=check is not None,
                       effectiveness_pending=len(set(json.loads(check.sample)) - contacted) if check else 0,
                       unnotified_consignees=len({line["consignee"] for line in lines} - notified), mock=recall.mock,
                       unsent_defect_notices=sum(1 for kind, sent_at in entries
                                                 if kind == "quality_report" and sent_at is None),
                       authority_notice_exception=bool(recall.authority_notice_exception))


# --- the view (DESIGN §6) ----------------------------------------------------------------------------


def recall_view(uow: UnitOfWork, recall: Recall, *, with_signatures: bool = True) -> dict:
    session = uow.session
    tz = ZoneInfo(uow.settings.site_timezone)
    clock = recall_clocks(session)[RecallLevel(recall.level)]
    last_progress = session.scalar(sa.select(sa.func.max(Notification.sent_at)).where(
        Notification.subject_type == "recall", Notification.subject_id == recall.id,
        Notification.kind == "recall_progress"))
    deadlines = recall_deadlines(decided_at=recall.decided_at, clock=clock, status=RecallStatus(recall.status),
                                 last_progress_report_at=last_progress)
    batches = _batches(session, recall)
    lines = consignee_lines(session, recall)

    def moment(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat(timespec="seconds") if value else None

    view = {
        "id": recall.id, "number": recall.number, "status": recall.status, "origin": recall.origin,
        "origin_reference": recall.origin_reference, "level": recall.level, "depth": recall.depth,
        "fda_class": recall.fda_class, "safety_hazard": recall.safety_hazard, "reason": recall.reason,
        "no_alternative_product": recall.no_alternative_product, "supply_impact": recall.supply_impact,
        "authority_notice_exception": recall.authority_notice_exception,
        "market_actions": _market_actions_of(recall),
        "markets_without_action": list(markets_without_action(
            tuple(MarketAction(a["market"], a["action"]) for a in _market_actions_of(recall)),
            _product_markets(session.get(Product, batches[0][0].product_id)))) if batches else [],
        "mock": recall.mock, "version": recall.version,
        "batch_nos": [batch.batch_no for batch, _ in batches],
        "batches": [{"batch_no": batch.batch_no, "product_code": code, "expires_on":
                     batch.expires_on.isoformat() if batch.expires_on else None} for batch, code in batches],
        "complaint_ids": [link.complaint_id for link in recall.complaint_links],
        "complaints": [{"id": cid, "number": number, "intake_ref": ref} for cid, number, ref in session.execute(
            sa.select(Complaint.id, Complaint.number, Complaint.intake_ref)
            .where(Complaint.id.in_([link.complaint_id for link in recall.complaint_links])).order_by(Complaint.id))],
        "decided_at": moment(recall.decided_at), "completed_at": moment(recall.completed_at),
        "closed_at": moment(recall.closed_at), "cancel_reason": recall.cancel_reason,
        "created_at": moment(recall.created_at),
        "deadlines": deadlines.as_view(tz),
        "clocks": {"notify_hours": clock.notify_hours, "report_and_plan_days": clock.report_and_plan_days,
                   "progress_every_days": clock.progress_every_days},
        "consignee_count": len({line["consignee"] for line in lines}),
        "lines_unreconciled": sum(1 for line in lines if not line["reconciled"]),
        "reconciliation": [line for line in lines if line["reconciled"]],
        "dispositions": _dispositions(session, recall, tz),
        "notices": _notices(session, recall, tz),
        # WF-10, WF-11: who in the company was told of the recall, the delivery and the QP's acknowledgement
        "staff_notices": notices_of(session, uow.settings, subject_type="recall", subject_id=recall.id),
        "timings": _timings(session, recall, lines),
        "effectiveness": _effectiveness(session, recall, tz),
        "notifications": [notification_view(n, tz) for n in session.scalars(
            sa.select(Notification).where(Notification.subject_type == "recall", Notification.subject_id == recall.id)
            .order_by(Notification.due_at, Notification.id))],
        "signatures": [],
    }
    if with_signatures:
        for row in signing.signatures_of(session, "recall", str(recall.id)):
            current = canonical_snapshot_hash(recall_snapshot(view, rule_for(row.step).scope, row.subject))
            view["signatures"].append(signing.signature_view(row, current, tz))
    return view


def _notices(session, recall: Recall, tz) -> list[dict]:
    """Each prepared notice; one e-mailed shows its last message: queued (with the delivery attempts and
    the last error) until the mail server takes it."""
    mails = {m.recall_notice_id: m for m in session.scalars(
        sa.select(OutboxMessage).join(RecallNotice, RecallNotice.id == OutboxMessage.recall_notice_id)
        .where(RecallNotice.recall_id == recall.id).order_by(OutboxMessage.id))}
    return [{"consignee": n.consignee, "locale": n.locale, "document_sha256": n.document_sha256,
             "prepared_at": n.prepared_at.astimezone(tz).isoformat(timespec="seconds"),
             "sent_at": n.sent_at.astimezone(tz).isoformat(timespec="seconds") if n.sent_at else None,
             "method": n.method, "email": _email_view(mails.get(n.id), tz)}
            for n in session.scalars(sa.select(RecallNotice).where(RecallNotice.recall_id == recall.id)
                                     .order_by(RecallNotice.consignee))]


def _email_view(message: OutboxMessage | None, tz) -> dict | None:
    if message is None:
        return None
    return {"status": message.status, "attempts": message.attempts, "last_error": message.last_error,
            "queued_at": message.created_at.astimezone(tz).isoformat(timespec="seconds"),
            "attachment_sha256": message.attachment_sha256}


def _timings(session, recall: Recall, lines: list[dict]) -> dict:
    """How long each step took after the decision (EU GMP 8.30: the mock recall's measure): the full
    consignee list in hand (its first export) and every notice ready (the last one prepared)."""
    if recall.decided_at is None:
        return {"consignee_list_minutes": None, "notices_ready_minutes": None}
    listed = session.scalar(sa.select(sa.func.min(AuditEvent.occurred_at)).where(
        AuditEvent.entity_type == "recall", AuditEvent.entity_id == str(recall.id),
        AuditEvent.action == "recall.consignee_list_exported"))
    consignees = {line["consignee"] for line in lines}
    prepared = dict(session.execute(sa.select(RecallNotice.consignee, RecallNotice.prepared_at).where(
        RecallNotice.recall_id == recall.id)).all())
    ready = max(prepared.values()) if consignees and consignees <= set(prepared) else None

    def minutes(moment):
        return round(max((moment - recall.decided_at).total_seconds(), 0) / 60, 1) if moment else None

    return {"consignee_list_minutes": minutes(listed), "notices_ready_minutes": minutes(ready)}


def _dispositions(session, recall: Recall, tz) -> list[dict]:
    rows = session.execute(sa.select(RecallBatchDisposition, Batch.batch_no)
                           .join(Batch, Batch.id == RecallBatchDisposition.batch_id)
                           .where(RecallBatchDisposition.recall_id == recall.id).order_by(Batch.batch_no))
    return [{"batch_no": batch_no, "decision": d.decision, "rationale": d.rationale, "test_reference": d.test_reference,
             "decided_at": d.decided_at.astimezone(tz).isoformat(timespec="seconds")} for d, batch_no in rows]


def _effectiveness(session, recall: Recall, tz) -> dict | None:
    check = session.scalars(sa.select(RecallEffectivenessCheck).where(
        RecallEffectivenessCheck.recall_id == recall.id)).one_or_none()
    if check is None:
        return None
    contacts = session.scalars(sa.select(RecallEffectivenessContact).where(
        RecallEffectivenessContact.recall_id == recall.id).order_by(RecallEffectivenessContact.consignee))
    return {"level": check.level, "seed": check.seed, "sample": json.loads(check.sample),
            "chosen_at": check.chosen_at.astimezone(tz).isoformat(timespec="seconds"),
            "contacts": [{"consignee": c.consignee, "contacted_on": c.contacted_on.isoformat(), "method": c.method,
                          "result": c.result, "note": c.note} for c in contacts]}


def notification_view(row: Notification, tz) -> dict:
    return {"id": row.id, "kind": row.kind, "authority": row.authority, "subject": row.subject_number,
            "subject_type": row.subject_type, "subject_id": row.subject_id,
            "due_at": row.due_at.astimezone(tz).isoformat(timespec="seconds"),
            "sent_at": row.sent_at.astimezone(tz).isoformat(timespec="seconds") if row.sent_at else None,
            "method": row.method, "reference": row.reference, "recipient": row.recipient,
            "stage": far_stage(row), "follows_id": row.follows_id,
            "reminders_sent": row.reminders_sent if row.kind == "field_alert" else None,
            "created_at": row.created_at.astimezone(tz).isoformat(timespec="seconds"),
            "copy": {"filename": row.copy_filename, "media_type": row.copy_media_type, "size": row.copy_size,
                     "sha256": row.copy_sha256} if row.copy_sha256 else None}


def far_stage(row: Notification) -> str | None:
    """A field alert entry's place in its chain: initial, follow-up, or the final report once sent as such."""
    if row.kind != "field_alert":
        return None
    if row.final_report:
        return FarStage.final.value
    return (FarStage.follow_up if row.follows_id is not None else FarStage.initial).value


def get_recall(uow: UnitOfWork, recall_id: int) -> dict:
    with uow:
        return recall_view(uow, load_recall(uow, recall_id, for_update=False))


def list_recalls(uow: UnitOfWork, *, status: str | None = None) -> list[dict]:
    with uow:
        query = sa.select(Recall).order_by(Recall.id.desc())
        if status:
            query = query.where(Recall.status == status)
        tz = ZoneInfo(uow.settings.site_timezone)
        clocks = recall_clocks(uow.session)
        return [{"id": r.id, "number": r.number, "status": r.status, "level": r.level, "depth": r.depth,
                 "mock": r.mock, "safety_hazard": r.safety_hazard,
                 "decided_at": r.decided_at.astimezone(tz).isoformat(timespec="seconds") if r.decided_at else None,
                 "deadlines": recall_deadlines(decided_at=r.decided_at, clock=clocks[RecallLevel(r.level)],
                                               status=RecallStatus(r.status)).as_view(tz)}
                for r in uow.session.scalars(query)]


def get_consignees(uow: UnitOfWork, recall_id: int, *, export: str | None = None,
                   actor_id: int | None = None) -> tuple[str, list[dict]]:
    """The recall's number and its consignee lines; an export (``csv``) is an audited act, and the first
    one after the decision is when the full list was in hand (the mock recall's timing)."""
    with uow:
        recall = load_recall(uow, recall_id, for_update=False)
        lines = consignee_lines(uow.session, recall)
        if export:
            uow.record(DomainEvent("recall.consignee_list_exported", "recall", str(recall.id),
                                   {"format": [None, export], "lines": [None, len(lines)]}, actor_id=actor_id))
            uow.commit()
        return recall.number, lines


def recalls_of_complaint(session, complaint_id: int) -> list[Recall]:
    return list(session.scalars(sa.select(Recall).join(RecallComplaint, RecallComplaint.recall_id == Recall.id)
                                .where(RecallComplaint.complaint_id == complaint_id).order_by(Recall.id)))


def open_recalls(session, tz) -> list[dict]:
    """Recalls not yet closed or cancelled, with their next clock (the dashboard)."""
    clocks = recall_clocks(session)
    rows = session.scalars(sa.select(Recall).where(Recall.status.in_([s.value for s in OPEN_RECALL_STATUSES]))
                           .order_by(Recall.id))
    result = []
    for recall in rows:
        deadlines = recall_deadlines(decided_at=recall.decided_at, clock=clocks[RecallLevel(recall.level)],
                                     status=RecallStatus(recall.status)).as_view(tz)
        result.append({"id": recall.id, "number": recall.number, "status": recall.status, "level": recall.level,
                       "mock": recall.mock, "deadlines": deadlines})
    return result


def recalled_stock(session, recall_id: int, batch_id: int) -> dict:
    """What a recall brought back of one batch, and what became of it: recovered stock stays
    "quarantined – recalled" until the batch's signed disposition."""
    recovered = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(RecallReconciliation.quantity_recovered), 0))
                               .where(RecallReconciliation.recall_id == recall_id,
                                      RecallReconciliation.batch_id == batch_id))
    decision = session.scalar(sa.select(RecallBatchDisposition.decision).where(
        RecallBatchDisposition.recall_id == recall_id, RecallBatchDisposition.batch_id == batch_id))
    return {"recovered": int(recovered), "disposition": decision,
            "stock_status": decision or ("quarantined_recalled" if recovered else None)}


def recalls_of_batch(session, batch_id: int) -> list[Recall]:
    return list(session.scalars(sa.select(Recall).join(RecallBatch, RecallBatch.recall_id == Recall.id)
                                .where(RecallBatch.batch_id == batch_id).order_by(Recall.id)))


def open_recall_numbers(session, complaint_id: int) -> list[str]:
    """The recalls linked to a complaint that are not closed or cancelled: they keep it open (DESIGN §6)."""
    return [r.number for r in recalls_of_complaint(session, complaint_id)
            if RecallStatus(r.status) in OPEN_RECALL_STATUSES]


# --- propose ----------------------------------------------------------------------------------------


def _resolve_batches(session, product: Product | None, batch_nos: list[str]) -> tuple[Product, list[Batch]]:
    """The batches by number: of the given product, or of the one product their numbers name."""
    batches: list[Batch] = []
    for batch_no in dict.fromkeys(batch_nos):
        query = sa.select(Batch).where(Batch.batch_no == batch_no)
        if product is not None:
            query = query.where(Batch.product_id == product.id)
        found = list(session.scalars(query))
        if not found:
            raise ValidationError(Msg("Unknown batch."), {"batch_nos": [Msg(
                "Batch %(batch)s is not in the batch master data%(of)s.", batch=batch_no,
                of=f" of {product.code}" if product else "")]})
        if len(found) > 1:
            raise ValidationError(Msg("Ambiguous batch."), {"product_code": [Msg(
                "Batch %(batch)s exists for several products: name the product.", batch=batch_no)]})
        batches.append(found[0])
    products = {b.product_id for b in batches}
    if len(products) > 1:
        raise ValidationError(Msg("Batches of several products."), {"batch_nos": [Msg(
            "A recall covers batches of one product.")]})
    return product or session.get(Product, products.pop()), batches


def propose_recall(uow: UnitOfWork, data: dict, *, actor: Actor) -> dict:
    """``POST /recalls``: the proposal, numbered ``RC-<yy>-<nnn>``. The level is chosen on its own
    definitions; nothing is taken from the complaint class."""
    fields = schemas.load(schemas.RecallProposal, data)
    if not fields["batch_nos"]:
        raise ValidationError(Msg("No batch named."), {"batch_nos": [Msg("Name at least one batch.")]})
    complaint_ids = list(dict.fromkeys(fields["complaint_ids"] or []))
    origin = fields["origin"] or (RecallOrigin.complaint if complaint_ids else RecallOrigin.batch)
    if origin is RecallOrigin.complaint and not complaint_ids:
        raise ValidationError(Msg("No complaint named."), {"complaint_ids": [Msg(
            "A recall proposed from complaints names at least one complaint.")]})
    if origin in (RecallOrigin.regulator_order, RecallOrigin.trend) and not fields["origin_reference"]:
        raise ValidationError(Msg("Reference missing."), {"origin_reference": [Msg(
            "Give the reference of the order or of the trend signal.")]})
    if fields["no_alternative_product"] and not fields["supply_impact"]:
        raise ValidationError(Msg("Impact on supply missing."), {"supply_impact": [Msg(
            "Describe the impact on supply when there is no alternative product.")]})
    with uow:
        session = uow.session
        product = None
        if fields["product_code"]:
            product = session.scalars(sa.select(Product).where(Product.code == fields["product_code"])).one_or_none()
            if product is None:
                raise ValidationError(Msg("Unknown product."), {"product_code": [Msg("No product has this code.")]})
        complaints = []
        for complaint_id in complaint_ids:
            complaint = session.get(Complaint, complaint_id)
            if complaint is None:
                raise ValidationError(Msg("Unknown complaint."), {"complaint_ids": [Msg(
                    "No complaint with id %(id)s.", id=complaint_id)]})
            if complaint.status == Status.void.value:
                raise ValidationError(Msg("Void complaint."), {"complaint_ids": [Msg(
                    "Complaint %(id)s is void.", id=complaint_id)]})
            complaints.append(complaint)
        if product is None and complaints:
            product = session.get(Product, complaints[0].product_id)
        product, batches = _resolve_batches(session, product, fields["batch_nos"])
        if any(c.product_id != product.id for c in complaints):
            raise ValidationError(Msg("Complaint of another product."), {"complaint_ids": [Msg(
                "Every complaint linked to the recall concerns product %(code)s.", code=product.code)]})
        market_actions = _checked_market_actions(fields["market_actions"] or [], product)
        today = business_today(uow.settings)
        serial = take_serial(uow, f"RC:{today.year % 100:02d}")
        recall = Recall(
            number=recall_number(today.year, serial), status=RecallStatus.proposed.value, origin=origin.value,
            origin_reference=fields["origin_reference"], level=fields["level"].value, depth=fields["depth"].value,
            fda_class=fields["fda_class"].value if fields["fda_class"] else None,
            safety_hazard=fields["safety_hazard"], reason=fields["reason"],
            no_alternative_product=bool(fields["no_alternative_product"]), supply_impact=fields["supply_impact"],
            authority_notice_exception=fields["authority_notice_exception"], mock=bool(fields["mock"]),
            market_actions=_stored_market_actions(market_actions), version=1, is_demo=bool(data.get("is_demo")), created_by_id=actor.id,
            created_at=uow.now(), batch_links=[RecallBatch(batch_id=b.id) for b in batches],
            complaint_links=[RecallComplaint(complaint_id=c.id) for c in complaints])
        session.add(recall)
        session.flush()
        uow.record(DomainEvent("recall.proposed", "recall", str(recall.id), {
            "batch_ids": [None, sorted(b.id for b in batches)],
            "complaint_ids": [None, sorted(c.id for c in complaints)]}, actor_id=actor.id))
        tell_of_recall(uow, recall, decided=False, actor_id=actor.id)
        if not recall.mock:
            add_defect_notices(uow, recall, product, actor_id=actor.id)
        uow.commit()
        return recall_view(uow, recall)


# --- sign: the decision and the final report ------------------------------------------------------


def sign_recall(uow: UnitOfWork, recall_id: int, data: dict, *, actor: Actor, source_ip: str | None = None) -> dict:
    """``POST /recalls/<id>/signatures {username, password, step, comment}``: ``recall_decision`` (the
    second of the QA head's and the QP's signatures starts the clocks) or ``recall_closure`` (the final
    report; 409 while a consignee line is not reconciled)."""
    fields = schemas.load(schemas.RecallSigning, data)
    rule = rule_for(fields["step"])
    if rule.step not in (SigningStep.recall_decision, SigningStep.recall_closure):
        raise ValidationError(Msg("Unknown signing step."), {"step": [Msg(
            "A recall is signed with recall_decision or recall_closure.")]})
    with uow:
        session = uow.session
        recall = load_recall(uow, recall_id)
        lines = consignee_lines(session, recall)
        facts = _facts(session, recall, lines)
        if rule.step is SigningStep.recall_decision:
            check_may_decide(facts)
        else:
            check_may_close(facts)
        records = {"recall": [str(recall.id)], "recall_reconciliation": [
            str(r) for r in session.scalars(sa.select(RecallReconciliation.id).where(
                RecallReconciliation.recall_id == recall.id))]}
        signer = signing.authorize(
            uow, actor_id=actor.id, username=fields["username"], password=fields["password"], rule=rule,
            author_ids=authors_of(rule, actions_of_records(session, records)), source_ip=source_ip)
        view = recall_view(uow, recall, with_signatures=False)
        request = signing.SigningRequest(
            record_type="recall", record_id=str(recall.id), record_number=recall.number,
            record_version=recall.version, snapshot=recall_snapshot(view, rule.scope), rule=rule,
            comment=fields["comment"])
        signing.sign(uow, signer, request, source_ip=source_ip)
        valid = signing.valid_signatures(session, request, rule.step.value)
        signed = {row.signed_role for row in valid}
        if not missing_roles(rule, signed):
            if rule.step is SigningStep.recall_decision:
                _decide(uow, recall, signer.user.id, signers={row.signer_id for row in valid})
            else:
                recall.status, recall.closed_at = RecallStatus.closed.value, uow.now()
                uow.record(DomainEvent("recall.closed", "recall", str(recall.id), actor_id=signer.user.id))
        uow.commit()
        return recall_view(uow, recall)


def _decide(uow: UnitOfWork, recall: Recall, signer_id: int, *, signers: set[int] = frozenset()) -> None:
    """The recall is decided: in progress from now, and the register holds what the authority is owed. A
    safety-hazard recall's notice is due at once (China GMP Art. 301); a mock recall owes nobody anything."""
    now = uow.now()
    recall.status, recall.decided_at = RecallStatus.in_progress.value, now
    uow.record(DomainEvent("recall.decided", "recall", str(recall.id), actor_id=signer_id))
    tell_of_recall(uow, recall, decided=True, actor_id=signer_id, signers=signers)
    if recall.mock:
        return
    clock = recall_clocks(uow.session)[RecallLevel(recall.level)]
    deadlines = recall_deadlines(decided_at=now, clock=clock, status=RecallStatus.in_progress)
    due = (("recall_notice", now if recall.safety_hazard else deadlines.notify_consignees_by),
           ("recall_report_and_plan", deadlines.report_and_plan_by),
           ("recall_progress", deadlines.next_progress_report_by))
    for kind, due_at in due:
        add_notification(uow, kind=kind, subject=recall, due_at=due_at, actor_id=signer_id)


def tell_of_recall(uow: UnitOfWork, recall: Recall, *, decided: bool, actor_id: int | None,
                   signers: set[int] = frozenset()) -> int:
    """WF-10, WF-11: every QP and the responsible officials of recalls are told of a recall when it is proposed
    and when it is decided (a mock recall as an exercise: it runs the same steps inside the company), in the
    app and by e-mail; the QP acknowledges the notice. Those who signed the decision know it already."""
    kinds = {(False, False): NoticeKind.recall_proposed, (False, True): NoticeKind.recall_decided,
             (True, False): NoticeKind.mock_recall_proposed, (True, True): NoticeKind.mock_recall_decided}
    return notify_officials(uow, OfficialScope.recalls, kinds[(bool(recall.mock), decided)], subject_type="recall",
                            subject_id=recall.id, record_label=recall.number, actor_id=actor_id,
                            also=holders_of(uow.session, Role.qp), skip=signers)


def add_notification(uow: UnitOfWork, *, kind: str, subject: Recall | Complaint, due_at: datetime,
                     actor_id: int | None, authority: str = LOCAL_AUTHORITY,
                     follows: Notification | None = None) -> Notification:
    subject_type = "recall" if isinstance(subject, Recall) else "complaint"
    row = Notification(kind=kind, authority=authority, subject_type=subject_type, subject_id=subject.id,
                       subject_number=subject.number or subject.intake_ref, due_at=due_at, created_at=uow.now(),
                       follows_id=follows.id if follows is not None else None, reminders_sent=0)
    uow.session.add(row)
    uow.session.flush()
    uow.record(DomainEvent("notification.due", "notification", str(row.id), actor_id=actor_id))
    return row


def add_defect_notices(uow: UnitOfWork, subject: Recall | Complaint, product: Product, *, actor_id: int | None) -> int:
    """A quality defect of a product marketed in the EEA is reported to every concerned competent
    authority and to the MAH when that is not this site (EU GMP 8.15; HO-08): one register entry each,
    kind ``quality_report``, due within ``DEFECT_NOTICE_HOURS``."""
    recipients = defect_notice_recipients(split_markets(product.markets), product.marketing_authorisation_holder)
    due_at = uow.now() + timedelta(hours=DEFECT_NOTICE_HOURS)
    for recipient in recipients:
        add_notification(uow, kind="quality_report", subject=subject, due_at=due_at, actor_id=actor_id,
                         authority=recipient.authority)
    return len(recipients)


# --- run, complete, cancel ---------------------------------------------------------------------------


def record_reconciliation(uow: UnitOfWork, recall_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /recalls/<id>/reconciliation``: recovered and destroyed per consignee and batch; a correction
    of a recorded line needs a reason."""
    fields = schemas.load(schemas.RecallReconciliationEntry, data)
    with uow:
        session = uow.session
        recall = load_recall(uow, recall_id)
        lines = consignee_lines(session, recall)
        by_batch = {b.batch_no: b for b, _ in _batches(session, recall)}
        batch = by_batch.get(fields["batch_no"])
        if batch is None:
            raise ValidationError(Msg("Batch not recalled."), {"batch_no": [Msg(
                "Batch %(batch)s is not one of this recall's batches.", batch=fields["batch_no"])]})
        line = next((x for x in lines if x["consignee"] == fields["consignee"]
                     and x["batch_no"] == fields["batch_no"]), None)
        if line is None:
            raise ValidationError(Msg("Not on the consignee list."), {"consignee": [Msg(
                "%(name)s received no delivery of batch %(batch)s.", name=fields["consignee"],
                batch=fields["batch_no"])]})
        check_may_run(_facts(session, recall, lines))
        counts = check_reconciliation(line["quantity_delivered"], fields["quantity_recovered"],
                                      fields["quantity_destroyed"], fields["explanation"])
        entry = session.scalars(sa.select(RecallReconciliation).where(
            RecallReconciliation.recall_id == recall.id, RecallReconciliation.consignee == fields["consignee"],
            RecallReconciliation.batch_id == batch.id)).one_or_none()
        corrected = entry is not None
        if corrected and not fields["reason"]:
            raise ValidationError(Msg("A reason is required."), {"reason": [Msg(
                "This line is already reconciled: give the reason for the correction.")]})
        if entry is None:
            entry = RecallReconciliation(recall_id=recall.id, consignee=fields["consignee"], batch_id=batch.id)
            session.add(entry)
        entry.quantity_delivered, entry.quantity_recovered = counts.delivered, counts.recovered
        entry.quantity_destroyed, entry.explanation = counts.destroyed, fields["explanation"]
        entry.recorded_by_id, entry.recorded_at = actor.id, uow.now()
        session.flush()
        action = "recall_reconciliation.corrected" if corrected else "recall_reconciliation.recorded"
        uow.record(DomainEvent(action, "recall_reconciliation", str(entry.id), reason=fields["reason"],
                               actor_id=actor.id))
        uow.commit()
        return recall_view(uow, recall)


def complete_recall(uow: UnitOfWork, recall_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /recalls/<id>/completion``: every line reconciled; the final report is signed next."""
    fields = schemas.load(schemas.RecallCompletion, data)
    with uow:
        recall = load_recall(uow, recall_id)
        check_may_complete(_facts(uow.session, recall))
        recall.status, recall.completed_at = RecallStatus.completed.value, uow.now()
        uow.record(DomainEvent("recall.completed", "recall", str(recall.id), reason=fields["comment"],
                               actor_id=actor.id))
        uow.commit()
        return recall_view(uow, recall)


def _product_markets(product: Product) -> tuple[str, ...]:
    """Where the product's batches go: its markets as master data (the home market when it names none)."""
    return split_markets(product.markets) or (HOME_MARKET,)


def _checked_market_actions(items: list[dict], product: Product) -> tuple[MarketAction, ...]:
    return check_market_actions([(item["market"], item["action"]) for item in items], _product_markets(product))


def _stored_market_actions(actions: tuple[MarketAction, ...]) -> str | None:
    """Canonical JSON, sorted by market; nothing when none are named."""
    if not actions:
        return None
    return json.dumps([{"market": a.market, "action": a.action} for a in actions], ensure_ascii=False,
                      sort_keys=True, separators=(",", ":"))


def _market_actions_of(recall: Recall) -> list[dict]:
    return json.loads(recall.market_actions) if recall.market_actions else []


def set_market_actions(uow: UnitOfWork, recall_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /recalls/<id>/market-actions {market_actions, reason}`` (HO-05): the market-specific actions of a
    proposed recall, set or replaced before the decision is signed. It changes what the decision covers: the
    record's version goes up and a decision signature already given shows as superseded (signed again)."""
    fields = schemas.load(schemas.RecallMarketActions, data)
    with uow:
        recall = load_recall(uow, recall_id)
        check_may_change_proposal(_facts(uow.session, recall))
        product = uow.session.get(Product, uow.session.get(Batch, recall.batch_links[0].batch_id).product_id)
        stored = _stored_market_actions(_checked_market_actions(fields["market_actions"], product))
        if stored == recall.market_actions:
            raise ValidationError(Msg("Nothing changed."), {"market_actions": [Msg(
                "These are the market-specific actions already recorded.")]})
        recall.market_actions = stored
        recall.version += 1
        uow.record(DomainEvent("recall.market_actions_changed", "recall", str(recall.id), reason=fields["reason"],
                               actor_id=actor.id))
        uow.commit()
        return recall_view(uow, recall)


def cancel_recall(uow: UnitOfWork, recall_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /recalls/<id>/cancellation {reason}``: a proposal not pursued; a decided recall runs on."""
    fields = schemas.load(schemas.RecallCancellation, data)
    with uow:
        recall = load_recall(uow, recall_id)
        check_may_cancel(_facts(uow.session, recall))
        recall.status, recall.cancel_reason = RecallStatus.cancelled.value, fields["reason"]
        uow.record(DomainEvent("recall.cancelled", "recall", str(recall.id), reason=fields["reason"],
                               actor_id=actor.id))
        uow.commit()
        return recall_view(uow, recall)


# --- configuration: the clocks per level (HO-06) ------------------------------------------------------


def _clock_lines(session) -> list[str]:
    """The configuration as the audit trail states it (sorted lines of ``models.recall_clock_line``)."""
    return sorted(recall_clock_line(row) for row in session.scalars(sa.select(RecallClockRow)))


def seed_recall_clocks(uow: UnitOfWork) -> bool:
    """The DESIGN §4 defaults for every level without a row (``gmp init``); idempotent. Inside the
    caller's unit of work; the caller commits."""
    session = uow.session
    present = set(session.scalars(sa.select(RecallClockRow.level)))
    missing = [clock for level, clock in DEFAULT_RECALL_CLOCKS.items() if level.value not in present]
    for clock in missing:
        session.add(RecallClockRow(level=clock.level.value, notify_hours=clock.notify_hours,
                                   report_and_plan_days=clock.report_and_plan_days,
                                   progress_every_days=clock.progress_every_days, updated_at=uow.now()))
    if missing:
        session.flush()
        uow.record(DomainEvent("recall_clock.changed", "configuration", "recall_clocks",
                               {"recall_clocks": [None, _clock_lines(session)]},
                               reason="defaults of DESIGN §4 (2007 rules), to be confirmed by regulatory affairs"))
    return bool(missing)


def list_recall_clocks(uow: UnitOfWork) -> list[dict]:
    with uow:
        return [{"level": c.level.value, "notify_hours": c.notify_hours,
                 "report_and_plan_days": c.report_and_plan_days, "progress_every_days": c.progress_every_days}
                for c in recall_clocks(uow.session).values()]


def change_recall_clock(uow: UnitOfWork, level: str, data: dict, *, actor: Actor) -> list[dict]:
    """``POST /recall-clocks/<level>``: the administrator changes a level's clocks, with a reason (e.g. the
    2022 values after regulatory affairs verified them); a decided recall's clocks follow the new values."""
    fields = schemas.load(schemas.RecallClockChange, data)
    try:
        level_key = RecallLevel(level)
    except ValueError:
        raise ValidationError(Msg("Unknown level."), {"level": [Msg("One of I, II or III.")]}) from None
    values = {name: check_clock(name, fields[name]) for name in CLOCK_FIELDS}
    with uow:
        session = uow.session
        before = _clock_lines(session)
        row = session.get(RecallClockRow, level_key.value, with_for_update=True)
        if row is None:
            row = RecallClockRow(level=level_key.value)
            session.add(row)
        row.notify_hours, row.report_and_plan_days = values["notify_hours"], values["report_and_plan_days"]
        row.progress_every_days, row.updated_at = values["progress_every_days"], uow.now()
        session.flush()
        uow.record(DomainEvent("recall_clock.changed", "configuration", "recall_clocks",
                               {"recall_clocks": [before, _clock_lines(session)]}, reason=fields["reason"],
                               actor_id=actor.id, change_control_ref=fields["change_control_ref"]))
        uow.commit()
    return list_recall_clocks(uow)


# --- after the recall: the batches' dispositions and the effectiveness check (HO-10) --------------------


def dispose_recall_batch(uow: UnitOfWork, recall_id: int, data: dict, *, actor: Actor,
                         source_ip: str | None = None) -> dict:
    """``POST /recalls/<id>/batch-dispositions {batch_no, decision, rationale, test_reference, username,
    password, comment}``: the QA head signs what becomes of a recalled batch's stock."""
    fields = schemas.load(schemas.RecallBatchDispositionEntry, data)
    check_batch_decision(fields["decision"], fields["rationale"], fields["test_reference"])
    with uow:
        session = uow.session
        recall = load_recall(uow, recall_id)
        check_may_follow_up(_facts(session, recall))
        batch = next((b for b, _ in _batches(session, recall) if b.batch_no == fields["batch_no"]), None)
        if batch is None:
            raise ValidationError(Msg("Batch not recalled."), {"batch_no": [Msg(
                "Batch %(batch)s is not one of this recall's batches.", batch=fields["batch_no"])]})
        if session.scalars(sa.select(RecallBatchDisposition.id).where(
                RecallBatchDisposition.recall_id == recall.id, RecallBatchDisposition.batch_id == batch.id)).first():
            raise ConflictError(Msg("This batch's disposition is already signed."))
        rule = rule_for(SigningStep.recall_batch_disposition.value)
        lines = session.scalars(sa.select(RecallReconciliation.id).where(
            RecallReconciliation.recall_id == recall.id, RecallReconciliation.batch_id == batch.id))
        signer = signing.authorize(
            uow, actor_id=actor.id, username=fields["username"], password=fields["password"], rule=rule,
            author_ids=authors_of(rule, actions_of_records(session, {"recall_reconciliation": [str(i) for i in lines]})),
            source_ip=source_ip)
        row = RecallBatchDisposition(recall_id=recall.id, batch_id=batch.id, decision=fields["decision"].value,
                                     rationale=fields["rationale"], test_reference=fields["test_reference"],
                                     decided_by_id=signer.user.id, decided_at=uow.now())
        session.add(row)
        session.flush()
        uow.record(DomainEvent("recall_batch_disposition.decided", "recall_batch_disposition", str(row.id),
                               actor_id=signer.user.id))
        subject = f"batch:{batch.batch_no}"
        view = recall_view(uow, recall, with_signatures=False)
        signing.sign(uow, signer, signing.SigningRequest(
            record_type="recall", record_id=str(recall.id), record_number=recall.number,
            record_version=recall.version, snapshot=recall_snapshot(view, rule.scope, subject), rule=rule,
            subject=subject, comment=fields["comment"]), source_ip=source_ip)
        uow.commit()
        return recall_view(uow, recall)


def choose_effectiveness_check(uow: UnitOfWork, recall_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /recalls/<id>/effectiveness-check {level, seed?}``: the depth of the check and its sample,
    drawn reproducibly from the consignee list (the seed defaults to the recall number)."""
    fields = schemas.load(schemas.RecallEffectivenessChoice, data)
    with uow:
        session = uow.session
        recall = load_recall(uow, recall_id)
        lines = consignee_lines(session, recall)
        check_may_follow_up(_facts(session, recall, lines))
        if session.scalars(sa.select(RecallEffectivenessCheck.id).where(
                RecallEffectivenessCheck.recall_id == recall.id)).first():
            raise ConflictError(Msg("The effectiveness check of this recall is already chosen."))
        seed = fields["seed"] or recall.number
        sample = effectiveness_sample([line["consignee"] for line in lines], fields["level"], seed)
        row = RecallEffectivenessCheck(recall_id=recall.id, level=fields["level"].value, seed=seed,
                                       sample=json.dumps(sample, ensure_ascii=False), chosen_by_id=actor.id,
                                       chosen_at=uow.now())
        session.add(row)
        session.flush()
        uow.record(DomainEvent("recall_effectiveness_check.chosen", "recall_effectiveness_check", str(row.id),
                               actor_id=actor.id))
        uow.commit()
        return recall_view(uow, recall)


def record_effectiveness_contact(uow: UnitOfWork, recall_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /recalls/<id>/effectiveness-contacts {consignee, contacted_on, method, result, note}``: one
    consignee of the sample reached (or not)."""
    fields = schemas.load(schemas.RecallEffectivenessContactEntry, data)
    with uow:
        session = uow.session
        recall = load_recall(uow, recall_id)
        check_may_follow_up(_facts(session, recall))
        check = session.scalars(sa.select(RecallEffectivenessCheck).where(
            RecallEffectivenessCheck.recall_id == recall.id)).one_or_none()
        if check is None:
            raise ConflictError(Msg("Choose the depth of the effectiveness check first (level E for none)."))
        if fields["consignee"] not in json.loads(check.sample):
            raise ValidationError(Msg("Not in the sample."), {"consignee": [Msg(
                "%(name)s is not in the sample of the effectiveness check.", name=fields["consignee"])]})
        if fields["contacted_on"] > business_today(uow.settings):
            raise ValidationError(Msg("Contacted in the future."), {"contacted_on": [Msg("Not later than today.")]})
        if session.scalars(sa.select(RecallEffectivenessContact.id).where(
                RecallEffectivenessContact.recall_id == recall.id,
                RecallEffectivenessContact.consignee == fields["consignee"])).first():
            raise ConflictError(Msg("This consignee's contact is already recorded."))
        row = RecallEffectivenessContact(recall_id=recall.id, consignee=fields["consignee"],
                                         contacted_on=fields["contacted_on"], method=fields["method"],
                                         result=fields["result"].value, note=fields["note"],
                                         recorded_by_id=actor.id, recorded_at=uow.now())
        session.add(row)
        session.flush()
        uow.record(DomainEvent("recall_effectiveness_contact.recorded", "recall_effectiveness_contact", str(row.id),
                               actor_id=actor.id))
        uow.commit()
        return recall_view(uow, recall)


# --- notices to consignees ---------------------------------------------------------------------------


def notice_context(uow: UnitOfWork, recall_id: int, consignee: str, *, sender_id: int) -> dict:
    """What the notice to one consignee says: the recall, the product, the batches and quantities this
    consignee received, and what to do. Nothing internal (no signatures, no hashes). After the decision."""
    with uow:
        session = uow.session
        recall = load_recall(uow, recall_id, for_update=False)
        if recall.decided_at is None:
            raise ConflictError(Msg("Notices are prepared once the recall is decided."))
        lines = consignee_lines(session, recall, consignee)
        if not lines:
            raise ValidationError(Msg("Not on the consignee list."), {"consignee": [Msg(
                "%(name)s is not on this recall's consignee list.", name=consignee)]})
        product = session.execute(sa.select(Product).join(Batch, Batch.product_id == Product.id)
                                  .where(Batch.id == recall.batch_links[0].batch_id)).scalar_one()
        return {"recall": {"number": recall.number, "level": recall.level, "depth": recall.depth,
                           "reason": recall.reason, "mock": recall.mock, "decided_at": recall.decided_at},
                "product": {"code": product.code, "name": product.name, "strength": product.strength,
                            "dosage_form": product.dosage_form},
                "consignee": consignee, "lines": lines, "contact": lines[-1],
                "sender": session.get(User, sender_id).printed_name,
                "printed_at": uow.now(), "site_timezone": uow.settings.site_timezone}


def notice_contexts(uow: UnitOfWork, recall_id: int, consignees: list[str], *, sender_id: int | None) -> list[dict]:
    """The notices of many consignees (a pack), from one reading of the consignee list."""
    with uow:
        session = uow.session
        recall = load_recall(uow, recall_id, for_update=False)
        if recall.decided_at is None:
            raise ConflictError(Msg("Notices are prepared once the recall is decided."))
        wanted = set(consignees)
        by_consignee: dict[str, list[dict]] = {}
        for line in consignee_lines(session, recall):
            if line["consignee"] in wanted:
                by_consignee.setdefault(line["consignee"], []).append(line)
        product = session.execute(sa.select(Product).join(Batch, Batch.product_id == Product.id)
                                  .where(Batch.id == recall.batch_links[0].batch_id)).scalar_one()
        sender = session.get(User, sender_id).printed_name if sender_id else uow.system_actor
        common = {"recall": {"number": recall.number, "level": recall.level, "depth": recall.depth,
                             "reason": recall.reason, "mock": recall.mock, "decided_at": recall.decided_at},
                  "product": {"code": product.code, "name": product.name, "strength": product.strength,
                              "dosage_form": product.dosage_form},
                  "sender": sender, "printed_at": uow.now(), "site_timezone": uow.settings.site_timezone}
        return [{**common, "consignee": name, "lines": lines, "contact": lines[-1]}
                for name, lines in sorted(by_consignee.items())]


def prepare_notices(uow: UnitOfWork, recall_id: int, *, consignees: list[str], locale: str, sha256: str,
                    actor_id: int | None) -> int:
    """Notices handed out in a pack: each not yet prepared is recorded with the pack's SHA-256."""
    with uow:
        recall = load_recall(uow, recall_id)
        done = set(uow.session.scalars(sa.select(RecallNotice.consignee).where(
            RecallNotice.recall_id == recall.id, RecallNotice.consignee.in_(consignees))))
        rows = [RecallNotice(recall_id=recall.id, consignee=name, locale=locale, document_sha256=sha256,
                             prepared_at=uow.now(), recorded_by_id=actor_id)
                for name in consignees if name not in done]
        uow.session.add_all(rows)
        uow.session.flush()
        for row in rows:
            uow.record(DomainEvent("recall_notice.prepared", "recall_notice", str(row.id), actor_id=actor_id))
        uow.commit()
        return len(rows)


def prepare_notice(uow: UnitOfWork, recall_id: int, *, consignee: str, locale: str, sha256: str,
                   actor_id: int | None) -> None:
    """The notice as first handed out (its PDF's SHA-256) is recorded once; later copies are prints."""
    with uow:
        recall = load_recall(uow, recall_id)
        found = uow.session.scalars(sa.select(RecallNotice).where(
            RecallNotice.recall_id == recall.id, RecallNotice.consignee == consignee)).one_or_none()
        if found is None:
            row = RecallNotice(recall_id=recall.id, consignee=consignee, locale=locale, document_sha256=sha256,
                               prepared_at=uow.now(), recorded_by_id=actor_id)
            uow.session.add(row)
            uow.session.flush()
            uow.record(DomainEvent("recall_notice.prepared", "recall_notice", str(row.id), actor_id=actor_id))
        else:
            uow.record(DomainEvent("document.printed", "recall", str(recall.id), {
                "document": [None, "recall_notice"], "locale": [None, locale], "file_sha256": [None, sha256],
                "consignee": [None, consignee]}, actor_id=actor_id))
        uow.commit()


def record_notice_sent(uow: UnitOfWork, recall_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /recalls/<id>/notices {consignee, sent_at, method}``: the prepared notice went out. A mock
    recall sends nothing outside (409)."""
    fields = schemas.load(schemas.RecallNoticeSent, data)
    with uow:
        recall = load_recall(uow, recall_id)
        if recall.mock:
            raise ConflictError(Msg("A mock recall sends nothing outside."))
        check_may_run(_facts(uow.session, recall))
        row = uow.session.scalars(sa.select(RecallNotice).where(
            RecallNotice.recall_id == recall.id, RecallNotice.consignee == fields["consignee"])).one_or_none()
        if row is None:
            raise ConflictError(Msg("Prepare (print) the notice to this consignee first."))
        if row.sent_at is not None:
            raise ConflictError(Msg("This notice is already recorded as sent."))
        if fields["sent_at"] > uow.now():
            raise ValidationError(Msg("Sent in the future."), {"sent_at": [Msg("Not later than now.")]})
        if fields["sent_at"] < row.prepared_at.replace(second=0, microsecond=0):
            raise ValidationError(Msg("Sent before it was prepared."), {"sent_at": [Msg(
                "Not before the notice was prepared.")]})
        row.sent_at, row.method, row.recorded_by_id = fields["sent_at"], fields["method"], actor.id
        uow.record(DomainEvent("recall_notice.sent", "recall_notice", str(row.id), actor_id=actor.id))
        uow.commit()
        return recall_view(uow, recall)


def email_notice(uow: UnitOfWork, recall_id: int, *, consignee: str, subject: str, body: str,
                 pdf: bytes, pdf_name: str, actor: Actor) -> dict:
    """The prepared notice e-mailed to the consignee through the outbox, the letter as PDF with a short
    covering text; ``gmp tick`` delivers it, and the notice counts as sent when the mail server takes it
    (until then it shows as queued, and may still be recorded as sent another way). Only where mail is
    configured and the consignee gave an address; never for a mock recall."""
    with uow:
        session = uow.session
        recall = load_recall(uow, recall_id)
        if recall.mock:
            raise ConflictError(Msg("A mock recall sends nothing outside."))
        if not uow.settings.smtp_host:
            raise ConflictError(Msg("E-mail is not configured on this site: send the notice another way."))
        check_may_run(_facts(session, recall))
        row = session.scalars(sa.select(RecallNotice).where(
            RecallNotice.recall_id == recall.id, RecallNotice.consignee == consignee)).one_or_none()
        if row is None:
            raise ConflictError(Msg("Prepare (print) the notice to this consignee first."))
        if row.sent_at is not None:
            raise ConflictError(Msg("This notice is already recorded as sent."))
        if _queued_email(session, row.id) is not None:
            raise ConflictError(Msg("This notice is already waiting in the outbox."))
        address = next((line["email"] for line in consignee_lines(session, recall, consignee) if line["email"]), None)
        if address is None:
            raise ValidationError(Msg("No e-mail address."), {"consignee": [Msg(
                "The distribution records give no e-mail address for %(name)s.", name=consignee)]})
        cipher = cipher_for(uow.settings)
        message = OutboxMessage(purpose="recall_notice", recipient=cipher.encrypt(address), subject=subject[:300],
                                body=body, status="pending", attempts=0, created_at=uow.now(),
                                attachment_name=pdf_name[:200], attachment=cipher.encrypt_bytes(pdf),
                                attachment_sha256=hashlib.sha256(pdf).hexdigest(), recall_notice_id=row.id)
        session.add(message)
        session.flush()
        uow.record(DomainEvent("outbox_message.queued", "outbox_message", str(message.id),
                               {"purpose": [None, "recall_notice"], "recall_id": [None, recall.id],
                                "consignee": [None, consignee]}, actor_id=actor.id))
        uow.commit()
        return recall_view(uow, recall)


def _queued_email(session, notice_id: int) -> OutboxMessage | None:
    return session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.recall_notice_id == notice_id, OutboxMessage.status == "pending")).first()


def note_notice_delivered(uow: UnitOfWork, message: OutboxMessage) -> None:
    """The mail server took an e-mailed notice: it is sent now, by e-mail (recorded by the system). A
    notice recorded as sent another way while the e-mail waited keeps that record."""
    row = uow.session.get(RecallNotice, message.recall_notice_id, with_for_update=True)
    if row.sent_at is None:
        row.sent_at, row.method = message.sent_at, "email"
        uow.record(DomainEvent("recall_notice.sent", "recall_notice", str(row.id),
                               {"outbox_message_id": [None, message.id]}))

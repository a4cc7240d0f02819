"""The annual product review extract (21 CFR 211.180(e), EU GMP 1.10, China GMP Art. 266; TR-03): per
product and year, the complaints, recalls, returns, ADR hand-offs and CAPAs with their outcomes.

The extract is a pure function of the records: nothing in it depends on when it is run (no print time;
records in a fixed order), so the same query gives the same data, the same SHA-256 and — through the
deterministic PDF and XLSX writers — the same bytes while the records are unchanged. Every extract
taken is recorded in the audit trail with the SHA-256 of its data and of its file.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gmp_complaints.domain.complaints import Status
from gmp_complaints.domain.errors import Msg, NotFoundError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.markets import split_markets
from gmp_complaints.models import (
    AdrCase,
    Batch,
    Capa,
    CapaComplaint,
    Complaint,
    ComplaintBatch,
    Product,
    Recall,
    RecallBatch,
    ReturnedGoods,
)
from gmp_complaints.uow import UnitOfWork

FIRST_YEAR, LAST_YEAR = 2000, 2100
SHEETS = {
    "complaints": ["number", "intake_ref", "received_on", "complaint_type", "complaint_class", "batches", "status",
                   "root_cause", "root_cause_category", "reasonable", "actions", "closed_on", "capas"],
    "recalls": ["number", "level", "depth", "status", "safety_hazard", "batches", "decided_on", "closed_on",
                "reason"],
    "returns": ["number", "batch_no", "channel", "received_on", "quantity_received", "status", "disposition",
                "complaint"],
    "adr_cases": ["complaint", "sequence", "day0", "seriousness", "unexpected", "group_event", "accepted",
                  "case_number", "submitted"],
    "capas": ["number", "source", "status", "problem_statement", "effectiveness_due_on", "effectiveness_result",
              "closed_on", "complaints"],
}


def parse_year(raw) -> int:
    try:
        year = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationError(Msg("Invalid year."), {"year": [Msg("A year such as 2026.")]}) from None
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(Msg("Invalid year."), {"year": [Msg("A year from %(first)s to %(last)s.",
                                                                  first=FIRST_YEAR, last=LAST_YEAR)]})
    return year


def annual_review(uow: UnitOfWork, product_code: str, year: int) -> dict:
    """The extract of ``product_code`` for ``year`` (complaints by received date; recalls by decision, or
    proposal while undecided, in the site's time zone; returns by receipt; ADR hand-offs by day 0; the
    CAPAs of those complaints). Void complaints and mock recalls are not part of a product review."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    with uow:
        session, tz = uow.session, ZoneInfo(uow.settings.site_timezone)
        product = session.scalar(sa.select(Product).where(Product.code == product_code))
        if product is None:
            raise NotFoundError(Msg("No product with code %(code)s.", code=product_code))
        complaints = list(session.scalars(sa.select(Complaint).where(
            Complaint.product_id == product.id, Complaint.received_on.between(start, end),
            Complaint.status != Status.void.value).order_by(Complaint.received_on, Complaint.id)))
        ids = [c.id for c in complaints]
        batches_of = _batches_of(session, ids)
        capa_links = session.execute(sa.select(CapaComplaint.complaint_id, Capa).join(
            Capa, Capa.id == CapaComplaint.capa_id).where(CapaComplaint.complaint_id.in_(ids))).all()
        capas = {capa.id: capa for _, capa in capa_links}
        capas_of: dict[int, list[str]] = {}
        complaints_of_capa: dict[int, list[str]] = {}
        reference = {c.id: c.number or c.intake_ref for c in complaints}
        for complaint_id, capa in capa_links:
            capas_of.setdefault(complaint_id, []).append(capa.number)
            complaints_of_capa.setdefault(capa.id, []).append(reference[complaint_id])
        recalls = _recalls(session, product.id, start, end, tz)
        returns = session.execute(sa.select(ReturnedGoods, Batch.batch_no).join(
            Batch, Batch.id == ReturnedGoods.batch_id).where(
            Batch.product_id == product.id, ReturnedGoods.received_on.between(start, end)).order_by(
            ReturnedGoods.received_on, ReturnedGoods.id)).all()
        adr = session.execute(sa.select(AdrCase, Complaint.number, Complaint.intake_ref).join(
            Complaint, Complaint.id == AdrCase.complaint_id).where(
            Complaint.product_id == product.id, AdrCase.aware_on.between(start, end)).order_by(
            AdrCase.aware_on, AdrCase.id)).all()
        extract = {
            "product": {"code": product.code, "name": product.name, "strength": product.strength,
                        "dosage_form": product.dosage_form, "markets": list(split_markets(product.markets))},
            "year": year, "from": start.isoformat(), "to": end.isoformat(),
            "complaints": [{
                "number": c.number, "intake_ref": c.intake_ref, "received_on": c.received_on.isoformat(),
                "complaint_type": c.complaint_type, "complaint_class": c.complaint_class,
                "batches": batches_of.get(c.id, []), "status": c.status, "root_cause": c.root_cause,
                "root_cause_category": c.root_cause_category,
                "reasonable": c.reasonable, "actions": (c.actions or "").split(),
                "closed_on": c.closed_on.isoformat() if c.closed_on else None,
                "capas": sorted(capas_of.get(c.id, []))} for c in complaints],
            "recalls": recalls,
            "returns": [{"number": r.number, "batch_no": batch_no, "channel": r.channel,
                         "received_on": r.received_on.isoformat(),
                         "quantity_received": r.quantity_received, "status": r.status, "disposition": r.disposition,
                         "complaint": reference.get(r.complaint_id) if r.complaint_id else None}
                        for r, batch_no in returns],
            "adr_cases": [{"complaint": number or ref, "sequence": case.sequence, "day0": case.aware_on.isoformat(),
                           "seriousness": case.seriousness, "unexpected": case.unexpected,
                           "group_event": case.group_event, "accepted": case.accepted_at is not None,
                           "case_number": case.case_number, "submitted": case.submitted_at is not None}
                          for case, number, ref in adr],
            "capas": [{"number": capa.number, "source": capa.source, "status": capa.status,
                       "problem_statement": capa.problem_statement,
                       "effectiveness_due_on": capa.effectiveness_due_on.isoformat(),
                       "effectiveness_result": capa.effectiveness_result,
                       "closed_on": capa.closed_on.isoformat() if capa.closed_on else None,
                       "complaints": sorted(complaints_of_capa[capa.id])}
                      for capa in sorted(capas.values(), key=lambda c: c.number)],
        }
        extract["summary"] = {name: len(extract[name]) for name in SHEETS}
        extract["data_sha256"] = data_digest(extract)
        return extract


def data_digest(extract: dict) -> str:
    """The SHA-256 of the extract's data (canonical JSON, without the digest itself)."""
    data = {k: v for k, v in extract.items() if k != "data_sha256"}
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def sheet_rows(extract: dict, name: str) -> list[list]:
    """One section as table rows (lists joined with spaces, booleans as yes/no)."""
    def cell(value):
        if isinstance(value, list):
            return " ".join(str(v) for v in value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return value
    return [[cell(row.get(column)) for column in SHEETS[name]] for row in extract[name]]


def record_export(uow: UnitOfWork, extract: dict, *, document: str, sha256: str, actor_id: int) -> None:
    with uow:
        uow.record(DomainEvent("product.annual_review_exported", "product", extract["product"]["code"], {
            "year": [None, extract["year"]], "document": [None, document],
            "data_sha256": [None, extract["data_sha256"]], "file_sha256": [None, sha256]}, actor_id=actor_id))
        uow.commit()


def _batches_of(session, complaint_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    for complaint_id, batch_no in session.execute(sa.select(ComplaintBatch.complaint_id, Batch.batch_no).join(
            Batch, Batch.id == ComplaintBatch.batch_id).where(ComplaintBatch.complaint_id.in_(complaint_ids)).order_by(
            Batch.batch_no)):
        result.setdefault(complaint_id, []).append(batch_no)
    return result


def _recalls(session, product_id: int, start: date, end: date, tz) -> list[dict]:
    rows = session.execute(sa.select(Recall, Batch.batch_no).join(RecallBatch, RecallBatch.recall_id == Recall.id).join(
        Batch, Batch.id == RecallBatch.batch_id).where(Batch.product_id == product_id, Recall.mock.is_(False)).order_by(
        Recall.id, Batch.batch_no)).all()
    recalls: dict[int, dict] = {}
    for recall, batch_no in rows:
        when = (recall.decided_at or recall.created_at).astimezone(tz).date()
        if not start <= when <= end:
            continue
        entry = recalls.setdefault(recall.id, {
            "number": recall.number, "level": recall.level, "depth": recall.depth, "status": recall.status,
            "safety_hazard": recall.safety_hazard, "batches": [],
            "decided_on": recall.decided_at.astimezone(tz).date().isoformat() if recall.decided_at else None,
            "closed_on": recall.closed_at.astimezone(tz).date().isoformat() if recall.closed_at else None,
            "reason": recall.reason})
        entry["batches"].append(batch_no)
    return list(recalls.values())

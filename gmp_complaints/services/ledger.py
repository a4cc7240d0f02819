"""The complaint ledger for a year: rows to read, CSV and XLSX to hand out, gaps to explain."""
from __future__ import annotations

import sqlalchemy as sa

from gmp_complaints.domain.complaints import ComplaintClass
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.ledger import parse_number, unexplained_gaps
from gmp_complaints.models import Batch, Complaint, ComplaintBatch, NumberCounter, Product, SignatureRow, VoidRequest
from gmp_complaints.spreadsheets import csv_table, xlsx
from gmp_complaints.uow import UnitOfWork

COLUMNS = ("number", "original_class", "complaint_class", "received_on", "product_code", "product_name", "batch_nos",
           "complaint_type", "status", "closed_on", "void_reason", "capas")


def ledger(uow: UnitOfWork, *, year: int, complaint_class: str | None = None, status: str | None = None) -> dict:
    """Every number of ``year`` in class and serial order, the filter applied to the rows shown; the
    gap check always runs over all numbers of the year."""
    from gmp_complaints.services.capa import capas_of_complaint

    yy = f"{year % 100:02d}"
    with uow:
        session = uow.session
        complaints = session.execute(
            sa.select(Complaint, Product.code, Product.name).join(Product, Product.id == Complaint.product_id)
            .where(Complaint.number.like(f"TS-%-{yy}-%"))).all()
        complaints.sort(key=lambda row: (len(parse_number(row[0].number)[0]), parse_number(row[0].number)[2]))
        issued = {}
        for counter in session.scalars(sa.select(NumberCounter).where(NumberCounter.scope.like(f"TS:%-{yy}"))):
            issued[counter.scope.split(":")[1].split("-")[0]] = counter.next_serial - 1
        ids = [row[0].id for row in complaints]
        batches: dict[int, list[str]] = {}
        if ids:
            for complaint_id, batch_no in session.execute(
                    sa.select(ComplaintBatch.complaint_id, Batch.batch_no).join(Batch)
                    .where(ComplaintBatch.complaint_id.in_(ids)).order_by(Batch.batch_no)):
                batches.setdefault(complaint_id, []).append(batch_no)
        # The reason of the approved void request; voids signed before requests existed kept theirs in
        # the approval's comment.
        voids = {int(r.record_id): r.comment for r in session.scalars(sa.select(SignatureRow).where(
            SignatureRow.record_type == "complaint", SignatureRow.step == "void_approval"))}
        voids.update(session.execute(sa.select(VoidRequest.complaint_id, VoidRequest.reason)
                                     .where(VoidRequest.status == "approved")).all())
        rows = []
        for complaint, code, name in complaints:
            if complaint_class and complaint.complaint_class != complaint_class:
                continue
            if status and complaint.status != status:
                continue
            rows.append({"id": complaint.id, "number": complaint.number, "original_class": complaint.original_class,
                         "complaint_class": complaint.complaint_class,
                         "received_on": complaint.received_on.isoformat(), "product_code": code, "product_name": name,
                         "batch_nos": ", ".join(batches.get(complaint.id, [])),
                         "complaint_type": complaint.complaint_type, "status": complaint.status,
                         "closed_on": complaint.closed_on.isoformat() if complaint.closed_on else "",
                         "void_reason": voids.get(complaint.id) or "",
                         "capas": ", ".join(k.number for k in capas_of_complaint(session, complaint.id))})
        return {"year": year, "rows": rows, "issued": sum(issued.values()),
                "gaps": unexplained_gaps([row[0].number for row in complaints],
                                         {k: v for k, v in issued.items() if k in {c.value for c in ComplaintClass}})}


def as_csv(data: dict, headers: list[str]) -> bytes:
    return csv_table(headers, ([row[c] for c in COLUMNS] for row in data["rows"]))


def as_xlsx(data: dict, headers: list[str], title: str) -> bytes:
    footer = [["unexplained gaps / 未说明的空号", ", ".join(data["gaps"])]] if data["gaps"] else []
    return xlsx(title, str(data["year"]), headers, ([row[c] for c in COLUMNS] for row in data["rows"]), footer)


def record_ledger_export(uow: UnitOfWork, *, year: int, file_format: str, sha256: str, rows: int,
                         actor_id: int | None) -> None:
    with uow:
        uow.record(DomainEvent("ledger.exported", "complaint", None, {
            "year": [None, year], "format": [None, file_format], "file_sha256": [None, sha256],
            "rows": [None, rows]}, actor_id=actor_id))
        uow.commit()

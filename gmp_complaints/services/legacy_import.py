"""Legacy import (issue 17; RET-05): complaints from a previous ledger (CSV or XLSX), with their original numbers,
dates, classes and outcomes, marked as migrated. All rows or none: any bad row — a duplicate number, a date in the
future, an unknown product or batch — refuses the whole file and every bad row is listed; nothing is stored. A good
file is imported in one unit of work with its reconciliation record (rows read and imported, the SHA-256 of the
file and of the content as stored), signed by the head of quality in the same act."""
from __future__ import annotations

import csv
import hashlib
import io
import json

import sqlalchemy as sa

from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaints import intake_reference
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.legacy import LegacyRow, check_row, header_map
from gmp_complaints.domain.roles import Actor
from gmp_complaints.models import Batch, Complaint, ComplaintBatch, LegacyImport, NumberCounter, Product
from gmp_complaints.services import schemas
from gmp_complaints.services.complaint_repository import recompute_retention
from gmp_complaints.services.numbering import take_serial
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.matrix import SigningStep, rule_for

MAX_BYTES = 10 * 1024 * 1024
#: what a migrated record says of the facts the paper ledger did not keep
NOT_IN_LEDGER = "not recorded in the legacy ledger"


def _table(filename: str, data: bytes) -> list[list[str]]:
    """The file's rows as text: CSV (UTF-8) or XLSX (the first sheet)."""
    if len(data) > MAX_BYTES:
        raise ValidationError(Msg("File too large."), {"file": [Msg("At most 10 MB.")]})
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        except Exception:  # noqa: BLE001 - whatever openpyxl raises on a file that is not a workbook
            raise ValidationError(Msg("Not a readable workbook."), {"file": [Msg("Upload a CSV or an XLSX file.")]}) \
                from None
        return [["" if v is None else (v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)).strip() for v in row]
                for row in sheet.iter_rows(values_only=True)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(Msg("The file is not UTF-8 text."), {"file": [Msg("Save the file as CSV in UTF-8.")]}) \
            from None
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def _checked(uow: UnitOfWork, table: list[list[str]]) -> tuple[list[LegacyRow], dict[str, Product], dict, list[str]]:
    """Every row checked against the rules, the file and the database; (rows, products, batches, problems)."""
    if not table:
        raise ValidationError(Msg("Empty file."), {"file": [Msg("The file holds no rows.")]})
    positions, missing = header_map(table[0])
    if missing:
        raise ValidationError(Msg("Wrong columns."), {"file": [str(m) for m in missing]})
    today = business_today(uow.settings)
    rows, problems, seen = [], [], {}
    for line, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        values = {column: cells[position] if position < len(cells) else "" for column, position in positions.items()}
        row, row_problems = check_row(line, values, today=today)
        problems += [f"line {line}: {p}" for p in row_problems]
        if row is not None:
            if row.number in seen:
                problems.append(f"line {line}: number {row.number} is also on line {seen[row.number]}")
            seen.setdefault(row.number, line)
            rows.append(row)
    session = uow.session
    taken = set(session.scalars(sa.select(Complaint.number).where(Complaint.number.in_(list(seen)))))
    problems += [f"line {row.line}: number {row.number} exists already" for row in rows if row.number in taken]
    codes = {row.product_code for row in rows}
    products = {p.code: p for p in session.scalars(sa.select(Product).where(Product.code.in_(codes)))}
    batches = {}
    for row in rows:
        product = products.get(row.product_code)
        if product is None:
            problems.append(f"line {row.line}: unknown product {row.product_code}")
            continue
        for batch_no in row.batch_nos:
            batch = session.scalars(sa.select(Batch).where(Batch.product_id == product.id,
                                                           Batch.batch_no == batch_no)).one_or_none()
            if batch is None:
                problems.append(f"line {row.line}: unknown batch {batch_no} of {row.product_code}")
            batches[(row.product_code, batch_no)] = batch
    return rows, products, batches, sorted(problems, key=lambda p: int(p.split(":")[0].split()[1]))


def content_digest(rows: list[dict]) -> str:
    """The SHA-256 of the imported content, row by row in a canonical form: the same before and after."""
    return hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _content(row: LegacyRow) -> dict:
    return {"number": row.number, "received_on": row.received_on.isoformat(), "product_code": row.product_code,
            "batch_nos": sorted(row.batch_nos), "complaint_type": row.complaint_type,
            "complaint_class": row.complaint_class, "original_class": row.original_class, "status": row.status,
            "closed_on": row.closed_on.isoformat() if row.closed_on else None, "description": row.description}


def stored_content(session, import_id: int) -> str:
    """The same digest, recomputed from what the database holds for the import (the reconciliation)."""
    complaints = session.scalars(sa.select(Complaint).where(Complaint.legacy_import_id == import_id)
                                 .order_by(Complaint.id)).all()
    rows = []
    for c in complaints:
        product = session.get(Product, c.product_id)
        batch_nos = sorted(session.get(Batch, link.batch_id).batch_no for link in c.batch_links)
        rows.append({"number": c.number, "received_on": c.received_on.isoformat(), "product_code": product.code,
                     "batch_nos": batch_nos, "complaint_type": c.complaint_type, "complaint_class": c.complaint_class,
                     "original_class": c.original_class, "status": c.status,
                     "closed_on": c.closed_on.isoformat() if c.closed_on else None, "description": c.description})
    return content_digest(rows)


def import_legacy(uow: UnitOfWork, *, filename: str, data: bytes, credentials: dict, actor: Actor,
                  source_ip: str | None = None) -> dict:
    """Import the file, all rows or none, with its reconciliation record signed by the head of quality."""
    fields = schemas.load(schemas.Credentials, credentials)
    table = _table(filename or "", data or b"")
    with uow:
        session = uow.session
        rows, products, batches, problems = _checked(uow, table)
        if problems:
            raise ValidationError(Msg("The file was refused: %(count)s rows are wrong; nothing was imported.",
                                      count=len({p.split(":")[0] for p in problems})), {"file": problems})
        rule = rule_for(SigningStep.legacy_import_reconciliation)
        signer = signing.authorize(uow, actor_id=actor.id, username=fields["username"], password=fields["password"],
                                   rule=rule, author_ids=frozenset(), source_ip=source_ip)
        record = LegacyImport(filename=filename[:255], file_sha256=hashlib.sha256(data).hexdigest(),
                              rows_read=len(rows), rows_imported=len(rows),
                              content_sha256=content_digest([_content(r) for r in rows]),
                              imported_by_id=signer.user.id, imported_at=uow.now())
        session.add(record)
        session.flush()
        serials: dict[str, int] = {}
        for row in rows:
            complaint = _complaint(uow, row, products[row.product_code], batches, record.id, signer.user.id)
            session.add(complaint)
            session.flush()
            scope = f"TS:{row.original_class}-{row.received_on.year % 100:02d}"
            serials[scope] = max(serials.get(scope, 0), row.serial)
            uow.record(DomainEvent("complaint.migrated", "complaint", str(complaint.id),
                                   {"legacy_import_id": [None, record.id]}, actor_id=signer.user.id))
        _advance_counters(session, serials)
        if stored_content(session, record.id) != record.content_sha256:
            raise RuntimeError("the imported content does not reconcile with the file")  # never leaves a half import
        uow.record(DomainEvent("legacy_import.recorded", "legacy_import", str(record.id), actor_id=signer.user.id))
        report = import_report(record)
        row = signing.sign(uow, signer, signing.SigningRequest(
            record_type="legacy_import", record_id=str(record.id), record_number=f"LI-{record.id}", record_version=1,
            snapshot=report, rule=rule), source_ip=source_ip)
        signature = {"signer_name": row.printed_name, "meaning": row.meaning, "record_hash": row.record_hash}
        uow.commit()
        return {**report, "signature": signature}


def import_report(record: LegacyImport) -> dict:
    """The reconciliation report the head of quality signs (RET-05)."""
    return {"id": record.id, "filename": record.filename, "file_sha256": record.file_sha256,
            "rows_read": record.rows_read, "rows_imported": record.rows_imported, "rows_refused": 0,
            "content_sha256": record.content_sha256}


def _complaint(uow: UnitOfWork, row: LegacyRow, product: Product, batches: dict, import_id: int, actor_id: int):
    serial = take_serial(uow, f"R:{row.received_on.year}")
    complaint = Complaint(
        intake_ref=intake_reference(row.received_on.year, serial), number=row.number, status=row.status,
        complaint_class=row.complaint_class, original_class=row.original_class, channel="other",
        received_on=row.received_on, received_by_id=actor_id, product_id=product.id,
        complaint_type=row.complaint_type, description=row.description, sample_available=False,
        written_confirmation_requested=False, version=1, is_demo=False, closed_on=row.closed_on,
        batch_unknown_reason=None if row.batch_nos else NOT_IN_LEDGER, legacy_import_id=import_id,
        validity_reason=row.void_reason,
        class_rationale=NOT_IN_LEDGER, created_at=uow.now(),
        batch_links=[ComplaintBatch(batch_id=batches[(row.product_code, b)].id) for b in row.batch_nos])
    recompute_retention(uow.session, complaint, uow.settings)
    return complaint


def _advance_counters(session, serials: dict[str, int]) -> None:
    """Numbering after the import goes on after the imported numbers (never reuses one)."""
    for scope, serial in serials.items():
        counter = session.get(NumberCounter, scope)
        if counter is None:
            session.add(NumberCounter(scope=scope, next_serial=serial + 1))
        elif counter.next_serial <= serial:
            counter.next_serial = serial + 1

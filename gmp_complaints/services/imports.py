"""CSV import of master data from the ERP (REC-19): every row validated, a per-row error report, counts,
and a transfer log. Nothing half-imported: a file with any bad row imports nothing."""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

from gmp_complaints.domain.errors import DomainError, Msg, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.markets import split_markets
from gmp_complaints.models import TransferLog
from gmp_complaints.services import master_data
from gmp_complaints.uow import UnitOfWork

COLUMNS = {
    "products": ("code", "name", "strength", "dosage_form", "has_expiry"),
    "batches": ("product_code", "batch_no", "manufactured_on", "expires_on", "released_on"),
    "distributions": ("product_code", "batch_no", "consignee", "quantity", "shipped_on"),
}
YES_NO = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
KIND_LABELS = {"products": Msg("Products"), "batches": Msg("Batches"), "distributions": Msg("Distribution records")}
RESULT_LABELS = {"imported": Msg("imported"), "rejected": Msg("rejected")}
MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ImportResult:
    kind: str
    rows_total: int
    rows_imported: int
    problems: list[str]
    transfer_id: int


def _rows(kind: str, data: bytes) -> list[tuple[int, dict]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(Msg("The file is not UTF-8 text."), {"file": [Msg("Save the file as CSV in UTF-8.")]}) from None
    reader = csv.DictReader(io.StringIO(text))
    expected = COLUMNS[kind]
    header = tuple(h.strip() for h in (reader.fieldnames or ()))
    if header[:len(expected)] != expected:
        raise ValidationError(Msg("Wrong columns."), {"file": [Msg("The first line must be: %(columns)s",
                                                                   columns=",".join(expected))]})
    return [(number, {k.strip(): (v or "").strip() for k, v in row.items() if k}) for number, row in
            enumerate(reader, start=2) if any((v or "").strip() for v in row.values() if isinstance(v, str))]


def _prepared(kind: str, row: dict):
    if kind == "products":
        # Optional after the five required columns: markets ("CN DE FR"), the MAH when not this site, and
        # the contract partner with its quality contact (HO-14).
        row = dict(row, has_expiry=YES_NO.get(row.get("has_expiry", "").lower(), row.get("has_expiry")),
                   markets=list(split_markets(row["markets"])) if row.get("markets") else None,
                   **{name: row.get(name) or None for name in (
                       "marketing_authorisation_holder", "contract_partner", "partner_quality_contact")})
        return master_data.validate_product(row)
    if kind == "batches":
        return master_data.validate_batch({k: v or None for k, v in row.items()})
    # Optional recall contacts after the five required columns; flags as yes/no, true/false or 1/0.
    flags = {k: YES_NO.get(row[k].lower(), row[k]) for k in ("is_export", "is_medical_sample") if row.get(k)}
    return master_data.validate_distribution({**{k: v or None for k, v in row.items()}, **flags})


def _add(kind: str, uow: UnitOfWork, item, actor_id: int | None):
    adder = {"products": master_data.add_product, "batches": master_data.add_batch,
             "distributions": master_data.add_distribution}[kind]
    return adder(uow, uow.session, item, actor_id=actor_id)


def import_csv(uow: UnitOfWork, *, kind: str, filename: str, data: bytes, actor_id: int | None,
               source: str = "csv upload") -> ImportResult:
    if kind not in COLUMNS:
        raise ValidationError(Msg("Unknown import."), {"kind": [Msg("Choose products, batches or distributions.")]})
    if not data:
        raise ValidationError(Msg("Empty file."), {"file": [Msg("The file is empty.")]})
    if len(data) > MAX_BYTES:
        raise ValidationError(Msg("File too large."), {"file": [Msg("At most 10 MB.")]})
    rows = _rows(kind, data)
    digest = hashlib.sha256(data).hexdigest()
    problems: list[str] = []
    with uow:
        for number, row in rows:
            try:
                with uow.session.begin_nested():  # a bad row must not spoil the others' checks
                    _add(kind, uow, _prepared(kind, row), actor_id)
            except DomainError as exc:
                details = "; ".join(f"{field}: {' '.join(str(m) for m in messages)}"
                                    for field, messages in exc.fields.items()) or str(exc.message)
                problems.append(f"line {number}: {details}")
        if problems:
            uow.rollback()  # all rows or none; the rejected transfer itself is still logged
        log = TransferLog(kind=kind, source=source, filename=filename[:255], file_sha256=digest,
                          rows_total=len(rows), rows_imported=0 if problems else len(rows),
                          result="rejected" if problems else "imported", errors="\n".join(problems) or None,
                          actor_id=actor_id, created_at=uow.now())
        uow.session.add(log)
        uow.session.flush()
        uow.record(DomainEvent("transfer.recorded", "transfer", str(log.id), actor_id=actor_id))
        uow.commit()
        return ImportResult(kind, len(rows), log.rows_imported, problems, log.id)

"""Returned goods (SOP 5.5.2, DESIGN §4; 21 CFR 211.204, 211.208; China GMP Arts 137, 294) as plain rules.

received → quarantined at once → evaluated by QA (storage and shipping conditions, time since shipment,
a test against the retained sample where useful) → a disposition signed by the QA head: destroy;
reprocess (with its rationale); return to stock only with a passing test result. Re-dispatch is
blocked while quality is in doubt, and a return that implicates other batches needs the investigation
it belongs to (211.192).

The record holds what 21 CFR 211.204 and China GMP Art. 136 list: product, strength and dosage form (from
the batch's product), lot, the returning party and its address, the reason and date of the return, the
quantity, and the date and kind of the final disposition. Returns of one batch through different channels
are separate records, each with its channel (Art. 136: 不同渠道的退货应当分别记录).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from gmp_complaints.domain.errors import ConflictError, Msg, ValidationError


class ReturnStatus(StrEnum):
    quarantined = "quarantined"  # received; nothing leaves quarantine before the disposition
    evaluated = "evaluated"
    disposed = "disposed"


class ReturnChannel(StrEnum):
    """Through whom the goods came back."""

    wholesaler = "wholesaler"
    pharmacy = "pharmacy"
    hospital = "hospital"
    patient = "patient"
    other = "other"


class SampleResult(StrEnum):
    passed = "passed"
    failed = "failed"
    not_tested = "not_tested"


class Disposition(StrEnum):
    destroy = "destroy"
    reprocess = "reprocess"
    return_to_stock = "return_to_stock"


STATUS_LABELS = {ReturnStatus.quarantined: Msg("Quarantined"), ReturnStatus.evaluated: Msg("Evaluated"),
                 ReturnStatus.disposed: Msg("Disposed of")}
SAMPLE_RESULT_LABELS = {SampleResult.passed: Msg("Passed"), SampleResult.failed: Msg("Failed"),
                        SampleResult.not_tested: Msg("Not tested")}
DISPOSITION_LABELS = {Disposition.destroy: Msg("Destroy"), Disposition.reprocess: Msg("Reprocess"),
                      Disposition.return_to_stock: Msg("Return to stock")}
CHANNEL_LABELS = {ReturnChannel.wholesaler: Msg("Wholesaler or distributor"), ReturnChannel.pharmacy: Msg("Pharmacy"),
                  ReturnChannel.hospital: Msg("Hospital or clinic"), ReturnChannel.patient: Msg("Patient"),
                  ReturnChannel.other: Msg("Other")}


def return_number(year: int, serial: int) -> str:
    """``RT-<yy>-<nnn>``, numbered like complaints and recalls."""
    return f"RT-{year % 100:02d}-{serial:03d}"


def check_received(quantity: int, received_on: date, *, shipped: int, returned_before: int, today: date,
                   shipped_from: date | None) -> None:
    """What comes back never exceeds what was shipped (less what came back before), and arrives after
    it was shipped and not in the future."""
    if received_on > today:
        raise ValidationError(Msg("Received in the future."), {"received_on": [Msg("Not later than today.")]})
    if shipped_from is not None and received_on < shipped_from:
        raise ValidationError(Msg("Received before it was shipped."), {"received_on": [Msg(
            "Not before the first shipment (%(date)s).", date=shipped_from.isoformat())]})
    if quantity > shipped - returned_before:
        raise ValidationError(Msg("More returned than shipped."), {"quantity_received": [Msg(
            "At most %(left)s: %(shipped)s shipped, %(before)s returned before.", left=shipped - returned_before,
            shipped=shipped, before=returned_before)]})


@dataclass(frozen=True)
class Evaluation:
    storage_conditions: str
    sample_result: SampleResult
    test_reference: str | None
    other_batches_implicated: bool
    investigation_ref: str | None


def check_evaluation(status: ReturnStatus, evaluation: Evaluation) -> None:
    if status is ReturnStatus.disposed:
        raise ConflictError(Msg("A disposed return is not evaluated again."))
    if evaluation.sample_result is not SampleResult.not_tested and not evaluation.test_reference:
        raise ValidationError(Msg("Test reference missing."), {"test_reference": [Msg(
            "Name the test record of the retained-sample comparison.")]})
    if evaluation.other_batches_implicated and not evaluation.investigation_ref:
        raise ValidationError(Msg("Investigation missing."), {"investigation_ref": [Msg(
            "A return that implicates other batches names its investigation (21 CFR 211.192).")]})


def check_disposition(status: ReturnStatus, disposition: Disposition, *, sample_result: SampleResult | None,
                      rationale: str | None) -> None:
    """The QA head disposes of an evaluated return; stock goes back only with a passing test."""
    if status is ReturnStatus.quarantined:
        raise ConflictError(Msg("QA evaluates the return before its disposition."))
    if status is ReturnStatus.disposed:
        raise ConflictError(Msg("This return is already disposed of."))
    if disposition is Disposition.reprocess and not (rationale or "").strip():
        raise ValidationError(Msg("Rationale missing."), {"rationale": [Msg("Give the rationale for reprocessing.")]})
    if disposition is Disposition.return_to_stock and sample_result is not SampleResult.passed:
        raise ConflictError(Msg("Returned goods go back to stock only with a passing test against the retained "
                                "sample; quality is otherwise in doubt."))

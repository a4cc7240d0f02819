"""SOP 5.4: the investigation checklist and the quarantine of stock (5.4.3), as plain rules."""
from __future__ import annotations

from enum import StrEnum

from gmp_complaints.domain.errors import Msg, ValidationError


class ChecklistItem(StrEnum):
    batch_records = "batch_records"          # 5.4.1
    sample_vs_retained = "sample_vs_retained"  # 5.4.2
    stock_and_adjacent = "stock_and_adjacent"  # 5.4.3
    site_visit = "site_visit"                # 5.4.4
    further_studies = "further_studies"      # 5.4.5
    carrier = "carrier"                      # 5.4.6


CHECKLIST_LABELS = {
    ChecklistItem.batch_records: Msg("5.4.1 Batch production, test, storage and shipping records reviewed"),
    ChecklistItem.sample_vs_retained: Msg("5.4.2 Returned sample examined or tested against the retained sample"),
    ChecklistItem.stock_and_adjacent: Msg("5.4.3 Stock of the batch and adjacent batches checked, quarantined if any"),
    ChecklistItem.site_visit: Msg("5.4.4 Site visit to the customer"),
    ChecklistItem.further_studies: Msg("5.4.5 Further laboratory studies"),
    ChecklistItem.carrier: Msg("5.4.6 Carrier involved (damage in transit)"),
}


class Outcome(StrEnum):
    done = "done"
    not_applicable = "not_applicable"


OUTCOME_LABELS = {Outcome.done: Msg("Done"), Outcome.not_applicable: Msg("Not applicable")}


def check_checklist(raw) -> dict[str, dict]:
    """``{item: {outcome, note}}``: every item known; "done" says what was found, "not applicable"
    says why. Items left out stay open (shown as not recorded)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationError(Msg("Invalid checklist."), {"checklist": [Msg(
            "An object of checklist items, each {outcome, note}.")]})
    errors: dict = {}
    result: dict[str, dict] = {}
    for key, entry in raw.items():
        field = f"checklist.{key}"
        try:
            item = ChecklistItem(key)
        except ValueError:
            errors[field] = [Msg("Unknown checklist item.")]
            continue
        if not isinstance(entry, dict):
            errors[field] = [Msg("Give {outcome, note}.")]
            continue
        try:
            outcome = Outcome(entry.get("outcome"))
        except ValueError:
            errors[field] = [Msg("Outcome must be done or not_applicable.")]
            continue
        note = entry.get("note")
        note = note.strip() if isinstance(note, str) else ""
        if not note:
            errors[field] = [Msg("Say what was found.") if outcome is Outcome.done
                             else Msg("Say why this item does not apply.")]
            continue
        if len(note) > 5000:
            errors[field] = [Msg("At most %(n)s characters.", n=5000)]
            continue
        result[item.value] = {"outcome": outcome.value, "note": note}
    if errors:
        raise ValidationError(Msg("Invalid checklist."), errors)
    return {item.value: result[item.value] for item in ChecklistItem if item.value in result}


def merged_checklist(previous: dict[str, dict], update: dict[str, dict]) -> dict[str, dict]:
    """A re-investigation adds to the checklist; an item answered again takes the new answer."""
    merged = {**previous, **update}
    return {item.value: merged[item.value] for item in ChecklistItem if item.value in merged}


class QuarantineStatus(StrEnum):
    requested = "requested"
    quarantined = "quarantined"
    no_stock = "no_stock"


QUARANTINE_LABELS = {
    QuarantineStatus.requested: Msg("Requested"),
    QuarantineStatus.quarantined: Msg("Quarantined"),
    QuarantineStatus.no_stock: Msg("No stock left"),
}

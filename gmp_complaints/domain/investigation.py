"""SOP 5.4: the investigation checklist, the category of the root cause (human error only with its
justification, EU GMP 8.17) and the quarantine of stock (5.4.3), as plain rules."""
from __future__ import annotations

from dataclasses import dataclass, field
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


class RootCauseCategory(StrEnum):
    """What kind of cause the investigation found (a fixed list, for trending alongside the root cause text)."""

    human_error = "human_error"
    equipment = "equipment"
    material = "material"
    method = "method"
    process = "process"
    environment = "environment"
    supplier = "supplier"
    transport = "transport"
    not_determined = "not_determined"
    other = "other"


ROOT_CAUSE_CATEGORY_LABELS = {
    RootCauseCategory.human_error: Msg("Human error"),
    RootCauseCategory.equipment: Msg("Equipment"),
    RootCauseCategory.material: Msg("Material"),
    RootCauseCategory.method: Msg("Method (analytical or working method)"),
    RootCauseCategory.process: Msg("Process"),
    RootCauseCategory.environment: Msg("Environment"),
    RootCauseCategory.supplier: Msg("Supplier"),
    RootCauseCategory.transport: Msg("Transport and storage"),
    RootCauseCategory.not_determined: Msg("Not determined"),
    RootCauseCategory.other: Msg("Other"),
}


class ExaminedCause(StrEnum):
    """The causes looked into before human error may stand as the root cause (EU GMP 8.17, Ch. 1 1.4(xiv))."""

    process = "process"
    procedure = "procedure"
    system = "system"


EXAMINED_CAUSE_LABELS = {
    ExaminedCause.process: Msg("Process causes were examined"),
    ExaminedCause.procedure: Msg("Procedure causes were examined"),
    ExaminedCause.system: Msg("System causes were examined"),
}
_NOT_CONFIRMED = {
    ExaminedCause.process: Msg("Confirm that process causes were examined before concluding human error."),
    ExaminedCause.procedure: Msg("Confirm that procedure causes were examined before concluding human error."),
    ExaminedCause.system: Msg("Confirm that system causes were examined before concluding human error."),
}


@dataclass(frozen=True)
class RootCauseClassification:
    """The category of the root cause as recorded; ``causes_examined`` holds the confirmations given
    (cause -> true or false), in the order of ``ExaminedCause``."""

    category: RootCauseCategory | None
    human_error_justification: str | None = None
    causes_examined: dict[str, bool] = field(default_factory=dict)


def check_root_cause_category(category: RootCauseCategory | None, justification: str | None,
                              causes_examined) -> RootCauseClassification:
    """REC-14 (EU GMP 8.17): human error as the root cause stands only with a justification and the
    confirmation that process, procedure and system causes were examined (``causes_examined`` is
    ``{process, procedure, system}``, each true). Every missing or false one is named; any other
    category takes them where given."""
    errors: dict = {}
    examined: dict[str, bool] = {}
    if causes_examined is not None and not isinstance(causes_examined, dict):
        errors["causes_examined"] = [Msg("An object {process, procedure, system}, each true or false.")]
    else:
        for key, value in (causes_examined or {}).items():
            name = f"causes_examined.{key}"
            try:
                cause = ExaminedCause(key)
            except ValueError:
                errors[name] = [Msg("Unknown cause: process, procedure or system.")]
                continue
            if not isinstance(value, bool):
                errors[name] = [Msg("Expected true or false.")]
                continue
            examined[cause.value] = value
    justification = justification.strip() if isinstance(justification, str) and justification.strip() else None
    if category is RootCauseCategory.human_error:
        if justification is None:
            errors["human_error_justification"] = [Msg(
                "Human error as the root cause needs its justification: why no process, procedure or system "
                "cause explains the defect.")]
        if "causes_examined" not in errors:
            for cause in ExaminedCause:
                if examined.get(cause.value) is not True:
                    errors.setdefault(f"causes_examined.{cause.value}", [_NOT_CONFIRMED[cause]])
    if errors:
        raise ValidationError(
            Msg("Human error as the root cause needs its justification and the confirmation that process, "
                "procedure and system causes were examined.") if category is RootCauseCategory.human_error
            else Msg("Invalid confirmations of the causes examined."), errors)
    return RootCauseClassification(category, justification,
                                   {c.value: examined[c.value] for c in ExaminedCause if c.value in examined})

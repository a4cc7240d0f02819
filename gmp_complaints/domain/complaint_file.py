"""What the complaint file holds before QA approves its closure (REC-02; 21 CFR 211.198(b)(1), ICH Q7 15.11):
every item is recorded, or explicitly marked "not known" with a reason.

No Flask, no SQLAlchemy: the services gather the facts, ask ``missing_complaint_file_items``, and refuse the
closure while it names anything.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from gmp_complaints.domain.errors import ConflictError, Msg, joined


class FileItem(StrEnum):
    product_name = "product_name"
    strength = "strength"
    dosage_form = "dosage_form"
    batch = "batch"
    complainant_name = "complainant_name"
    complainant_contact = "complainant_contact"
    nature = "nature"
    received_on = "received_on"
    reply = "reply"


FILE_ITEM_LABELS = {
    FileItem.product_name: Msg("Product name"),
    FileItem.strength: Msg("Strength"),
    FileItem.dosage_form: Msg("Dosage form"),
    FileItem.batch: Msg("Lot or batch number"),
    FileItem.complainant_name: Msg("Complainant's name"),
    FileItem.complainant_contact: Msg("Complainant's contact (phone or e-mail)"),
    FileItem.nature: Msg("Nature of the complaint (type and description)"),
    FileItem.received_on: Msg("Date received"),
    FileItem.reply: Msg("Reply to the complainant (content and date sent)"),
}


@dataclass(frozen=True)
class ComplaintFileFacts:
    """The items of REC-02 as the record holds them (product items from the product master data)."""

    product_name: str | None
    strength: str | None
    dosage_form: str | None
    batch_nos: tuple[str, ...]
    batch_unknown_reason: str | None
    complainant_name: str | None
    complainant_phone: str | None
    complainant_email: str | None
    complaint_type: str | None
    description: str | None
    received_on: date | None
    #: (content, date sent) of each reply to the complainant
    replies: tuple[tuple[str | None, date | None], ...] = ()


def _filled(value) -> bool:
    return value is not None and (not isinstance(value, str) or bool(value.strip()))


def recorded_items(facts: ComplaintFileFacts) -> dict[FileItem, bool]:
    """Each item: recorded in the file or not (a batch "unknown" with its reason counts as recorded)."""
    return {
        FileItem.product_name: _filled(facts.product_name),
        FileItem.strength: _filled(facts.strength),
        FileItem.dosage_form: _filled(facts.dosage_form),
        FileItem.batch: bool(facts.batch_nos) or _filled(facts.batch_unknown_reason),
        FileItem.complainant_name: _filled(facts.complainant_name),
        FileItem.complainant_contact: _filled(facts.complainant_phone) or _filled(facts.complainant_email),
        FileItem.nature: _filled(facts.complaint_type) and _filled(facts.description),
        FileItem.received_on: facts.received_on is not None,
        FileItem.reply: any(_filled(content) and sent_on is not None for content, sent_on in facts.replies),
    }


def missing_complaint_file_items(facts: ComplaintFileFacts, not_known: Mapping[str, str] | None = None
                                 ) -> list[FileItem]:
    """The items that are neither recorded nor marked "not known" with a reason, in the order of REC-02.
    QA approval of the closure is refused while this is not empty."""
    marked = {item for item, reason in (not_known or {}).items() if _filled(reason)}
    return [item for item, recorded in recorded_items(facts).items() if not recorded and item.value not in marked]


def check_not_known_mark(item: FileItem, facts: ComplaintFileFacts, not_known: Mapping[str, str]) -> None:
    """An item is marked "not known" only while it is missing, and once.

    :raise ConflictError: the item is recorded, or already marked (409, nothing changes).
    """
    if item.value in not_known:
        raise ConflictError(Msg("%(item)s is already marked not known.", item=FILE_ITEM_LABELS[item]))
    if recorded_items(facts)[item]:
        raise ConflictError(Msg("%(item)s is recorded: there is nothing to mark not known.",
                                item=FILE_ITEM_LABELS[item]))


def incomplete_file_message(missing: list[FileItem]) -> Msg:
    """The closure's refusal naming each missing item (each label translated on its own on the pages)."""
    items = joined([FILE_ITEM_LABELS[item] for item in missing], "; ")
    return Msg("The complaint file is incomplete (REC-02), missing: %(items)s. Record each item, or mark it not "
               "known with a reason.", items=items)

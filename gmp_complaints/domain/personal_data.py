"""Complainant personal data (SEC-11; PIPL / GDPR): who may see it, and how it is masked for everyone else.

The masks keep just enough to tell two complainants apart on a screen or in an export (the surname or first
letter, the last four digits of a phone number, the e-mail domain) and nothing that identifies the person.
Masking is applied to the decrypted values when a record is shown to a role outside
``ROLES_SEEING_PERSONAL_DATA``; the stored values stay encrypted either way (see ``personal_data_crypto``).
"""
from __future__ import annotations

from collections.abc import Iterable

from gmp_complaints.domain.roles import Role

#: the people who talk to the complainant; investigators, the QP, auditors and admins work without the identity
ROLES_SEEING_PERSONAL_DATA = frozenset({Role.intake, Role.qa_officer, Role.qa_head})

#: contact fields that are not personal data: the organisation is a pharmacy, a hospital or a distributor
NOT_PERSONAL_CONTACT_FIELDS = frozenset({"organisation"})

MASK = "*"


def may_see_personal_data(roles: Iterable[Role | str] | None) -> bool:
    """True when at least one of ``roles`` needs the complainant's identity (role keys or ``Role`` members)."""
    return bool(ROLES_SEEING_PERSONAL_DATA & set(roles or ()))


def may_receive(masked: bool, roles: Iterable[Role | str] | None) -> bool:
    """Whether a file made once and kept (an archive job's result) may go to the holder of ``roles``: a masked file
    to anyone allowed the file at all, a clear one only to a holder who may see personal data."""
    return masked or may_see_personal_data(roles)


def mask_text(text: str | None) -> str | None:
    """Generic mask: the first character stays, every other non-blank character becomes ``*``.

    Blanks are kept so that the shape of the value stays readable. ``None`` and ``""`` are returned as they are
    (there is nothing to hide, and "not given" must stay distinguishable from "hidden").
    ``'上海市徐汇区 1号'`` → ``'上***** **'``.
    """
    if not text:
        return text
    return text[0] + "".join(c if c.isspace() else MASK for c in text[1:])


def mask_name(name: str | None) -> str | None:
    """Keep the first character of each word, mask the rest.

    A Chinese name has no blanks, so only the surname's first character stays: ``'王芳'`` → ``'王*'``,
    ``'欧阳娜娜'`` → ``'欧***'``. A Latin name keeps each word's initial: ``'Wang Fang'`` → ``'W*** F***'``.
    A one-character word stays as it is (an initial reveals no more than the mask would).
    """
    if not name:
        return name
    return " ".join(word[0] + MASK * (len(word) - 1) for word in name.split())


def mask_phone(phone: str | None) -> str | None:
    """Only the last four digits stay (enough to match a call-back): ``'138-0000-1234'`` → ``'*******1234'``.

    Separators and the country prefix are dropped so the mask gives away nothing about the number's format.
    A number of four digits or fewer is masked completely (its last four digits would be the whole number);
    a value without digits (a messenger id, "n/a") gets the generic mask.
    """
    if not phone:
        return phone
    digits = [c for c in phone if c.isdigit()]
    if not digits:
        return mask_text(phone)
    if len(digits) <= 4:
        return MASK * len(digits)
    return MASK * (len(digits) - 4) + "".join(digits[-4:])


def mask_email(email: str | None) -> str | None:
    """First character of the local part and the domain: ``'wang.fang@example.cn'`` → ``'w***@example.cn'``.

    The local part's length is not shown (a fixed ``***``). A value without ``@`` gets the generic mask.
    """
    if not email:
        return email
    local, at, domain = email.strip().rpartition("@")
    if not at or not local:
        return mask_text(email)
    return f"{local[0]}{MASK * 3}@{domain}"


_MASKS = {"name": mask_name, "phone": mask_phone, "email": mask_email}


def masked_complainant(contact: dict) -> dict:
    """The complainant's contact with every personal field masked.

    Always returns the keys ``name``, ``organisation``, ``phone`` and ``email`` (``None`` when not given). The
    organisation is kept. Any other key is treated as personal data (default deny): text gets the generic
    mask, anything else is dropped to ``None``.
    """
    result: dict = {key: None for key in ("name", "organisation", "phone", "email")}
    for key, value in contact.items():
        if key in NOT_PERSONAL_CONTACT_FIELDS:
            result[key] = value
        elif key in _MASKS:
            result[key] = _MASKS[key](value)
        else:
            result[key] = mask_text(value) if isinstance(value, str) else None
    return result


def masked_returning_party(party: str | None, address: str | None) -> dict:
    """The returning party of returned goods and its address, masked (``returning_party``,
    ``returning_party_address``).

    A return may come straight from a patient (21 CFR 211.204 asks for who returned it), so the party is masked
    like a complainant's name whatever the channel: the record cannot tell a person from a pharmacy's name. The
    organisation the goods were shipped to stays readable in the return's consignee.
    """
    return {"returning_party": mask_name(party), "returning_party_address": mask_text(address)}


#: what the audit trail holds for a personal field instead of its value (the complainant, the returning party)
RECORDED_ENCRYPTED = "recorded (encrypted)"

#: personal fields that audit events written before their encryption (returns before revision 0051) hold in
#: clear; the sealed events cannot be rewritten, so the readable views mask them
_AUDITED_IN_CLEAR_BEFORE = {"returning_party": mask_name, "returning_party_address": mask_text}


def masked_audit_changes(changes: dict) -> dict:
    """An event's ``{field: [old, new]}`` with the personal values older events hold in clear masked, for a
    reader without personal-data access; "recorded (encrypted)" and every other field stay as they are."""
    def mask(name: str, value):
        if not isinstance(value, str) or value == RECORDED_ENCRYPTED:
            return value
        return _AUDITED_IN_CLEAR_BEFORE[name](value)

    return {name: ([mask(name, v) for v in pair] if name in _AUDITED_IN_CLEAR_BEFORE and isinstance(pair, list)
                   else pair)
            for name, pair in changes.items()}

"""Complainant personal data (SEC-11, PIPL/GDPR): who may see it, and how it is masked for the rest."""
from __future__ import annotations

from gmp_complaints.domain.roles import Role

#: the people who talk to the complainant; investigators, QP and auditors work without the identity
ROLES_SEEING_PERSONAL_DATA = frozenset({Role.intake, Role.qa_officer, Role.qa_head})


def may_see_personal_data(roles) -> bool:
    return bool(ROLES_SEEING_PERSONAL_DATA & set(roles))


def mask_name(name: str | None) -> str | None:
    """Keep the first character of each word: '王芳' → '王*', 'Wang Fang' → 'W*** F***'."""
    if not name:
        return name
    return " ".join(word[0] + "*" * (len(word) - 1) if len(word) > 1 else word for word in name.split())


def mask_phone(phone: str | None) -> str | None:
    """Only the last four digits stay: enough to tell two callers apart."""
    if not phone:
        return phone
    digits = [c for c in phone if c.isdigit()]
    return "*" * max(len(digits) - 4, 0) + "".join(digits[-4:])


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return mask_name(email)
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def masked_complainant(contact: dict) -> dict:
    """The organisation (a pharmacy, a hospital) is not personal data and stays readable."""
    return {"name": mask_name(contact.get("name")), "organisation": contact.get("organisation"),
            "phone": mask_phone(contact.get("phone")), "email": mask_email(contact.get("email"))}

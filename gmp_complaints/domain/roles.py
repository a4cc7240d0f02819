"""Roles of DESIGN §1 and the rules for combining them."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gmp_complaints.domain.errors import Msg, ValidationError


class Role(StrEnum):
    intake = "intake"
    qa_officer = "qa_officer"
    investigator = "investigator"
    qa_head = "qa_head"
    qp = "qp"
    auditor = "auditor"
    admin = "admin"
    recall_coordinator = "recall_coordinator"
    pv_officer = "pv_officer"
    regulatory_affairs = "regulatory_affairs"


# Segregation of duties: the system administrator holds no GMP role (SEC-03) and the
# inspector/auditor only reads, so neither may be combined with any other role.
SOLITARY_ROLES = frozenset({Role.admin, Role.auditor})
# Administrators and auditors never sign GMP records; everyone else may, once enabled (SIG-05).
SIGNING_ROLES = frozenset(Role) - SOLITARY_ROLES

ROLE_LABELS = {
    Role.intake: Msg("Intake (sales)"),
    Role.qa_officer: Msg("QA officer (complaint administrator)"),
    Role.investigator: Msg("Investigator"),
    Role.qa_head: Msg("Head of quality"),
    Role.qp: Msg("Qualified person"),
    Role.auditor: Msg("Auditor / inspector"),
    Role.admin: Msg("System administrator"),
    Role.recall_coordinator: Msg("Recall coordinator"),
    Role.pv_officer: Msg("Pharmacovigilance officer"),
    Role.regulatory_affairs: Msg("Regulatory affairs"),
}


def parse_roles(values) -> frozenset[Role]:
    """Turn role keys into a valid set of roles, or raise naming the ``roles`` field."""
    roles = set()
    unknown = []
    for value in values or ():
        try:
            roles.add(Role(value))
        except ValueError:
            unknown.append(str(value))
    if unknown:
        raise ValidationError(Msg("Unknown role."), {"roles": [Msg("Unknown role: %(roles)s.", roles=", ".join(sorted(unknown)))]})
    check_role_combination(roles)
    return frozenset(roles)


def check_role_combination(roles) -> None:
    if not roles:
        raise ValidationError(Msg("A user needs at least one role."), {"roles": [Msg("Choose at least one role.")]})
    if {Role.recall_coordinator, Role.intake} <= set(roles):
        # The recall coordinator is independent of sales and marketing (EU GMP 8.16; DESIGN §1).
        raise ValidationError(Msg("Role combination not allowed."), {"roles": [Msg(
            "The recall coordinator cannot also hold the sales role (intake).")]})
    solitary = SOLITARY_ROLES & set(roles)
    if solitary and len(roles) > 1:
        role = sorted(solitary)[0]
        raise ValidationError(
            Msg("Role combination not allowed."),
            {"roles": [Msg("The role %(role)s cannot be combined with any other role.", role=ROLE_LABELS[role])]},
        )


@dataclass(frozen=True)
class Actor:
    """Who acts in a use case: the signed-in user's id and roles (from the session or the token)."""

    id: int
    roles: frozenset[Role]

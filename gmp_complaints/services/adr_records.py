"""Reading ADR cases: the complaint's ``adr`` section, the facts its closure checks, and each case's
missing elements. Personal (health) data is decrypted here and masked for roles that do not work the case.
The use cases that change cases are in ``services.pharmacovigilance``."""
from __future__ import annotations

import sqlalchemy as sa

from gmp_complaints.domain.adr import ROLES_SEEING_CASE, AdrStatus, adr_status, in_cluster_window, missing_elements
from gmp_complaints.domain.personal_data import mask_text
from gmp_complaints.models import AdrCase, AdrInvestigationRequest, Complaint, Notification, Product
from gmp_complaints.people import person


def cases_of(session, complaint_id: int) -> list[AdrCase]:
    return list(session.scalars(sa.select(AdrCase).where(AdrCase.complaint_id == complaint_id)
                                .order_by(AdrCase.sequence)))


def case_missing(case: AdrCase, cipher, product_name: str | None) -> list[str]:
    return missing_elements(reporter=cipher.decrypt(case.reporter), patient=cipher.decrypt(case.patient),
                            suspect_product=product_name, reaction=cipher.decrypt(case.reaction))


def case_status(case: AdrCase, missing: list[str]) -> AdrStatus:
    return adr_status(missing=missing, accepted=case.accepted_at is not None, submitted=case.submitted_at is not None)


def unaccepted_cases(session, complaint_id: int) -> list[int]:
    """Sequences of the complaint's hand-offs that PV has not accepted (they block its closure)."""
    return list(session.scalars(sa.select(AdrCase.sequence).where(
        AdrCase.complaint_id == complaint_id, AdrCase.accepted_at.is_(None)).order_by(AdrCase.sequence)))


def requests_of(session, case_id: int) -> list[AdrInvestigationRequest]:
    return list(session.scalars(sa.select(AdrInvestigationRequest).where(
        AdrInvestigationRequest.adr_case_id == case_id).order_by(AdrInvestigationRequest.sequence)))


def unanswered_requests(session, complaint_id: int) -> int:
    """PV's investigation requests on the complaint's hand-offs still waiting for an answer."""
    return session.scalar(sa.select(sa.func.count()).select_from(AdrInvestigationRequest).join(
        AdrCase, AdrCase.id == AdrInvestigationRequest.adr_case_id).where(
        AdrCase.complaint_id == complaint_id, AdrInvestigationRequest.answered_at.is_(None)))


def possible_cluster(session, case: AdrCase, product_id: int) -> list[str]:
    """Other complaints with a reaction to the same product near in time (a possible group event)."""
    rows = session.execute(sa.select(Complaint.number, Complaint.intake_ref, AdrCase.aware_on).join(
        AdrCase, AdrCase.complaint_id == Complaint.id).where(
        Complaint.product_id == product_id, Complaint.id != case.complaint_id).order_by(Complaint.id))
    return sorted({number or ref for number, ref, day0 in rows if in_cluster_window(case.aware_on, day0)})


def has_cases(session, complaint_id: int) -> bool:
    return session.scalar(sa.select(sa.exists().where(AdrCase.complaint_id == complaint_id)))


def case_view(session, case: AdrCase, cipher, roles, tz, product_name: str, product_id: int) -> dict:
    missing = case_missing(case, cipher, product_name)
    texts = {name: cipher.decrypt(getattr(case, name)) for name in ("reporter", "patient", "reaction")}
    if not ROLES_SEEING_CASE & set(roles or ()):
        texts = {name: mask_text(value) for name, value in texts.items()}
    entries = session.scalars(sa.select(Notification).where(Notification.adr_case_id == case.id)
                              .order_by(Notification.due_at, Notification.id))
    return {
        "sequence": case.sequence, "kind": "initial" if case.sequence == 1 else "follow_up",
        "status": case_status(case, missing).value, "day0": case.aware_on.isoformat(),
        "due_on": case.due_on.isoformat() if case.due_on else None, "seriousness": case.seriousness, "unexpected": case.unexpected,
        **texts, "suspect_product": product_name, "missing_elements": missing,
        "accepted_at": case.accepted_at.astimezone(tz).isoformat(timespec="seconds") if case.accepted_at else None,
        "accepted_by": person(session, case.accepted_by_id),
        "case_number": case.case_number,
        "submitted_at": case.submitted_at.astimezone(tz).isoformat(timespec="seconds") if case.submitted_at else None,
        "submission_reference": case.submission_reference,
        "reports": [{"id": n.id, "authority": n.authority, "due_at": n.due_at.astimezone(tz).isoformat(timespec="seconds"),
                     "sent_at": n.sent_at.astimezone(tz).isoformat(timespec="seconds") if n.sent_at else None}
                    for n in entries],
        "group_event": case.group_event,
        "possible_cluster": possible_cluster(session, case, product_id),
        "investigation_requests": [{
            "sequence": r.sequence, "question": r.question, "batch_nos": (r.batch_nos or "").split(),
            "requested_at": r.requested_at.astimezone(tz).isoformat(timespec="seconds"),
            "requested_by": person(session, r.requested_by_id), "answer": r.answer,
            "answered_at": r.answered_at.astimezone(tz).isoformat(timespec="seconds") if r.answered_at else None,
            "answered_by": person(session, r.answered_by_id)} for r in requests_of(session, case.id)],
    }


def adr_view(session, complaint: Complaint, cipher, roles, tz) -> dict | None:
    """DESIGN §6: ``adr: {status, day0, due_on, ...}`` — the initial hand-off's status, day 0 and earliest
    deadline at the top, every entry (initial and follow-ups) in ``cases``."""
    product_name = session.get(Product, complaint.product_id).name
    cases = [case_view(session, case, cipher, roles, tz, product_name, complaint.product_id)
             for case in cases_of(session, complaint.id)]
    if not cases:
        return None
    first = cases[0]
    return {"status": first["status"], "day0": first["day0"], "due_on": first["due_on"],
            "seriousness": first["seriousness"], "unexpected": first["unexpected"],
            "missing_elements": first["missing_elements"], "cases": cases}

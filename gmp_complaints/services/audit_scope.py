"""What "the audit trail of a complaint" means (issue 16; AT-02): the complaint and every record that
belongs to it — replies, customer responses and reminders, extensions, quarantine and void requests,
attachments, escalations, e-mails, its signatures, ADR hand-offs and PV requests, compensations, follow-up
calls and its register entries. The auditor's page, its CSV, the bundle, the API and ``gmp audit export``
all use it for ``entity=complaint:<id>``; other entities are filtered as asked."""
from __future__ import annotations

import sqlalchemy as sa

from audit.service import EventFilter
from gmp_complaints.domain.plausibility import record_id_of
from gmp_complaints.models import (
    AdrCase,
    AdrInvestigationRequest,
    Compensation,
    Complaint,
    Disposal,
    FollowUpCall,
    NoticeAcknowledgement,
    Notification,
    SentLetter,
    UserNotice,
)
from gmp_complaints.services.complaint_records import complaint_records
from gmp_complaints.uow import UnitOfWork


def with_parts(uow: UnitOfWork, event_filter: EventFilter) -> EventFilter:
    """``event_filter`` with the parts of the complaint it names (unchanged for anything else, or for a
    complaint that does not exist: the filter then finds what there is)."""
    complaint_id = record_id_of(event_filter.entity_id)
    if event_filter.entity_type != "complaint" or complaint_id is None:
        return event_filter
    with uow:
        session = uow.session
        complaint = session.get(Complaint, complaint_id)
        if complaint is None:
            return event_filter
        records = complaint_records(session, complaint)

        def ids(query) -> list[str]:
            return [str(i) for i in session.scalars(query)]

        cases = ids(sa.select(AdrCase.id).where(AdrCase.complaint_id == complaint.id))
        records.update({
            "adr_case": cases,
            "adr_investigation_request": ids(sa.select(AdrInvestigationRequest.id).where(
                AdrInvestigationRequest.adr_case_id.in_([int(c) for c in cases]))) if cases else [],
            "compensation": ids(sa.select(Compensation.id).where(Compensation.complaint_id == complaint.id)),
            "follow_up_call": ids(sa.select(FollowUpCall.id).where(FollowUpCall.complaint_id == complaint.id)),
            "notification": ids(sa.select(Notification.id).where(Notification.subject_type == "complaint",
                                                                 Notification.subject_id == complaint.id)),
            "sent_letter": ids(sa.select(SentLetter.id).where(SentLetter.complaint_id == complaint.id)),
            "disposal": ids(sa.select(Disposal.id).where(Disposal.complaint_id == complaint.id)),
            "user_notice": ids(sa.select(UserNotice.id).where(UserNotice.subject_type == "complaint",
                                                              UserNotice.subject_id == complaint.id)),
            # WF-10: the QP's acknowledgements of the complaint's notices (a quarantine, the interim decision)
            "notice_acknowledgement": ids(sa.select(NoticeAcknowledgement.notice_id).join(
                UserNotice, UserNotice.id == NoticeAcknowledgement.notice_id).where(
                UserNotice.subject_type == "complaint", UserNotice.subject_id == complaint.id)),
        })
    return EventFilter(**{**event_filter.__dict__, "records": records})


#: how each kind of record is named to a reader of the trail (instead of its database id)
def _labels(session, kind: str, ids: list[int]) -> dict[str, str]:
    from gmp_complaints.models import Batch, Capa, Product, Recall, ReturnedGoods, User

    if kind == "complaint":
        rows = session.execute(sa.select(Complaint.id, sa.func.coalesce(Complaint.number, Complaint.intake_ref))
                               .where(Complaint.id.in_(ids)))
    elif kind == "user":
        rows = session.execute(sa.select(User.id, User.printed_name).where(User.id.in_(ids)))
    else:
        model, column = {"product": (Product, Product.code), "batch": (Batch, Batch.batch_no),
                         "capa": (Capa, Capa.number), "recall": (Recall, Recall.number),
                         "return": (ReturnedGoods, ReturnedGoods.number)}[kind]
        rows = session.execute(sa.select(model.id, column).where(model.id.in_(ids)))
    return {str(record_id): label for record_id, label in rows}


NAMED_KINDS = ("complaint", "user", "product", "batch", "capa", "recall", "return")


def names_of(uow: UnitOfWork, events) -> dict[tuple[str, str], str]:
    """(record type, id) -> number or printed name, for the records and people the events mention (their
    own records and the id fields of their changes), in one read per kind."""
    from gmp_complaints.audit_text import REFERENCE_FIELDS

    wanted: dict[str, set[int]] = {kind: set() for kind in NAMED_KINDS}
    for event in events:
        if event.entity_type in wanted and record_id_of(event.entity_id) is not None:
            wanted[event.entity_type].add(record_id_of(event.entity_id))
        for field, pair in (event.changes or {}).items():
            kind = REFERENCE_FIELDS.get(field)
            if kind is None:
                continue
            for value in (pair if isinstance(pair, list) else [pair]):
                for item in (value if isinstance(value, list) else [value]):
                    if isinstance(item, int) and not isinstance(item, bool):
                        wanted[kind].add(item)
    names: dict[tuple[str, str], str] = {}
    with uow:
        for kind, ids in wanted.items():
            if ids:
                names.update({(kind, record_id): label for record_id, label in
                              _labels(uow.session, kind, sorted(ids)).items()})
    return names

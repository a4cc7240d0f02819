"""What "the audit trail of a complaint" means (issue 16; AT-02): the complaint and every record that
belongs to it — replies, customer responses and reminders, extensions, quarantine and void requests,
attachments, escalations, e-mails, its signatures, ADR hand-offs and PV requests, compensations, follow-up
calls and its register entries. The auditor's page, its CSV, the bundle, the API and ``gmp audit export``
all use it for ``entity=complaint:<id>``; other entities are filtered as asked."""
from __future__ import annotations

import sqlalchemy as sa

from audit.service import EventFilter
from gmp_complaints.models import (
    AdrCase,
    AdrInvestigationRequest,
    Compensation,
    Complaint,
    FollowUpCall,
    Notification,
)
from gmp_complaints.services.complaint_records import complaint_records
from gmp_complaints.uow import UnitOfWork


def with_parts(uow: UnitOfWork, event_filter: EventFilter) -> EventFilter:
    """``event_filter`` with the parts of the complaint it names (unchanged for anything else, or for a
    complaint that does not exist: the filter then finds what there is)."""
    if event_filter.entity_type != "complaint" or not (event_filter.entity_id or "").isdigit():
        return event_filter
    with uow:
        session = uow.session
        complaint = session.get(Complaint, int(event_filter.entity_id))
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
        })
    return EventFilter(**{**event_filter.__dict__, "records": records})

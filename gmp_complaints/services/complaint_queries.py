"""Reading complaints: the complaint page (with what the investigator must weigh), the searchable list
and the dashboard — each one call and one transaction, shared by the pages and the API."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaints import (
    ComplaintFacts,
    Status,
    allowed_steps,
)
from gmp_complaints.domain.deadlines import Deadlines
from gmp_complaints.domain.roles import SIGNING_ROLES, Role
from gmp_complaints.models import (
    Batch,
    Complaint,
    ComplaintBatch,
    Escalation,
    Product,
    User,
    UserRole,
)
from gmp_complaints.services.approvals import offers_for
from gmp_complaints.services.capa import actions_owned_by, escalated_actions
from gmp_complaints.services.complaint_records import complaint_view
from gmp_complaints.services.complaint_repository import (
    DeadlineRules,
    compute_deadlines,
    load_complaint,
    load_deadline_rules,
    open_time_limits,
)
from gmp_complaints.services.configuration import criteria_versions
from gmp_complaints.services.grading import decision_defaults, grading_defaults
from gmp_complaints.services.master_data import adjacent_batches
from gmp_complaints.services.notifications import REGISTER_WATCHERS, unsent_notifications
from gmp_complaints.services.recalls import open_recalls, recalls_of_complaint
from gmp_complaints.services.returns import returns_of_complaint
from gmp_complaints.uow import UnitOfWork

# --- reading -------------------------------------------------------------------------------------


def related_for_investigation(session, complaint: Complaint) -> dict:
    """SOP 5.4 / TR-02: what the investigator must weigh — the batches next to the complained ones
    (5.4.3: stock of adjacent batches) and earlier complaints on the same product and type."""
    linked = {link.batch_id for link in complaint.batch_links}
    adjacent: dict[int, Batch] = {}
    for batch in session.scalars(sa.select(Batch).where(Batch.id.in_(linked))) if linked else []:
        for neighbour in adjacent_batches(session, batch):
            if neighbour.id not in linked:
                adjacent[neighbour.id] = neighbour
    earlier = session.scalars(
        sa.select(Complaint).where(Complaint.product_id == complaint.product_id,
                                   Complaint.complaint_type == complaint.complaint_type,
                                   Complaint.id != complaint.id,
                                   Complaint.received_on <= complaint.received_on)
        .order_by(Complaint.received_on.desc(), Complaint.id.desc()).limit(20)).all()
    return {
        "adjacent_batches": [{"id": b.id, "batch_no": b.batch_no, "manufactured_on": b.manufactured_on.isoformat()}
                             for b in sorted(adjacent.values(), key=lambda b: b.manufactured_on)],
        "earlier_complaints": [{"id": c.id, "intake_ref": c.intake_ref, "number": c.number, "status": c.status,
                                "received_on": c.received_on.isoformat()} for c in earlier],
    }


def get_complaint(uow: UnitOfWork, complaint_id: int, *, roles) -> dict:
    with uow:
        complaint = load_complaint(uow, complaint_id, for_update=False)
        view = complaint_view(uow, complaint, roles)
        view["related"] = related_for_investigation(uow.session, complaint)
        return view


def complaint_page(uow: UnitOfWork, complaint_id: int, *, user_id: int, roles) -> dict:
    """Everything the complaint page shows, in one transaction: the complaint with what the investigator
    must weigh, the classification criteria (the version in force and the texts of every version), and
    the signatures this user may give now."""
    with uow:
        complaint = load_complaint(uow, complaint_id, for_update=False)
        view = complaint_view(uow, complaint, roles)
        view["related"] = related_for_investigation(uow.session, complaint)
        signing = (offers_for(uow, complaint, uow.session.get(User, user_id)) if set(roles) & SIGNING_ROLES
                   else {"offers": [], "signer": None})
        recalls = [{"id": r.id, "number": r.number, "status": r.status, "level": r.level}
                   for r in recalls_of_complaint(uow.session, complaint.id)]
        returned = [{"id": r.id, "number": r.number, "status": r.status, "quantity_received": r.quantity_received,
                     "channel": r.channel}
                    for r in returns_of_complaint(uow.session, complaint.id)]
        return {"complaint": view, "criteria": criteria_versions(uow.session, business_today(uow.settings)),
                "recalls": recalls, "returns": returned, "sales_people": _people_with(uow.session, Role.intake),
                "owners": _people_with(uow.session, Role.qa_officer, Role.qa_head),
                "investigators": _people_with(uow.session, Role.investigator, Role.qa_officer, Role.qa_head),
                "reply_approval_required": uow.settings.reply_approval_required,
                "may_dispose": _may_dispose(complaint, business_today(uow.settings)),
                # REC-08, REC-11: what the grading and the decision forms offer before anything is typed
                "grading_form": grading_defaults(complaint),
                "decision_form": decision_defaults(complaint, [b["batch_no"] for b in view["related"]["adjacent_batches"]]),
                **signing}


def _may_dispose(complaint: Complaint, today) -> bool:
    """RET-02: what the disposal needs, so the page offers it only then (the service checks again)."""
    return (complaint.status in (Status.closed.value, Status.void.value) and complaint.disposed_at is None
            and complaint.retention_until < today and not any(h.released_at is None for h in complaint.legal_holds))


def _people_with(session, *roles: Role) -> list[dict]:
    """The active users holding any of ``roles``, for a picker: who may send a reply (sales, SOP 5.6.1),
    administer a complaint (QA) or investigate it (never sales, EU GMP 8.1)."""
    rows = session.execute(sa.select(User.username, User.printed_name).join(UserRole, UserRole.user_id == User.id)
                           .where(UserRole.role.in_([r.value for r in roles]), User.is_active.is_(True))
                           .distinct().order_by(User.printed_name))
    return [{"username": username, "printed_name": name} for username, name in rows]


# --- lists and the dashboard -----------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintQuery:
    text: str | None = None  # number, intake reference or batch number
    status: str | None = None
    complaint_class: str | None = None
    product_code: str | None = None
    received_from: date | None = None
    received_to: date | None = None


def list_complaints(uow: UnitOfWork, query: ComplaintQuery, *, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    with uow:
        statement = sa.select(Complaint, Product.code).join(Product, Product.id == Complaint.product_id)
        if query.text:
            like = f"%{query.text.strip()}%"
            batch_match = sa.select(ComplaintBatch.complaint_id).join(Batch).where(Batch.batch_no.ilike(like))
            statement = statement.where(sa.or_(Complaint.number.ilike(like), Complaint.intake_ref.ilike(like),
                                               Complaint.id.in_(batch_match)))
        if query.status:
            statement = statement.where(Complaint.status == query.status)
        if query.complaint_class:
            statement = statement.where(Complaint.complaint_class == query.complaint_class)
        if query.product_code:
            statement = statement.where(Product.code == query.product_code)
        if query.received_from:
            statement = statement.where(Complaint.received_on >= query.received_from)
        if query.received_to:
            statement = statement.where(Complaint.received_on <= query.received_to)
        total = uow.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
        rows = uow.session.execute(statement.order_by(Complaint.received_on.desc(), Complaint.id.desc())
                                   .limit(limit).offset(offset)).all()
        rules = load_deadline_rules(uow.session)
        today = business_today(uow.settings)
        return [_summary(c, code, rules, today) for c, code in rows], total


def _summary(complaint: Complaint, product_code: str, rules: DeadlineRules, today: date) -> dict:
    deadlines = compute_deadlines(complaint, rules)
    return {"id": complaint.id, "intake_ref": complaint.intake_ref, "number": complaint.number,
            "complaint_class": complaint.complaint_class, "status": complaint.status,
            "received_on": complaint.received_on.isoformat(), "product_code": product_code,
            "complaint_type": complaint.complaint_type, "is_demo": complaint.is_demo,
            "next_due": next_due(complaint, deadlines, today)}


def next_due(complaint: Complaint, deadlines: Deadlines, today: date) -> dict | None:
    """The next open time limit of the complaint and whether it is overdue (for lists and dashboards)."""
    items = open_time_limits(complaint, deadlines)
    if not items:
        return None
    kind, due_on = min(items, key=lambda item: item[1])
    return {"kind": kind, "due_on": due_on.isoformat(), "overdue": due_on < today,
            "provisional": deadlines.provisional}


def dashboard(uow: UnitOfWork, *, user_id: int, roles, mine_only: bool, limit: int = 500) -> dict:
    """Open complaints by what is due: overdue first, then due, then those waiting for the customer.
    "Mine" are the complaints I administer, investigate or received; the QA head also sees every
    overdue item that ``gmp tick`` escalated (SOP §6). My CAPA actions come with it: one call, one
    transaction, for the page and the API alike."""
    with uow:
        open_statuses = [s.value for s in Status if s not in (Status.closed, Status.void)]
        statement = (sa.select(Complaint, Product.code).join(Product, Product.id == Complaint.product_id)
                     .where(Complaint.status.in_(open_statuses)))
        if mine_only:
            statement = statement.where(sa.or_(Complaint.owner_id == user_id, Complaint.investigator_id == user_id,
                                               Complaint.received_by_id == user_id))
        rows = uow.session.execute(statement.order_by(Complaint.received_on).limit(limit)).all()
        rules = load_deadline_rules(uow.session)
        today = business_today(uow.settings)
        summaries = [_summary(c, code, rules, today) for c, code in rows]
        escalated_rows = uow.session.execute(
            sa.select(Escalation, Complaint, Product.code).join(Complaint, Complaint.id == Escalation.complaint_id)
            .join(Product, Product.id == Complaint.product_id)
            .where(Complaint.status.in_(open_statuses)).order_by(Escalation.due_on)).all()
        escalated = []
        for escalation, complaint, code in escalated_rows:
            still_open = dict(open_time_limits(complaint, compute_deadlines(complaint, rules)))
            if still_open.get(escalation.kind) == escalation.due_on:
                escalated.append({**_summary(complaint, code, rules, today), "escalation": {
                    "kind": escalation.kind, "due_on": escalation.due_on.isoformat(),
                    "escalated_on": escalation.escalated_on.isoformat()}})
        interim = _interim_decisions(uow.session, rules, today) if set(roles) & INTERIM_DECIDERS else []
        my_actions = actions_owned_by(uow.session, user_id, today)
        late_actions = escalated_actions(uow.session) if Role.qa_head in roles else []
        register = (unsent_notifications(uow.session, uow.now(), ZoneInfo(uow.settings.site_timezone))
                    if set(roles) & REGISTER_WATCHERS else [])
        running = open_recalls(uow.session, ZoneInfo(uow.settings.site_timezone)) if set(roles) & REGISTER_WATCHERS else []
        management = _management(uow, today, open_statuses) if Role.qa_head in roles else None
    overdue = [s for s in summaries if s["next_due"] and s["next_due"]["overdue"]]
    waiting = [s for s in summaries if s["status"] == Status.awaiting_customer.value and s not in overdue]
    due = [s for s in summaries if s["next_due"] and s not in overdue and s not in waiting]
    return {"today": today.isoformat(), "mine_only": mine_only, "overdue": overdue,
            "due": sorted(due, key=lambda s: s["next_due"]["due_on"]), "awaiting_customer": waiting,
            "closure_pending": [s for s in summaries if s["status"] == Status.closure_pending.value],
            "escalated": escalated, "my_actions": my_actions, "escalated_actions": late_actions,
            "notifications": register, "recalls": running, "management": management,
            "interim_decisions": interim}


#: who signs the class I interim risk decision (WF-09) and so sees it waiting on the dashboard
INTERIM_DECIDERS = frozenset({Role.qa_head, Role.qp})


def _interim_decisions(session, rules, today: date) -> list[dict]:
    """WF-09: class I complaints under investigation whose signed interim risk decision is not complete, the
    earliest due first, each with its due date and whether it is overdue (then ``gmp tick`` escalates it)."""
    rows = session.execute(
        sa.select(Complaint, Product.code).join(Product, Product.id == Complaint.product_id).where(
            Complaint.complaint_class == "I", Complaint.status == Status.under_investigation.value,
            Complaint.interim_decided_at.is_(None), Complaint.interim_decision_due_on.is_not(None))
        .order_by(Complaint.interim_decision_due_on, Complaint.id)).all()
    return [{**_summary(complaint, code, rules, today), "interim_decision": {
        "due_on": complaint.interim_decision_due_on.isoformat(),
        "overdue": complaint.interim_decision_due_on < today}} for complaint, code in rows]


#: the age bands of open complaints on the QA head's overview, in days since receipt
AGE_BANDS = ((0, 30), (31, 60), (61, 90), (91, None))


def _management(uow: UnitOfWork, today, open_statuses: list[str]) -> dict:
    """The QA head's overview (TR-04): open complaints by age and class, and the trend signals waiting
    for evaluation."""
    from gmp_complaints.models import TrendReview

    by_age: dict[str, dict[str, int]] = {}
    for klass, received_on, count in uow.session.execute(sa.select(
            Complaint.complaint_class, Complaint.received_on, sa.func.count()).where(
            Complaint.status.in_(open_statuses)).group_by(Complaint.complaint_class, Complaint.received_on)):
        age = (today - received_on).days
        band = next(f"{low}-{high}" if high else f">{low - 1}" for low, high in AGE_BANDS if high is None or age <= high)
        row = by_age.setdefault(klass or "unclassified", {})
        row[band] = row.get(band, 0) + count
    bands = [f"{low}-{high}" if high else f">{low - 1}" for low, high in AGE_BANDS]
    reviews = uow.session.execute(sa.select(TrendReview.id, TrendReview.number, TrendReview.rule,
                                            TrendReview.product_code, TrendReview.period_from, TrendReview.period_to)
                                  .where(TrendReview.status == "open").order_by(TrendReview.id)).all()
    return {"bands": bands,
            "open_by_age": [{"class": klass, **{band: by_age.get(klass, {}).get(band, 0) for band in bands}}
                            for klass in ("I", "II", "III", "unclassified") if klass in by_age],
            "signals_waiting": [{"id": r.id, "number": r.number, "rule": r.rule, "product_code": r.product_code,
                                 "period": f"{r.period_from.isoformat()} – {r.period_to.isoformat()}"} for r in reviews]}


def allowed_steps_for(complaint: dict) -> list[str]:
    if complaint["disposal"] is not None:
        return []  # a tombstone takes no step
    facts = ComplaintFacts(status=Status(complaint["status"]),
                           substantiated=(complaint["validity"] or {}).get("substantiated"),
                           numbered=complaint["number"] is not None, investigated=complaint["investigation"] is not None,
                           replies=len(complaint["replies"]),
                           reasonable=(complaint["assessment"] or {}).get("reasonable"),
                           acknowledged=complaint["acknowledgement"] is not None,
                           capa_covered=bool(complaint["capas"]) or complaint.get("capa_justified", False),
                           spec_failure_suspected=bool((complaint["validity"] or {}).get("spec_failure_suspected")),
                           spec_failure_determined=complaint["spec_failure_determination"] is not None)
    return [step.value for step in allowed_steps(facts)]

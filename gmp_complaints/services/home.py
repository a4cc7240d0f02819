"""The landing page (工作台) of the signed-in user: what is theirs to do first, then their account.

Read models only; each part is the query its own page uses (the complaints due and overdue, the
signatures waiting, the CAPA actions, what PV, regulatory affairs and the QA head watch)."""
from __future__ import annotations

from gmp_complaints.domain.roles import SIGNING_ROLES, Role
from gmp_complaints.services import access_requests, accounts, complaint_queries, notices, security_alerts
from gmp_complaints.services.capa import capa_signatures_due
from gmp_complaints.services.waiting import waiting_for_signature
from gmp_complaints.uow import UnitOfWork

#: how many waiting signatures the landing page lists (the full list is one click away)
WAITING_SHOWN = 10
#: how many unread notices it lists
NOTICES_SHOWN = 10


def home(uow: UnitOfWork, *, user_id: int, roles) -> dict:
    roles = {Role(r) for r in roles}
    me = accounts.get_user(uow, user_id)
    board = None
    if roles - {Role.admin}:
        board = complaint_queries.dashboard(uow, user_id=user_id, roles=roles, mine_only=True, limit=200)
    waiting = waiting_for_signature(uow, user_id=user_id, limit=WAITING_SHOWN + 1) if roles & SIGNING_ROLES else []
    capa_waiting = capa_signatures_due(uow, user_id=user_id) if Role.qa_head in roles else []
    unread = [n for n in notices.my_notices(uow, user_id) if n["read_at"] is None][:NOTICES_SHOWN]
    # SEC-06: the security unit (administrators) and QA see the recent alerts with their event record; SEC-04: the
    # head of quality sees the changes of access waiting for their approval (never one of their own access).
    alerts = security_alerts.recent_alerts(uow) if roles & set(security_alerts.ALERTED_ROLES) else []
    access_waiting = ([r for r in access_requests.list_access_requests(uow, status="pending")["pending"]
                       if r["user_id"] != user_id] if Role.qa_head in roles else [])
    return {"me": me, "previous_login": accounts.previous_login(uow, user_id), "board": board,
            "waiting": waiting[:WAITING_SHOWN], "more_waiting": len(waiting) > WAITING_SHOWN,
            "capa_waiting": capa_waiting, "notices": unread, "security_alerts": alerts,
            "access_waiting": access_waiting}

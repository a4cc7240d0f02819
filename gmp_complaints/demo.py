"""Demo data for a first look (``gmp demo``). Every demo record is marked as demo.

Later features add their records here. It refuses to run on a database that holds real accounts.
"""
from __future__ import annotations

from typing import Callable

from gmp_complaints.domain.errors import ConflictError, Msg
from gmp_complaints.domain.roles import SIGNING_ROLES, Role
from gmp_complaints.services import accounts
from gmp_complaints.uow import UnitOfWork

#: (username, printed name, role); password is ``gmp-demo-<role>-2026``
DEMO_USERS = (
    ("demo.intake", "王芳 Wang Fang (演示 demo)", Role.intake),
    ("demo.qa", "李娜 Li Na (演示 demo)", Role.qa_officer),
    ("demo.investigator", "张伟 Zhang Wei (演示 demo)", Role.investigator),
    ("demo.qahead", "刘洋 Liu Yang (演示 demo)", Role.qa_head),
    ("demo.qp", "陈静 Chen Jing (演示 demo)", Role.qp),
    ("demo.auditor", "赵磊 Zhao Lei (演示 demo)", Role.auditor),
    ("demo.admin", "孙强 Sun Qiang (演示 demo)", Role.admin),
)


def demo_password(role: Role) -> str:
    return f"gmp-demo-{role.value.replace('_', '-')}-2026"


def load_demo(new_uow: Callable[[], UnitOfWork]) -> list[str]:
    """Create the demo users (idempotent); return one line per user for the console."""
    if accounts.non_demo_user_count(new_uow()):
        raise ConflictError(Msg("This database holds real (non-demo) accounts; demo data is refused here."))
    existing = {user.username for user in accounts.list_users(new_uow())}
    lines = []
    for username, printed_name, role in DEMO_USERS:
        password = demo_password(role)
        if username not in existing:
            created = accounts.create_user(
                new_uow(), actor_id=None, username=username, printed_name=printed_name, roles=[role],
                temporary_password=password, identity_verified=True, is_demo=True,
            )
            if role in SIGNING_ROLES:
                accounts.accept_esignature_statement(new_uow(), user_id=created.user_id, password=password, source_ip=None)
        lines.append(f"{role.value:<13} {username:<18} {password}")
    return lines

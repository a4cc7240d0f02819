"""Who a user is, as a record shows it (id, user name, printed name), kept for the session: a view names the
same people many times, and the audit seal already reads the acting user."""
from __future__ import annotations

import sqlalchemy as sa

from gmp_complaints.models import User


def note_person(session, user_id: int, *, username: str, printed_name: str) -> None:
    session.info.setdefault("people", {})[user_id] = {"id": user_id, "username": username,
                                                       "printed_name": printed_name}


def note_people(session, user_ids) -> None:
    """Read the people a view will name, in one statement, so that building it later needs none."""
    people = session.info.setdefault("people", {})
    wanted = {i for i in user_ids if i is not None and i not in people}
    if wanted:
        for row in session.execute(sa.select(User.id, User.username, User.printed_name).where(User.id.in_(wanted))):
            note_person(session, row.id, username=row.username, printed_name=row.printed_name)


def person(session, user_id: int | None) -> dict | None:
    """Three columns, not the account with its roles."""
    if user_id is None:
        return None
    if user_id not in session.info.get("people", {}):
        note_people(session, [user_id])
    return dict(session.info["people"][user_id])

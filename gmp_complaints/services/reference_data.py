"""Reference data that nearly every request reads — the working-day calendar, the time limits, the class
criteria — kept in the process between requests, and checked against the database in every transaction.

Every change to these tables is an audited act (the audit safety net refuses a commit without its event),
so the newest audit event of each reference entity names the data exactly: one small query per
transaction says whether the copy in memory is still the one in the database. Several processes and
nodes each keep their own copy; nothing assumes a single process. A transaction that itself changed
reference data (not yet committed) reads the tables directly.
"""
from __future__ import annotations

import threading
from typing import Callable, TypeVar

import sqlalchemy as sa

from audit.models import AuditEvent
from audit.tracking import PENDING

REFERENCE_TYPES = ("calendar", "configuration", "class_criteria")
T = TypeVar("T")

_copies: dict[tuple[str, str], tuple[tuple, object]] = {}
_lock = threading.Lock()


def fingerprint(session) -> tuple:
    """The newest audit event (index and leaf hash) of each kind of reference data, read once per
    transaction."""
    cached = session.info.get("reference_fingerprint")
    if cached is None:
        newest = [sa.select(sa.func.max(AuditEvent.log_index)).where(AuditEvent.entity_type == entity_type)
                  .scalar_subquery() for entity_type in REFERENCE_TYPES]
        rows = session.execute(sa.select(AuditEvent.entity_type, AuditEvent.log_index, AuditEvent.leaf_hash)
                               .where(AuditEvent.log_index.in_(newest))).all()
        cached = session.info["reference_fingerprint"] = tuple(sorted((t, i, bytes(h)) for t, i, h in rows))
    return cached


def fingerprint_columns() -> list:
    """The fingerprint as columns (newest index and its leaf hash per kind), for a statement the
    transaction runs anyway: the complaint load carries them, saving the check's own round trip."""
    columns = []
    for entity_type in REFERENCE_TYPES:
        newest = (sa.select(sa.func.max(AuditEvent.log_index)).where(AuditEvent.entity_type == entity_type)
                  .scalar_subquery())
        columns.append(newest.label(f"fingerprint_index_{entity_type}"))
        columns.append(sa.select(AuditEvent.leaf_hash).where(AuditEvent.log_index == newest).scalar_subquery()
                       .label(f"fingerprint_hash_{entity_type}"))
    return columns


def note_fingerprint(session, row) -> None:
    """Take the fingerprint from a row that carried ``fingerprint_columns()``, if none was read yet."""
    if "reference_fingerprint" in session.info:
        return
    values = row._mapping
    found = [(t, values[f"fingerprint_index_{t}"], values[f"fingerprint_hash_{t}"]) for t in REFERENCE_TYPES]
    session.info["reference_fingerprint"] = tuple(sorted((t, i, bytes(h)) for t, i, h in found if i is not None))


def _changed_here(session) -> bool:
    pending = session.info.get(PENDING) or {}
    return any(entity_type in REFERENCE_TYPES for entity_type, _ in pending)


def reference(session, name: str, load: Callable[[object], T]) -> T:
    """``load(session)``'s result, from the process's copy while the database still holds the same data."""
    if _changed_here(session):
        return load(session)
    key = (session.get_bind().url.render_as_string(hide_password=True), name)
    current = fingerprint(session)
    held = _copies.get(key)
    if held is not None and held[0] == current:
        return held[1]
    value = load(session)
    with _lock:
        _copies[key] = (current, value)
    return value

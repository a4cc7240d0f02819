"""Row-change tracking and the safety net.

Every flush notes, per audited entity, which columns changed and from what to what. The unit of
work attaches these diffs to the events the services recorded. A commit that would store a changed
audited row that no event accounts for fails (``before_commit``), whoever commits; ORM bulk
UPDATE/DELETE on audited tables is refused because it would bypass the tracking.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

PENDING = "gmp_audit_pending"
CLAIMED = "gmp_audit_claimed"
TX_ID = "gmp_tx_id"


class AuditSafetyNetError(RuntimeError):
    """A change to an audited row was about to be committed without an audit event."""


@dataclass(frozen=True)
class AuditSpec:
    entity_type: str
    #: columns never copied into the trail (secrets); their changes still need an event
    excluded: frozenset[str] = frozenset()
    #: for rows that belong to another entity (e.g. a user's roles): the owner's id; their changes
    #: are described by the owner's event, not diffed column by column
    owner_id: Callable[[object], object] | None = None
    #: the owner's field these rows make up, and each row's value in it (for the integrity check)
    owner_field: str | None = None
    owner_value: Callable[[object], object] | None = None


def audited(entity_type: str, excluded=(), owner_id=None, owner_field=None, owner_value=None):
    def mark(cls):
        cls.__audit__ = AuditSpec(entity_type, frozenset(excluded), owner_id, owner_field, owner_value)
        return cls

    return mark


@dataclass
class RowChange:
    entity_type: str
    entity_id: str
    changes: dict[str, list] = field(default_factory=dict)

    def merge(self, column: str, old, new) -> None:
        if column in self.changes:
            self.changes[column][1] = new  # keep the first old value, the last new one
        else:
            self.changes[column] = [old, new]


def _spec(obj) -> AuditSpec | None:
    return getattr(type(obj), "__audit__", None)


def _entity_key(obj, spec: AuditSpec) -> tuple[str, str]:
    if spec.owner_id is not None:
        return spec.entity_type, str(spec.owner_id(obj))
    # Not ``state.identity``: in after_flush a new row has its primary key but not yet its identity.
    identity = inspect(obj).mapper.primary_key_from_instance(obj)
    return spec.entity_type, ":".join(str(part) for part in identity)


def _column_values(obj, spec: AuditSpec):
    mapper = inspect(obj).mapper
    for column_attr in mapper.column_attrs:
        if column_attr.key not in spec.excluded:
            yield column_attr.key


def _note(session: Session, obj, spec: AuditSpec, kind: str) -> None:
    pending: dict = session.info.setdefault(PENDING, {})
    key = _entity_key(obj, spec)
    change = pending.setdefault(key, RowChange(*key))
    if spec.owner_id is not None:
        return  # the owner's event describes it; the row still has to be claimed
    state = inspect(obj)
    for name in _column_values(obj, spec):
        if kind == "new":
            change.merge(name, None, getattr(obj, name))
        elif kind == "deleted":
            change.merge(name, getattr(obj, name), None)
        else:
            history = state.attrs[name].history
            if history.added or history.deleted:
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                if old != new:
                    change.merge(name, old, new)


def _after_flush(session: Session, _flush_context) -> None:
    for kind, objects in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
        for obj in objects:
            spec = _spec(obj)
            if spec is None:
                continue
            if kind == "dirty" and not session.is_modified(obj, include_collections=False):
                continue
            _note(session, obj, spec, kind)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # releasing a savepoint: the events are claimed when the whole transaction commits
    session.flush()
    pending = session.info.get(PENDING, {})
    unclaimed = sorted(key for key in pending if key not in session.info.get(CLAIMED, set()))
    if unclaimed:
        names = ", ".join(f"{t}:{i}" for t, i in unclaimed)
        raise AuditSafetyNetError(f"audited rows changed without an audit event: {names}")


def _reset(session: Session, *_args) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(CLAIMED, None)
    session.info.pop(TX_ID, None)


def _after_begin(session: Session, _transaction, connection) -> None:
    """Give the transaction an id and, on PostgreSQL, the attribution the table triggers require."""
    tx_id = session.info.setdefault(TX_ID, str(uuid.uuid4()))
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT set_config('gmp.tx', :tx, true)"), {"tx": tx_id})


def _refuse_bulk_writes(orm_execute_state) -> None:
    if orm_execute_state.is_update or orm_execute_state.is_delete:
        mapper = orm_execute_state.bind_mapper
        if mapper is not None and getattr(mapper.class_, "__audit__", None) is not None:
            raise AuditSafetyNetError(
                f"bulk {'UPDATE' if orm_execute_state.is_update else 'DELETE'} on audited "
                f"{mapper.class_.__name__} would bypass the audit trail; change the objects instead")


def take_pending(session: Session) -> dict[tuple[str, str], RowChange]:
    return session.info.get(PENDING, {})


def claim(session: Session, key: tuple[str, str]) -> None:
    session.info.setdefault(CLAIMED, set()).add(key)


def transaction_id(session: Session) -> str:
    return session.info.setdefault(TX_ID, str(uuid.uuid4()))


def install(session_factory) -> None:
    """Attach tracking to every session the factory makes (idempotent).

    The mark lives on the factory itself: SQLAlchemy's ``event.contains`` keys on object ids, and a new
    factory at a recycled address could be taken for one already equipped.
    """
    if getattr(session_factory, "_gmp_audit_tracking", False):
        return
    session_factory._gmp_audit_tracking = True
    event.listen(session_factory, "after_flush", _after_flush)
    event.listen(session_factory, "before_commit", _before_commit)
    event.listen(session_factory, "after_commit", _reset)
    event.listen(session_factory, "after_rollback", _reset)
    event.listen(session_factory, "after_begin", _after_begin)
    event.listen(session_factory, "do_orm_execute", _refuse_bulk_writes)

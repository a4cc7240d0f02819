"""What happened, as facts the unit of work turns into audit events at commit.

Services append events; nothing else writes the audit trail, so there is exactly one emitter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    #: dotted verb, e.g. ``user.created``, ``user.login_failed``
    action: str
    #: e.g. ``user``
    entity_type: str
    entity_id: str | None
    #: ``{field: [old, new]}``; secrets (hashes, tokens) never appear here
    changes: dict[str, list[Any]] = field(default_factory=dict)
    reason: str | None = None
    #: the acting user; None for the system or an anonymous attempt
    actor_id: int | None = None
    #: client address for security events (AT-09)
    source_ip: str | None = None
    #: the change-control record a configuration change is made under (AT-10; required for those actions)
    change_control_ref: str | None = None

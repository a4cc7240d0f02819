"""The periodic review report (issue 18; AT-08, VAL-06; Annex 11 §11): what QA reviews of the system itself over a
period — who has access and what changed in it, configuration changes, the audit-trail reviews before closure,
incidents (failed log-ins, lock-outs, refused access and signatures, storage or integrity differences) — and the
latest signed checkpoint with the public keys, to be kept outside the database."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date

import sqlalchemy as sa

from audit.keys import public_keys
from audit.models import AuditCheckpoint, AuditEvent
from audit.service import day_bounds
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.models import SignatureRow, User
from gmp_complaints.uow import UnitOfWork

#: what counts as a change of the system's configuration or of who may do what
CONFIGURATION_ACTIONS = ("configuration.", "calendar.", "class_criteria.", "recall_clock.", "adr_clock.",
                         "product.markets_changed",
                         "user.roles_changed", "user.created",
                         "user.deactivated", "user.identity_verified", "user.password_reset", "user.unlocked",
                         "user.email_changed", "audit.key_rotated",
                         # SEC-04: each change of access as requested (who, why) and as decided (who approved)
                         "access_request.requested", "access_request.approved", "access_request.rejected")
INCIDENT_ACTIONS = ("user.login_failed", "user.locked", "user.login_refused_locked", "user.access_refused",
                    "signature.refused", "security.alert_raised", "user.login_refused_service",
                    "access_request.decision_refused")


def _change_control_ref(event: AuditEvent) -> str | None:
    """AT-10: the change-control reference the event keeps (a disposed event's body is gone: none)."""
    if not event.canonical:
        return None
    pair = (json.loads(event.canonical).get("changes") or {}).get("change_control_ref")
    return pair[1] if isinstance(pair, list) and len(pair) == 2 else None


def periodic_review(uow: UnitOfWork, *, date_from: date, date_to: date, actor_id: int | None = None) -> dict:
    """The report of ``date_from`` … ``date_to`` (site days, inclusive); its SHA-256 goes to the audit trail."""
    if date_to < date_from:
        raise ValidationError(Msg("Wrong period."), {"to": [Msg("The end of the period is before its start.")]})
    with uow:
        session = uow.session
        tz = uow.settings.site_timezone
        start, end = day_bounds(date_from, tz), day_bounds(date_to, tz, end=True)
        in_period = (AuditEvent.occurred_at >= start, AuditEvent.occurred_at < end)
        users = [{"username": u.username, "printed_name": u.printed_name, "roles": sorted(r.value for r in u.roles),
                  "active": u.is_active, "locked": u.locked_at is not None,
                  "identity_verified": u.identity_verified_at is not None,
                  "statement_accepted": u.esignature_accepted_at is not None,
                  "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
                  "account_type": u.account_type}
                 for u in session.scalars(sa.select(User).order_by(User.username))]
        changes = [{"index": e.log_index, "occurred_at": e.occurred_at.isoformat(), "actor": e.actor_name,
                    "action": e.action, "record": f"{e.entity_type}:{e.entity_id}" if e.entity_id else e.entity_type,
                    "reason": e.reason, "change_control_ref": _change_control_ref(e)}
                   for e in session.scalars(sa.select(AuditEvent).where(
                       *in_period, sa.or_(*[AuditEvent.action.startswith(a) if a.endswith(".") else AuditEvent.action == a
                                            for a in CONFIGURATION_ACTIONS])).order_by(AuditEvent.log_index))]
        incidents = Counter(dict(session.execute(sa.select(AuditEvent.action, sa.func.count()).where(
            *in_period, AuditEvent.action.in_(INCIDENT_ACTIONS)).group_by(AuditEvent.action)).all()))
        checks = [json.loads(c) if c else {} for c in session.scalars(sa.select(AuditEvent.canonical).where(
            *in_period, AuditEvent.action.in_(("storage.verified", "audit.integrity_checked"))))]
        differences = sum(((c.get("changes") or {}).get("differences") or [None, 0])[1] or 0 for c in checks)
        closures = session.scalar(sa.select(sa.func.count()).where(*in_period, AuditEvent.action == "complaint.close"))
        reviews = session.scalar(sa.select(sa.func.count()).select_from(SignatureRow).where(
            SignatureRow.step == "audit_trail_review", SignatureRow.signed_at >= start, SignatureRow.signed_at < end))
        checkpoint = session.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)).first()
        keys = public_keys(session)
        report = {
            "period": {"from": date_from.isoformat(), "to": date_to.isoformat()},
            "user_access": {"users": users, "active": sum(u["active"] for u in users),
                            "without_identity_verification": [u["username"] for u in users
                                                              if u["active"] and not u["identity_verified"]
                                                              and u["account_type"] == "person"],
                            # SEC-01: the system integrations' accounts (master data through the API only)
                            "service_accounts": [u["username"] for u in users if u["account_type"] == "service"]},
            "configuration_changes": changes,
            "audit_trail_reviews": {"closures": closures, "signed_reviews": reviews},
            "incidents": {**{action: incidents.get(action, 0) for action in INCIDENT_ACTIONS},
                          "verification_runs": len(checks), "verification_differences": differences},
            "log": {"checkpoint_tree_size": checkpoint.tree_size if checkpoint else 0,
                    "checkpoint_root_hash": checkpoint.root_hash.hex() if checkpoint else None,
                    "checkpoint": checkpoint.signed_note if checkpoint else None,
                    "keys_sha256": hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest(),
                    "keys": keys},
        }
        digest = hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()
        uow.record(DomainEvent("review.periodic_report", "audit", None, {
            "period_from": [None, date_from.isoformat()], "period_to": [None, date_to.isoformat()],
            "result_sha256": [None, digest]}, actor_id=actor_id))
        uow.commit()
        return {**report, "sha256": digest}

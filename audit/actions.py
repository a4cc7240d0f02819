"""Every audit action the application may write, with its kind and its plain-language label.

An action not listed here cannot be recorded: the unit of work refuses it. Labels are shown to
auditors in the page language; field labels name fields without table or column names.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gmp_complaints.domain.errors import Msg


class ActionKind(StrEnum):
    create = "create"
    #: a change to data already recorded: a reason is required (21 CFR 11.10(e), 58.130(e))
    change = "change"
    security = "security"
    export = "export"
    system = "system"


@dataclass(frozen=True)
class ActionSpec:
    kind: ActionKind
    label: Msg


ACTIONS: dict[str, ActionSpec] = {
    "user.created": ActionSpec(ActionKind.create, Msg("User account created")),
    "user.roles_changed": ActionSpec(ActionKind.change, Msg("Roles changed")),
    "user.deactivated": ActionSpec(ActionKind.change, Msg("User account deactivated")),
    "user.unlocked": ActionSpec(ActionKind.change, Msg("Account unlocked")),
    "user.password_reset": ActionSpec(ActionKind.change, Msg("Password reset by an administrator")),
    "user.identity_verified": ActionSpec(ActionKind.change, Msg("Identity verification recorded")),
    "user.logged_in": ActionSpec(ActionKind.security, Msg("Logged in")),
    "user.logged_out": ActionSpec(ActionKind.security, Msg("Logged out")),
    "user.login_failed": ActionSpec(ActionKind.security, Msg("Failed log-in")),
    "user.login_refused_locked": ActionSpec(ActionKind.security, Msg("Log-in refused: account locked")),
    "user.locked": ActionSpec(ActionKind.security, Msg("Account locked after repeated failures")),
    "user.password_changed": ActionSpec(ActionKind.security, Msg("Password changed")),
    "user.session_unlocked": ActionSpec(ActionKind.security, Msg("Idle session unlocked")),
    "user.esignature_statement_accepted": ActionSpec(
        ActionKind.security, Msg("E-signature accountability statement accepted")),
    "product.created": ActionSpec(ActionKind.create, Msg("Product created")),
    "batch.created": ActionSpec(ActionKind.create, Msg("Batch created")),
    "distribution.created": ActionSpec(ActionKind.create, Msg("Distribution record created")),
    "complaint.registered": ActionSpec(ActionKind.create, Msg("Complaint registered")),
    "complaint.acknowledge": ActionSpec(ActionKind.create, Msg("Initial feedback recorded")),
    "complaint.validity": ActionSpec(ActionKind.create, Msg("Validity decided")),
    "complaint.classify": ActionSpec(ActionKind.create, Msg("Complaint classified and numbered")),
    "complaint.investigate": ActionSpec(ActionKind.create, Msg("Investigation recorded")),
    "complaint.assess": ActionSpec(ActionKind.create, Msg("Complaint assessed")),
    "complaint.reply": ActionSpec(ActionKind.create, Msg("Reply sent")),
    "complaint.customer_response": ActionSpec(ActionKind.create, Msg("Customer response recorded")),
    "complaint.remind": ActionSpec(ActionKind.create, Msg("Customer reminded")),
    "complaint.no_response_closure_pending": ActionSpec(
        ActionKind.system, Msg("No customer response: closure pending")),
    "complaint.regrade": ActionSpec(ActionKind.change, Msg("Complaint regraded")),
    "complaint_reply.created": ActionSpec(ActionKind.create, Msg("Reply report recorded")),
    "customer_response.created": ActionSpec(ActionKind.create, Msg("Customer response recorded")),
    "customer_reminder.created": ActionSpec(ActionKind.create, Msg("Reminder letter recorded")),
    "attachment.added": ActionSpec(ActionKind.create, Msg("Attachment added")),
    "transfer.recorded": ActionSpec(ActionKind.create, Msg("Data transfer recorded")),
    "calendar.notice_loaded": ActionSpec(ActionKind.change, Msg("Official holiday notice loaded")),
    "calendar.seeded": ActionSpec(ActionKind.create, Msg("Working-day calendar loaded")),
    "class_criteria.published": ActionSpec(ActionKind.create, Msg("Class criteria version published")),
    "configuration.time_limits_seeded": ActionSpec(ActionKind.create, Msg("Default time limits loaded")),
    "configuration.time_limit_changed": ActionSpec(ActionKind.change, Msg("Time limit changed")),
    "complaint.assigned": ActionSpec(ActionKind.change, Msg("Complaint owner or investigator assigned")),
    "complaint.batches_changed": ActionSpec(ActionKind.change, Msg("Batches of the complaint changed")),
    "complaint.delete_refused": ActionSpec(ActionKind.security, Msg("Deletion refused (retention)")),
    "attachment.delete_refused": ActionSpec(ActionKind.security, Msg("Deletion refused (retention)")),
    "deadline_extension.requested": ActionSpec(ActionKind.create, Msg("Deadline extension requested")),
    "quarantine_request.created": ActionSpec(ActionKind.create, Msg("Quarantine of stock requested")),
    "quarantine_request.answered": ActionSpec(ActionKind.create, Msg("Quarantine request answered by the warehouse")),
    "escalation.created": ActionSpec(ActionKind.system, Msg("Overdue item escalated to the head of quality")),
    "outbox_message.queued": ActionSpec(ActionKind.system, Msg("E-mail queued")),
    "outbox_message.sent": ActionSpec(ActionKind.system, Msg("E-mail sent")),
    "outbox_message.failed": ActionSpec(ActionKind.system, Msg("E-mail delivery failed (will retry)")),
    "user.reauthenticated": ActionSpec(ActionKind.security, Msg("Re-authenticated to sign")),
    "signature.signed": ActionSpec(ActionKind.create, Msg("Electronic signature")),
    "signature.refused": ActionSpec(ActionKind.security, Msg("Signature refused")),
    "complaint.void": ActionSpec(ActionKind.change, Msg("Complaint voided")),
    "complaint.close": ActionSpec(ActionKind.create, Msg("Complaint closed")),
    "complaint.follow_up_opened": ActionSpec(ActionKind.create, Msg("Follow-up opened after closure")),
    "deadline_extension.approved": ActionSpec(ActionKind.create, Msg("Deadline extension approved")),
    "audit.exported": ActionSpec(ActionKind.export, Msg("Audit trail exported")),
    "audit.csv_exported": ActionSpec(ActionKind.export, Msg("Audit trail exported as CSV")),
    "audit.users_exported": ActionSpec(ActionKind.export, Msg("List of authorised users exported")),
    "audit.key_registered": ActionSpec(ActionKind.system, Msg("Audit signing key registered")),
    "audit.integrity_checked": ActionSpec(ActionKind.system, Msg("Integrity check run")),
}

ENTITY_LABELS: dict[str, Msg] = {
    "user": Msg("User account"),
    "audit": Msg("Audit trail"),
    "signing_key": Msg("Signing key"),
    "product": Msg("Product"),
    "batch": Msg("Batch"),
    "distribution": Msg("Distribution record"),
    "complaint": Msg("Complaint"),
    "complaint_reply": Msg("Reply"),
    "customer_response": Msg("Customer response"),
    "customer_reminder": Msg("Reminder"),
    "calendar": Msg("Working-day calendar"),
    "transfer": Msg("Data transfer"),
    "attachment": Msg("Attachment"),
    "class_criteria": Msg("Class criteria"),
    "configuration": Msg("Configuration"),
    "deadline_extension": Msg("Deadline extension"),
    "quarantine_request": Msg("Quarantine request"),
    "escalation": Msg("Escalation"),
    "outbox_message": Msg("E-mail"),
    "signature": Msg("Electronic signature"),
}

FIELD_LABELS: dict[str, Msg] = {
    "id": Msg("ID"),
    "username": Msg("User name"),
    "printed_name": Msg("Printed name"),
    "roles": Msg("Roles"),
    "is_active": Msg("Active"),
    "deactivated_at": Msg("Deactivated at"),
    "locked": Msg("Locked"),
    "locked_at": Msg("Locked at"),
    "failed_login_count": Msg("Failed log-ins in a row"),
    "password_is_temporary": Msg("Temporary password"),
    "temporary_password_expires_at": Msg("Temporary password expires"),
    "password_changed_at": Msg("Password changed at"),
    "identity_verified": Msg("Identity verified"),
    "identity_verified_at": Msg("Identity verified at"),
    "identity_verified_by_id": Msg("Identity verified by"),
    "esignature_accepted": Msg("E-signature statement accepted"),
    "esignature_accepted_at": Msg("E-signature statement accepted at"),
    "is_demo": Msg("Demo record"),
    "last_login_at": Msg("Last log-in"),
    "created_at": Msg("Created at"),
    "created_by_id": Msg("Created by"),
    "via": Msg("Channel"),
    "scope": Msg("Scope"),
    "file_sha256": Msg("File SHA-256"),
    "event_count": Msg("Number of events"),
    "key_id": Msg("Key ID"),
    "name": Msg("Key name"),
    "differences": Msg("Differences found"),
    "criteria": Msg("Criteria"),
    "effective_from": Msg("Effective from"),
    "time_limits": Msg("Time limits"),
    "owner_id": Msg("Complaint administrator"),
    "investigator_id": Msg("Investigator"),
    "class_criteria": Msg("Class criteria"),
    "investigation_checklist": Msg("Investigation checklist"),
    "batch_ids": Msg("Batches"),
    "retention_until": Msg("Retained until"),
    "status": Msg("Status"),
    "record": Msg("Record"),
    "record_number": Msg("Record number"),
    "record_version": Msg("Record version"),
    "record_hash": Msg("Record SHA-256"),
    "step": Msg("Step"),
    "meaning": Msg("Meaning"),
    "signed_role": Msg("Signed as"),
    "subject": Msg("Approved item"),
    "comment": Msg("Comment"),
    "refusal": Msg("Refusal"),
    "closed_on": Msg("Closed on"),
    "follow_up_of_id": Msg("Follow-up of"),
}


def action_spec(action: str) -> ActionSpec:
    spec = ACTIONS.get(action)
    if spec is None:
        raise KeyError(f"audit action {action!r} is not registered in audit.actions.ACTIONS")
    return spec

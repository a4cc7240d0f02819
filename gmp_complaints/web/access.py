"""The authorisation matrix: which roles may reach which endpoint. Data, in one place.

Every registered endpoint must appear here; one that does not is refused (fail closed), and a test
walks every route with every role against this table.
"""
from __future__ import annotations

from dataclasses import dataclass

from gmp_complaints.domain.adr import ROLES_ANSWERING_PV
from gmp_complaints.domain.roles import SIGNING_ROLES, Role


@dataclass(frozen=True)
class Access:
    #: roles allowed; ``None`` with ``public`` means no log-in at all
    roles: frozenset[Role] | None
    public: bool = False
    #: reachable while the password must still be changed (temporary or expired)
    during_password_change: bool = False
    #: reachable while the browser session is idle-locked
    while_idle_locked: bool = False
    #: reachable by a service account (SEC-01): the calls a system integration needs (master data), nothing else
    integration: bool = False


ALL_ROLES = frozenset(Role)
ADMIN = frozenset({Role.admin})
# GMP records: read by everyone in the process and the inspector; the administrator never sees them.
GMP_READERS = ALL_ROLES - {Role.admin}
# The complaint administrator's steps (DESIGN §1 qa_officer); the QA head may act for the office.
QA_OFFICE = frozenset({Role.qa_officer, Role.qa_head})
# Registration and customer communication: sales (intake) and QA.
INTAKE_DESK = frozenset({Role.intake, Role.qa_officer, Role.qa_head})
# Investigation findings: the departments concerned and QA; never sales (EU GMP 8.1).
INVESTIGATORS = frozenset({Role.investigator, Role.qa_officer, Role.qa_head})
# Everyone who works a complaint may add a file to it (photos, spectra, letters).
COMPLAINT_WORKERS = INTAKE_DESK | INVESTIGATORS
#: who records each complaint step, in the API and on the complaint page alike
COMPLAINT_STEP_ROLES = {
    "acknowledge": INTAKE_DESK,
    "record_validity": QA_OFFICE,
    "classify": QA_OFFICE,
    "investigate": INVESTIGATORS,
    # REC-11: the decision whether the investigation extends to other batches or products, after it was recorded
    "decide_other_batches": INVESTIGATORS,
    "assess": QA_OFFICE,
    # SOP 5.6.1: QA forms the reply report; sales reply to the customer (and QA may record it for them)
    "draft_reply_report": QA_OFFICE,
    "reply": INTAKE_DESK,
    "record_customer_response": INTAKE_DESK,
    "record_reminder": QA_OFFICE,
    "regrade": QA_OFFICE,
    "assign": QA_OFFICE,
    "change_batches": QA_OFFICE,
    "request_extension": INVESTIGATORS,
    "request_void": QA_OFFICE,
    "open_follow_up": INTAKE_DESK,
    # WF-02: the head of quality's signed determination of a possible failure to meet specification
    "determine_spec_failure": frozenset({Role.qa_head}),
    # REC-02: QA marks an item of the complaint file not known, with the reason
    "mark_not_known": QA_OFFICE,
}
QA_HEAD = frozenset({Role.qa_head})
# Who reads the access requests and the security alerts: the administrators, the head of quality, the inspector.
ACCESS_WATCHERS = frozenset({Role.admin, Role.qa_head, Role.auditor})
# Who runs a decided recall (DESIGN §1): the recall coordinator, and QA who may act for them.
RECALL_RUNNERS = frozenset({Role.recall_coordinator, Role.qa_officer, Role.qa_head})
# The pharmacovigilance hand-off: handed over by whoever receives or classifies the complaint, and PV.
ADR_HANDERS = frozenset({Role.intake, Role.qa_officer, Role.qa_head, Role.pv_officer})
PV = frozenset({Role.pv_officer})
# Who reads an ADR case in clear (domain.adr.ROLES_SEEING_CASE): PV and the people who receive and handle
# the complaint.
ADR_CASE_READERS = frozenset({Role.pv_officer, Role.intake, Role.qa_officer, Role.qa_head})
# Who answers PV's request for a batch-quality investigation: the complaint's investigation side.
PV_ANSWERERS = ROLES_ANSWERING_PV
# Who records what was sent to an authority: regulatory affairs, PV, QA and the recall coordinator.
REGISTER_KEEPERS = RECALL_RUNNERS | {Role.regulatory_affairs, Role.pv_officer}
# Who reads audit trails; what each sees is narrowed by domain.audit_access.visible_entity_types.
AUDIT_READERS = frozenset({Role.auditor, Role.admin, Role.qa_head, Role.qa_officer, Role.qp})
# A complaint's own audit trail (its review before closure): GMP records, so never the administrator.
AUDIT_REVIEWERS = AUDIT_READERS - {Role.admin}

# Who reads the delivery log of the notices and the responsible officials (WF-11): QA, the administrator who keeps
# the list and the mail server, the inspector.
NOTICE_WATCHERS = frozenset({Role.admin, Role.qa_officer, Role.qa_head, Role.auditor})
PUBLIC = Access(None, public=True)
SIGNED_IN_ANY_STATE = Access(ALL_ROLES, during_password_change=True, while_idle_locked=True)

ROUTE_ACCESS: dict[str, Access] = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.set_language": PUBLIC,
    "auth.logout": SIGNED_IN_ANY_STATE,
    "auth.lock": Access(ALL_ROLES, while_idle_locked=True),
    "auth.change_password": Access(ALL_ROLES, during_password_change=True),
    "main.dashboard": Access(ALL_ROLES),
    # Everyone reads their own notices (the administrators theirs: security alerts, SEC-06).
    "main.notice_list": Access(ALL_ROLES),
    "main.notices_read": Access(ALL_ROLES),
    "api_v1.my_notices": Access(ALL_ROLES),
    # WF-10: the person told acknowledges their own notice (the service refuses anyone else's).
    "main.acknowledge_notice": Access(ALL_ROLES),
    "api_v1.acknowledge_notice": Access(ALL_ROLES),
    # WF-11: the delivery log of the notices, for QA, the administrator and the inspector; the responsible
    # officials are configuration the administrator keeps.
    "main.notice_delivery": Access(NOTICE_WATCHERS),
    "api_v1.notice_delivery": Access(NOTICE_WATCHERS),
    "admin.responsible_officials": Access(ADMIN),
    "api_v1.responsible_official_list": Access(NOTICE_WATCHERS | {Role.qp}),
    "api_v1.set_responsible_officials": Access(ADMIN),
    # SEC-04: the administrator requests a change of access, the head of quality decides it; auditors read.
    "security.access_requests": Access(ACCESS_WATCHERS),
    "security.decide_access_request": Access(QA_HEAD),
    "api_v1.access_requests": Access(ACCESS_WATCHERS),
    "api_v1.request_access_change": Access(ADMIN),
    "api_v1.decide_access_request": Access(QA_HEAD),
    # SEC-06: alerts on repeated failed log-ins or signings, for the security unit, QA and the inspector.
    "security.alerts": Access(ACCESS_WATCHERS),
    "api_v1.security_alerts": Access(ACCESS_WATCHERS),
    "account.esignature_statement": Access(SIGNING_ROLES),
    "admin.users": Access(ADMIN),
    "admin.users_csv": Access(ADMIN),
    "admin.new_user": Access(ADMIN),
    "admin.user": Access(ADMIN),
    "admin.change_roles": Access(ADMIN),
    "admin.change_email": Access(ADMIN),
    "admin.deactivate": Access(ADMIN),
    "admin.unlock": Access(ADMIN),
    "admin.reset_password": Access(ADMIN),
    "admin.verify_identity": Access(ADMIN),
    "admin.calendar": Access(ADMIN),
    # HO-01: the ADR reporting clocks are master data the administrator keeps; everyone may read them
    "admin.adr_clocks": Access(ADMIN),
    "api_v1.adr_clock_list": Access(ALL_ROLES),
    "api_v1.change_adr_clock": Access(ADMIN),
    # WF-05: due dates kept on an earlier calendar are read by the process and recalculated by QA
    "complaints.due_dates": Access(GMP_READERS),
    "complaints.recalculate_due_dates": Access(QA_OFFICE),
    "complaints.recalculate_complaint_due_dates": Access(QA_OFFICE),
    "api_v1.deadline_recalculations": Access(GMP_READERS),
    "api_v1.recalculate_deadlines": Access(QA_OFFICE),
    "api_v1.complaint_deadline_recalculation": Access(QA_OFFICE),
    "audit_trail.events": Access(AUDIT_READERS),
    "audit_trail.events_csv": Access(AUDIT_READERS),
    "audit_trail.export_bundle": Access(AUDIT_READERS),
    "api_v1.audit_events": Access(AUDIT_READERS),
    "api_v1.create_product": Access(QA_OFFICE, integration=True),
    "api_v1.change_product_markets": Access(QA_OFFICE),
    "api_v1.create_batch": Access(QA_OFFICE, integration=True),
    "api_v1.create_distribution": Access(QA_OFFICE, integration=True),
    "api_v1.batch": Access(GMP_READERS),
    "api_v1.register_complaint": Access(INTAKE_DESK),
    "api_v1.complaint": Access(GMP_READERS),
    **{f"api_v1.complaint_{step}": Access(roles) for step, roles in COMPLAINT_STEP_ROLES.items()},
    **{f"complaints.step_{step}": Access(roles) for step, roles in COMPLAINT_STEP_ROLES.items()},
    "api_v1.request_quarantine": Access(INVESTIGATORS),
    "api_v1.answer_quarantine": Access(INVESTIGATORS),
    "complaints.request_quarantine": Access(INVESTIGATORS),
    "complaints.answer_quarantine": Access(INVESTIGATORS),
    "api_v1.audit_review": Access(AUDIT_REVIEWERS),
    "complaints.audit_review": Access(AUDIT_REVIEWERS),
    "api_v1.sign_complaint": Access(SIGNING_ROLES),
    "api_v1.close_complaint": Access(frozenset({Role.qa_head})),
    "api_v1.change_retention": Access(frozenset({Role.qa_head})),
    "api_v1.place_legal_hold": Access(QA_HEAD),
    "api_v1.dispose_complaint": Access(QA_HEAD),
    "api_v1.legacy_import": Access(QA_HEAD),
    "api_v1.disposal_due": Access(QA_HEAD),
    "api_v1.release_legal_hold": Access(QA_HEAD),
    "complaints.legal_hold": Access(QA_HEAD),
    "complaints.dispose": Access(QA_HEAD),
    "complaints.disposal_due": Access(QA_HEAD),
    "jobs.start_disposals": Access(QA_HEAD),
    "api_v1.disposal_batch": Access(QA_HEAD),
    "complaints.change_retention": Access(frozenset({Role.qa_head})),
    "api_v1.waiting_for_signature": Access(SIGNING_ROLES),
    "complaints.sign": Access(SIGNING_ROLES),
    "complaints.close": Access(frozenset({Role.qa_head})),
    "complaints.waiting": Access(SIGNING_ROLES),
    "api_v1.create_capa": Access(QA_OFFICE),
    "api_v1.capas": Access(GMP_READERS),
    "api_v1.my_capa_actions": Access(GMP_READERS),
    "api_v1.capa": Access(GMP_READERS),
    "api_v1.link_capa_complaint": Access(QA_OFFICE),
    "api_v1.link_capa_source": Access(QA_OFFICE),
    "api_v1.link_capa_follow_up": Access(QA_OFFICE),
    "api_v1.capa_plan_details": Access(QA_OFFICE),
    "api_v1.capa_effectiveness_waiver": Access(QA_HEAD),
    "api_v1.capa_escalation": Access(QA_HEAD),
    "api_v1.add_capa_action": Access(QA_OFFICE),
    "api_v1.add_capa_evidence": Access(INVESTIGATORS),
    "api_v1.capa_evidence": Access(GMP_READERS),
    "api_v1.capa_record_implementation": Access(INVESTIGATORS),
    "api_v1.capa_request_due_date_change": Access(INVESTIGATORS),
    "api_v1.capa_approve_implementation": Access(QA_HEAD),
    "api_v1.capa_approve_due_date_change": Access(QA_HEAD),
    "api_v1.capa_effectiveness": Access(QA_HEAD),
    "api_v1.capa_plan_approval": Access(QA_HEAD),
    "api_v1.capa_closure": Access(QA_HEAD),
    "api_v1.propose_recall": Access(RECALL_RUNNERS),
    # HO-05: who proposes, and regulatory affairs (who know what each market requires)
    "api_v1.recall_market_actions": Access(RECALL_RUNNERS | {Role.regulatory_affairs}),
    "recalls.market_actions": Access(RECALL_RUNNERS | {Role.regulatory_affairs}),
    "api_v1.list_recalls": Access(GMP_READERS),
    "api_v1.recall": Access(GMP_READERS),
    "api_v1.recall_consignees": Access(GMP_READERS),
    "api_v1.sign_recall": Access(SIGNING_ROLES),
    "api_v1.recall_reconciliation": Access(RECALL_RUNNERS),
    "api_v1.complete_recall": Access(RECALL_RUNNERS),
    "api_v1.cancel_recall": Access(QA_HEAD),
    "api_v1.dispose_recall_batch": Access(QA_HEAD),
    "api_v1.choose_effectiveness_check": Access(RECALL_RUNNERS),
    "api_v1.record_effectiveness_contact": Access(RECALL_RUNNERS),
    "api_v1.list_notifications": Access(GMP_READERS),
    "api_v1.notification_sent": Access(REGISTER_KEEPERS),
    "api_v1.notification_copy": Access(REGISTER_KEEPERS),
    "api_v1.notification_copy_file": Access(GMP_READERS),
    "recalls.register_notification_copy": Access(REGISTER_KEEPERS),
    "api_v1.complaint_follow_up_call": Access(INTAKE_DESK),
    "api_v1.complaint_compensation": Access(INTAKE_DESK),
    "api_v1.complaint_compensation_decision": Access(SIGNING_ROLES),
    "api_v1.compensation_authorities": Access(ADMIN | QA_OFFICE | frozenset({Role.auditor})),
    "api_v1.set_compensation_authority": Access(ADMIN),
    "api_v1.change_compensation_limit": Access(ADMIN),
    "complaints.compensation": Access(INTAKE_DESK),
    "complaints.compensation_decision": Access(SIGNING_ROLES),
    "complaints.follow_up_call": Access(INTAKE_DESK),
    "api_v1.complaint_adr_hand_off": Access(ADR_HANDERS),
    "complaints.adr_hand_off": Access(ADR_HANDERS),
    "complaints.adr_elements": Access(ADR_HANDERS),
    "complaints.adr_acceptance": Access(PV),
    "complaints.adr_submission": Access(PV),
    "api_v1.complaint_adr_elements": Access(ADR_HANDERS),
    "api_v1.complaint_adr_acceptance": Access(PV),
    "api_v1.complaint_adr_packet": Access(ADR_CASE_READERS),
    "api_v1.complaint_adr_packet_pdf": Access(ADR_CASE_READERS),
    "api_v1.complaint_adr_submission": Access(PV),
    "api_v1.complaint_adr_e2b": Access(ADR_CASE_READERS),
    "api_v1.trend_report": Access(GMP_READERS),
    "api_v1.trend_reviews_list": Access(GMP_READERS),
    "api_v1.product_annual_review": Access(GMP_READERS),
    "api_v1.quarterly_reviews_list": Access(GMP_READERS),
    "api_v1.quarterly_review": Access(GMP_READERS),
    "api_v1.quarterly_review_report": Access(GMP_READERS),
    "api_v1.quarterly_review_prepare": Access(QA_OFFICE),
    "api_v1.quarterly_review_approval": Access(QA_HEAD),
    "api_v1.trend_review": Access(GMP_READERS),
    "api_v1.trend_review_evaluation": Access(QA_HEAD),
    "trends.reviews": Access(GMP_READERS),
    "trends.review_evaluation": Access(QA_HEAD),
    "trends.index": Access(GMP_READERS),
    "api_v1.trend_rules": Access(GMP_READERS),
    "api_v1.change_trend_rules": Access(QA_HEAD),
    "api_v1.complaint_adr_investigation_request": Access(PV),
    "api_v1.complaint_adr_investigation_answer": Access(PV_ANSWERERS),
    "complaints.adr_investigation_request": Access(PV),
    "complaints.adr_investigation_answer": Access(PV_ANSWERERS),
    "api_v1.receive_return": Access(INVESTIGATORS),
    "api_v1.list_returns": Access(GMP_READERS),
    "api_v1.returned_goods": Access(GMP_READERS),
    "api_v1.evaluate_return": Access(QA_OFFICE),
    "api_v1.dispose_return": Access(QA_HEAD),
    "api_v1.recall_clocks": Access(ALL_ROLES),
    "api_v1.change_recall_clock": Access(ADMIN),
    "returns.index": Access(GMP_READERS),
    "returns.new": Access(INVESTIGATORS),
    "returns.show": Access(GMP_READERS),
    "returns.evaluate": Access(QA_OFFICE),
    "returns.dispose": Access(QA_HEAD),
    "recalls.index": Access(GMP_READERS),
    "recalls.notifications_page": Access(GMP_READERS),
    "recalls.notifications_csv": Access(GMP_READERS),
    "recalls.new": Access(RECALL_RUNNERS),
    "recalls.show": Access(GMP_READERS),
    "recalls.consignees": Access(GMP_READERS),
    "recalls.sign": Access(SIGNING_ROLES),
    "recalls.reconcile": Access(RECALL_RUNNERS),
    "recalls.complete": Access(RECALL_RUNNERS),
    "recalls.cancel": Access(QA_HEAD),
    "recalls.dispose_batch": Access(QA_HEAD),
    "recalls.effectiveness_check": Access(RECALL_RUNNERS),
    "recalls.effectiveness_contact": Access(RECALL_RUNNERS),

    "recalls.notification_sent": Access(RECALL_RUNNERS),
    "recalls.register_notification_sent": Access(REGISTER_KEEPERS),
    "documents.complaint_document": Access(GMP_READERS),
    "documents.capa_document": Access(GMP_READERS),
    "documents.blank_form": Access(GMP_READERS),
    "documents.recall_report": Access(GMP_READERS),
    "documents.recall_notice": Access(RECALL_RUNNERS),
    "documents.recall_consignees_file": Access(GMP_READERS),
    "api_v1.recall_notice": Access(RECALL_RUNNERS),
    "api_v1.recall_notice_sent": Access(RECALL_RUNNERS),
    "api_v1.recall_notice_email": Access(RECALL_RUNNERS),
    "recalls.notice_email": Access(RECALL_RUNNERS),
    "recalls.notice_sent": Access(RECALL_RUNNERS),
    "documents.complaint_archive": Access(AUDIT_REVIEWERS),
    "documents.ledger_page": Access(GMP_READERS),
    "jobs.start_archives": Access(AUDIT_REVIEWERS),
    # which kind of job each role may watch is checked per job (web.jobs.WATCHERS)
    "jobs.show": Access(AUDIT_REVIEWERS | RECALL_RUNNERS),
    "jobs.progress": Access(AUDIT_REVIEWERS | RECALL_RUNNERS),
    "jobs.result": Access(AUDIT_REVIEWERS | RECALL_RUNNERS),
    "recalls.notice_pack": Access(RECALL_RUNNERS),
    "documents.ledger_file": Access(GMP_READERS),
    "api_v1.ledger": Access(GMP_READERS),
    "capa.index": Access(GMP_READERS),
    "capa.new": Access(QA_OFFICE),
    "capa.show": Access(GMP_READERS),
    "capa.add_action": Access(QA_OFFICE),
    "capa.link_complaint": Access(QA_OFFICE),
    "capa.link_source": Access(QA_OFFICE),
    "capa.link_follow_up": Access(QA_OFFICE),
    "capa.plan_details": Access(QA_OFFICE),
    "capa.effectiveness_waiver": Access(QA_HEAD),
    "capa.escalation": Access(QA_HEAD),
    "capa.action_form": Access(INVESTIGATORS),
    "capa.add_evidence": Access(INVESTIGATORS),
    "capa.evidence": Access(GMP_READERS),
    "capa.effectiveness": Access(QA_HEAD),
    "capa.plan_approval": Access(QA_HEAD),
    "capa.closure": Access(QA_HEAD),
    "api_v1.delete_complaint": Access(COMPLAINT_WORKERS),
    "api_v1.delete_attachment": Access(COMPLAINT_WORKERS),
    "api_v1.dashboard": Access(GMP_READERS),
    "api_v1.class_criteria": Access(ALL_ROLES),
    "api_v1.publish_class_criteria": Access(frozenset({Role.qa_head})),
    "api_v1.time_limits": Access(ALL_ROLES),
    "api_v1.change_time_limit": Access(ADMIN),
    "admin.time_limits": Access(ADMIN),
    "api_v1.add_attachment": Access(COMPLAINT_WORKERS),
    "api_v1.attachment": Access(GMP_READERS),
    "attachments.upload": Access(COMPLAINT_WORKERS),
    "attachments.download": Access(GMP_READERS),
    "master_data.import_csv": Access(QA_OFFICE),
    "master_data.batch": Access(GMP_READERS),
    "complaints.dashboard": Access(GMP_READERS),
    "complaints.index": Access(GMP_READERS),
    "complaints.new": Access(INTAKE_DESK),
    "complaints.show": Access(GMP_READERS),
    "api_v1.auth_token": PUBLIC,
    "api_v1.auth_password": PUBLIC,
    "api_v1.openapi": PUBLIC,
    "api_v1.me": Access(ALL_ROLES, integration=True),
    "api_v1.esignature_statement": Access(SIGNING_ROLES),
}


def access_for(endpoint: str | None) -> Access | None:
    return ROUTE_ACCESS.get(endpoint or "")


def may_reach(endpoint: str, roles) -> bool:
    """For templates: show a link only where the user may follow it."""
    access = access_for(endpoint)
    if access is None:
        return False
    return access.public or bool(access.roles & set(roles))


def service_may_reach(endpoint: str) -> bool:
    """A service account (SEC-01) reaches only the integration's calls, whatever roles the matrix names."""
    access = access_for(endpoint)
    return access is not None and (access.public or access.integration)

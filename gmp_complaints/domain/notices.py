"""Notices to people (WF-10, WF-11; issue 16): who is told of what, as plain data.

The QP is told of every complaint and every investigation (SOP 4.2), of every risk-reducing action (a
quarantine request, the class I interim risk decision with its measures such as stopping shipment) and of
every recall, proposed and decided, and acknowledges the notices of actions and recalls; the investigator of
an assignment; the owner of a CAPA action of the action; the head of quality of every signature that falls
due. The responsible officials (21 CFR 211.180(f)) are told of every complaint investigation (211.198), every
evaluation of returned goods (211.204) and every recall. A notice names its record by number; its text is
rendered in the reader's language, and the e-mail carries both languages."""
from __future__ import annotations

from enum import StrEnum

from gmp_complaints.domain.errors import ConflictError, Msg, PermissionDeniedError


class NoticeKind(StrEnum):
    complaint_registered = "complaint_registered"
    complaint_classified = "complaint_classified"
    investigation_recorded = "investigation_recorded"
    interim_decision_due = "interim_decision_due"
    interim_decision_overdue = "interim_decision_overdue"
    investigation_assigned = "investigation_assigned"
    decision_requested = "decision_requested"
    reply_report_to_approve = "reply_report_to_approve"
    closure_pending = "closure_pending"
    capa_action_assigned = "capa_action_assigned"
    capa_plan_to_approve = "capa_plan_to_approve"
    capa_implementation_to_approve = "capa_implementation_to_approve"
    storage_verification_failed = "storage_verification_failed"
    backup_failed = "backup_failed"
    falsification_suspected = "falsification_suspected"
    spec_failure_determination_due = "spec_failure_determination_due"
    security_alert = "security_alert"
    access_change_to_approve = "access_change_to_approve"
    # WF-10: risk-reducing actions and recalls, for the QP to acknowledge
    quarantine_requested = "quarantine_requested"
    interim_decision_taken = "interim_decision_taken"
    recall_proposed = "recall_proposed"
    recall_decided = "recall_decided"
    mock_recall_proposed = "mock_recall_proposed"
    mock_recall_decided = "mock_recall_decided"
    # WF-11: the written notice to the responsible officials (21 CFR 211.180(f))
    investigation_conducted = "investigation_conducted"
    return_evaluated = "return_evaluated"


NOTICE_LABELS = {
    NoticeKind.complaint_registered: Msg("New complaint %(record)s registered"),
    NoticeKind.complaint_classified: Msg("Complaint %(record)s classified: acknowledge it as QP"),
    NoticeKind.investigation_recorded: Msg("Investigation of %(record)s recorded: acknowledge it as QP"),
    NoticeKind.interim_decision_due: Msg("Class I complaint %(record)s: the interim risk decision is due"),
    NoticeKind.interim_decision_overdue: Msg("Class I complaint %(record)s: the interim risk decision is overdue "
                                             "(escalated)"),
    NoticeKind.investigation_assigned: Msg("You investigate complaint %(record)s"),
    NoticeKind.decision_requested: Msg("%(record)s: an extension or a void waits for your decision"),
    NoticeKind.reply_report_to_approve: Msg("%(record)s: the reply report waits for your approval"),
    NoticeKind.closure_pending: Msg("%(record)s is pending closure: review the audit trail and approve"),
    NoticeKind.capa_action_assigned: Msg("%(record)s: a CAPA action is assigned to you"),
    NoticeKind.capa_plan_to_approve: Msg("%(record)s: the CAPA plan waits for your approval"),
    NoticeKind.capa_implementation_to_approve: Msg("%(record)s: an action's implementation waits for your approval"),
    NoticeKind.storage_verification_failed: Msg("The periodic verification found %(record)s differences in the stored "
                                                "records: investigate"),
    NoticeKind.backup_failed: Msg("The scheduled backup into %(record)s failed: see the audit trail and act"),
    NoticeKind.falsification_suspected: Msg("%(record)s: a falsified (counterfeit) medicine is suspected"),
    NoticeKind.spec_failure_determination_due: Msg("%(record)s: possible failure to meet specification; determine "
                                                   "whether a 21 CFR 211.192 investigation is required"),
    NoticeKind.security_alert: Msg("Security alert: repeated failed log-ins or signings on account %(record)s"),
    NoticeKind.access_change_to_approve: Msg("A change of access for %(record)s waits for your approval"),
    NoticeKind.quarantine_requested: Msg("%(record)s: quarantine of stock requested (a risk-reducing action): "
                                         "acknowledge it as QP"),
    NoticeKind.interim_decision_taken: Msg("Class I complaint %(record)s: the interim risk decision is signed "
                                           "(risk-reducing measures): acknowledge it as QP"),
    NoticeKind.recall_proposed: Msg("Recall %(record)s proposed: acknowledge it"),
    NoticeKind.recall_decided: Msg("Recall %(record)s decided and under way: acknowledge it"),
    NoticeKind.mock_recall_proposed: Msg("Mock recall %(record)s proposed (an exercise): acknowledge it"),
    NoticeKind.mock_recall_decided: Msg("Mock recall %(record)s decided (an exercise): acknowledge it"),
    NoticeKind.investigation_conducted: Msg("Complaint %(record)s: investigation recorded (21 CFR 211.198)"),
    NoticeKind.return_evaluated: Msg("Returned goods %(record)s evaluated (21 CFR 211.204)"),
}

#: the kinds as words, for the audit trail
NOTICE_KIND_NAMES = {
    NoticeKind.complaint_registered: Msg("New complaint"),
    NoticeKind.complaint_classified: Msg("QP acknowledgement due"),
    NoticeKind.investigation_recorded: Msg("Investigation to acknowledge"),
    NoticeKind.interim_decision_due: Msg("Interim risk decision due"),
    NoticeKind.interim_decision_overdue: Msg("Interim risk decision overdue"),
    NoticeKind.investigation_assigned: Msg("Investigation assigned"),
    NoticeKind.decision_requested: Msg("Decision requested"),
    NoticeKind.reply_report_to_approve: Msg("Reply report to approve"),
    NoticeKind.closure_pending: Msg("Closure to approve"),
    NoticeKind.capa_action_assigned: Msg("CAPA action assigned"),
    NoticeKind.capa_plan_to_approve: Msg("CAPA plan to approve"),
    NoticeKind.capa_implementation_to_approve: Msg("Implementation to approve"),
    NoticeKind.storage_verification_failed: Msg("Stored records differ"),
    NoticeKind.backup_failed: Msg("Backup failed"),
    NoticeKind.falsification_suspected: Msg("Falsification suspected"),
    NoticeKind.spec_failure_determination_due: Msg("Specification failure to determine"),
    NoticeKind.security_alert: Msg("Security alert"),
    NoticeKind.access_change_to_approve: Msg("Access change to approve"),
    NoticeKind.quarantine_requested: Msg("Quarantine requested"),
    NoticeKind.interim_decision_taken: Msg("Interim risk decision signed"),
    NoticeKind.recall_proposed: Msg("Recall proposed"),
    NoticeKind.recall_decided: Msg("Recall decided"),
    NoticeKind.mock_recall_proposed: Msg("Mock recall proposed"),
    NoticeKind.mock_recall_decided: Msg("Mock recall decided"),
    NoticeKind.investigation_conducted: Msg("Complaint investigation (211.198)"),
    NoticeKind.return_evaluated: Msg("Returned goods evaluated (211.204)"),
}

#: the e-mail's subject in both languages (the mail goes out before anyone chooses a language)
NOTICE_MAIL_TEXTS = {
    NoticeKind.complaint_registered: ("新投诉 {record} 已登记", "New complaint {record} registered"),
    NoticeKind.complaint_classified: ("投诉 {record} 已分类编号：请质量受权人确认",
                                      "Complaint {record} classified: acknowledge it as QP"),
    NoticeKind.investigation_recorded: ("{record} 调查已记录：请质量受权人确认",
                                        "Investigation of {record} recorded: acknowledge it as QP"),
    NoticeKind.interim_decision_due: ("I 类投诉 {record}：须作出临时风险决定",
                                      "Class I complaint {record}: the interim risk decision is due"),
    NoticeKind.interim_decision_overdue: ("I 类投诉 {record}：临时风险决定已逾期（已升级）",
                                          "Class I complaint {record}: the interim risk decision is overdue (escalated)"),
    NoticeKind.investigation_assigned: ("您负责调查投诉 {record}", "You investigate complaint {record}"),
    NoticeKind.decision_requested: ("{record}：延期或作废申请待您决定",
                                    "{record}: an extension or a void waits for your decision"),
    NoticeKind.reply_report_to_approve: ("{record}：答复报告待您批准", "{record}: the reply report waits for your approval"),
    NoticeKind.closure_pending: ("{record} 待关闭：请审核审计追踪并批准",
                                 "{record} is pending closure: review the audit trail and approve"),
    NoticeKind.capa_action_assigned: ("{record}：有 CAPA 措施分配给您", "{record}: a CAPA action is assigned to you"),
    NoticeKind.capa_plan_to_approve: ("{record}：CAPA 计划待您批准", "{record}: the CAPA plan waits for your approval"),
    NoticeKind.capa_implementation_to_approve: ("{record}：措施实施待您批准",
                                                "{record}: an action's implementation waits for your approval"),
    NoticeKind.storage_verification_failed: ("定期核查发现存储记录有 {record} 处差异：请调查",
                                             "The periodic verification found {record} differences in the stored "
                                             "records: investigate"),
    NoticeKind.backup_failed: ("定时备份到 {record} 失败：请查看审计追踪并处理",
                               "The scheduled backup into {record} failed: see the audit trail and act"),
    NoticeKind.falsification_suspected: ("{record}：怀疑为假药（伪造药品）", "{record}: a falsified (counterfeit) medicine is "
                                                                   "suspected"),
    NoticeKind.spec_failure_determination_due: ("{record}：可能不符合质量标准，请确定是否须按 21 CFR 211.192 调查",
                                                "{record}: possible failure to meet specification; determine whether "
                                                "a 21 CFR 211.192 investigation is required"),
    NoticeKind.security_alert: ("安全警报：账户 {record} 多次登录或签名失败",
                                "Security alert: repeated failed log-ins or signings on account {record}"),
    NoticeKind.access_change_to_approve: ("{record} 的访问权限变更待您批准",
                                          "A change of access for {record} waits for your approval"),
    NoticeKind.quarantine_requested: ("{record}：已申请隔离库存（降低风险的措施）：请质量受权人确认",
                                      "{record}: quarantine of stock requested (a risk-reducing action): "
                                      "acknowledge it as QP"),
    NoticeKind.interim_decision_taken: ("I 类投诉 {record}：临时风险决定已签署（降低风险的措施）：请质量受权人确认",
                                        "Class I complaint {record}: the interim risk decision is signed "
                                        "(risk-reducing measures): acknowledge it as QP"),
    NoticeKind.recall_proposed: ("召回 {record} 已提出：请确认", "Recall {record} proposed: acknowledge it"),
    NoticeKind.recall_decided: ("召回 {record} 已决定并启动：请确认",
                                "Recall {record} decided and under way: acknowledge it"),
    NoticeKind.mock_recall_proposed: ("模拟召回 {record} 已提出（演练）：请确认",
                                      "Mock recall {record} proposed (an exercise): acknowledge it"),
    NoticeKind.mock_recall_decided: ("模拟召回 {record} 已决定（演练）：请确认",
                                     "Mock recall {record} decided (an exercise): acknowledge it"),
    NoticeKind.investigation_conducted: ("投诉 {record}：调查已记录（21 CFR 211.198）",
                                         "Complaint {record}: investigation recorded (21 CFR 211.198)"),
    NoticeKind.return_evaluated: ("退货 {record} 已评价（21 CFR 211.204）",
                                  "Returned goods {record} evaluated (21 CFR 211.204)"),
}

#: WF-10: the notices the person told acknowledges on the notice itself ("acknowledged at, by"). The QP's
#: acknowledgement of a complaint and of its investigation is the signature ``qp_acknowledgement`` instead.
ACKNOWLEDGED_KINDS = frozenset({
    NoticeKind.quarantine_requested, NoticeKind.interim_decision_taken, NoticeKind.recall_proposed,
    NoticeKind.recall_decided, NoticeKind.mock_recall_proposed, NoticeKind.mock_recall_decided,
})


class OfficialScope(StrEnum):
    """WF-11 (21 CFR 211.180(f)): what a responsible official is told of in writing. The product keeps no
    salvaged goods (211.208), so there is no scope for them."""

    investigations = "investigations"
    returns = "returns"
    recalls = "recalls"


SCOPE_LABELS = {
    OfficialScope.investigations: Msg("Complaint investigations (21 CFR 211.198)"),
    OfficialScope.returns: Msg("Evaluations of returned goods (21 CFR 211.204)"),
    OfficialScope.recalls: Msg("Recalls, proposed and decided"),
}


def official_recipients(designated: list[int], head_of_quality: list[int]) -> list[int]:
    """Who is told for a scope: the designated officials still active, or, with nobody designated, the head of
    quality (the behaviour before a list was kept)."""
    return list(designated) if designated else list(head_of_quality)


def check_acknowledgement(kind: str, *, recipient_id: int, actor_id: int, acknowledged: bool) -> None:
    """Only the person told acknowledges a notice, once, and only a notice that asks for it."""
    if recipient_id != actor_id:
        raise PermissionDeniedError(Msg("Only the person told acknowledges a notice."))
    if kind not in {k.value for k in ACKNOWLEDGED_KINDS}:
        raise ConflictError(Msg("This notice asks for no acknowledgement."))
    if acknowledged:
        raise ConflictError(Msg("This notice is already acknowledged."))


#: how often the outbox tries to hand a message to the mail server before it gives up (``gmp tick`` runs)
MAX_DELIVERY_ATTEMPTS = 20


class Delivery(StrEnum):
    """How a notice's e-mail fared (WF-11: delivery logged)."""

    not_emailed = "not_emailed"
    pending = "pending"
    retrying = "retrying"
    sent = "sent"
    failed = "failed"


DELIVERY_LABELS = {
    Delivery.not_emailed: Msg("In the app only (no address or no mail server)"),
    Delivery.pending: Msg("Waiting in the outbox"),
    Delivery.retrying: Msg("Not delivered yet, retrying"),
    Delivery.sent: Msg("E-mail delivered to the mail server"),
    Delivery.failed: Msg("E-mail failed: no more attempts"),
}


def delivery(status: str | None, attempts: int, max_attempts: int) -> Delivery:
    """The delivery of a notice from its outbox message (``status`` None: none was queued)."""
    if status is None:
        return Delivery.not_emailed
    if status == "sent":
        return Delivery.sent
    if attempts >= max_attempts:
        return Delivery.failed
    return Delivery.retrying if attempts else Delivery.pending


def notice_mail(kind: NoticeKind, record: str, link: str, details: str | None = None) -> tuple[str, str]:
    """(subject, body) of a notice's e-mail, Chinese first, then English; ``details`` (the event record of a
    security alert, say) follow the link."""
    zh, en = NOTICE_MAIL_TEXTS[kind]
    subject = f"{zh.format(record=record)} / {en.format(record=record)}"
    body = (f"{zh.format(record=record)}\n{link}\n\n{en.format(record=record)}\n{link}\n\n"
            + (f"{details}\n\n" if details else "")
            + "此邮件由 GMP 投诉系统自动发出。/ Sent by the GMP complaint system.")
    return subject[:300], body


def recipients(user_ids, *, except_user: int | None) -> list[int]:
    """Everyone named once, in order, never the person whose act caused the notice."""
    seen: list[int] = []
    for user_id in user_ids:
        if user_id is not None and user_id != except_user and user_id not in seen:
            seen.append(user_id)
    return seen

"""Notices to people (WF-10, WF-11; issue 16): who is told of what, as plain data.

The QP is told of every complaint and every investigation (SOP 4.2); the investigator of an assignment;
the owner of a CAPA action of the action; the head of quality of every signature that falls due. A
notice names its record by number; its text is rendered in the reader's language, and the e-mail
carries both languages."""
from __future__ import annotations

from enum import StrEnum

from gmp_complaints.domain.errors import Msg


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
}


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

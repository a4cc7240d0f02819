"""SOP §3 class criteria (versioned master data) and the time limits (configuration) as plain rules.

The SOP text is the first version of the criteria; a later version is published as new rows and a
classification records the version it was made under.
"""
from __future__ import annotations

from dataclasses import dataclass

from gmp_complaints.domain.complaints import (
    CLOSURE_AFTER_REMINDER_WORKING_DAYS,
    DEFAULT_TIME_LIMITS,
    QUALITY_REPORT_WORKING_DAYS,
    REMINDER_AFTER_REPLY_WORKING_DAYS,
    ComplaintClass,
    TimeLimits,
)
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.field_alert import FOLLOW_UP_WORKING_DAYS


@dataclass(frozen=True)
class Criterion:
    complaint_class: ComplaintClass
    code: str
    text_zh: str
    text_en: str


SOP_CRITERIA_VERSION = "SOP-3/1"
#: SOP §3.1-3.3, word for word where the SOP lists examples; "other" covers a defect of the class's
#: definition that the list does not name (the rationale then says which).
SOP_CRITERIA = (
    Criterion(ComplaintClass.I, "I.label_mismatch", "产品标签与产品不符", "Label does not match the product"),
    Criterion(ComplaintClass.I, "I.wrong_strength", "规格错误", "Wrong strength"),
    Criterion(ComplaintClass.I, "I.contamination", "产品受到污染", "Product contaminated"),
    Criterion(ComplaintClass.I, "I.serious_adr", "严重不良反应", "Serious adverse reaction"),
    Criterion(ComplaintClass.I, "I.fill_weight", "装量/重量不合格", "Fill volume or weight out of specification"),
    Criterion(ComplaintClass.I, "I.no_label", "无标签", "No label"),
    Criterion(ComplaintClass.I, "I.critical_item", "关键项目不合格", "Critical test item out of specification"),
    Criterion(ComplaintClass.I, "I.mix_up", "产品混淆", "Product mix-up"),
    Criterion(ComplaintClass.I, "I.other", "其他可能危及生命或严重威胁健康的缺陷",
              "Other defect that may endanger life or seriously threaten health"),
    Criterion(ComplaintClass.II, "II.packaging_defect", "包装缺陷", "Packaging defect"),
    Criterion(ComplaintClass.II, "II.seal_defect", "密封缺陷", "Seal defect"),
    Criterion(ComplaintClass.II, "II.non_critical_item", "非关键项目不合格", "Non-critical test item out of specification"),
    Criterion(ComplaintClass.II, "II.other", "其他可能有潜在影响但不严重威胁健康的缺陷",
              "Other defect with a potential effect that does not seriously threaten health"),
    Criterion(ComplaintClass.III, "III.outer_packaging", "损害或污染产品外包装", "Outer packaging damaged or soiled"),
    Criterion(ComplaintClass.III, "III.missing_print", "偶尔缺少打印信息", "Occasional missing printed information"),
    Criterion(ComplaintClass.III, "III.minor_print_error", "不严重的打印错误（非最小包装上）",
              "Minor printing error (not on the smallest pack)"),
    Criterion(ComplaintClass.III, "III.inconvenient_design", "外观设计不方便", "Inconvenient design"),
    Criterion(ComplaintClass.III, "III.anti_counterfeit_query", "防伪查询疑问", "Anti-counterfeiting query"),
    Criterion(ComplaintClass.III, "III.tracking_code_query", "电子监管码查询疑问", "Drug tracking code query"),
    Criterion(ComplaintClass.III, "III.other", "其他对客户健康没有危害的缺陷", "Other defect with no hazard to health"),
)


def check_criteria(complaint_class: ComplaintClass, selected: list[str], available: list[Criterion]) -> list[str]:
    """The selected criteria must exist in the version in force and belong to the chosen class."""
    known = {c.code: c for c in available}
    wrong = [code for code in selected if code not in known]
    if wrong:
        raise ValidationError(Msg("Unknown criterion."), {"criteria": [Msg(
            "Not a criterion of the version in force: %(codes)s.", codes=", ".join(wrong))]})
    other_class = [code for code in selected if known[code].complaint_class is not complaint_class]
    if other_class:
        raise ValidationError(Msg("Criterion of another class."), {"criteria": [Msg(
            "These criteria belong to another class: %(codes)s.", codes=", ".join(other_class))]})
    order = {c.code: position for position, c in enumerate(available)}
    return sorted(set(selected), key=order.__getitem__)


def check_new_criteria(criteria: list[Criterion]) -> None:
    """A new version covers every class, with unique codes."""
    codes = [c.code for c in criteria]
    if len(set(codes)) != len(codes):
        raise ValidationError(Msg("Duplicate criterion."), {"criteria": [Msg("Each code may appear once.")]})
    missing = [k.value for k in ComplaintClass if not any(c.complaint_class is k for c in criteria)]
    if missing:
        raise ValidationError(Msg("Class without criteria."), {"criteria": [Msg(
            "Give at least one criterion for class %(classes)s.", classes=", ".join(missing))]})


# --- time limits ---------------------------------------------------------------------------------

REMINDER_KEY = "reminder_after_reply"
CLOSURE_KEY = "closure_after_reminder"
QUALITY_REPORT_KEY = "quality_report_after_assessment"
#: working days of the US federal calendar from one field alert report to the next follow-up (HO-04)
FIELD_ALERT_FOLLOW_UP_KEY = "field_alert_follow_up"
#: working days from classification to telling the contract partner or MAH of the complaint (HO-14)
PARTNER_NOTICE_KEY = "partner_notice_after_classification"
PARTNER_NOTICE_WORKING_DAYS = 1
#: working days from the classification (or regrading) as class I to the signed interim risk decision (WF-09)
INTERIM_DECISION_KEY = "interim_decision_after_class_i"
INTERIM_DECISION_WORKING_DAYS = 1
LIMIT_FIELDS = ("initial_feedback", "classification", "investigation_report", "formal_reply")


def default_time_limit_rows() -> dict[str, int]:
    """The configuration keys and their defaults: ``I.initial_feedback`` ... and SOP 5.8's 25 and 10."""
    rows = {f"{k.value}.{name}": getattr(limits, name) for k, limits in DEFAULT_TIME_LIMITS.items()
            for name in LIMIT_FIELDS}
    rows[REMINDER_KEY] = REMINDER_AFTER_REPLY_WORKING_DAYS
    rows[CLOSURE_KEY] = CLOSURE_AFTER_REMINDER_WORKING_DAYS
    rows[QUALITY_REPORT_KEY] = QUALITY_REPORT_WORKING_DAYS
    rows[FIELD_ALERT_FOLLOW_UP_KEY] = FOLLOW_UP_WORKING_DAYS
    rows[PARTNER_NOTICE_KEY] = PARTNER_NOTICE_WORKING_DAYS
    rows[INTERIM_DECISION_KEY] = INTERIM_DECISION_WORKING_DAYS
    return rows


@dataclass(frozen=True)
class TimerConfiguration:
    per_class: dict[ComplaintClass, TimeLimits]
    reminder_after_reply: int
    closure_after_reminder: int
    #: working days from the assessment to the report of a major quality problem to the regulator
    quality_report_after_assessment: int = QUALITY_REPORT_WORKING_DAYS
    #: US working days from a field alert report sent to the next follow-up report due
    field_alert_follow_up: int = FOLLOW_UP_WORKING_DAYS
    #: working days from classification to the notice to the contract partner or MAH
    partner_notice_after_classification: int = PARTNER_NOTICE_WORKING_DAYS
    #: working days from becoming class I to the signed interim risk decision (WF-09)
    interim_decision_after_class_i: int = INTERIM_DECISION_WORKING_DAYS


def timer_configuration(rows: dict[str, int]) -> TimerConfiguration:
    """The configuration in force; a key missing from the table keeps its default."""
    values = {**default_time_limit_rows(), **rows}
    per_class = {k: TimeLimits(*(values[f"{k.value}.{name}"] for name in LIMIT_FIELDS)) for k in ComplaintClass}
    return TimerConfiguration(per_class, values[REMINDER_KEY], values[CLOSURE_KEY], values[QUALITY_REPORT_KEY],
                              values[FIELD_ALERT_FOLLOW_UP_KEY], values[PARTNER_NOTICE_KEY],
                              values[INTERIM_DECISION_KEY])


def check_time_limit_change(key: str, working_days) -> int:
    if key not in default_time_limit_rows():
        raise ValidationError(Msg("Unknown time limit."), {"key": [Msg("Unknown time limit %(key)s.", key=key)]})
    if isinstance(working_days, bool) or not isinstance(working_days, int) or not 1 <= working_days <= 250:
        raise ValidationError(Msg("Invalid number of working days."),
                              {"working_days": [Msg("A whole number of working days from 1 to 250.")]})
    return working_days


#: what each time limit is, for the configuration page (the keys stay the audit trail's)
SPECIAL_LIMIT_LABELS = {
    REMINDER_KEY: Msg("Reminder to the customer after the formal reply"),
    CLOSURE_KEY: Msg("Closure without a response after the reminder"),
    QUALITY_REPORT_KEY: Msg("Report to the regulator after the assessment"),
    FIELD_ALERT_FOLLOW_UP_KEY: Msg("Next field alert report after one sent (US working days)"),
    PARTNER_NOTICE_KEY: Msg("Notice to the contract partner or MAH after classification"),
    INTERIM_DECISION_KEY: Msg("Class I: signed interim risk decision after classification or regrading"),
}
LIMIT_FIELD_LABELS = {"initial_feedback": Msg("Initial feedback"), "classification": Msg("Classification"),
                      "investigation_report": Msg("Investigation report"), "formal_reply": Msg("Formal reply")}


def time_limit_label(key: str) -> Msg:
    """``II.formal_reply`` → "Class II: formal reply"; the special keys by their meaning."""
    if key in SPECIAL_LIMIT_LABELS:
        return SPECIAL_LIMIT_LABELS[key]
    klass, _, field = key.partition(".")
    return Msg("Class %(klass)s: %(limit)s", klass=klass, limit=LIMIT_FIELD_LABELS.get(field, Msg(field)))

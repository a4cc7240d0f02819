"""Demo data for a first look (``gmp demo``). Every demo record is marked as demo.

Later features add their records here. It refuses to run on a database that holds real accounts.
"""
from __future__ import annotations

from typing import Callable

from gmp_complaints.domain.errors import ConflictError, Msg
from gmp_complaints.domain.roles import SIGNING_ROLES, Role
from gmp_complaints.services import accounts
from gmp_complaints.uow import UnitOfWork

#: (username, printed name, role); password is ``gmp-demo-<role>-2026``
DEMO_USERS = (
    ("demo.intake", "王芳 Wang Fang (演示 demo)", Role.intake),
    ("demo.qa", "李娜 Li Na (演示 demo)", Role.qa_officer),
    ("demo.investigator", "张伟 Zhang Wei (演示 demo)", Role.investigator),
    ("demo.qahead", "刘洋 Liu Yang (演示 demo)", Role.qa_head),
    ("demo.qp", "陈静 Chen Jing (演示 demo)", Role.qp),
    ("demo.auditor", "赵磊 Zhao Lei (演示 demo)", Role.auditor),
    ("demo.admin", "孙强 Sun Qiang (演示 demo)", Role.admin),
    ("demo.recall", "周敏 Zhou Min (演示 demo)", Role.recall_coordinator),
    ("demo.pv", "孙丽 Sun Li (演示 demo)", Role.pv_officer),
    ("demo.ra", "高燕 Gao Yan (演示 demo)", Role.regulatory_affairs),
)


def demo_password(role: Role) -> str:
    return f"gmp-demo-{role.value.replace('_', '-')}-2026"


DEMO_PRODUCTS = (
    {"code": "DEMO-AMX-250", "name": "阿莫西林胶囊 Amoxicillin capsules (演示 demo)", "strength": "0.25 g",
     "dosage_form": "胶囊 capsule"},
    {"code": "DEMO-VC-100", "name": "维生素C片 Vitamin C tablets (演示 demo)", "strength": "100 mg",
     "dosage_form": "片剂 tablet", "has_expiry": False},
)
DEMO_BATCHES = (
    ("DEMO-AMX-250", "D250101", "2025-01-10", "2027-01-09"),
    ("DEMO-AMX-250", "D250301", "2025-03-12", "2027-03-11"),
    ("DEMO-AMX-250", "D250601", "2025-06-15", "2027-06-14"),
    ("DEMO-VC-100", "V250201", "2025-02-20", None),
)


def load_demo_records(new_uow: Callable[[], UnitOfWork], ids: dict[str, int]) -> list[str]:
    """Products, batches with distribution records, and complaints in every open state (demo marked)."""
    from datetime import date, timedelta

    from gmp_complaints.clock import business_today
    from gmp_complaints.domain.roles import Actor
    from gmp_complaints.services import (
        approvals,
        capa,
        complaint_intake,
        complaint_queries,
        complaint_steps,
        investigation,
        master_data,
        pharmacovigilance,
        returns,
        triage,
    )

    uow = new_uow()
    with uow:
        if master_data.product_by_code(uow.session, DEMO_PRODUCTS[0]["code"]) is not None:
            return ["demo products and complaints exist already"]
        for product in DEMO_PRODUCTS:
            master_data.add_product(uow, uow.session, master_data.validate_product(product), actor_id=ids["qa"],
                                    is_demo=True)
        for code, batch_no, made, expires in DEMO_BATCHES:
            master_data.add_batch(uow, uow.session, master_data.validate_batch({
                "product_code": code, "batch_no": batch_no, "manufactured_on": made, "expires_on": expires}),
                actor_id=ids["qa"], is_demo=True)
            for consignee, quantity, days in (("国药控股 Sinopharm (演示)", 1200, 20), ("华润医药 CR Pharma (演示)", 800, 35)):
                master_data.add_distribution(uow, uow.session, master_data.validate_distribution({
                    "product_code": code, "batch_no": batch_no, "consignee": consignee, "quantity": quantity,
                    "shipped_on": (date.fromisoformat(made) + timedelta(days=days)).isoformat()}),
                    actor_id=ids["qa"], is_demo=True)
        uow.commit()
    today = business_today(new_uow().settings)
    intake, qa = Actor(ids["intake"], frozenset({Role.intake})), Actor(ids["qa"], frozenset({Role.qa_officer}))
    investigator = Actor(ids["investigator"], frozenset({Role.investigator}))
    head = Actor(ids["qahead"], frozenset({Role.qa_head}))
    credentials = {"username": "demo.qahead", "password": demo_password(Role.qa_head)}

    def send_reply(cid, summary):
        """SOP 5.6.1: QA drafts the reply report, the head of quality approves it, sales send it."""
        complaint_steps.draft_reply_report(new_uow(), cid, {"summary": summary}, actor=qa)
        approvals.sign_step(new_uow(), cid, {**credentials, "step": "reply_approval", "comment": "同意答复 (演示)"},
                            actor=head)
        complaint_steps.reply(new_uow(), cid, {"replied_on": today.isoformat()}, actor=intake)

    def register(batch_no, complaint_type, description, days_ago, channel="phone"):
        return complaint_intake.register_complaint(new_uow(), {
            "received_on": (today - timedelta(days=days_ago)).isoformat(), "channel": channel,
            "complainant": {"name": "张三 (演示)", "organisation": "仁和大药房 (演示 demo)", "phone": "13800001234",
                            "email": "demo@example.cn"},
            "product_code": "DEMO-AMX-250" if batch_no.startswith("D") else "DEMO-VC-100", "batch_nos": [batch_no],
            "complaint_type": complaint_type, "description": description, "sample_available": True},
            actor=intake, is_demo=True)["id"]

    def through(cid, last_step, spec_failure=False):
        received = date.fromisoformat(complaint_queries.get_complaint(new_uow(), cid, roles={Role.qa_officer})["received_on"])
        steps = [
            ("acknowledge", lambda: complaint_steps.acknowledge(new_uow(), cid, {
                "sent_on": received.isoformat(), "method": "电话", "note": "已确认收到，请寄回样品 (演示)"}, actor=intake)),
            ("validity", lambda: complaint_steps.record_validity(new_uow(), cid, {
                "information_complete": True, "substantiated": True, "quality_defect_suspected": "yes",
                "falsification_suspected": "no", "spec_failure_suspected": spec_failure}, actor=qa)),
            # WF-02: a flagged possible failure to meet specification is determined by the head of quality
            ("determination", lambda: spec_failure and triage.determine_spec_failure(new_uow(), cid, {
                **credentials, "investigation_required": True,
                "rationale": "内容物结块可能为水分超标，须按 21 CFR 211.192 调查 (演示)"}, actor=head)),
            ("classify", lambda: complaint_steps.classify(new_uow(), cid, {"complaint_class": "II", "rationale":
                                                     "密封缺陷，可能对客户有潜在影响 (SOP 3.2)", "adr_suspected": False,
                                                     "criteria": ["II.seal_defect"], "severity": "major",
                                                     "units_affected": 24}, actor=qa)),
            ("assign", lambda: complaint_steps.assign(new_uow(), cid, {"owner": "demo.qa", "investigator": "demo.investigator"},
                                                 actor=qa)),
            ("investigate", lambda: complaint_steps.investigate(new_uow(), cid, {
                "root_cause": "封口机压力偏低 (演示)", "impact": "仅本批次", "other_batches_affected": "相邻批次库存检查无异常",
                "root_cause_category": "equipment", "substantiated": True, "extend_to_other_batches": False,
                "extension_rationale": "封口机压力偏低仅发生于本批生产期间，相邻批次封口记录与库存检查无异常 (演示)",
                "checklist": {
                    "batch_records": {"outcome": "done", "note": "批生产记录封口工序压力记录偏低 (演示)"},
                    "sample_vs_retained": {"outcome": "done", "note": "退回样品与留样对比：封口扭矩低于标准 (演示)"},
                    "stock_and_adjacent": {"outcome": "done", "note": "本批及相邻批库存已隔离 (演示)"},
                    "site_visit": {"outcome": "not_applicable", "note": "照片与样品足以判断 (演示)"},
                    "further_studies": {"outcome": "not_applicable", "note": "无需进一步研究 (演示)"},
                    "carrier": {"outcome": "not_applicable", "note": "非运输问题 (演示)"}}}, actor=investigator)),
            ("assess", lambda: complaint_steps.assess(new_uow(), cid, {"reasonable": True, "actions": ["return_exchange"],
                                                                  "adr_confirmed": False,
                                                                  "regulator_report_required": False}, actor=qa)),
            ("capa", lambda: demo_capa(cid)),
            ("reply", lambda: send_reply(cid, "调查结果与纠正预防措施 (演示)")),
        ]
        for name, run in steps:
            run()
            if name == last_step:
                return

    def demo_capa(cid):
        qa_capa = Actor(ids["qa"], frozenset({Role.qa_officer}))
        created = capa.create_capa(new_uow(), {
            "complaint_ids": [cid], "problem_statement": "封口机压力偏低导致密封不良 (演示)",
            "risk": "中：可能影响产品稳定性 (演示)", "effectiveness_criteria": "6 个月内无同类投诉 (演示)",
            "effectiveness_due_on": (today + timedelta(days=180)).isoformat(), "change_control_required": True,
            "change_control_ref": "CC-DEMO-001", "is_demo": True}, actor=qa_capa)
        for kind, description, owner, days in (
                ("corrective", "校准封口机压力传感器 (演示)", "demo.investigator", 14),
                ("preventive", "封口压力纳入每班点检 (演示)", "demo.qa", 30)):
            capa.add_action(new_uow(), created["id"], {"kind": kind, "description": description, "owner": owner,
                                                      "due_on": (today + timedelta(days=days)).isoformat()},
                            actor=qa_capa)

    made = [register("D250301", "inner_packaging", "瓶盖破裂，胶囊受潮 (演示)", 1)]
    cid = register("D250601", "outer_packaging", "小盒压损 (演示)", 6, channel="email")
    through(cid, "assign")
    investigation.request_quarantine(new_uow(), cid, {"batch_nos": ["D250601"], "reason": "SOP 5.4.3 库存隔离 (演示)"},
                                     actor=investigator)
    complaint_steps.request_extension(new_uow(), cid, {"kind": "investigation", "new_due_on": (
        today + timedelta(days=40)).isoformat(), "reason": "需加速稳定性试验 (演示)"}, actor=investigator)
    made.append(cid)
    cid = register("D250101", "intrinsic_quality", "胶囊内容物结块 (演示)", 12)
    through(cid, "assess", spec_failure=True)
    made.append(cid)
    cid = register("D250301", "inner_packaging", "铝塑泡罩漏封 (演示)", 20, channel="letter")
    through(cid, "reply")
    made.append(cid)
    # Returned goods (SOP 5.5.2): the same batch back through two channels is two records (China GMP Art. 136);
    # the wholesaler's return was evaluated and destroyed on the head of quality's signature, the pharmacy's waits.
    wholesale = returns.receive_return(new_uow(), {
        "complaint_id": cid, "batch_no": "D250301", "channel": "wholesaler", "consignee": "国药控股 Sinopharm (演示)",
        "returning_party": "国药控股 Sinopharm (演示)", "returning_party_address": "上海市黄浦区龙华东路 385 号 (演示)",
        "return_reason": "客户投诉铝塑泡罩漏封，同批库存退回 (演示)", "quantity_received": 24,
        "condition": "外箱完好，部分泡罩漏封 (演示)", "received_on": (today - timedelta(days=10)).isoformat(),
        "is_demo": True}, actor=investigator)
    returns.evaluate_return(new_uow(), wholesale["id"], {
        "storage_conditions": "运输与储存温度记录正常，发运后约 14 个月 (演示)", "sample_result": "failed",
        "test_reference": "QC-DEMO-0458 (演示)", "other_batches_implicated": False}, actor=qa)
    returns.dispose_return(new_uow(), wholesale["id"], {**credentials, "disposition": "destroy",
                                                       "comment": "在 QA 监督下销毁 (演示)"}, actor=head)
    returns.receive_return(new_uow(), {
        "batch_no": "D250301", "product_code": "DEMO-AMX-250", "channel": "pharmacy",
        "returning_party": "仁和大药房 (演示 demo)", "returning_party_address": "杭州市上城区解放路 12 号 (演示)",
        "return_reason": "顾客退回，泡罩漏封 (演示)", "quantity_received": 6, "condition": "单盒包装，泡罩漏封 (演示)",
        "received_on": (today - timedelta(days=4)).isoformat(), "is_demo": True}, actor=investigator)
    cid = register("V250201", "other", "防伪查询 (演示)", 3, channel="web")
    complaint_steps.record_validity(new_uow(), cid, {"information_complete": True, "substantiated": False,
                                                "reason": "经查询为正品，投诉不成立 (演示)",
                                                "quality_defect_suspected": "no", "falsification_suspected": "no",
                                                "routed_to": "customer_service",
                                                "routing_note": "客服告知防伪查询方法 (演示)"}, actor=qa)
    send_reply(cid, "经核实为本公司正品 (演示)")
    made.append(cid)
    # A suspected adverse reaction handed to PV; PV asks QA for a batch investigation (SOP 5.6.2).
    cid = register("V250201", "adr", "服用后出现皮疹 (演示)", 2)
    pharmacovigilance.hand_off(new_uow(), cid, {
        "aware_on": (today - timedelta(days=3)).isoformat(), "seriousness": "non_serious", "unexpected": True,
        "reporter": "李医生，仁和医院 (演示)", "patient": "女，45 岁 (演示)", "reaction": "服药后次日出现躯干皮疹 (演示)",
        "is_demo": True}, actor=intake)
    pv = Actor(ids["pv"], frozenset({Role.pv_officer}))
    pharmacovigilance.accept(new_uow(), cid, 1, actor=pv)
    pharmacovigilance.request_investigation(new_uow(), cid, 1, {"question": "该批次有无偏差或杂质超标？(演示)"},
                                            actor=pv)
    made.append(cid)
    # A closed one: the QA head reviewed the audit trail and approved the closure (signed).
    cid = register("V250201", "other", "电子监管码查询 (演示)", 8, channel="phone")
    complaint_steps.record_validity(new_uow(), cid, {"information_complete": True, "substantiated": False,
                                                "reason": "监管码可正常查询，投诉不成立 (演示)",
                                                "quality_defect_suspected": "no", "falsification_suspected": "no",
                                                "routed_to": "customer_service",
                                                "routing_note": "客服指导客户查询监管码 (演示)"}, actor=qa)
    send_reply(cid, "已告知客户查询方法 (演示)")
    approvals.sign_step(new_uow(), cid, {**credentials, "step": "audit_trail_review", "comment": "已审核 (演示)"},
                        actor=head)
    approvals.close(new_uow(), cid, {**credentials, "comment": "同意关闭 (演示)"}, actor=head)
    made.append(cid)
    return [f"{len(DEMO_PRODUCTS)} products, {len(DEMO_BATCHES)} batches with distribution records, "
            f"{len(made)} complaints (registered, under investigation, assessed, awaiting customer, closure pending, "
            "an adverse reaction handed to pharmacovigilance, closed), 2 returns of one batch through two channels"]


def load_demo(new_uow: Callable[[], UnitOfWork]) -> list[str]:
    """Create the demo users (idempotent); return one line per user for the console."""
    if accounts.non_demo_user_count(new_uow()):
        raise ConflictError(Msg("This database holds real (non-demo) accounts; demo data is refused here."))
    existing = {user.username: user.id for user in accounts.list_users(new_uow())}
    lines = []
    for username, printed_name, role in DEMO_USERS:
        password = demo_password(role)
        if username not in existing:
            created = accounts.create_user(
                new_uow(), actor_id=None, username=username, printed_name=printed_name, roles=[role],
                temporary_password=password, identity_verified=True, is_demo=True,
            )
            existing[username] = created.user_id
            if role in SIGNING_ROLES:
                accounts.accept_esignature_statement(new_uow(), user_id=created.user_id, password=password, source_ip=None)
        lines.append(f"{role.value:<13} {username:<18} {password}")
    ids = {"intake": existing["demo.intake"], "qa": existing["demo.qa"], "investigator": existing["demo.investigator"],
           "qahead": existing["demo.qahead"], "pv": existing["demo.pv"]}
    return lines + load_demo_records(new_uow, ids)

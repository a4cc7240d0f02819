"""Trends for the quarterly review (SOP §7; DESIGN §2 review, §6 Trends; TR-01, TR-04): the read model
behind ``GET /api/v1/trends``, its page and its CSV/XLSX, and the signal rules as audited configuration.

Complaints are counted by ``received_on`` (void ones are not complaints and are left out), units from the
distribution records shipped in the period. Every figure is aggregated in the database; the rules of
``domain.trends`` then work on the small grouped results, so a year over a large history costs a handful
of grouped queries, not a pass over every row in Python.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa

from gmp_complaints.domain.complaints import ComplaintClass, ComplaintType, Status
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.markets import split_markets
from gmp_complaints.domain.trends import (
    ComplaintFact,
    Period,
    Quarter,
    check_period,
    check_signal_settings,
    class_i_signals,
    median,
    per_million,
    percentile,
    previous_periods,
    proportions,
    recurrence_signals,
    signal_configuration,
    u_chart,
    u_chart_signal,
)
from gmp_complaints.models import (
    Batch,
    Capa,
    CapaComplaint,
    Complaint,
    ComplaintBatch,
    ComplaintReply,
    CustomerResponse,
    Distribution,
    FollowUpCall,
    Product,
    SignalSetting,
    signal_setting_line,
)
from gmp_complaints.services import inputs, schemas
from gmp_complaints.services.complaint_repository import load_deadline_rules
from gmp_complaints.uow import UnitOfWork

CLASS_KEYS = (*(k.value for k in ComplaintClass), "unclassified")
#: the time limits whose keeping the timeliness figures report, and the complaint date that meets each
TIMELINESS_STEPS = ("initial_feedback", "classification", "investigation_report", "formal_reply")


def parse_query(args) -> dict:
    """``from``, ``to`` (YYYY-MM-DD), optional ``product_code`` and ``complaint_type``; 400 naming the field."""
    errors: dict = {}
    days = {name: inputs.day(errors, {name: (args.get(name) or "").strip()}, name, required=False)
            for name in ("from", "to")}
    complaint_type = (args.get("complaint_type") or "").strip() or None
    if complaint_type is not None and complaint_type not in {t.value for t in ComplaintType}:
        errors["complaint_type"] = [Msg("Unknown complaint type %(type)s.", type=complaint_type)]
    if errors:
        raise ValidationError(Msg("The request has invalid fields."), errors)
    period = check_period(days["from"], days["to"])
    return {"period": period, "product_code": (args.get("product_code") or "").strip() or None,
            "complaint_type": complaint_type}


def trends(uow: UnitOfWork, query: dict) -> dict:
    """The trend report of a period (DESIGN §6 shape, and the review's further figures)."""
    period, product_code, complaint_type = query["period"], query["product_code"], query["complaint_type"]
    with uow:
        session = uow.session
        product_id = None
        if product_code is not None:
            product_id = session.scalar(sa.select(Product.id).where(Product.code == product_code))
            if product_id is None:
                raise ValidationError(Msg("Unknown product."), {"product_code": [Msg(
                    "No product with code %(code)s.", code=product_code)]})
        scope = _Scope(product_id, complaint_type)
        figures = _period_figures(session, period, scope)
        config = _signal_configuration(session)
        signals = _signals(session, period, scope, config)
        report = {
            "from": period.start.isoformat(), "to": period.end.isoformat(),
            "filters": {"product_code": product_code, "complaint_type": complaint_type},
            **figures,
            "empty": figures["complaints"] == 0,
            "previous": [{"from": p.start.isoformat(), "to": p.end.isoformat(),
                          **{k: v for k, v in _period_figures(session, p, scope).items()
                             if k in ("complaints", "by_class", "by_type", "rates", "units_distributed",
                                      "per_million")}}
                         for p in previous_periods(period)],
            "timeliness": _timeliness(session, period, scope),
            "capa": _capa_figures(session, period, scope),
            "follow_up_calls": _counted(session, sa.select(FollowUpCall.result, sa.func.count()).join(
                Complaint, Complaint.id == FollowUpCall.complaint_id).where(
                FollowUpCall.called_on.between(period.start, period.end), *scope.where()).group_by(FollowUpCall.result)),
            "customer_responses": {("satisfied" if satisfied else "not_satisfied"): n for satisfied, n in
                                   session.execute(sa.select(CustomerResponse.satisfied, sa.func.count()).join(
                                       Complaint, Complaint.id == CustomerResponse.complaint_id).where(
                                       CustomerResponse.received_on.between(period.start, period.end),
                                       *scope.where()).group_by(CustomerResponse.satisfied))},
            "signals": [s.as_view() for s in signals["signals"]],
            "u_chart": signals["charts"],
            "signal_rules": config.__dict__,
        }
        return report


class _Scope:
    """The filter every query of the report applies: a product, a complaint type, never void complaints."""

    def __init__(self, product_id: int | None, complaint_type: str | None):
        self.product_id, self.complaint_type = product_id, complaint_type

    def where(self) -> list:
        conditions = [Complaint.status != Status.void.value]
        if self.product_id is not None:
            conditions.append(Complaint.product_id == self.product_id)
        if self.complaint_type is not None:
            conditions.append(Complaint.complaint_type == self.complaint_type)
        return conditions


def _counted(session, query) -> dict:
    return {key: count for key, count in session.execute(query)}


def _period_figures(session, period: Period, scope: _Scope) -> dict:
    received = Complaint.received_on.between(period.start, period.end)
    grouped = session.execute(sa.select(Product.code, Product.markets, Complaint.complaint_type, Complaint.channel,
                                        Complaint.complaint_class, sa.func.count()).join(
        Product, Product.id == Complaint.product_id).where(received, *scope.where()).group_by(
        Product.code, Product.markets, Complaint.complaint_type, Complaint.channel, Complaint.complaint_class)).all()
    by_class, by_type, by_channel, by_product, by_market = (Counter() for _ in range(5))
    for code, markets, kind, channel, klass, count in grouped:
        by_class[klass or "unclassified"] += count
        by_type[kind] += count
        by_channel[channel] += count
        by_product[code] += count
        for market in split_markets(markets):
            by_market[market] += count
    by_batch = _counted(session, sa.select(Batch.batch_no, sa.func.count(sa.distinct(Complaint.id))).join(
        ComplaintBatch, ComplaintBatch.batch_id == Batch.id).join(
        Complaint, Complaint.id == ComplaintBatch.complaint_id).where(received, *scope.where()).group_by(Batch.batch_no))
    units_query = sa.select(Product.code, sa.func.sum(Distribution.quantity)).join(
        Batch, Batch.id == Distribution.batch_id).join(Product, Product.id == Batch.product_id).where(
        Distribution.shipped_on.between(period.start, period.end)).group_by(Product.code)
    if scope.product_id is not None:
        units_query = units_query.where(Product.id == scope.product_id)
    units = {code: int(total or 0) for code, total in session.execute(units_query)}
    total = sum(by_product.values())
    total_units = sum(units.values())
    return {
        "complaints": total,
        "by_class": {key: by_class.get(key, 0) for key in CLASS_KEYS},
        "by_type": {t.value: by_type.get(t.value, 0) for t in ComplaintType},
        "by_channel": dict(sorted(by_channel.items())),
        "by_product": dict(sorted(by_product.items())),
        "by_batch": dict(sorted(by_batch.items())),
        "by_market": dict(sorted(by_market.items())),
        "proportions": {"by_class": proportions({k: v for k, v in by_class.items()}),
                        "by_type": proportions(dict(by_type)), "by_channel": proportions(dict(by_channel)),
                        "by_product": proportions(dict(by_product))},
        "rates": [{"product_code": code, "complaints": by_product.get(code, 0), "units_distributed": units.get(code, 0),
                   "per_million": per_million(by_product.get(code, 0), units.get(code, 0))}
                  for code in sorted(set(by_product) | set(units))],
        "units_distributed": total_units,
        "per_million": per_million(total, total_units),
    }


def _timeliness(session, period: Period, scope: _Scope) -> dict:
    """Per class, for the complaints received in the period: how many kept each time limit (done by its
    due day; an approved extension is not counted as kept), and the median and 90th percentile of the
    calendar days from receipt to closure of those closed."""
    first_reply = sa.select(sa.func.min(ComplaintReply.replied_on)).where(
        ComplaintReply.complaint_id == Complaint.id).scalar_subquery()
    rows = session.execute(sa.select(Complaint.complaint_class, Complaint.received_on, Complaint.acknowledged_on,
                                     Complaint.classified_on, Complaint.investigated_on, first_reply,
                                     Complaint.closed_on).where(
        Complaint.received_on.between(period.start, period.end), Complaint.complaint_class.is_not(None),
        *scope.where())).all()
    rules = load_deadline_rules(session)
    result = {}
    for klass in ComplaintClass:
        limits = rules.config.per_class[klass]
        mine = [row for row in rows if row[0] == klass.value]
        steps = {}
        for index, step in enumerate(TIMELINESS_STEPS):
            due_days = getattr(limits, step)
            done = [(row[1], row[2 + index]) for row in mine if row[2 + index] is not None]
            met = sum(1 for received_on, on in done if on <= rules.calendar.add_working_days(received_on, due_days))
            steps[step] = {"done": len(done), "met": met, "share_met": round(met / len(done), 4) if done else None}
        days_to_closure = [(row[6] - row[1]).days for row in mine if row[6] is not None]
        result[klass.value] = {"complaints": len(mine), "closed": len(days_to_closure), "limits": steps,
                               "median_days_to_closure": median(days_to_closure),
                               "p90_days_to_closure": percentile(days_to_closure, 0.9)}
    return result


def _capa_figures(session, period: Period, scope: _Scope) -> dict:
    """The CAPAs opened in the period (for the scope's complaints when filtered): status, effectiveness."""
    start, end = _utc_bounds(period)
    query = sa.select(Capa.id, Capa.status, Capa.effectiveness_result, Capa.effectiveness_due_on).where(
        Capa.created_at >= start, Capa.created_at < end)
    if scope.product_id is not None or scope.complaint_type is not None:
        query = query.where(Capa.id.in_(sa.select(CapaComplaint.capa_id).join(
            Complaint, Complaint.id == CapaComplaint.complaint_id).where(*scope.where())))
    rows = session.execute(query).all()
    statuses = Counter(status for _, status, _, _ in rows)
    effectiveness = Counter(result or "pending" for _, _, result, _ in rows)
    return {"opened": len(rows), "by_status": dict(sorted(statuses.items())),
            "effectiveness": dict(sorted(effectiveness.items()))}


def _utc_bounds(period: Period) -> tuple[datetime, datetime]:
    """The period as instants: from its first day's start to the next day after it (CAPAs are timestamped).
    UTC days: a CAPA opened near midnight in the site's time zone may count in the neighbouring period."""
    return (datetime.combine(period.start, time.min, tzinfo=timezone.utc),
            datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=timezone.utc))


def _signal_configuration(session):
    return signal_configuration({row.key: float(row.value) for row in session.scalars(sa.select(SignalSetting))})


def _signals(session, period: Period, scope: _Scope, config) -> dict:
    """Recurrence and class I from the complaints near the period; the u-chart per product for every
    quarter that ends in the period, against the quarters before it."""
    since = period.start - timedelta(days=config.recurrence_window_days)
    facts = [ComplaintFact(number or ref, code, kind, received_on, klass) for number, ref, code, kind, received_on, klass in
             session.execute(sa.select(Complaint.number, Complaint.intake_ref, Product.code, Complaint.complaint_type,
                                       Complaint.received_on, Complaint.complaint_class).join(
                 Product, Product.id == Complaint.product_id).where(
                 Complaint.received_on.between(since, period.end), *scope.where()))]
    signals = recurrence_signals(facts, period, config) + class_i_signals(facts, period)
    quarters = _quarters_ending_in(period)
    charts = []
    if quarters:
        first = quarters[0].before(config.u_chart_quarters)[0].period.start
        last = quarters[-1].period.end
        complaints = defaultdict(Counter)
        for code, received_on, count in session.execute(sa.select(Product.code, Complaint.received_on, sa.func.count()).join(
                Product, Product.id == Complaint.product_id).where(
                Complaint.received_on.between(first, last), *scope.where()).group_by(Product.code, Complaint.received_on)):
            complaints[code][Quarter.of(received_on).label()] += count
        units = defaultdict(Counter)
        units_query = sa.select(Product.code, Distribution.shipped_on, sa.func.sum(Distribution.quantity)).join(
            Batch, Batch.id == Distribution.batch_id).join(Product, Product.id == Batch.product_id).where(
            Distribution.shipped_on.between(first, last)).group_by(Product.code, Distribution.shipped_on)
        if scope.product_id is not None:
            units_query = units_query.where(Product.id == scope.product_id)
        for code, shipped_on, total in session.execute(units_query):
            units[code][Quarter.of(shipped_on).label()] += int(total or 0)
        shown = quarters[0].before(config.u_chart_quarters) + quarters
        for code in sorted(set(complaints) | set(units)):
            counts = {label: (complaints[code].get(label, 0), units[code].get(label, 0))
                      for label in set(complaints[code]) | set(units[code])}
            judged = {}
            for quarter in quarters:
                chart = judged[quarter.label()] = u_chart(quarter, counts, config)
                signal = u_chart_signal(code, chart, counts.get(quarter.label(), (0, 0))[0])
                if signal is not None:
                    signals.append(signal)
            # The history before the period (rates only) and the quarters judged (with their limits).
            rates = [per_million(*counts.get(q.label(), (0, 0))) for q in shown]
            charts.append({"product_code": code, "quarters": [q.label() for q in shown], "rates": rates,
                           **{name: [getattr(judged[q.label()], name) if q.label() in judged else None for q in shown]
                              for name in ("centre", "alert_limit", "action_limit", "level")}})
    return {"signals": signals, "charts": charts}


def _quarters_ending_in(period: Period) -> list[Quarter]:
    quarters, quarter = [], Quarter.of(period.start)
    while quarter.period.start <= period.end:
        if period.start <= quarter.period.end <= period.end:
            quarters.append(quarter)
        quarter = Quarter.of(quarter.period.end + timedelta(days=1))
    return quarters


def signal_rules(uow: UnitOfWork) -> dict:
    with uow:
        return _signal_configuration(uow.session).__dict__


def change_signal_rules(uow: UnitOfWork, data: dict, *, actor_id: int) -> dict:
    """``POST /trends/rules {<setting>: value, ..., reason}``: the QA head changes the signal rules; the
    old and new values go to the audit trail with the reason."""
    fields = schemas.load(schemas.TrendRuleChange, data)
    reason = fields.pop("reason")
    checked = check_signal_settings({key: value for key, value in fields.items() if value is not None})
    with uow:
        session = uow.session
        before, before_lines = _signal_configuration(session), _setting_lines(session)
        if all(getattr(before, key) == value for key, value in checked.items()):
            raise ValidationError(Msg("Nothing changed."), {next(iter(checked)): [Msg("The rules already have these values.")]})
        for key, value in checked.items():
            row = session.get(SignalSetting, key)
            if row is None:
                row = SignalSetting(key=key)
                session.add(row)
            row.value, row.updated_at, row.updated_by_id = value, uow.now(), actor_id
        session.flush()
        uow.record(DomainEvent("configuration.signal_rules_changed", "configuration", "signal_rules", {
            "signal_rules": [before_lines, _setting_lines(session)]}, reason=reason, actor_id=actor_id))
        uow.commit()
        return _signal_configuration(session).__dict__


def _setting_lines(session) -> list[str]:
    """The settings that differ from the defaults, as the audit trail states them (sorted)."""
    return sorted(signal_setting_line(row) for row in session.scalars(sa.select(SignalSetting)))



TABLE_HEADERS = ["section", "item", "complaints", "share", "units_distributed", "per_million"]


def report_table(report: dict) -> list[list]:
    """The report as one long table (CSV and XLSX): counts with their shares, rates, then the signals."""
    rows = []
    for section in ("by_class", "by_type", "by_channel", "by_product", "by_market", "by_batch"):
        shares = report["proportions"].get(section, {})
        for item, count in report[section].items():
            rows.append([section, item, count, shares.get(item, {}).get("share", ""), "", ""])
    for rate in report["rates"]:
        rows.append(["rates", rate["product_code"], rate["complaints"], "", rate["units_distributed"],
                     "" if rate["per_million"] is None else rate["per_million"]])
    for previous in report["previous"]:
        rows.append(["previous_period", f"{previous['from']}/{previous['to']}", previous["complaints"], "",
                     previous["units_distributed"], "" if previous["per_million"] is None else previous["per_million"]])
    for signal in report["signals"]:
        rows.append([f"signal:{signal['rule']}", signal["key"], signal["count"], signal["level"], "", ""])
    return rows


def record_export(uow: UnitOfWork, report: dict, *, document: str, sha256: str, actor_id: int) -> None:
    """Every trend export is audited with its period, filters and the SHA-256 of the file."""
    with uow:
        uow.record(DomainEvent("trends.exported", "trends", None, {
            "document": [None, document], "period": [None, f"{report['from']}/{report['to']}"],
            "filters": [None, report["filters"]], "file_sha256": [None, sha256]}, actor_id=actor_id))
        uow.commit()

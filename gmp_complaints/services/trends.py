"""Trends for the quarterly review (SOP §7; DESIGN §2 review, §6 Trends; TR-01, TR-04): the read model
behind ``GET /api/v1/trends``, its page and its CSV/XLSX, and the signal rules as audited configuration.

Complaints are counted by ``received_on`` (void ones are not complaints and are left out), units from the
distribution records shipped in the period. Every figure is aggregated in the database; the rules of
``domain.trends`` then work on the small grouped results, so a year over a large history costs a handful
of grouped queries, not a pass over every row in Python.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta, timezone

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
        config = _signal_configuration(session)
        periods = [period, *previous_periods(period)]
        quarters = _quarters_ending_in(period)
        products = {pid: (code, markets) for pid, code, markets in session.execute(
            sa.select(Product.id, Product.code, Product.markets))}
        shown = quarters[0].before(config.u_chart_quarters) + quarters if quarters else []
        units = _Units(session, periods, shown, scope, products)
        figures = [_period_figures(groups, dict(units.periods[index]), products)
                   for index, groups in enumerate(_complaint_groups(session, periods, scope))]
        current = figures[0]
        current["by_batch"] = _counted(session, sa.select(Batch.batch_no, sa.func.count(sa.distinct(Complaint.id))).join(
            ComplaintBatch, ComplaintBatch.batch_id == Batch.id).join(
            Complaint, Complaint.id == ComplaintBatch.complaint_id).where(
            Complaint.received_on.between(period.start, period.end), *scope.where()).group_by(Batch.batch_no))
        current["by_batch"] = dict(sorted(current["by_batch"].items()))
        near = _complaints_near(session, period, scope, config, products)
        signals = _signals(session, period, quarters, shown, scope, config, near, units, products)
        report = {
            "from": period.start.isoformat(), "to": period.end.isoformat(),
            "filters": {"product_code": product_code, "complaint_type": complaint_type},
            **current,
            "empty": current["complaints"] == 0,
            "previous": [{"from": p.start.isoformat(), "to": p.end.isoformat(),
                          **{k: v for k, v in f.items() if k in ("complaints", "by_class", "by_type", "rates",
                                                                  "units_distributed", "per_million")}}
                         for p, f in zip(periods[1:], figures[1:], strict=True)],
            "timeliness": _timeliness(session, period, near),
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


def _complaint_groups(session, periods: list[Period], scope: _Scope) -> list[list[tuple]]:
    """One grouped query for every period: (product id, type, channel, class, count) per period, the
    periods being consecutive and of one length (the report's period first)."""
    bucket = sa.case(*((Complaint.received_on >= p.start, index) for index, p in enumerate(periods[:-1])),
                     else_=len(periods) - 1)
    rows = session.execute(sa.select(bucket, Complaint.product_id, Complaint.complaint_type, Complaint.channel,
                                     Complaint.complaint_class, sa.func.count()).where(
        Complaint.received_on.between(periods[-1].start, periods[0].end), *scope.where()).group_by(
        bucket, Complaint.product_id, Complaint.complaint_type, Complaint.channel, Complaint.complaint_class))
    groups: list[list[tuple]] = [[] for _ in periods]
    for index, *rest in rows:
        groups[index].append(tuple(rest))
    return groups


class _Units:
    """Units shipped per product in each period of the report and in each quarter of its u-charts, from
    one grouped pass over the distribution records (periods and quarters as CASE buckets)."""

    def __init__(self, session, periods: list[Period], quarters: list[Quarter], scope: _Scope, products: dict):
        def bucket(column, spans):
            return sa.case(*((column.between(span.start, span.end), index) for index, span in enumerate(spans)),
                           else_=None)

        spans = [q.period for q in quarters]
        start = min([periods[-1].start] + [span.start for span in spans])
        end = max([periods[0].end] + [span.end for span in spans])
        by_period, by_quarter = bucket(Distribution.shipped_on, periods), bucket(Distribution.shipped_on, spans)
        query = sa.select(Batch.product_id, by_period, by_quarter, sa.func.sum(Distribution.quantity)).join(
            Batch, Batch.id == Distribution.batch_id).where(Distribution.shipped_on.between(start, end)).group_by(
            Batch.product_id, by_period, by_quarter)
        if scope.product_id is not None:
            query = query.where(Batch.product_id == scope.product_id)
        self.periods: list[Counter] = [Counter() for _ in periods]
        self.quarters: dict[str, Counter] = defaultdict(Counter)
        for pid, period_index, quarter_index, total in session.execute(query):
            code = products[pid][0]
            if period_index is not None:
                self.periods[period_index][code] += int(total or 0)
            if quarter_index is not None:
                self.quarters[code][quarters[quarter_index].label()] += int(total or 0)


def _period_figures(groups: list[tuple], units: dict[str, int], products: dict) -> dict:
    by_class, by_type, by_channel, by_product, by_market = (Counter() for _ in range(5))
    for product_id, kind, channel, klass, count in groups:
        code, markets = products[product_id]
        by_class[klass or "unclassified"] += count
        by_type[kind] += count
        by_channel[channel] += count
        by_product[code] += count
        for market in split_markets(markets):
            by_market[market] += count
    total = sum(by_product.values())
    total_units = sum(units.values())
    return {
        "complaints": total,
        "by_class": {key: by_class.get(key, 0) for key in CLASS_KEYS},
        "by_type": {t.value: by_type.get(t.value, 0) for t in ComplaintType},
        "by_channel": dict(sorted(by_channel.items())),
        "by_product": dict(sorted(by_product.items())),
        "by_batch": {},
        "by_market": dict(sorted(by_market.items())),
        "proportions": {"by_class": proportions(dict(by_class)), "by_type": proportions(dict(by_type)),
                        "by_channel": proportions(dict(by_channel)), "by_product": proportions(dict(by_product))},
        "rates": [{"product_code": code, "complaints": by_product.get(code, 0), "units_distributed": units.get(code, 0),
                   "per_million": per_million(by_product.get(code, 0), units.get(code, 0))}
                  for code in sorted(set(by_product) | {c for c, n in units.items() if n})],
        "units_distributed": total_units,
        "per_million": per_million(total, total_units),
    }


def _complaints_near(session, period: Period, scope: _Scope, config, products: dict) -> list[tuple]:
    """The complaints from a recurrence window before the period to its end, with the dates timeliness
    reads: (reference, product code, type, received, class, acknowledged, classified, investigated, first
    reply, closed)."""
    since = period.start - timedelta(days=config.recurrence_window_days)
    in_range = Complaint.received_on.between(since, period.end)
    first_replies = sa.select(ComplaintReply.complaint_id, sa.func.min(ComplaintReply.replied_on).label("on")).join(
        Complaint, Complaint.id == ComplaintReply.complaint_id).where(in_range).group_by(
        ComplaintReply.complaint_id).subquery()
    rows = session.execute(sa.select(
        Complaint.number, Complaint.intake_ref, Complaint.product_id, Complaint.complaint_type, Complaint.received_on,
        Complaint.complaint_class, Complaint.acknowledged_on, Complaint.classified_on, Complaint.investigated_on,
        first_replies.c.on, Complaint.closed_on).outerjoin(
        first_replies, first_replies.c.complaint_id == Complaint.id).where(in_range, *scope.where()))
    return [(number or ref, products[pid][0], *rest) for number, ref, pid, *rest in rows]


def _timeliness(session, period: Period, near: list[tuple]) -> dict:
    """Per class, for the complaints received in the period: how many kept each time limit (done by its
    due day; an approved extension is not counted as kept), and the median and 90th percentile of the
    calendar days from receipt to closure of those closed."""
    rules = load_deadline_rules(session)
    due_cache: dict[tuple[date, int], date] = {}

    def due(received_on: date, days: int) -> date:
        key = (received_on, days)
        if key not in due_cache:  # many complaints share a received date
            due_cache[key] = rules.calendar.add_working_days(received_on, days)
        return due_cache[key]

    per_class: dict[str, list[tuple]] = defaultdict(list)
    for row in near:
        if row[4] is not None and period.start <= row[3] <= period.end:
            per_class[row[4]].append(row)
    result = {}
    for klass in ComplaintClass:
        limits, mine = rules.config.per_class[klass], per_class.get(klass.value, [])
        steps = {}
        for index, step in enumerate(TIMELINESS_STEPS):
            due_days = getattr(limits, step)
            done = [(row[3], row[5 + index]) for row in mine if row[5 + index] is not None]
            met = sum(1 for received_on, on in done if on <= due(received_on, due_days))
            steps[step] = {"done": len(done), "met": met, "share_met": round(met / len(done), 4) if done else None}
        days_to_closure = [(row[9] - row[3]).days for row in mine if row[9] is not None]
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


def _signals(session, period: Period, quarters: list[Quarter], shown: list[Quarter], scope: _Scope, config,
             near: list[tuple], units: _Units, products: dict) -> dict:
    """Recurrence and class I from the complaints near the period; the u-chart per product for every
    quarter that ends in the period, against the quarters before it."""
    facts = [ComplaintFact(ref, code, kind, received_on, klass) for ref, code, kind, received_on, klass, *_ in near]
    signals = recurrence_signals(facts, period, config) + class_i_signals(facts, period)
    charts = []
    if quarters:
        first, last = shown[0].period.start, shown[-1].period.end
        labels: dict[date, str] = {}

        def label_of(day: date) -> str:
            if day not in labels:
                labels[day] = Quarter.of(day).label()
            return labels[day]

        complaints = defaultdict(Counter)
        for pid, received_on, count in session.execute(sa.select(
                Complaint.product_id, Complaint.received_on, sa.func.count()).where(
                Complaint.received_on.between(first, last), *scope.where()).group_by(
                Complaint.product_id, Complaint.received_on)):
            complaints[products[pid][0]][label_of(received_on)] += count
        shipped = units.quarters
        for code in sorted(set(complaints) | set(shipped)):
            counts = {label: (complaints[code].get(label, 0), shipped[code].get(label, 0))
                      for label in set(complaints[code]) | set(shipped[code])}
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
    reason, change_control_ref = fields.pop("reason"), fields.pop("change_control_ref")
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
            "signal_rules": [before_lines, _setting_lines(session)]}, reason=reason, actor_id=actor_id,
            change_control_ref=change_control_ref))
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

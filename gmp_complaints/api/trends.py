"""Trends under /api/v1 (DESIGN §6: ``GET /trends?from=&to=[&product_code=]``) and the signal rules."""
from __future__ import annotations

import hashlib

from flask import Response, g, jsonify, request

from gmp_complaints.api import _body, api_v1
from gmp_complaints.services import trends
from gmp_complaints.spreadsheets import xlsx
from gmp_complaints.web import uow
from gmp_complaints.web.documents import table_csv


@api_v1.route("/trends")
def trend_report():
    """The period's figures and signals; ``format=csv`` or ``format=xlsx`` for the same as a table."""
    report = trends.trends(uow(), trends.parse_query(request.args))
    form = request.args.get("format")
    if form not in ("csv", "xlsx"):
        return jsonify(report)
    rows = trends.report_table(report)
    if form == "csv":
        data, mimetype = table_csv(trends.TABLE_HEADERS, rows), "text/csv"
    else:
        data = xlsx(f"Trends {report['from']} – {report['to']}", "trends", trends.TABLE_HEADERS, rows)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    trends.record_export(uow(), report, document=form, sha256=hashlib.sha256(data).hexdigest(),
                         actor_id=g.principal.id)
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="trends-{report["from"]}-{report["to"]}.{form}"'})


@api_v1.route("/trends/rules", methods=["GET"])
def trend_rules():
    return jsonify(trends.signal_rules(uow()))


@api_v1.route("/trends/rules", methods=["POST"])
def change_trend_rules():
    """``{<setting>: value, ..., reason}``: the QA head changes the signal rules (audited)."""
    return jsonify(trends.change_signal_rules(uow(), _body(), actor_id=g.principal.id))

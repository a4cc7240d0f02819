"""Trends under /api/v1 (DESIGN §6: ``GET /trends?from=&to=[&product_code=]``) and the signal rules."""
from __future__ import annotations

import hashlib
import json

from flask import Response, g, jsonify, request

from gmp_complaints.api import _body, api_v1
from gmp_complaints.domain.errors import Msg, ValidationError
from gmp_complaints.domain.roles import Actor
from gmp_complaints.printing import annual_review_pdf, quarterly_review_pdf
from gmp_complaints.services import product_review, quarterly_reviews, trend_reviews, trends
from gmp_complaints.spreadsheets import csv_table, reproducible_workbook, xlsx
from gmp_complaints.web import client_ip, uow


@api_v1.route("/trends")
def trend_report():
    """The period's figures and signals; ``format=csv`` or ``format=xlsx`` for the same as a table."""
    report = trends.trends(uow(), trends.parse_query(request.args))
    form = request.args.get("format")
    if form not in ("csv", "xlsx"):
        return jsonify(report)
    rows = trends.report_table(report)
    if form == "csv":
        data, mimetype = csv_table(trends.TABLE_HEADERS, rows), "text/csv"
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


@api_v1.route("/trend-reviews")
def trend_reviews_list():
    """``?status=open|capa_raised|no_capa``: the signals under review, the newest first."""
    return jsonify({"trend_reviews": trend_reviews.list_reviews(uow(), status=request.args.get("status") or None)})


@api_v1.route("/trend-reviews/<int:review_id>")
def trend_review(review_id: int):
    return jsonify(trend_reviews.get_review(uow(), review_id))


@api_v1.route("/trend-reviews/<int:review_id>/evaluation", methods=["POST"])
def trend_review_evaluation(review_id: int):
    """``{evaluation, decision: capa|no_capa, capa: {...} | username, password}`` (QA head)."""
    return jsonify(trend_reviews.evaluate(uow(), review_id, _body(), actor=Actor(g.principal.id, g.principal.roles),
                                          source_ip=client_ip()))


@api_v1.route("/products/<code>/annual-review")
def product_annual_review(code: str):
    """``?year=2026[&format=pdf|xlsx][&lang=en]``: the annual product review extract; the same query
    gives the same bytes while the records are unchanged; every extract is audited with its SHA-256."""
    year = product_review.parse_year(request.args.get("year"))
    extract = product_review.annual_review(uow(), code, year)
    form = request.args.get("format") or "json"
    if form == "pdf":
        locale = "en" if request.args.get("lang") == "en" else "zh_Hans_CN"
        data, mimetype = annual_review_pdf(extract, locale), "application/pdf"
    elif form == "xlsx":
        title = f"{extract['product']['code']} {year} · data SHA-256 {extract['data_sha256']}"
        data = reproducible_workbook(title, [(name, columns, product_review.sheet_rows(extract, name))
                                             for name, columns in product_review.SHEETS.items()])
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif form == "json":
        data, mimetype = json.dumps(extract, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8"), \
            "application/json"
    else:
        raise ValidationError(Msg("Unknown format."), {"format": [Msg("One of json, pdf or xlsx.")]})
    product_review.record_export(uow(), extract, document=form, sha256=hashlib.sha256(data).hexdigest(),
                                 actor_id=g.principal.id)
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="annual-review-{code}-{year}.{form}"'})


@api_v1.route("/quarterly-reviews", methods=["GET"])
def quarterly_reviews_list():
    return jsonify({"quarterly_reviews": quarterly_reviews.list_reviews(uow())})


@api_v1.route("/quarterly-reviews", methods=["POST"])
def quarterly_review_prepare():
    """``{quarter, conclusions}`` → 201: the quarter's figures frozen (the complaint administrator)."""
    return jsonify(quarterly_reviews.prepare(uow(), _body(), actor=Actor(g.principal.id, g.principal.roles))), 201


@api_v1.route("/quarterly-reviews/<int:review_id>")
def quarterly_review(review_id: int):
    return jsonify(quarterly_reviews.review(uow(), review_id))


@api_v1.route("/quarterly-reviews/<int:review_id>/approval", methods=["POST"])
def quarterly_review_approval(review_id: int):
    """``{username, password, comment}``: the QA head's signature."""
    return jsonify(quarterly_reviews.approve(uow(), review_id, _body(), actor=Actor(g.principal.id, g.principal.roles),
                                             source_ip=client_ip()))


@api_v1.route("/quarterly-reviews/<int:review_id>/report.pdf")
def quarterly_review_report(review_id: int):
    """The review report (``?lang=en`` for English), rendered from the frozen figures; audited."""
    locale = "en" if request.args.get("lang") == "en" else "zh_Hans_CN"
    data = quarterly_review_pdf(quarterly_reviews.review(uow(), review_id), locale)
    quarterly_reviews.record_report_export(uow(), review_id, sha256=hashlib.sha256(data).hexdigest(), locale=locale,
                                           actor_id=g.principal.id)
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="quarterly-review-{review_id}.pdf"'})

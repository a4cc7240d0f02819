"""The trend page (SOP §7; DESIGN §2 review): the figures of a period, its charts and signals, with the
CSV and XLSX of the API. The charts are the SVG the review PDF uses."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from gmp_complaints.charts import data_uri
from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaints import ComplaintType
from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.domain.roles import Actor
from gmp_complaints.domain.trends import REVIEW_STATUS_LABELS, SIGNAL_RULE_LABELS, Quarter, ReviewStatus
from gmp_complaints.i18n import complaint_labels, translate
from gmp_complaints.printing import charts_for
from gmp_complaints.services import trend_reviews, trends
from gmp_complaints.web import client_ip, uow
from gmp_complaints.web.forms import run_form
from signatures.statement import statement_text

bp = Blueprint("trends", __name__, url_prefix="/trends")
bp.add_app_template_filter(data_uri, "svg_uri")


@bp.route("/")
def index():
    """The trend page; by default the last full quarter."""
    args = request.args.to_dict()
    if not args.get("from") and not args.get("to"):
        today = business_today(current_app.config["GMP_SETTINGS"])
        last = Quarter.of(Quarter.of(today).period.start - timedelta(days=1)).period
        args.update({"from": last.start.isoformat(), "to": last.end.isoformat()})
    errors, report, charts = {}, None, {}
    try:
        report = trends.trends(uow(), trends.parse_query(args))
        charts = charts_for(report)
    except ValidationError as exc:
        errors = {name: [translate(m) for m in messages] for name, messages in exc.fields.items()}
    return render_template("trends/index.html", report=report, charts=charts, errors=errors, args=args,
                           types=list(ComplaintType), labels=complaint_labels(),
                           rule_labels={k.value: translate(v) for k, v in SIGNAL_RULE_LABELS.items()}), (
        400 if errors else 200)


@bp.route("/reviews")
def reviews(errors: dict | None = None, open_form: int | None = None, form: dict | None = None):
    """The trend reviews: what waits for the QA head's evaluation first, then the decided ones."""
    rows = trend_reviews.list_reviews(uow())
    rows.sort(key=lambda r: (r["status"] != ReviewStatus.open.value, -r["id"]))
    return render_template("trends/reviews.html", reviews=rows, errors=errors or {}, open_form=open_form,
                           form=form or {}, labels=complaint_labels(),
                           status_labels={k.value: translate(v) for k, v in REVIEW_STATUS_LABELS.items()},
                           rule_labels={k.value: translate(v) for k, v in SIGNAL_RULE_LABELS.items()},
                           statement=statement_text(str(get_locale())))


@bp.route("/reviews/<int:review_id>/evaluation", methods=["POST"])
def review_evaluation(review_id: int):
    form = request.form
    data = {"evaluation": form.get("evaluation") or None, "decision": form.get("decision") or None,
            "username": form.get("username") or None, "password": form.get("password") or None}
    if data["decision"] == "capa":
        data["capa"] = {name: form.get(f"capa_{name}") or None for name in (
            "problem_statement", "root_cause", "risk", "effectiveness_criteria", "effectiveness_due_on")}
    kept = {k: v for k, v in form.items() if k not in ("password", "csrf_token")}
    return run_form(lambda: trend_reviews.evaluate(uow(), review_id, data, actor=Actor(current_user.id, current_user.roles),
                                                   source_ip=client_ip()),
                    show_errors=lambda errors: reviews(errors={k.replace("capa.", "capa_"): v for k, v in errors.items()},
                                                       open_form=review_id, form=kept),
                    done_url=url_for("trends.reviews"))

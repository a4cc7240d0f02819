"""Due dates kept on an earlier calendar and their explicit recalculation (WF-05), and the ADR reporting clocks
per market (HO-01), under /api/v1."""
from __future__ import annotations

from flask import g, jsonify

from gmp_complaints.api import _body, api_v1
from gmp_complaints.domain.roles import Actor
from gmp_complaints.services import adr_clocks, due_dates
from gmp_complaints.web import uow


def _actor() -> Actor:
    return Actor(g.principal.id, g.principal.roles)


@api_v1.route("/complaints/<int:complaint_id>/deadline-recalculation", methods=["POST"])
def complaint_deadline_recalculation(complaint_id: int):
    """``{reason}``: QA moves the complaint's due dates calculated on an earlier calendar → 200 with the complaint."""
    return jsonify(due_dates.recalculate_due_dates(uow(), complaint_id, _body(), actor=_actor()))


@api_v1.route("/deadline-recalculations")
def deadline_recalculations():
    return jsonify({"complaints": due_dates.due_dates_to_recalculate(uow())})


@api_v1.route("/deadline-recalculations", methods=["POST"])
def recalculate_deadlines():
    """``{reason, complaint_ids}``: the listed complaints' due dates (all, or those named) → 200."""
    return jsonify(due_dates.recalculate_listed_due_dates(uow(), _body(), actor=_actor()))


@api_v1.route("/adr-clocks")
def adr_clock_list():
    return jsonify({"adr_clocks": adr_clocks.list_adr_clocks(uow())})


@api_v1.route("/adr-clocks/<code>", methods=["POST"])
def change_adr_clock(code: str):
    """``{days, reason, change_control_ref}`` (administrator) → 200 with every clock."""
    return jsonify({"adr_clocks": adr_clocks.change_adr_clock(uow(), code, _body(), actor=_actor())})

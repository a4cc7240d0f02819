"""Compensation under /api/v1 (SOP 5.5.1): the terms of a complaint's compensation, its signed approval,
and the approval ladder and authorities the administrator keeps."""
from __future__ import annotations

from flask import g, jsonify

from gmp_complaints.api import _body, api_v1
from gmp_complaints.domain.roles import Actor
from gmp_complaints.services import compensation, compensation_records
from gmp_complaints.web import client_ip, uow


def _actor() -> Actor:
    return Actor(g.principal.id, g.principal.roles)


@api_v1.route("/complaints/<int:complaint_id>/compensations", methods=["POST"])
def complaint_compensation(complaint_id: int):
    return jsonify(compensation.propose(uow(), complaint_id, _body(), actor=_actor())), 201


@api_v1.route("/complaints/<int:complaint_id>/compensations/<int:sequence>/decision", methods=["POST"])
def complaint_compensation_decision(complaint_id: int, sequence: int):
    return jsonify(compensation.decide(uow(), complaint_id, sequence, _body(), actor=_actor(), source_ip=client_ip()))


@api_v1.route("/compensation-authorities")
def compensation_authorities():
    return jsonify(compensation_records.configuration_view(uow()))


@api_v1.route("/compensation-authorities", methods=["POST"])
def set_compensation_authority():
    return jsonify(compensation_records.set_authority(uow(), _body(), actor_id=g.principal.id))


@api_v1.route("/compensation-ladder", methods=["POST"])
def change_compensation_limit():
    return jsonify(compensation_records.change_limit(uow(), _body(), actor_id=g.principal.id))

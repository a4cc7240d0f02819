"""The pharmacovigilance hand-off under /api/v1 (DESIGN §6: ``POST /complaints/<id>/adr``)."""
from __future__ import annotations

from flask import g, jsonify

from gmp_complaints.api import _body, api_v1
from gmp_complaints.domain.roles import Actor
from gmp_complaints.services import pharmacovigilance
from gmp_complaints.web import uow


def _actor() -> Actor:
    return Actor(g.principal.id, g.principal.roles)


@api_v1.route("/complaints/<int:complaint_id>/adr", methods=["POST"])
def complaint_adr_hand_off(complaint_id: int):
    """``{aware_on, seriousness, unexpected, reporter, patient, reaction}`` → 201 with the complaint."""
    return jsonify(pharmacovigilance.hand_off(uow(), complaint_id, _body(), actor=_actor())), 201


@api_v1.route("/complaints/<int:complaint_id>/adr/<int:sequence>/elements", methods=["POST"])
def complaint_adr_elements(complaint_id: int, sequence: int):
    return jsonify(pharmacovigilance.complete_elements(uow(), complaint_id, sequence, _body(), actor=_actor()))


@api_v1.route("/complaints/<int:complaint_id>/adr/<int:sequence>/acceptance", methods=["POST"])
def complaint_adr_acceptance(complaint_id: int, sequence: int):
    return jsonify(pharmacovigilance.accept(uow(), complaint_id, sequence, actor=_actor()))


@api_v1.route("/complaints/<int:complaint_id>/adr/<int:sequence>/submission", methods=["POST"])
def complaint_adr_submission(complaint_id: int, sequence: int):
    return jsonify(pharmacovigilance.record_submission(uow(), complaint_id, sequence, _body(), actor=_actor()))

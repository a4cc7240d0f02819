"""CAPA under /api/v1 (DESIGN §4): the same bearer tokens, error shape and authorisation matrix."""
from __future__ import annotations

from flask import g, jsonify, request

from gmp_complaints.api import _body, api_v1
from gmp_complaints.domain.roles import Actor
from gmp_complaints.services import capa as service
from gmp_complaints.web import client_ip, uow


def _actor() -> Actor:
    return Actor(g.principal.id, g.principal.roles)


@api_v1.route("/capas", methods=["POST"])
def create_capa():
    return jsonify(service.create_capa(uow(), _body(), actor=_actor())), 201


@api_v1.route("/capas")
def capas():
    return jsonify({"capas": service.list_capas(uow(), status=request.args.get("status") or None)})


@api_v1.route("/capas/my-actions")
def my_capa_actions():
    return jsonify({"actions": service.my_actions(uow(), user_id=g.principal.id)})


@api_v1.route("/capas/<int:capa_id>")
def capa(capa_id: int):
    return jsonify(service.get_capa(uow(), capa_id))


@api_v1.route("/capas/<int:capa_id>/complaints", methods=["POST"])
def link_capa_complaint(capa_id: int):
    return jsonify(service.link_complaint(uow(), capa_id, _body(), actor=_actor()))


@api_v1.route("/capas/<int:capa_id>/sources", methods=["POST"])
def link_capa_source(capa_id: int):
    """``{source_type, reference}``: another source (WF-13); a CAPA found not effective makes this its follow-up."""
    return jsonify(service.link_source(uow(), capa_id, _body(), actor=_actor()))


@api_v1.route("/capas/<int:capa_id>/follow-ups", methods=["POST"])
def link_capa_follow_up(capa_id: int):
    """``{capa_number}``: an existing CAPA follows up this one, found not effective (WF-14)."""
    return jsonify(service.link_follow_up(uow(), capa_id, _body(), actor=_actor()))


@api_v1.route("/capas/<int:capa_id>/plan-details", methods=["POST"])
def capa_plan_details(capa_id: int):
    """``{change_control_required?, change_control_ref?, effectiveness_criteria?, effectiveness_due_on?, reason?}``."""
    return jsonify(service.record_plan_details(uow(), capa_id, _body(), actor=_actor()))


@api_v1.route("/capas/<int:capa_id>/actions", methods=["POST"])
def add_capa_action(capa_id: int):
    return jsonify(service.add_action(uow(), capa_id, _body(), actor=_actor())), 201


@api_v1.route("/capas/<int:capa_id>/actions/<int:action_id>/evidence", methods=["POST"])
def add_capa_evidence(capa_id: int, action_id: int):
    """multipart/form-data with ``file``."""
    upload = request.files.get("file")
    return jsonify(service.add_evidence(uow(), capa_id, action_id, filename=upload.filename if upload else "",
                                        data=upload.read() if upload else b"", actor=_actor())), 201


@api_v1.route("/capas/<int:capa_id>/evidence/<int:evidence_id>")
def capa_evidence(capa_id: int, evidence_id: int):
    from gmp_complaints.web.attachments import file_response

    return file_response(*service.read_evidence(uow(), capa_id, evidence_id))


def _action_view(service_name: str, signed: bool):
    def view(capa_id: int, action_id: int):
        function = getattr(service, service_name)
        extra = {"source_ip": client_ip()} if signed else {}
        return jsonify(function(uow(), capa_id, action_id, _body(), actor=_actor(), **extra))

    view.__name__ = f"capa_{service_name}"
    return view


#: path → (service function, signed by the QA head?) for the steps on one action
ACTION_STEPS = {
    "implementation": ("record_implementation", False),
    "due-date-requests": ("request_due_date_change", False),
    "implementation-approval": ("approve_implementation", True),
    "due-date-approval": ("approve_due_date_change", True),
}
for _path, (_service, _signed) in ACTION_STEPS.items():
    api_v1.add_url_rule(f"/capas/<int:capa_id>/actions/<int:action_id>/{_path}", endpoint=f"capa_{_service}",
                        view_func=_action_view(_service, _signed), methods=["POST"])


@api_v1.route("/capas/<int:capa_id>/plan-approval", methods=["POST"])
def capa_plan_approval(capa_id: int):
    """``{username, password, comment}``: the head of quality approves the plan (its actions and owners)."""
    return jsonify(service.approve_plan(uow(), capa_id, _body(), actor=_actor(), source_ip=client_ip()))


@api_v1.route("/capas/<int:capa_id>/effectiveness", methods=["POST"])
def capa_effectiveness(capa_id: int):
    return jsonify(service.record_effectiveness(uow(), capa_id, _body(), actor=_actor(), source_ip=client_ip()))


@api_v1.route("/capas/<int:capa_id>/effectiveness-waiver", methods=["POST"])
def capa_effectiveness_waiver(capa_id: int):
    """``{justification, username, password}``: the head of quality signs why no effectiveness check is needed."""
    return jsonify(service.waive_effectiveness(uow(), capa_id, _body(), actor=_actor(), source_ip=client_ip()))


@api_v1.route("/capas/<int:capa_id>/escalation", methods=["POST"])
def capa_escalation(capa_id: int):
    """``{reason, username, password}``: the head of quality escalates a result "not effective"."""
    return jsonify(service.escalate_not_effective(uow(), capa_id, _body(), actor=_actor(), source_ip=client_ip()))


@api_v1.route("/capas/<int:capa_id>/closure", methods=["POST"])
def capa_closure(capa_id: int):
    return jsonify(service.close_capa(uow(), capa_id, _body(), actor=_actor(), source_ip=client_ip()))

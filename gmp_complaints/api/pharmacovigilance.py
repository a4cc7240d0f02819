"""The pharmacovigilance hand-off under /api/v1 (DESIGN §6: ``POST /complaints/<id>/adr``)."""
from __future__ import annotations

import hashlib
import json

from flask import Response, current_app, g, jsonify

from gmp_complaints.api import _body, api_v1
from gmp_complaints.domain.roles import Actor
from gmp_complaints.e2b import icsr_xml
from gmp_complaints.printing import adr_packet_pdf
from gmp_complaints.services import pharmacovigilance
from gmp_complaints.web import uow
from gmp_complaints.web.documents import document_locale, pdf_response


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


@api_v1.route("/complaints/<int:complaint_id>/adr/<int:sequence>/packet")
def complaint_adr_packet(complaint_id: int, sequence: int):
    """The hand-off packet as JSON (canonical: sorted keys), its export audited with its SHA-256."""
    data = json.dumps(pharmacovigilance.packet(uow(), complaint_id, sequence, roles=g.principal.roles),
                      ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
    pharmacovigilance.record_packet_export(uow(), complaint_id, sequence, document="json",
                                           sha256=hashlib.sha256(data).hexdigest(), actor_id=g.principal.id)
    return Response(data, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="adr-{complaint_id}-{sequence}.json"'})


@api_v1.route("/complaints/<int:complaint_id>/adr/<int:sequence>/packet.pdf")
def complaint_adr_packet_pdf(complaint_id: int, sequence: int):
    data = adr_packet_pdf(pharmacovigilance.packet(uow(), complaint_id, sequence, roles=g.principal.roles),
                          document_locale())
    pharmacovigilance.record_packet_export(uow(), complaint_id, sequence, document="pdf",
                                           sha256=hashlib.sha256(data).hexdigest(), actor_id=g.principal.id)
    return pdf_response(data, f"adr-{complaint_id}-{sequence}.pdf")


@api_v1.route("/complaints/<int:complaint_id>/adr/<int:sequence>/e2b.xml")
def complaint_adr_e2b(complaint_id: int, sequence: int):
    """The minimum case as an ICH E2B(R3) ICSR message, for import into the safety database."""
    data = icsr_xml(pharmacovigilance.packet(uow(), complaint_id, sequence, roles=g.principal.roles),
                    sender=current_app.config["GMP_SETTINGS"].site_id)
    pharmacovigilance.record_packet_export(uow(), complaint_id, sequence, document="e2b_r3_xml",
                                           sha256=hashlib.sha256(data).hexdigest(), actor_id=g.principal.id)
    return Response(data, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="adr-{complaint_id}-{sequence}-e2b.xml"'})


@api_v1.route("/complaints/<int:complaint_id>/adr/<int:sequence>/investigation-requests", methods=["POST"])
def complaint_adr_investigation_request(complaint_id: int, sequence: int):
    """``{question, batch_nos}`` → 201 with the complaint: PV asks for a batch-quality investigation."""
    return jsonify(pharmacovigilance.request_investigation(uow(), complaint_id, sequence, _body(),
                                                           actor=_actor())), 201


@api_v1.route("/complaints/<int:complaint_id>/adr/<int:sequence>/investigation-requests/<int:number>/answer",
              methods=["POST"])
def complaint_adr_investigation_answer(complaint_id: int, sequence: int, number: int):
    return jsonify(pharmacovigilance.answer_investigation_request(uow(), complaint_id, sequence, number, _body(),
                                                                  actor=_actor()))

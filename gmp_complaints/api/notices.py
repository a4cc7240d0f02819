"""Notices under /api/v1 (WF-10, WF-11): the acknowledgement of a notice by the person told, the delivery log
of the notices, and the responsible officials the administrator keeps."""
from __future__ import annotations

from flask import g, jsonify, request

from gmp_complaints.api import _body, api_v1
from gmp_complaints.domain.plausibility import MAX_ID
from gmp_complaints.domain.roles import Actor
from gmp_complaints.services import notices, responsible_officials
from gmp_complaints.web import uow
from gmp_complaints.web.bounds import query_number


def _actor() -> Actor:
    return Actor(g.principal.id, g.principal.roles)


@api_v1.route("/notices/<int:notice_id>/acknowledgement", methods=["POST"])
def acknowledge_notice(notice_id: int):
    """``{id, kind, record_label, acknowledged_at, acknowledged_by}``; someone else's notice 403, a notice that
    asks for no acknowledgement or one already acknowledged 409."""
    return jsonify(notices.acknowledge_notice(uow(), notice_id, actor=_actor()))


@api_v1.route("/notices/delivery")
def notice_delivery():
    """``?subject_type=&subject_id=&kind=``: ``{notices: [{id, kind, record_label, recipient, created_at, read_at,
    acknowledged_at, acknowledged_by, delivery: {status, attempts, sent_at, last_error}}]}``."""
    return jsonify({"notices": notices.delivery_log(
        uow(), subject_type=request.args.get("subject_type") or None,
        subject_id=query_number("subject_id", minimum=1, maximum=MAX_ID), kind=request.args.get("kind") or None)})


@api_v1.route("/responsible-officials")
def responsible_official_list():
    return jsonify(responsible_officials.officials_view(uow()))


@api_v1.route("/responsible-officials", methods=["POST"])
def set_responsible_officials():
    return jsonify(responsible_officials.set_responsible_officials(uow(), _body(), actor=_actor()))

"""Access requests and security alerts under /api/v1: the administrator requests a new account, a change of roles or
a deactivation (SEC-04; a service account for a system integration too, SEC-01), the head of quality decides it,
and the alerts on repeated failed log-ins and signings are read (SEC-06)."""
from __future__ import annotations

from flask import g, jsonify, request

from gmp_complaints.api import _body, api_v1
from gmp_complaints.domain.plausibility import MAX_ID
from gmp_complaints.domain.roles import Actor
from gmp_complaints.services import access_requests, security_alerts
from gmp_complaints.web import client_ip, format_datetime_iso, uow
from gmp_complaints.web.bounds import query_number


@api_v1.route("/access-requests", endpoint="access_requests")
def access_requests_list():
    """``{pending: [...], decided: [...]}`` (``?status=pending|decided``, ``?user_id=``)."""
    return jsonify(access_requests.list_access_requests(
        uow(), status=request.args.get("status"), user_id=query_number("user_id", minimum=1, maximum=MAX_ID)))


@api_v1.route("/access-requests", methods=["POST"])
def request_access_change():
    """``{kind, reason, ...}``: recorded, not yet effective; 201 with the request (and, for a new account, its
    one-time ``temporary_password``)."""
    return jsonify(access_requests.request_access_change(uow(), _body(), actor_id=g.principal.id)), 201


@api_v1.route("/access-requests/<int:request_id>/decision", methods=["POST"])
def decide_access_request(request_id: int):
    """``{decision: approve|reject, comment, username, password}``: the head of quality's decision."""
    return jsonify(access_requests.decide_access_request(
        uow(), request_id, _body(), actor=Actor(g.principal.id, g.principal.roles), source_ip=client_ip()))


@api_v1.route("/security-alerts", endpoint="security_alerts")
def security_alerts_list():
    """``{alerts: [{id, raised_at, username, kinds, failure_count, first_failure_at, last_failure_at,
    source_addresses, event_indices, ...}]}``, newest first."""
    return jsonify({"alerts": [{**a, **{k: format_datetime_iso(a[k]) for k in ("raised_at", "first_failure_at",
                                                                                "last_failure_at")}}
                               for a in security_alerts.list_alerts(uow())]})

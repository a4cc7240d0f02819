"""Recalls, returned goods and the regulator-notification register under /api/v1 (DESIGN §6)."""
from __future__ import annotations

from flask import g, jsonify, request

from gmp_complaints.api import _body, api_v1
from gmp_complaints.domain.roles import Actor
from gmp_complaints.services import notifications, recalls, returns
from gmp_complaints.web import client_ip, uow
from gmp_complaints.web.attachments import file_response
from gmp_complaints.web.documents import consignee_file, document_locale, email_notice_now, notice_response


def _actor() -> Actor:
    return Actor(g.principal.id, g.principal.roles)


@api_v1.route("/recalls", methods=["POST"])
def propose_recall():
    return jsonify(recalls.propose_recall(uow(), _body(), actor=_actor())), 201


@api_v1.route("/recalls")
def list_recalls():
    return jsonify({"recalls": recalls.list_recalls(uow(), status=request.args.get("status") or None)})


@api_v1.route("/recalls/<int:recall_id>")
def recall(recall_id: int):
    return jsonify(recalls.get_recall(uow(), recall_id))


@api_v1.route("/recalls/<int:recall_id>/signatures", methods=["POST"])
def sign_recall(recall_id: int):
    return jsonify(recalls.sign_recall(uow(), recall_id, _body(), actor=_actor(), source_ip=client_ip())), 201


@api_v1.route("/recalls/<int:recall_id>/market-actions", methods=["POST"])
def recall_market_actions(recall_id: int):
    """HO-05: the market-specific actions of a proposed recall, before the decision is signed."""
    return jsonify(recalls.set_market_actions(uow(), recall_id, _body(), actor=_actor()))


@api_v1.route("/recalls/<int:recall_id>/consignees")
def recall_consignees(recall_id: int):
    """``{consignees: [...]}``; ``?format=csv``, ``xlsx`` or ``pdf`` gives the file (an audited export)."""
    file_format = request.args.get("format")
    if file_format:
        return consignee_file(recall_id, file_format, g.principal.id)
    number, lines = recalls.get_consignees(uow(), recall_id)
    return jsonify({"recall": number, "consignees": lines})


@api_v1.route("/recalls/<int:recall_id>/reconciliation", methods=["POST"])
def recall_reconciliation(recall_id: int):
    return jsonify(recalls.record_reconciliation(uow(), recall_id, _body(), actor=_actor()))


@api_v1.route("/recalls/<int:recall_id>/completion", methods=["POST"])
def complete_recall(recall_id: int):
    return jsonify(recalls.complete_recall(uow(), recall_id, _body(), actor=_actor()))


@api_v1.route("/recalls/<int:recall_id>/cancellation", methods=["POST"])
def cancel_recall(recall_id: int):
    return jsonify(recalls.cancel_recall(uow(), recall_id, _body(), actor=_actor()))


@api_v1.route("/recalls/<int:recall_id>/batch-dispositions", methods=["POST"])
def dispose_recall_batch(recall_id: int):
    return jsonify(recalls.dispose_recall_batch(uow(), recall_id, _body(), actor=_actor(), source_ip=client_ip())), 201


@api_v1.route("/recalls/<int:recall_id>/effectiveness-check", methods=["POST"])
def choose_effectiveness_check(recall_id: int):
    return jsonify(recalls.choose_effectiveness_check(uow(), recall_id, _body(), actor=_actor())), 201


@api_v1.route("/recalls/<int:recall_id>/effectiveness-contacts", methods=["POST"])
def record_effectiveness_contact(recall_id: int):
    return jsonify(recalls.record_effectiveness_contact(uow(), recall_id, _body(), actor=_actor())), 201


@api_v1.route("/recalls/<int:recall_id>/notice.pdf")
def recall_notice(recall_id: int):
    """The notice to one consignee (``?consignee=``, ``?lang=en``)."""
    return notice_response(recall_id, request.args.get("consignee") or "", document_locale(), g.principal.id)


@api_v1.route("/recalls/<int:recall_id>/notice-emails", methods=["POST"])
def recall_notice_email(recall_id: int):
    """``{consignee, lang?}``: the prepared notice e-mailed through the outbox."""
    return jsonify(email_notice_now(recall_id, _body(), g.principal.id, _actor()))


@api_v1.route("/recalls/<int:recall_id>/notices", methods=["POST"])
def recall_notice_sent(recall_id: int):
    return jsonify(recalls.record_notice_sent(uow(), recall_id, _body(), actor=_actor()))


@api_v1.route("/notifications")
def list_notifications():
    return jsonify({"notifications": notifications.list_notifications(
        uow(), status=request.args.get("status") or None)})


@api_v1.route("/notifications/<int:notification_id>/copy", methods=["POST"])
def notification_copy(notification_id: int):
    """Multipart ``file``: the copy of what was sent → 201 with the entry."""
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    return jsonify(notifications.attach_copy(uow(), notification_id, filename=upload.filename if upload else "",
                                             data=data, actor=_actor())), 201


@api_v1.route("/notifications/<int:notification_id>/copy")
def notification_copy_file(notification_id: int):
    entry, data = notifications.read_copy(uow(), notification_id)
    return file_response(entry["copy"], data)


@api_v1.route("/notifications/<int:notification_id>/sent", methods=["POST"])
def notification_sent(notification_id: int):
    return jsonify(notifications.mark_sent(uow(), notification_id, _body(), actor=_actor()))


@api_v1.route("/recall-clocks")
def recall_clocks():
    return jsonify({"recall_clocks": recalls.list_recall_clocks(uow())})


@api_v1.route("/recall-clocks/<level>", methods=["POST"])
def change_recall_clock(level: str):
    return jsonify(recalls.change_recall_clock(uow(), level, _body(), actor=_actor()))


@api_v1.route("/returns", methods=["POST"])
def receive_return():
    return jsonify(returns.receive_return(uow(), _body(), actor=_actor())), 201


@api_v1.route("/returns")
def list_returns():
    status = request.args.get("status") or None
    return jsonify({"returns": returns.list_returns(uow(), roles=g.principal.roles, status=status)})


@api_v1.route("/returns/<int:return_id>")
def returned_goods(return_id: int):
    return jsonify(returns.get_return(uow(), return_id, roles=g.principal.roles))


@api_v1.route("/returns/<int:return_id>/evaluation", methods=["POST"])
def evaluate_return(return_id: int):
    return jsonify(returns.evaluate_return(uow(), return_id, _body(), actor=_actor()))


@api_v1.route("/returns/<int:return_id>/disposition", methods=["POST"])
def dispose_return(return_id: int):
    return jsonify(returns.dispose_return(uow(), return_id, _body(), actor=_actor(), source_ip=client_ip()))

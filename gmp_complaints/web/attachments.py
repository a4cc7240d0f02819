"""Downloading and uploading complaint attachments in the pages."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gmp_complaints.domain.errors import ConflictError, ValidationError
from gmp_complaints.i18n import translate
from gmp_complaints.services import attachments
from gmp_complaints.web import uow

bp = Blueprint("attachments", __name__, url_prefix="/complaints")


def attachment_response(complaint_id: int, attachment_id: int) -> Response:
    return file_response(*attachments.read_attachment(uow(), complaint_id, attachment_id))


def file_response(meta: dict, data: bytes) -> Response:
    """Always a download with the type detected at upload: a browser never renders stored content."""
    return Response(data, mimetype=meta["media_type"], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(meta['filename'])}",
        "X-Content-SHA256": meta["sha256"]})


def _quote(filename: str) -> str:
    from urllib.parse import quote

    return quote(filename, safe="")


@bp.route("/<int:complaint_id>/attachments/<int:attachment_id>")
def download(complaint_id: int, attachment_id: int):
    return attachment_response(complaint_id, attachment_id)


@bp.route("/<int:complaint_id>/attachments", methods=["POST"])
def upload(complaint_id: int):
    file = request.files.get("file")
    try:
        attachments.add_attachment(uow(), complaint_id, filename=file.filename if file else "",
                                   data=file.read() if file else b"", description=request.form.get("description"),
                                   actor_id=current_user.id)
    except ValidationError as exc:
        for messages in exc.fields.values():
            for message in messages:
                flash(translate(message), "error")
        return redirect(url_for("complaints.show", complaint_id=complaint_id)), 303
    except ConflictError as exc:  # closed or void: nothing is added, the page says why
        flash(translate(exc.message), "error")
        return redirect(url_for("complaints.show", complaint_id=complaint_id)), 303
    flash(_("Attachment added."), "info")
    return redirect(url_for("complaints.show", complaint_id=complaint_id))

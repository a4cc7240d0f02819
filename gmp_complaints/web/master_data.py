"""Master data pages: CSV import from the ERP with the transfer log, and the batch page."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import current_user

from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.i18n import complaint_labels, translate
from gmp_complaints.services import imports, master_data
from gmp_complaints.web import uow
from gmp_complaints.web.recalls import recall_labels
from gmp_complaints.web.returns import return_labels

bp = Blueprint("master_data", __name__, url_prefix="/master-data")


def _recent_transfers():
    from gmp_complaints.models import TransferLog

    unit = uow()
    with unit:
        return [dict(kind=t.kind, filename=t.filename, rows_total=t.rows_total, rows_imported=t.rows_imported,
                     result=t.result, created_at=t.created_at, file_sha256=t.file_sha256)
                for t in unit.session.scalars(sa.select(TransferLog).order_by(TransferLog.id.desc()).limit(20))]


@bp.route("/import", methods=["GET", "POST"])
def import_csv():
    result, errors = None, {}
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            result = imports.import_csv(
                uow(), kind=request.form.get("kind", ""), filename=upload.filename if upload else "",
                data=upload.read() if upload else b"", actor_id=current_user.id)
        except ValidationError as exc:
            errors = {name: [translate(m) for m in messages] for name, messages in exc.fields.items()}
    status = 400 if errors or (result and result.problems) else 200
    labels = {key: translate(value) for key, value in {**imports.KIND_LABELS, **imports.RESULT_LABELS}.items()}
    return render_template("master_data/import.html", result=result, errors=errors, columns=imports.COLUMNS, labels=labels,
                           kind=request.form.get("kind", "batches"), transfers=_recent_transfers()), status


@bp.route("/batches/<int:batch_id>")
def batch(batch_id: int):
    page = master_data.batch_page(uow(), batch_id, roles=current_user.roles)
    return render_template("master_data/batch.html", page=page,
                           recall_labels=recall_labels(), return_labels=return_labels()["status"],
                           return_channels=return_labels()["channel"],
                           labels=complaint_labels())

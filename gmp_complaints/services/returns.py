"""Returned-goods use cases (SOP 5.5.2, DESIGN §4, HO-12): receive into quarantine, evaluate, and the
QA head's signed disposition. A complaint does not close while a return linked to it is not disposed of.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa

from audit.service import actions_of_records
from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaints import Status
from gmp_complaints.domain.errors import Msg, NotFoundError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.notices import NoticeKind, OfficialScope
from gmp_complaints.domain.personal_data import RECORDED_ENCRYPTED, masked_returning_party, may_see_personal_data
from gmp_complaints.domain.returns import (
    Disposition,
    Evaluation,
    ReturnStatus,
    SampleResult,
    check_disposition,
    check_evaluation,
    check_received,
    return_number,
)
from gmp_complaints.domain.roles import Actor
from gmp_complaints.models import Batch, Complaint, Distribution, Product, ReturnedGoods
from gmp_complaints.services import schemas
from gmp_complaints.services.numbering import take_serial
from gmp_complaints.services.personal_data import cipher_for
from gmp_complaints.services.responsible_officials import notify_officials
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.binding import canonical_snapshot_hash
from signatures.matrix import SigningStep, authors_of, rule_for
from signatures.scopes import return_snapshot


def load_return(uow: UnitOfWork, return_id: int, *, for_update: bool = True) -> ReturnedGoods:
    query = sa.select(ReturnedGoods).where(ReturnedGoods.id == return_id)
    if for_update:
        query = query.with_for_update()
    row = uow.session.scalars(query).one_or_none()
    if row is None:
        raise NotFoundError(Msg("No return with id %(id)s.", id=return_id))
    return row


#: the trail holds RECORDED_ENCRYPTED for these instead of their values (SEC-11), as for the complainant; the
#: columns hold ciphertext and are kept out of the row diffs (``ReturnedGoods``)
PARTY_FIELDS = ("returning_party", "returning_party_address")


def _decrypted_party(uow: UnitOfWork, row: ReturnedGoods) -> dict:
    cipher = cipher_for(uow.settings)
    return {"returning_party": cipher.decrypt(row.returning_party),
            "returning_party_address": cipher.decrypt(row.returning_party_address)}


def returning_party_of(uow: UnitOfWork, row: ReturnedGoods, roles) -> dict:
    """The returning party and its address, decrypted, and masked for ``roles`` without personal-data access."""
    party = _decrypted_party(uow, row)
    if may_see_personal_data(roles):
        return party
    return masked_returning_party(party["returning_party"], party["returning_party_address"])


def return_view(uow: UnitOfWork, row: ReturnedGoods, roles, *, with_signatures: bool = True) -> dict:
    """The return as ``roles`` may see it. Signatures are checked against the content as recorded (the
    returning party in clear, decrypted here), whoever looks: masking never makes a signature look superseded."""
    view = _content_view(uow, row)
    if with_signatures:
        current = canonical_snapshot_hash(return_snapshot(view, "return"))
        tz = ZoneInfo(uow.settings.site_timezone)
        view["signatures"] = [signing.signature_view(s, current, tz)
                              for s in signing.signatures_of(uow.session, "return", str(row.id))]
    if not may_see_personal_data(roles):
        view.update(masked_returning_party(view["returning_party"], view["returning_party_address"]))
    return view


def _content_view(uow: UnitOfWork, row: ReturnedGoods) -> dict:
    """The return with the returning party decrypted: what a signature covers; never shown as it is."""
    session = uow.session
    tz = ZoneInfo(uow.settings.site_timezone)
    batch, product = session.execute(sa.select(Batch, Product).join(Product, Product.id == Batch.product_id)
                                     .where(Batch.id == row.batch_id)).one()
    complaint = session.get(Complaint, row.complaint_id) if row.complaint_id else None
    view = {
        "id": row.id, "number": row.number, "status": row.status, "version": row.version,
        "complaint_id": row.complaint_id,
        "complaint": ({"id": complaint.id, "number": complaint.number, "intake_ref": complaint.intake_ref}
                      if complaint else None),
        # REC-16: name, strength and dosage form as labelled, from the batch's product
        "batch_no": batch.batch_no, "product_code": product.code, "product_name": product.name,
        "strength": product.strength, "dosage_form": product.dosage_form,
        "channel": row.channel, **_decrypted_party(uow, row), "return_reason": row.return_reason,
        "consignee": row.consignee, "quantity_received": row.quantity_received, "condition": row.condition,
        "received_on": row.received_on.isoformat(),
        "evaluation": None if row.sample_result is None else {
            "storage_conditions": row.storage_conditions, "sample_result": row.sample_result,
            "test_reference": row.test_reference, "other_batches_implicated": row.other_batches_implicated,
            "investigation_ref": row.investigation_ref,
            "evaluated_at": row.evaluated_at.astimezone(tz).isoformat(timespec="seconds") if row.evaluated_at else None},
        "disposition": None if row.disposition is None else {
            "decision": row.disposition, "rationale": row.disposition_rationale,
            "disposed_at": row.disposed_at.astimezone(tz).isoformat(timespec="seconds"),
            "disposed_on": row.disposed_at.astimezone(tz).date().isoformat()},
        # Nothing leaves quarantine before the disposition; after it, only stock that passed its test.
        "redispatch_allowed": row.disposition == Disposition.return_to_stock.value,
        "signatures": [],
    }
    return view


def get_return(uow: UnitOfWork, return_id: int, *, roles) -> dict:
    with uow:
        return return_view(uow, load_return(uow, return_id, for_update=False), roles)


def list_returns(uow: UnitOfWork, *, roles, status: str | None = None) -> list[dict]:
    with uow:
        query = (sa.select(ReturnedGoods, Batch.batch_no).join(Batch, Batch.id == ReturnedGoods.batch_id)
                 .order_by(ReturnedGoods.id.desc()))
        if status:
            query = query.where(ReturnedGoods.status == status)
        return [{"id": r.id, "number": r.number, "status": r.status, "batch_no": batch_no,
                 "channel": r.channel, "returning_party": returning_party_of(uow, r, roles)["returning_party"],
                 "quantity_received": r.quantity_received, "received_on": r.received_on.isoformat(),
                 "complaint_id": r.complaint_id, "disposition": r.disposition}
                for r, batch_no in uow.session.execute(query)]


def returns_of_complaint(session, complaint_id: int) -> list[ReturnedGoods]:
    return list(session.scalars(sa.select(ReturnedGoods).where(ReturnedGoods.complaint_id == complaint_id)
                                .order_by(ReturnedGoods.id)))


def returns_of_batch(uow: UnitOfWork, batch_id: int, roles) -> list[dict]:
    session = uow.session
    return [{"id": r.id, "number": r.number, "status": r.status, "quantity_received": r.quantity_received,
             "received_on": r.received_on.isoformat(), "channel": r.channel,
             "returning_party": returning_party_of(uow, r, roles)["returning_party"]}
            for r in session.scalars(sa.select(ReturnedGoods).where(ReturnedGoods.batch_id == batch_id)
                                     .order_by(ReturnedGoods.id))]


# --- receive -------------------------------------------------------------------------------------------


def _batch(session, fields: dict, complaint: Complaint | None) -> Batch:
    query = sa.select(Batch).where(Batch.batch_no == fields["batch_no"])
    if complaint is not None:
        query = query.where(Batch.product_id == complaint.product_id)
    elif fields["product_code"]:
        query = query.join(Product, Product.id == Batch.product_id).where(Product.code == fields["product_code"])
    found = list(session.scalars(query))
    if not found:
        raise ValidationError(Msg("Unknown batch."), {"batch_no": [Msg(
            "Batch %(batch)s is not in the batch master data%(of)s.", batch=fields["batch_no"],
            of=" of the complaint's product" if complaint else "")]})
    if len(found) > 1:
        raise ValidationError(Msg("Ambiguous batch."), {"product_code": [Msg(
            "Batch %(batch)s exists for several products: name the product.", batch=fields["batch_no"])]})
    return found[0]


def receive_return(uow: UnitOfWork, data: dict, *, actor: Actor) -> dict:
    """``POST /returns``: numbered ``RT-<yy>-<nnn>`` and quarantined at once. One record per channel the
    goods came back through (China GMP Art. 136), with the returning party, its address and the reason."""
    fields = schemas.load(schemas.ReturnReceipt, data)
    with uow:
        session = uow.session
        complaint = None
        if fields["complaint_id"] is not None:
            complaint = session.get(Complaint, fields["complaint_id"])
            if complaint is None:
                raise ValidationError(Msg("Unknown complaint."), {"complaint_id": [Msg(
                    "No complaint with id %(id)s.", id=fields["complaint_id"])]})
            if complaint.status == Status.void.value:
                raise ValidationError(Msg("Void complaint."), {"complaint_id": [Msg(
                    "Complaint %(id)s is void.", id=complaint.id)]})
        batch = _batch(session, fields, complaint)
        shipped_query = sa.select(sa.func.coalesce(sa.func.sum(Distribution.quantity), 0),
                                  sa.func.min(Distribution.shipped_on)).where(Distribution.batch_id == batch.id)
        returned_query = sa.select(sa.func.coalesce(sa.func.sum(ReturnedGoods.quantity_received), 0)).where(
            ReturnedGoods.batch_id == batch.id)
        if fields["consignee"]:
            shipped_query = shipped_query.where(Distribution.consignee == fields["consignee"])
            returned_query = returned_query.where(ReturnedGoods.consignee == fields["consignee"])
        shipped, first_shipped = session.execute(shipped_query).one()
        if fields["consignee"] and not shipped:
            raise ValidationError(Msg("Not a consignee of the batch."), {"consignee": [Msg(
                "%(name)s received no delivery of batch %(batch)s.", name=fields["consignee"], batch=batch.batch_no)]})
        today = business_today(uow.settings)
        check_received(fields["quantity_received"], fields["received_on"], shipped=int(shipped),
                       returned_before=int(session.scalar(returned_query)), today=today, shipped_from=first_shipped)
        serial = take_serial(uow, f"RT:{today.year % 100:02d}")
        cipher = cipher_for(uow.settings)
        row = ReturnedGoods(
            number=return_number(today.year, serial), status=ReturnStatus.quarantined.value,
            complaint_id=complaint.id if complaint else None, batch_id=batch.id, consignee=fields["consignee"],
            channel=fields["channel"].value, returning_party=cipher.encrypt(fields["returning_party"]),
            returning_party_address=cipher.encrypt(fields["returning_party_address"]),
            return_reason=fields["return_reason"],
            quantity_received=fields["quantity_received"], condition=fields["condition"],
            received_on=fields["received_on"], version=1, is_demo=bool(data.get("is_demo")), created_by_id=actor.id,
            created_at=uow.now())
        session.add(row)
        session.flush()
        uow.record(DomainEvent("return.received", "return", str(row.id), {
            name: [None, RECORDED_ENCRYPTED] for name in PARTY_FIELDS if fields[name] is not None}, actor_id=actor.id))
        uow.commit()
        return return_view(uow, row, actor.roles)


# --- evaluate and dispose ----------------------------------------------------------------------------


def evaluate_return(uow: UnitOfWork, return_id: int, data: dict, *, actor: Actor) -> dict:
    """``POST /returns/<id>/evaluation``: QA's evaluation; a correction of a recorded one needs a reason."""
    fields = schemas.load(schemas.ReturnEvaluation, data)
    evaluation = Evaluation(fields["storage_conditions"], fields["sample_result"], fields["test_reference"],
                            fields["other_batches_implicated"], fields["investigation_ref"])
    with uow:
        row = load_return(uow, return_id)
        status = ReturnStatus(row.status)
        check_evaluation(status, evaluation)
        again = status is ReturnStatus.evaluated
        if again and not fields["reason"]:
            raise ValidationError(Msg("A reason is required."), {"reason": [Msg(
                "The return is already evaluated: give the reason for the correction.")]})
        row.storage_conditions, row.sample_result = evaluation.storage_conditions, evaluation.sample_result.value
        row.test_reference, row.other_batches_implicated = evaluation.test_reference, evaluation.other_batches_implicated
        row.investigation_ref = evaluation.investigation_ref
        row.evaluated_by_id, row.evaluated_at = actor.id, uow.now()
        row.status = ReturnStatus.evaluated.value
        if again:
            row.version += 1
        uow.record(DomainEvent("return.re_evaluated" if again else "return.evaluated", "return", str(row.id),
                               reason=fields["reason"] if again else None, actor_id=actor.id))
        # WF-11 (21 CFR 211.180(f), 211.204): the responsible officials are told in writing of every evaluation.
        notify_officials(uow, OfficialScope.returns, NoticeKind.return_evaluated, subject_type="return",
                         subject_id=row.id, record_label=row.number, actor_id=actor.id)
        uow.commit()
        return return_view(uow, row, actor.roles)


def dispose_return(uow: UnitOfWork, return_id: int, data: dict, *, actor: Actor, source_ip: str | None = None) -> dict:
    """``POST /returns/<id>/disposition {disposition, rationale, username, password, comment}``: the QA
    head's signed decision; to stock only with a passing test, reprocessing only with its rationale."""
    fields = schemas.load(schemas.ReturnDisposition, data)
    with uow:
        session = uow.session
        row = load_return(uow, return_id)
        check_disposition(ReturnStatus(row.status), fields["disposition"],
                          sample_result=SampleResult(row.sample_result) if row.sample_result else None,
                          rationale=fields["rationale"])
        rule = rule_for(SigningStep.return_disposition.value)
        signer = signing.authorize(
            uow, actor_id=actor.id, username=fields["username"], password=fields["password"], rule=rule,
            author_ids=authors_of(rule, actions_of_records(session, {"return": [str(row.id)]})), source_ip=source_ip)
        row.disposition, row.disposition_rationale = fields["disposition"].value, fields["rationale"]
        row.disposed_at, row.status = uow.now(), ReturnStatus.disposed.value
        session.flush()
        uow.record(DomainEvent("return.disposed", "return", str(row.id), actor_id=signer.user.id))
        view = _content_view(uow, row)
        signing.sign(uow, signer, signing.SigningRequest(
            record_type="return", record_id=str(row.id), record_number=row.number, record_version=row.version,
            snapshot=return_snapshot(view, rule.scope), rule=rule, comment=fields["comment"]), source_ip=source_ip)
        uow.commit()
        return return_view(uow, row, actor.roles)

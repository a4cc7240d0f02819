"""Trend reviews (SOP §7; TR-01): every signal of the trend rules becomes a review task for the QA head,
who records the evaluation and either raises a CAPA (source "trend", linked to the signal's complaints)
or signs why none is needed.

``gmp tick`` raises the reviews (the last full quarter and the current one), once per signal and quarter,
safely when two ticks run at once (a unique key; the loser's transaction is rolled back).
"""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gmp_complaints.clock import business_today
from gmp_complaints.domain.capa import CapaSource
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, PermissionDeniedError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.domain.trends import ReviewStatus, review_number, review_periods
from gmp_complaints.models import Capa, Complaint, TrendReview
from gmp_complaints.people import person
from gmp_complaints.services import schemas
from gmp_complaints.services.capa import open_capa
from gmp_complaints.services.numbering import take_serial
from gmp_complaints.services.trends import trends
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.binding import canonical_snapshot_hash
from signatures.matrix import SigningStep, rule_for
from signatures.scopes import trend_review_snapshot


def raise_trend_reviews(uow: UnitOfWork) -> int:
    """``gmp tick``: a review for every signal of the last full quarter and the current one not yet under
    review. Returns how many were raised."""
    today = business_today(uow.settings)
    raised = 0
    for period in review_periods(today):
        report = trends(uow, {"period": period, "product_code": None, "complaint_type": None})
        for signal in report["signals"]:
            try:
                with uow:
                    session = uow.session
                    known = session.scalar(sa.select(TrendReview.id).where(
                        TrendReview.signal_key == signal["key"], TrendReview.period_from == period.start,
                        TrendReview.period_to == period.end))
                    if known is not None:
                        continue
                    serial = take_serial(uow, f"TRV:{today.year % 100:02d}")
                    row = TrendReview(
                        number=review_number(today.year, serial), signal_key=signal["key"], rule=signal["rule"],
                        product_code=signal["product_code"], complaint_type=signal["complaint_type"],
                        level=signal["level"], signal_count=signal["count"], period_from=period.start,
                        period_to=period.end, detail=json.dumps(signal, ensure_ascii=False, sort_keys=True),
                        status=ReviewStatus.open.value, version=1, created_at=uow.now())
                    session.add(row)
                    session.flush()
                    uow.record(DomainEvent("trend_review.raised", "trend_review", str(row.id), {
                        "number": [None, row.number], "signal_key": [None, row.signal_key]}))
                    uow.commit()
                    raised += 1
            except sa.exc.IntegrityError:
                continue  # another tick raised it meanwhile; its transaction won
    return raised


def list_reviews(uow: UnitOfWork, *, status: str | None = None) -> list[dict]:
    if status is not None and status not in {s.value for s in ReviewStatus}:
        raise ValidationError(Msg("Unknown status."), {"status": [Msg("One of open, capa_raised or no_capa.")]})
    with uow:
        query = sa.select(TrendReview).order_by(TrendReview.id.desc())
        if status is not None:
            query = query.where(TrendReview.status == status)
        return [review_view(uow, row) for row in uow.session.scalars(query)]


def get_review(uow: UnitOfWork, review_id: int) -> dict:
    with uow:
        return review_view(uow, _load(uow, review_id, for_update=False), with_signatures=True)


def evaluate(uow: UnitOfWork, review_id: int, data: dict, *, actor: Actor, source_ip: str | None = None) -> dict:
    """``POST /trend-reviews/<id>/evaluation {evaluation, decision, ...}``: the QA head's evaluation.
    ``decision: capa`` with ``capa: {problem_statement, root_cause, risk, effectiveness_criteria,
    effectiveness_due_on}`` raises a CAPA (source trend) linked to the signal's open complaints;
    ``decision: no_capa`` with ``username`` and ``password`` signs why none is needed (the evaluation is
    the signed reason). Once: a decided review answers 409 and nothing changes."""
    if Role.qa_head not in actor.roles:
        raise PermissionDeniedError(Msg("Only the head of quality evaluates a trend signal."))
    fields = schemas.load(schemas.TrendEvaluation, data)
    decision = fields["decision"]
    if decision not in ("capa", "no_capa"):
        raise ValidationError(Msg("Unknown decision."), {"decision": [Msg("One of capa or no_capa.")]})
    if decision == "no_capa" and not (fields["username"] and fields["password"]):
        raise ValidationError(Msg("Signature missing."), {"password": [Msg(
            "Sign with your user name and password why no CAPA is needed.")]})
    capa_fields = None
    if decision == "capa":
        if not isinstance(data.get("capa"), dict):
            raise ValidationError(Msg("CAPA missing."), {"capa": [Msg("Describe the CAPA to raise.")]})
        try:
            capa_fields = schemas.load(schemas.CapaCreation, {**data["capa"], "source": CapaSource.trend.value})
        except ValidationError as exc:
            raise ValidationError(exc.message, {f"capa.{name}": messages for name, messages in exc.fields.items()}) \
                from None
    with uow:
        session = uow.session
        row = _load(uow, review_id)
        if row.status != ReviewStatus.open.value:
            raise ConflictError(Msg("This trend review is already decided."))
        row.evaluation = fields["evaluation"]
        if decision == "capa":
            refs = json.loads(row.detail).get("complaints", [])
            ids = list(session.scalars(sa.select(Complaint.id).where(
                sa.or_(Complaint.number.in_(refs), Complaint.intake_ref.in_(refs))).order_by(Complaint.id)))
            capa = open_capa(uow, {**capa_fields, "complaint_ids": ids, "source_reference": row.number}, actor=actor,
                             skip_unlinkable=True)
            row.capa_id, row.status = capa.id, ReviewStatus.capa_raised.value
        else:
            rule = rule_for(SigningStep.trend_no_capa.value)
            signer = signing.authorize(uow, actor_id=actor.id, username=fields["username"],
                                       password=fields["password"], rule=rule, author_ids=frozenset(),
                                       source_ip=source_ip)
            view = review_view(uow, row)
            signing.sign(uow, signer, signing.SigningRequest(
                record_type="trend_review", record_id=str(row.id), record_number=row.number,
                record_version=row.version, snapshot=trend_review_snapshot(view, rule.scope), rule=rule,
                comment=fields["evaluation"]), source_ip=source_ip)
            row.status = ReviewStatus.no_capa.value
        row.decided_by_id, row.decided_at = actor.id, uow.now()
        row.version += 1
        uow.record(DomainEvent(f"trend_review.{row.status}", "trend_review", str(row.id), actor_id=actor.id))
        uow.commit()
        return review_view(uow, row, with_signatures=True)


def review_view(uow: UnitOfWork, row: TrendReview, *, with_signatures: bool = False) -> dict:
    session, tz = uow.session, ZoneInfo(uow.settings.site_timezone)
    capa = session.get(Capa, row.capa_id) if row.capa_id else None
    view = {"id": row.id, "number": row.number, "rule": row.rule, "product_code": row.product_code,
            "complaint_type": row.complaint_type, "level": row.level, "count": row.signal_count,
            "period_from": row.period_from.isoformat(), "period_to": row.period_to.isoformat(),
            "signal": json.loads(row.detail), "status": row.status, "evaluation": row.evaluation,
            "capa": {"id": capa.id, "number": capa.number, "status": capa.status} if capa else None,
            "decided_by": person(session, row.decided_by_id),
            "decided_at": row.decided_at.astimezone(tz).isoformat(timespec="seconds") if row.decided_at else None,
            "version": row.version,
            "created_at": row.created_at.astimezone(tz).isoformat(timespec="seconds")}
    if with_signatures:
        current = canonical_snapshot_hash(trend_review_snapshot(view, "trend_review"))
        view["signatures"] = [signing.signature_view(s, current, tz)
                              for s in signing.signatures_of(session, "trend_review", str(row.id))]
    return view


def open_reviews(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(TrendReview).where(
        TrendReview.status == ReviewStatus.open.value))


def _load(uow: UnitOfWork, review_id: int, *, for_update: bool = True) -> TrendReview:
    query = sa.select(TrendReview).where(TrendReview.id == review_id)
    row = uow.session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if row is None:
        raise NotFoundError(Msg("No trend review with id %(id)s.", id=review_id))
    return row


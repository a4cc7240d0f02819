"""The quarterly complaint review (SOP §7; DESIGN §2 review): the complaint administrator prepares it
for a quarter — the trend figures are computed and frozen with their SHA-256, with the conclusions — and
the head of quality approves it by electronic signature. The report (PDF, zh-CN and en) is rendered from
the frozen figures, so it reads the same every time; the review also says whether the records still give
the same figures (a late correction shows as a difference, not as a silently changed report).
"""
from __future__ import annotations

import hashlib
import json
import re
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, PermissionDeniedError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.domain.trends import Quarter
from gmp_complaints.models import QuarterlyReview, TrendReview
from gmp_complaints.people import person
from gmp_complaints.services import schemas
from gmp_complaints.services.trend_reviews import review_view
from gmp_complaints.services.trends import trends
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.binding import canonical_snapshot_hash
from signatures.matrix import SigningStep, authors_of, rule_for
from signatures.scopes import quarterly_review_snapshot

PREPARERS = frozenset({Role.qa_officer, Role.qa_head})


def parse_quarter(raw) -> Quarter:
    match = re.fullmatch(r"(\d{4})-Q([1-4])", str(raw or "").strip())
    if not match:
        raise ValidationError(Msg("Invalid quarter."), {"quarter": [Msg("A quarter such as 2026-Q3.")]})
    return Quarter(int(match.group(1)), int(match.group(2)))


def figures_digest(figures: dict) -> str:
    return hashlib.sha256(json.dumps(figures, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def prepare(uow: UnitOfWork, data: dict, *, actor: Actor) -> dict:
    """``POST /quarterly-reviews {quarter, conclusions}``: the quarter's figures frozen now. Preparing a
    quarter again (before approval) freezes them anew as the next version; an approved review is final."""
    if not actor.roles & PREPARERS:
        raise PermissionDeniedError(Msg("The complaint administrator prepares the quarterly review."))
    fields = schemas.load(schemas.QuarterlyReviewPreparation, data)
    quarter = parse_quarter(fields["quarter"])
    figures = trends(uow, {"period": quarter.period, "product_code": None, "complaint_type": None})
    digest = figures_digest(figures)
    with uow:
        session = uow.session
        row = session.scalars(sa.select(QuarterlyReview).where(QuarterlyReview.quarter == quarter.label())
                              .with_for_update()).one_or_none()
        if row is not None and row.status == "approved":
            raise ConflictError(Msg("The review of %(quarter)s is approved and final.", quarter=quarter.label()))
        if row is None:
            row = QuarterlyReview(quarter=quarter.label(), period_from=quarter.period.start,
                                  period_to=quarter.period.end, version=0, created_at=uow.now())
            session.add(row)
        row.figures, row.figures_sha256 = json.dumps(figures, sort_keys=True, ensure_ascii=False), digest
        row.conclusions, row.status = fields["conclusions"], "prepared"
        row.prepared_by_id, row.prepared_at = actor.id, uow.now()
        row.version += 1
        session.flush()
        uow.record(DomainEvent("quarterly_review.prepared", "quarterly_review", str(row.id), {
            "quarter": [None, row.quarter], "figures_sha256": [None, digest]}, actor_id=actor.id))
        uow.commit()
        review_id = row.id
    return review(uow, review_id, current_digest=digest)  # the figures were computed a moment ago


def approve(uow: UnitOfWork, review_id: int, data: dict, *, actor: Actor, source_ip: str | None = None) -> dict:
    """``POST /quarterly-reviews/<id>/approval {username, password, comment}``: the QA head's signature
    over the frozen figures and the conclusions; not by the person who prepared it."""
    fields = schemas.load(schemas.QuarterlyReviewApproval, data)
    rule = rule_for(SigningStep.quarterly_review_approval.value)
    with uow:
        row = _load(uow, review_id)
        if row.status == "approved":
            raise ConflictError(Msg("The review of %(quarter)s is already approved.", quarter=row.quarter))
        # Each preparation replaces the figures and the conclusions: the author is the latest preparer.
        signer = signing.authorize(
            uow, actor_id=actor.id, username=fields["username"], password=fields["password"], rule=rule,
            author_ids=authors_of(rule, {("quarterly_review.prepared", row.prepared_by_id)}), source_ip=source_ip)
        view = _view(uow, row)
        signing.sign(uow, signer, signing.SigningRequest(
            record_type="quarterly_review", record_id=str(row.id), record_number=row.quarter,
            record_version=row.version, snapshot=quarterly_review_snapshot(view, rule.scope), rule=rule,
            comment=fields["comment"]), source_ip=source_ip)
        row.status = "approved"
        uow.record(DomainEvent("quarterly_review.approved", "quarterly_review", str(row.id), actor_id=signer.user.id))
        uow.commit()
        return _view(uow, row, with_signatures=True)


def review(uow: UnitOfWork, review_id: int, *, current_digest: str | None = None) -> dict:
    """The review with its frozen figures, its signatures, the quarter's trend reviews, and whether the
    records give the same figures today (``current_digest``: the caller has just computed them)."""
    current = current_digest
    if current is None:
        with uow:
            quarter = parse_quarter(_load(uow, review_id, for_update=False).quarter)
        current = figures_digest(trends(uow, {"period": quarter.period, "product_code": None,
                                              "complaint_type": None}))
    with uow:
        row = _load(uow, review_id, for_update=False)
        view = _view(uow, row, with_signatures=True)
        view["figures"] = json.loads(row.figures)
        view["figures_still_match"] = current == row.figures_sha256
        view["trend_reviews"] = [review_view(uow, r) for r in uow.session.scalars(sa.select(TrendReview).where(
            TrendReview.period_from == row.period_from, TrendReview.period_to == row.period_to).order_by(TrendReview.id))]
        return view


def list_reviews(uow: UnitOfWork) -> list[dict]:
    with uow:
        return [_view(uow, row) for row in uow.session.scalars(
            sa.select(QuarterlyReview).order_by(QuarterlyReview.period_from.desc()))]


def record_report_export(uow: UnitOfWork, review_id: int, *, sha256: str, locale: str, actor_id: int) -> None:
    with uow:
        uow.record(DomainEvent("quarterly_review.report_exported", "quarterly_review", str(review_id), {
            "locale": [None, locale], "file_sha256": [None, sha256]}, actor_id=actor_id))
        uow.commit()


def _view(uow: UnitOfWork, row: QuarterlyReview, *, with_signatures: bool = False) -> dict:
    tz = ZoneInfo(uow.settings.site_timezone)
    view = {"id": row.id, "quarter": row.quarter, "period_from": row.period_from.isoformat(),
            "period_to": row.period_to.isoformat(), "figures_sha256": row.figures_sha256,
            "conclusions": row.conclusions, "status": row.status, "version": row.version,
            "prepared_by": person(uow.session, row.prepared_by_id),
            "prepared_at": row.prepared_at.astimezone(tz).isoformat(timespec="seconds")}
    if with_signatures:
        current = canonical_snapshot_hash(quarterly_review_snapshot(view, "quarterly_review"))
        view["signatures"] = [signing.signature_view(s, current, tz)
                              for s in signing.signatures_of(uow.session, "quarterly_review", str(row.id))]
    return view


def _load(uow: UnitOfWork, review_id: int, *, for_update: bool = True) -> QuarterlyReview:
    query = sa.select(QuarterlyReview).where(QuarterlyReview.id == review_id)
    row = uow.session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if row is None:
        raise NotFoundError(Msg("No quarterly review with id %(id)s.", id=review_id))
    return row

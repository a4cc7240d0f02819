"""Reference data and configuration of the complaint process: the SOP §3 class criteria (versioned
master data) and the time limits (DESIGN §2, SOP 5.8). Loaded by ``gmp init``; changed only with a
reason and a change-control reference (AT-10), and every change is an audit event that keeps both."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from gmp_complaints.clock import business_today
from gmp_complaints.domain.complaints import ComplaintClass
from gmp_complaints.domain.criteria import (
    SOP_CRITERIA,
    SOP_CRITERIA_VERSION,
    Criterion,
    TimerConfiguration,
    check_new_criteria,
    check_time_limit_change,
    default_time_limit_rows,
    timer_configuration,
)
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.models import ClassCriteriaVersion, ClassCriterion, TimeLimit, criterion_line
from gmp_complaints.services import schemas
from gmp_complaints.services.adr_clocks import seed_adr_clocks
from gmp_complaints.services.compensation_records import seed_compensation_ladder
from gmp_complaints.services.recalls import seed_recall_clocks
from gmp_complaints.uow import UnitOfWork


def seed_reference_data(uow: UnitOfWork) -> bool:
    """The SOP's criteria as version SOP-3/1 and the default time limits, when absent. Idempotent."""
    with uow:
        session = uow.session
        seeded = False
        if session.get(ClassCriteriaVersion, SOP_CRITERIA_VERSION) is None:
            _add_version(uow, SOP_CRITERIA_VERSION, date(2000, 1, 1), "SOP 投诉管理规程 §3.1-3.3", list(SOP_CRITERIA),
                         actor_id=None)
            seeded = True
        before = _time_limit_lines(session)
        present = set(session.scalars(sa.select(TimeLimit.key)))
        missing = {k: v for k, v in default_time_limit_rows().items() if k not in present}
        for key, days in missing.items():
            session.add(TimeLimit(key=key, working_days=days, updated_at=uow.now()))
        if missing:
            session.flush()
            uow.record(DomainEvent("configuration.time_limits_seeded", "configuration", "time_limits",
                                   {"time_limits": [before or None, _time_limit_lines(session)]}))
            seeded = True
        seeded = seed_recall_clocks(uow) or seeded
        seeded = seed_adr_clocks(uow) or seeded
        seeded = seed_compensation_ladder(uow) or seeded
        if seeded:
            uow.commit()
        return seeded


def _time_limit_lines(session) -> list[str]:
    """The whole configuration as the audit trail states it (``key=days``, sorted)."""
    return sorted(f"{row.key}={row.working_days}" for row in session.scalars(sa.select(TimeLimit)))


def _add_version(uow: UnitOfWork, version: str, effective_from: date, note: str, criteria: list[Criterion],
                 actor_id: int | None, change_control_ref: str | None = None) -> None:
    row = ClassCriteriaVersion(version=version, effective_from=effective_from, note=note, created_at=uow.now(),
                               created_by_id=actor_id)
    row.criteria = [ClassCriterion(complaint_class=c.complaint_class.value, code=c.code, position=i,
                                   text_zh=c.text_zh, text_en=c.text_en) for i, c in enumerate(criteria)]
    uow.session.add(row)
    uow.session.flush()
    uow.record(DomainEvent("class_criteria.published", "class_criteria", version,
                           {"effective_from": [None, effective_from.isoformat()],
                            "criteria": [None, sorted(criterion_line(c.code, c.text_zh, c.text_en)
                                                      for c in criteria)]},
                           reason=note, actor_id=actor_id, change_control_ref=change_control_ref))


def criteria_in_force(session, today: date) -> tuple[str, list[Criterion]]:
    """The latest version effective on ``today`` (versions are read through the reference-data copy)."""
    from gmp_complaints.services.reference_data import reference

    versions = reference(session, "criteria_versions", _all_criteria_versions)
    in_force = [v for v in versions if v[1] <= today]
    if not in_force:
        raise ConflictError(Msg("No class criteria are in force: run gmp init."))
    version, _effective_from, _created_at, criteria = max(in_force, key=lambda v: (v[1], v[2]))
    return version, list(criteria)


def _all_criteria_versions(session) -> list[tuple]:
    return [(row.version, row.effective_from, row.created_at, tuple(_criteria(row)))
            for row in session.scalars(sa.select(ClassCriteriaVersion))]


def _criteria(row: ClassCriteriaVersion) -> list[Criterion]:
    return [Criterion(ComplaintClass(c.complaint_class), c.code, c.text_zh, c.text_en) for c in row.criteria]


def _version_view(row: ClassCriteriaVersion) -> dict:
    return {"version": row.version, "effective_from": row.effective_from.isoformat(), "note": row.note,
            "criteria": [{"complaint_class": c.complaint_class, "code": c.code, "text_zh": c.text_zh,
                          "text_en": c.text_en} for c in row.criteria]}


def list_criteria_versions(uow: UnitOfWork) -> dict:
    with uow:
        return criteria_versions(uow.session, business_today(uow.settings))


def criteria_versions(session, today) -> dict:
    """Every version of the classification criteria and which one is in force ``today``."""
    rows = session.scalars(sa.select(ClassCriteriaVersion).order_by(ClassCriteriaVersion.effective_from)).all()
    in_force, _ = criteria_in_force(session, today)
    return {"in_force": in_force, "versions": [_version_view(r) for r in rows]}


def publish_criteria_version(uow: UnitOfWork, data: dict, *, actor_id: int) -> dict:
    """A new version of the criteria (QA head): never an edit of the one in force."""
    fields = schemas.load(schemas.CriteriaVersion, data)
    version, effective_from, reason = fields["version"], fields["effective_from"], fields["reason"]
    criteria = [Criterion(item["complaint_class"], item["code"], item["text_zh"], item["text_en"])
                for item in fields["criteria"]]
    check_new_criteria(criteria)
    with uow:
        today = business_today(uow.settings)
        if effective_from < today:
            raise ValidationError(Msg("Effective date in the past."), {"effective_from": [Msg(
                "A new version takes effect today or later, never retroactively.")]})
        if uow.session.get(ClassCriteriaVersion, version) is not None:
            raise ValidationError(Msg("Version exists."), {"version": [Msg("This version already exists.")]})
        _add_version(uow, version, effective_from, reason, criteria, actor_id=actor_id,
                     change_control_ref=fields["change_control_ref"])
        row = uow.session.get(ClassCriteriaVersion, version)
        view = _version_view(row)
        uow.commit()
        return view


def load_timer_configuration(session) -> TimerConfiguration:
    return timer_configuration({row.key: row.working_days for row in session.scalars(sa.select(TimeLimit))})


def time_limits_view(uow: UnitOfWork) -> dict:
    with uow:
        rows = {row.key: row.working_days for row in uow.session.scalars(sa.select(TimeLimit))}
    defaults = default_time_limit_rows()
    return {"time_limits": [{"key": key, "working_days": rows.get(key, default), "default": default}
                            for key, default in defaults.items()]}


def change_time_limit(uow: UnitOfWork, data: dict, *, actor_id: int) -> dict:
    """Configuration change (admin): a reason always; the old and new values go to the audit trail."""
    fields = schemas.load(schemas.TimeLimitChange, data)
    key, reason = fields["key"], fields["reason"]
    days = check_time_limit_change(key, fields["working_days"])
    with uow:
        row = uow.session.get(TimeLimit, key)
        if row is None:
            raise NotFoundError(Msg("No time limit %(key)s: run gmp init.", key=key))
        if row.working_days == days:
            raise ValidationError(Msg("Nothing changed."), {"working_days": [Msg("The time limit already has this value.")]})
        before = _time_limit_lines(uow.session)
        row.working_days, row.updated_at, row.updated_by_id = days, uow.now(), actor_id
        uow.session.flush()
        uow.record(DomainEvent("configuration.time_limit_changed", "configuration", "time_limits",
                               {"time_limits": [before, _time_limit_lines(uow.session)]}, reason=reason,
                               actor_id=actor_id, change_control_ref=fields["change_control_ref"]))
        uow.commit()
    return time_limits_view(uow)

"""CAPA use cases (SOP 5.7, DESIGN §4): create from complaints or other sources (WF-13), plan actions with
owners and due dates, answer the change-control question and plan the effectiveness check, record and approve
implementation, move a due date only by an approved request, check effectiveness (or sign why no check is
needed), follow up or escalate a result "not effective" (WF-14), close. Every approval signs through
``signatures.service``; every change is one unit of work.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gmp_complaints.clock import business_today
from gmp_complaints.domain.capa import (
    ACTION_OWNER_ROLES,
    ActionStatus,
    CapaFacts,
    CapaSource,
    CapaStatus,
    Effectiveness,
    capa_number,
    check_change_control,
    check_closure,
    check_due_date,
    check_effectiveness_due,
    check_effectiveness_timing,
    check_escalation,
    check_follow_up_parent,
    check_owner,
    check_plan_complete,
    check_source_reference,
    check_waiver,
    plan_gaps,
    refuse,
    status_after_adding_action,
    status_after_verification,
)
from gmp_complaints.domain.complaints import Status
from gmp_complaints.domain.errors import ConflictError, Msg, NotFoundError, PermissionDeniedError, ValidationError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.notices import NoticeKind
from gmp_complaints.domain.roles import Actor, Role
from gmp_complaints.models import (
    Capa,
    CapaAction,
    CapaComplaint,
    CapaEvidence,
    CapaSourceLink,
    Complaint,
    Recall,
    User,
    UserRole,
)
from gmp_complaints.services import inputs, schemas
from gmp_complaints.services.notices import holders_of, notify
from gmp_complaints.services.numbering import take_serial
from gmp_complaints.uow import UnitOfWork
from signatures import service as signing
from signatures.binding import canonical_snapshot_hash
from signatures.matrix import SigningStep, authors_of, rule_for
from signatures.scopes import capa_snapshot

QA_OFFICE = frozenset({Role.qa_officer, Role.qa_head})


# --- loading -------------------------------------------------------------------------------------


def load_capa(uow: UnitOfWork, capa_id: int, *, for_update: bool = True) -> Capa:
    query = sa.select(Capa).where(Capa.id == capa_id)
    if for_update:
        query = query.with_for_update()
    capa = uow.session.scalars(query).one_or_none()
    if capa is None:
        raise NotFoundError(Msg("No CAPA with id %(id)s.", id=capa_id))
    return capa


def _action(capa: Capa, action_id: int) -> CapaAction:
    action = next((a for a in capa.actions if a.id == action_id), None)
    if action is None:
        raise NotFoundError(Msg("No action %(id)s in this CAPA.", id=action_id))
    return action


def _facts(capa: Capa) -> CapaFacts:
    return CapaFacts(status=CapaStatus(capa.status), action_statuses=tuple(ActionStatus(a.status) for a in capa.actions),
                     effectiveness=Effectiveness(capa.effectiveness_result) if capa.effectiveness_result else None,
                     has_follow_up=_has_follow_up(capa), waived=bool(capa.effectiveness_waiver),
                     escalated=bool(capa.escalation_reason))


def _follow_ups_query(capa_id: int):
    """The CAPAs that follow this one up: opened for it (``follow_up_of``) or naming it as their source."""
    named = sa.select(CapaSourceLink.capa_id).where(CapaSourceLink.source_capa_id == capa_id)
    return sa.select(Capa.id, Capa.number, Capa.status).where(
        sa.or_(Capa.follow_up_of_id == capa_id, Capa.id.in_(named))).order_by(Capa.id)


def _has_follow_up(capa: Capa) -> bool:
    from sqlalchemy.orm import object_session

    return object_session(capa).execute(_follow_ups_query(capa.id).limit(1)).first() is not None


def _owners(capa: Capa) -> tuple:
    """Whoever owns the CAPA's work: its creator and the owners of its actions (never their own approver)."""
    return (capa.created_by_id, *(a.owner_id for a in capa.actions))


def _sources(capa: Capa) -> list[str]:
    """The sources as the audit trail lists them (``type:reference``), sorted."""
    return sorted(f"{link.source_type}:{link.reference}" for link in capa.source_links)


def _user(session, username: str | None, field: str) -> User:
    user = session.scalars(sa.select(User).where(User.username == (username or "").strip())).one_or_none()
    if user is None or not user.is_active:
        raise ValidationError(Msg("Unknown user."), {field: [Msg("No active user with this name.")]})
    return user


def _record(uow: UnitOfWork, action: str, entity: str, entity_id, actor_id, changes=None, reason=None) -> None:
    uow.record(DomainEvent(action, entity, str(entity_id), changes or {}, reason=reason, actor_id=actor_id))


def _touch(capa: Capa) -> None:
    """A change to the CAPA record itself makes a new version (signatures also bind by hash, so a
    change to an action is covered without a new CAPA version)."""
    capa.version += 1


# --- create and link -----------------------------------------------------------------------------


def create_capa(uow: UnitOfWork, data: dict, *, actor: Actor) -> dict:
    """A CAPA from one or more complaints, or from another source named by its reference (WF-13); the root
    cause comes from the investigation of the complaints unless given."""
    fields = schemas.load(schemas.CapaCreation, data)
    with uow:
        capa = open_capa(uow, fields, actor=actor, is_demo=bool(data.get("is_demo")))
        uow.commit()
        return capa_view(uow, capa)


def open_capa(uow: UnitOfWork, fields: dict, *, actor: Actor, is_demo: bool = False,
              skip_unlinkable: bool = False) -> Capa:
    """The CAPA of ``fields`` (a loaded ``CapaCreation``) added inside the caller's unit of work, which
    commits. ``skip_unlinkable``: a trend CAPA names closed complaints too, which never change; it links
    the others."""
    source = fields["source"] or CapaSource.complaint
    problem, root_cause, risk = fields["problem_statement"], fields["root_cause"], fields["risk"]
    criteria, effectiveness_due_on = fields["effectiveness_criteria"], fields["effectiveness_due_on"]
    complaint_ids, follow_up_of = fields["complaint_ids"] or [], fields["follow_up_of"]
    reference = fields.get("source_reference")
    change_control_required, change_control_ref = fields.get("change_control_required"), fields.get(
        "change_control_ref")
    if source is CapaSource.complaint and not complaint_ids:
        inputs.raise_if_any({"complaint_ids": [Msg("A CAPA from complaints names at least one complaint.")]})
    if source is CapaSource.capa and not reference and follow_up_of is not None:
        reference = _capa_by_id(uow, follow_up_of).number  # the follow-up of the CAPA named by its id
    check_source_reference(source, reference)
    check_change_control(change_control_required, change_control_ref)
    today = business_today(uow.settings)
    check_due_date("effectiveness_due_on", effectiveness_due_on, today)
    complaints = []
    for complaint_id in dict.fromkeys(complaint_ids):
        complaint = uow.session.get(Complaint, complaint_id)
        if complaint is None:
            raise ValidationError(Msg("Unknown complaint."), {"complaint_ids": [Msg(
                "No complaint with id %(id)s.", id=complaint_id)]})
        if skip_unlinkable and complaint.status in (Status.closed.value, Status.void.value):
            continue
        _check_linkable(complaint)
        complaints.append(complaint)
    parent = None
    if source is CapaSource.capa:
        parent = _capa_by_number(uow, reference, "source_reference")
        if follow_up_of is not None and follow_up_of != parent.id:
            raise ValidationError(Msg("Two CAPAs followed up."), {"follow_up_of": [Msg(
                "The source reference names another CAPA.")]})
    elif follow_up_of is not None:
        parent = _capa_by_id(uow, follow_up_of)
    if parent is not None:
        check_follow_up_parent(_facts(parent))
    links = []
    if source is not CapaSource.complaint:
        links.append(_source_link(uow, source, reference, actor, field="source_reference"))
    elif parent is not None:
        links.append(_source_link(uow, CapaSource.capa, parent.number, actor, field="follow_up_of"))
    if root_cause is None:
        causes = [c.root_cause for c in complaints if c.root_cause]
        if not causes:
            raise ValidationError(Msg("Root cause missing."), {"root_cause": [Msg(
                "Give the root cause; none is recorded in the investigation of the complaints.")]})
        root_cause = "\n".join(dict.fromkeys(causes))
    serial = take_serial(uow, f"CAPA:{today.year % 100:02d}")
    capa = Capa(number=capa_number(today.year, serial), status=CapaStatus.open.value, source=source.value,
                problem_statement=problem, root_cause=root_cause, risk=risk, effectiveness_criteria=criteria,
                effectiveness_due_on=effectiveness_due_on, follow_up_of_id=parent.id if parent else None,
                change_control_required=change_control_required, change_control_ref=change_control_ref, version=1,
                is_demo=is_demo, created_by_id=actor.id, created_at=uow.now(),
                complaint_links=[CapaComplaint(complaint_id=c.id) for c in complaints], source_links=links)
    uow.session.add(capa)
    uow.session.flush()
    changes = {"complaint_ids": [None, sorted(c.id for c in complaints)]}
    if links:
        changes["sources"] = [None, _sources(capa)]
    _record(uow, "capa.created", "capa", capa.id, actor.id, changes)
    return capa


def _capa_by_id(uow: UnitOfWork, capa_id: int) -> Capa:
    parent = uow.session.get(Capa, capa_id)
    if parent is None:
        raise ValidationError(Msg("Unknown CAPA."), {"follow_up_of": [Msg("No CAPA with this id.")]})
    return parent


def _capa_by_number(uow: UnitOfWork, number: str | None, field: str, *, for_update: bool = False) -> Capa:
    query = sa.select(Capa).where(Capa.number == (number or "").strip().upper())
    capa = uow.session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if capa is None:
        raise ValidationError(Msg("Unknown CAPA."), {field: [Msg("No CAPA numbered %(number)s.", number=number)]})
    return capa


def _source_link(uow: UnitOfWork, source: CapaSource, reference: str, actor: Actor, *, field: str) -> CapaSourceLink:
    """A source row (not yet added): a recall or a CAPA of this system named by its number, any other
    source by its own reference."""
    recall_id = source_capa_id = None
    if source is CapaSource.recall:
        recall = uow.session.scalars(sa.select(Recall).where(Recall.number == reference.strip().upper())).one_or_none()
        if recall is None:
            raise ValidationError(Msg("Unknown recall."), {field: [Msg(
                "No recall numbered %(number)s: a recall is named by its number (RC-26-001).", number=reference)]})
        reference, recall_id = recall.number, recall.id
    elif source is CapaSource.capa:
        parent = _capa_by_number(uow, reference, field)
        reference, source_capa_id = parent.number, parent.id
    return CapaSourceLink(source_type=source.value, reference=reference, recall_id=recall_id,
                          source_capa_id=source_capa_id, linked_by_id=actor.id, linked_at=uow.now())


def _link_source(uow: UnitOfWork, capa: Capa, source: CapaSource, reference: str, actor: Actor, *,
                 field: str) -> None:
    """Adds a source to an open CAPA, with its audit event; a CAPA found not effective is followed up only
    while it is not closed, and never by itself."""
    if capa.status == CapaStatus.closed.value:
        raise refuse(CapaStatus.closed)
    link = _source_link(uow, source, reference, actor, field=field)
    if source is CapaSource.capa:
        parent = uow.session.get(Capa, link.source_capa_id)
        if parent.id == capa.id:
            raise ValidationError(Msg("A CAPA follows itself up."), {field: [Msg(
                "A CAPA cannot be its own follow-up.")]})
        check_follow_up_parent(_facts(parent))
        if capa.follow_up_of_id == parent.id:
            raise ValidationError(Msg("Already linked."), {field: [Msg("This source is already linked.")]})
    if any(s.source_type == link.source_type and s.reference.casefold() == link.reference.casefold()
           for s in capa.source_links):
        raise ValidationError(Msg("Already linked."), {field: [Msg("This source is already linked.")]})
    before = _sources(capa)
    capa.source_links.append(link)
    _touch(capa)
    _record(uow, "capa.source_linked", "capa", capa.id, actor.id, {"sources": [before, _sources(capa)]})


def _check_linkable(complaint: Complaint) -> None:
    """A void complaint gets no CAPA; a closed one never changes (its CAPAs are part of what the closure
    signed), so a CAPA for a problem that came back links the follow-up complaint."""
    if complaint.status == Status.void.value:
        raise ValidationError(Msg("Void complaint."), {"complaint_ids": [Msg(
            "Complaint %(ref)s is void.", ref=complaint.number or complaint.intake_ref)]})
    if complaint.status == Status.closed.value:
        raise ConflictError(Msg("Complaint %(ref)s is closed and never changes: link its follow-up complaint.",
                                ref=complaint.number or complaint.intake_ref))


def link_complaint(uow: UnitOfWork, capa_id: int, data: dict, *, actor: Actor) -> dict:
    """Many-to-many: one CAPA can answer several complaints."""
    complaint_id = schemas.load(schemas.CapaLink, data)["complaint_id"]
    with uow:
        capa = load_capa(uow, capa_id)
        if capa.status == CapaStatus.closed.value:
            raise refuse(CapaStatus.closed)
        complaint = uow.session.get(Complaint, complaint_id)
        if complaint is None:
            raise ValidationError(Msg("Unknown complaint."), {"complaint_id": [Msg("No complaint with this id.")]})
        _check_linkable(complaint)
        before = sorted(link.complaint_id for link in capa.complaint_links)
        if complaint_id in before:
            raise ValidationError(Msg("Already linked."), {"complaint_id": [Msg("The complaint is already linked.")]})
        capa.complaint_links.append(CapaComplaint(complaint_id=complaint_id))
        _touch(capa)
        _record(uow, "capa.complaint_linked", "capa", capa.id, actor.id,
                {"complaint_ids": [before, sorted(before + [complaint_id])]})
        uow.commit()
        return capa_view(uow, capa)


def link_source(uow: UnitOfWork, capa_id: int, data: dict, *, actor: Actor) -> dict:
    """Many-to-many with the other sources (WF-13): a product rejection, non-conformance, deviation, audit,
    inspection or trend by its reference; a recall or a CAPA found not effective by its number (the CAPA is
    then this one's follow-up). Complaints link by id (``link_complaint``)."""
    fields = schemas.load(schemas.CapaSourceLinking, data)
    source = fields["source_type"]
    if source is CapaSource.complaint:
        raise ValidationError(Msg("A complaint source."), {"source_type": [Msg(
            "Complaints are linked by their ids (complaint_ids), not by a reference.")]})
    with uow:
        capa = load_capa(uow, capa_id)
        _link_source(uow, capa, source, fields["reference"], actor, field="reference")
        uow.commit()
        return capa_view(uow, capa)


def link_follow_up(uow: UnitOfWork, capa_id: int, data: dict, *, actor: Actor) -> dict:
    """WF-14: an existing CAPA becomes the follow-up of this one, found not effective (the follow-up names
    this CAPA as its source). Answers this CAPA, with its follow-ups."""
    number = schemas.load(schemas.CapaFollowUpLink, data)["capa_number"]
    with uow:
        parent = load_capa(uow, capa_id)
        check_follow_up_parent(_facts(parent))
        child = _capa_by_number(uow, number, "capa_number", for_update=True)
        _link_source(uow, child, CapaSource.capa, parent.number, actor, field="capa_number")
        uow.commit()
        return capa_view(uow, parent)


def _same(old, new) -> bool:
    """Equal, a text's line endings aside (a page sends its text areas back with CRLF)."""
    if isinstance(old, str) and isinstance(new, str):
        return old.replace("\r\n", "\n") == new.replace("\r\n", "\n")
    return old == new


PLAN_FIELDS = ("change_control_required", "change_control_ref", "effectiveness_criteria", "effectiveness_due_on")


def record_plan_details(uow: UnitOfWork, capa_id: int, data: dict, *, actor: Actor) -> dict:
    """WF-13: whether the CAPA changes a process, a specification or software (and its change-control
    reference), and the planned effectiveness check, until the actions are implemented. A field not given
    stays; answering for the first time needs no reason, changing an answer does. A change after the plan's
    approval supersedes it: the head of quality approves the plan again."""
    fields = schemas.load(schemas.CapaPlanDetails, data)
    given = {name: fields[name] for name in PLAN_FIELDS if fields[name] is not None}
    if not given:
        raise ValidationError(Msg("Nothing to record."), {"change_control_required": [Msg(
            "Give the change-control answer, its reference or the planned effectiveness check.")]})
    with uow:
        capa = load_capa(uow, capa_id)
        if CapaStatus(capa.status) not in (CapaStatus.open, CapaStatus.actions_in_progress):
            raise refuse(CapaStatus(capa.status))
        values = {name: given.get(name, getattr(capa, name)) for name in PLAN_FIELDS}
        if values["change_control_required"] is False and "change_control_ref" not in given:
            values["change_control_ref"] = None  # no change under change control: no reference
        check_change_control(values["change_control_required"], values["change_control_ref"])
        if "effectiveness_due_on" in given and given["effectiveness_due_on"] != capa.effectiveness_due_on:
            check_due_date("effectiveness_due_on", given["effectiveness_due_on"], business_today(uow.settings))
        changed = {name: (getattr(capa, name), value) for name, value in values.items()
                   if not _same(getattr(capa, name), value)}
        if not changed:
            raise ValidationError(Msg("Nothing changed."), {next(iter(given)): [Msg("This is what is recorded.")]})
        overwrites = any(old is not None for old, _new in changed.values())
        if overwrites and not fields["reason"]:
            raise ValidationError(Msg("A reason is required."), {"reason": [Msg(
                "Give the reason for changing what is recorded.")]})
        for name, (_old, new) in changed.items():
            setattr(capa, name, new)
        _touch(capa)
        if overwrites:
            _record(uow, "capa.plan_changed", "capa", capa.id, actor.id, reason=fields["reason"])
        else:
            _record(uow, "capa.plan_details_recorded", "capa", capa.id, actor.id)
        uow.commit()
        return capa_view(uow, capa)


# --- actions -------------------------------------------------------------------------------------


def add_action(uow: UnitOfWork, capa_id: int, data: dict, *, actor: Actor) -> dict:
    fields = schemas.load(schemas.CapaActionPlan, data)
    kind, description, owner_name, due_on = fields["kind"], fields["description"], fields["owner"], fields["due_on"]
    with uow:
        capa = load_capa(uow, capa_id)
        check_due_date("due_on", due_on, business_today(uow.settings))
        owner = _user(uow.session, owner_name, "owner")
        check_owner(owner.roles)
        capa.status = status_after_adding_action(_facts(capa)).value
        action = CapaAction(kind=kind.value, description=description, owner_id=owner.id, due_on=due_on,
                            external_party=fields["external_party"], status=ActionStatus.open.value,
                            created_at=uow.now())
        capa.actions.append(action)
        _touch(capa)
        uow.session.flush()
        _record(uow, "capa_action.created", "capa_action", action.id, actor.id, {"capa_id": [None, capa.id]})
        _record(uow, "capa.action_planned", "capa", capa.id, actor.id)
        _tell(uow, capa, [owner.id], NoticeKind.capa_action_assigned, actor)
        _tell(uow, capa, holders_of(uow.session, Role.qa_head), NoticeKind.capa_plan_to_approve, actor)
        uow.commit()
        return capa_view(uow, capa)


def _tell(uow: UnitOfWork, capa: Capa, user_ids, kind: NoticeKind, actor: Actor) -> None:
    notify(uow, user_ids, kind, subject_type="capa", subject_id=capa.id, record_label=capa.number, actor_id=actor.id)


def _owner_or_qa(action: CapaAction, actor: Actor) -> None:
    if action.owner_id != actor.id and not actor.roles & QA_OFFICE:
        raise PermissionDeniedError(Msg("Only the action's owner or QA records this."))


def record_implementation(uow: UnitOfWork, capa_id: int, action_id: int, data: dict, *, actor: Actor) -> dict:
    """The owner records what was done and the evidence; the QA head then approves it."""
    fields = schemas.load(schemas.Implementation, data)
    implemented_on, evidence = fields["implemented_on"], fields["evidence"]
    with uow:
        capa = load_capa(uow, capa_id)
        action = _action(capa, action_id)
        _owner_or_qa(action, actor)
        if action.status != ActionStatus.open.value:
            raise ConflictError(Msg("The implementation of this action is already recorded."))
        if not _plan_approved(uow, capa):
            raise ConflictError(Msg("The CAPA plan is not approved: the head of quality approves the plan (its "
                                    "actions and owners) before an action is carried out."))
        if implemented_on > business_today(uow.settings):
            raise ValidationError(Msg("Date in the future."), {"implemented_on": [Msg("The date cannot be in the future.")]})
        action.status, action.implemented_on, action.evidence = ActionStatus.implemented.value, implemented_on, evidence
        _record(uow, "capa_action.implemented", "capa_action", action.id, actor.id)
        _tell(uow, capa, holders_of(uow.session, Role.qa_head), NoticeKind.capa_implementation_to_approve, actor)
        uow.commit()
        return capa_view(uow, capa)


def add_evidence(uow: UnitOfWork, capa_id: int, action_id: int, *, filename: str, data: bytes, actor: Actor) -> dict:
    """An evidence file (checked, stored by content hash, never deleted) for an action."""
    from gmp_complaints.services.attachments import checked_media_type, store_bytes

    media_type = checked_media_type(uow, filename, data)
    with uow:
        capa = load_capa(uow, capa_id)
        action = _action(capa, action_id)
        _owner_or_qa(action, actor)
        if action.status == ActionStatus.verified.value:
            raise ConflictError(Msg("The implementation is approved: its evidence is closed."))
        sha256 = store_bytes(uow, data)
        row = CapaEvidence(capa_action_id=action.id, sha256=sha256, filename=filename[:255], media_type=media_type,
                           size=len(data), uploaded_by_id=actor.id, created_at=uow.now())
        action.evidence_files.append(row)
        uow.session.flush()
        _record(uow, "capa_evidence.added", "capa_evidence", row.id, actor.id, {"capa_action_id": [None, action.id]})
        uow.commit()
        return capa_view(uow, capa)


def read_evidence(uow: UnitOfWork, capa_id: int, evidence_id: int) -> tuple[dict, bytes]:
    from gmp_complaints.services.attachments import read_stored

    with uow:
        row = uow.session.get(CapaEvidence, evidence_id)
        action = uow.session.get(CapaAction, row.capa_action_id) if row is not None else None
        if row is None or action.capa_id != capa_id:
            raise NotFoundError(Msg("No such evidence file."))
        return ({"filename": row.filename, "media_type": row.media_type, "sha256": row.sha256},
                read_stored(uow, row.sha256))


def request_due_date_change(uow: UnitOfWork, capa_id: int, action_id: int, data: dict, *, actor: Actor) -> dict:
    """A due date is never edited: the owner (or QA) asks, with a reason; the QA head approves."""
    fields = schemas.load(schemas.DueDateRequest, data)
    new_due_on, reason = fields["new_due_on"], fields["reason"]
    with uow:
        capa = load_capa(uow, capa_id)
        action = _action(capa, action_id)
        _owner_or_qa(action, actor)
        if action.status == ActionStatus.verified.value:
            raise ConflictError(Msg("The action is implemented: its due date no longer moves."))
        if action.requested_due_on is not None:
            raise ConflictError(Msg("A new due date is already waiting for approval."))
        check_due_date("new_due_on", new_due_on, business_today(uow.settings))
        if new_due_on == action.due_on:
            raise ValidationError(Msg("Nothing changed."), {"new_due_on": [Msg("This is the current due date.")]})
        action.requested_due_on, action.due_change_reason = new_due_on, reason
        action.due_change_requested_by_id = actor.id
        _record(uow, "capa_action.due_date_change_requested", "capa_action", action.id, actor.id, reason=reason)
        uow.commit()
        return capa_view(uow, capa)


# --- signed approvals ----------------------------------------------------------------------------


def _authorize(uow: UnitOfWork, capa: Capa, step: SigningStep, data: dict, actor: Actor, *,
               action: CapaAction | None = None, requested_by=(), source_ip=None) -> signing.AuthorizedSigner:
    """Every check of a CAPA signature, before the act changes anything: credentials, standing, the
    matrix, and four-eyes against the authors of what it covers (the action, or the whole CAPA)."""
    from audit.service import actions_of_records

    username, password = data["username"], data["password"]
    actions = [action] if action is not None else list(capa.actions)
    records = {"capa": [] if action is not None else [str(capa.id)],
               "capa_action": [str(a.id) for a in actions],
               "capa_evidence": [str(f.id) for a in actions for f in a.evidence_files]}
    rule = rule_for(step)
    authors = authors_of(rule, actions_of_records(uow.session, records), requested_by=requested_by)
    return signing.authorize(uow, actor_id=actor.id, username=username, password=password, rule=rule,
                             author_ids=authors, source_ip=source_ip)


def _sign(uow: UnitOfWork, capa: Capa, signer: signing.AuthorizedSigner, *, subject=None, comment=None,
          source_ip=None) -> None:
    """The signature over the CAPA as it stands now (after the act's change, which it binds)."""
    uow.session.flush()
    rule = signer.rule
    request = signing.SigningRequest(
        record_type="capa", record_id=str(capa.id), record_number=capa.number, record_version=capa.version,
        snapshot=capa_snapshot(capa_view(uow, capa, with_signatures=False), rule.scope, subject), rule=rule,
        subject=subject, comment=comment)
    signing.sign(uow, signer, request, source_ip=source_ip)


def _plan_approved(uow: UnitOfWork, capa: Capa) -> bool:
    """A valid plan approval: one signed over the plan as it stands now (an action added since supersedes it)."""
    plan = canonical_snapshot_hash(capa_snapshot(capa_view(uow, capa, with_signatures=False), "capa_plan"))
    return any(row.step == SigningStep.capa_plan_approval and row.record_hash == plan
               for row in signing.signatures_of(uow.session, "capa", str(capa.id)))


def approve_plan(uow: UnitOfWork, capa_id: int, data: dict, *, actor: Actor, source_ip: str | None = None) -> dict:
    """ICH Q10 3.2.2: the head of quality approves the CAPA plan — the problem, the actions and their owners —
    before it is carried out; whoever planned it does not approve it. Adding an action later supersedes
    the approval, and the plan is approved again."""
    data = schemas.load(schemas.CapaSigning, data)
    with uow:
        capa = load_capa(uow, capa_id)
        if CapaStatus(capa.status) not in (CapaStatus.open, CapaStatus.actions_in_progress):
            raise refuse(CapaStatus(capa.status))
        if not capa.actions:
            raise ConflictError(Msg("The plan has no actions yet: plan the actions and their owners first."))
        if _plan_approved(uow, capa):
            raise ConflictError(Msg("The plan as it stands is already approved."))
        # WF-13: the change-control answer (and reference) and the planned effectiveness check are part of it
        check_plan_complete(capa.change_control_required, capa.change_control_ref, capa.effectiveness_criteria,
                            capa.effectiveness_due_on)
        signer = _authorize(uow, capa, SigningStep.capa_plan_approval, data, actor, source_ip=source_ip)
        _sign(uow, capa, signer, comment=data["comment"], source_ip=source_ip)
        _record(uow, "capa.plan_approved", "capa", capa.id, actor.id)
        uow.commit()
        return capa_view(uow, capa)


def approve_implementation(uow: UnitOfWork, capa_id: int, action_id: int, data: dict, *, actor: Actor,
                           source_ip: str | None = None) -> dict:
    """The QA head approves an action's implementation; the owner never approves their own."""
    data = schemas.load(schemas.CapaSigning, data)
    comment = data["comment"]
    with uow:
        capa = load_capa(uow, capa_id)
        action = _action(capa, action_id)
        if action.status != ActionStatus.implemented.value:
            raise ConflictError(Msg("Only a recorded implementation can be approved."))
        signer = _authorize(uow, capa, SigningStep.action_implementation, data, actor, action=action,
                            requested_by=(action.owner_id,), source_ip=source_ip)
        _sign(uow, capa, signer, subject=f"capa_action:{action.id}", comment=comment, source_ip=source_ip)
        action.status = ActionStatus.verified.value
        before = capa.status
        capa.status = status_after_verification(_facts(capa)).value
        _record(uow, "capa_action.verified", "capa_action", action.id, actor.id)
        if capa.status != before:
            _touch(capa)
            _record(uow, "capa.implemented", "capa", capa.id, actor.id, {"status": [before, capa.status]})
        uow.commit()
        return capa_view(uow, capa)


def approve_due_date_change(uow: UnitOfWork, capa_id: int, action_id: int, data: dict, *, actor: Actor,
                            source_ip: str | None = None) -> dict:
    """The QA head approves the requested due date (signed); the requester cannot approve it."""
    data = schemas.load(schemas.CapaSigning, data)
    comment = data["comment"]
    with uow:
        capa = load_capa(uow, capa_id)
        action = _action(capa, action_id)
        if action.requested_due_on is None:
            raise ConflictError(Msg("No new due date is waiting for approval."))
        signer = _authorize(uow, capa, SigningStep.action_due_date_change, data, actor, action=action,
                            requested_by=(action.due_change_requested_by_id,), source_ip=source_ip)
        before = action.due_on
        action.due_on, action.requested_due_on = action.requested_due_on, None
        _sign(uow, capa, signer, subject=f"capa_action:{action.id}", comment=comment,  # binds the new due date
              source_ip=source_ip)
        _record(uow, "capa_action.due_date_changed", "capa_action", action.id, actor.id,
                {"due_on": [before.isoformat(), action.due_on.isoformat()]}, reason=action.due_change_reason)
        uow.commit()
        return capa_view(uow, capa)


def record_effectiveness(uow: UnitOfWork, capa_id: int, data: dict, *, actor: Actor,
                         source_ip: str | None = None) -> dict:
    """Result (effective / not effective) and evidence, signed by the QA head (ICH Q10 3.2.2)."""
    data = schemas.load(schemas.EffectivenessCheck, data)
    result, evidence = data["result"], data["evidence"]
    with uow:
        capa = load_capa(uow, capa_id)
        new_status = check_effectiveness_due(_facts(capa))
        today = business_today(uow.settings)
        check_effectiveness_timing(capa.effectiveness_due_on, today, data["early_reason"])
        signer = _authorize(uow, capa, SigningStep.effectiveness_check, data, actor, source_ip=source_ip)
        capa.effectiveness_result, capa.effectiveness_evidence = result.value, evidence
        capa.effectiveness_on = today
        if today < capa.effectiveness_due_on:
            capa.effectiveness_early_reason = data["early_reason"]
        before, capa.status = capa.status, new_status.value
        _touch(capa)
        _sign(uow, capa, signer, comment=evidence, source_ip=source_ip)  # binds the recorded result and evidence
        _record(uow, "capa.effectiveness_checked", "capa", capa.id, actor.id, {"status": [before, capa.status]})
        uow.commit()
        return capa_view(uow, capa)


def waive_effectiveness(uow: UnitOfWork, capa_id: int, data: dict, *, actor: Actor,
                        source_ip: str | None = None) -> dict:
    """WF-14: in place of the effectiveness check, the head of quality signs why none is needed, once every
    action's implementation is approved; never whoever created the CAPA, planned it or owns its actions. The
    justification is part of what the signature covers; the CAPA may then close."""
    data = schemas.load(schemas.EffectivenessWaiver, data)
    justification = data["justification"]
    with uow:
        capa = load_capa(uow, capa_id)
        check_waiver(_facts(capa))
        signer = _authorize(uow, capa, SigningStep.effectiveness_waiver, data, actor, requested_by=_owners(capa),
                            source_ip=source_ip)
        capa.effectiveness_waiver = justification
        _touch(capa)
        _sign(uow, capa, signer, comment=justification, source_ip=source_ip)  # binds the justification
        _record(uow, "capa.effectiveness_waived", "capa", capa.id, actor.id)
        uow.commit()
        return capa_view(uow, capa)


def escalate_not_effective(uow: UnitOfWork, capa_id: int, data: dict, *, actor: Actor,
                           source_ip: str | None = None) -> dict:
    """WF-14: a result "not effective" that no follow-up CAPA answers is escalated by the head of quality
    (to management review, a change of the quality system ...), signed with the reason; the CAPA may then
    close. Never by whoever created the CAPA, planned it or owns its actions."""
    data = schemas.load(schemas.EffectivenessEscalation, data)
    reason = data["reason"]
    with uow:
        capa = load_capa(uow, capa_id)
        check_escalation(_facts(capa))
        signer = _authorize(uow, capa, SigningStep.effectiveness_escalation, data, actor,
                            requested_by=_owners(capa), source_ip=source_ip)
        capa.escalation_reason = reason
        _touch(capa)
        _sign(uow, capa, signer, comment=reason, source_ip=source_ip)  # binds the escalation and the result
        _record(uow, "capa.escalated", "capa", capa.id, actor.id)
        uow.commit()
        return capa_view(uow, capa)


def close_capa(uow: UnitOfWork, capa_id: int, data: dict, *, actor: Actor, source_ip: str | None = None) -> dict:
    data = schemas.load(schemas.CapaSigning, data)
    comment = data["comment"]
    with uow:
        capa = load_capa(uow, capa_id)
        new_status = check_closure(_facts(capa))
        signer = _authorize(uow, capa, SigningStep.capa_closure, data, actor, source_ip=source_ip)
        _sign(uow, capa, signer, comment=comment, source_ip=source_ip)
        before, capa.status = capa.status, new_status.value
        capa.closed_on = business_today(uow.settings)
        _record(uow, "capa.closed", "capa", capa.id, actor.id, {"status": [before, capa.status]})
        uow.commit()
        return capa_view(uow, capa)


# --- reading -------------------------------------------------------------------------------------


def _people(session, ids) -> dict[int, dict]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: {"id": u.id, "username": u.username, "printed_name": u.printed_name}
            for u in session.scalars(sa.select(User).where(User.id.in_(ids)))}


def capa_view(uow: UnitOfWork, capa: Capa, *, with_signatures: bool = True) -> dict:
    session = uow.session
    today = business_today(uow.settings)
    people = _people(session, [a.owner_id for a in capa.actions])
    complaint_ids = [link.complaint_id for link in capa.complaint_links]
    complaints = session.execute(sa.select(Complaint.id, Complaint.number, Complaint.intake_ref, Complaint.status)
                                 .where(Complaint.id.in_(complaint_ids)).order_by(Complaint.id)).all() \
        if complaint_ids else []
    follow_ups = session.execute(_follow_ups_query(capa.id)).all()
    view = {
        "id": capa.id, "number": capa.number, "status": capa.status, "source": capa.source, "version": capa.version,
        "problem_statement": capa.problem_statement, "root_cause": capa.root_cause, "risk": capa.risk,
        "complaints": [{"id": c.id, "number": c.number, "intake_ref": c.intake_ref, "status": c.status}
                       for c in complaints],
        # WF-13: the other sources, each by its type and reference (a recall or CAPA also by its id)
        "sources": [{"id": link.id, "source_type": link.source_type, "reference": link.reference,
                     "recall_id": link.recall_id, "capa_id": link.source_capa_id} for link in capa.source_links],
        "change_control": {"required": capa.change_control_required, "reference": capa.change_control_ref},
        "effectiveness": {"criteria": capa.effectiveness_criteria, "due_on": capa.effectiveness_due_on.isoformat(),
                          "result": capa.effectiveness_result, "evidence": capa.effectiveness_evidence,
                          "checked_on": capa.effectiveness_on.isoformat() if capa.effectiveness_on else None,
                          "waiver": capa.effectiveness_waiver,
                          **({"early_reason": capa.effectiveness_early_reason}
                             if capa.effectiveness_early_reason else {})},
        "escalation": capa.escalation_reason,
        "plan_gaps": plan_gaps(capa.change_control_required, capa.change_control_ref, capa.effectiveness_criteria,
                               capa.effectiveness_due_on),
        "follow_up_of": capa.follow_up_of_id,
        "follow_ups": [f.id for f in follow_ups],
        "follow_up_capas": [{"id": f.id, "number": f.number, "status": f.status} for f in follow_ups],
        "closed_on": capa.closed_on.isoformat() if capa.closed_on else None,
        "actions": [{
            "id": a.id, "kind": a.kind, "description": a.description, "owner": people.get(a.owner_id),
            "external_party": a.external_party,
            "due_on": a.due_on.isoformat(), "status": a.status, "evidence": a.evidence,
            "implemented_on": a.implemented_on.isoformat() if a.implemented_on else None,
            "evidence_files": [{"id": f.id, "filename": f.filename, "sha256": f.sha256, "size": f.size}
                               for f in a.evidence_files],
            "requested_due_on": a.requested_due_on.isoformat() if a.requested_due_on else None,
            "due_change_reason": a.due_change_reason,
            "overdue": a.status != ActionStatus.verified.value and a.due_on < today,
        } for a in capa.actions],
        "signatures": [],
    }
    if with_signatures:
        site_tz = ZoneInfo(uow.settings.site_timezone)
        for row in signing.signatures_of(session, "capa", str(capa.id)):
            try:
                current = canonical_snapshot_hash(capa_snapshot(view, rule_for(row.step).scope, row.subject))
            except StopIteration:  # the approved item no longer exists in the view
                current = ""
            view["signatures"].append(signing.signature_view(row, current, site_tz))
        view["plan_approved"] = any(sg["step"] == SigningStep.capa_plan_approval and sg["status"] == "valid"
                                    for sg in view["signatures"])
    return view


def get_capa(uow: UnitOfWork, capa_id: int) -> dict:
    with uow:
        return capa_view(uow, load_capa(uow, capa_id, for_update=False))


def list_capas(uow: UnitOfWork, *, status: str | None = None, limit: int = 200) -> list[dict]:
    with uow:
        query = sa.select(Capa).order_by(Capa.id.desc()).limit(limit)
        if status:
            query = query.where(Capa.status == status)
        today = business_today(uow.settings)
        return [{"id": c.id, "number": c.number, "status": c.status, "source": c.source,
                 "problem_statement": c.problem_statement,
                 "effectiveness_due_on": c.effectiveness_due_on.isoformat(),
                 "open_actions": sum(1 for a in c.actions if a.status != ActionStatus.verified.value),
                 "overdue_actions": sum(1 for a in c.actions
                                        if a.status != ActionStatus.verified.value and a.due_on < today)}
                for c in uow.session.scalars(query)]


def my_actions(uow: UnitOfWork, *, user_id: int) -> list[dict]:
    """The dashboard's "my CAPA actions": open actions I own, with due dates, overdue first."""
    with uow:
        return actions_owned_by(uow.session, user_id, business_today(uow.settings))


def actions_owned_by(session, user_id: int, today) -> list[dict]:
    rows = session.execute(
        sa.select(CapaAction, Capa.number, Capa.id).join(Capa, Capa.id == CapaAction.capa_id)
        .where(CapaAction.owner_id == user_id, CapaAction.status != ActionStatus.verified.value)
        .order_by(CapaAction.due_on)).all()
    return [{"capa_id": capa_id, "capa_number": number, "action_id": a.id, "kind": a.kind,
             "description": a.description, "due_on": a.due_on.isoformat(), "status": a.status,
             "overdue": a.due_on < today} for a, number, capa_id in rows]


def escalated_actions(session) -> list[dict]:
    """Overdue actions that ``gmp tick`` escalated to the QA head and that are still not implemented."""
    rows = session.execute(
        sa.select(CapaAction, Capa.number, Capa.id).join(Capa, Capa.id == CapaAction.capa_id)
        .where(CapaAction.status != ActionStatus.verified.value, CapaAction.escalated_for_due_on == CapaAction.due_on)
        .order_by(CapaAction.due_on)).all()
    owners = _people(session, [a.owner_id for a, _, _ in rows])
    return [{"capa_id": capa_id, "capa_number": number, "action_id": a.id, "description": a.description,
             "owner": owners.get(a.owner_id), "due_on": a.due_on.isoformat()} for a, number, capa_id in rows]


def action_owners(uow: UnitOfWork) -> list[dict]:
    """Who may own an action, for the picker: active investigators and QA; never sales."""
    with uow:
        rows = uow.session.execute(sa.select(User.username, User.printed_name).join(UserRole, UserRole.user_id == User.id)
                                   .where(UserRole.role.in_([r.value for r in ACTION_OWNER_ROLES]),
                                          User.is_active.is_(True)).distinct().order_by(User.printed_name))
        return [{"username": username, "printed_name": name} for username, name in rows]


def capa_signatures_due(uow: UnitOfWork, *, user_id: int) -> list[dict]:
    """The head of quality's CAPA signatures due: plans not (or no longer) approved, implementations recorded
    and not yet approved; never their own work (four-eyes is checked again on signing)."""
    with uow:
        due = []
        open_capas = uow.session.scalars(sa.select(Capa).where(Capa.status.in_(
            [CapaStatus.open.value, CapaStatus.actions_in_progress.value])).order_by(Capa.id)).all()
        for capa in open_capas:
            if capa.actions and not _plan_approved(uow, capa) and not plan_gaps(
                    capa.change_control_required, capa.change_control_ref, capa.effectiveness_criteria,
                    capa.effectiveness_due_on):
                due.append({"capa_id": capa.id, "number": capa.number, "step": SigningStep.capa_plan_approval.value,
                            "action_id": None, "description": capa.problem_statement})
            for action in capa.actions:
                if action.status == ActionStatus.implemented.value and action.owner_id != user_id:
                    due.append({"capa_id": capa.id, "number": capa.number,
                                "step": SigningStep.action_implementation.value, "action_id": action.id,
                                "description": action.description})
        return due


def capas_of_complaint(session, complaint_id: int) -> list[Capa]:
    return list(session.scalars(sa.select(Capa).join(CapaComplaint, CapaComplaint.capa_id == Capa.id)
                                .where(CapaComplaint.complaint_id == complaint_id).order_by(Capa.id)))


def escalate_overdue_actions(uow: UnitOfWork) -> int:
    """``gmp tick``: every overdue action is escalated to the QA head once per due date."""
    today = business_today(uow.settings)
    with uow:
        # Those already escalated for their due date are left out here, not locked one by one to find that out.
        due = uow.session.scalars(sa.select(CapaAction.id).where(
            CapaAction.status != ActionStatus.verified.value, CapaAction.due_on < today,
            sa.or_(CapaAction.escalated_for_due_on.is_(None),
                   CapaAction.escalated_for_due_on != CapaAction.due_on))).all()
    count = 0
    for action_id in due:
        with uow:
            action = uow.session.scalars(sa.select(CapaAction).where(CapaAction.id == action_id)
                                         .with_for_update()).one()
            if action.escalated_for_due_on == action.due_on or action.status == ActionStatus.verified.value:
                continue
            action.escalated_for_due_on = action.due_on
            _record(uow, "capa_action.escalated", "capa_action", action.id, None,
                    {"due_on": [None, action.due_on.isoformat()]})
            uow.commit()
            count += 1
    return count

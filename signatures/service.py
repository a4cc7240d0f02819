"""The signing service every approval goes through (21 CFR 11.50, 11.70, 11.100, 11.200, 11.300).

One signing = ``authorize`` (user name and password again, the account enabled for signing, a role the
matrix allows for the step, not the author of what is approved), checked before the act changes
anything, then ``sign``: a row that binds printed name,
meaning, time and the SHA-256 of the record version's canonical snapshot, covered by the site's
Ed25519 key, an audit event and a checkpoint of the audit log. Runs inside the caller's unit of
work, so the approval and its signature commit together or not at all.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import NoReturn
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from audit.keys import load_signer
from gmp_complaints.domain.errors import Msg, PermissionDeniedError
from gmp_complaints.domain.events import DomainEvent
from gmp_complaints.domain.roles import Role
from gmp_complaints.models import SignatureRow, User
from gmp_complaints.uow import UnitOfWork
from signatures.binding import (
    SignatureManifest,
    canonical_snapshot_hash,
    sign_manifest,
    signature_status,
    signed_at_text,
    verify_manifest,
)
from signatures.manifestation import local_time_text, manifestation
from signatures.matrix import StepRule, check_authority, choose_role


@dataclass(frozen=True)
class SigningRequest:
    """What is to be signed: the record, its version and the snapshot of what the step covers."""

    record_type: str
    record_id: str
    record_number: str | None
    record_version: int
    snapshot: dict
    rule: StepRule
    subject: str | None = None
    comment: str | None = None
    audit_index: int | None = None


@dataclass(frozen=True)
class AuthorizedSigner:
    """A signer who passed every check of one step: only ``authorize`` makes one, and ``sign`` takes
    nothing else, so no signature is ever stored on a path that skipped a check."""

    user: User
    rule: StepRule
    usable_roles: frozenset[Role]


def authorize(uow: UnitOfWork, *, actor_id: int, username: str, password: str, rule: StepRule,
              author_ids: frozenset[int] = frozenset(), source_ip: str | None = None) -> AuthorizedSigner:
    """Every check of a signed act, made before the act changes anything (21 CFR 11.200, 11.300):
    one's own user name, both components (failures count toward lockout, SIG-03), the identity
    verified by an administrator and the statement accepted (SIG-05), a role the matrix allows
    (SIG-06), and not an author of what is approved (SIG-08). A refusal rolls the whole act back and
    leaves exactly one security event."""
    from gmp_complaints.services.accounts import check_credentials

    actor = uow.session.get(User, actor_id)
    if actor.is_service:
        # SEC-01: a system integration's account is nobody; it never signs, whatever it sends.
        refuse(uow, actor_id, Msg("A service account never signs."), step=rule.step.value, source_ip=source_ip)
    if (username or "").strip() != actor.username:
        refuse(uow, actor_id, Msg("Sign with your own user name."), step=rule.step.value, source_ip=source_ip)
    user = check_credentials(uow, username.strip(), password, source_ip, "signature")
    if user.identity_verified_at is None or user.esignature_accepted_at is None:
        refuse(uow, actor_id, Msg("Signing needs an identity verification recorded by an administrator and your "
                                  "acceptance of the accountability statement."), step=rule.step.value,
               source_ip=source_ip)
    try:
        usable = check_authority(rule, user.roles, signer_id=user.id, author_ids=author_ids)
    except PermissionDeniedError as exc:
        refuse(uow, user.id, exc.message, step=rule.step.value, source_ip=source_ip)
    # A security event of its own; with the signature it commits, or not at all.
    uow.record(DomainEvent("user.reauthenticated", "user", str(user.id), {"via": [None, "signature"]},
                           actor_id=user.id, source_ip=source_ip))
    return AuthorizedSigner(user, rule, usable)


def refuse(uow: UnitOfWork, actor_id: int, message: Msg, *, step: str | None = None,
           source_ip: str | None = None) -> NoReturn:
    """Refuse the act with 403; its only trace is the ``signature.refused`` security event, written
    after the act's transaction is rolled back."""
    refusal = str(message)
    uow.on_refusal(lambda u: u.record(DomainEvent(
        "signature.refused", "user", str(actor_id), {"step": [None, step], "refusal": [None, refusal]},
        actor_id=actor_id, source_ip=source_ip)))
    raise PermissionDeniedError(message)


def sign(uow: UnitOfWork, signer: AuthorizedSigner, request: SigningRequest, *,
         source_ip: str | None = None) -> SignatureRow:
    """Store the signature of an authorized signer over ``request``; the caller commits."""
    if not isinstance(signer, AuthorizedSigner) or signer.rule.step is not request.rule.step:
        raise TypeError("sign() takes the AuthorizedSigner that authorize() returned for this very step")
    rule, user = request.rule, signer.user
    signed_roles = {row.signed_role for row in valid_signatures(uow.session, request, rule.step.value)}
    role = choose_role(signer.usable_roles, signed_roles)
    record_hash = canonical_snapshot_hash(request.snapshot)
    manifest = SignatureManifest(
        signer_id=user.id, signer_username=user.username, printed_name=user.printed_name,
        meaning=rule.meaning.value, step=rule.step.value, signed_at=signed_at_text(uow.now()),
        record_type=request.record_type, record_id=request.record_id, record_number=request.record_number,
        record_version=request.record_version, record_hash=record_hash, comment=request.comment)
    key = load_signer(uow.settings.signing_key_file, uow.settings.audit_origin)
    row = SignatureRow(
        record_type=request.record_type, record_id=request.record_id, record_number=request.record_number,
        record_version=request.record_version, record_hash=record_hash, step=rule.step.value,
        meaning=rule.meaning.value, subject=request.subject, signer_id=user.id, signer_username=user.username,
        printed_name=user.printed_name, signed_role=role.value, signed_at=uow.now(), comment=request.comment,
        audit_index=request.audit_index, manifest=manifest.payload().decode(),
        system_signature=base64.b64encode(sign_manifest(manifest, key)).decode(), key_id=key.key_id.hex())
    uow.session.add(row)
    uow.session.flush()
    uow.record(DomainEvent("signature.signed", "signature", str(row.id), {
        "record": [None, f"{request.record_type}:{request.record_id}"], "record_number": [None, request.record_number],
        "record_version": [None, request.record_version], "record_hash": [None, record_hash],
        "step": [None, rule.step.value], "meaning": [None, rule.meaning.value], "signed_role": [None, role.value],
        "printed_name": [None, user.printed_name], "subject": [None, request.subject],
        "comment": [None, request.comment]}, actor_id=user.id, source_ip=source_ip))
    uow.force_checkpoint = True  # a checkpoint of the audit log follows every signature
    return row


def signatures_of(session, record_type: str, record_id: str) -> list[SignatureRow]:
    return list(session.scalars(sa.select(SignatureRow).where(
        SignatureRow.record_type == record_type, SignatureRow.record_id == record_id).order_by(SignatureRow.id)))


def valid_signatures(session, request: SigningRequest, step: str) -> list[SignatureRow]:
    """Signatures of ``step`` (same subject) whose content has not changed since they were made."""
    current = canonical_snapshot_hash(request.snapshot)
    return [row for row in signatures_of(session, request.record_type, request.record_id)
            if row.step == step and row.subject == request.subject and row.record_hash == current]


def signature_view(row: SignatureRow, current_hash: str, site_tz: ZoneInfo) -> dict:
    """DESIGN §6 ``signatures``: status computed by comparing hashes; manifestation in both languages."""
    shown = {"meaning": row.meaning, "printed_name": row.printed_name, "signed_at": row.signed_at,
             "site_tz": site_tz, "record_number": row.record_number, "record_version": row.record_version,
             "record_hash": row.record_hash}
    return {
        "id": row.id, "step": row.step, "meaning": row.meaning, "signer_name": row.printed_name,
        "signer_username": row.signer_username, "signed_role": row.signed_role,
        "signed_at": row.signed_at.astimezone(site_tz).isoformat(timespec="seconds"),
        "signed_at_local": local_time_text(row.signed_at, site_tz),
        "record_type": row.record_type, "record_number": row.record_number, "record_version": row.record_version,
        "record_hash": row.record_hash, "subject": row.subject, "comment": row.comment,
        "audit_index": row.audit_index, "status": signature_status(row.record_hash, current_hash).value,
        "manifestation": {"en": manifestation(**shown, locale="en"), "zh_CN": manifestation(**shown, locale="zh_CN")},
        "system_signature": {"key_id": row.key_id, "value": row.system_signature},
    }


def manifest_of(row: SignatureRow) -> SignatureManifest:
    """The manifest as stored, for verification of the system signature."""
    data = json.loads(row.manifest)
    data.pop("v", None)
    return SignatureManifest(**data)


def signature_problems(session) -> list[tuple[int, str]]:
    """Every signature row checked against itself: the stored manifest must state what the row's
    columns state, and the site key must have signed exactly that manifest (catches out-of-band edits
    of a signature or of its bound hash). Returns (signature id, problem)."""
    from audit.models import SigningKey

    keys = {row.key_id: bytes(row.public_key) for row in session.scalars(sa.select(SigningKey))}
    problems = []
    for row in session.scalars(sa.select(SignatureRow).order_by(SignatureRow.id)):
        manifest = manifest_of(row)
        stated = (manifest.signer_id, manifest.printed_name, manifest.meaning, manifest.step, manifest.record_type,
                  manifest.record_id, manifest.record_number, manifest.record_version, manifest.record_hash,
                  manifest.comment, manifest.signed_at)
        held = (row.signer_id, row.printed_name, row.meaning, row.step, row.record_type, row.record_id,
                row.record_number, row.record_version, row.record_hash, row.comment, signed_at_text(row.signed_at))
        if stated != held:
            problems.append((row.id, "the row differs from its signed manifest"))
        public_key = keys.get(row.key_id)
        if public_key is None:
            problems.append((row.id, f"unknown signing key {row.key_id}"))
        elif not verify_manifest(manifest, base64.b64decode(row.system_signature), public_key):
            problems.append((row.id, "the system signature does not verify"))
    return problems

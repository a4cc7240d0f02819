"""What a signature binds to (21 CFR 11.70, SIG-02).

A signature binds to the SHA-256 of the canonical snapshot of the content it covers and to the
record's type, id and version, not to a database row. The system Ed25519 key signs a manifest of
all of these, so a signature verified against any other record or version fails. On purpose there
is no function that turns an existing signature into one for another record or version: a new
version needs new signatures.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.verify import canonical_bytes, canonical_value

MANIFEST_FORMAT_VERSION = 1

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class SignatureStatus(StrEnum):
    valid = "valid"
    superseded = "superseded"


class BytesSigner(Protocol):
    """Anything that signs bytes with the system key, such as ``audit.keys.Signer``."""

    def sign_bytes(self, data: bytes) -> bytes: ...


def canonical_snapshot_hash(snapshot: dict) -> str:
    """Hex SHA-256 of the snapshot's canonical JSON: the same content always gives the same hash."""
    return hashlib.sha256(canonical_bytes(snapshot)).hexdigest()


def signed_at_text(moment: datetime) -> str:
    """The one text form of a signing instant in a manifest: UTC, microseconds, ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("a signing instant must be timezone-aware")
    return canonical_value(moment)


@dataclass(frozen=True)
class SignatureManifest:
    """Everything a signature states (21 CFR 11.50) and everything it is bound to (11.70)."""

    signer_id: int | str
    signer_username: str
    printed_name: str
    meaning: str
    step: str
    signed_at: str  # ISO 8601, UTC (the database clock)
    record_type: str
    record_id: str
    record_number: str | None
    record_version: int
    record_hash: str  # hex SHA-256 of the canonical snapshot
    comment: str | None

    def __post_init__(self):
        # Refuse a manifest that could not be verified the same way later.
        if not isinstance(self.record_hash, str) or not _SHA256_HEX.fullmatch(self.record_hash):
            raise ValueError("record_hash must be a lower-case hex SHA-256")
        if isinstance(self.record_version, bool) or not isinstance(self.record_version, int):
            raise TypeError("record_version must be an integer")
        if self.record_version < 1:
            raise ValueError("record_version must be positive")
        if not isinstance(self.record_id, str):
            raise TypeError("record_id must be a string")
        if not isinstance(self.signed_at, str):
            raise TypeError("signed_at must be an ISO 8601 string")
        moment = datetime.fromisoformat(self.signed_at)
        if moment.utcoffset() != timedelta(0):
            raise ValueError("signed_at must be in UTC")

    def payload(self) -> bytes:
        """The canonical bytes the system key signs; ``v`` marks the format of this dict."""
        return canonical_bytes({
            "v": MANIFEST_FORMAT_VERSION,
            "signer_id": self.signer_id,
            "signer_username": self.signer_username,
            "printed_name": self.printed_name,
            "meaning": self.meaning,
            "step": self.step,
            "signed_at": self.signed_at,
            "record_type": self.record_type,
            "record_id": self.record_id,
            "record_number": self.record_number,
            "record_version": self.record_version,
            "record_hash": self.record_hash,
            "comment": self.comment,
        })


def sign_manifest(manifest: SignatureManifest, signer: BytesSigner) -> bytes:
    """The system Ed25519 signature over the manifest's payload."""
    return signer.sign_bytes(manifest.payload())


def verify_manifest(manifest: SignatureManifest, signature: bytes, public_key: bytes) -> bool:
    """True only if ``signature`` was made by ``public_key`` over exactly this manifest."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, manifest.payload())
    except InvalidSignature:
        return False
    return True


def signature_status(signed_hash: str, current_hash: str) -> SignatureStatus:
    """Computed, never stored: a signature is superseded once the content it covers has changed."""
    return SignatureStatus.valid if signed_hash == current_hash else SignatureStatus.superseded

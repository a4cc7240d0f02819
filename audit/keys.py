"""The site signing key: Ed25519, private half in a file (mode 0400), public halves in the database."""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.models import SigningKey
from audit.verify import SIGNATURE_PREFIX, checkpoint_body, ed25519_key_id


class SigningKeyMissingError(RuntimeError):
    """The instance has no signing key yet: ``gmp init`` creates it."""


@dataclass(frozen=True)
class Signer:
    name: str
    private_key: Ed25519PrivateKey
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return ed25519_key_id(self.name, self.public_key)

    def sign_note(self, body: str) -> str:
        """A C2SP signed note: the body, a blank line, one signature line."""
        signature = self.private_key.sign(body.encode())
        blob = base64.b64encode(self.key_id + signature).decode()
        return f"{body}\n{SIGNATURE_PREFIX}{self.name} {blob}\n"

    def sign_checkpoint(self, origin: str, tree_size: int, root: bytes, time: str) -> str:
        return self.sign_note(checkpoint_body(origin, tree_size, root, time))

    def sign_bytes(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


def _public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _write_private_key(path: Path, private_key: Ed25519PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


_cache: dict[tuple[str, float], Signer] = {}


def load_signer(key_path: Path, name: str) -> Signer:
    try:
        stamp = key_path.stat().st_mtime
    except FileNotFoundError:
        raise SigningKeyMissingError(f"No signing key at {key_path}: run `gmp init`.") from None
    cached = _cache.get((str(key_path), stamp))
    if cached is not None and cached.name == name:
        return cached
    private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SigningKeyMissingError(f"{key_path} is not an Ed25519 private key.")
    signer = Signer(name, private_key, _public_bytes(private_key))
    _cache[(str(key_path), stamp)] = signer
    return signer


def create_key_file_if_missing(key_path: Path) -> bool:
    if key_path.exists():
        return False
    _write_private_key(key_path, Ed25519PrivateKey.generate())
    return True


def retire_key_file(key_path: Path, key_id_hex: str) -> Path:
    """Keep the old private key beside the new one, renamed, so nothing is lost; it signs nothing more."""
    retired = key_path.with_name(f"{key_path.stem}.{key_id_hex}.retired{key_path.suffix}")
    key_path.rename(retired)
    return retired


def registered_key(session, signer: Signer) -> SigningKey | None:
    return session.get(SigningKey, signer.key_id.hex())


def register_public_key(session, signer: Signer, valid_from: datetime) -> SigningKey:
    row = SigningKey(key_id=signer.key_id.hex(), name=signer.name, public_key=signer.public_key, valid_from=valid_from)
    session.add(row)
    return row


def public_keys(session) -> list[dict]:
    """Keys with their validity windows, in the form the offline verifier reads (``keys.json``)."""
    from audit.verify import canonical_value

    rows = session.scalars(sa.select(SigningKey).order_by(SigningKey.valid_from, SigningKey.key_id)).all()
    keys = []
    for position, row in enumerate(rows):
        following = rows[position + 1].valid_from if position + 1 < len(rows) else None
        keys.append({
            "name": row.name,
            "key_id": row.key_id,
            "public_key": base64.b64encode(row.public_key).decode(),
            "valid_from": canonical_value(row.valid_from),
            "valid_until": canonical_value(following) if following else None,
        })
    return keys

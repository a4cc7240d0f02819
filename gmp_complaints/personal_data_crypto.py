"""Encryption at rest of complainant personal data: Fernet keys from configuration or a key file in the
instance folder, never in the database. The first key encrypts; all keys decrypt (rotation)."""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class PersonalDataKeyError(RuntimeError):
    """Stored personal data cannot be read with the configured keys."""


class PersonalDataCipher:
    def __init__(self, keys: list[bytes]):
        if not keys:
            raise PersonalDataKeyError("No personal-data key is configured.")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, text: str | None) -> str | None:
        if text is None:
            return None
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise PersonalDataKeyError(
                "Personal data cannot be decrypted: the key is wrong or missing (GMP_PERSONAL_DATA_KEYS or the "
                "instance key file).") from None

    def rotate(self, token: str) -> str:
        """Re-encrypt with the newest key (after a key was added in front)."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")


def load_or_create_key_file(path: Path) -> list[bytes]:
    """One key per line, newest first; created (mode 0400) with a fresh key when missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
    return [line.strip() for line in path.read_bytes().splitlines() if line.strip()]


def keys_from_env(value: str) -> list[bytes]:
    keys = [part.strip().encode("ascii") for part in value.split(",") if part.strip()]
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise PersonalDataKeyError("GMP_PERSONAL_DATA_KEYS holds a value that is not a Fernet key.") from None
    return keys

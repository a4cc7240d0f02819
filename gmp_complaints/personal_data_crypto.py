"""Encryption at rest of complainant personal data (SEC-11).

Fernet (AES-128-CBC + HMAC-SHA256, authenticated) through ``MultiFernet``: the first key encrypts, every key
decrypts, so a key is rotated by putting a new key in front, re-encrypting the stored values with
``PersonalDataCipher.rotate`` and only then removing the old key.

The keys come from the environment (``GMP_PERSONAL_DATA_KEYS``) or from a key file in the instance folder, never
from the database: a copy of the database alone does not reveal the personal data. Losing the keys loses the
data, so the key file belongs in the instance backup (kept apart from the database backup).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from gmp_complaints.config import ConfigurationError

ENV_VARIABLE = "GMP_PERSONAL_DATA_KEYS"


class PersonalDataKeyError(ConfigurationError):
    """The personal-data keys are missing or malformed, or stored data does not open with them.

    A configuration problem (the CLI reports it like any other), never shown with the key itself.
    """


class PersonalDataCipher:
    """Encrypts and decrypts single text values; ``None`` stays ``None`` (a field not given)."""

    def __init__(self, keys: list[bytes]):
        if not keys:
            raise PersonalDataKeyError(f"No personal-data key is configured ({ENV_VARIABLE} or the instance key file).")
        self._fernet = MultiFernet([_fernet(key, f"personal-data key {number}")
                                    for number, key in enumerate(keys, start=1)])

    def encrypt(self, text: str | None) -> str | None:
        """A Fernet token (URL-safe base64 text); a fresh random IV each time, so equal names give different tokens."""
        if text is None:
            return None
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(_token_bytes(token)).decode("utf-8")
        except InvalidToken:
            raise _unreadable() from None

    def encrypt_bytes(self, data: bytes) -> str:
        """A file (say, a letter as PDF) as a Fernet token."""
        return self._fernet.encrypt(data).decode("ascii")

    def decrypt_bytes(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(_token_bytes(token))
        except InvalidToken:
            raise _unreadable() from None

    def rotate(self, token: str) -> str:
        """The same value re-encrypted with the newest (first) key; readable by any configured key."""
        try:
            return self._fernet.rotate(_token_bytes(token)).decode("ascii")
        except InvalidToken:
            raise _unreadable() from None


def _unreadable() -> PersonalDataKeyError:
    return PersonalDataKeyError(
        "Personal data cannot be decrypted: the personal-data key is wrong or missing "
        f"(check {ENV_VARIABLE} or the instance key file), or the stored value was altered.")


def _token_bytes(token: str) -> bytes:
    try:
        return token.encode("ascii")
    except UnicodeEncodeError:
        # A Fernet token is pure ASCII; anything else was never written by this cipher.
        raise InvalidToken from None


def _fernet(key: bytes | str, where: str) -> Fernet:
    try:
        return Fernet(key.strip())
    except (ValueError, TypeError, AttributeError):
        # The key itself never goes into the message: it would end up in logs.
        raise PersonalDataKeyError(f"{where} is not a Fernet key (32 bytes, URL-safe base64).") from None


def keys_from_env(value: str) -> list[bytes]:
    """Keys from the comma-separated value of ``GMP_PERSONAL_DATA_KEYS``, newest first, each one validated."""
    parts = [part.strip() for part in value.split(",")]
    keys = [part.encode("ascii", errors="replace") for part in parts if part]
    if not keys:
        raise PersonalDataKeyError(f"{ENV_VARIABLE} is set but holds no key.")
    for number, key in enumerate(keys, start=1):
        _fernet(key, f"{ENV_VARIABLE}: key {number} of {len(keys)}")
    return keys


def load_or_create_key_file(path: Path) -> list[bytes]:
    """The keys in ``path`` (one per line, newest first), creating the file with one new key when it is missing.

    The new file is written completely under a temporary name and then hard-linked into place: several workers
    starting at once all end up with the one key that won, and nobody ever reads a half-written file. The file
    is created with mode 0400 (only the application's user reads it) and the directory with 0700.
    """
    if not path.exists():
        _create_key_file(path)
    keys = [line.strip() for line in path.read_bytes().splitlines() if line.strip()]
    if not keys:
        raise PersonalDataKeyError(f"The personal-data key file {path} holds no key.")
    for number, key in enumerate(keys, start=1):
        _fernet(key, f"{path}: line {number}")
    return keys


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails if another process created the file first: its key wins
        except FileExistsError:
            return
        _fsync_directory(path.parent)
    finally:
        temporary.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    # A key that is lost in a crash makes every value encrypted with it unreadable: make the new name durable.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""Backup and restore of an instance (issue 17; DESIGN §6 CLI round 2; RET-04, VAL-08).

A backup is one zip: the database as of one moment (SQLite's online backup API; PostgreSQL ``pg_dump`` in custom
format under an exported snapshot, so the dump and the figures below are of the same moment), every file of the
instance folder (keys, the content store of attachments and letters, the secret key) and the audit signing key
where it lives outside the folder, with a manifest of their SHA-256 and the audit log's tree size and root hash at
that moment. A restore goes only into an empty database and an empty instance folder, checks every file against
the manifest first, and states the restored log's tree size and root hash, which must equal the backup's.

The file holds the site's keys: it is written owner-only (0600) and must be kept as securely as the instance.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from audit.verify import CompactRange
from gmp_complaints.config import Settings

BACKUP_FORMAT = "gmp-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
SIGNING_KEY_MEMBER = "signing-key/audit-signing-key.pem"
INSTANCE_PREFIX = "instance/"
#: files of the instance folder a fresh ``load_settings`` creates by itself: not a sign of a used instance
CREATED_ON_START = frozenset({"secret_key"})


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, and nothing was changed."""


@dataclass(frozen=True)
class LogHead:
    tree_size: int
    root_hash: str

    def describe(self) -> str:
        return f"audit log tree size {self.tree_size}, root hash {self.root_hash}"


def log_head(connection) -> LogHead:
    """The audit log's size and RFC 6962 root, from the sequencer's row (the compact range)."""
    row = connection.execute(sa.text("SELECT tree_size, compact_range FROM audit_log_head WHERE id = 1")).one_or_none()
    if row is None or not row.tree_size:
        return LogHead(0, hashlib.sha256(b"").hexdigest())
    hashes = [bytes.fromhex(h) for h in row.compact_range.split()]
    return LogHead(int(row.tree_size), CompactRange(int(row.tree_size), hashes).root().hex())


def _dialect(settings: Settings) -> str:
    return sa.engine.make_url(settings.database_url).get_backend_name()


def _sqlite_path(settings: Settings) -> Path:
    return Path(sa.engine.make_url(settings.database_url).database).resolve()


def _libpq_url(settings: Settings) -> str:
    url = sa.engine.make_url(settings.database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _instance_files(settings: Settings) -> list[Path]:
    """Every file of the instance folder but the SQLite database itself (and its journal files)."""
    skip = set()
    if _dialect(settings) == "sqlite":
        database = _sqlite_path(settings)
        skip = {database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-journal"))}
    root = settings.instance_path
    return sorted(p for p in root.rglob("*") if p.is_file() and p.resolve() not in skip)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def create_backup(settings: Settings, out: Path) -> dict:
    """Write the backup to ``out`` (mode 0600); return its manifest."""
    dialect = _dialect(settings)
    with tempfile.TemporaryDirectory() as scratch:
        if dialect == "sqlite":
            member, head, revision = SQLITE_MEMBER, *_sqlite_copy(settings, Path(scratch) / SQLITE_MEMBER)
        elif dialect == "postgresql":
            member, head, revision = POSTGRES_MEMBER, *_postgres_dump(settings, Path(scratch) / POSTGRES_MEMBER)
        else:
            raise BackupError(f"no backup for a {dialect} database")
        files = {member: (Path(scratch) / member).read_bytes()}
        # The content store only ever grows and is addressed by hash: files copied after the database moment
        # hold everything it refers to.
        for path in _instance_files(settings):
            files[INSTANCE_PREFIX + path.relative_to(settings.instance_path).as_posix()] = path.read_bytes()
        key = settings.signing_key_file
        if key.exists() and not key.resolve().is_relative_to(settings.instance_path.resolve()):
            files[SIGNING_KEY_MEMBER] = key.read_bytes()
    manifest = {"format": BACKUP_FORMAT, "database": dialect, "schema_revision": revision,
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "site": settings.site_id, "tree_size": head.tree_size, "root_hash": head.root_hash,
                "files": {name: _sha256(data) for name, data in sorted(files.items())}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(buffer.getvalue())
    os.chmod(out, 0o600)
    return manifest


def _revision(connection) -> str | None:
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _sqlite_copy(settings: Settings, target: Path) -> tuple[LogHead, str | None]:
    """SQLite's online backup API: a consistent copy while the app keeps writing."""
    source = sqlite3.connect(f"file:{_sqlite_path(settings)}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    engine = sa.create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            return log_head(connection), _revision(connection)
    finally:
        engine.dispose()


def _postgres_dump(settings: Settings, target: Path) -> tuple[LogHead, str | None]:
    """``pg_dump`` in custom format under a snapshot exported by the transaction that reads the log head."""
    engine = sa.create_engine(settings.database_url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection:
            snapshot = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            head, revision = log_head(connection), _revision(connection)
            dump = subprocess.run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--file", str(target),
                                   "--dbname", _libpq_url(settings)], capture_output=True, text=True)
            if dump.returncode != 0:
                raise BackupError(f"pg_dump failed: {dump.stderr.strip()}")
            connection.rollback()
    finally:
        engine.dispose()
    return head, revision


def _read_backup(path: Path) -> tuple[dict, dict[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackupError(f"{path} is not a readable backup: {exc}") from None
    if MANIFEST not in members:
        raise BackupError(f"{path} has no {MANIFEST}: not a backup of this product")
    manifest = json.loads(members.pop(MANIFEST))
    if manifest.get("format") != BACKUP_FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    listed = manifest.get("files", {})
    problems = [f"{name}: not listed in the manifest" for name in sorted(set(members) - set(listed))]
    problems += [f"{name}: listed but missing" for name in sorted(set(listed) - set(members))]
    problems += [f"{name}: SHA-256 differs from the manifest" for name in sorted(set(listed) & set(members))
                 if _sha256(members[name]) != listed[name]]
    if problems:
        raise BackupError("the backup is damaged or was changed: " + "; ".join(problems))
    for name in members:
        if name.startswith(INSTANCE_PREFIX) and (".." in Path(name).parts or name.startswith("/")):
            raise BackupError(f"{name}: a file outside the instance folder")
    return manifest, members


def _database_is_empty(settings: Settings) -> bool:
    if _dialect(settings) == "sqlite":
        path = _sqlite_path(settings)
        if not path.exists() or path.stat().st_size == 0:
            return True
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return not sa.inspect(connection).get_table_names()
    finally:
        engine.dispose()


def restore_backup(settings: Settings, path: Path) -> tuple[dict, LogHead]:
    """Restore ``path`` into the empty database and instance folder of ``settings``; return the manifest and
    the restored log head. Refuses (``BackupError``, nothing changed) a damaged backup, another kind of
    database, a database with tables, an instance folder with files, or a different signing key in place."""
    manifest, members = _read_backup(path)
    dialect = _dialect(settings)
    if manifest["database"] != dialect:
        raise BackupError(f"the backup is of a {manifest['database']} database; DATABASE_URL names a {dialect} one")
    used = [p for p in _instance_files(settings) if p.relative_to(settings.instance_path).as_posix()
            not in CREATED_ON_START]
    if used:
        raise BackupError(f"the instance folder {settings.instance_path} is not empty ({len(used)} files, e.g. "
                          f"{used[0].relative_to(settings.instance_path)}): restore goes into an empty one")
    if not _database_is_empty(settings):
        raise BackupError("the database named by DATABASE_URL is not empty: restore goes into an empty one")
    key = settings.signing_key_file
    if SIGNING_KEY_MEMBER in members and key.exists() and key.read_bytes() != members[SIGNING_KEY_MEMBER]:
        raise BackupError(f"a different audit signing key is in place at {key}")

    if dialect == "sqlite":
        target = _sqlite_path(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = target.with_name(target.name + ".restoring")
        scratch.write_bytes(members[SQLITE_MEMBER])
        os.chmod(scratch, 0o600)
        scratch.replace(target)
    else:
        with tempfile.NamedTemporaryFile(suffix=".pgdump") as dump:
            dump.write(members[POSTGRES_MEMBER])
            dump.flush()
            result = subprocess.run(["pg_restore", "--single-transaction", "--exit-on-error", "--no-owner",
                                     "--dbname", _libpq_url(settings), dump.name], capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed (the database is left as it was): {result.stderr.strip()}")
    for name, data in members.items():
        if name.startswith(INSTANCE_PREFIX):
            # keys read-only for the owner as `gmp init` writes them, everything else owner read-write
            _write_private(settings.instance_path / name[len(INSTANCE_PREFIX):], data,
                           mode=0o400 if name.endswith(".pem") else 0o600)
    if SIGNING_KEY_MEMBER in members and not key.exists():
        _write_private(key, members[SIGNING_KEY_MEMBER], mode=0o400)
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            head = log_head(connection)
    finally:
        engine.dispose()
    return manifest, head


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        os.chmod(path, 0o600)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)

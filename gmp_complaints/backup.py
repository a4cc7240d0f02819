"""Backup and restore of an instance (issue 17; DESIGN §6 CLI round 2; RET-04, VAL-08).

A backup is one zip: the database as of one moment (SQLite's online backup API; PostgreSQL ``pg_dump`` in custom
format under an exported snapshot, so the dump and the figures below are of the same moment), every file of the
instance folder (keys, the content store of attachments and letters, the secret key) and the audit signing key
where it lives outside the folder, with a manifest of their SHA-256 and the audit log's tree size and root hash at
that moment, and each table's row count and content hashes (the whole row and each column) read in the same
transaction. A restore goes only into an empty database and an empty instance folder, checks every file against
the manifest first, and states the restored log's tree size and root hash, which must equal the backup's.

A *test restore* (drill, RET-04) restores a backup into a scratch folder and a scratch database — never the live
ones — and reconciles what it finds against the manifest: every table's rows and content hashes, the audit log's
head and its root recomputed from the restored events, and the backup file against the SHA-256 the live audit
trail recorded when it was written. ``gmp tick`` writes scheduled backups into ``GMP_BACKUP_DIR`` and keeps the
newest ``GMP_BACKUP_KEEP``.

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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from audit.verify import CompactRange
from gmp_complaints.config import Settings
from gmp_complaints.domain.reconciliation import Finding, reconcile, total_rows
from gmp_complaints.table_fingerprints import table_fingerprints

BACKUP_FORMAT = "gmp-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
SIGNING_KEY_MEMBER = "signing-key/audit-signing-key.pem"
INSTANCE_PREFIX = "instance/"
#: files of the instance folder a fresh ``load_settings`` creates by itself: not a sign of a used instance
CREATED_ON_START = frozenset({"secret_key"})
#: the name of a scheduled backup: the prefix, then the UTC time it was taken (names sort in time order)
SCHEDULED_PREFIX = "gmp-backup-"
SCHEDULED_SUFFIX = ".zip"


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
    """Every file of the instance folder but the SQLite database itself (and its journal files) and the
    checkpoints kept outside the database: they witness the live log, are written after the database moment of a
    backup (so may cover more than it holds) and must never be rewound to it by a restore."""
    skip = set()
    if _dialect(settings) == "sqlite":
        database = _sqlite_path(settings)
        skip = {database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-journal"))}
    root = settings.instance_path
    witness = settings.checkpoint_dir.resolve()
    return sorted(p for p in root.rglob("*") if p.is_file() and p.resolve() not in skip
                  and not p.resolve().is_relative_to(witness))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def create_backup(settings: Settings, out: Path) -> dict:
    """Write the backup to ``out`` (mode 0600); return its manifest."""
    dialect = _dialect(settings)
    with tempfile.TemporaryDirectory() as scratch:
        if dialect == "sqlite":
            member, head, revision, tables = SQLITE_MEMBER, *_sqlite_copy(settings, Path(scratch) / SQLITE_MEMBER)
        elif dialect == "postgresql":
            member, head, revision, tables = POSTGRES_MEMBER, *_postgres_dump(settings,
                                                                                Path(scratch) / POSTGRES_MEMBER)
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
                "files": {name: _sha256(data) for name, data in sorted(files.items())}, "tables": tables}
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


def _sqlite_copy(settings: Settings, target: Path) -> tuple[LogHead, str | None, dict]:
    """SQLite's online backup API: a consistent copy while the app keeps writing; the figures are read off the
    copy."""
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
            return log_head(connection), _revision(connection), table_fingerprints(connection)
    finally:
        engine.dispose()


def _postgres_dump(settings: Settings, target: Path) -> tuple[LogHead, str | None, dict]:
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
            # Read in the transaction whose snapshot pg_dump used: the counts and hashes of the dumped moment.
            tables = table_fingerprints(connection)
            connection.rollback()
    finally:
        engine.dispose()
    return head, revision, tables


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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- scheduled backups (RET-04) ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WrittenBackup:
    path: Path
    sha256: str
    manifest: dict
    #: older scheduled backups removed to keep the newest ``GMP_BACKUP_KEEP``
    rotated_out: tuple[str, ...]


def backups_to_remove(names, keep: int) -> list[str]:
    """Of the scheduled backups' file names in the folder, those beyond the newest ``keep`` (names sort in time
    order); any other file in the folder is never touched."""
    ours = sorted(n for n in names if n.startswith(SCHEDULED_PREFIX) and n.endswith(SCHEDULED_SUFFIX))
    return ours[:-keep] if keep > 0 and len(ours) > keep else []


def write_scheduled_backup(settings: Settings) -> WrittenBackup:
    """A backup into ``settings.backup_dir`` (created owner-only when missing) under a time-stamped name, written
    to a temporary name first so that a half-written file never carries a backup's name; then the oldest beyond
    ``settings.backup_keep`` go. Raises ``BackupError`` or ``OSError`` (nothing left behind)."""
    directory = settings.backup_dir
    if directory is None:
        raise BackupError("no backup folder is configured (GMP_BACKUP_DIR)")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    final = directory / f"{SCHEDULED_PREFIX}{stamp}{SCHEDULED_SUFFIX}"
    partial = directory / f".{final.name}.partial"
    try:
        manifest = create_backup(settings, partial)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    removed = backups_to_remove([p.name for p in directory.iterdir() if p.is_file()], settings.backup_keep)
    for name in removed:
        (directory / name).unlink(missing_ok=True)
    return WrittenBackup(final, file_sha256(final), manifest, tuple(removed))


# --- test restore (drill, RET-04) --------------------------------------------------------------------------------

@dataclass
class Drill:
    """The reconciliation of a test restore: what the manifest recorded against what the scratch restore holds."""

    file: Path
    file_sha256: str
    manifest: dict | None = None
    #: where the backup was restored (never the live database)
    scratch: str = ""
    #: the log head as the restored sequencer row states it, and as recomputed from the restored events
    restored_head: LogHead | None = None
    recomputed_head: LogHead | None = None
    found: dict = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: differences that are not about one table: a damaged file, a log head, a file the trail does not know
    problems: list[str] = field(default_factory=list)

    @property
    def expected(self) -> dict:
        return (self.manifest or {}).get("tables") or {}

    @property
    def differences(self) -> list[str]:
        return self.problems + [f.describe() for f in self.findings]

    @property
    def passed(self) -> bool:
        return not self.differences

    @property
    def rows(self) -> int:
        return total_rows(self.found)


def drill_restore(settings: Settings, path: Path, *, scratch_database_url: str | None = None,
                  recorded_sha256=frozenset()) -> Drill:
    """Restore ``path`` into a scratch instance folder and a scratch database, reconcile it against its manifest
    and drop the scratch copy. ``recorded_sha256``: the backup files the live audit trail recorded as written (or
    restored) by this instance. The scratch database is SQLite in a temporary folder, or on PostgreSQL
    ``scratch_database_url`` (an empty database) or else a temporary database made on the live server."""
    drill = Drill(path, file_sha256(path))
    if drill.file_sha256 not in recorded_sha256:
        drill.problems.append(f"the file's SHA-256 {drill.file_sha256} is not recorded in this instance's audit trail "
                              "as a backup written (or restored) here")
    try:
        manifest, _members = _read_backup(path)
    except BackupError as exc:
        drill.problems.append(str(exc))
        return drill
    drill.manifest = manifest
    if not manifest.get("tables"):
        drill.problems.append("the manifest records no table counts or content hashes (a backup of an earlier "
                              "version): nothing to reconcile the tables against")
    dialect = _dialect(settings)
    live = sa.engine.make_url(settings.database_url)
    with tempfile.TemporaryDirectory(prefix="gmp-drill-") as scratch_dir:
        scratch = Path(scratch_dir)
        temporary_database = None
        if dialect == "sqlite":
            url = f"sqlite:///{scratch / 'drill.sqlite3'}"
        elif scratch_database_url:
            url = scratch_database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://"):]
        else:
            temporary_database = f"gmp_drill_{os.urandom(6).hex()}"
            url = live.set(database=temporary_database).render_as_string(hide_password=False)
        target = sa.engine.make_url(url)
        if (target.get_backend_name(), target.host, target.port, target.database) == (
                live.get_backend_name(), live.host, live.port, live.database):
            raise BackupError("the scratch database is the live one: a drill never restores into it")
        drill.scratch = target.render_as_string(hide_password=True)
        scratch_settings = settings.with_overrides(
            instance_path=scratch / "instance", database_url=url,
            signing_key_path=scratch / "keys" / "audit-signing-key.pem")
        scratch_settings.instance_path.mkdir(mode=0o700)
        if temporary_database:
            _create_database(settings.database_url, temporary_database)
        try:
            _restore_and_reconcile(drill, scratch_settings)
        finally:
            if temporary_database:
                _drop_database(settings.database_url, temporary_database)
    return drill


def _restore_and_reconcile(drill: Drill, scratch_settings: Settings) -> None:
    try:
        manifest, head = restore_backup(scratch_settings, drill.file)
    except BackupError as exc:
        drill.problems.append(f"restore refused: {exc}")
        return
    drill.restored_head = head
    engine = sa.create_engine(scratch_settings.database_url)
    try:
        with engine.connect() as connection:
            drill.found = table_fingerprints(connection)
            compact = CompactRange()
            leaves = [bytes(leaf) for leaf in connection.execute(
                sa.text("SELECT leaf_hash FROM audit_events ORDER BY log_index")).scalars()]
            compact.extend(leaves)
            drill.recomputed_head = LogHead(compact.size, compact.root().hex())
    finally:
        engine.dispose()
    recorded = LogHead(manifest["tree_size"], manifest["root_hash"])
    if head != recorded:
        drill.problems.append(f"the restored audit log head ({head.describe()}) differs from the backup's "
                              f"({recorded.describe()})")
    if drill.recomputed_head != recorded:
        drill.problems.append(f"the audit log recomputed from the restored events ({drill.recomputed_head.describe()})"
                              f" differs from the backup's ({recorded.describe()})")
    if drill.expected:
        drill.findings = reconcile(drill.expected, drill.found)


def _admin_engine(database_url: str) -> sa.Engine:
    return sa.create_engine(database_url, isolation_level="AUTOCOMMIT")


def _create_database(database_url: str, name: str) -> None:
    engine = _admin_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.DBAPIError as exc:
        raise BackupError(f"cannot make a scratch database on the live server ({exc.orig}); give an empty one with "
                          "--scratch-database-url") from None
    finally:
        engine.dispose()


def _drop_database(database_url: str, name: str) -> None:
    engine = _admin_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()

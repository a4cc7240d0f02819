"""Checkpoints kept outside the database (issue 19): the witness a database administrator cannot rewind.

After every commit that wrote audit events (and after every checkpoint ``gmp tick`` or an export signs) the unit of
work appends the signed checkpoint of the log's new head to a folder outside the database, ``GMP_CHECKPOINT_DIR``
(default: the instance folder's ``audit-checkpoints``), owner-only (folder 0700, files 0600):

- ``checkpoints-<host>-<yyyy-mm>.jsonl``: one JSON object per line, ``{"tree_size": N, "note": "<C2SP signed
  note>"}``, appended with ``O_APPEND`` in one ``write`` and ``fsync``-ed, so the processes of one machine never
  interleave lines. Each machine appends to files of its own name only, so app nodes on several machines can share
  one folder (a network share: appends from different machines to one file are not atomic there) and each
  machine's lines stay whole. A node on another machine with a folder of its own witnesses its own commits only:
  share the folder (or mount it from storage the database administrator does not control).
- ``latest.note``: the newest checkpoint that is also stored in the database (after every signature and export,
  every ``GMP_CHECKPOINT_EVERY_EVENTS`` events or ``GMP_CHECKPOINT_EVERY_MINUTES`` minutes, and at every ``gmp
  tick``) as plain signed-note text, written to a temporary file and renamed over the old one: the single file to
  hand an inspector with a bundle (``gmp audit verify BUNDLE --checkpoint latest.note``). Not at every commit: the
  rename costs more than the append (1.3 ms against 0.1 ms here). Best effort across processes; the ``.jsonl``
  files are the record.

The note is written after the commit, never before: a rolled-back transaction must leave no checkpoint behind. A
crash between the two leaves the witness one commit behind until the next commit. ``gmp integrity-check`` and the
export compare the database's log with every checkpoint here (``audit.verify.compare_with_outside``).
"""
from __future__ import annotations

import logging
import os
import re
import socket
from datetime import datetime, timezone
from pathlib import Path

from audit.verify import (
    OUTSIDE_LINES_SUFFIX,
    OutsideCheckpoint,
    parse_checkpoint,
    read_outside_checkpoints,
)

LATEST = "latest.note"
_log = logging.getLogger(__name__)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"


def publish(directory: Path, note: str, *, fsync: bool = True, latest: bool = True) -> None:
    """Append ``note`` (a signed checkpoint) to this machine's file of the month; with ``latest``, also make it
    ``latest.note`` unless that holds a newer one."""
    import json

    tree_size = parse_checkpoint(note).tree_size
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    path = directory / f"checkpoints-{_host()}-{month}{OUTSIDE_LINES_SUFFIX}"
    line = (json.dumps({"tree_size": tree_size, "note": note}, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    if latest:
        _replace_latest(directory, tree_size, note)


def _replace_latest(directory: Path, tree_size: int, note: str) -> None:
    latest = directory / LATEST
    if _latest_size(latest) >= tree_size:
        return
    temporary = directory / f".{LATEST}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(note)
    os.replace(temporary, latest)


def _latest_size(latest: Path) -> int:
    """The tree size of the newest note kept as ``latest``; 0 when there is none yet or it cannot be read (then it
    is replaced)."""
    try:
        return parse_checkpoint(latest.read_text(encoding="utf-8")).tree_size
    except (OSError, ValueError):
        return 0


def publish_after_commit(settings, notes: list[tuple[str, bool]]) -> None:
    """Write the checkpoints of a committed transaction outside the database: (note, also stored in the database).
    The transaction is committed already: a failure here must not turn it into an error the user would retry, so it
    is logged loudly and the next commit's checkpoint (which covers this one) closes the gap."""
    for note, stored in notes:
        try:
            publish(settings.checkpoint_dir, note, fsync=settings.checkpoint_fsync, latest=stored)
        except OSError:
            _log.exception("could not write the audit checkpoint outside the database into %s",
                           settings.checkpoint_dir)


def read(settings) -> list[OutsideCheckpoint]:
    """Every checkpoint kept outside the database for this instance (none before the first commit)."""
    directory = settings.checkpoint_dir
    if not directory.is_dir():
        return []
    return read_outside_checkpoints(str(directory))

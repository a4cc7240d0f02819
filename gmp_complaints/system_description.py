"""The system description and inventory (issue 18; VAL-07; Annex 11 §4.3), generated from the sources the product
runs on, so it cannot drift from them: the release and its pinned dependencies, the architecture, the interfaces
(every API operation, every command), the roles and the signing matrix, the records kept and audited, the database
protections, the migrations."""
from __future__ import annotations

import platform
import re
from importlib import metadata

ARCHITECTURE = """\
Flask web application and JSON API (`/api/v1`, bearer tokens) served by gunicorn; one or more stateless app nodes
on one database (PostgreSQL in production, an embedded SQLite file for a single workstation); every lock lives in
the database. Business rules are plain Python (`gmp_complaints/domain`), use cases one unit of work each
(`gmp_complaints/services`), audit events written in the same transaction into an RFC 6962 Merkle log with
Ed25519-signed checkpoints (`audit/`), electronic signatures bound to content hashes (`signatures/`). The
instance folder holds the signing key, the personal-data keys, the secret key and the content-addressed store of
attachments and letters. Scheduled work (`gmp tick`, cron): timers, escalations, mail delivery, checkpoints, the
periodic verification of stored records. Outgoing mail through a transactional outbox (SMTP). Data flows in: the
pages and the API (registrations, steps, signatures), CSV/XLSX master data and legacy ledgers; out: PDFs, CSV/XLSX
exports, the audit bundle, archive packages, E2B(R3) XML, e-mail."""

SECURITY = """\
Individual accounts (Argon2id passwords, history, expiry, lockout, idle lock, forced change of temporary passwords);
role-based access checked on every route (`gmp_complaints/web/access.py`); CSRF on forms; electronic signatures
re-authenticate; personal data encrypted at rest (Fernet) and masked for roles without need; audit tables
append-only with database triggers; on PostgreSQL writes without the application's attribution refused."""


def _lock_pins() -> list[tuple[str, str]]:
    from gmp_complaints.iq import LOCK

    return re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", LOCK.read_text(encoding="utf-8"), re.MULTILINE)


def describe(cli_group) -> str:
    """The description as Markdown; ``cli_group`` is the ``gmp`` command group (given by the command itself)."""
    from alembic.script import ScriptDirectory

    from audit.actions import ENTITY_LABELS
    from gmp_complaints.api.openapi import build_spec
    from gmp_complaints.domain.roles import ROLE_LABELS
    from gmp_complaints.migrate import alembic_config
    from gmp_complaints.protections import EXPECTED_TRIGGERS
    from signatures.matrix import SIGNING_MATRIX

    try:
        version = metadata.version("gmp-complaints")
    except metadata.PackageNotFoundError:
        version = "not installed"
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    revisions = list(scripts.walk_revisions())
    lines = [f"# System description and inventory: gmp-complaints {version}", "",
             f"Generated on Python {platform.python_version()} ({platform.platform()}).", "",
             "## Architecture and data flows", "", ARCHITECTURE, "", "## Security measures", "", SECURITY, "",
             "## Software inventory (pinned with hashes in gmp_complaints/release/requirements.lock)", "",
             "| package | version |", "|---|---|"]
    lines += [f"| {name} | {pin} |" for name, pin in _lock_pins()]
    lines += ["", f"## Database schema: {len(revisions)} migrations, head {scripts.get_current_head()}", ""]
    lines += ["## Roles", "", "| role | |", "|---|---|"]
    lines += [f"| `{role.value}` | {label} |" for role, label in ROLE_LABELS.items()]
    lines += ["", "## Electronic signatures (the signing matrix)", "", "| step | meaning | roles | covers |",
              "|---|---|---|---|"]
    lines += [f"| `{step.value}` | {rule.meaning.value} | {', '.join(sorted(r.value for r in rule.allowed_roles))} "
              f"| {rule.scope} |" for step, rule in SIGNING_MATRIX.items()]
    lines += ["", "## Records kept and audited", "", ", ".join(f"`{k}` ({v})" for k, v in sorted(ENTITY_LABELS.items())),
              "", "## Database protections", ""]
    lines += [f"- {dialect}: {len(names)} triggers" for dialect, names in EXPECTED_TRIGGERS.items()]
    lines += ["", "## Interfaces: the API (/api/v1)", "", "| method | path | what |", "|---|---|---|"]
    for path, operations in sorted(build_spec()["paths"].items()):
        for method, operation in sorted(operations.items()):
            lines.append(f"| {method.upper()} | `{path}` | {operation.get('summary', '')} |")
    lines += ["", "## Interfaces: the command line (`gmp`)", ""]
    for name, command in sorted(cli_group.commands.items()):
        subcommands = getattr(command, "commands", None)
        if subcommands:
            lines += [f"- `gmp {name} {sub}`: {(cmd.help or '').splitlines()[0]}" for sub, cmd in sorted(subcommands.items())]
        else:
            lines.append(f"- `gmp {name}`: {(command.help or '').splitlines()[0]}")
    return "\n".join(lines) + "\n"

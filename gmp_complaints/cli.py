"""The ``gmp`` command (DESIGN §6): init, create-user, demo, serve."""
from __future__ import annotations

import getpass
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from gmp_complaints.config import ConfigurationError, load_settings
from gmp_complaints.domain.errors import DomainError
from gmp_complaints.domain.roles import Role


def _settings():
    try:
        return load_settings()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


def _cli_actor() -> str:
    """Attribution of what a command does when no user signs in: the command and the OS account."""
    ctx = click.get_current_context(silent=True)
    command = ctx.command_path if ctx else "gmp"
    return f"{command} (os user {getpass.getuser()}@{socket.gethostname()})"


@contextmanager
def _database(settings):
    """A unit-of-work factory for one command; the engine is closed when the command ends."""
    from sqlalchemy.exc import OperationalError

    from gmp_complaints.db import make_engine, make_session_factory
    from gmp_complaints.uow import UnitOfWork

    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    actor = _cli_actor()
    try:
        yield lambda: UnitOfWork(session_factory, settings, system_actor=actor)
    except OperationalError as exc:
        # A refused or lost connection (a database restart, a network fault): one line for the scheduler's log, not a
        # traceback. Each unit of work commits on its own, so what was committed stands and the rest was rolled back.
        reason = (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines()[0]
        raise click.ClickException(f"The database connection failed or was lost: {reason}. What was committed before "
                                   "stands; the step in progress was rolled back. Run the command again.") from None
    finally:
        engine.dispose()


def _fail(exc: DomainError):
    details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.fields.items())
    raise click.ClickException(f"{exc.message} {details}".strip())


@click.group()
def main():
    """GMP customer quality complaints and CAPA."""
    from gmp_complaints import restrict_new_files

    restrict_new_files()


@main.command()
def init():
    """Apply the database migrations and create the instance secrets. Safe to run again."""
    from audit.service import ensure_signing_key
    from gmp_complaints.migrate import MigrationReconciliationError, upgrade_to_head
    from gmp_complaints.services.calendars import extend_china_calendar, seed_china_calendar, seed_us_calendar
    from gmp_complaints.services.configuration import seed_reference_data
    from gmp_complaints.services.personal_data import cipher_for

    settings = _settings()
    try:
        # 0051 encrypts the returning parties already held with this instance's personal-data key.
        upgrade = upgrade_to_head(settings.database_url, personal_data_cipher=lambda: cipher_for(settings))
    except MigrationReconciliationError as exc:
        _report_upgrade(settings, exc.reconciliation)
        raise click.ClickException(str(exc)) from None
    with _database(settings) as new_uow:
        key_id = ensure_signing_key(new_uow())
        seeded = seed_china_calendar(new_uow())
        extend_china_calendar(new_uow())
        seed_us_calendar(new_uow())
        seed_reference_data(new_uow())
    _report_upgrade(settings, upgrade)
    if seeded:
        click.echo(f"Working-day calendar for mainland China loaded: {seeded} holidays and adjusted working days.")
    click.echo(f"Database is at the latest schema: {_redacted(settings.database_url)}")
    click.echo(f"Instance folder: {settings.instance_path}")
    click.echo(f"Audit signing key {key_id}: {settings.signing_key_file}")


def _report_upgrade(settings, upgrade) -> None:
    """RET-05: the reconciliation of an upgrade over records held, printed and recorded in the audit trail (a
    refused upgrade too, as far as the schema it was left at can record it)."""
    from sqlalchemy.exc import SQLAlchemyError

    from gmp_complaints.services.backups import record_schema_upgrade

    for line in upgrade.lines():
        click.echo(line)
    click.echo(upgrade.summary())
    if not upgrade.held_records or upgrade.from_revision == upgrade.to_revision:
        return
    try:
        with _database(settings) as new_uow:
            record_schema_upgrade(new_uow(), from_revision=upgrade.from_revision, to_revision=upgrade.to_revision,
                                  tables=len(upgrade.before), rows=upgrade.rows,
                                  declared=[f.describe() for f in upgrade.findings if f.declared],
                                  refused=[f.describe() for f in upgrade.refused])
    except (SQLAlchemyError, OSError, ValueError, DomainError) as exc:  # a refused upgrade left an older schema
        click.echo(f"The reconciliation could not be recorded in the audit trail: {exc}", err=True)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command("create-user")
@click.argument("username")
@click.option("--name", "printed_name", required=True, help="The person's full printed name, as shown on signatures.")
@click.option("--role", "roles", multiple=True, type=click.Choice([r.value for r in Role]),
              help="A role of the person (at least one; a --service account holds none).")
@click.option("--identity-verified", is_flag=True, help="You, the administrator, have verified the person's identity.")
@click.option("--password-stdin", is_flag=True, help="Read the temporary password from standard input.")
@click.option("--email", default=None, help="Where the person's notices are e-mailed (where mail is configured).")
@click.option("--service", is_flag=True, help="A service account for a system integration (the ERP's master-data "
              "feed): API calls for products, batches and distributions only; no role, no web log-in, no signature.")
def create_user(username, printed_name, roles, identity_verified, password_stdin, email, service):
    """Create an account with a temporary password that must be changed at first log-in.

    The installation's bootstrap, run by the operator at the server: recorded in the audit trail as approved at
    creation by the command line. In the pages and the API a new account is a request the head of quality approves.
    """
    from gmp_complaints.services import accounts

    settings = _settings()
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("--password-stdin: no password on standard input.")
    try:
        with _database(settings) as new_uow:
            created = accounts.create_user(
                new_uow(), actor_id=None, username=username, printed_name=printed_name, roles=roles,
                temporary_password=password, identity_verified=identity_verified, email=email,
                account_type="service" if service else "person",
            )
    except DomainError as exc:
        _fail(exc)
    if service:
        click.echo(f"Created service account {created.username} (id {created.user_id}): master data through the API "
                   "only.")
    else:
        click.echo(f"Created user {created.username} (id {created.user_id}) with roles {', '.join(sorted(roles))}.")
    if not password_stdin:
        click.echo(f"Temporary password (must be changed at first log-in): {created.temporary_password}")


@main.command()
def demo():
    """Load demo data for a first look: one user per role (passwords printed)."""
    from audit.service import ensure_signing_key
    from gmp_complaints.demo import load_demo
    from gmp_complaints.migrate import upgrade_to_head
    from gmp_complaints.services.calendars import seed_china_calendar, seed_us_calendar
    from gmp_complaints.services.configuration import seed_reference_data
    from gmp_complaints.services.personal_data import cipher_for

    settings = _settings()
    upgrade_to_head(settings.database_url, personal_data_cipher=lambda: cipher_for(settings))
    try:
        with _database(settings) as new_uow:
            ensure_signing_key(new_uow())
            seed_china_calendar(new_uow())
            seed_us_calendar(new_uow())
            seed_reference_data(new_uow())
            report = load_demo(new_uow)
    except DomainError as exc:
        _fail(exc)
    click.echo("Demo data (every demo record is marked as demo). Demo users and passwords:")
    for line in report:
        click.echo(f"  {line}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host, port, workers):
    """Run the web application under gunicorn."""
    from gmp_complaints.server import run_gunicorn

    settings = _settings()
    click.echo(f"Serving on http://{host}:{port}/ ({_redacted(settings.database_url)})")
    run_gunicorn(settings, host=host, port=port, workers=workers)


@main.command()
def tick():
    """The scheduled job (cron): customer reminders and no-response closure pending (SOP 5.8),
    escalation of overdue time limits, e-mail delivery, removal of log-in rate-limit counters whose window has
    closed, then a signed checkpoint of the audit log.
    With GMP_BACKUP_DIR set, the backup when due (RET-04; exit 1 when it fails).
    Idempotent; safe when two run at once."""
    from audit.integrity import storage_verification_due, verify_storage
    from audit.service import seal
    from gmp_complaints.services.accounts import forget_closed_source_windows
    from gmp_complaints.services.calendars import extend_china_calendar
    from gmp_complaints.services.capa import escalate_overdue_actions
    from gmp_complaints.services.notifications import escalate_overdue_notifications, remind_field_alerts
    from gmp_complaints.services.timers import deliver_outbox
    from gmp_complaints.services.timers import tick as complaint_tick
    from gmp_complaints.services.trend_reviews import raise_trend_reviews

    settings = _settings()
    with _database(settings) as new_uow:
        extend_china_calendar(new_uow())  # next year listed in time, with its provisional holidays
        done = complaint_tick(new_uow())
        escalated_actions = escalate_overdue_actions(new_uow())
        far_reminders = remind_field_alerts(new_uow())
        reviews = raise_trend_reviews(new_uow())
        escalated_notifications = escalate_overdue_notifications(new_uow())
        mail = deliver_outbox(new_uow())
        closed_windows = forget_closed_source_windows(new_uow())
        storage = None
        if storage_verification_due(new_uow(), every_days=settings.verify_storage_every_days):
            storage = verify_storage(new_uow())
        size = seal(new_uow())
        backup = _scheduled_backup(settings, new_uow)
    click.echo(f"Reminders sent: {done['reminders']}; moved to closure pending: {done['closure_pending']}; "
               f"escalated: {done['escalations']}; overdue CAPA actions escalated: {escalated_actions}; "
               f"field alert reminders: {far_reminders}; trend reviews raised: {reviews}; "
               f"overdue regulator notifications escalated: {escalated_notifications}.")
    click.echo(f"E-mails queued: {done['emails_queued']}; sent: {mail['sent']}; failed (kept for retry): "
               f"{mail['failed']}.")
    click.echo(f"Log-in rate-limit counters of closed windows removed: {closed_windows}.")
    if storage is not None:
        click.echo(f"Stored records verified: {storage[1]} files, the audit log and the signatures; "
                   f"differences: {len(storage[0])}{' (the head of quality is told)' if storage[0] else ''}.")
    click.echo(f"Audit log sealed at {size} events.")
    if backup is not None:
        click.echo(backup[1])
        if not backup[0]:
            sys.exit(1)


def _scheduled_backup(settings, new_uow) -> tuple[bool, str] | None:
    """RET-04: the backup into GMP_BACKUP_DIR when one is due, recorded in the trail; a failure is recorded and
    the head of quality and the administrator are told. None when none is configured or due."""
    from gmp_complaints.backup import BackupError, write_scheduled_backup
    from gmp_complaints.services import backups

    if settings.backup_dir is None or not backups.backup_due(new_uow(), every_days=settings.backup_every_days):
        return None
    try:
        written = write_scheduled_backup(settings)
    except (BackupError, OSError) as exc:
        told = backups.record_backup_failure(new_uow(), directory=str(settings.backup_dir), error=str(exc))
        return False, f"Backup FAILED into {settings.backup_dir}: {exc} ({told} people told)."
    backups.record_backup(new_uow(), file=str(written.path), sha256=written.sha256, manifest=written.manifest,
                          scheduled=True, rotated_out=written.rotated_out)
    tables = written.manifest["tables"]
    return True, (f"Backup written to {written.path} (SHA-256 {written.sha256}; {len(tables)} tables, "
                  f"{sum(t['rows'] for t in tables.values())} rows; audit log tree size "
                  f"{written.manifest['tree_size']}, root hash {written.manifest['root_hash']})"
                  + (f"; removed the older {', '.join(written.rotated_out)}." if written.rotated_out else "."))


@main.group()
def validate():
    """Validation of this installation (GAMP 5): `iq` checks it matches its release, `oq` runs the operational
    qualification; `plan`, `urs`, `checklist`, `describe` and `release-notes` write the documents around them."""


@validate.command("iq")
@click.option("--lock", type=click.Path(exists=True, dir_okay=False), help="Check against this lock instead of the "
              "release's own (gmp_complaints/release/requirements.lock).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True),
              help="Write the report as PDF, signed by the executor (--username, password on standard input).")
@click.option("--username", help="The executor (a QA officer or the head of quality) who signs the report.")
@click.option("--password-stdin", is_flag=True, help="Read the executor's password from standard input.")
@click.option("--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True)
def validate_iq(lock, out, username, password_stdin, lang):
    """Installation qualification: the release's files against their SHA-256, Python and packages against the
    lock, the schema at head, the keys owner-only, the database protections in place. Exit 1 naming each
    difference."""
    from gmp_complaints.iq import LOCK, qualify

    settings = _settings()
    report = qualify(settings, lock=Path(lock) if lock else LOCK)
    for key, value in report.environment.items():
        click.echo(f"{key}: {value}")
    for check, differences in report.checks.items():
        click.echo(f"[{'PASS' if not differences else 'FAIL'}] {check}")
        for difference in differences:
            click.echo(f"    {difference}")
    if out:
        from gmp_complaints.iq import snapshot
        from gmp_complaints.printing import iq_report_pdf

        if not username or not password_stdin:
            raise click.ClickException("A signed report needs --username and --password-stdin.")
        _signed_report(settings, snapshot(report), "IQ", "iq_execution", out, username, lang,
                       lambda shown: iq_report_pdf(report, shown, lang, settings.site_timezone))
    if not report.ok:
        click.echo(f"IQ failed: {len(report.differences)} difference(s).")
        sys.exit(1)
    click.echo("IQ passed: the installation matches its release.")


_OUT = click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write the Markdown to this file.")


@validate.command("describe")
@_OUT
def validate_describe(out):
    """The system description and inventory (VAL-07), generated from the installed release itself."""
    from gmp_complaints.system_description import describe

    _write_document(describe(main), out)


def _write_document(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {out}.")
    else:
        click.echo(text)


@validate.command("plan")
@_OUT
def validate_plan(out):
    """The validation plan (VAL-01): GAMP 5 category 5, roles, deliverables, the risk assessment of every
    requirement and the test depth it drives, acceptance criteria — generated from the shipped URS."""
    from gmp_complaints.validation_documents import validation_plan

    _write_document(validation_plan(), out)


@validate.command("urs")
@_OUT
def validate_urs(out):
    """The user requirements specification (VAL-02): every requirement with its priority, risk rating,
    acceptance criteria and design trace."""
    from gmp_complaints.validation_documents import urs_document

    _write_document(urs_document(), out)


@validate.command("checklist")
@_OUT
def validate_checklist(out):
    """The Part 11 / Annex 11 / China GMP appendix applicability assessment and checklist (VAL-10), each clause
    mapped to the product's features, its requirements and the OQ cases that verify them."""
    from gmp_complaints.validation_documents import checklist_document

    _write_document(checklist_document(), out)


@validate.command("release-notes")
@_OUT
def validate_release_notes(out):
    """The release notes of every version (VAL-05, VAL-06): changes, requirements touched, migrations, and the
    validation impact of each release."""
    from gmp_complaints.validation_documents import release_notes_document

    _write_document(release_notes_document(), out)


@validate.command("oq")
@click.option("--scratch-database-url", help="An empty PostgreSQL database for the cases (default: SQLite in a "
              "scratch folder; DATABASE_URL serves when it names an empty database).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, writable=True),
              help="Write {cases: [{id, requirement_ids, title, result, steps}]} to this file.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True),
              help="Write the report as PDF, signed by the executor in this installation's database (--username, "
                   "password on standard input).")
@click.option("--username", help="The executor (a QA officer or the head of quality) who signs the report.")
@click.option("--password-stdin", is_flag=True, help="Read the executor's password from standard input.")
@click.option("--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True)
def validate_oq(scratch_database_url, json_out, out, username, password_stdin, lang):
    """Operational qualification: the OQ cases against a scratch instance of this installation (SQLite in a
    scratch folder, or an empty PostgreSQL database); never the installation's own database. Exit 0 only when
    every case passes; the signed report lists each deviation."""
    import json
    import os

    from gmp_complaints.oq import report_content, run_cases

    settings = _settings()
    scratch = scratch_database_url
    environment_url = os.environ.get("DATABASE_URL")
    if not scratch and environment_url and _empty_or_unreachable(environment_url):
        scratch = environment_url  # an empty database made for the OQ (one that cannot be reached fails every case)
    if out and scratch and scratch == settings.database_url:
        raise click.ClickException("The report is signed in the installation's database, and DATABASE_URL names "
                                   "the empty scratch database: give it with --scratch-database-url instead.")
    if out and (not username or not password_stdin):
        raise click.ClickException("A signed report needs --username and --password-stdin.")
    results = run_cases(scratch)
    for result in results:
        click.echo(f"[{result.result.upper()}] {result.id} {', '.join(result.requirement_ids)}: {result.title}")
        for step in result.steps:
            click.echo(f"    {'ok  ' if step.passed else 'FAIL'} {step.action} — expected {step.expected}; "
                       f"actual {step.actual}")
        if result.error:
            click.echo(f"    ERROR {result.error.splitlines()[0]}")
    content = report_content(results, scratch_url=scratch, installation_url=settings.database_url)
    if json_out:
        Path(json_out).write_text(json.dumps(content, indent=1, ensure_ascii=False))
    if out:
        from gmp_complaints.printing import oq_report_pdf

        _signed_report(settings, content, "OQ", "oq_execution", out, username, lang,
                       lambda shown: oq_report_pdf(content, shown, lang, settings.site_timezone))
    failed = [r.id for r in results if r.result != "pass"]
    if failed:
        click.echo(f"OQ failed: {', '.join(failed)}.")
        sys.exit(1)
    click.echo(f"OQ passed: {len(results)} cases.")


def _empty_or_unreachable(database_url: str) -> bool:
    import sqlalchemy as sa

    from gmp_complaints.oq import database_is_empty

    try:
        return database_is_empty(database_url)
    except sa.exc.SQLAlchemyError:
        return True


def _signed_report(settings, content: dict, prefix: str, step_name: str, out: str, username: str | None,
                   lang: str, render) -> None:
    """A qualification report as PDF, signed by the executor (re-authenticated, password on standard input):
    written only once the signature is stored."""
    from zoneinfo import ZoneInfo

    from gmp_complaints import create_app, unit_of_work
    from gmp_complaints.iq import sign_validation_report
    from signatures.service import signature_view

    password = sys.stdin.readline().rstrip("\n")
    app = create_app(settings)
    try:
        with app.app_context():
            uow = unit_of_work(app, system_actor=_cli_actor())
            with uow:
                row = sign_validation_report(uow, content, prefix=prefix, step_name=step_name, username=username,
                                             password=password)
                shown = signature_view(row, row.record_hash, ZoneInfo(settings.site_timezone))
                uow.commit()
            pdf = render(shown)
    except DomainError as exc:
        _fail(exc)
    finally:
        app.extensions["gmp_engine"].dispose()
    Path(out).write_bytes(pdf)
    click.echo(f"Report {out} signed by {shown['signer_name']} ({shown['record_number']}).")


@main.group()
def review():
    """Reviews of the system itself."""


@review.command("periodic")
@click.option("--from", "date_from", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--to", "date_to", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, writable=True), help="Write the whole report.")
def review_periodic(date_from, date_to, json_out):
    """The periodic review report: user access, configuration changes, audit-trail reviews, incidents, and the
    latest signed checkpoint with the public keys (keep them outside the database)."""
    import json

    from gmp_complaints.services.periodic_review import periodic_review

    settings = _settings()
    try:
        with _database(settings) as new_uow:
            report = periodic_review(new_uow(), date_from=date_from.date(), date_to=date_to.date())
    except DomainError as exc:
        _fail(exc)
    access = report["user_access"]
    click.echo(f"Period {report['period']['from']} – {report['period']['to']}")
    click.echo(f"User access: {len(access['users'])} accounts, {access['active']} active; active without identity "
               f"verification: {', '.join(access['without_identity_verification']) or 'none'}; service accounts: "
               f"{', '.join(access['service_accounts']) or 'none'}")
    click.echo(f"Configuration and access changes: {len(report['configuration_changes'])}")
    for change in report["configuration_changes"]:
        click.echo(f"    #{change['index']} {change['occurred_at']} {change['actor']}: {change['action']} "
                   f"{change['record']}{' [' + change['change_control_ref'] + ']' if change['change_control_ref'] else ''}"
                   f"{' — ' + change['reason'] if change['reason'] else ''}")
    reviews = report["audit_trail_reviews"]
    click.echo(f"Closures: {reviews['closures']}; signed audit-trail reviews: {reviews['signed_reviews']}")
    click.echo("Incidents: " + ", ".join(f"{k} {v}" for k, v in report["incidents"].items()))
    log = report["log"]
    click.echo(f"Latest signed checkpoint: tree size {log['checkpoint_tree_size']}, root {log['checkpoint_root_hash']}")
    click.echo(f"Public keys SHA-256: {log['keys_sha256']}; report SHA-256: {report['sha256']}")
    if json_out:
        Path(json_out).write_text(json.dumps(report, indent=1, ensure_ascii=False))


@main.command("verify-storage")
def verify_storage_command():
    """Re-hash every stored file (attachments, evidence, letters, archive packages) against its recorded
    SHA-256, verify the audit log and every signature; record the result and tell the head of quality of any
    difference. Exit 1 naming each difference."""
    from audit.integrity import verify_storage

    settings = _settings()
    with _database(settings) as new_uow:
        differences, files = verify_storage(new_uow())
    for difference in differences:
        click.echo(difference.describe())
    if differences:
        click.echo(f"{len(differences)} difference(s) in the stored records; the head of quality is told.")
        sys.exit(1)
    click.echo(f"{files} stored files match their SHA-256; the audit log, its checkpoints and every signature verify.")


@main.group()
def archive():
    """Archive packages of closed complaints (SOP §8)."""


@archive.command("create")
@click.argument("complaint_id", type=int)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False))
@click.option("--lang", default="zh_Hans_CN", type=click.Choice(["zh_Hans_CN", "en"]), show_default=True)
@click.option("--printed-at", help="Reproduce a package: the print time stated in its manifest (ISO 8601).")
@click.option("--anchor", type=int, help="Reproduce a package: its audit anchor (tree size) from the manifest.")
@click.option("--masked", is_flag=True, help="The variant for readers without access to personal data (SEC-11).")
def archive_create(complaint_id, out_path, lang, printed_at, anchor, masked):
    """Write the archive package of a closed complaint; the same arguments give the same bytes."""
    import hashlib
    from datetime import datetime

    from gmp_complaints import create_app, unit_of_work
    from gmp_complaints.printing import build_archive
    from gmp_complaints.services.documents import record_archive

    settings = _settings()
    app = create_app(settings)
    actor = _cli_actor()

    def new_uow():
        return unit_of_work(app, system_actor=actor)

    try:
        with app.app_context():  # the documents need the app (templates, translations), not a request
            when = datetime.fromisoformat(printed_at) if printed_at else None
            data, manifest = build_archive(new_uow, complaint_id, locale=lang, masked=masked, printed_at=when,
                                           anchor_tree_size=anchor)
            record_archive(new_uow(), complaint_id=complaint_id, sha256=hashlib.sha256(data).hexdigest(),
                           manifest=manifest, actor_id=None)
    except DomainError as exc:
        _fail(exc)
    finally:
        app.extensions["gmp_engine"].dispose()
    with open(out_path, "wb") as handle:
        handle.write(data)
    click.echo(f"{out_path}: {len(manifest['files'])} files, SHA-256 {hashlib.sha256(data).hexdigest()}")
    click.echo(f"printed at {manifest['printed_at']}, audit anchor {manifest['audit_anchor_tree_size']}")


@archive.command("create-many")
@click.option("--year", required=True, type=int, help="Archive every closed complaint received in this year.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False))
@click.option("--lang", default="zh_Hans_CN", type=click.Choice(["zh_Hans_CN", "en"]), show_default=True)
@click.option("--masked", is_flag=True, help="Packages for readers without access to personal data (SEC-11).")
def archive_create_many(year, out_path, lang, masked):
    """Archive packages of a year's closed complaints, as a background job followed here with a bar."""
    import shutil
    from pathlib import Path

    from gmp_complaints import create_app, unit_of_work
    from gmp_complaints.archive_jobs import run_archive_job
    from gmp_complaints.services import jobs

    settings = _settings()
    app = create_app(settings)
    try:
        try:
            job = jobs.queue_archives(unit_of_work(app, system_actor=_cli_actor()), year=year, locale=lang,
                                      masked=masked, actor_id=None)
        except DomainError as exc:
            _fail(exc)
        with click.progressbar(length=job["total"], label=f"Archiving {job['total']} complaints") as bar:
            finished = run_archive_job(app, job["id"], on_progress=lambda done, total: bar.update(1))
    finally:
        app.extensions["gmp_engine"].dispose()
    shutil.copyfile(Path(settings.instance_path) / "exports" / finished["result_file"], out_path)
    click.echo(f"{out_path}: {finished['total']} archive packages, SHA-256 {finished['result_sha256']}")


@main.group()
def jobs():
    """Background jobs."""


@jobs.command("run")
def jobs_run():
    """Run every queued job (for cron, or after a web node stopped mid-job)."""
    from gmp_complaints import create_app, unit_of_work
    from gmp_complaints.job_runner import run_job
    from gmp_complaints.services import jobs as service

    settings = _settings()
    app = create_app(settings)
    ran = 0
    try:
        while (job_id := service.next_queued(unit_of_work(app, system_actor=_cli_actor()))) is not None:
            if run_job(app, job_id) is not None:
                ran += 1
    finally:
        app.extensions["gmp_engine"].dispose()
    click.echo(f"Jobs run: {ran}.")


@archive.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--trusted-keys", type=click.Path(exists=True, dir_okay=False),
              help="keys.json from a trusted source (pins the site's public keys)")
def archive_verify(path, trusted_keys):
    """Check an archive package offline: files, manifest signature, audit bundle. Exit 0 when intact."""
    import json

    from gmp_complaints.archive import verify_archive

    trusted = json.loads(open(trusted_keys, encoding="utf-8").read()) if trusted_keys else None
    with open(path, "rb") as handle:
        report = verify_archive(handle.read(), trusted)
    if report.ok:
        click.echo(f"OK: {report.files_checked} files match the signed manifest; audit bundle of "
                   f"{report.audit_events} events verifies; personal data {report.personal_data}.")
        return
    for problem in report.problems:
        click.echo(f"FAIL: {problem}")
    sys.exit(1)


@main.command("backup")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The backup file to write (owner-only; it holds the site's keys).")
def backup_command(out):
    """Back up the database (online) and the instance folder into one file; print the audit log's tree size
    and root hash at the moment of the backup."""
    import hashlib

    from gmp_complaints.backup import BackupError, create_backup

    settings = _settings()
    try:
        manifest = create_backup(settings, Path(out))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    sha256 = hashlib.sha256(Path(out).read_bytes()).hexdigest()
    from gmp_complaints.services.backups import record_backup

    with _database(settings) as new_uow:
        record_backup(new_uow(), file=str(Path(out).resolve()), sha256=sha256, manifest=manifest, scheduled=False)
    click.echo(f"Backup written to {out} ({len(manifest['files'])} files, {len(manifest['tables'])} tables, "
               f"SHA-256 {sha256}).")
    click.echo(f"Audit log at the backup: tree size {manifest['tree_size']}, root hash {manifest['root_hash']}")


@main.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--drill", is_flag=True, help="A test restore: into a scratch folder and database (never the live "
              "ones), reconciled against the backup's manifest and recorded in the live audit trail; exit 1 on any "
              "difference.")
@click.option("--scratch-database-url", help="With --drill on PostgreSQL: an empty database to restore into "
              "(default: a temporary database made on the live server and dropped afterwards).")
def restore_command(backup_file, drill, scratch_database_url):
    """Restore a backup into an empty database and instance folder; refuse a non-empty one. Prints the audit
    log's tree size and root hash of the backup and of the restored database: exit 1 if they differ.
    With --drill, test the backup instead (RET-04) and leave the live instance as it is."""
    import hashlib

    from gmp_complaints.backup import BackupError, restore_backup

    settings = _settings()
    if drill:
        _restore_drill(settings, Path(backup_file), scratch_database_url)
        return
    if scratch_database_url:
        raise click.ClickException("--scratch-database-url goes with --drill.")
    try:
        manifest, head = restore_backup(settings, Path(backup_file))
    except BackupError as exc:
        raise click.ClickException(f"Restore refused, nothing changed: {exc}") from None
    click.echo(f"Audit log in the backup:   tree size {manifest['tree_size']}, root hash {manifest['root_hash']}")
    click.echo(f"Audit log restored:        tree size {head.tree_size}, root hash {head.root_hash}")
    if (head.tree_size, head.root_hash) != (manifest["tree_size"], manifest["root_hash"]):
        click.echo("FAIL: the restored audit log differs from the backup's.")
        sys.exit(1)
    sha256 = hashlib.sha256(Path(backup_file).read_bytes()).hexdigest()
    with _database(settings) as new_uow:
        _record_instance_event(new_uow(), "instance.restored", sha256, manifest)
    click.echo("Restored. Run `gmp integrity-check` and export and verify the audit trail before use.")


def _restore_drill(settings, backup_file: Path, scratch_database_url: str | None) -> None:
    """The documented test restore (RET-04): restore into scratch, reconcile every table's rows and content hashes
    and the audit log against the manifest, print the reconciliation, record the result in the live trail."""
    from gmp_complaints.backup import BackupError, drill_restore
    from gmp_complaints.domain.reconciliation import table_lines
    from gmp_complaints.services import backups

    with _database(settings) as new_uow:
        recorded = backups.recorded_backup_files(new_uow())
    try:
        result = drill_restore(settings, backup_file, scratch_database_url=scratch_database_url,
                               recorded_sha256=recorded)
    except BackupError as exc:
        raise click.ClickException(f"Drill not run: {exc}") from None
    click.echo(f"Test restore (drill) of {backup_file} (SHA-256 {result.file_sha256})")
    if scratch_database_url:
        click.echo(f"Restored into the scratch database {result.scratch} (never the live one); it now holds a copy "
                   "of the records: drop it when the drill is filed.")
    else:
        click.echo(f"Restored into the scratch database {result.scratch or '-'} (never the live one), then dropped.")
    if result.manifest:
        click.echo(f"Audit log in the backup:   tree size {result.manifest['tree_size']}, "
                   f"root hash {result.manifest['root_hash']}")
    for label, head in (("Audit log restored:       ", result.restored_head),
                        ("Audit log recomputed:     ", result.recomputed_head)):
        if head is not None:
            click.echo(f"{label} tree size {head.tree_size}, root hash {head.root_hash}")
    if result.found:  # restored: each table reconciled
        for line in table_lines(result.expected, result.found, result.findings, expected_label="backup",
                                found_label="restored"):
            click.echo(line)
    for problem in result.problems:
        click.echo(f"DIFFERS  {problem}")
    with _database(settings) as new_uow:
        backups.record_drill(new_uow(), file=str(backup_file.resolve()), sha256=result.file_sha256,
                             passed=result.passed, manifest=result.manifest, tables=len(result.found),
                             rows=result.rows, differences=result.differences)
    if not result.passed:
        click.echo(f"Drill FAILED: {len(result.differences)} difference(s); recorded in the audit trail.")
        sys.exit(1)
    click.echo(f"Drill passed: {len(result.found)} tables and {result.rows} rows reconciled with the backup's "
               "manifest (counts and content hashes), the audit log's head and root equal; recorded in the audit "
               "trail.")


def _record_instance_event(uow, action: str, sha256: str, manifest: dict) -> None:
    """The backup or restore in the audit trail: which file (SHA-256), and the log it holds."""
    from gmp_complaints.domain.events import DomainEvent

    with uow:
        uow.record(DomainEvent(action, "instance", None, {
            "file_sha256": [None, sha256], "tree_size": [None, manifest["tree_size"]],
            "root_hash": [None, manifest["root_hash"]], "backup_created_at": [None, manifest["created_at"]]}))
        uow.commit()


@main.command("integrity-check")
def integrity_check_command():
    """Replay the audit trail against the live tables and signature rows, and compare the log with the checkpoints
    kept outside the database (GMP_CHECKPOINT_DIR); list every difference. Exit 1 if any."""
    from audit.integrity import integrity_check

    settings = _settings()
    with _database(settings) as new_uow:
        differences = integrity_check(new_uow())
    for difference in differences:
        click.echo(difference.describe())
    if differences:
        click.echo(f"{len(differences)} difference(s) between the audit trail and the tables.")
        sys.exit(1)
    click.echo("The tables agree with the audit trail; the log, its checkpoints and those kept outside the database "
               "verify.")


@main.group()
def audit():
    """Audit trail: export, offline verification, signing-key rotation."""


@audit.command("export")
@click.option("--entity", help="Only this record, e.g. complaint:12 or user:3.")
@click.option("--from", "date_from", type=click.DateTime(formats=["%Y-%m-%d"]), help="From this day (site time zone).")
@click.option("--to", "date_to", type=click.DateTime(formats=["%Y-%m-%d"]), help="To this day, inclusive.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True))
def audit_export(entity, date_from, date_to, out):
    """Write a verifiable bundle (zip): events, checkpoints, keys, proofs, manifest."""
    from audit.export import export_audit_trail
    from audit.service import EventFilter, parse_entity

    settings = _settings()
    try:
        entity_type, entity_id = parse_entity(entity)
    except DomainError as exc:
        _fail(exc)
    event_filter = EventFilter(entity_type=entity_type, entity_id=entity_id,
                               date_from=date_from.date() if date_from else None,
                               date_to=date_to.date() if date_to else None)
    from gmp_complaints.services.audit_scope import with_parts

    with _database(settings) as new_uow:
        result = export_audit_trail(new_uow(), actor_id=None, event_filter=with_parts(new_uow(), event_filter))
    Path(out).write_bytes(result.data)
    click.echo(f"Wrote {out}: {result.event_count} events ({result.scope}), anchored in the signed checkpoint "
               f"of size {result.anchor_tree_size}; SHA-256 {result.sha256}")


@audit.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--trusted-keys", type=click.Path(exists=True, dir_okay=False), help="Pinned keys.json.")
@click.option("--strict", is_flag=True, help="Also prove every event is in canonical JSON form (slower).")
@click.option("--checkpoint", "checkpoints", multiple=True, type=click.Path(exists=True),
              help="A checkpoint kept outside the database (latest.note, a .jsonl file, or the audit-checkpoints "
                   "folder): the bundle's log must extend it. Repeatable.")
def audit_verify(bundle, trusted_keys, strict, checkpoints):
    """Verify a bundle offline (no database). Exit 0 when intact, 1 naming the first failing event (or, with
    --checkpoint, a log shorter than or different from the checkpoint kept outside the database)."""
    from audit.verify import main as verify_main

    args = [bundle] + (["--trusted-keys", trusted_keys] if trusted_keys else []) + (["--strict"] if strict else [])
    args += [option for path in checkpoints for option in ("--checkpoint", path)]
    sys.exit(verify_main(args))


@audit.command("rotate-key")
@click.option("--reason", required=True, help="Why the key is rotated (scheduled rotation, suspected exposure...).")
def audit_rotate_key(reason):
    """Start signing with a new key; the old public key keeps verifying old checkpoints."""
    from audit.service import rotate_signing_key

    settings = _settings()
    try:
        with _database(settings) as new_uow:
            old_id, new_id = rotate_signing_key(new_uow(), reason=reason)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Rotated the audit signing key: {old_id} retired, {new_id} signs from now on.")


@main.group()
def db():
    """Database administration for production (PostgreSQL)."""


@db.command("grant-app-role")
@click.argument("role")
def grant_app_role(role):
    """Grant ROLE what the application needs and no more: the audit tables INSERT and SELECT only.

    Run it as the owner of the tables (the role that ran `gmp init`); the application then connects as ROLE.
    """
    from gmp_complaints.db import grant_application_role, make_engine

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        grant_application_role(engine, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"Granted {role}: tables read/insert/update, audit tables read/insert only, no delete or truncate.")

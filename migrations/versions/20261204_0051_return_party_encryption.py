"""The returning party of returned goods and its address encrypted at rest, like the complainant (issue 19; SEC-11).

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-04

Reviewed by hand.

A return may come straight from a patient (channel ``patient``), and 21 CFR 211.204 asks for who returned it and
where from: personal data. The columns keep their names and, like ``complaints.complainant_name``, hold the
Fernet token of the value (``personal_data_crypto``); the application keeps them out of the audit trail's row
diffs and records "recorded (encrypted)" instead.

- returns.returning_party: widened from VARCHAR(200) to TEXT (a token is longer than the value it holds). On
  PostgreSQL the column type is altered; on SQLite, which keeps no length in the stored rows, the table's stored
  definition is edited in place as in 0046 (a table copy would drop the returns' no-delete trigger).
- returns.returning_party, returns.returning_party_address: every value already held is encrypted, in the
  upgrade's one transaction, so the reconciliation of the upgrade (RET-05) sees both columns change and accepts
  it only through ``data_changes`` below. The key never comes from the database: ``gmp init`` (through
  ``migrate.upgrade_to_head``) hands the instance's personal-data cipher to the migration in the Alembic
  configuration. An upgrade without it (plain ``alembic upgrade``) on a database that holds a returning party
  stops with nothing changed rather than leave clear text behind; one without such a value needs no key.
  On PostgreSQL the update carries the attribution the table's trigger requires.
- The audit events already written hold the old values in clear: the trail is append-only and sealed, so
  they stay. The audit page and CSV mask them for roles without personal-data access; the verifiable bundle
  carries the events as sealed. The integrity check no longer compares these columns (they hold ciphertext),
  as for the complainant's.

Downgrade decrypts the values (again only with the cipher) and narrows the column back to VARCHAR(200); the
application validated every value to at most 200 characters.
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None

#: RET-05: what this revision changes in records already held, and why
data_changes = {
    "returns.returning_party": "encrypted at rest with the instance's personal-data key (SEC-11)",
    "returns.returning_party_address": "encrypted at rest with the instance's personal-data key (SEC-11)",
}

NARROW, WIDE = "returning_party VARCHAR(200)", "returning_party TEXT"


def _held_values():
    return op.get_bind().execute(sa.text(
        "SELECT id, returning_party, returning_party_address FROM returns "
        "WHERE returning_party IS NOT NULL OR returning_party_address IS NOT NULL ORDER BY id")).all()


def _cipher(direction: str):
    make = context.config.attributes.get("personal_data_cipher")
    if make is None:
        raise RuntimeError(
            f"Revision 0051 must {direction} the returning parties of the returns already recorded with the "
            "personal-data key: run the upgrade with `gmp init`, which provides it. Nothing was changed.")
    return make()


def _rewrite(transform) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("SELECT set_config('gmp.tx', 'migration-0051', true)")
    for row_id, party, address in _held_values():
        bind.execute(sa.text("UPDATE returns SET returning_party = :party, returning_party_address = :address "
                             "WHERE id = :id"),
                     {"id": row_id, "party": transform(party), "address": transform(address)})


def _sqlite_edit_returns(old: str, new: str) -> None:
    """Edit the stored definition of ``returns`` where the rows stay valid as stored (SQLite ALTER TABLE §7)."""
    bind = op.get_bind()
    definition = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'returns'").scalar_one()
    if definition.count(old) != 1:
        raise RuntimeError(f"returns: expected {old!r} once in the table definition")
    schema_version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'returns'",
                         (definition.replace(old, new),))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(schema_version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = [row[0] for row in bind.exec_driver_sql("PRAGMA quick_check(returns)")]
    if problems != ["ok"]:
        raise RuntimeError(f"returns after the edit: {problems}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("returns", "returning_party", type_=sa.Text(), existing_type=sa.String(length=200),
                        existing_nullable=True)
    else:
        _sqlite_edit_returns(NARROW, WIDE)
    if _held_values():
        _rewrite(_cipher("encrypt").encrypt)


def downgrade() -> None:
    if _held_values():
        _rewrite(_cipher("decrypt").decrypt)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("returns", "returning_party", type_=sa.String(length=200), existing_type=sa.Text(),
                        existing_nullable=True)
    else:
        _sqlite_edit_returns(WIDE, NARROW)

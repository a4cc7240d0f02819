"""CAPA sources beyond complaints, change-control references, the planned effectiveness check and the signed
justification that no check is needed (issue 18; WF-13, WF-14).

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-04

Reviewed by hand.

- capas.source: the source types of ICH Q10 3.2.2 besides complaints and trends (product rejection,
  non-conformance, recall, deviation, audit, inspection) and ``capa`` (a follow-up of a CAPA found not
  effective). The column widens from 16 to 24 characters and its check takes the new values. On PostgreSQL
  the check is dropped and created again and the column type altered. On SQLite neither needs the table
  copied: SQLite keeps neither lengths nor checks in the stored rows, so the table's definition is edited
  in place (the "simpler procedure" of the SQLite ALTER TABLE documentation, §7, for changes that leave the
  stored rows as they are: the schema version is bumped and the table checked afterwards). A table copy
  would drop the CAPA table's no-delete trigger.
- capas, nullable columns added with plain ALTER TABLE ADD COLUMN (on SQLite each check inline on the
  column that carries it): whether the CAPA changes a process, a specification or software, and the
  change-control reference where it does (only then); the head of quality's justification that no
  effectiveness check is needed (only while none is recorded); the escalation of a result "not effective"
  (only for that result). CAPAs recorded before have none of them: their signed content stays as it was.
- capa_sources (new): the sources of a CAPA other than complaints, many per CAPA, each a type and a reference,
  for a recall the recall and for a follow-up the CAPA found not effective. Never changed, never deleted
  (raising triggers on both databases); on PostgreSQL a write without the application's attribution is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
OLD_SOURCES = "'complaint', 'deviation', 'audit', 'trend', 'recall'"
NEW_SOURCES = ("'complaint', 'product_rejection', 'non_conformance', 'recall', 'deviation', 'audit', 'inspection', "
               "'trend', 'capa'")
LINKED_SOURCES = ("'product_rejection', 'non_conformance', 'recall', 'deviation', 'audit', 'inspection', 'trend', "
                  "'capa'")
CHANGE_CONTROL_REF = "change_control_ref IS NULL OR change_control_required IS TRUE"
WAIVER = "effectiveness_waiver IS NULL OR effectiveness_result IS NULL"
ESCALATION = "escalation_reason IS NULL OR effectiveness_result = 'not_effective'"
#: (column, type on PostgreSQL, type on SQLite, (check name, check) or None), in the order added
COLUMNS = (
    ("change_control_required", sa.Boolean(), "BOOLEAN", None),
    ("change_control_ref", sa.String(length=64), "VARCHAR(64)", ("change_control_ref_only_with_change",
                                                                 CHANGE_CONTROL_REF)),
    ("effectiveness_waiver", sa.Text(), "TEXT", ("waiver_only_without_check", WAIVER)),
    ("escalation_reason", sa.Text(), "TEXT", ("escalation_only_not_effective", ESCALATION)),
)


def _sqlite_edit_capas(replacements: tuple[tuple[str, str], ...]) -> None:
    """Edit the stored definition of ``capas`` where the rows stay valid as stored (SQLite ALTER TABLE §7)."""
    bind = op.get_bind()
    definition = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'capas'").scalar_one()
    for old, new in replacements:
        if definition.count(old) != 1:
            raise RuntimeError(f"capas: expected {old!r} once in the table definition")
        definition = definition.replace(old, new)
    schema_version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'capas'", (definition,))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(schema_version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = [row[0] for row in bind.exec_driver_sql("PRAGMA quick_check(capas)")]
    if problems != ["ok"]:
        raise RuntimeError(f"capas after the edit: {problems}")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.drop_constraint(op.f("ck_capas_source_known"), "capas", type_="check")
        op.alter_column("capas", "source", type_=sa.String(length=24), existing_type=sa.String(length=16),
                        existing_nullable=False)
        op.create_check_constraint(op.f("ck_capas_source_known"), "capas", f"source IN ({NEW_SOURCES})")
    else:
        _sqlite_edit_capas((("source VARCHAR(16) NOT NULL", "source VARCHAR(24) NOT NULL"),
                            (f"CHECK (source IN ({OLD_SOURCES}))", f"CHECK (source IN ({NEW_SOURCES}))")))
    for name, type_, sqlite_type, check in COLUMNS:
        if postgresql:
            op.add_column("capas", sa.Column(name, type_, nullable=True))
            if check:
                op.create_check_constraint(op.f(f"ck_capas_{check[0]}"), "capas", check[1])
        else:
            constraint = f" CONSTRAINT ck_capas_{check[0]} CHECK ({check[1]})" if check else ""
            op.execute(f"ALTER TABLE capas ADD COLUMN {name} {sqlite_type}{constraint}")

    op.create_table(
        "capa_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capa_id", sa.Integer(), nullable=False),
        sa.Column("source_type", sa.String(length=24), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("recall_id", sa.Integer(), nullable=True),
        sa.Column("source_capa_id", sa.Integer(), nullable=True),
        sa.Column("linked_by_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", UTC_TS, nullable=False),
        sa.CheckConstraint(f"source_type IN ({LINKED_SOURCES})", name=op.f("ck_capa_sources_source_type_known")),
        sa.CheckConstraint("(source_type = 'recall') = (recall_id IS NOT NULL)",
                           name=op.f("ck_capa_sources_recall_iff_recall")),
        sa.CheckConstraint("(source_type = 'capa') = (source_capa_id IS NOT NULL)",
                           name=op.f("ck_capa_sources_capa_iff_capa")),
        sa.ForeignKeyConstraint(["capa_id"], ["capas.id"], name=op.f("fk_capa_sources_capa_id_capas")),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"], name=op.f("fk_capa_sources_recall_id_recalls")),
        sa.ForeignKeyConstraint(["source_capa_id"], ["capas.id"], name=op.f("fk_capa_sources_source_capa_id_capas")),
        sa.ForeignKeyConstraint(["linked_by_id"], ["users.id"], name=op.f("fk_capa_sources_linked_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capa_sources")),
        sa.UniqueConstraint("capa_id", "source_type", "reference", name="uq_capa_sources_capa_source"),
    )
    op.create_index(op.f("ix_capa_sources_capa_id"), "capa_sources", ["capa_id"])
    op.create_index(op.f("ix_capa_sources_source_capa_id"), "capa_sources", ["source_capa_id"])
    if postgresql:
        op.execute("CREATE TRIGGER capa_sources_attribution BEFORE INSERT OR UPDATE OR DELETE ON capa_sources "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_require_attribution()")
        op.execute("ALTER TABLE capa_sources ENABLE ALWAYS TRIGGER capa_sources_attribution")
        op.execute("CREATE TRIGGER capa_sources_append_only BEFORE UPDATE OR DELETE ON capa_sources "
                   "FOR EACH ROW EXECUTE FUNCTION gmp_append_only()")
        op.execute("ALTER TABLE capa_sources ENABLE ALWAYS TRIGGER capa_sources_append_only")
    else:
        op.execute("CREATE TRIGGER capa_sources_no_update BEFORE UPDATE ON capa_sources "
                   "BEGIN SELECT RAISE(ABORT, 'CAPA sources are never changed'); END")
        op.execute("CREATE TRIGGER capa_sources_no_delete BEFORE DELETE ON capa_sources "
                   "BEGIN SELECT RAISE(ABORT, 'CAPA sources are never deleted'); END")


def downgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    newer = bind.exec_driver_sql("SELECT count(*) FROM capas WHERE source IN "
                                 "('product_rejection', 'non_conformance', 'inspection', 'capa')").scalar_one()
    if newer:
        raise RuntimeError(f"{newer} CAPA(s) come from sources that revision 0046 does not know: "
                           "they cannot be kept below 0046.")
    if not postgresql:
        op.execute("DROP TRIGGER IF EXISTS capa_sources_no_delete")
        op.execute("DROP TRIGGER IF EXISTS capa_sources_no_update")
    op.drop_index(op.f("ix_capa_sources_source_capa_id"), table_name="capa_sources")
    op.drop_index(op.f("ix_capa_sources_capa_id"), table_name="capa_sources")
    op.drop_table("capa_sources")
    # Dropped in place, no table copy (the no-delete trigger stays); each check goes with the column carrying it.
    for name, _type, _sqlite_type, check in reversed(COLUMNS):
        if postgresql and check:
            op.drop_constraint(op.f(f"ck_capas_{check[0]}"), "capas", type_="check")
        op.execute(f"ALTER TABLE capas DROP COLUMN {name}")
    if postgresql:
        op.drop_constraint(op.f("ck_capas_source_known"), "capas", type_="check")
        op.alter_column("capas", "source", type_=sa.String(length=16), existing_type=sa.String(length=24),
                        existing_nullable=False)
        op.create_check_constraint(op.f("ck_capas_source_known"), "capas", f"source IN ({OLD_SOURCES})")
    else:
        _sqlite_edit_capas(((f"CHECK (source IN ({NEW_SOURCES}))", f"CHECK (source IN ({OLD_SOURCES}))"),
                            ("source VARCHAR(24) NOT NULL", "source VARCHAR(16) NOT NULL")))

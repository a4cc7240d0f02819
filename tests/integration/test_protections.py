"""The list of database protections a release installs (gmp_complaints.protections) is exactly what the migrations
create, on SQLite and on PostgreSQL (there every one enabled ALWAYS): `gmp validate iq` checks a live database against
it, so a migration that adds or drops a protection must change the list (change control, VAL-06)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa


@pytest.mark.req("VAL-04", "AT-03")
def test_the_migrations_create_exactly_the_protections_the_release_lists(database_url):
    from gmp_complaints.protections import EXPECTED_TRIGGERS

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                rows = connection.execute(sa.text("SELECT name, 'A' FROM sqlite_master WHERE type = 'trigger'")).all()
            else:
                rows = connection.execute(sa.text(
                    "SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal")).all()
            dialect = connection.dialect.name
    finally:
        engine.dispose()
    assert {name for name, _ in rows} == EXPECTED_TRIGGERS[dialect]
    assert {state for _, state in rows} == {"A"}

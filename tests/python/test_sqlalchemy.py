"""SQLAlchemy 2 over psycopg, as Superset connects: the dialect's start-up type lookups
and the inspector's schema and table listings, as a persona."""

import pytest
import sqlalchemy as sa

from personas import token


@pytest.fixture(scope="module")
def analyst_engine(lakegate):
    url = sa.engine.URL.create("postgresql+psycopg", username="token", password=token(lakegate, "analyst"),
                               host="127.0.0.1", port=lakegate.port, database="lake",
                               query={"sslmode": "require"})
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def test_connects_and_queries(analyst_engine):
    with analyst_engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(DISTINCT ward_code) FROM parking_raw_zone.liberator_pcn_tickets")).scalar()
    assert n == 1


def test_inspector_lists_only_the_personas_schemas_and_tables(analyst_engine):
    inspector = sa.inspect(analyst_engine)
    schemas = set(inspector.get_schema_names())
    assert {"parking_raw_zone", "parking_refined_zone", "unrestricted_raw_zone"} <= schemas
    assert not any(s.startswith(("housing", "revenues")) for s in schemas)
    assert set(inspector.get_table_names(schema="parking_raw_zone")) == {"liberator_pcn_tickets", "permits"}

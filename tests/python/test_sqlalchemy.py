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


def test_inspector_reflects_columns_keys_and_comments_of_every_table(analyst_engine):
    inspector = sa.inspect(analyst_engine)
    for schema in ("parking_raw_zone", "unrestricted_raw_zone"):
        for table in inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema):
            assert inspector.get_columns(table, schema=schema), table
            inspector.get_pk_constraint(table, schema=schema)
            inspector.get_foreign_keys(table, schema=schema)
            inspector.get_indexes(table, schema=schema)
            inspector.get_unique_constraints(table, schema=schema)
            inspector.get_check_constraints(table, schema=schema)
            inspector.get_table_comment(table, schema=schema)
    columns = {c["name"]: c for c in inspector.get_columns("liberator_pcn_tickets", schema="parking_raw_zone")}
    assert columns["vrm"]["comment"] == "Vehicle registration mark"
    assert isinstance(columns["amount"]["type"], sa.Numeric) and isinstance(columns["pcn_issue_date"]["type"], sa.Date)
    assert inspector.get_pk_constraint("wards", schema="unrestricted_raw_zone") == {
        "name": "wards_pkey", "constrained_columns": ["ward_code"], "comment": None,
        "dialect_options": {"postgresql_include": []}}
    [fk] = inspector.get_foreign_keys("liberator_pcn_tickets", schema="parking_raw_zone")
    assert (fk["constrained_columns"], fk["referred_schema"], fk["referred_table"], fk["referred_columns"]) == (
        ["ward_code"], "unrestricted_raw_zone", "wards", ["ward_code"])
    assert inspector.get_table_comment("wards", schema="unrestricted_raw_zone")["text"].startswith("Electoral wards")


def test_multi_reflection_as_superset_does_it(analyst_engine):
    inspector = sa.inspect(analyst_engine)
    columns = inspector.get_multi_columns(schema="parking_raw_zone")
    assert {t for _, t in columns} >= {"liberator_pcn_tickets", "permits"}
    keys = inspector.get_multi_foreign_keys(schema="parking_raw_zone")
    assert keys[("parking_raw_zone", "liberator_pcn_tickets")][0]["referred_table"] == "wards"
    metadata = sa.MetaData()
    tickets = sa.Table("liberator_pcn_tickets", metadata, schema="parking_raw_zone", autoload_with=analyst_engine)
    assert [fk.target_fullname for fk in tickets.foreign_keys] == ["unrestricted_raw_zone.wards.ward_code"]


def test_a_relationship_to_a_table_the_persona_cannot_see_does_not_exist(lakegate):
    url = sa.engine.URL.create("postgresql+psycopg", username="token", password=token(lakegate, "housing"),
                               host="127.0.0.1", port=lakegate.port, database="lake",
                               query={"sslmode": "require"})
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        assert inspector.get_pk_constraint("tenancies", schema="housing_raw_zone")["constrained_columns"] == ["tenancy_ref"]
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT conname FROM pg_catalog.pg_constraint")).scalars().all()
            tables = conn.execute(sa.text("SELECT DISTINCT table_name FROM information_schema.table_constraints")).scalars().all()
        assert not any("pcn" in n for n in names) and "liberator_pcn_tickets" not in tables
    finally:
        engine.dispose()

"""The `lakegate` schema: the data dictionary as tables, holding only what the persona
sees — over both transports."""

import psycopg
import pytest

import flightsql
from personas import token


@pytest.fixture(params=["pg", "flight"])
def rows(request, lakegate):
    def run(persona, sql):
        secret = token(lakegate, persona)
        if request.param == "pg":
            with psycopg.connect(**lakegate.dsn(secret), autocommit=True) as conn:
                return conn.execute(sql).fetchall()
        return flightsql.rows(flightsql.FlightSql(lakegate.flight(), secret).query(sql))
    return run


def test_datasets_list_the_personas_tables_with_their_catalogue_entries(rows):
    datasets = {(s, t): (zone, dept, desc, owner) for s, t, zone, dept, desc, owner in rows(
        "analyst", "SELECT schema_name, table_name, zone, department, description, owner FROM lakegate.datasets")}
    zone, department, description, owner = datasets[("parking_raw_zone", "liberator_pcn_tickets")]
    assert (zone, department) == ("raw", "parking") and description.startswith("Penalty charge notices")
    assert owner == "parking-data@hackney.gov.uk"
    assert not any(s.startswith(("housing", "revenues")) for s, _ in datasets)
    latest = rows("analyst", "SELECT latest_partition FROM lakegate.datasets "
                             "WHERE table_name = 'liberator_pcn_tickets_latest' AND schema_name = 'parking_raw_zone'")
    assert latest[0][0].isdigit()
    public = {s for (s,) in rows("public", "SELECT DISTINCT schema_name FROM lakegate.datasets")}
    assert public == {"unrestricted_raw_zone"}


def test_columns_show_pii_tags_and_never_hidden_columns(rows):
    personal = rows("housing", "SELECT column_name, pii FROM lakegate.columns "
                               "WHERE schema_name = 'housing_raw_zone' AND table_name = 'tenancies' AND is_personal_data "
                               "ORDER BY column_name")
    assert ("tenant_name", "name") in personal and ("date_of_birth", "date_of_birth") in personal
    revenues = [c for (c,) in rows("revenues", "SELECT column_name FROM lakegate.columns "
                                               "WHERE table_name = 'council_tax_accounts'")]
    assert revenues and "balance" not in revenues and "property_uprn" in revenues


def test_relationships_need_both_ends_visible(rows):
    joins = rows("analyst", "SELECT table_name, column_name, references_schema, references_table, references_column "
                            "FROM lakegate.relationships WHERE schema_name = 'parking_raw_zone'")
    assert ("liberator_pcn_tickets", "ward_code", "unrestricted_raw_zone", "wards", "ward_code") in joins
    assert rows("public", "SELECT count(*) FROM lakegate.relationships") == [(0,)]


def test_partitions_list_each_import_with_its_files(rows):
    # The manager sees every ticket (plates masked); a row-filtered analyst gets no volume
    # (test_hardening.py).
    partitions = rows("manager", "SELECT table_name, partition, import_date, file_count, total_bytes "
                                 "FROM lakegate.partitions WHERE schema_name = 'parking_raw_zone'")
    tickets = [p for p in partitions if p[0] == "liberator_pcn_tickets"]
    assert tickets and all(p[1].startswith("import_year=") and p[1].endswith(f"import_date={p[2]}") for p in tickets)
    assert all(files >= 1 and size > 0 for _, _, _, files, size in tickets)
    files = rows("manager", "SELECT file_count FROM lakegate.datasets WHERE schema_name = 'parking_raw_zone' "
                            "AND table_name = 'liberator_pcn_tickets'")
    assert sum(p[3] for p in tickets) == files[0][0]
    [latest] = [p for p in partitions if p[0] == "liberator_pcn_tickets_latest"]
    assert latest[2] == max(p[2] for p in tickets)
    assert not rows("public", "SELECT * FROM lakegate.partitions WHERE schema_name LIKE 'parking%'")


def test_keys_are_information_schema_constraints(rows):
    constraints = set(rows("analyst", "SELECT table_schema, table_name, constraint_name, constraint_type "
                                      "FROM information_schema.table_constraints"))
    assert ("unrestricted_raw_zone", "wards", "wards_pkey", "PRIMARY KEY") in constraints
    assert ("parking_raw_zone", "liberator_pcn_tickets", "liberator_pcn_tickets_ward_code_fkey",
            "FOREIGN KEY") in constraints
    assert not any(schema.startswith("housing") for schema, *_ in constraints)
    usage = rows("analyst", "SELECT column_name, ordinal_position, position_in_unique_constraint "
                            "FROM information_schema.key_column_usage "
                            "WHERE constraint_name = 'liberator_pcn_tickets_ward_code_fkey'")
    assert usage == [("ward_code", 1, 1)]
    referential = rows("analyst", "SELECT unique_constraint_schema, unique_constraint_name "
                                  "FROM information_schema.referential_constraints "
                                  "WHERE constraint_name = 'liberator_pcn_tickets_ward_code_fkey'")
    assert referential == [("unrestricted_raw_zone", "wards_pkey")]


def test_information_schema_columns_name_postgresql_types(rows):
    types = dict(rows("analyst", "SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_schema = 'parking_raw_zone' AND table_name = 'liberator_pcn_tickets'"))
    assert types["vrm"] == "text" and types["amount"] == "numeric" and types["is_paid"] == "boolean"
    assert types["pcn_issue_datetime"] == "timestamp without time zone" and types["officer_id"] == "integer"

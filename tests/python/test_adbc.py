"""What a notebook does: ADBC's Flight SQL driver (DB-API), pandas and polars, against the
real server over TLS."""

import decimal

import polars as pl
import psycopg
import pytest

from personas import token

T = "parking_raw_zone.liberator_pcn_tickets"
WARD = "E05009372"


@pytest.fixture(scope="module")
def analyst(lakegate):
    with lakegate.adbc(token(lakegate, "analyst")) as conn:
        yield conn


def test_execute_and_fetch_arrow(analyst):
    with analyst.cursor() as cur:
        cur.execute(f"SELECT ward_code, count(*) AS n, min(vrm) AS plate FROM {T} GROUP BY 1")
        table = cur.fetch_arrow_table()
    assert table.column_names == ["ward_code", "n", "plate"]
    rows = table.to_pylist()
    assert len(rows) == 1 and rows[0]["ward_code"] == WARD and rows[0]["plate"].startswith("XX00 ")


def test_parameters_bind_through_prepared_statements(analyst, lakegate):
    with psycopg.connect(**lakegate.dsn(token(lakegate, "engineer")), autocommit=True) as conn:
        expected = conn.execute(f"SELECT count(*) FROM {T} WHERE ward_code = %s", (WARD,)).fetchone()[0]
    with analyst.cursor() as cur:
        for ward, count in [(WARD, expected), ("E05009370", 0), ("x' OR '1'='1", 0)]:
            cur.execute(f"SELECT count(*) FROM {T} WHERE ward_code = $1", (ward,))
            assert cur.fetchall() == [(count,)]
        cur.execute(f"SELECT sum(amount) FROM {T} WHERE amount > $1 AND officer_id >= $2", (decimal.Decimal("0"), 0))
        assert isinstance(cur.fetchone()[0], decimal.Decimal)


def test_get_objects_shows_only_the_principals_catalog(lakegate):
    with lakegate.adbc(token(lakegate, "revenues")) as conn:
        objects = conn.adbc_get_objects(depth="all").read_all().to_pylist()
    [catalog] = objects
    assert catalog["catalog_name"] == "lake"
    tables = {(s["db_schema_name"], t["table_name"]): [c["column_name"] for c in t["table_columns"]]
              for s in catalog["catalog_db_schemas"] for t in s["db_schema_tables"]}
    assert ("revenues_raw_zone", "council_tax_accounts") in tables
    assert not any(schema.startswith(("parking", "housing")) for schema, _ in tables)
    columns = tables[("revenues_raw_zone", "council_tax_accounts")]
    assert "property_uprn" in columns and "balance" not in columns


def test_get_table_schema_carries_descriptions(analyst):
    schema = analyst.adbc_get_table_schema("liberator_pcn_tickets", db_schema_filter="parking_raw_zone")
    assert "vrm" in schema.names
    assert schema.field("vrm").metadata[b"description"] == b"Vehicle registration mark"


def test_pandas_gets_the_persona_rows_only(analyst):
    with analyst.cursor() as cur:
        cur.execute(f"SELECT ward_code, vrm, amount FROM {T}")
        frame = cur.fetch_df()
    assert len(frame) > 0 and set(frame["ward_code"]) == {WARD}
    assert frame["vrm"].str.startswith("XX00 ").all()


def test_polars_reads_through_adbc(analyst):
    frame = pl.read_database(f"SELECT ward_code, count(*) AS n FROM {T} GROUP BY 1", connection=analyst)
    assert frame.columns == ["ward_code", "n"]
    assert frame["ward_code"].to_list() == [WARD] and frame["n"][0] > 0


def test_errors_reach_the_driver_with_their_status(analyst):
    import adbc_driver_manager

    with analyst.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as hidden:
            cur.execute("SELECT * FROM housing_raw_zone.tenancies")
        assert hidden.value.status_code == adbc_driver_manager.AdbcStatusCode.NOT_FOUND
        with pytest.raises(adbc_driver_manager.Error) as denied:
            cur.execute(f"DROP TABLE {T}")
        assert denied.value.status_code == adbc_driver_manager.AdbcStatusCode.UNAUTHORIZED
        cur.execute("SELECT 1 AS still_here")
        assert cur.fetchall() == [(1,)]

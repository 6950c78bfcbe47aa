"""psqlODBC through unixODBC and pyodbc — the path of Qlik, Excel and Tableau's ODBC
connector — once with the driver's defaults and once with Tableau's settings, which make the
driver page through results with `DECLARE … CURSOR` / `FETCH 2048`."""

from pathlib import Path

import pyodbc
import pytest

from personas import token

DRIVER = "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so"
T = "parking_raw_zone.liberator_pcn_tickets"
TABLEAU = "UseDeclareFetch=1;Fetch=2048;"


def connect(lakegate, persona, extra=""):
    assert Path(DRIVER).exists(), "scripts/setup installs odbc-postgresql"
    return pyodbc.connect(
        f"Driver={DRIVER};Server=127.0.0.1;Port={lakegate.port};Database=lake;UID=token;"
        f"PWD={token(lakegate, persona)};SSLmode=require;{extra}", timeout=10)


@pytest.mark.parametrize("extra", ["", TABLEAU], ids=["defaults", "tableau"])
def test_catalog_parameters_and_rows_as_the_analyst(lakegate, extra):
    with connect(lakegate, "analyst", extra) as conn:
        cur = conn.cursor()
        tables = {(r.table_schem, r.table_name) for r in cur.tables().fetchall()}
        assert ("parking_raw_zone", "liberator_pcn_tickets") in tables
        assert not any(s.startswith(("housing", "revenues")) for s, _ in tables)
        columns = {r.column_name: r.type_name for r in cur.columns(table="liberator_pcn_tickets",
                                                                  schema="parking_raw_zone")}
        assert columns["vrm"] == "text" and columns["pcn_issue_date"] == "date"
        cur.execute(f"SELECT count(*) FROM {T} WHERE ward_code = ?", "E05009372")
        count = cur.fetchone()[0]
        assert count > 0
        cur.execute(f"SELECT count(*) FROM {T} WHERE ward_code = ?", "E05009370")
        assert cur.fetchone()[0] == 0
        cur.execute(f"SELECT pcn, vrm, amount FROM {T}")
        rows = cur.fetchall()
        assert len(rows) == count and all(r.vrm.startswith("XX00 ") for r in rows)


def test_tableau_settings_page_through_sql_cursors(lakegate):
    with connect(lakegate, "engineer", TABLEAU) as conn:
        cur = conn.cursor()
        cur.execute(f"SELECT pcn, 'paged by odbc' AS marker FROM {T}")
        total = len(cur.fetchall())
    assert total > 2048
    statements = [a.get("sql", "") for a in lakegate.audit_lines() if a.get("event") == "statement"]
    assert any(s.startswith("DECLARE") and "paged by odbc" in s for s in statements), statements[-5:]
    assert sum(1 for s in statements if s.startswith("FETCH 2048")) >= 2


def test_hidden_tables_are_errors_and_the_connection_survives(lakegate):
    with connect(lakegate, "public") as conn:
        cur = conn.cursor()
        with pytest.raises(pyodbc.Error) as hidden:
            cur.execute(f"SELECT count(*) FROM {T}")
        assert "42P01" in str(hidden.value)
        cur.execute("SELECT count(*) FROM unrestricted_raw_zone.wards")
        assert cur.fetchone()[0] > 0


@pytest.mark.parametrize("extra", ["", TABLEAU], ids=["defaults", "tableau"])
def test_keys_and_statistics_as_qlik_reads_them(lakegate, extra):
    with connect(lakegate, "analyst", extra) as conn:
        cur = conn.cursor()
        [pk] = cur.primaryKeys("wards", schema="unrestricted_raw_zone").fetchall()
        assert (pk.column_name, pk.key_seq, pk.pk_name) == ("ward_code", 1, "wards_pkey")
        [fk] = cur.foreignKeys(foreignTable="liberator_pcn_tickets", foreignSchema="parking_raw_zone").fetchall()
        assert (fk.pktable_schem, fk.pktable_name, fk.pkcolumn_name, fk.fkcolumn_name) == (
            "unrestricted_raw_zone", "wards", "ward_code", "ward_code")
        referencing = {r.fktable_name for r in cur.foreignKeys(table="wards", schema="unrestricted_raw_zone")}
        assert referencing == {"liberator_pcn_tickets", "liberator_pcn_tickets_latest"}
        [index] = [r for r in cur.statistics("wards", schema="unrestricted_raw_zone") if r.index_name]
        assert (index.index_name, index.column_name, index.non_unique) == ("wards_pkey", "ward_code", 0)
        assert {r.type_name for r in cur.getTypeInfo()} >= {"int8", "text", "numeric", "timestamptz"}

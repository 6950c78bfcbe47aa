"""The data dictionary as SQL comments: `_catalog.toml` descriptions in `pg_description`,
`obj_description` and `col_description`, numbered by the columns the persona sees."""

import psycopg
import pytest

from personas import token

COLUMN_COMMENTS = """
    SELECT a.attname, d.description
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.objsubid = a.attnum
    WHERE n.nspname = %s AND c.relname = %s
    ORDER BY a.attnum
"""


@pytest.fixture
def conn(lakegate):
    def connect(persona):
        return psycopg.connect(**lakegate.dsn(token(lakegate, persona)), autocommit=True)
    return connect


def test_table_and_column_comments_follow_the_visible_columns(conn):
    with conn("analyst") as c:
        comments = dict(c.execute(COLUMN_COMMENTS, ("parking_raw_zone", "liberator_pcn_tickets")).fetchall())
        assert comments["vrm"] == "Vehicle registration mark"
        assert comments["ward_code"].startswith("ONS code of the ward")
        table = c.execute(
            "SELECT obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'parking_raw_zone' AND c.relname = 'liberator_pcn_tickets'").fetchone()[0]
        assert table.startswith("Penalty charge notices")
        column = c.execute(
            "SELECT col_description(c.oid, 4) FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'parking_raw_zone' AND c.relname = 'liberator_pcn_tickets'").fetchone()[0]
        assert column == "Vehicle registration mark"


def test_comments_of_hidden_tables_do_not_exist(conn):
    with conn("public") as c:
        found = c.execute("SELECT count(*) FROM pg_catalog.pg_description WHERE description LIKE 'Penalty charge%%'")
        assert found.fetchone() == (0,)
    with conn("analyst") as c:
        found = c.execute("SELECT count(*) FROM pg_catalog.pg_description WHERE description LIKE 'Council tenancies%%'")
        assert found.fetchone() == (0,)

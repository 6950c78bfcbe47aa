"""The same statement through both front ends has the same outcome: the same columns and
rows, or the same error (the SQLSTATE over the Postgres wire, the matching gRPC code over
Flight SQL). Each front end is an adapter over one gateway, and this is what keeps it so.
(Cursors are the Postgres wire's alone: Flight SQL has no session to hold one.)"""

import datetime
import decimal

import psycopg
import pytest

from flightsql import FlightSql, code
from personas import token

T = "parking_raw_zone.liberator_pcn_tickets"

# The gRPC code each SQLSTATE class becomes (gateway/src/error.rs, QueryError::codes).
GRPC = {
    "42601": "INVALID_ARGUMENT", "42P01": "NOT_FOUND", "42703": "NOT_FOUND",
    "42501": "PERMISSION_DENIED", "42704": "INVALID_ARGUMENT", "22023": "INVALID_ARGUMENT",
    "22007": "INVALID_ARGUMENT", "54000": "RESOURCE_EXHAUSTED", "0A000": "UNIMPLEMENTED",
    "42804": "INVALID_ARGUMENT", "22012": "INVALID_ARGUMENT", "22003": "INVALID_ARGUMENT",
}

STATEMENTS = [
    "SELECT 1 AS one",
    f"SELECT count(*) AS n FROM {T}",
    f"SELECT ward_code, count(*) AS n FROM {T} GROUP BY ward_code ORDER BY ward_code",
    "SELECT 0.1 + 0.2 = 0.3 AS exact, 1.5::numeric(4,2) AS amount",
    "SELECT current_setting('server_version') AS v, current_database() AS db",
    "SELECT to_char(date '2024-06-05', 'FMDay DD Month YYYY') AS d",
    "SHOW server_version",
    "SHOW TIME ZONE",
    "SHOW TRANSACTION ISOLATION LEVEL",
    "SHOW standard_conforming_strings",
    "SHOW ALL",
    "SET TIME ZONE 'Europe/London'",
    "SET application_name = 'fronts'",
    "RESET ALL",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "DISCARD ALL",
    "SELECT * FROM nowhere.nothing",
    "SELECT 1 AS one WHERE EXISTS (SELECT 1 FROM nothing)",
    # A name is a relation only where no CTE or table function of that name is in scope.
    "WITH nothing AS (SELECT 1 AS a) SELECT a FROM nothing",
    "SELECT count(*) AS n FROM generate_series(1, 3)",
    f"SELECT no_such_column FROM {T}",
    "SELEC 1",
    "SELECT 1/0",
    "SHOW no_such_setting",
    "DROP TABLE parking_raw_zone.liberator_pcn_tickets",
    f"DELETE FROM {T}",
    "SELECT repeat('x', 2000000000)",
    "SELECT to_date('2024', 'YYYY-Q-Qx')",
]


def plain(value):
    """A value as both drivers can be compared on."""
    if isinstance(value, decimal.Decimal):
        return str(value.normalize())
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def over_pg(lakegate, sql):
    with psycopg.connect(**lakegate.dsn(token(lakegate, "engineer")), autocommit=True) as conn:
        try:
            cursor = conn.execute(sql)
        except psycopg.Error as e:
            return ("error", GRPC.get(e.sqlstate, e.sqlstate))
        names = [d.name for d in cursor.description or []]
        rows = [tuple(plain(v) for v in row) for row in cursor.fetchall()] if names else []
        return (names, rows)


def over_flight(lakegate, sql):
    client = FlightSql(lakegate.flight(), token(lakegate, "engineer"))
    try:
        table = client.query(sql)
    except Exception as e:  # pyarrow raises a class per gRPC code
        return ("error", code(e))
    rows = [tuple(plain(v) for v in row.values()) for row in table.to_pylist()]
    return (table.column_names, rows)


@pytest.mark.parametrize("sql", STATEMENTS)
def test_both_fronts_answer_a_statement_alike(lakegate, sql):
    assert over_flight(lakegate, sql) == over_pg(lakegate, sql)

"""Differential test: the same SQL on lakegate and on PostgreSQL 15, value by value.

The demo's tables are loaded into a throwaway PostgreSQL 15 cluster exactly as lakegate
serves them to the data engineer (through lakegate's own `COPY … TO STDOUT`), then every
statement of `differential.statements()` (the shapes BI tools generate) runs on both under
several session time zones, over the simple protocol in text and the extended protocol in
binary. Column names, type OIDs and every value's bytes on the wire must be equal. Rows are
compared in order where the statement's ORDER BY fixes it (all generated statements order
by a unique key or are compared as multisets).

A difference is a bug, or a documented difference (`DOCUMENTED` below and the README's
"Known differences"), each with its reason. The summary (statements, runs, mismatches by
family, lakegate errors) is printed and written to `differential-report.json` in the test's
temporary folder."""

import json
import re
from collections import Counter

import psycopg
import pytest

from differential import ZONES, statements
from personas import token
from postgres15 import Postgres15

TABLES = ["parking_raw_zone.liberator_pcn_tickets", "unrestricted_raw_zone.wards"]

# (family, SQL pattern, reason): differences documented in the README ("Known differences"),
# each with its reason. None is a different number: they are display scales, type widths,
# and PostgreSQL's plan-time reading of a literal in a prepared statement.
NUMERIC_SCALE = ("PostgreSQL's numeric carries a display scale per value (a quotient's "
                 "decimals follow its magnitude; a CASE, COALESCE, greatest or ARRAY of "
                 "numerics keeps each value's own); an Arrow decimal column has one scale, so "
                 "lakegate shows the same value with the column's decimals")
DOCUMENTED = [
    ("numeric_literal", r"1\.0/3", NUMERIC_SCALE),
    ("numeric_cast", r"^SELECT (greatest|least)\(amount, 130\)", NUMERIC_SCALE),
    ("case", r"THEN amount ELSE 0|ELSE amount END, -1", NUMERIC_SCALE),
    ("array", r"ARRAY\[1\.5, 2\.25\]", NUMERIC_SCALE),
    ("window", r"ntile\(", "ntile() is bigint in lakegate, integer in PostgreSQL"),
    ("array", r"array_length|cardinality", "array_length() and cardinality() are bigint in lakegate, integer "
                                           "in PostgreSQL"),
    ("date_arith", r"AS varchar", "a cast to varchar is text in lakegate (same value)"),
    ("misc", r"upper\('straße'\)", "upper() maps ß to SS (Unicode's full case mapping); PostgreSQL's "
                                    "C.UTF-8 maps character by character"),
    ("cast_tz", r"^SELECT '2024-", "psycopg prepares a statement on the server from its fifth run on; "
                                   "PostgreSQL then keeps the timestamptz literal as read in the zone of the "
                                   "prepare (here New York), while lakegate reads it in the zone of each run"),
]


def column_type(row):
    name, data_type, precision, scale = row
    if data_type == "numeric" and precision is not None:
        return f"numeric({precision},{scale})"
    return data_type


# Runs where lakegate errors and PostgreSQL answers, at the last count.
ERRORS_CEILING = 176

@pytest.fixture(scope="module")
def postgres(lakegate):
    pg = Postgres15()
    engineer = token(lakegate, "engineer")
    with psycopg.connect(**lakegate.dsn(engineer), autocommit=True) as lg, \
            psycopg.connect(**pg.dsn(), autocommit=True) as target:
        for table in TABLES:
            schema, name = table.split(".")
            columns = lg.execute(
                "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position", (schema, name)).fetchall()
            assert columns, table
            target.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            spec = ", ".join(f'"{c[0]}" {column_type(c)}' for c in columns)
            target.execute(f"CREATE TABLE {table} ({spec})")
            with lg.cursor().copy(f"COPY {table} TO STDOUT") as source, \
                    target.cursor().copy(f"COPY {table} FROM STDIN") as sink:
                for data in source:
                    sink.write(data)
            target.execute(f"ANALYZE {table}")
            counts = [c.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for c in (lg, target)]
            assert counts[0] == counts[1] > 0, (table, counts)
    yield pg
    pg.stop()


def run(conn, sql, zone, binary):
    """(names, type OIDs, rows of raw values) or ("error", sqlstate, message)."""
    conn.execute(f"SET TIME ZONE '{zone}'")
    cursor = conn.cursor(binary=True) if binary else psycopg.ClientCursor(conn)
    try:
        cursor.execute(sql)
    except psycopg.Error as e:
        return ("error", e.sqlstate, str(e).strip().splitlines()[0] if str(e).strip() else "")
    result = cursor.pgresult
    names = [result.fname(i).decode() for i in range(result.nfields)]
    types = [result.ftype(i) for i in range(result.nfields)]
    rows = [tuple(result.get_value(r, c) for c in range(result.nfields)) for r in range(result.ntuples)]
    return (names, types, rows)


def documented(family, sql):
    return next((reason for f, pattern, reason in DOCUMENTED if f == family and re.search(pattern, sql)), None)


def describe(answer):
    if answer[0] == "error":
        return f"ERROR {answer[1]}: {answer[2]}"
    names, types, rows = answer
    shown = [tuple(v.decode(errors="replace") if isinstance(v, bytes) else v for v in row) for row in rows[:3]]
    return f"{names} {types} {len(rows)} rows {shown}"


def same(expected, got, sql):
    if expected[0] == "error" or got[0] == "error":
        return False
    if expected[0] != got[0] or expected[1] != got[1]:
        return False
    if expected[2] == got[2]:
        return True
    # Without a LIMIT the rows are a multiset; ties under ORDER BY may come in any order.
    return not re.search(r"\bLIMIT\b|\bFETCH\b|\bOFFSET\b", sql) and sorted(expected[2], key=repr) == sorted(got[2], key=repr)


def test_bi_shaped_sql_returns_postgresql_values(lakegate, postgres, tmp_path):
    engineer = token(lakegate, "engineer")
    cases = statements()
    report = {"statements": len(cases), "runs": 0, "mismatches": [], "lakegate_errors": [], "invalid": [],
              "documented": []}
    report["lost"] = []
    lg = psycopg.connect(**lakegate.dsn(engineer), autocommit=True)
    with psycopg.connect(**postgres.dsn(), autocommit=True) as pg:
        for family, sql, zones in cases:
            for zone in zones:
                for binary in (False, True):
                    report["runs"] += 1
                    expected = run(pg, sql, zone, binary)
                    try:
                        got = run(lg, sql, zone, binary)
                    except psycopg.OperationalError as e:
                        # A statement must never cost the client its connection.
                        report["lost"].append({"sql": sql, "zone": zone, "binary": binary, "error": str(e),
                                               "server_alive": lakegate.proc.poll() is None})
                        lg = psycopg.connect(**lakegate.dsn(engineer), autocommit=True)
                        continue
                    entry = {"family": family, "sql": sql, "zone": zone, "binary": binary,
                             "postgresql": describe(expected), "lakegate": describe(got)}
                    if expected[0] == "error":
                        report["invalid"].append(entry)
                    elif same(expected, got, sql):
                        continue
                    elif (reason := documented(family, sql)) is not None:
                        report["documented"].append({**entry, "reason": reason})
                    elif got[0] == "error":
                        report["lakegate_errors"].append(entry)
                    else:
                        report["mismatches"].append(entry)
    lg.close()
    path = tmp_path / "differential-report.json"
    path.write_text(json.dumps(report, indent=1))
    by_family = Counter(e["family"] for e in report["mismatches"])
    errors = Counter(e["family"] for e in report["lakegate_errors"])
    print(f"\ndifferential: {report['statements']} statements, {report['runs']} runs, "
          f"{len(report['mismatches'])} mismatches {dict(by_family)}, {len(report['lakegate_errors'])} lakegate "
          f"errors {dict(errors)}, {len(report['documented'])} documented differences, "
          f"{len(report['invalid'])} statements PostgreSQL refused, {len(report['lost'])} connections lost; report: {path}")
    assert report["statements"] >= 2000
    assert not report["lost"], report["lost"][:5]
    assert not report["invalid"], report["invalid"][:5]
    assert not report["mismatches"], json.dumps(report["mismatches"][:20], indent=1)
    # Where lakegate refuses what PostgreSQL answers (never a wrong value, but a statement a
    # dashboard cannot run), the count may only fall: a change that makes statements fail
    # that ran before (as a prepared statement refused with 0A000 after `SET TIME ZONE`
    # once did) fails here. Lower the ceiling when a fix lowers the count.
    assert len(report["lakegate_errors"]) <= ERRORS_CEILING, json.dumps(report["lakegate_errors"][:20], indent=1)

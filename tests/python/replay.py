"""Replays driver SQL captured from PostgreSQL 15 (`tests/captures/*.json`, recorded by
`scripts/capture`) against lakegate as the persona it was captured for, session by session,
and checks each statement answers as PostgreSQL did: as many results, each with the same
column names and types of the same kind, or an error with the same SQLSTATE."""

import json
from pathlib import Path

import psycopg

from personas import token

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
PERSONA = "analyst"

# Type OIDs by kind. lakegate has no `name`, `char` or `oid` of its own: they are text and
# integers, which a client decodes by the type each column is described with.
KINDS = {
    "integer": {20, 21, 23, 26, 28, 29},
    # A `reg…` column is an OID sent as a name; lakegate sends the OID.
    "reg": {24, 2202, 2203, 2205, 2206, 4089, 4096},
    "text": {18, 19, 25, 1042, 1043, 705},
    "number": {700, 701, 1700},
    "boolean": {16},
    "date": {1082},
    "time": {1083, 1266},
    "timestamp": {1114, 1184},
    "interval": {1186},
    "json": {114, 3802},
    "bytea": {17},
    "array": {22, 30, 1000, 1002, 1003, 1005, 1007, 1009, 1015, 1016, 1021, 1022, 1028, 1034, 1231},
}


def kind(oid):
    return next((k for k, oids in KINDS.items() if oid in oids), str(oid))


def alike(got, want):
    return got == want or (want == "reg" and got in ("integer", "text"))


def null_json(got, want, rows, column):
    """JSON sent as text where every value is NULL, as SQLAlchemy's identity and collation
    columns always are here: the engine has no JSON type to carry through its subqueries,
    and a client decodes no value by it."""
    return (got, want) == ("text", "json") and bool(rows) and all(r[column] is None for r in rows)


def capture(client):
    return json.loads((CAPTURES / f"{client}.json").read_text())


def replay(lakegate, client):
    """Every statement of the capture, run in its session; the differences, one per line."""
    recorded = capture(client)
    sessions = recorded["sessions"]
    assert sum(len(s) for s in sessions) > 0, f"{client}: empty capture"
    problems = []
    secret = token(lakegate, PERSONA)
    for statements in sessions:
        with psycopg.connect(**lakegate.dsn(secret), autocommit=True) as conn:
            cur = conn.cursor()
            for expected in statements:
                problem = check(cur, expected)
                if problem:
                    problems.append(f"{problem}\n    {' '.join(expected['sql'].split())[:400]}")
    return problems


def check(cur, expected):
    sql = expected["sql"]
    try:
        if expected.get("copy"):
            with cur.copy(sql) as copy:
                for _ in copy:
                    pass
            return None
        cur.execute(sql, prepare=False)
        results = []
        while True:
            if cur.description is not None:
                results.append(([[c.name, c.type_code] for c in cur.description], cur.fetchall()))
            if not cur.nextset():
                break
    except psycopg.Error as e:
        if expected.get("error") == e.sqlstate:
            return None
        return f"failed {e.sqlstate}: {str(e).splitlines()[0][:300]}"
    if "error" in expected:
        return f"succeeded where PostgreSQL failed with {expected['error']}"
    want = expected.get("results", [])
    if len(results) != len(want):
        return f"{len(results)} results where PostgreSQL has {len(want)}"
    for (columns, rows), wanted in zip(results, want):
        problem = compare(columns, rows, wanted)
        if problem:
            return problem
    return None


def compare(columns, rows, want):
    got_names = [n for n, _ in columns]
    want_names = [n for n, _ in want]
    if got_names != want_names:
        return f"columns {got_names} where PostgreSQL has {want_names}"
    kinds = [(n, kind(g), kind(w)) for i, ((n, g), (_, w)) in enumerate(zip(columns, want))
             if not alike(kind(g), kind(w)) and not null_json(kind(g), kind(w), rows, i)]
    if kinds:
        return "types differ: " + ", ".join(f"{n} {g} (PostgreSQL {w})" for n, g, w in kinds)
    return None

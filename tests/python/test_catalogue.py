"""The catalogue as PostgreSQL 15 has it (issue 15 §7): for every relation lakegate serves
in `pg_catalog` and `information_schema`, its column names, their order and their types
(the type OIDs a driver sees) against a PostgreSQL 15 started by the test. What still
differs is listed below with the reason; anything else fails."""

import psycopg
import pytest

from personas import token
from postgres15 import Postgres15

# Relations whose differences are known, with what differs and why (kept short: each entry
# is a debt, not a feature).
KNOWN = {
    # DataFusion's own tables, not PostgreSQL's.
    "information_schema.df_settings": "DataFusion's settings table (lakegate-only)",
}

# Columns whose type is known to differ, and why.
KNOWN_COLUMNS = {
    ("pg_catalog.pg_subscription", "substream"): "text in datafusion-pg-catalog (PostgreSQL 16's "
                                                 "char); the table is always empty here",
}

# Types lakegate describes otherwise, each a known difference, by (lakegate, PG15) type OID.
EQUIVALENT = {
    # `regproc` columns hold the function's OID; PostgreSQL writes its name (a client
    # comparing with `::oid` or joining `pg_proc.oid` works on both).
    (26, 24),
    # The same numbers in another integer width.
    (20, 23), (21, 23),
    # Arrays and special types (`aclitem[]`, `oid[]`, `int2vector`, `oidvector`, `anyarray`,
    # `pg_lsn`, `inet`, extended statistics): NULL or text in lakegate, which has no ACLs,
    # statistics or replication; PostgreSQL's text output is what text carries.
    (25, 1009), (25, 1034), (25, 1028), (25, 1021), (25, 1002), (25, 2277), (25, 22),
    (25, 30), (22, 30), (25, 3220), (25, 1000), (25, 1005), (25, 1007), (1009, 1034),
    (1007, 1034), (25, 869), (25, 3361), (25, 3402), (25, 5017), (25, 10028),
}


def columns(conn, relation):
    schema, name = relation.split(".")
    try:
        cur = conn.execute(f'SELECT * FROM {schema}."{name}" LIMIT 0')
    except psycopg.Error as e:
        return f"error {e.sqlstate}"
    return [(d.name, d.type_code) for d in cur.description]


@pytest.fixture(scope="module")
def both(lakegate):
    pg = Postgres15()
    try:
        with psycopg.connect(**lakegate.dsn(token(lakegate, "engineer")), autocommit=True) as lg, \
                psycopg.connect(**pg.dsn(), autocommit=True) as target:
            yield lg, target
    finally:
        pg.stop()


def differences(lg, target):
    relations = [f"{s}.{n}" for s, n in lg.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('pg_catalog', 'information_schema') ORDER BY 1, 2").fetchall()]
    found = {}
    for relation in relations:
        if relation in KNOWN:
            continue
        ours, theirs = columns(lg, relation), columns(target, relation)
        if ours == theirs:
            continue
        if isinstance(ours, str) or isinstance(theirs, str):
            found[relation] = (ours, theirs)
            continue
        names, types = [n for n, _ in ours], dict(theirs)
        if names != [n for n, _ in theirs]:
            found[relation] = ("columns", names, [n for n, _ in theirs])
            continue
        wrong = [(n, t, types[n]) for n, t in ours if t != types[n] and (t, types[n]) not in EQUIVALENT
                 and (relation, n) not in KNOWN_COLUMNS]
        if wrong:
            found[relation] = ("types", wrong)
    return relations, found


def test_every_catalogue_relation_has_postgresqls_columns_and_types(both):
    lg, target = both
    relations, found = differences(lg, target)
    assert len(relations) > 70
    assert not found, "\n".join(f"{r}: {d}" for r, d in sorted(found.items()))


# What clients and analysts call that lakegate lacked (issue 15 §7), compared value by
# value with PostgreSQL 15.
CALLS = [
    "SHOW ROLE",
    "SELECT format('%s-%I-%L-%%', 'a', 'B c', 'x''y'), format('%2$s %1$s', 'a', 'b')",
    "SELECT format('%s|%L|%5s|%-3s|', NULL, NULL, 'ab', 1), format('%s %s', true, DATE '2024-06-05')",
    "SELECT pg_get_viewdef(0::oid), pg_my_temp_schema(), pg_is_other_temp_schema(0::oid)",
    "SELECT pg_advisory_unlock_all()",
    "SELECT pg_sleep(0.05)",
    "SELECT LOCALTIMESTAMP <= now()::timestamp, LOCALTIME IS NOT NULL",
    "SELECT 3::information_schema.cardinal_number, 'a'::information_schema.sql_identifier, "
    "'b'::information_schema.character_data, 'YES'::information_schema.yes_or_no",
    "SELECT TIMESTAMP '2024-06-05 10:11', DATE '2024-06-05'",
    "SELECT 1 AS a, 1 AS a",
    "SELECT x, x, x AS y FROM (SELECT 1 AS x) t",
    "SELECT g FROM generate_series(1, 5) g",
    "SELECT g.i FROM generate_series(1, 3) AS g(i)",
    "SELECT * FROM generate_series(1, 3)",
    "SELECT * FROM unnest(ARRAY[1, 2, 3]) u",
    "SELECT u FROM unnest(ARRAY['a', 'b']) u",
    "SELECT * FROM unnest(string_to_array('a,b,c', ','))",
    "SELECT * FROM regexp_split_to_table('a b  c', '\\s+')",
    "SELECT part FROM regexp_split_to_table('x,y', ',') AS part",
    "SELECT regexp_split_to_table('a,b', ',')",
    "SELECT regexp_split_to_array('a1b22c', '[0-9]+')",
    "SELECT 2 * interval '1 day', interval '1 day' * 2, NULL * interval '1 day', 1.5 * interval '1 hour'",
    "SELECT interval '1 month' * 1.5, interval '1 day' * 0.5, 3 * interval '1 year 2 months 3 days'",
    "SELECT ticket_day, 2 * interval '1 day' + ticket_day AS later FROM "
    "(SELECT DATE '2024-06-05' AS ticket_day) t",
]


@pytest.mark.parametrize("sql", CALLS)
def test_what_clients_call_answers_as_postgresql_does(both, sql):
    lg, target = both
    answers = []
    for conn in (lg, target):
        cur = conn.execute(sql)
        answers.append(([d.name for d in cur.description], cur.fetchall()))
    assert answers[0] == answers[1]


def test_numeric_columns_carry_their_precision_and_scale(lakegate):
    """`numeric(8,2)` in RowDescription's type modifier (psycopg reads precision and scale
    from it), in `pg_attribute.atttypmod` (psql's `\\d` formats it) and in
    `information_schema.columns`; an expression's numeric is unconstrained, as in PostgreSQL."""
    with psycopg.connect(**lakegate.dsn(token(lakegate, "engineer")), autocommit=True) as conn:
        cur = conn.execute("SELECT amount, amount * 2 AS doubled FROM parking_raw_zone.liberator_pcn_tickets LIMIT 1")
        amount, doubled = cur.description
        assert (amount.type_code, amount.precision, amount.scale) == (1700, 8, 2)
        assert (doubled.precision, doubled.scale) == (None, None)
        assert conn.execute(
            "SELECT format_type(a.atttypid, a.atttypmod), a.atttypmod FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = 'liberator_pcn_tickets' "
            "AND a.attname = 'amount'").fetchall()[0] == ("numeric(8,2)", (8 << 16 | 2) + 4)
        assert conn.execute(
            "SELECT data_type, numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_name = 'liberator_pcn_tickets' AND column_name = 'amount' LIMIT 1"
        ).fetchone() == ("numeric", 8, 2)


def test_a_catalogue_column_cast_is_described_as_what_it_became(lakegate):
    """`oid` describes pg_class.oid, but `oid::int8` is a bigint (binary: eight bytes) and
    `oid::text` text: the catalogue's type does not follow a cast that changes the values.
    (`relname::text` stays `name`: the engine drops a cast that changes nothing, and the
    bytes are the same.)"""
    with psycopg.connect(**lakegate.dsn(token(lakegate, "engineer")), autocommit=True) as conn:
        cur = conn.cursor(binary=True)
        cur.execute("SELECT oid, oid::int8 AS wide, oid::text AS shown, relname, relname::text AS t "
                    "FROM pg_catalog.pg_class ORDER BY oid LIMIT 1")
        assert [d.type_code for d in cur.description] == [26, 20, 25, 19, 19]
        oid, wide, shown, name, text = cur.fetchone()
        assert oid == wide == int(shown) and name == text


def test_format_results_are_bounded(lakegate):
    with psycopg.connect(**lakegate.dsn(token(lakegate, "engineer")), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded):
            conn.execute("SELECT format(repeat('%1$1048576s', 300), 'x')")
        assert conn.execute("SELECT format('%s', 1)").fetchone() == ("1",)


def test_pg_settings_has_boot_values(lakegate):
    with psycopg.connect(**lakegate.dsn(token(lakegate, "engineer")), autocommit=True) as conn:
        rows = conn.execute("SELECT name, boot_val, reset_val FROM pg_settings "
                            "WHERE name IN ('TimeZone', 'DateStyle') ORDER BY 1").fetchall()
        assert len(rows) == 2 and all(boot is not None and boot == reset for _, boot, reset in rows)

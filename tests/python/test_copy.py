"""`COPY (query) TO STDOUT` with psycopg in text, CSV and binary, under the policy."""

import decimal

import psycopg
import pytest
from psycopg import errors

from personas import token

T = "parking_raw_zone.liberator_pcn_tickets"
QUERY = f"SELECT pcn, vrm, amount, is_paid, pcn_issue_date FROM {T} ORDER BY pcn LIMIT 50"


@pytest.fixture(scope="module")
def analyst(lakegate):
    with psycopg.connect(**lakegate.dsn(token(lakegate, "analyst")), autocommit=True) as conn:
        yield conn


def copied(conn, sql):
    with conn.cursor().copy(sql) as copy:
        return b"".join(bytes(block) for block in copy)


def test_text_copy_matches_the_query(analyst):
    rows = analyst.execute(QUERY).fetchall()
    text = copied(analyst, f"COPY ({QUERY}) TO STDOUT").decode()
    lines = text.splitlines()
    assert len(lines) == len(rows) == 50
    first = lines[0].split("\t")
    assert first[0] == rows[0][0] and first[1] == rows[0][1] and decimal.Decimal(first[2]) == rows[0][2]
    assert first[3] in ("t", "f") and first[4] == rows[0][4].isoformat()
    assert all(line.split("\t")[1].startswith("XX00 ") for line in lines)


def test_csv_copy_with_header_and_options(analyst):
    text = copied(analyst, f"COPY ({QUERY}) TO STDOUT WITH (FORMAT csv, HEADER true, DELIMITER ';')").decode()
    lines = text.splitlines()
    assert lines[0] == "pcn;vrm;amount;is_paid;pcn_issue_date"
    assert len(lines) == 51
    legacy = copied(analyst, f"COPY ({QUERY}) TO STDOUT WITH CSV HEADER").decode().splitlines()
    assert legacy[0] == "pcn,vrm,amount,is_paid,pcn_issue_date" and len(legacy) == 51


def test_binary_copy_reads_back_typed_rows(analyst):
    rows = analyst.execute(QUERY).fetchall()
    with analyst.cursor().copy(f"COPY ({QUERY}) TO STDOUT (FORMAT binary)") as copy:
        copy.set_types(["text", "text", "numeric", "bool", "date"])
        got = list(copy.rows())
    assert got == rows


def test_copy_of_a_table_and_of_an_empty_result(analyst):
    text = copied(analyst, f"COPY {T} (pcn, ward_code) TO STDOUT").decode()
    assert text and {line.split("\t")[1] for line in text.splitlines()} == {"E05009372"}
    assert copied(analyst, f"COPY ({QUERY} OFFSET 1000000) TO STDOUT") == b""
    with analyst.cursor().copy(f"COPY ({QUERY} OFFSET 1000000) TO STDOUT (FORMAT binary)") as copy:
        copy.set_types(["text", "text", "numeric", "bool", "date"])
        assert list(copy.rows()) == []


def test_copy_is_held_to_the_policy_and_the_guard(lakegate):
    with psycopg.connect(**lakegate.dsn(token(lakegate, "public")), autocommit=True) as conn:
        with pytest.raises(errors.UndefinedTable):
            copied(conn, f"COPY ({QUERY}) TO STDOUT")
        with pytest.raises(errors.InsufficientPrivilege):
            copied(conn, "COPY (SELECT * FROM '/etc/passwd') TO STDOUT")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(f"COPY {T} TO '/tmp/out.csv'")
        assert conn.execute("SELECT 1").fetchone() == (1,)

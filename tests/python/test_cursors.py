"""SQL cursors as psql's FETCH_COUNT and ODBC's declare/fetch use them: DECLARE, FETCH n,
CLOSE, streaming from the scan under the policy."""

import psycopg
import pytest
from psycopg import errors

from personas import token

T = "parking_raw_zone.liberator_pcn_tickets"


@pytest.fixture
def analyst(lakegate):
    with psycopg.connect(**lakegate.dsn(token(lakegate, "analyst")), autocommit=True) as conn:
        yield conn


def test_fetch_pages_through_the_whole_result(analyst):
    expected = analyst.execute(f"SELECT pcn, vrm FROM {T} ORDER BY pcn").fetchall()
    analyst.execute("BEGIN")
    analyst.execute(f"DECLARE c NO SCROLL CURSOR WITH HOLD FOR SELECT pcn, vrm FROM {T} ORDER BY pcn")
    pages = []
    while True:
        page = analyst.execute("FETCH FORWARD 100 FROM c").fetchall()
        if not page:
            break
        assert len(page) <= 100
        pages.extend(page)
    analyst.execute("CLOSE c")
    analyst.execute("COMMIT")
    assert pages == expected and len(pages) > 100
    assert all(vrm.startswith("XX00 ") for _, vrm in pages)


def test_fetch_next_all_and_close_all(analyst):
    analyst.execute(f"DECLARE a CURSOR FOR SELECT pcn FROM {T} ORDER BY pcn")
    first = analyst.execute("FETCH NEXT FROM a").fetchall()
    rest = analyst.execute("FETCH ALL FROM a").fetchall()
    total = analyst.execute(f"SELECT count(*) FROM {T}").fetchone()[0]
    assert len(first) == 1 and len(first) + len(rest) == total
    assert analyst.execute("FETCH 5 FROM a").fetchall() == []
    analyst.execute("CLOSE ALL")
    with pytest.raises(errors.InvalidCursorName):
        analyst.execute("FETCH 1 FROM a")


def test_cursor_errors_and_guard(analyst, lakegate):
    analyst.execute("DECLARE d CURSOR FOR SELECT 1")
    with pytest.raises(errors.DuplicateCursor):
        analyst.execute("DECLARE d CURSOR FOR SELECT 2")
    with pytest.raises(errors.InvalidCursorName):
        analyst.execute("CLOSE nope")
    with pytest.raises(errors.UndefinedTable):
        analyst.execute("DECLARE h CURSOR FOR SELECT * FROM housing_raw_zone.tenancies")
    with pytest.raises(errors.InsufficientPrivilege):
        analyst.execute("DECLARE u CURSOR FOR SELECT * FROM '/etc/passwd'")
    with pytest.raises(errors.InsufficientPrivilege):
        analyst.execute("FETCH BACKWARD 1 FROM d")
    assert analyst.execute("FETCH 1 FROM d").fetchall() == [(1,)]


def test_move_skips_rows(analyst):
    rows = analyst.execute(f"SELECT pcn FROM {T} ORDER BY pcn").fetchall()
    analyst.execute(f"DECLARE m CURSOR FOR SELECT pcn FROM {T} ORDER BY pcn")
    assert analyst.execute("MOVE 3 IN m").statusmessage == "MOVE 3"
    assert analyst.execute("FETCH 1 FROM m").fetchall() == rows[3:4]
    assert analyst.execute("MOVE ALL FROM m;").statusmessage == f"MOVE {len(rows) - 4}"
    assert analyst.execute("FETCH 1 FROM m").fetchall() == []
    with pytest.raises(errors.InvalidCursorName):
        analyst.execute("MOVE 1 IN nope")


def test_psycopg3_server_side_cursors_sqlalchemy_stream_results_and_pandas_chunks(lakegate):
    """psycopg 3's named cursors bind parameters to `DECLARE` and describe the cursor as a
    portal by name; SQLAlchemy 2's `stream_results` and pandas' `read_sql(chunksize=…)`
    over psycopg 3 are built on them."""
    import pandas as pd
    import sqlalchemy as sa

    sql = f"SELECT pcn, amount FROM {T} WHERE amount > %s ORDER BY pcn"
    with psycopg.connect(**lakegate.dsn(token(lakegate, "analyst"))) as conn:
        expected = conn.execute(sql, (20,)).fetchall()
        with conn.cursor(name="pages") as cur:
            cur.itersize = 100
            cur.execute(sql, (20,))
            assert [d.name for d in cur.description] == ["pcn", "amount"]
            assert cur.description[1].type_code == 1700
            first = cur.fetchmany(7)
            assert first == expected[:7]
            assert first + list(cur) == expected and len(expected) > 100
        with conn.cursor(name="hidden") as cur, pytest.raises(errors.UndefinedTable):
            cur.execute("SELECT * FROM housing_raw_zone.tenancies")
    dsn = lakegate.dsn(token(lakegate, "analyst"))
    engine = sa.create_engine(f"postgresql+psycopg://token:{dsn['password']}@127.0.0.1:{dsn['port']}/lake?sslmode=require")
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=50).execute(
                sa.text(f"SELECT pcn, amount FROM {T} WHERE amount > :a ORDER BY pcn"), {"a": 20})
            assert [tuple(r) for r in result] == expected
            chunks = list(pd.read_sql(sa.text(f"SELECT pcn FROM {T} ORDER BY pcn"), conn, chunksize=500))
            assert len(chunks) > 1 and sum(len(c) for c in chunks) == conn.execute(
                sa.text(f"SELECT count(*) FROM {T}")).scalar()
    finally:
        engine.dispose()


def test_pg_cursors_lists_open_cursors(analyst):
    columns = [d.name for d in analyst.execute("SELECT * FROM pg_cursors").description]
    assert columns == ["name", "statement", "is_holdable", "is_binary", "is_scrollable", "creation_time"]
    analyst.execute(f"DECLARE listed CURSOR WITH HOLD FOR SELECT pcn FROM {T}")
    rows = analyst.execute("SELECT name, statement, is_holdable, is_binary, is_scrollable, "
                           "creation_time <= now() FROM pg_catalog.pg_cursors").fetchall()
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in rows] == [("listed", True, False, False, True)]
    assert rows[0][1].startswith("DECLARE listed")
    analyst.execute("CLOSE listed")
    assert analyst.execute("SELECT count(*) FROM pg_cursors").fetchone() == (0,)


def test_a_connection_holds_a_bounded_number_of_cursors(analyst):
    for i in range(64):
        analyst.execute(f"DECLARE c{i} CURSOR FOR SELECT pcn FROM {T}")
    with pytest.raises(errors.ProgramLimitExceeded):
        analyst.execute(f"DECLARE one_more CURSOR FOR SELECT pcn FROM {T}")
    analyst.execute("CLOSE ALL")
    analyst.execute(f"DECLARE again CURSOR FOR SELECT pcn FROM {T}")
    assert len(analyst.execute("FETCH 2 FROM again").fetchall()) == 2

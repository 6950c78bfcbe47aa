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

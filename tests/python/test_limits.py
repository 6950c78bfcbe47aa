"""Resource limits and load shedding, each through a real client against a server with small
limits: the limit's error reaches the client that hit it, and the server keeps serving."""

import time

import psycopg
import pyarrow as pa
import pyarrow.flight as flight
import pytest
from psycopg import errors

import rawpg
from conftest import Lakegate
from flightsql import FlightSql, command, field

LIMITS = """
[limits]
query_timeout_secs = 3
max_pg_connections = 6
max_flight_streams = 2
max_per_principal = 3

[engine]
memory_limit_mb = 24
"""

ENDLESS = "SELECT count(*) FROM generate_series(1, 100000000000)"


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    server = Lakegate(tmp_path_factory.mktemp("limited"), edit=lambda text: text + LIMITS)
    yield server
    server.stop()


def connect(server, token, **kw):
    return psycopg.connect(**server.dsn(token), autocommit=True, **kw)


def still_serving(server):
    with connect(server, server.parking()) as conn:
        return conn.execute("SELECT count(*) FROM unrestricted_raw_zone.wards").fetchone()[0] > 0


def test_statement_timeout_is_57014_and_the_connection_goes_on(limited):
    with connect(limited, limited.token("tim.timeout", ["parking"], ["analyst"])) as conn:
        with pytest.raises(errors.QueryCanceled) as raised:
            conn.execute(ENDLESS)
        assert raised.value.sqlstate == "57014"
        assert "statement timeout" in str(raised.value)
        assert conn.execute("SELECT 1").fetchone() == (1,)
    samples = limited.metrics()
    assert samples['lakegate_statements_total{protocol="pg",outcome="timeout"}'] >= 1


def test_flight_timeout_is_deadline_exceeded(limited):
    token = limited.token("tim.flight", ["parking"], ["analyst"])
    with limited.adbc(token) as conn, conn.cursor() as cur:
        with pytest.raises(Exception) as raised:
            cur.execute(ENDLESS)
            cur.fetchall()
        assert "DEADLINE_EXCEEDED" in str(raised.value) or "statement timeout" in str(raised.value)
        cur.execute("SELECT 1 AS one")
        assert cur.fetchall() == [(1,)]


def test_connections_past_the_principal_limit_are_refused_with_53300(limited):
    token = limited.token("cole.connections", ["parking"], ["analyst"])
    held = [connect(limited, token) for _ in range(3)]
    try:
        status, fields = rawpg.login("127.0.0.1", limited.port, "token", token)
        assert (status, fields.get("C")) == ("error", "53300"), fields
        assert "too many connections" in fields["M"]
        # Another principal is not affected.
        assert still_serving(limited)
        held.pop().close()
        with connect(limited, token) as again:
            assert again.execute("SELECT 1").fetchone() == (1,)
    finally:
        for conn in held:
            conn.close()
    samples = limited.metrics()
    assert samples['lakegate_refused_total{protocol="pg",limit="principal"}'] >= 1


def test_connections_past_the_server_limit_are_refused_for_everyone(limited):
    tokens = [limited.token(f"many.{i}", ["parking"], ["analyst"]) for i in range(3)]
    held = []
    try:
        for token in tokens:
            held += [connect(limited, token) for _ in range(2)]
        status, fields = rawpg.login("127.0.0.1", limited.port, "token", limited.public())
        assert (status, fields.get("C")) == ("error", "53300"), fields
    finally:
        for conn in held:
            conn.close()
    assert still_serving(limited)


def test_flight_streams_past_the_limit_are_resource_exhausted(limited):
    sql = FlightSql(limited.flight(), limited.token("fay.streams", ["parking"], ["analyst"]))
    big = command("CommandStatementQuery", field(1, "SELECT repeat('x', 1000) AS pad "
                                                   "FROM generate_series(1, 200000)"))

    def open_stream():
        reader = sql.client.do_get(sql.info(big).endpoints[0].ticket, sql.options)
        reader.read_chunk()  # the stream is open, and held while unread
        return reader

    readers = [open_stream() for _ in range(2)]
    # pyarrow reports RESOURCE_EXHAUSTED as ArrowInvalid, carrying the gRPC code.
    with pytest.raises((flight.FlightError, pa.ArrowException)) as raised:
        open_stream()
    assert "RESOURCE_EXHAUSTED" in str(raised.value) and "too many connections" in str(raised.value)
    for reader in readers:
        reader.cancel()
    readers.clear()
    # Once the held streams are gone, streams are admitted again.
    deadline = time.monotonic() + 10
    while True:
        try:
            assert sql.query("SELECT 1 AS one").num_rows == 1
            break
        except (flight.FlightError, pa.ArrowException):
            assert time.monotonic() < deadline, "streams were not released"
            time.sleep(0.2)


def test_memory_limit_spills_a_large_sort_and_refuses_an_unspillable_join_with_53200(limited):
    with connect(limited, limited.engineer()) as conn:
        # Sorting 3 million rows needs more than the 24 MiB pool: it spills, and finishes.
        row = conn.execute("SELECT x FROM generate_series(1, 3000000) t(x) "
                           "ORDER BY x DESC OFFSET 2999999").fetchone()
        assert row == (1,)
        with pytest.raises(errors.OutOfMemory) as raised:
            conn.execute("SELECT count(*) FROM generate_series(1, 5000000) a(x) "
                         "JOIN generate_series(1, 5000000) b(y) ON x = y")
        assert raised.value.sqlstate == "53200"
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert still_serving(limited)


def test_a_client_that_goes_away_mid_result_releases_its_query(limited):
    token = limited.token("gus.gone", ["parking"], ["analyst"])
    before = limited.metrics().get('lakegate_statements_total{protocol="pg",outcome="cancelled"}', 0)
    reader = connect(limited, token, application_name="leaving")
    rows = reader.cursor().stream("SELECT repeat('x', 1000) FROM generate_series(1, 1000000)")
    next(rows)
    reader.pgconn.finish()  # the socket closes; nothing more is read
    deadline = time.monotonic() + 10
    while True:
        samples = limited.metrics()
        cancelled = samples.get('lakegate_statements_total{protocol="pg",outcome="cancelled"}', 0)
        if cancelled > before:
            break
        assert time.monotonic() < deadline, "the query was not released"
        time.sleep(0.2)
    with connect(limited, token) as conn:
        left = conn.execute("SELECT count(*) FROM pg_stat_activity "
                            "WHERE application_name = 'leaving'").fetchone()
        assert left == (0,)


def test_a_slow_client_does_not_make_the_server_buffer_its_result(limited):
    """A reader that stops reading holds its query on the socket: the server's resident
    memory stays far below the result's size while other clients are served."""
    token = limited.token("sid.slow", ["parking"], ["analyst"])
    pid = limited.proc.pid

    def resident_mib():
        with open(f"/proc/{pid}/status") as f:
            line = next(x for x in f if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    before = resident_mib()
    reader = connect(limited, token)
    try:
        # About 4 GB of result if it were all produced.
        rows = reader.cursor().stream("SELECT repeat('x', 4000) FROM generate_series(1, 1000000)")
        next(rows)
        assert still_serving(limited)
        time.sleep(1)
        assert resident_mib() - before < 400
    finally:
        reader.pgconn.finish()

"""End-to-end with psycopg 3 (text and binary results) against the real server."""

import datetime
import decimal
import threading
import time

import psycopg
import pytest
from psycopg import errors

import rawpg

ROWS_PER_DAY = 14_000 // 7
LATEST = "SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets_latest"


def connect(lakegate, token, autocommit=False, **kw):
    return psycopg.connect(**lakegate.dsn(token, **kw), autocommit=autocommit)


@pytest.mark.parametrize("binary", [False, True])
def test_parking_persona_counts_latest_import(lakegate, binary):
    with connect(lakegate, lakegate.parking()) as conn:
        cur = conn.cursor(binary=binary)
        assert cur.execute(LATEST).fetchone() == (ROWS_PER_DAY,)


def test_public_persona_gets_42p01_and_sees_no_parking(lakegate):
    with connect(lakegate, lakegate.public()) as conn:
        with pytest.raises(errors.UndefinedTable):
            conn.execute(LATEST)
        conn.rollback()
        schemas = {r[0] for r in conn.execute("SELECT schema_name FROM information_schema.schemata")}
        assert "unrestricted_raw_zone" in schemas
        assert not any(s.startswith("parking") for s in schemas)
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema LIKE 'parking%'").fetchone()
        assert tables == (0,)
        wards = conn.execute("SELECT count(*) FROM unrestricted_raw_zone.wards").fetchone()
        assert wards == (21,)


@pytest.mark.parametrize("token", [
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "garbage",
    "x" * 9000,
])
def test_bad_tokens_get_28p01_before_any_query(lakegate, token):
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect(lakegate, token)
    outcome, fields = rawpg.login("127.0.0.1", lakegate.port, "token", token)
    assert outcome == "error"
    assert fields["C"] == "28P01"
    assert fields["S"] == "FATAL"
    assert token not in fields["M"]


def test_a_token_for_another_user_gets_28p01(lakegate):
    outcome, fields = rawpg.login("127.0.0.1", lakegate.port, "someone.else", lakegate.parking())
    assert (outcome, fields.get("C")) == ("error", "28P01")
    assert rawpg.login("127.0.0.1", lakegate.port, "pat.parking", lakegate.parking()) == ("ok", {})


def test_plaintext_login_is_refused(lakegate):
    outcome, fields = rawpg.login("127.0.0.1", lakegate.port, "token", lakegate.parking(), tls=False)
    assert (outcome, fields.get("C")) == ("error", "28000")


def test_an_expired_session_is_closed(strict_lakegate):
    token = strict_lakegate.token("pat.parking", ["parking"], ["analyst"], ttl="3s")
    conn = connect(strict_lakegate, token, autocommit=True)
    assert conn.execute("SELECT 1").fetchone() == (1,)
    time.sleep(4)
    with pytest.raises(psycopg.OperationalError, match="expired"):
        conn.execute("SELECT 1")
    # The server closed the session: nothing more runs on it.
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError, match="expired"):
        connect(strict_lakegate, token)


def test_drop_table_is_42501(lakegate):
    with connect(lakegate, lakegate.parking()) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DROP TABLE parking_raw_zone.permits")


def test_parameters_bind_in_text_and_binary(lakegate):
    with connect(lakegate, lakegate.parking()) as conn:
        for binary in (False, True):
            cur = conn.cursor(binary=binary)
            row = cur.execute(
                "SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets "
                "WHERE import_date = %s AND officer_id >= %s AND is_paid = %s",
                ("20241124", 100, True)).fetchone()
            assert 0 < row[0] < ROWS_PER_DAY


def test_every_demo_type_decodes_the_same_in_text_and_binary(lakegate):
    token = lakegate.engineer()
    with connect(lakegate, token) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema LIKE '%zone' ORDER BY 1, 2").fetchall()
        assert len(tables) >= 10
        for schema, table in tables:
            width = len(conn.execute(f"SELECT * FROM {schema}.{table} LIMIT 0").description)
            order = ", ".join(str(i + 1) for i in range(width))
            sql = f"SELECT * FROM {schema}.{table} ORDER BY {order} LIMIT 50"
            text = conn.cursor(binary=False).execute(sql).fetchall()
            binary = conn.cursor(binary=True).execute(sql).fetchall()
            assert text == binary, f"{schema}.{table}"
            assert text, f"{schema}.{table} is empty"


def test_values_have_python_types(lakegate):
    with connect(lakegate, lakegate.parking()) as conn:
        row = conn.cursor(binary=True).execute(
            "SELECT pcn, pcn_issue_date, pcn_issue_datetime, amount, is_paid, officer_id, import_date "
            "FROM parking_raw_zone.liberator_pcn_tickets_latest LIMIT 1").fetchone()
        pcn, issued, issued_at, amount, paid, officer, import_date = row
        assert pcn.startswith("HY")
        assert issued == datetime.date(2024, 11, 23)
        assert isinstance(issued_at, datetime.datetime)
        assert amount in (decimal.Decimal("110.00"), decimal.Decimal("160.00"))
        assert isinstance(paid, bool) and isinstance(officer, int)
        assert import_date == "20241124"


def test_streaming_a_large_result_in_batches(lakegate):
    with connect(lakegate, lakegate.parking()) as conn:
        cur = conn.cursor(binary=True)
        cur.execute("SELECT * FROM parking_raw_zone.liberator_pcn_tickets")
        seen = 0
        while batch := cur.fetchmany(1000):
            seen += len(batch)
        assert seen == ROWS_PER_DAY * 7


def test_cancel_gets_57014_and_the_connection_survives(lakegate):
    with connect(lakegate, lakegate.parking()) as conn:
        timer = threading.Timer(1.0, conn.cancel)
        timer.start()
        started = time.monotonic()
        with pytest.raises(errors.QueryCanceled):
            conn.execute("SELECT count(*) FROM generate_series(1, 20000000000)")
        assert time.monotonic() - started < 30
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_cpu_heavy_query_does_not_hold_up_other_clients(lakegate):
    tickets = "parking_raw_zone.liberator_pcn_tickets"
    heavy = connect(lakegate, lakegate.parking(), autocommit=True)
    outcome = []

    def run():
        try:
            heavy.execute(f"SELECT count(*) FROM {tickets} a, {tickets} b, {tickets} c")
            outcome.append("finished")
        except errors.QueryCanceled:
            outcome.append("cancelled")

    thread = threading.Thread(target=run)
    thread.start()
    try:
        with connect(lakegate, lakegate.parking(), autocommit=True) as watcher:
            active = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
            while watcher.execute(active).fetchone()[0] < 2:
                time.sleep(0.05)
        # A new connection (TLS handshake, token, session) and a scan, while every query
        # thread is busy with the cross join.
        with connect(lakegate, lakegate.engineer(), autocommit=True) as other:
            assert other.execute(LATEST).fetchone() == (ROWS_PER_DAY,)
        assert not outcome, "answered only after the heavy query ended"
    finally:
        heavy.cancel()
        thread.join(timeout=60)
        heavy.close()
    assert outcome == ["cancelled"]


def test_errors_do_not_break_the_session(lakegate):
    with connect(lakegate, lakegate.parking()) as conn:
        conn.autocommit = True
        with pytest.raises(errors.SyntaxError):
            conn.execute("SELEC 1")
        with pytest.raises(errors.UndefinedColumn):
            conn.execute("SELECT nope FROM parking_raw_zone.permits")
        with pytest.raises(errors.DivisionByZero):
            conn.execute("SELECT 1/0")
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_transactions_and_settings_round_trip(lakegate):
    with connect(lakegate, lakegate.parking()) as conn:
        conn.execute("SET application_name = 'psycopg-test'")
        assert conn.execute("SHOW application_name").fetchone() == ("psycopg-test",)
        assert conn.info.parameter_status("application_name") == "psycopg-test"
        conn.commit()
        with conn.transaction():
            assert conn.execute("SELECT 3").fetchone() == (3,)


def test_pg_settings_lists_client_settings_and_server_facts(lakegate):
    with connect(lakegate, lakegate.public(), autocommit=True) as conn:
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_catalog.pg_settings "
            "WHERE name IN ('max_index_keys', 'TimeZone', 'DateStyle', 'server_version_num')").fetchall())
    assert settings == {"max_index_keys": "32", "TimeZone": "UTC", "DateStyle": "ISO, MDY",
                        "server_version_num": "160006"}


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_result_columns_are_named_as_postgresql_names_them(lakegate, binary):
    with psycopg.connect(**lakegate.dsn(lakegate.parking()), autocommit=True) as conn:
        cur = conn.cursor(binary=binary)
        cur.execute("SELECT count(*), 1, 'x'::text, 2::integer, current_user, "
                    "CASE WHEN true THEN 1 END, max(amount) AS most "
                    "FROM parking_raw_zone.liberator_pcn_tickets")
        assert [c.name for c in cur.description] == [
            "count", "?column?", "text", "int4", "current_user", "case", "most"]
        assert cur.fetchone()[4] == "pat.parking"


def test_pg_stat_activity_lists_only_the_principals_own_connections(lakegate):
    # A subject of its own: other tests' connections are not this test's to count.
    secret = lakegate.token("ada.activity", ["parking"], ["analyst"])
    kw = lakegate.dsn(secret)
    with psycopg.connect(**kw, autocommit=True, application_name="first") as first, \
            psycopg.connect(**kw, autocommit=True, application_name="second") as second, \
            connect(lakegate, lakegate.engineer(), autocommit=True) as other:
        first.execute("SELECT 42")
        other.execute("SELECT 43")
        rows = second.execute("SELECT usename, application_name, state, query FROM pg_stat_activity "
                              "ORDER BY pid").fetchall()
        assert [(u, a, s) for u, a, s, _ in rows] == [
            ("ada.activity", "first", "idle"), ("ada.activity", "second", "active")]
        assert "42" in rows[0][3] and not any("43" in q for *_, q in rows)
    with connect(lakegate, secret, autocommit=True) as again:
        assert again.execute("SELECT count(*) FROM pg_catalog.pg_stat_activity").fetchone() == (1,)


def test_extended_protocol_sends_rows_while_the_query_runs(lakegate):
    """Execute streams: a client that reads one row and pauses leaves the query running
    (blocked on the socket), not finished with every row gathered in the server."""
    secret = lakegate.token("ada.streaming", ["parking"], ["analyst"])
    kw = lakegate.dsn(secret)
    big = "SELECT repeat('x', 1000) AS pad FROM generate_series(1, 50000)"
    # Closed, not left by `with`, which would wait for the rest of a failed test's rows.
    reader = psycopg.connect(**kw, autocommit=True, application_name="reader")
    try:
        with psycopg.connect(**kw, autocommit=True, application_name="watcher") as watcher:
            rows = reader.cursor().stream(big)  # extended protocol, Execute with no row limit
            assert next(rows) == ("x" * 1000,)
            state = watcher.execute("SELECT state, query FROM pg_stat_activity "
                                    "WHERE application_name = 'reader'").fetchone()
            assert state == ("active", big)
            assert sum(1 for _ in rows) == 50000 - 1
            assert watcher.execute("SELECT state FROM pg_stat_activity "
                                   "WHERE application_name = 'reader'").fetchone() == ("idle",)
    finally:
        reader.close()


def test_pg_roles_lists_the_principal_as_a_login_role_that_administers_nothing(lakegate):
    with connect(lakegate, lakegate.parking(), autocommit=True) as conn:
        me = conn.execute("SELECT current_user").fetchone()[0]
        roles = conn.execute("SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole "
                             "FROM pg_catalog.pg_roles").fetchall()
    assert roles == [(me, True, False, False, False)]


def test_privileges_are_read_only(lakegate):
    # Metabase asks this of every table before offering to write.
    with connect(lakegate, lakegate.parking(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT has_table_privilege(current_user, 'parking_raw_zone.permits', 'SELECT'), "
            "has_table_privilege('parking_raw_zone.permits', 'INSERT, DELETE'), "
            "has_any_column_privilege(current_user, 'parking_raw_zone.permits', 'update'), "
            "has_schema_privilege(current_user, 'parking_raw_zone', 'usage'), "
            "has_schema_privilege('parking_raw_zone', 'CREATE')").fetchone()
        assert row == (True, False, False, True, False)


@pytest.mark.parametrize("binary", [False, True])
def test_a_result_computed_from_a_parameter_is_described_as_it_is_sent(lakegate, binary):
    """PostgreSQL's rules type `$1::int4 + 1` as int4 once the parameter is bound: Describe
    must say so too, or a binary client decodes four bytes as eight (a wrong number, no
    error). Describe analyzes the plan with the parameters bound to NULLs of their types."""
    with connect(lakegate, lakegate.parking(), autocommit=True) as conn:
        cur = conn.cursor(binary=binary)
        for prepare in (False, True):
            # int2 * int4 is int4 in PostgreSQL (`int24mul`); a bare int2 stays int2.
            cur.execute("SELECT %s::int4 + 1 AS n, %s::int2 * 2 AS m, %s::int2 AS s",
                        [5, 7, 3], prepare=prepare)
            assert cur.fetchone() == (6, 14, 3)
            assert [d.type_code for d in cur.description] == [23, 23, 21]


def test_a_regular_expression_that_does_not_compile_is_2201b(lakegate):
    with connect(lakegate, lakegate.parking(), autocommit=True) as conn:
        for sql in ["SELECT regexp_replace('a', '(', 'b')", "SELECT 'a' ~ '('"]:
            with pytest.raises(psycopg.Error) as refused:
                conn.execute(sql)
            assert refused.value.sqlstate == "2201B", (sql, refused.value)


def test_a_session_s_statement_timeout_stops_its_statements(lakegate):
    """`SET statement_timeout` shortens the server's limit for the session (never lengthens
    it), as PostgreSQL's does: 57014, and the connection goes on; a value PostgreSQL would
    not read is 22023."""
    with connect(lakegate, lakegate.parking(), autocommit=True) as conn:
        conn.execute("SET statement_timeout = '1s'")
        started = time.monotonic()
        with pytest.raises(errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 4.5
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.execute("SET statement_timeout = 0")
        assert len(conn.execute("SELECT pg_sleep(1.5)").fetchall()) == 1
        with pytest.raises(errors.InvalidParameterValue):
            conn.execute("SET statement_timeout = 'abc'")

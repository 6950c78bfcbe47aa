"""Adversarial tests: sizes a client chooses never reach an allocation unbounded; cancel
stops the work; PostgreSQL's spelling of values, time zones and templates."""

import os
import struct
import threading
import time

import psycopg
import pytest
from psycopg import errors

import rawpg
from flightsql import FlightSql, code, command, field
from personas import token

T = "parking_raw_zone.liberator_pcn_tickets"
# The header of a Query message declaring a gigabyte.
HUGE_QUERY_HEADER = b"Q" + struct.pack("!I", (1 << 30) - 2)


def connect(lakegate, persona="engineer", **kw):
    return psycopg.connect(**lakegate.dsn(token(lakegate, persona)), autocommit=True, **kw)


@pytest.mark.parametrize("sql", [
    "SELECT repeat('abc', 2000000000)",
    "SELECT lpad('x', 2000000000)",
    "SELECT rpad('x', 2000000000, 'yz')",
    "SELECT array_repeat(1, 2000000000)",
    "SELECT range(1, 100000000000)",
    "SELECT generate_series(1, 100000000000, 2)",
    f"SELECT repeat(street_location, 100000) FROM {T}",
    "SELECT $2000000000",
    "SELECT 1 WHERE $70000 IS NULL",
])
def test_a_size_the_client_chooses_is_refused_with_54000_and_the_server_stays_up(lakegate, sql):
    with connect(lakegate) as conn:
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(sql).fetchall()
        assert refused.value.sqlstate == "54000", refused.value
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert lakegate.proc.poll() is None


def test_a_flight_prepare_of_a_huge_parameter_number_is_resource_exhausted(lakegate):
    client = FlightSql(lakegate.flight(), token(lakegate, "engineer"))
    for sql in ["SELECT $2000000000", "SELECT $65536"]:
        with pytest.raises(Exception) as refused:
            client.prepare(sql)
        assert code(refused.value) == "RESOURCE_EXHAUSTED", refused.value
        with pytest.raises(Exception) as refused:
            client.info(command("CommandStatementQuery", field(1, sql)))
        assert code(refused.value) == "RESOURCE_EXHAUSTED", refused.value
    assert client.query("SELECT 1 AS one").column(0).to_pylist() == [1]
    assert lakegate.proc.poll() is None


@pytest.mark.parametrize("logged_in", [True, False], ids=["logged in", "before login"])
def test_a_message_past_the_limit_ends_that_connection_with_54000_before_it_is_buffered(
        lakegate, logged_in):
    """pgwire alone buffers a 1 GB message whole, even before the login."""
    if logged_in:
        session = rawpg.connect("127.0.0.1", lakegate.port, "token", token(lakegate, "engineer"))
    else:
        session = rawpg.unauthenticated("127.0.0.1", lakegate.port, "token")
    # The header alone: the refusal must not wait for the body (pgwire alone would wait for
    # the whole gigabyte, and the socket's timeout would end this test with no answer).
    session.send(HUGE_QUERY_HEADER)
    answer = session.until_ready()
    session.close()
    errors_seen = [body for kind, body in answer if kind == b"E"]
    assert [(e["S"], e["C"]) for e in errors_seen] == [("FATAL", "54000")], answer
    limit = "16777216" if logged_in else "65535"
    assert errors_seen[0]["M"] == f"message of 1073741822 bytes exceeds the limit of {limit} bytes"
    with connect(lakegate) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert lakegate.proc.poll() is None


def startup_message(user="token", trailing=b""):
    params = b"user\x00" + user.encode() + b"\x00database\x00lake\x00\x00" + trailing
    body = struct.pack("!I", 196608) + params
    return struct.pack("!I", len(body) + 4) + body


def tls_socket(lakegate, early=b""):
    """A socket to the pg port after SSLRequest and the TLS handshake; `early` is sent in
    the clear right after the SSLRequest, before the handshake."""
    import socket
    import ssl
    sock = socket.create_connection(("127.0.0.1", lakegate.port), timeout=10)
    sock.sendall(struct.pack("!II", 8, 80877103) + early)
    assert sock.recv(1) == b"S"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(sock)


def fatal_of(session):
    errors_seen = [body for kind, body in session.until_ready() if kind == b"E"]
    session.close()
    assert len(errors_seen) == 1 and errors_seen[0]["S"] == "FATAL", errors_seen
    return errors_seen[0]["C"], errors_seen[0]["M"]


def test_a_length_word_that_disagrees_with_the_message_is_08p01(lakegate):
    """pgwire reads a StartupMessage to its last parameter and a Sync with no body, whatever
    their length words say: bytes hidden after them (a gigabyte Query's header) must not
    slip past the size bound."""
    sock = tls_socket(lakegate)
    sock.sendall(startup_message(trailing=HUGE_QUERY_HEADER))
    assert fatal_of(rawpg.Session(sock)) == ("08P01", "invalid message length")

    session = rawpg.connect("127.0.0.1", lakegate.port, "token", token(lakegate, "engineer"))
    session.send(b"S" + struct.pack("!I", 9) + HUGE_QUERY_HEADER)
    assert fatal_of(session) == ("08P01", "invalid message length")
    assert lakegate.proc.poll() is None


def test_a_failed_login_ends_the_connection(lakegate):
    """After a refused token nothing more is read (pgwire alone would read on with the
    logged-in limits)."""
    sock, outcome = rawpg._login("127.0.0.1", lakegate.port, "token", "not-a-token", True)
    assert outcome[0] == "error" and outcome[1]["S"] == "FATAL", outcome
    kinds = []
    try:
        sock.sendall(rawpg.query("SELECT 1"))
        while True:
            kinds.append(rawpg._read_message(sock)[0])
    except (ConnectionError, OSError):
        pass  # the server closed the connection, as it should
    # pgwire ends a FATAL error with ReadyForQuery; nothing answers the query.
    assert set(kinds) <= {b"Z"}, kinds


def test_bytes_sent_in_the_clear_before_the_tls_handshake_are_refused(lakegate):
    """CVE-2021-23214: what a man in the middle injects after the SSLRequest must not be
    read as if it came over TLS."""
    sock = tls_socket(lakegate, early=startup_message())
    assert fatal_of(rawpg.Session(sock)) == ("08P01", "received unencrypted data after SSL request")


def test_a_large_message_within_the_limit_is_served(lakegate):
    """A query of several megabytes (a long IN list a BI tool inlined) is within the limit."""
    with connect(lakegate) as conn:
        text = "x" * (4 << 20)
        assert conn.execute(f"SELECT length('{text}')").fetchone() == (4 << 20,)


def test_a_flight_message_past_the_limit_is_resource_exhausted(lakegate):
    client = FlightSql(lakegate.flight(), token(lakegate, "engineer"))
    with pytest.raises(Exception) as refused:
        client.query(f"SELECT length('{'x' * (17 << 20)}')")
    assert code(refused.value) == "RESOURCE_EXHAUSTED", refused.value
    assert "exceeds the limit of 16777216 bytes" in str(refused.value)
    assert client.query("SELECT 1 AS one").column(0).to_pylist() == [1]
    assert lakegate.proc.poll() is None


def cpu_seconds(pid):
    """User and system CPU time the process has used, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


HEAVY = {
    "cross join": f"SELECT count(*) FROM {T} a, {T} b, {T} c",
    # A top-k sort of 1.96 billion rows (196 million take under 2 s here).
    "sort": f"SELECT a.pcn FROM {T} a, {T} b, (SELECT 1 FROM {T} LIMIT 10) c "
            f"ORDER BY a.vrm || b.vrm LIMIT 1",
    # Few groups: a large DISTINCT would reach the memory limit and spill, and a spill
    # sorts the whole hash table in one go, which no cancel can interrupt (DataFusion's).
    "aggregation": f"SELECT a.ward_code, b.ward_code, sum(length(a.pcn || b.pcn)) FROM {T} a, {T} b GROUP BY 1, 2",
    "window": f"SELECT max(r) FROM (SELECT row_number() OVER (PARTITION BY a.ward_code ORDER BY b.pcn) AS r "
              f"FROM {T} a, {T} b) t",
    "hash join": f"SELECT count(*) FROM {T} a JOIN {T} b ON a.ward_code = b.ward_code "
                 f"JOIN {T} c ON b.ward_code = c.ward_code",
}


@pytest.mark.parametrize("kind", sorted(HEAVY))
def test_a_cancelled_cpu_bound_query_frees_the_machine(lakegate, kind):
    heavy = connect(lakegate)
    outcome = []

    def run():
        try:
            heavy.execute(HEAVY[kind]).fetchall()
            outcome.append("finished")
        except errors.QueryCanceled:
            outcome.append("cancelled")

    thread = threading.Thread(target=run)
    thread.start()
    try:
        # Let the operator get into its buffered work.
        time.sleep(2.0)
        assert not outcome, f"{kind} finished before it could be cancelled"
        heavy.cancel()
        thread.join(timeout=60)
        assert outcome == ["cancelled"]
        # The query's threads stop: the server idles (a busy query burns about two
        # CPU-seconds a second here), and another client is answered at once.
        time.sleep(0.3)
        before = cpu_seconds(lakegate.proc.pid)
        time.sleep(1.0)
        used = cpu_seconds(lakegate.proc.pid) - before
        assert used < 0.5, f"{used:.2f} CPU-seconds used in the second after cancelling a {kind}"
        with connect(lakegate) as other:
            started = time.monotonic()
            assert other.execute(f"SELECT count(*) > 0 FROM {T}").fetchone() == (True,)
            waited = time.monotonic() - started
        assert waited < 5, f"another client waited {waited:.1f} s after a cancelled {kind}"
    finally:
        heavy.cancel()
        thread.join(timeout=60)
        heavy.close()


def test_decimal_literals_are_numeric(lakegate):
    with connect(lakegate) as conn:
        row = conn.execute("SELECT 0.1 + 0.2 = 0.3, 721330.4241866222::numeric(18,10), 1.5 * 2").fetchone()
        assert row[0] is True
        assert str(row[1]) == "721330.4241866222"
        assert str(row[2]) == "3.0"


def test_session_time_zone_drives_timestamptz(lakegate):
    with connect(lakegate) as conn:
        cur = psycopg.ClientCursor(conn)
        for zone, shown, hour in [("UTC", "2024-06-05 10:11:12+00", 10),
                                  ("Europe/London", "2024-06-05 11:11:12+01", 11),
                                  ("Asia/Kolkata", "2024-06-05 15:41:12+05:30", 15)]:
            cur.execute(f"SET TIME ZONE '{zone}'")
            cur.execute("SELECT TIMESTAMPTZ '2024-06-05 10:11:12+00'::text, "
                        "extract(hour FROM TIMESTAMPTZ '2024-06-05 10:11:12+00')")
            text, extracted = cur.fetchone()
            assert text == shown
            assert int(extracted) == hour
        with pytest.raises(psycopg.Error) as refused:
            cur.execute("SET TIME ZONE 'Mars/Olympus'")
        assert refused.value.sqlstate == "22023"


def test_to_char_and_to_date_use_postgresql_templates(lakegate):
    with connect(lakegate) as conn:
        row = conn.execute("SELECT to_char(TIMESTAMP '2024-06-05 09:08:07', 'YYYY-MM-DD HH24:MI:SS'), "
                           "to_char(DATE '2024-06-05', 'FMDay FMDDth FMMonth YYYY'), "
                           "to_date('05/06/2024', 'DD/MM/YYYY')").fetchone()
        assert row[0] == "2024-06-05 09:08:07"
        assert row[1] == "Wednesday 5th June 2024"
        assert str(row[2]) == "2024-06-05"
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT to_date('2024-13-45', 'YYYY-MM-DD')")
        assert refused.value.sqlstate == "22007"


def test_floats_are_spelled_as_postgresql_spells_them(lakegate):
    with connect(lakegate) as conn:
        cur = psycopg.ClientCursor(conn)
        cur.execute("SELECT 'Infinity'::float8, '-Infinity'::float8, 'NaN'::float8, 1e20::float8, "
                    "ARRAY[1, 2]::text, TIMESTAMP '2024-06-05 10:11:12'::text")
        raw = [cur.pgresult.get_value(0, i).decode() for i in range(6)]
        assert raw == ["Infinity", "-Infinity", "NaN", "1e+20", "{1,2}", "2024-06-05 10:11:12"]


def test_ordinal_positions_count_from_one(lakegate):
    with connect(lakegate) as conn:
        positions = [r[0] for r in conn.execute(
            "SELECT ordinal_position FROM information_schema.columns "
            "WHERE table_schema = 'unrestricted_raw_zone' AND table_name = 'wards' ORDER BY 1")]
        assert positions[0] == 1
        assert positions == list(range(1, len(positions) + 1))


def post_reload(lakegate, headers):
    import urllib.error
    import urllib.request
    request = urllib.request.Request(f"http://127.0.0.1:{lakegate.http_port}/reload", data=b"",
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_reload_needs_an_admin_token_and_no_browser(lakegate):
    assert post_reload(lakegate, {}) == 401
    assert post_reload(lakegate, {"Authorization": "Bearer not-a-token"}) == 401
    engineer = token(lakegate, "engineer")
    assert post_reload(lakegate, {"Authorization": f"Bearer {engineer}"}) == 403
    admin = lakegate.token("ada.admin", groups=["lakegate-admin"])
    for browser in [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}]:
        assert post_reload(lakegate, {"Authorization": f"Bearer {admin}", **browser}) == 403
    assert post_reload(lakegate, {"Authorization": f"Bearer {admin}"}) == 200


def test_another_database_is_3d000_after_the_login(lakegate):
    dsn = dict(lakegate.dsn(token(lakegate, "engineer")), dbname="postgres")
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(**dsn)
    assert 'database "postgres" does not exist' in str(refused.value)


def test_query_ids_are_random_not_a_counter(lakegate):
    ids = []
    with connect(lakegate) as conn:
        for _ in range(3):
            with pytest.raises(psycopg.Error) as failed:
                conn.execute("SELECT 1/0")
            ids.append(failed.value.diag.message_detail.removeprefix("query id "))
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids), ids
    assert len(set(ids)) == 3
    numbers = sorted(int(i, 16) for i in ids)
    assert numbers[-1] - numbers[0] > 1000, "consecutive statements got near ids"


def test_the_demo_signing_key_mints_tokens_with_standard_tools(lakegate):
    import json
    import time

    import jwt
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key((lakegate.dir / "keys/dev-signing.pem").read_bytes(), password=None)
    config = lakegate.config.read_text()
    kid = next(line.split('"')[1] for line in config.splitlines() if line.startswith("dev_signing_kid"))
    now = int(time.time())
    claims = {"iss": "https://lakegate.demo/issuer", "aud": "lakegate", "sub": "pyjwt.minted",
              "preferred_username": "pyjwt.minted", "exp": now + 300, "departments": ["parking"],
              "groups": ["engineer"]}
    minted = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})
    with psycopg.connect(**lakegate.dsn(minted), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) > 0 FROM parking_raw_zone.liberator_pcn_tickets").fetchone() == (True,)
    assert json.loads((lakegate.dir / "keys/jwks.json").read_text())["keys"][0]["kid"] == kid


def test_a_row_filtered_table_shows_no_volume_in_the_dictionary(lakegate):
    sql = ("SELECT d.file_count, sum(p.total_bytes), count(p.file_count) FROM lakegate.datasets d "
           "JOIN lakegate.partitions p USING (schema_name, table_name) "
           "WHERE d.schema_name = 'parking_raw_zone' AND d.table_name = 'liberator_pcn_tickets' GROUP BY 1")
    with connect(lakegate, "analyst") as conn:
        # The analyst sees one ward's tickets: how many files and bytes the table has would
        # tell how much they do not see.
        assert conn.execute(sql).fetchall() == [(None, None, 0)]
    with connect(lakegate, "engineer") as conn:
        files, size, counted = conn.execute(sql).fetchone()
        assert files > 0 and size > 0 and counted > 0


def test_settings_clients_show_exist(lakegate):
    with connect(lakegate) as conn:
        for name, value in [("role", "none"), ("lc_collate", "C"), ("lc_ctype", "C")]:
            assert conn.execute(f"SHOW {name}").fetchone() == (value,)


def minted(server, sub, exp):
    """A token signed with the demo's key, expiring at `exp` (seconds since the epoch)."""
    import jwt
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key((server.dir / "keys/dev-signing.pem").read_bytes(), password=None)
    kid = next(line.split('"')[1] for line in server.config.read_text().splitlines()
               if line.startswith("dev_signing_kid"))
    claims = {"iss": "https://lakegate.demo/issuer", "aud": "lakegate", "sub": sub,
              "preferred_username": sub, "exp": exp, "departments": ["parking"], "groups": ["engineer"]}
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def test_a_login_accepted_within_the_leeway_is_not_refused_on_its_next_statement(lakegate):
    """The token's `exp` is 5 s past; the demo's leeway is 30 s. Accepted at login over both
    protocols, then as accepted for every statement until the leeway runs out."""
    import time

    late = minted(lakegate, "leeway.user", int(time.time()) - 5)
    with psycopg.connect(**lakegate.dsn(late), autocommit=True) as conn:
        for _ in range(3):
            assert conn.execute("SELECT 1").fetchone() == (1,)
    client = FlightSql(lakegate.flight(), late)
    assert client.query("SELECT 1 AS one").column(0).to_pylist() == [1]
    assert client.query("SELECT 2 AS two").column(0).to_pylist() == [2]


def test_a_token_that_expires_mid_stream_ends_the_rows_over_pg_as_over_flight(strict_lakegate):
    """The gateway watches the token for both front ends: rows still streaming when it
    expires stop with 28P01, as Flight SQL's stop with UNAUTHENTICATED (test_flight)."""
    import time

    expiring = minted(strict_lakegate, "stream.user", int(time.time()) + 3)
    with psycopg.connect(**strict_lakegate.dsn(expiring), autocommit=True) as conn:
        rows = conn.cursor().stream(f"SELECT a.pcn, b.vrm FROM {T} a CROSS JOIN {T} b")
        next(rows)
        time.sleep(4)
        with pytest.raises(psycopg.Error) as ended:
            for _ in rows:
                pass
        assert ended.value.sqlstate == "28P01", ended.value
        assert "expired" in str(ended.value)


def test_an_expired_token_ends_sql_cursors_and_suspended_portals(strict_lakegate):
    """No leeway here: a token that expires while a cursor is open (psycopg 3's server-side
    cursor) or a portal is suspended (pgjdbc's setFetchSize) gets no more rows from it."""
    import time

    expiring = minted(strict_lakegate, "cursor.user", int(time.time()) + 3)
    conn = psycopg.connect(**strict_lakegate.dsn(expiring))
    try:
        cur = conn.cursor(name="late")
        cur.execute(f"SELECT pcn FROM {T} ORDER BY pcn")
        assert len(cur.fetchmany(10)) == 10
        time.sleep(4)
        with pytest.raises(psycopg.OperationalError) as ended:
            cur.fetchmany(10)
        assert "expired" in str(ended.value)
    finally:
        conn.close()
    expiring = minted(strict_lakegate, "portal.user", int(time.time()) + 3)
    session = rawpg.connect("127.0.0.1", strict_lakegate.port, "token", expiring)
    try:
        session.send(rawpg.query("BEGIN"))
        session.until_ready()
        session.send(rawpg.parse(f"SELECT pcn FROM {T} ORDER BY pcn"), rawpg.bind(),
                     rawpg.execute(max_rows=10), rawpg.SYNC)
        kinds = [kind for kind, _ in session.until_ready()]
        assert kinds.count(b"D") == 10 and b"s" in kinds, kinds
        time.sleep(4)
        session.send(rawpg.execute(max_rows=10), rawpg.SYNC)
        answer = session.until_ready()
        assert [kind for kind, _ in answer].count(b"D") == 0, answer
        errors_sent = [body for kind, body in answer if kind == b"E"]
        assert errors_sent and errors_sent[0]["C"] == "28P01", answer
    finally:
        session.close()


def test_the_demo_policy_covers_derived_tables_and_quasi_identifiers(lakegate):
    """The trusted ward aggregate has grants of its own (a parking analyst sees only their
    wards' figures there too), and a UPRN, which joins to the public address list, is hashed
    for housing officers, whose addresses are masked."""
    with connect(lakegate, "analyst") as conn:
        wards = {w for (w,) in conn.execute(
            "SELECT DISTINCT ward_code FROM parking_trusted_zone.pcn_ward_daily").fetchall()}
        assert wards == {"E05009372"}
    with connect(lakegate, "manager") as conn:
        assert conn.execute("SELECT count(DISTINCT ward_code) FROM parking_trusted_zone.pcn_ward_daily"
                            ).fetchone()[0] > 1
    with connect(lakegate, "housing") as conn:
        joined = conn.execute(
            "SELECT count(*) FROM housing_raw_zone.tenancies t "
            "JOIN unrestricted_raw_zone.llpg_addresses a ON a.uprn::text = t.uprn::text").fetchone()[0]
        assert joined == 0
    with connect(lakegate, "safeguarding") as conn:
        joined = conn.execute(
            "SELECT count(*) FROM housing_raw_zone.tenancies t "
            "JOIN unrestricted_raw_zone.llpg_addresses a ON a.uprn = t.uprn").fetchone()[0]
        assert joined > 0


def test_a_prepared_statement_survives_a_change_of_time_zone(lakegate):
    """A `timestamptz` result is described the same in every zone: a statement prepared on
    the server runs after `SET TIME ZONE` (only a change of columns is 0A000)."""
    with connect(lakegate) as conn:
        sql = f"SELECT pcn_issue_datetime::timestamptz AS t FROM {T} ORDER BY pcn LIMIT 1"
        conn.execute("SET TIME ZONE 'UTC'")
        utc = conn.execute(sql, prepare=True).fetchone()[0]
        conn.execute("SET TIME ZONE 'Asia/Kolkata'")
        kolkata = conn.execute(sql, prepare=True).fetchone()[0]
        # The same local time read in each zone (timestamp → timestamptz), no 0A000.
        assert utc.replace(tzinfo=None) == kolkata.replace(tzinfo=None)
        assert kolkata.utcoffset().total_seconds() == 5.5 * 3600

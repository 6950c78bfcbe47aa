"""The Flight SQL front end with pyarrow.flight: raw commands, metadata, tickets and
handles, and protocol abuse. Every call goes to the real server over TLS."""

import base64
import time

import psycopg
import pyarrow as pa
import pyarrow.flight as flight
import pytest

import flightsql
from flightsql import FlightSql, code, command, field, rows
from personas import token

T = "parking_raw_zone.liberator_pcn_tickets"
WARD = "E05009372"
BIG = f"SELECT a.pcn, b.vrm FROM {T} a CROSS JOIN {T} b"


@pytest.fixture(scope="module")
def tokens(lakegate):
    return {p: token(lakegate, p) for p in ("analyst", "engineer", "revenues", "public")}


@pytest.fixture
def as_(lakegate, tokens):
    clients = []

    def make(persona_or_token, **kwargs):
        c = FlightSql(lakegate.flight(), tokens.get(persona_or_token, persona_or_token), **kwargs)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.client.close()


def error_code(call):
    with pytest.raises((flight.FlightError, pa.ArrowException)) as e:
        call()
    return code(e.value)


# --- statements ---------------------------------------------------------------------------

def test_a_query_streams_exactly_what_the_persona_may_see(as_):
    table = as_("analyst").query(f"SELECT ward_code, vrm FROM {T}")
    assert table.num_rows > 0
    assert set(table.column("ward_code").to_pylist()) == {WARD}
    assert all(v.startswith("XX00 ") for v in table.column("vrm").to_pylist())


def test_columns_are_named_as_in_postgresql(as_):
    table = as_("analyst").query(f"SELECT count(*), 1, 2, max(amount) FROM {T}")
    assert table.schema.names == ["count", "?column?", "?column?", "max"]


def test_flight_info_has_the_schema_no_location_and_unknown_size(as_):
    client = as_("analyst")
    info = client.info(command("CommandStatementQuery", field(1, f"SELECT pcn, amount FROM {T}")))
    assert info.schema.names == ["pcn", "amount"]
    assert info.schema.field("amount").type == pa.decimal128(8, 2)
    assert info.total_records == -1
    assert [len(e.locations) for e in info.endpoints] == [0]


def test_prepared_statements_bind_parameters_and_report_their_schemas(as_, lakegate):
    client = as_("analyst")
    handle, dataset, parameters = client.prepare(f"SELECT count(*) AS n FROM {T} WHERE ward_code = $1")
    assert dataset.names == ["n"]
    assert parameters.names == ["$1"] and parameters.field(0).type == pa.string()
    for ward, nonzero in [(WARD, True), ("E05009370", False)]:
        bound = client.bind(handle, pa.record_batch([pa.array([ward])], names=["$1"]))
        count = rows(client.execute_prepared(bound))[0][0]
        assert (count > 0) == nonzero
    client.close_prepared(handle)


def test_a_prepared_statement_announces_the_schema_its_rows_have(as_):
    """CreatePreparedStatement's dataset schema is what DoGet streams once parameters are
    bound: PostgreSQL's rules type `$1::int4 + 1` as int4 (ADBC refuses a stream whose
    schema differs from the announced one)."""
    client = as_("analyst")
    handle, dataset, _ = client.prepare("SELECT $1::int4 + 1 AS n")
    assert dataset.field(0).type == pa.int32()
    bound = client.bind(handle, pa.record_batch([pa.array([5], pa.int32())], names=["$1"]))
    table = client.execute_prepared(bound)
    assert table.schema.field(0).type == pa.int32() and rows(table) == [(6,)]
    client.close_prepared(handle)


def test_binding_many_rows_to_a_query_is_refused(as_):
    client = as_("analyst")
    handle, _, _ = client.prepare(f"SELECT count(*) FROM {T} WHERE ward_code = $1")
    batch = pa.record_batch([pa.array([WARD, "x"])], names=["$1"])
    assert error_code(lambda: client.bind(handle, batch)) == "UNIMPLEMENTED"


def test_updates_and_ingest_are_refused_as_read_only(as_):
    client = as_("engineer")
    descriptor = flight.FlightDescriptor.for_command(command("CommandStatementUpdate", field(1, f"DELETE FROM {T}")))

    def update():
        writer, reader = client.client.do_put(descriptor, pa.schema([]), client.options)
        writer.done_writing()
        reader.read()
        writer.close()

    assert error_code(update) == "PERMISSION_DENIED"


def test_same_rows_through_flight_and_pg(lakegate, tokens, as_):
    for persona in ("engineer", "analyst", "revenues"):
        client = as_(persona)
        names = flightsql.rows(client.tables())
        assert names
        with psycopg.connect(**lakegate.dsn(tokens[persona]), autocommit=True) as conn:
            for _, schema, table, _ in names:
                sql = f'SELECT * FROM {schema}."{table}"'
                through_pg = sorted(conn.execute(sql).fetchall(), key=repr)
                through_flight = sorted(rows(client.query(sql)), key=repr)
                assert through_flight == through_pg, (persona, table)


# --- metadata -------------------------------------------------------------------------------

def test_get_tables_lists_only_the_principals_tables_and_columns(as_):
    analyst = {(s, t) for _, s, t, _ in rows(as_("analyst").tables())}
    assert ("parking_raw_zone", "liberator_pcn_tickets") in analyst
    assert not any(s.startswith(("housing", "revenues")) for s, _ in analyst)
    public = {s for _, s, _, _ in rows(as_("public").tables())}
    assert public == {"unrestricted_raw_zone", "lakegate"}
    revenues = as_("revenues").tables(include_schema=True, table_pattern="council_tax_accounts")
    schemas = [pa.ipc.read_schema(pa.py_buffer(b)) for b in revenues.column("table_schema").to_pylist()]
    assert schemas and all("balance" not in s.names and "property_uprn" in s.names for s in schemas)


def test_get_tables_filters_by_pattern_and_type(as_):
    client = as_("engineer")
    tables = rows(client.tables(schema_pattern="parking\\_raw%", table_pattern="%latest"))
    assert tables and all(s == "parking_raw_zone" and t.endswith("_latest") for _, s, t, _ in tables)
    body = field(4, "VIEW")
    assert client.metadata("CommandGetTables", body).num_rows == 0


def test_table_and_column_descriptions_travel_as_schema_metadata(as_):
    table = as_("analyst").tables(include_schema=True, schema_pattern="parking_raw_zone",
                                  table_pattern="liberator_pcn_tickets")
    schema = pa.ipc.read_schema(pa.py_buffer(table.column("table_schema")[0].as_py()))
    assert b"Penalty charge notices" in schema.metadata[b"description"]
    assert schema.field("vrm").metadata[b"ARROW:FLIGHT:SQL:REMARKS"] == b"Vehicle registration mark"
    assert schema.field("vrm").metadata[b"pii"] == b"vehicle_registration"


def test_catalogs_schemas_types_and_keys(as_):
    client = as_("analyst")
    assert rows(client.metadata("CommandGetCatalogs")) == [("lake",)]
    schemas = {s for _, s in rows(client.metadata("CommandGetDbSchemas"))}
    assert schemas == {"parking_raw_zone", "parking_refined_zone", "parking_trusted_zone", "unrestricted_raw_zone",
                       "lakegate"}
    assert rows(client.metadata("CommandGetTableTypes")) == [("TABLE",)]
    types = {r[0] for r in rows(client.metadata("CommandGetXdbcTypeInfo"))}
    assert {"BIGINT", "VARCHAR", "DATE", "TIMESTAMP", "NUMERIC"} <= types
    keys = client.metadata("CommandGetPrimaryKeys", field(3, "liberator_pcn_tickets"))
    assert keys.num_rows == 0 and "key_sequence" in keys.schema.names
    exported = client.metadata("CommandGetExportedKeys", field(3, "liberator_pcn_tickets"))
    assert exported.num_rows == 0 and "fk_table_name" in exported.schema.names


def test_keys_are_the_data_dictionarys(as_):
    wards = field(2, "unrestricted_raw_zone") + field(3, "wards")
    client = as_("analyst")
    assert rows(client.metadata("CommandGetPrimaryKeys", wards)) == [
        ("lake", "unrestricted_raw_zone", "wards", "ward_code", "wards_pkey", 1)]
    [imported] = rows(client.metadata("CommandGetImportedKeys", field(2, "parking_raw_zone") +
                                      field(3, "liberator_pcn_tickets")))
    assert imported[2:4] == ("wards", "ward_code") and imported[6:10] == (
        "liberator_pcn_tickets", "ward_code", 1, "liberator_pcn_tickets_ward_code_fkey")
    exported = {r[6] for r in rows(client.metadata("CommandGetExportedKeys", wards))}
    assert exported == {"liberator_pcn_tickets", "liberator_pcn_tickets_latest"}
    cross = client.metadata("CommandGetCrossReference", field(2, "unrestricted_raw_zone") + field(3, "wards") +
                            field(5, "parking_raw_zone") + field(6, "liberator_pcn_tickets"))
    assert cross.num_rows == 1
    # The public sees wards but not the tickets that reference it.
    assert rows(as_("public").metadata("CommandGetExportedKeys", wards)) == []


def test_sql_info_says_who_we_are_and_that_we_are_read_only(as_):
    info = as_("public").metadata("CommandGetSqlInfo")
    values = {r[0]: r[1] for r in rows(info)}
    assert values[0] == "lakegate"  # FLIGHT_SQL_SERVER_NAME
    assert values[3] is True  # FLIGHT_SQL_SERVER_READ_ONLY


# --- authentication -------------------------------------------------------------------------

def test_the_basic_handshake_returns_a_bearer_token_that_works(lakegate, tokens):
    client = lakegate.flight()
    header, value = client.authenticate_basic_token("token", tokens["analyst"])
    assert header == b"authorization" and value == f"Bearer {tokens['analyst']}".encode()
    sql_client = FlightSql(client, headers=[(header, value)])
    assert sql_client.query("SELECT 1 AS one").column("one").to_pylist() == [1]


@pytest.mark.parametrize("headers", [
    [],
    [(b"authorization", b"Bearer not-a-jwt")],
    [(b"authorization", b"Bearer ")],
    [(b"authorization", b"Token abc")],
], ids=["none", "garbage", "empty", "other-scheme"])
def test_calls_without_a_valid_bearer_are_unauthenticated(as_, headers):
    client = as_(None, headers=headers)
    assert error_code(lambda: client.query("SELECT 1")) == "UNAUTHENTICATED"
    assert error_code(lambda: client.tables()) == "UNAUTHENTICATED"


def test_basic_credentials_work_only_on_the_handshake(as_, tokens):
    basic = base64.b64encode(f"token:{tokens['analyst']}".encode())
    client = as_(None, headers=[(b"authorization", b"Basic " + basic)])
    assert error_code(lambda: client.query("SELECT 1")) == "UNAUTHENTICATED"


def test_a_handshake_password_that_is_not_a_jwt_is_unauthenticated(lakegate):
    client = lakegate.flight()
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.authenticate_basic_token("token", "hunter2")
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.authenticate_basic_token("someone-else", token(lakegate, "analyst"))


def test_oversized_metadata_is_refused_and_the_server_keeps_serving(as_):
    client = as_("analyst", headers=[(b"x-padding", b"x" * 100_000)])
    with pytest.raises((flight.FlightError, pa.ArrowException)):
        client.query("SELECT 1")
    assert as_("analyst").query("SELECT 1 AS one").num_rows == 1


# --- tickets and handles --------------------------------------------------------------------

def statement_ticket(client, sql):
    return client.info(command("CommandStatementQuery", field(1, sql))).endpoints[0].ticket


def test_another_principals_ticket_or_handle_is_not_found(as_):
    analyst, engineer = as_("analyst"), as_("engineer")
    ticket = statement_ticket(engineer, f"SELECT count(*) FROM {T}")
    assert error_code(lambda: analyst.client.do_get(ticket, analyst.options).read_all()) == "NOT_FOUND"
    handle, _, _ = engineer.prepare(f"SELECT count(*) FROM {T}")
    assert error_code(lambda: analyst.execute_prepared(handle)) == "NOT_FOUND"
    batch = pa.record_batch([pa.array([1])], names=["$1"])
    assert error_code(lambda: analyst.bind(handle, batch)) == "NOT_FOUND"
    assert engineer.client.do_get(ticket, engineer.options).read_all().num_rows == 1


def test_a_tampered_ticket_is_not_found(as_):
    client = as_("analyst")
    ticket = statement_ticket(client, f"SELECT count(*) FROM {T}")
    any_fields = flightsql.parse(ticket.ticket)
    inner = bytearray(flightsql.parse(any_fields[2][0])[1][0])
    sql_at = inner.index(b"SELECT")
    inner[sql_at:sql_at + 6] = b"select"
    forged = flight.Ticket(field(1, any_fields[1][0]) + field(2, field(1, bytes(inner))))
    assert error_code(lambda: client.client.do_get(forged, client.options).read_all()) == "NOT_FOUND"
    assert error_code(lambda: client.client.do_get(flight.Ticket(b"\x00garbage"), client.options).read_all()) \
        in ("NOT_FOUND", "INVALID_ARGUMENT")


# --- streams ----------------------------------------------------------------------------------

def test_a_token_that_expires_mid_stream_ends_the_stream_unauthenticated(strict_lakegate):
    short = strict_lakegate.token("dee.engineer", ["parking"], ["engineer"], ttl="4s")
    client = FlightSql(strict_lakegate.flight(), short)
    reader = client.client.do_get(statement_ticket(client, BIG), client.options)
    reader.read_chunk()
    time.sleep(5)
    with pytest.raises(flight.FlightUnauthenticatedError):
        while True:
            reader.read_chunk()


GOES_AWAY = """
import os, sys
import pyarrow.flight as flight
sys.path.insert(0, {here!r})
from flightsql import FlightSql, command, field
client = FlightSql(flight.FlightClient({uri!r}, tls_root_certs=open({cert!r}, "rb").read()), {token!r})
info = client.info(command("CommandStatementQuery", field(1, {sql!r})))
reader = client.client.do_get(info.endpoints[0].ticket, client.options)
reader.read_chunk()
print("read", flush=True)
os._exit(0)
"""


@pytest.mark.parametrize("how", ["cancels", "exits"])
def test_a_client_that_goes_away_mid_stream_frees_its_query(lakegate, tokens, as_, how):
    import subprocess
    import sys
    from pathlib import Path

    sql = BIG + f" -- {how} mid-stream"
    if how == "cancels":
        client = as_("engineer")
        reader = client.client.do_get(statement_ticket(client, sql), client.options)
        reader.read_chunk()
        reader.cancel()
    else:
        script = GOES_AWAY.format(here=str(Path(__file__).parent), uri=lakegate.flight_uri,
                                  cert=str(lakegate.dir / "tls/cert.pem"), token=tokens["engineer"], sql=sql)
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "read", out.stderr
    deadline = time.time() + 20
    while time.time() < deadline:
        lines = [a for a in lakegate.audit_lines() if a.get("sql") == sql]
        if lines:
            break
        time.sleep(0.2)
    assert lines and lines[-1]["outcome"] == "cancelled" and lines[-1]["protocol"] == "flight", lines
    assert as_("engineer").query("SELECT 1 AS one").num_rows == 1


def test_statements_are_audited_with_protocol_and_outcome(lakegate, as_):
    client = as_("analyst")
    client.query(f"SELECT count(*) FROM {T} -- audited over flight")
    error_code(lambda: client.query("SELECT * FROM housing_raw_zone.tenancies -- hidden over flight"))
    lines = {a.get("sql", "").split("-- ")[-1]: a for a in lakegate.audit_lines() if a.get("event") == "statement"}
    assert lines["audited over flight"]["outcome"] == "ok" and lines["audited over flight"]["rows"] == 1
    assert lines["audited over flight"]["protocol"] == "flight"
    assert lines["hidden over flight"]["outcome"] == "hidden"


def test_an_expired_token_is_unauthenticated_even_after_it_worked(strict_lakegate):
    short = strict_lakegate.token("dee.engineer", ["parking"], ["engineer"], ttl="2s")
    client = FlightSql(strict_lakegate.flight(), short)
    ticket = statement_ticket(client, "SELECT 1")
    time.sleep(3)
    assert error_code(lambda: client.query("SELECT 1")) == "UNAUTHENTICATED"
    assert error_code(lambda: client.client.do_get(ticket, client.options).read_all()) == "UNAUTHENTICATED"


def test_plaintext_is_refused_unless_allowed_on_loopback(lakegate, tokens):
    plain = FlightSql(flight.FlightClient(f"grpc://127.0.0.1:{lakegate.flight_port}"), tokens["analyst"])
    with pytest.raises(flight.FlightError):
        plain.query("SELECT 1")
    plain.client.close()


@pytest.fixture(scope="module")
def lz4_lakegate(tmp_path_factory):
    """A server that compresses results with LZ4 and accepts plaintext on loopback."""
    from conftest import Lakegate

    def edit(text):
        text = text.replace("allow_plaintext_loopback = false", "allow_plaintext_loopback = true")
        return text + '\n[flight]\ncompression = "lz4"\n'

    server = Lakegate(tmp_path_factory.mktemp("lz4"), edit=edit)
    yield server
    server.stop()


def loopback_bytes():
    from pathlib import Path

    for line in Path("/proc/net/dev").read_text().splitlines():
        name, _, fields = line.partition(":")
        if name.strip() == "lo":
            return int(fields.split()[0])
    raise AssertionError("no loopback interface")


def test_lz4_compression_and_plaintext_loopback_when_configured(lz4_lakegate, lakegate):
    sql = f"SELECT a.pcn, a.vrm, a.street_location FROM {T} a CROSS JOIN (SELECT 1 FROM {T} LIMIT 20) b"
    sent = {}
    for name, server in [("lz4", lz4_lakegate), ("none", lakegate)]:
        client = FlightSql(server.flight(), token(server, "engineer"))
        client.query("SELECT 1")
        before = loopback_bytes()
        sent[name] = (client.query(sql).num_rows, loopback_bytes() - before)
    assert sent["lz4"][0] == sent["none"][0] > 1000
    assert sent["lz4"][1] < 0.7 * sent["none"][1], sent
    analyst = token(lz4_lakegate, "analyst")
    plain = FlightSql(flight.FlightClient(f"grpc://127.0.0.1:{lz4_lakegate.flight_port}"), analyst)
    over_tls = FlightSql(lz4_lakegate.flight(), analyst)
    sql = f"SELECT pcn, vrm, amount FROM {T} ORDER BY pcn"
    assert rows(plain.query(sql)) == rows(over_tls.query(sql)) != []


def test_get_schema_answers_statements_and_prepared_statements_as_flight_info_does(lakegate):
    """GetSchema (the Java Flight SQL client and JDBC driver call it): the schema FlightInfo
    gives and the stream has, nullability included."""
    client = FlightSql(lakegate.flight(), token(lakegate, "analyst"))
    for sql in ["SELECT current_date AS d, 1 AS one, 'x' AS t",
                "SELECT ward_code, count(*) AS n FROM parking_raw_zone.liberator_pcn_tickets GROUP BY 1"]:
        descriptor = flight.FlightDescriptor.for_command(command("CommandStatementQuery", field(1, sql)))
        schema = client.client.get_schema(descriptor, client.options).schema
        info = client.info(command("CommandStatementQuery", field(1, sql)))
        table = client.fetch(info)
        assert schema == info.schema and schema == table.schema, (sql, schema, table.schema)
        handle, dataset, _ = client.prepare(sql)
        prepared = flight.FlightDescriptor.for_command(command("CommandPreparedStatementQuery", field(1, handle)))
        assert client.client.get_schema(prepared, client.options).schema == schema == dataset
        client.close_prepared(handle)
    hidden = flight.FlightDescriptor.for_command(
        command("CommandStatementQuery", field(1, "SELECT * FROM housing_raw_zone.tenancies")))
    with pytest.raises(Exception) as refused:
        client.client.get_schema(hidden, client.options)
    assert code(refused.value) == "NOT_FOUND"


def test_question_mark_parameters_in_statements_and_prepared_statements(lakegate):
    """ADBC's paramstyle is qmark (so is JDBC's): `?` markers are numbered `$1`, `$2`, …,
    and a prepared statement is re-bound and re-run."""
    client = FlightSql(lakegate.flight(), token(lakegate, "engineer"))
    sql = ("SELECT count(*) AS n FROM parking_raw_zone.liberator_pcn_tickets "
           "WHERE ward_code = ? AND amount >= ?")
    handle, _, parameters = client.prepare(sql)
    assert parameters.names == ["$1", "$2"]
    counts = []
    for ward in ["E05009372", "E05009367"]:
        batch = pa.record_batch([pa.array([ward]), pa.array([0])], names=["$1", "$2"])
        handle = client.bind(handle, batch)
        counts.append(client.execute_prepared(handle).column(0).to_pylist()[0])
    client.close_prepared(handle)
    with psycopg.connect(**lakegate.dsn(token(lakegate, "engineer")), autocommit=True) as conn:
        expected = [conn.execute("SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets "
                                 "WHERE ward_code = %s AND amount >= 0", (w,)).fetchone()[0]
                    for w in ["E05009372", "E05009367"]]
    assert counts == expected and all(counts)
    # Through ADBC's DB-API, as a notebook binds them.
    with lakegate.adbc(token(lakegate, "engineer")) as conn, conn.cursor() as cur:
        cur.execute("SELECT ? + 1 AS answer, ? AS word, '?' AS mark", (41, "qmark"))
        assert cur.fetchall() == [(42, "qmark", "?")]

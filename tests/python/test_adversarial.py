"""The policy's adversarial suite, one list of cases over two transports: the Postgres
wire (psycopg) and Arrow Flight SQL (pyarrow.flight). Each case states exactly what a
persona must get: rows, values, or an error code (a SQLSTATE over pg, the gRPC status that
stands for it over Flight).

Ground truth comes from the data engineer, whom no grant restricts on parking (department
access only), querying the same table with the filter written out."""

import re
import threading
from contextlib import contextmanager

import psycopg
import pyarrow as pa
import pyarrow.flight as flight
import pytest

import flightsql
from personas import token

T = "parking_raw_zone.liberator_pcn_tickets"
WARD = "E05009372"
OTHER_WARD = "E05009370"

# The gRPC status a Flight client gets where a pg client gets each SQLSTATE.
GRPC = {
    "42P01": "NOT_FOUND",
    "42703": "NOT_FOUND",
    "42501": "PERMISSION_DENIED",
    "42704": "INVALID_ARGUMENT",
    "28P01": "UNAUTHENTICATED",
}


class Client:
    """Runs SQL as a persona's token and reports rows or error codes."""

    def __init__(self, lakegate):
        self.lakegate = lakegate
        self.tokens = {}

    def token(self, persona, **overrides):
        key = (persona, tuple(sorted((k, repr(v)) for k, v in overrides.items())))
        if key not in self.tokens:
            self.tokens[key] = token(self.lakegate, persona, **overrides)
        return self.tokens[key]

    def rows(self, persona, sql, params=None, **overrides):
        with self.session(self.token(persona, **overrides)) as run:
            return run(sql, params)

    def one(self, persona, sql, params=None, **overrides):
        rows = self.rows(persona, sql, params, **overrides)
        assert len(rows) == 1, rows
        return rows[0][0] if len(rows[0]) == 1 else rows[0]

    def error(self, persona, sql, **overrides):
        """The error code `sql` ends with, or None."""
        return self.outcomes(self.token(persona, **overrides), [sql])[0]

    def outcomes(self, token, statements):
        """Runs statements in order in one session: rows or an error code for each."""
        out = []
        with self.session(token) as run:
            for sql in statements:
                try:
                    out.append(run(sql, None))
                except Exception as e:  # noqa: BLE001 - the code is what is compared
                    out.append(self.code_of(e))
        return out


class PgClient(Client):
    transport = "pg"

    @staticmethod
    def code(sqlstate):
        return sqlstate

    @staticmethod
    def code_of(error):
        if isinstance(error, psycopg.Error) and error.sqlstate:
            return error.sqlstate
        raise error

    @contextmanager
    def session(self, token):
        with psycopg.connect(**self.lakegate.dsn(token), autocommit=True) as conn:
            def run(sql, params):
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else []

            yield run

    def columns(self, persona, sql):
        with psycopg.connect(**self.lakegate.dsn(self.token(persona)), autocommit=True) as conn:
            return [d.name for d in conn.execute(sql + " LIMIT 0").description]

    def message(self, persona, sql):
        with psycopg.connect(**self.lakegate.dsn(self.token(persona)), autocommit=True) as conn:
            with pytest.raises(psycopg.Error) as e:
                conn.execute(sql)
            return str(e.value)

    def every_binding(self, persona, sql, params):
        """The rows through every way this transport binds parameters."""
        with psycopg.connect(**self.lakegate.dsn(self.token(persona)), autocommit=True) as conn:
            out = [conn.execute(sql, params, prepare=p).fetchall() for p in (True, False)]
            out.append(psycopg.ClientCursor(conn).execute(sql, params).fetchall())
            return out

    def login_error(self, token):
        import rawpg

        outcome, fields = rawpg.login("127.0.0.1", self.lakegate.port, "token", token)
        return fields.get("C") if outcome == "error" else None


class FlightClient(Client):
    transport = "flight"

    @staticmethod
    def code(sqlstate):
        return GRPC[sqlstate]

    @staticmethod
    def code_of(error):
        if isinstance(error, (flight.FlightError, pa.ArrowException)):
            return flightsql.code(error)
        raise error

    @contextmanager
    def session(self, token):
        sql_client = flightsql.FlightSql(self.lakegate.flight(), token)

        def run(sql, params):
            if params is None:
                return flightsql.rows(sql_client.query(sql))
            return flightsql.rows(sql_client.query_params(to_dollar(sql), list(params)))

        yield run
        sql_client.client.close()

    def columns(self, persona, sql):
        return self._client(persona).query(sql + " LIMIT 0").schema.names

    def message(self, persona, sql):
        with pytest.raises((flight.FlightError, pa.ArrowException)) as e:
            self._client(persona).query(sql)
        return str(e.value)

    def every_binding(self, persona, sql, params):
        return [self.rows(persona, sql, params)]

    def login_error(self, token):
        try:
            flightsql.FlightSql(self.lakegate.flight(), token).query("SELECT 1")
        except flight.FlightError as e:
            return flightsql.code(e)
        return None

    def _client(self, persona):
        return flightsql.FlightSql(self.lakegate.flight(), self.token(persona))


def to_dollar(sql):
    """psycopg's %s placeholders as the $n ones the server takes."""
    parts = sql.split("%s")
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts)).replace("%%", "%")


@pytest.fixture(scope="module", params=[PgClient, FlightClient], ids=["pg", "flight"])
def client(request, lakegate):
    return request.param(lakegate)


@pytest.fixture(scope="module")
def truth(client):
    """What the analyst must see, computed from unrestricted data."""
    ward = lambda sql: client.one("engineer", sql.format(t=T, w=f"ward_code = '{WARD}'"))
    return {
        "count": ward("SELECT count(*) FROM {t} WHERE {w}"),
        "sum": ward("SELECT sum(amount) FROM {t} WHERE {w}"),
        "officers": ward("SELECT min(officer_id), max(officer_id) FROM {t} WHERE {w}"),
        "total": client.one("engineer", f"SELECT count(*) FROM {T}"),
        "raw_vrm": ward("SELECT min(vrm) FROM {t} WHERE {w}"),
        "bhs": ward("SELECT count(*) FROM {t} WHERE {w} AND vrm LIKE '%BHS'"),
    }


# --- predicate tricks -------------------------------------------------------------------

@pytest.mark.parametrize("sql", [
    f"SELECT count(*) FROM {T}",
    f"SELECT count(*) FROM {T} WHERE 1 = 1 OR ward_code <> 'x'",
    f"SELECT count(*) FROM {T} WHERE ward_code = '{WARD}' OR true",
    f"SELECT count(*) FROM (SELECT * FROM {T}) s",
    f"WITH x AS (SELECT * FROM {T}) SELECT count(*) FROM x",
    f"SELECT count(*) FROM {T} a JOIN {T} b ON a.pcn = b.pcn",
    f"SELECT count(*) FROM (SELECT pcn FROM {T} UNION ALL SELECT pcn FROM {T} WHERE false) u",
    f"SELECT max(c) FROM (SELECT count(*) OVER () AS c FROM {T}) w",
    f"SELECT count(*) FROM {T} WHERE 1 / (CASE WHEN ward_code = '{OTHER_WARD}' THEN 0 ELSE 1 END) = 1",
    f"SELECT count(*) FROM {T} WHERE CASE WHEN ward_code = '{OTHER_WARD}' THEN CAST(vrm AS INT) ELSE 1 END = 1",
    f"SELECT count(*) FROM {T} WHERE pcn IN (SELECT pcn FROM {T})",
])
def test_every_way_of_counting_sees_only_own_wards(client, truth, sql):
    assert client.one("analyst", sql) == truth["count"]


@pytest.mark.parametrize("sql, expected", [
    (f"SELECT count(*) FROM {T} WHERE ward_code = '{OTHER_WARD}'", 0),
    (f"SELECT count(DISTINCT ward_code) FROM {T}", 1),
    (f"SELECT count(*) FROM unrestricted_raw_zone.wards w WHERE EXISTS (SELECT 1 FROM {T} t WHERE t.ward_code = w.ward_code)", 1),
    (f"SELECT count(*) FROM unrestricted_raw_zone.wards WHERE ward_code IN (SELECT ward_code FROM {T})", 1),
    (f"SELECT count(*) FROM (SELECT ward_code FROM {T} UNION SELECT ward_code FROM {T}) u", 1),
    (f"SELECT min(ward_code) || max(ward_code) FROM {T}", WARD + WARD),
    (f"SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets_latest WHERE ward_code <> '{WARD}'", 0),
])
def test_hidden_rows_leave_no_trace(client, sql, expected):
    assert client.one("analyst", sql) == expected


def test_aggregates_and_statistics_cover_only_visible_rows(client, truth):
    assert client.one("analyst", f"SELECT sum(amount) FROM {T}") == truth["sum"]
    assert client.one("analyst", f"SELECT min(officer_id), max(officer_id) FROM {T}") == truth["officers"]
    rows = client.rows("analyst", f"SELECT ward_code, count(*) FROM {T} GROUP BY 1")
    assert rows == [(WARD, truth["count"])]
    assert truth["count"] < truth["total"]


# --- masks ------------------------------------------------------------------------------

def test_plates_are_masked_and_compare_as_masked(client, truth):
    vrms = [r[0] for r in client.rows("analyst", f"SELECT vrm FROM {T}")]
    assert vrms and all(re.fullmatch(r"XX00 [A-Z]{3}", v) for v in vrms), vrms[:5]
    assert client.one("analyst", f"SELECT count(*) FROM {T} WHERE vrm = %s", (truth["raw_vrm"],)) == 0
    assert client.one("analyst", f"SELECT count(*) FROM {T} WHERE vrm LIKE '%%BHS'") == truth["bhs"]
    assert client.one("analyst", f"SELECT count(*) FROM {T} WHERE substr(vrm, 1, 2) <> 'XX'") == 0


def test_cells_are_raw_where_an_unmasked_grant_holds(client, truth):
    sql = f"SELECT ward_code = '{WARD}', substr(vrm, 3, 2) = '00', count(*) FROM {T} GROUP BY 1, 2 ORDER BY 1, 2"
    rows = client.rows("enforcement_manager", sql)
    assert rows == [(False, True, truth["total"] - truth["count"]), (True, False, truth["count"])]


def test_housing_officer_sees_own_teams_with_names_and_birth_dates_masked(client):
    t = "housing_raw_zone.tenancies"
    assert client.rows("housing", f"SELECT DISTINCT team FROM {t} ORDER BY 1") == [("central",), ("north",)]
    names = [r[0] for r in client.rows("housing", f"SELECT tenant_name FROM {t}")]
    assert names and all(re.fullmatch(r"X+ X+", n.replace("x", "X")) for n in names), names[:3]
    births = client.rows("housing", f"SELECT DISTINCT extract(month FROM date_of_birth), extract(day FROM date_of_birth) FROM {t}")
    assert [tuple(int(v) for v in r) for r in births] == [(1, 1)]
    sectors = [r[0] for r in client.rows("housing", f"SELECT DISTINCT postcode FROM {t}")]
    assert all(re.fullmatch(r"[A-Z]+\d+ \d", s) for s in sectors), sectors[:5]


def test_hashed_ids_still_join_and_group(client):
    t = "revenues_raw_zone.council_tax_accounts"
    for sql in [
        f"SELECT count(DISTINCT property_uprn) FROM {t}",
        f"SELECT count(*) FROM {t} a JOIN revenues_raw_zone.council_tax_accounts_latest b ON a.property_uprn = b.property_uprn",
        f"SELECT count(*) FROM (SELECT property_uprn FROM {t} GROUP BY 1 HAVING count(*) > 1) g",
    ]:
        assert client.one("revenues", sql) == client.one("engineer", sql)
    raw = [r[0] for r in client.rows("engineer", f"SELECT property_uprn FROM {t} LIMIT 20")]
    hashed = {r[0] for r in client.rows("revenues", f"SELECT property_uprn FROM {t}")}
    assert not hashed.intersection(raw)


# --- restricts --------------------------------------------------------------------------

def test_safeguarding_cases_are_hidden_from_everyone_outside_the_group(client):
    t = "housing_raw_zone.tenancies"
    for persona in ("engineer", "housing"):
        assert client.one(persona, f"SELECT count(*) FROM {t} WHERE safeguarding_case") == 0
    assert client.one("safeguarding", f"SELECT count(*) FROM {t} WHERE safeguarding_case") > 0
    assert client.one("safeguarding", f"SELECT count(*) FROM {t}") > client.one("engineer", f"SELECT count(*) FROM {t}")


# --- hidden columns ---------------------------------------------------------------------

def test_excluded_columns_do_not_exist(client):
    t = "revenues_raw_zone.council_tax_accounts"
    assert client.error("revenues", f"SELECT balance FROM {t}") == client.code("42703")
    assert client.error("revenues", f"SELECT no_such_column FROM {t}") == client.code("42703")
    assert client.error("revenues", f"SELECT balanc FROM {t}") == client.code("42703")
    assert "balance" not in client.message("revenues", f"SELECT balanc FROM {t}")
    columns = client.columns("revenues", f"SELECT * FROM {t}")
    assert "balance" not in columns and "property_uprn" in columns
    assert client.one("revenues", "SELECT count(*) FROM information_schema.columns WHERE column_name = 'balance'") == 0
    assert client.one("revenues", "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attname = 'balance'") == 0
    assert client.one("engineer", "SELECT count(*) FROM information_schema.columns WHERE column_name = 'balance'") > 0


def test_a_hidden_relation_reads_as_a_missing_one_wherever_it_is_named(client):
    """Relations are looked up before planning (gateway/src/session.rs): a table the persona
    cannot see gets the SQLSTATE and message of one that never existed, named in a join, a
    subquery or a CTE's body; a CTE's name is no relation, and a name called with arguments
    is a table function while the same name without them is a relation like any other."""
    for sql in [
        f"SELECT * FROM {T}",
        f"SELECT 1 FROM unrestricted_raw_zone.wards w JOIN {T} t ON true",
        f"SELECT 1 WHERE EXISTS (SELECT 1 FROM {T})",
        f"WITH h AS (SELECT * FROM {T}) SELECT 1 FROM h",
        "SELECT * FROM parking_raw_zone.no_such_table",
        "SELECT * FROM generate_series",
    ]:
        assert client.error("public", sql) == client.code("42P01"), sql
    assert client.one("public", "WITH tickets AS (SELECT 1 AS a) SELECT a FROM tickets") == 1
    assert client.one("public", "SELECT count(*) FROM generate_series(1, 3)") == 3
    if client.transport == "pg":
        hidden = client.message("public", f"SELECT * FROM {T}").splitlines()[0]
        missing = client.message("public", "SELECT * FROM parking_raw_zone.no_such_table").splitlines()[0]
        assert hidden == f'relation "{T}" does not exist'
        assert missing == hidden.replace("liberator_pcn_tickets", "no_such_table")


# --- settings, catalogs and EXPLAIN ------------------------------------------------------

def test_search_path_role_and_authorization_change_nothing(client):
    outcomes = client.outcomes(client.token("public"), [
        "SET search_path TO parking_raw_zone", "SET ROLE \"dee.engineer\"",
        "SET SESSION AUTHORIZATION \"dee.engineer\"",
        "SELECT count(*) FROM liberator_pcn_tickets", f"SELECT count(*) FROM {T}",
    ])
    assert outcomes == [[], [], [], client.code("42P01"), client.code("42P01")]


@pytest.mark.parametrize("sql", [
    "SHOW datafusion.execution.target_partitions",
    "SHOW datafusion.catalog.default_catalog",
])
def test_engine_settings_are_not_shown(client, sql):
    assert client.error("analyst", sql) == client.code("42704")


def test_explain_shows_the_secured_scan_but_no_literals_or_paths(client):
    text = "\n".join(r[1] for r in client.rows("analyst", f"EXPLAIN SELECT * FROM {T}"))
    assert "SecuredScanExec" in text and "policy=" in text
    for secret in (WARD, ".parquet", "/lake/", "claim"):
        assert secret not in text, text
    verbose = "\n".join(str(r) for r in client.rows("analyst", f"EXPLAIN VERBOSE SELECT * FROM {T}"))
    for secret in (WARD, ".parquet", "/lake/"):
        assert secret not in verbose


@pytest.mark.parametrize("sql", [
    f"EXPLAIN ANALYZE SELECT * FROM {T}",
    f"DROP TABLE {T}",
    f"CREATE VIEW v AS SELECT * FROM {T}",
    f"INSERT INTO {T} SELECT * FROM {T}",
    f"DELETE FROM {T}",
    f"COPY {T} TO '/tmp/tickets.csv'",
    f"COPY {T} FROM '/etc/passwd'",
    "SET datafusion.execution.batch_size = 1",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM read_parquet('/tmp/x.parquet')",
    "SELECT * FROM 's3://dataplatform-prod-raw-zone/parking/x.parquet'",
])
def test_forbidden_statements_are_42501(client, sql):
    assert client.error("analyst", sql) == client.code("42501")


# --- parameters and prepared statements ----------------------------------------------------

def test_prepared_statements_with_parameters_respect_the_policy(client, truth):
    sql = f"SELECT count(*) FROM {T} WHERE ward_code = %s"
    for ward, expected in [(OTHER_WARD, 0), (WARD, truth["count"]), (f"{OTHER_WARD}' OR '1'='1", 0)]:
        for rows in client.every_binding("analyst", sql, (ward,)):
            assert rows == [(expected,)], (ward, rows)


# --- claims -----------------------------------------------------------------------------

@pytest.mark.parametrize("attrs", [
    [("wards", f"{OTHER_WARD}') OR ('1'='1")],
    [("wards", "' OR 1=1 --")],
    [("wards", "")],
    [],
])
def test_odd_missing_or_empty_claims_give_zero_rows(client, attrs):
    assert client.one("analyst", f"SELECT count(*) FROM {T}", attrs=attrs) == 0


# --- isolation ---------------------------------------------------------------------------

def test_two_principals_running_the_same_sql_concurrently_see_their_own_rows(client, truth):
    sql = f"SELECT count(*), min(substr(vrm, 3, 2)) FROM {T}"
    expected = {"analyst": (truth["count"], "00"), "engineer": (truth["total"], "10")}
    failures = []

    def run(persona):
        with client.session(client.token(persona)) as query:
            for _ in range(15):
                got = query(sql, None)
                if got != [expected[persona]]:
                    failures.append((persona, got))

    threads = [threading.Thread(target=run, args=(p,)) for p in ("analyst", "engineer") * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:4]


# --- forged and oddly-typed tokens --------------------------------------------------------

def _dev_key(lakegate):
    """The demo's Ed25519 signing key. It is PKCS#8 v2 (with the public key), which the
    `cryptography` package does not read, so take the 32-byte seed from its DER."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = (lakegate.dir / "keys/dev-signing.pem").read_text()
    der = base64.b64decode("".join(line for line in pem.splitlines() if "-----" not in line))
    start = der.index(bytes([0x04, 0x22, 0x04, 0x20])) + 4
    return Ed25519PrivateKey.from_private_bytes(der[start:start + 32])


def _sign(lakegate, claims, kid="lakegate-demo-1"):
    import time as _time

    import jwt

    key = _dev_key(lakegate)
    now = int(_time.time())
    body = {"iss": "https://lakegate.demo/issuer", "aud": "lakegate", "sub": "odd", "exp": now + 600,
            "nbf": now - 5, **claims}
    return jwt.encode(body, key, algorithm="EdDSA", headers={"kid": kid})


@pytest.mark.parametrize("claims", [
    {"wards": {"E05009372": True}},
    {"departments": [["parking"]]},
    {"groups": 7.5},
    {"sub": ["pat.parking"]},
])
def test_wrongly_typed_claims_are_refused_at_login(lakegate, client, claims):
    assert client.login_error(_sign(lakegate, claims)) == client.code("28P01")


def test_a_well_typed_hand_signed_token_works_and_binds_its_claims(lakegate, client):
    good = _sign(lakegate, {"departments": ["parking"], "groups": ["operational", "parking-analyst"],
                            "wards": ["E05009372"]})
    with client.session(good) as query:
        assert query(f"SELECT count(DISTINCT ward_code) FROM {T}", None) == [(1,)]
    unknown_kid = _sign(lakegate, {"departments": ["parking"]}, kid="someone-elses-key")
    assert client.login_error(unknown_kid) == client.code("28P01")

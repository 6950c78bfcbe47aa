"""What each client does when a BI tool or notebook connects with its default settings,
browses and queries — run against PostgreSQL 15 by `capture.py` to record the SQL the
client sends. Nothing here asserts: the replay tests do, against lakegate.

Every client connects as user `token` to database `lake` over TLS, as against lakegate."""

import asyncio
import json
import os
import ssl
import subprocess
import tempfile
from pathlib import Path

T = "parking_raw_zone.liberator_pcn_tickets"
JAR = Path("/usr/share/java/postgresql.jar")
ODBC = "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so"
PROBE = Path(__file__).resolve().parents[1] / "jdbc/JdbcProbe.java"


def psql(port, password, cafile):
    env = {**os.environ, "PGPASSWORD": password}
    conn = f"host=127.0.0.1 port={port} dbname=lake user=token sslmode=require"
    commands = [
        r"\l", r"\dn", r"\dt *.*", r"\dv parking_raw_zone.*", r"\d+ " + T, r"\d unrestricted_raw_zone.wards",
        r"\df", r"\di unrestricted_raw_zone.*", r"\dt+ parking_raw_zone.*",
        r"\copy (SELECT pcn, amount FROM " + T + " LIMIT 5) TO STDOUT WITH (FORMAT csv, HEADER)",
    ]
    for command in commands:
        subprocess.run(["psql", conn, "-X", "-c", command], env=env, capture_output=True, timeout=60)
    subprocess.run(["psql", conn, "-X", "-v", "FETCH_COUNT=100", "-c", f"SELECT * FROM {T}"],
                   env=env, capture_output=True, timeout=60)


def jdbc(port, password, cafile):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["javac", "-cp", str(JAR), "-d", out, str(PROBE)], check=True)
        subprocess.run(["java", "-cp", f"{JAR}:{out}", "JdbcProbe", str(port), password,
                        "parking_raw_zone", "liberator_pcn_tickets", "ward_code", "E05009372"],
                       capture_output=True, timeout=120)


def _odbc(port, password, extra):
    import pyodbc

    conn = pyodbc.connect(f"Driver={ODBC};Server=127.0.0.1;Port={port};Database=lake;UID=token;"
                          f"PWD={password};SSLmode=require;{extra}", timeout=10)
    cur = conn.cursor()
    cur.tables().fetchall()
    cur.columns(table="liberator_pcn_tickets", schema="parking_raw_zone").fetchall()
    cur.primaryKeys("wards", schema="unrestricted_raw_zone").fetchall()
    cur.foreignKeys(foreignTable="liberator_pcn_tickets", foreignSchema="parking_raw_zone").fetchall()
    cur.foreignKeys(table="wards", schema="unrestricted_raw_zone").fetchall()
    cur.statistics("wards", schema="unrestricted_raw_zone").fetchall()
    cur.getTypeInfo().fetchall()
    cur.execute(f"SELECT count(*) FROM {T} WHERE ward_code = ?", "E05009372").fetchall()
    cur.execute(f"SELECT pcn, vrm, amount, pcn_issue_date FROM {T}").fetchall()
    conn.close()


def odbc(port, password, cafile):
    _odbc(port, password, "")


def odbc_tableau(port, password, cafile):
    _odbc(port, password, "UseDeclareFetch=1;Fetch=2048;")


def sqlalchemy(port, password, cafile):
    import sqlalchemy as sa

    url = sa.engine.URL.create("postgresql+psycopg", username="token", password=password, host="127.0.0.1",
                               port=port, database="lake", query={"sslmode": "require"})
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    for schema in inspector.get_schema_names():
        if schema != "parking_raw_zone" and schema != "unrestricted_raw_zone":
            continue
        for table in inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema):
            inspector.get_columns(table, schema=schema)
            inspector.get_pk_constraint(table, schema=schema)
            inspector.get_foreign_keys(table, schema=schema)
            inspector.get_indexes(table, schema=schema)
            inspector.get_unique_constraints(table, schema=schema)
            inspector.get_table_comment(table, schema=schema)
    inspector.get_multi_columns(schema="parking_raw_zone")
    with engine.connect() as conn:
        conn.execute(sa.text(f"SELECT ward_code, count(*) FROM {T} GROUP BY ward_code")).fetchall()
    engine.dispose()


def psycopg(port, password, cafile):
    import psycopg as pg

    with pg.connect(host="127.0.0.1", port=port, dbname="lake", user="token", password=password,
                    sslmode="require", autocommit=True) as conn:
        for binary in (False, True):
            cur = conn.cursor(binary=binary)
            cur.execute(f"SELECT pcn, amount, pcn_issue_date, pcn_issue_datetime, is_paid, officer_id FROM {T} "
                        "WHERE ward_code = %s LIMIT 5", ("E05009372",)).fetchall()
            cur.execute("SELECT count(*), 1, 'x'::text, current_user, current_schema(), version()").fetchall()


def asyncpg(port, password, cafile):
    import asyncpg as apg

    async def session():
        conn = await apg.connect(host="127.0.0.1", port=port, user="token", database="lake", password=password,
                                 ssl=ssl.create_default_context(cafile=cafile))
        try:
            await conn.fetch(f"SELECT pcn, amount, pcn_issue_date, is_paid FROM {T} WHERE ward_code = $1 LIMIT 5",
                             "E05009372")
            await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
            # What asyncpg runs on meeting a type OID it has no codec for.
            await conn._introspect_types([114, 1005], 30)
            statement = await conn.prepare(f"SELECT count(*) FROM {T} WHERE officer_id > $1")
            await statement.fetchval(0)
            async with conn.transaction():
                async for _ in conn.cursor(f"SELECT pcn FROM {T}", prefetch=50):
                    pass
        finally:
            await conn.close()

    asyncio.run(session())


# What Npgsql (Power BI's driver) sends as one simple query when it opens a connection
# (PostgresDatabaseInfo: version, types with ranges and multiranges, free-standing composite
# fields, enum labels), written out from the driver's source: .NET is not installable here.
NPGSQL_STARTUP = """SELECT version();
SELECT ns.nspname, t.oid, t.typname, t.typtype, t.typnotnull, t.elemtypoid
FROM (
    SELECT typ.oid, typ.typnamespace, typ.typname, typ.typtype, typ.typrelid, typ.typnotnull, typ.relkind,
        elemtyp.oid AS elemtypoid, elemtyp.typname AS elemtypname, elemcls.relkind AS elemrelkind,
        CASE WHEN elemproc.proname='array_recv' THEN 'a' ELSE elemtyp.typtype END AS elemtyptype
    FROM (
        SELECT typ.oid, typnamespace, typname, typrelid, typnotnull, relkind, typelem AS elemoid,
            CASE WHEN proc.proname='array_recv' THEN 'a' ELSE typ.typtype END AS typtype,
            CASE
                WHEN proc.proname='array_recv' THEN typ.typelem
                WHEN typ.typtype='r' THEN rngsubtype
                WHEN typ.typtype='m' THEN (SELECT rngtypid FROM pg_range WHERE rngmultitypid = typ.oid)
                WHEN typ.typtype='d' THEN typ.typbasetype
            END AS elemtypoid
        FROM pg_type AS typ
        LEFT JOIN pg_class AS cls ON (cls.oid = typ.typrelid)
        LEFT JOIN pg_proc AS proc ON proc.oid = typ.typreceive
        LEFT JOIN pg_range ON (pg_range.rngtypid = typ.oid)
    ) AS typ
    LEFT JOIN pg_type AS elemtyp ON elemtyp.oid = elemtypoid
    LEFT JOIN pg_class AS elemcls ON (elemcls.oid = elemtyp.typrelid)
    LEFT JOIN pg_proc AS elemproc ON elemproc.oid = elemtyp.typreceive
) AS t
JOIN pg_namespace AS ns ON (ns.oid = typnamespace)
WHERE
    typtype IN ('b', 'r', 'm', 'e', 'd') OR
    (typtype = 'c' AND relkind='c') OR
    (typtype = 'p' AND typname IN ('record', 'void')) OR
    (typtype = 'a' AND (
        elemtyptype IN ('b', 'r', 'm', 'e', 'd') OR
        (elemtyptype = 'p' AND elemtypname IN ('record', 'void')) OR
        (elemtyptype = 'c' AND elemrelkind='c')
    ))
ORDER BY CASE
       WHEN typtype IN ('b', 'e', 'p') THEN 0
       WHEN typtype = 'r' THEN 1
       WHEN typtype = 'm' THEN 2
       WHEN typtype = 'c' THEN 3
       WHEN typtype = 'd' AND elemtyptype <> 'a' THEN 4
       WHEN typtype = 'a' THEN 5
       WHEN typtype = 'd' AND elemtyptype = 'a' THEN 6
END;
SELECT typ.oid, att.attname, att.atttypid
FROM pg_type AS typ
JOIN pg_namespace AS ns ON (ns.oid = typ.typnamespace)
JOIN pg_class AS cls ON (cls.oid = typ.typrelid)
JOIN pg_attribute AS att ON (att.attrelid = typ.typrelid)
WHERE
  (typ.typtype = 'c' AND cls.relkind='c') AND
  attnum > 0 AND
  NOT attisdropped
ORDER BY typ.oid, att.attnum;
SELECT pg_type.oid, enumlabel
FROM pg_enum
JOIN pg_type ON pg_type.oid=enumtypid
ORDER BY oid, enumsortorder;
"""


def npgsql(port, password, cafile):
    """Npgsql's connection start-up batch, then a query in binary as Npgsql runs every
    query (extended protocol, binary results)."""
    import psycopg as pg

    with pg.connect(host="127.0.0.1", port=port, dbname="lake", user="token", password=password,
                    sslmode="require", autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute(NPGSQL_STARTUP, prepare=False)
        while cur.nextset():
            pass
        cur = conn.cursor(binary=True)
        cur.execute(f"SELECT * FROM {T} WHERE ward_code = %s", ("E05009372",)).fetchall()


CLIENTS = {
    "psql": psql,
    "jdbc": jdbc,
    "odbc": odbc,
    "odbc_tableau": odbc_tableau,
    "sqlalchemy": sqlalchemy,
    "psycopg": psycopg,
    "asyncpg": asyncpg,
    "npgsql": npgsql,
}

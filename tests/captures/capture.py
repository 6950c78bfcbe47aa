"""Records the SQL real clients send, for the replay tests.

Starts PostgreSQL 15 (Debian's postgresql-15) with `log_statement = all`, recreates in it
the analyst's view of the demo lake (schemas, tables, views, comments and keys, read from
lakegate itself), runs each client of `clients.py` against it with its default settings,
and writes `tests/captures/<client>.json`: the statements each session sent, in order, with
the result columns (name, type OID) of each result PostgreSQL answered, or the SQLSTATE it failed with.

Run as root with `scripts/capture` (PostgreSQL runs as the `postgres` user)."""

import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

from clients import CLIENTS  # noqa: E402
from conftest import Lakegate  # noqa: E402
from personas import token  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT = 55440
PERSONA = "analyst"


def as_postgres(*args):
    subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, text=True)


def start_postgres(root: Path, cert: Path, key: Path) -> Path:
    data = root / "pg15"
    data.mkdir(parents=True)
    root.parent.chmod(0o755)
    shutil.chown(root, "postgres", "postgres")
    shutil.chown(data, "postgres", "postgres")
    as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres")
    for source, name in ((cert, "server.crt"), (key, "server.key")):
        shutil.copy(source, data / name)
        shutil.chown(data / name, "postgres", "postgres")
        (data / name).chmod(0o600)
    settings = {
        "listen_addresses": "'127.0.0.1'", "port": str(PG_PORT), "unix_socket_directories": "'/tmp'",
        "ssl": "on", "log_statement": "'all'", "logging_collector": "on", "log_destination": "'csvlog'",
        "log_directory": "'log'", "log_filename": "'pg'",
    }
    with open(data / "postgresql.conf", "a") as conf:
        conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w", "start")
    subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", "postgres",
                    "-c", "CREATE ROLE token LOGIN", "-c", "CREATE DATABASE lake OWNER token"],
                   check=True, capture_output=True)
    return data


def stop_postgres(data: Path):
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop")


def pg(**kw):
    return psycopg.connect(host="127.0.0.1", port=PG_PORT, dbname="lake", user="token", sslmode="require",
                           autocommit=True, **kw)


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def load_schema(lakegate):
    """The analyst's schemas, tables, views, comments and keys, as lakegate shows them."""
    with psycopg.connect(**lakegate.dsn(token(lakegate, PERSONA)), autocommit=True) as lg:
        tables = lg.execute("SELECT table_schema, table_name, table_type FROM information_schema.tables "
                            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                            "ORDER BY table_type, table_schema, table_name").fetchall()
        columns = lg.execute("SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                             "ORDER BY table_schema, table_name, ordinal_position").fetchall()
        described = lg.execute("SELECT schema_name, table_name, description FROM lakegate.datasets").fetchall()
        column_docs = lg.execute("SELECT schema_name, table_name, column_name, description FROM lakegate.columns "
                                 "WHERE description IS NOT NULL").fetchall()
        keys = lg.execute("SELECT c.table_schema, c.table_name, c.constraint_name, c.constraint_type, "
                          "u.column_name FROM information_schema.table_constraints c "
                          "JOIN information_schema.key_column_usage u ON u.constraint_name = c.constraint_name "
                          "AND u.table_schema = c.table_schema ORDER BY c.constraint_type DESC").fetchall()
        relationships = lg.execute("SELECT schema_name, table_name, column_name, references_schema, "
                                   "references_table, references_column FROM lakegate.relationships").fetchall()
    by_table = {}
    for schema, table, column, data_type in columns:
        by_table.setdefault((schema, table), []).append(f"{quote(column)} {data_type}")
    kinds = {(s, t): kind for s, t, kind in tables}
    with pg() as conn:
        for schema in sorted({s for s, _, _ in tables}):
            conn.execute(f"CREATE SCHEMA {quote(schema)}")
        for (schema, table), kind in kinds.items():
            name = f"{quote(schema)}.{quote(table)}"
            base = (schema, table.removesuffix("_latest"))
            if kind == "VIEW" and base in kinds and base != (schema, table):
                conn.execute(f"CREATE VIEW {name} AS SELECT * FROM {quote(base[0])}.{quote(base[1])}")
            else:
                conn.execute(f"CREATE TABLE {name} ({', '.join(by_table[(schema, table)])})")
        for schema, table, text in described:
            if text:
                kind = "VIEW" if kinds.get((schema, table)) == "VIEW" else "TABLE"
                conn.execute(f"COMMENT ON {kind} {quote(schema)}.{quote(table)} IS {literal(text)}")
        for schema, table, column, text in column_docs:
            conn.execute(f"COMMENT ON COLUMN {quote(schema)}.{quote(table)}.{quote(column)} IS {literal(text)}")
        for schema, table, name, kind, column in keys:
            if kind == "PRIMARY KEY" and kinds.get((schema, table)) == "BASE TABLE":
                conn.execute(f"ALTER TABLE {quote(schema)}.{quote(table)} ADD CONSTRAINT {quote(name)} "
                             f"PRIMARY KEY ({quote(column)})")
        for schema, table, column, ref_schema, ref_table, ref_column in relationships:
            if kinds.get((schema, table)) == kinds.get((ref_schema, ref_table)) == "BASE TABLE":
                conn.execute(f"ALTER TABLE {quote(schema)}.{quote(table)} ADD CONSTRAINT "
                             f"{quote(f'{table}_{column}_fkey')} FOREIGN KEY ({quote(column)}) "
                             f"REFERENCES {quote(ref_schema)}.{quote(ref_table)} ({quote(ref_column)})")


def literal(text):
    return "'" + text.replace("'", "''") + "'"


PARAMETER = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
MESSAGE = re.compile(r"^(?:statement|execute [^:]+): (.*)$", re.S)


def logged_statements(log: Path, skip: int):
    """(session, sql) of each statement logged after the first `skip` rows, parameters
    written in as literals."""
    with open(log, newline="") as f:
        rows = list(csv.reader(f))[skip:]
    statements = []
    for row in rows:
        user, database, session, severity, message, detail = row[1], row[2], row[5], row[11], row[13], row[14]
        m = MESSAGE.match(message)
        if user != "token" or database != "lake" or severity != "LOG" or not m:
            continue
        sql = m.group(1)
        if detail.startswith("parameters: "):
            values = dict(PARAMETER.findall(detail))
            for n in sorted(values, key=int, reverse=True):
                sql = re.sub(rf"\${n}(?!\d)", values[n], sql)
        # Prepared statements of the protocol do not exist when the SQL is run again.
        sql = re.sub(r'DEALLOCATE\s+("[^"]*"|\w+)', "DEALLOCATE ALL", sql, flags=re.I)
        statements.append((session, sql))
    return statements


def log_rows(log: Path):
    if not log.exists():
        return 0
    with open(log, newline="") as f:
        return sum(1 for _ in csv.reader(f))


def answers(sessions):
    """Each statement run again on PostgreSQL, session by session: its result columns or
    its SQLSTATE."""
    recorded = []
    for statements in sessions:
        out = []
        with pg() as conn:
            cur = conn.cursor()
            for sql in statements:
                entry = {"sql": sql}
                try:
                    if re.match(r"\s*copy\b", sql, re.I):
                        with cur.copy(sql) as copy:
                            for _ in copy:
                                pass
                        entry["copy"] = True
                    else:
                        cur.execute(sql, prepare=False)
                        results = []
                        while True:
                            if cur.description is not None:
                                results.append([[c.name, c.type_code] for c in cur.description])
                                cur.fetchall()
                            if not cur.nextset():
                                break
                        if results:
                            entry["results"] = results
                except psycopg.Error as e:
                    entry["error"] = e.sqlstate
                out.append(entry)
        recorded.append(out)
    return recorded


def versions():
    def package(name):
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", name], capture_output=True, text=True)
        return out.stdout.strip()

    import asyncpg
    import psycopg as pg3
    import pyodbc
    import sqlalchemy

    return {
        "postgresql": package("postgresql-15"), "psql": package("postgresql-client-15"),
        "pgjdbc": package("libpostgresql-jdbc-java"), "psqlodbc": package("odbc-postgresql"),
        "pyodbc": pyodbc.version, "sqlalchemy": sqlalchemy.__version__, "psycopg": pg3.__version__,
        "asyncpg": asyncpg.__version__,
    }


def main(names):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lakegate = Lakegate(root)
        data = None
        try:
            tls = lakegate.dir / "tls"
            data = start_postgres(root / "pg", tls / "cert.pem", tls / "key.pem")
            load_schema(lakegate)
            log = data / "log" / "pg.csv"
            for name in names or CLIENTS:
                before = log_rows(log)
                CLIENTS[name](PG_PORT, "any password", str(tls / "cert.pem"))
                time.sleep(1)
                by_session = {}
                for session, sql in logged_statements(log, before):
                    by_session.setdefault(session, []).append(sql)
                capture = {
                    "client": name,
                    "captured_with": versions(),
                    "sessions": answers(list(by_session.values())),
                }
                out = HERE / f"{name}.json"
                out.write_text(json.dumps(capture, indent=1) + "\n")
                total = sum(len(s) for s in capture["sessions"])
                print(f"{name}: {total} statements in {len(by_session)} sessions -> {out.name}")
        finally:
            if data:
                stop_postgres(data)
            lakegate.proc.terminate()


if __name__ == "__main__":
    main(sys.argv[1:])

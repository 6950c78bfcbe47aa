"""Postgres-wire streaming: rows/s of TPC-H lineitem (scale 1) through lakegate and through
PostgreSQL 15 serving the same rows, to the same clients, in the same run.

Workloads: the wide table (`SELECT *`) and a narrow integer projection, each read by psql
(`-A`, unaligned text, output discarded), by `COPY (…) TO STDOUT` through psql, and by
asyncpg (binary protocol; a million rows, since asyncpg builds a Python object per value).
Both servers are reached over TCP on loopback without TLS, so the comparison is of the
servers, not of encryption. PostgreSQL's data is loaded once into benches/.data/pg15.
Run: benches/run (see benches/README.md)."""

import asyncio
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benches"))
from flight_throughput import BIN, DATA, RUNS, lake, lineitem  # noqa: E402
from serve import serve, sh  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_DATA = DATA / "pg15"
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "55432"))
LAKEGATE_TABLE = "tpch_bench_zone.lineitem"
WIDE = "SELECT * FROM {t}"
NARROW = "SELECT l_orderkey, l_partkey, l_suppkey, l_linenumber FROM {t}"
ASYNCPG_ROWS = 1_000_000

COLUMNS = """l_orderkey bigint, l_partkey bigint, l_suppkey bigint, l_linenumber integer,
    l_quantity numeric(15,2), l_extendedprice numeric(15,2), l_discount numeric(15,2),
    l_tax numeric(15,2), l_returnflag text, l_linestatus text, l_shipdate date,
    l_commitdate date, l_receiptdate date, l_shipinstruct text, l_shipmode text, l_comment text"""


def as_postgres(*args, **kwargs):
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True,
                          text=True, **kwargs)


def postgres(parquet):
    """A PostgreSQL 15 cluster of its own holding lineitem; started, and stopped at exit."""
    if not (PG_DATA / "PG_VERSION").exists():
        PG_DATA.mkdir(parents=True, exist_ok=True)
        shutil.chown(PG_DATA, "postgres", "postgres")
        as_postgres(str(PG_BIN / "initdb"), "-D", str(PG_DATA), "--auth=trust", "-U", "postgres")
    log = PG_DATA / "server.log"
    running = subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(PG_DATA),
                              "status"], capture_output=True).returncode == 0
    if not running:
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(PG_DATA), "-l", str(log), "-w", "-o",
                    f"-p {PG_PORT} -k /tmp -c listen_addresses=127.0.0.1 -c shared_buffers=1GB", "start")
    psql = ["psql", "-X", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", "postgres"]
    have = subprocess.run([*psql, "-At", "-c", "SELECT count(*) FROM lineitem"], capture_output=True, text=True)
    if have.returncode != 0 or int(have.stdout.strip() or 0) == 0:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        with tempfile.NamedTemporaryFile(suffix=".csv", dir=DATA) as csv:
            table = pq.read_table(parquet)
            # The CSV writer takes plain strings, not the file's string views.
            plain = pa.schema([f.with_type(pa.string()) if f.type == pa.string_view() else f for f in table.schema])
            pacsv.write_csv(table.cast(plain), csv.name, pacsv.WriteOptions(include_header=False))
            subprocess.run([*psql, "-c", f"DROP TABLE IF EXISTS lineitem; CREATE TABLE lineitem ({COLUMNS})",
                            "-c", f"\\copy lineitem FROM '{csv.name}' WITH (FORMAT csv)",
                            "-c", "VACUUM ANALYZE lineitem"], check=True, capture_output=True)
    return psql


def stop_postgres():
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(PG_DATA), "-m", "fast", "stop")


def timed(run):
    run()  # warm
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        rows = run()
        times.append(time.perf_counter() - start)
    return rows, statistics.median(times)


def psql_rows(command, sql, env):
    out = subprocess.run([*command, "-At", "-c", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode())
    return out.stdout.count(b"\n")


def asyncpg_rows(dsn, sql):
    import asyncpg

    async def fetch():
        conn = await asyncpg.connect(**dsn)
        # Python's collector, run at moments that differ between runs over millions of
        # fresh objects, would otherwise swing the client's time more than the servers differ.
        gc.collect()
        gc.disable()
        try:
            return len(await conn.fetch(sql))
        finally:
            gc.enable()
            await conn.close()

    return asyncio.run(fetch())


def main():
    parquet = lineitem()
    _, config = lake(parquet)
    pg_psql = postgres(parquet)
    server, ports = serve(BIN, config)
    port = ports["postgres"]
    token = sh(BIN, "token", "--config", str(config), "--sub", "bench", "--department", "tpch", "--group", "bench")
    targets = {
        "postgresql": (pg_psql, "lineitem", {**os.environ},
                       dict(host="127.0.0.1", port=PG_PORT, user="postgres", database="postgres")),
        "lakegate": (["psql", "-X", f"host=127.0.0.1 port={port} dbname=lake user=token sslmode=disable"],
                     LAKEGATE_TABLE, {**os.environ, "PGPASSWORD": token},
                     dict(host="127.0.0.1", port=port, user="token", password=token, database="lake", ssl=False)),
    }
    results = {}
    try:
        for shape, query in [("wide", WIDE), ("narrow", NARROW)]:
            for name, (psql, table, env, dsn) in targets.items():
                sql = query.format(t=table)
                cases = {
                    "psql -A": lambda: psql_rows(psql, sql, env),
                    "COPY TO STDOUT": lambda: psql_rows(psql, f"COPY ({sql}) TO STDOUT", env),
                    "asyncpg": lambda: asyncpg_rows(dsn, f"{sql} LIMIT {ASYNCPG_ROWS}"),
                }
                for client, run in cases.items():
                    rows, seconds = timed(run)
                    results.setdefault(f"{shape} / {client}", {})[name] = {"rows": rows, "seconds": seconds,
                                                                           "rows_per_s": rows / seconds}
    finally:
        server.kill()
        stop_postgres()
    for case, r in results.items():
        assert r["lakegate"]["rows"] == r["postgresql"]["rows"], (case, r)
        r["ratio"] = r["lakegate"]["rows_per_s"] / r["postgresql"]["rows_per_s"]
    out = ROOT / "benches/results/pg_streaming.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": {"runs": RUNS, "binary": BIN}, "results": results}, indent=2))
    print("| workload | PostgreSQL 15 (rows/s) | lakegate (rows/s) | lakegate / PostgreSQL |")
    print("| --- | ---: | ---: | ---: |")
    for case, r in results.items():
        print(f"| {case} | {r['postgresql']['rows_per_s'] / 1e6:.2f} M | {r['lakegate']['rows_per_s'] / 1e6:.2f} M | "
              f"{r['ratio']:.2f} |")


if __name__ == "__main__":
    sys.exit(main())

"""TPC-H, all 22 queries: lakegate over Flight SQL (ADBC) and over the Postgres wire (psycopg,
binary), against DuckDB and datafusion-python in-process on the same Parquet files, in the
same run, every engine given the same thread count. Each result is compared with DuckDB's.

The queries are TPC-H's with its validation parameters (benches/tpch/*.sql); Q3, Q10, Q11 and
Q18 have tie-breaking ORDER BY columns added so results compare exactly, and the `nation`
alias of Q8 and Q9 is `nation_name` so table names can be qualified for lakegate by text.
lakegate runs its whole path for every query: token, the principal's session, planning
through the policy layer, the secured scan, and the wire. Times: the first run of each query
(cold caches in lakegate and a fresh process for the peers), and the median of the next
BENCH_RUNS runs (warm). Run: benches/run (see benches/README.md)."""

import datetime
import decimal
import json
import math
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benches"))
from flight_throughput import BIN, DATA, RUNS, SCALE, lake  # noqa: E402
from serve import serve, sh  # noqa: E402

TABLES = ["lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region"]
QUERIES = sorted((ROOT / "benches/tpch").glob("q*.sql"))
THREADS = int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))
SCHEMA = "tpch_bench_zone"


def tables():
    """The eight tables at the chosen scale, generated once by tpchgen-cli."""
    out = DATA / f"tpch-sf{SCALE}"
    missing = [t for t in TABLES if not (out / f"{t}.parquet").exists()]
    if missing:
        tpchgen = Path(sys.executable).parent / "tpchgen-cli"
        sh(str(tpchgen), "parquet", "-s", SCALE, "--tables", ",".join(missing), "--output-dir", str(out))
    return {t: out / f"{t}.parquet" for t in TABLES}


def lakegate_lake(files):
    """The bench lake: every table a dataset of the `tpch` department in the `bench` zone."""
    demo, config = lake(files["lineitem"])
    for name, path in files.items():
        folder = demo / "lake-bench/tpch" / name
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / path.name).exists():
            os.link(path, folder / path.name)
    text = config.read_text()
    if "[engine]" not in text:
        text += f"\n[engine]\ntarget_partitions = {THREADS}\n"
    config.write_text(text)
    return config


def qualified(sql):
    return re.sub(r"\b(" + "|".join(TABLES) + r")\b", SCHEMA + r".\1", sql)


def normal(value):
    """A value as every engine's answer can be compared: numbers as floats, dates as text."""
    if isinstance(value, (decimal.Decimal, int)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return value.rstrip()
    return value


def rows_of(result):
    """Rows of an Arrow table, or of the tuples a Postgres driver returns."""
    rows = result if isinstance(result, list) else [tuple(r.values()) for r in result.to_pylist()]
    return [tuple(normal(v) for v in row) for row in rows]


def same(a, b):
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        for va, vb in zip(ra, rb):
            if isinstance(va, float) and isinstance(vb, float):
                if not math.isclose(va, vb, rel_tol=1e-6, abs_tol=1e-6):
                    return False
            elif va != vb:
                return False
    return True


class DuckDB:
    name = "duckdb"

    def __init__(self, files):
        import duckdb
        self.con = duckdb.connect()
        self.con.execute(f"SET threads = {THREADS}")
        for name, path in files.items():
            self.con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")

    def run(self, sql):
        return self.con.sql(sql).to_arrow_table()


class DataFusionPython:
    name = "datafusion-python"

    def __init__(self, files):
        from datafusion import SessionConfig, SessionContext
        self.ctx = SessionContext(SessionConfig().with_target_partitions(THREADS))
        for name, path in files.items():
            self.ctx.register_parquet(name, str(path))

    def run(self, sql):
        import pyarrow as pa
        return pa.Table.from_batches(self.ctx.sql(sql).collect())


class LakegateFlight:
    name = "lakegate (Flight SQL)"

    def __init__(self, port, token):
        import adbc_driver_flightsql
        from adbc_driver_flightsql import dbapi
        options = adbc_driver_flightsql.DatabaseOptions
        self.conn = dbapi.connect(f"grpc://127.0.0.1:{port}", autocommit=True, db_kwargs={
            options.AUTHORIZATION_HEADER.value: f"Bearer {token}"})

    def run(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(qualified(sql))
            return cur.fetch_arrow_table()


class LakegatePg:
    name = "lakegate (pg wire)"

    def __init__(self, port, token):
        import psycopg
        self.conn = psycopg.connect(host="127.0.0.1", port=port, dbname="lake", user="token",
                                    password=token, sslmode="disable", autocommit=True)

    def run(self, sql):
        cur = self.conn.cursor(binary=True)
        cur.execute(qualified(sql))
        return cur.fetchall()


def timed(engine, sql):
    start = time.perf_counter()
    table = engine.run(sql)
    return time.perf_counter() - start, table


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main():
    files = tables()
    config = lakegate_lake(files)
    server, ports = serve(BIN, config)
    try:
        token = sh(BIN, "token", "--config", str(config), "--sub", "bench", "--department", "tpch",
                   "--group", "bench", "--ttl", "4h")
        engines = [DuckDB(files), DataFusionPython(files), LakegateFlight(ports["flight"], token),
                   LakegatePg(ports["postgres"], token)]
        results = {}
        for path in QUERIES:
            sql = path.read_text()
            query = path.stem
            results[query] = {}
            expected = None
            for engine in engines:
                first, table = timed(engine, sql)
                rows = rows_of(table)
                if expected is None:
                    expected = rows
                warm = [timed(engine, sql)[0] for _ in range(RUNS)]
                results[query][engine.name] = {"first_s": first, "warm_s": statistics.median(warm),
                                               "rows": len(rows), "equal_to_duckdb": same(rows, expected)}
            print(query, {e: round(r["warm_s"], 3) for e, r in results[query].items()}, flush=True)
    finally:
        server.kill()
    report(results)


def report(results):
    names = list(next(iter(results.values())).keys())
    ratio = lambda a, b: [results[q][a]["warm_s"] / results[q][b]["warm_s"] for q in results]
    summary = {
        "flight_vs_datafusion_python_geomean": geomean(ratio("lakegate (Flight SQL)", "datafusion-python")),
        "flight_vs_duckdb_geomean": geomean(ratio("lakegate (Flight SQL)", "duckdb")),
        "flight_vs_duckdb_max": max(ratio("lakegate (Flight SQL)", "duckdb")),
        "pg_vs_duckdb_geomean": geomean(ratio("lakegate (pg wire)", "duckdb")),
        "all_equal_to_duckdb": all(r["equal_to_duckdb"] for q in results.values() for r in q.values()),
    }
    out = ROOT / "benches/results/tpch.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"tpch_scale": SCALE, "threads": THREADS, "runs": RUNS, "binary": BIN}
    out.write_text(json.dumps({"meta": meta, "summary": summary, "results": results}, indent=2))
    print(f"TPC-H sf{SCALE}, {THREADS} threads, warm = median of {RUNS} runs (seconds)")
    print("| query | " + " | ".join(names) + " | Flight / datafusion-python | Flight / DuckDB | "
          "pg / DuckDB | same as DuckDB |")
    print("| --- |" + " ---: |" * (len(names) + 3) + " --- |")
    for q, r in results.items():
        times = " | ".join(f"{r[n]['warm_s']:.3f} ({r[n]['first_s']:.2f})" for n in names)
        flight = r["lakegate (Flight SQL)"]["warm_s"]
        print(f"| {q} | {times} | {flight / r['datafusion-python']['warm_s']:.2f} | "
              f"{flight / r['duckdb']['warm_s']:.2f} | "
              f"{r['lakegate (pg wire)']['warm_s'] / r['duckdb']['warm_s']:.2f} | "
              f"{'yes' if all(x['equal_to_duckdb'] for x in r.values()) else 'NO'} |")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    sys.exit(main())

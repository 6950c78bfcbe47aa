"""Concurrency: dashboard queries looped by 1 and then by 8 clients at once (psycopg over the
Postgres wire, each its own connection), for BENCH_SECONDS each, against lakegate serving
TPC-H; DuckDB runs the same loops with one cursor per client thread in the same run.
Reported: queries per second, p50 and p99 latency, and lakegate's resident memory sampled
every half second (flat means the last minute's peak is within 10% of the first's).
Run: benches/run (see benches/README.md)."""

import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benches"))
from serve import serve, sh  # noqa: E402
from tpch import BIN, THREADS, qualified, tables, lakegate_lake  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
# Three dashboard tiles over a year of data.
TILES = [
    "select l_returnflag, l_linestatus, count(*), sum(l_extendedprice) from lineitem "
    "where l_shipdate >= date '1998-01-01' group by l_returnflag, l_linestatus order by 1, 2",
    "select o_orderpriority, count(*) from orders where o_orderdate >= date '1998-01-01' "
    "group by o_orderpriority order by 1",
    "select n_name, count(*) from customer, nation where c_nationkey = n_nationkey "
    "group by n_name order by 2 desc, 1 limit 5",
]


def loop(run, until, latencies):
    i = 0
    while time.perf_counter() < until:
        start = time.perf_counter()
        run(TILES[i % len(TILES)])
        latencies.append(time.perf_counter() - start)
        i += 1


def measure(make_runner, clients):
    runners = [make_runner() for _ in range(clients)]
    latencies = [[] for _ in range(clients)]
    until = time.perf_counter() + SECONDS
    threads = [threading.Thread(target=loop, args=(r, until, l)) for r, l in zip(runners, latencies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = sorted(x for l in latencies for x in l)
    return {"clients": clients, "queries": len(every), "qps": len(every) / SECONDS,
            "p50_s": statistics.median(every), "p99_s": every[int(len(every) * 0.99) - 1]}


def resident_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(x for x in f if x.startswith("VmRSS:")).split()[1]) / 1024


def main():
    files = tables()
    config = lakegate_lake(files)
    server, ports = serve(BIN, config)
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.wait(0.5):
            samples.append(resident_mib(server.pid))

    try:
        token = sh(BIN, "token", "--config", str(config), "--sub", "bench", "--department", "tpch",
                   "--group", "bench", "--ttl", "4h")
        import psycopg

        def lakegate_runner():
            conn = psycopg.connect(host="127.0.0.1", port=ports["postgres"], dbname="lake", user="token",
                                   password=token, sslmode="disable", autocommit=True)
            return lambda sql: conn.execute(qualified(sql)).fetchall()

        lakegate_runner()(TILES[0])  # warm
        threading.Thread(target=sample, daemon=True).start()
        lakegate = [measure(lakegate_runner, 1), measure(lakegate_runner, CLIENTS)]
        stop.set()
    finally:
        server.kill()

    import duckdb
    con = duckdb.connect()
    con.execute(f"SET threads = {THREADS}")
    for name, path in files.items():
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")

    def duckdb_runner():
        cursor = con.cursor()
        return lambda sql: cursor.sql(sql).fetchall()

    duckdb_runner()(TILES[0])
    duck = [measure(duckdb_runner, 1), measure(duckdb_runner, CLIENTS)]
    tail = samples[-int(60 / 0.5):] if samples else [0]
    result = {
        "seconds": SECONDS, "threads": THREADS, "lakegate": lakegate, "duckdb": duck,
        "lakegate_scaling": lakegate[1]["qps"] / lakegate[0]["qps"],
        "lakegate_p99_over_p50": lakegate[1]["p99_s"] / lakegate[1]["p50_s"],
        "lakegate_qps_vs_duckdb_at_8": lakegate[1]["qps"] / duck[1]["qps"],
        "lakegate_rss_mib": {"first": samples[0] if samples else 0, "max": max(samples or [0]),
                             "last_minute_max": max(tail), "last": samples[-1] if samples else 0},
    }
    out = ROOT / "benches/results/concurrency.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())

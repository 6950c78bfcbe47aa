"""Many small files: a dataset of 10,000 daily partitions (one small Parquet file each, laid out
as a council's raw zone is), served through lakegate's store wrapper with a latency added to
every read and listing (`[lake] simulated_request_latency_ms`), as a remote bucket would,
and every request counted.

Measured for lakegate: the cold start (listing and every footer, until /readyz), a first and
a warm dashboard query, the warm query's LIST / GET / footer-GET counts (from /metrics, a
count, not a time) and its planning time (EXPLAIN, through the wire). The peer is DuckDB
reading the same files from local disk (no added latency) with hive partitioning, in the
same run. Run: benches/run (see benches/README.md)."""

import json
import os
import statistics
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benches"))
from flight_throughput import BIN, DATA, RUNS  # noqa: E402
from serve import serve, sh  # noqa: E402

DAYS = int(os.environ.get("BENCH_SMALL_FILES", "10000"))
LATENCY_MS = int(os.environ.get("BENCH_LATENCY_MS", "20"))
THREADS = int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))
DEMO = DATA / "small-files"
DATASET = DEMO / "lake-small/sensors/air_quality"
FIRST_DAY = date(1999, 1, 1)
TABLE = "sensors_small_zone.air_quality"
# A dashboard tile: the last 90 days by site.
DASHBOARD = ("SELECT site, count(*) AS readings, avg(no2) AS no2 FROM {t} "
             "WHERE import_date >= '{since}' GROUP BY site ORDER BY site")


def day_folder(day):
    return (f"import_year={day.year}/import_month={day.month:02d}/import_day={day.day:02d}/"
            f"import_date={day:%Y%m%d}")


def generate():
    """DAYS daily files of 48 half-hourly readings from 4 sites, written once."""
    marker = DATASET / f".complete-{DAYS}"
    if marker.exists():
        return
    sites = ["Old Street", "Clapton", "Hackney Road", "Stoke Newington"]
    for i in range(DAYS):
        day = FIRST_DAY + timedelta(days=i)
        folder = DATASET / day_folder(day)
        folder.mkdir(parents=True, exist_ok=True)
        n = 48 * len(sites)
        table = pa.table({
            "reading_id": pa.array(range(i * n, (i + 1) * n), pa.int64()),
            "site": pa.array([sites[k % len(sites)] for k in range(n)]),
            "no2": pa.array([float((i * 7 + k) % 90) for k in range(n)]),
            "pm25": pa.array([float((i * 3 + k) % 40) for k in range(n)]),
        })
        pq.write_table(table, folder / "part-00000.parquet")
    marker.touch()


def config():
    sh(BIN, "demo", "--no-serve", "--rows", "1000", "--dir", str(DEMO))
    text = (DEMO / "lakegate.toml").read_text()
    text = text.replace("[lake.zones.raw]", '[lake.zones.small]\nurl = "lake-small"\n\n[lake.zones.raw]')
    text = text.replace("[lake]\n", f"[lake]\nsimulated_request_latency_ms = {LATENCY_MS}\n", 1)
    text = text.replace("allow_plaintext_loopback = false", "allow_plaintext_loopback = true")
    text = text.replace('policy_file = "policy.toml"', 'policy_file = "bench-policy.toml"')
    text += f"\n[engine]\ntarget_partitions = {THREADS}\n"
    policy = (DEMO / "policy.toml").read_text() + '\n[[department_access]]\ngroups = ["bench"]\nzones = ["small"]\n'
    (DEMO / "bench-policy.toml").write_text(policy)
    path = DEMO / "bench.toml"
    path.write_text(text)
    return path


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("lakegate_object_store_requests_total"):
            kind = line.split('kind="')[1].split('"')[0]
            out[kind] = float(line.rsplit(" ", 1)[1])
    return out


def ready(port, started):
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                if r.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.05)


def timed(run):
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def main():
    generate()
    path = config()
    started = time.perf_counter()
    server, ports = serve(BIN, path)
    try:
        cold_start = ready(ports["http"], started)
        token = sh(BIN, "token", "--config", str(path), "--sub", "bench", "--department", "sensors",
                   "--group", "bench")
        import psycopg
        conn = psycopg.connect(host="127.0.0.1", port=ports["postgres"], dbname="lake", user="token",
                               password=token, sslmode="disable", autocommit=True)
        since = f"{FIRST_DAY + timedelta(days=DAYS - 90):%Y%m%d}"
        sql = DASHBOARD.format(t=TABLE, since=since)
        first, rows = timed(lambda: conn.execute(sql).fetchall())
        before = metrics(ports["http"])
        warm = [timed(lambda: conn.execute(sql).fetchall())[0] for _ in range(RUNS)]
        after = metrics(ports["http"])
        planning = statistics.median(timed(lambda: conn.execute("EXPLAIN " + sql).fetchall())[0]
                                     for _ in range(RUNS))
        full = "SELECT count(*), avg(no2) FROM " + TABLE
        # Every file is read: once is enough to see what per-request latency costs.
        full_warm, _ = timed(lambda: conn.execute(full).fetchall())
    finally:
        server.kill()
    requests = {k: (after.get(k, 0) - before.get(k, 0)) / RUNS for k in ("list", "get", "footer_get", "head")}

    import duckdb
    con = duckdb.connect()
    con.execute(f"SET threads = {THREADS}")
    glob = f"{DATASET}/*/*/*/*/*.parquet"
    con.execute(f"CREATE VIEW air_quality AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
    duck_sql = DASHBOARD.format(t="air_quality", since=since)
    duck_first, duck_rows = timed(lambda: con.sql(duck_sql).fetchall())
    duck_warm = statistics.median(timed(lambda: con.sql(duck_sql).fetchall())[0] for _ in range(RUNS))
    duck_full = statistics.median(timed(lambda: con.sql("SELECT count(*), avg(no2) FROM air_quality").fetchall())[0]
                                  for _ in range(RUNS))
    assert [r[:2] for r in rows] == [r[:2] for r in duck_rows], (rows, duck_rows)

    result = {
        "files": DAYS, "latency_ms": LATENCY_MS, "threads": THREADS, "runs": RUNS,
        "lakegate": {"cold_start_s": cold_start, "first_s": first, "warm_s": statistics.median(warm),
                     "warm_requests_per_query": requests, "warm_planning_s": planning,
                     "full_scan_warm_s": full_warm},
        "duckdb_local": {"first_s": duck_first, "warm_s": duck_warm, "full_scan_warm_s": duck_full},
    }
    result["warm_ratio_to_duckdb"] = result["lakegate"]["warm_s"] / duck_warm
    result["full_scan_ratio_to_duckdb"] = full_warm / duck_full
    out = ROOT / "benches/results/small_files.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())

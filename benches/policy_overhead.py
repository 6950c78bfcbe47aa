"""Policy overhead: a filtered and masked scan against the same scan under department access.

Both personas read the same rows through the same server: the `bench` persona through a
grant whose row filter keeps every ward (`ward_code IN (claim('wards'))` with all 21 wards
bound) and masks `vrm`, the engineer through department access alone. The ratio is the cost
of evaluating the policy below the barrier. Run: benches/run (see benches/README.md)."""

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
BIN = os.environ.get("LAKEGATE_BIN", str(ROOT / "target/release/lakegate"))
ROWS = int(os.environ.get("BENCH_ROWS", "2000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
DATA = ROOT / "benches/.data"
WARDS = [f"E050093{n}" for n in range(67, 88)]
T = "parking_raw_zone.liberator_pcn_tickets"
# Each query does the same work on raw and masked values (lengths are kept by the mask),
# so the difference is the policy: the row filter and the mask, below the barrier.
QUERIES = {
    "count": f"SELECT count(*) FROM {T}",
    "scan_masked_column": f"SELECT sum(length(vrm)), sum(amount), count(*) FROM {T}",
    "selective_predicate": f"SELECT count(*), sum(amount) FROM {T} WHERE ward_code = 'E05009372'",
    "group_by_ward": f"SELECT ward_code, count(*), sum(length(vrm)) FROM {T} GROUP BY 1 ORDER BY 1",
}
BENCH_GRANT = """
[[grant]]
name = "bench: every ward, plates masked"
groups = ["bench"]
tables = ["parking_*_zone.liberator_pcn_tickets*"]
row_filter = "ward_code IN (claim('wards'))"
masks = { vrm = "show_last_4" }
"""


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def main():
    demo = DATA / f"demo-{ROWS}"
    sh(BIN, "demo", "--no-serve", "--rows", str(ROWS), "--dir", str(demo))
    policy = demo / "policy.toml"
    if "bench: every ward" not in policy.read_text():
        policy.write_text(policy.read_text() + BENCH_GRANT)
    config = str(demo / "lakegate.toml")
    server = subprocess.Popen([BIN, "serve", "--config", config, "--pg", "127.0.0.1:0", "--http", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = None
    for line in server.stdout:
        m = re.match(r"lakegate: postgres listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
            break
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
    attrs = [a for w in WARDS for a in ("--attr", f"wards={w}")]
    tokens = {
        "secured": sh(BIN, "token", "--config", config, "--sub", "bench", "--department", "parking",
                      "--group", "operational", "--group", "bench", *attrs),
        "department_access": sh(BIN, "token", "--config", config, "--sub", "engineer",
                                "--department", "parking", "--group", "engineer"),
    }
    results = {}
    try:
        for name, sql in QUERIES.items():
            results[name] = {}
            answers = {}
            for persona, token in tokens.items():
                with psycopg.connect(host="127.0.0.1", port=port, dbname="lake", user="token",
                                     password=token, sslmode="require", autocommit=True) as conn:
                    times = []
                    for _ in range(RUNS):
                        start = time.perf_counter()
                        rows = conn.execute(sql).fetchall()
                        times.append(time.perf_counter() - start)
                    answers[persona] = rows
                results[name][persona] = {"first_s": times[0], "warm_median_s": statistics.median(times[1:])}
            assert answers["secured"] == answers["department_access"], answers
            warm = results[name]
            results[name]["ratio"] = warm["secured"]["warm_median_s"] / warm["department_access"]["warm_median_s"]
    finally:
        server.kill()
    out = ROOT / "benches/results/policy_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"rows": ROWS, "runs": RUNS, "binary": BIN, "cores": os.cpu_count()}
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"rows={ROWS} runs={RUNS} binary={BIN}")
    print("| query | department access (warm, ms) | filtered + masked (warm, ms) | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['department_access']['warm_median_s'] * 1000:.1f} | "
              f"{r['secured']['warm_median_s'] * 1000:.1f} | {r['ratio']:.2f} |")
    ratios = [r["ratio"] for r in results.values()]
    print(f"geomean ratio: {statistics.geometric_mean(ratios):.2f}")


if __name__ == "__main__":
    sys.exit(main())

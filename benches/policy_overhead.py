"""Policy overhead: a filtered and masked scan against the same scan unsecured.

Three ways to read the same rows through the same server:
- `secured`: the `bench` persona, through a grant whose row filter keeps every ward
  (`ward_code IN (claim('wards'))` with all 21 wards bound) and masks `vrm` (`show_last_4`),
  evaluated below the barrier;
- `unsecured`: the engineer (department access, no grant) running the same filter and an
  equivalent mask written into the SQL, where the optimizer may do as it likes;
- `department_access`: the engineer reading the table as stored, no filter and no mask.

secured / unsecured is the cost of enforcing the policy; secured / department_access adds
the cost of the filter and mask themselves. Run: benches/run (see benches/README.md)."""

import json
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import serve, sh  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = os.environ.get("LAKEGATE_BIN", str(ROOT / "target/release/lakegate"))
ROWS = int(os.environ.get("BENCH_ROWS", "2000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
DATA = ROOT / "benches/.data"
WARDS = [f"E050093{n}" for n in range(67, 88)]
T = "parking_raw_zone.liberator_pcn_tickets"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# `show_last_4` in SQL: letters before the last four become X/x, digits 0.
MASK_SQL = (f"translate(left(vrm, -4), '{UPPER}{UPPER.lower()}0123456789', "
            f"'{'X' * 26}{'x' * 26}{'0' * 10}') || right(vrm, 4)")
IN_WARDS = ", ".join(f"'{w}'" for w in WARDS)
UNSECURED = (f"(SELECT ward_code, {MASK_SQL} AS vrm, amount FROM {T} "
             f"WHERE ward_code IN ({IN_WARDS})) AS t")
# Each query does the same work on raw and masked values (lengths are kept by the mask).
QUERIES = {
    "count": "SELECT count(*) FROM {src}",
    "scan_masked_column": "SELECT sum(length(vrm)), sum(amount), count(*) FROM {src}",
    "selective_predicate": "SELECT count(*), sum(amount) FROM {src} WHERE ward_code = 'E05009372'",
    "group_by_ward": "SELECT ward_code, count(*), sum(length(vrm)) FROM {src} GROUP BY 1 ORDER BY 1",
}
BENCH_GRANT = """
[[grant]]
name = "bench: every ward, plates masked"
groups = ["bench"]
tables = ["parking_*_zone.liberator_pcn_tickets*"]
row_filter = "ward_code IN (claim('wards'))"
masks = { vrm = "show_last_4" }
"""


def main():
    demo = DATA / f"demo-{ROWS}"
    sh(BIN, "demo", "--no-serve", "--rows", str(ROWS), "--dir", str(demo))
    policy = demo / "policy.toml"
    if "bench: every ward" not in policy.read_text():
        policy.write_text(policy.read_text() + BENCH_GRANT)
    config = str(demo / "lakegate.toml")
    server, ports = serve(BIN, config)
    port = ports["postgres"]
    attrs = [a for w in WARDS for a in ("--attr", f"wards={w}")]
    engineer = sh(BIN, "token", "--config", config, "--sub", "engineer",
                  "--department", "parking", "--group", "engineer")
    runs = {
        "secured": (sh(BIN, "token", "--config", config, "--sub", "bench", "--department", "parking",
                      "--group", "operational", "--group", "bench", *attrs), T),
        "unsecured": (engineer, UNSECURED),
        "department_access": (engineer, T),
    }
    results = {}
    try:
        for name, sql in QUERIES.items():
            results[name] = {}
            answers = {}
            for persona, (token, src) in runs.items():
                with psycopg.connect(host="127.0.0.1", port=port, dbname="lake", user="token",
                                     password=token, sslmode="require", autocommit=True) as conn:
                    times = []
                    for _ in range(RUNS):
                        start = time.perf_counter()
                        rows = conn.execute(sql.format(src=src)).fetchall()
                        times.append(time.perf_counter() - start)
                    answers[persona] = rows
                results[name][persona] = {"first_s": times[0], "warm_median_s": statistics.median(times[1:])}
            assert answers["secured"] == answers["unsecured"] == answers["department_access"], answers
            warm = {p: r["warm_median_s"] for p, r in results[name].items()}
            results[name]["ratio"] = warm["secured"] / warm["unsecured"]
            results[name]["ratio_to_department_access"] = warm["secured"] / warm["department_access"]
    finally:
        server.kill()
    out = ROOT / "benches/results/policy_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"rows": ROWS, "runs": RUNS, "binary": BIN, "cores": os.cpu_count()}
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"rows={ROWS} runs={RUNS} binary={BIN}")
    print("| query | secured (ms) | unsecured, same filter and mask (ms) | ratio | "
          "department access (ms) | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        ms = {p: r[p]["warm_median_s"] * 1000 for p in runs}
        print(f"| {name} | {ms['secured']:.1f} | {ms['unsecured']:.1f} | {r['ratio']:.2f} | "
              f"{ms['department_access']:.1f} | {r['ratio_to_department_access']:.2f} |")
    for key in ("ratio", "ratio_to_department_access"):
        mean = statistics.geometric_mean([r[key] for r in results.values()])
        print(f"geomean {key}: {mean:.2f}")


if __name__ == "__main__":
    sys.exit(main())

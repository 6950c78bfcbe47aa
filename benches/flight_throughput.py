"""Flight throughput: `SELECT *` of TPC-H lineitem through lakegate's Flight SQL endpoint,
against a reference Flight server written with pyarrow serving the same Parquet file, in
the same run, through the same pyarrow client.

Both servers decode the same Parquet file on every request and stream it over loopback
gRPC. lakegate runs its full path: token check, the principal's session, planning, the
secured scan and its barrier. Wire bytes are read from the loopback interface counters.
Run: benches/run (see benches/README.md)."""

import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.flight as flight

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests/python"))
from flightsql import FlightSql  # noqa: E402

sys.path.insert(0, str(ROOT / "benches"))
from serve import serve, sh  # noqa: E402

BIN = os.environ.get("LAKEGATE_BIN", str(ROOT / "target/release/lakegate"))
SCALE = os.environ.get("BENCH_TPCH_SCALE", "1")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
DATA = ROOT / "benches/.data"
TABLE = "tpch_bench_zone.lineitem"


def lineitem():
    """lineitem.parquet at the chosen scale, generated once by tpchgen-cli."""
    out = DATA / f"tpch-sf{SCALE}"
    path = out / "lineitem.parquet"
    if not path.exists():
        tpchgen = Path(sys.executable).parent / "tpchgen-cli"
        sh(str(tpchgen), "parquet", "-s", SCALE, "--tables", "lineitem", "--output-dir", str(out))
    return path


def lake(parquet):
    """A lakegate config whose `bench` zone holds lineitem in a `tpch` department folder."""
    demo = DATA / "flight-demo"
    sh(BIN, "demo", "--no-serve", "--rows", "1000", "--dir", str(demo))
    dataset = demo / "lake-bench/tpch/lineitem"
    dataset.mkdir(parents=True, exist_ok=True)
    copy = dataset / "lineitem.parquet"
    if not copy.exists():
        os.link(parquet, copy)
    # The bench's own config and policy beside the demo's, which `lakegate demo` rewrites.
    text = (demo / "lakegate.toml").read_text()
    text = text.replace("[lake.zones.raw]", '[lake.zones.bench]\nurl = "lake-bench"\n\n[lake.zones.raw]')
    text = text.replace("allow_plaintext_loopback = false", "allow_plaintext_loopback = true")
    text = text.replace('policy_file = "policy.toml"', 'policy_file = "bench-policy.toml"')
    policy = (demo / "policy.toml").read_text() + '\n[[department_access]]\ngroups = ["bench"]\nzones = ["bench"]\n'
    (demo / "bench-policy.toml").write_text(policy)
    config = demo / "bench.toml"
    config.write_text(text)
    return demo, config


class Reference(flight.FlightServerBase):
    """The peer: a pyarrow Flight server streaming the Parquet file, batch by batch."""

    def __init__(self, path):
        super().__init__("grpc://127.0.0.1:0")
        self.dataset = ds.dataset(str(path))

    def do_get(self, context, ticket):
        return flight.GeneratorStream(self.dataset.schema, self.dataset.to_batches())


def loopback_bytes():
    for line in Path("/proc/net/dev").read_text().splitlines():
        name, _, fields = line.partition(":")
        if name.strip() == "lo":
            return int(fields.split()[0])
    return 0


def measure(read):
    """Rows, Arrow bytes, wire bytes and seconds of one full read."""
    wire = loopback_bytes()
    start = time.perf_counter()
    rows = arrow = 0
    for chunk in read():
        rows += chunk.data.num_rows
        arrow += chunk.data.nbytes
    seconds = time.perf_counter() - start
    return {"rows": rows, "arrow_bytes": arrow, "wire_bytes": loopback_bytes() - wire, "seconds": seconds}


def runs(read):
    measure(read)  # warm: caches, connections
    results = [measure(read) for _ in range(RUNS)]
    best = min(results, key=lambda r: r["seconds"])
    return {**best, "median_seconds": statistics.median(r["seconds"] for r in results)}


def lakegate_reader(port, token, tls_cert=None):
    scheme = "grpc+tls" if tls_cert else "grpc"
    kwargs = {"tls_root_certs": tls_cert} if tls_cert else {}
    client = FlightSql(flight.FlightClient(f"{scheme}://127.0.0.1:{port}", **kwargs), token)
    from flightsql import command, field

    def read():
        info = client.info(command("CommandStatementQuery", field(1, f"SELECT * FROM {TABLE}")))
        return client.client.do_get(info.endpoints[0].ticket, client.options)
    return read


def main():
    parquet = lineitem()
    demo, config = lake(parquet)
    server, ports = serve(BIN, config)
    port = ports["flight"]
    token = sh(BIN, "token", "--config", str(config), "--sub", "bench", "--department", "tpch", "--group", "bench")
    reference = Reference(parquet)
    threading.Thread(target=reference.serve, daemon=True).start()
    ref_client = flight.FlightClient(f"grpc://127.0.0.1:{reference.port}")
    try:
        results = {
            "reference_pyarrow": runs(lambda: ref_client.do_get(flight.Ticket(b"lineitem"))),
            "lakegate": runs(lakegate_reader(port, token)),
            "lakegate_tls": runs(lakegate_reader(port, token, (demo / "tls/cert.pem").read_bytes())),
        }
    finally:
        server.kill()
        reference.shutdown()
    assert results["lakegate"]["rows"] == results["reference_pyarrow"]["rows"], results
    # The same rows, measured in one layout: lakegate sends plain strings, the reference
    # sends the Parquet reader's string views, whose in-memory size differs. Rates use the
    # plain-layout size of the result for both.
    size = results["lakegate"]["arrow_bytes"]
    reference = results["reference_pyarrow"]["median_seconds"]
    for r in results.values():
        r["result_bytes"] = size
        r["gb_per_s"] = size / r["median_seconds"] / 1e9
        r["rows_per_s"] = r["rows"] / r["median_seconds"]
        r["wire_to_result"] = r["wire_bytes"] / size
        r["ratio_to_reference"] = reference / r["median_seconds"]
    out = ROOT / "benches/results/flight_throughput.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"tpch_scale": SCALE, "runs": RUNS, "binary": BIN, "cores": os.cpu_count()}
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"lineitem sf{SCALE}: {results['lakegate']['rows']} rows, {size / 1e9:.2f} GB as Arrow, runs={RUNS}")
    print("| server | median s | GB/s | rows/s | wire bytes / result bytes | speed vs reference |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['median_seconds']:.2f} | {r['gb_per_s']:.2f} | {r['rows_per_s'] / 1e6:.1f} M | "
              f"{r['wire_to_result']:.2f} | {r['ratio_to_reference']:.2f} |")


if __name__ == "__main__":
    sys.exit(main())

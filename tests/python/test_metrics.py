"""`/metrics` and the warm path: a repeated query asks the object store for no listing and
no Parquet footer — counted by the store wrapper every zone goes through, not timed."""

import urllib.request

import psycopg

STORE = 'lakegate_object_store_requests_total{{kind="{}"}}'
LOOKUPS = "lakegate_cache_lookups_total"
QUERY = ("SELECT ward_code, count(*), sum(amount) FROM parking_raw_zone.liberator_pcn_tickets "
         "WHERE import_date >= '2024-01-01' GROUP BY ward_code")


def store_requests(lakegate):
    samples = lakegate.metrics()
    return {kind: samples.get(STORE.format(kind), 0) for kind in ("list", "get", "footer_get", "head")}


def cache_lookups(lakegate, cache):
    samples = lakegate.metrics()
    return tuple(samples.get(f'{LOOKUPS}{{cache="{cache}",result="{r}"}}', 0) for r in ("hit", "miss"))


def test_a_warm_query_makes_no_list_and_no_footer_request(lakegate):
    with psycopg.connect(**lakegate.dsn(lakegate.parking()), autocommit=True) as conn:
        first = conn.execute(QUERY).fetchall()
        before = store_requests(lakegate)
        metadata_before = cache_lookups(lakegate, "parquet_metadata")
        again = conn.execute(QUERY).fetchall()
        after = store_requests(lakegate)
        metadata_after = cache_lookups(lakegate, "parquet_metadata")
    assert sorted(again) == sorted(first) and first
    # Every footer came from the metadata cache: hits counted, no miss.
    assert metadata_after[0] > metadata_before[0], (metadata_before, metadata_after)
    assert metadata_after[1] == metadata_before[1], (metadata_before, metadata_after)
    assert after["list"] == before["list"], (before, after)
    assert after["footer_get"] == before["footer_get"], (before, after)
    assert after["head"] == before["head"], (before, after)
    # Column chunks are still read: the data is not cached, only what describes it.
    assert after["get"] > before["get"]


def test_a_warm_count_makes_no_request_at_all(lakegate):
    # Row counts come from the row groups' metadata, which stays cached.
    count = "SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets"
    with psycopg.connect(**lakegate.dsn(lakegate.parking()), autocommit=True) as conn:
        first = conn.execute(count).fetchone()
        before = store_requests(lakegate)
        assert conn.execute(count).fetchone() == first
        assert store_requests(lakegate) == before


def test_metrics_count_statements_rows_connections_and_cache_lookups(lakegate):
    before = lakegate.metrics()
    with psycopg.connect(**lakegate.dsn(lakegate.parking()), autocommit=True) as conn:
        rows = conn.execute("SELECT * FROM unrestricted_raw_zone.wards").fetchall()
        during = lakegate.metrics()
        try:
            conn.execute("SELECT * FROM no_such_table")
        except psycopg.errors.UndefinedTable:
            pass
    after = lakegate.metrics()
    ok = 'lakegate_statements_total{protocol="pg",outcome="ok"}'
    hidden = 'lakegate_statements_total{protocol="pg",outcome="hidden"}'
    assert after[ok] >= before.get(ok, 0) + 1
    assert after[hidden] == before.get(hidden, 0) + 1
    sent = 'lakegate_rows_sent_total{protocol="pg"}'
    assert after[sent] >= before.get(sent, 0) + len(rows)
    # Each row is at least a DataRow message's 7 bytes of framing on the wire.
    sent_bytes = 'lakegate_result_bytes_sent_total{protocol="pg"}'
    assert after[sent_bytes] >= before.get(sent_bytes, 0) + 7 * len(rows)
    assert during['lakegate_connections{protocol="pg"}'] >= 1
    assert after['lakegate_statement_duration_seconds_count{protocol="pg"}'] > 0
    assert after["lakegate_sessions"] >= 1
    assert after['lakegate_cache_lookups_total{cache="sessions",result="hit"}'] >= 1


def test_flight_result_bytes_are_counted(lakegate):
    name = 'lakegate_result_bytes_sent_total{protocol="flight"}'
    before = lakegate.metrics().get(name, 0)
    with lakegate.adbc(lakegate.parking()) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM parking_raw_zone.liberator_pcn_tickets")
        table = cur.fetch_arrow_table()
    # The IPC messages carry at least the columns' buffers.
    assert lakegate.metrics()[name] - before >= table.nbytes * 0.5, (before, table.nbytes)


def test_metrics_are_openmetrics_text(lakegate):
    url = f"http://127.0.0.1:{lakegate.http_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
        text = response.read().decode()
    assert "# TYPE lakegate_statements counter" in text
    assert "# TYPE lakegate_statement_duration_seconds histogram" in text
    assert text.rstrip().endswith("# EOF")


def test_readyz_is_ready_once_the_lake_is_listed(lakegate):
    url = f"http://127.0.0.1:{lakegate.http_port}/readyz"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.read() == b"ready\n"

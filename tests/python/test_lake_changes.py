"""The lake changes under the cache (issue 15 §4): a pipeline rewrites a partition file in
place, truncates it, replaces it with garbage, deletes it or adds one while the server holds
the dataset's listing, footers and statistics (the listing TTL is an hour here). A data read
must notice, drop the dataset's caches and run once more: the reader sees the old data or
the new, never an error for a valid file, and `count(*)` agrees with the rows. A file still
unreadable after that is XX001 naming the table. On the local file system and on S3 (moto).
"""

import io
import os
import urllib.request
import uuid

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import Lakegate
from test_s3 import s3_zones

TABLE = "parking_raw_zone.lake_changes"
FOLDER = "parking/lake_changes/import_year=2024/import_month=06/import_day=05/import_date=20240605"


def parquet(ids):
    """A Parquet file of `id` (bigint) and `note` (text) rows; each file written differs
    (S3's ETag is the MD5 of the bytes, so identical bytes are the same version)."""
    nonce = uuid.uuid4().hex
    table = pa.table({"id": pa.array(ids, pa.int64()), "note": [f"{nonce} {i}" for i in ids]})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


class LocalLake:
    """The dataset's files in a raw zone folder."""

    def __init__(self, root):
        self.root = root

    def write(self, name, data):
        path = self.root / FOLDER / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # In place, as a pipeline's `open(path, "wb")` does: same file, new contents.
        with open(path, "r+b" if path.exists() else "wb") as f:
            f.write(data)
            f.truncate()

    def delete(self, name):
        os.remove(self.root / FOLDER / name)


class S3Lake:
    """The dataset's objects in the raw zone bucket."""

    def __init__(self, client, bucket):
        self.client, self.bucket = client, bucket

    def write(self, name, data):
        self.client.put_object(Bucket=self.bucket, Key=f"lake/{FOLDER}/{name}", Body=data)

    def delete(self, name):
        self.client.delete_object(Bucket=self.bucket, Key=f"lake/{FOLDER}/{name}")


def long_ttl(text):
    return text.replace("listing_ttl_secs = 60", "listing_ttl_secs = 3600")


# The dataset as every test starts from: two files.
START = list(range(0, 10)) + list(range(100, 105))


def seed(files):
    files.write("part-0.parquet", parquet(range(0, 10)))
    files.write("part-1.parquet", parquet(range(100, 105)))


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    root = tmp_path_factory.mktemp("changes")

    lake = LocalLake(root / "demo" / "lake" / "raw")

    def edit(text):
        seed(lake)
        return long_ttl(text)

    server = Lakegate(root, edit=edit)
    yield server, lake
    server.stop()


@pytest.fixture(scope="module")
def on_s3(s3, tmp_path_factory):
    root = tmp_path_factory.mktemp("changes_s3")
    buckets = {"raw": f"changes-raw-{uuid.uuid4().hex[:8]}"}
    s3["client"].create_bucket(Bucket=buckets["raw"],
                               CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    lake = S3Lake(s3["client"], buckets["raw"])

    def edit(text):
        demo = root / "demo"
        for path in (demo / "lake" / "raw").rglob("*"):
            if path.is_file():
                rel = path.relative_to(demo / "lake" / "raw").as_posix()
                s3["client"].upload_file(str(path), buckets["raw"], f"lake/{rel}")
        seed(lake)
        return long_ttl(s3_zones(text, s3["endpoint"], s3["keys"], buckets))

    server = Lakegate(root, edit=edit)
    yield server, lake
    server.stop()


@pytest.fixture(params=["file", "s3"])
def lake(request):
    return request.getfixturevalue("local" if request.param == "file" else "on_s3")


def ids(server):
    with psycopg.connect(**server.dsn(server.engineer()), autocommit=True) as conn:
        return sorted(r[0] for r in conn.execute(f"SELECT id FROM {TABLE}"))


def count(server):
    with psycopg.connect(**server.dsn(server.engineer()), autocommit=True) as conn:
        return conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]


def agree(server, expected):
    """A data read gives `expected`, and `count(*)` agrees with it."""
    assert ids(server) == expected, "the data read sees the files as they are, not an error"
    assert count(server) == len(expected), "the count agrees with the rows"


def reset(server, files):
    """Both files as at the start, read once so every cache holds them. (Rewriting
    part-0 makes the first read notice the change and list the dataset again, so a
    part-1 deleted and written back by the test before is listed too.)"""
    seed(files)
    # The first read after a reset may itself be the one that notices the change.
    agree(server, START)
    assert ids(server) == START


def test_a_file_rewritten_in_place_is_read_as_it_is_now(lake):
    server, files = lake
    reset(server, files)
    files.write("part-0.parquet", parquet(range(0, 25)))
    agree(server, list(range(0, 25)) + list(range(100, 105)))
    # Same size, other contents: caught by the ETag / modification time, not the size.
    files.write("part-0.parquet", parquet(range(50, 75)))
    agree(server, list(range(50, 75)) + list(range(100, 105)))


def test_a_deleted_file_is_gone_from_rows_and_count(lake):
    server, files = lake
    reset(server, files)
    files.delete("part-1.parquet")
    agree(server, list(range(0, 10)))
    files.write("part-1.parquet", parquet(range(100, 105)))


def test_an_added_file_appears_in_rows_and_count_together(lake):
    server, files = lake
    reset(server, files)
    files.write("part-2.parquet", parquet(range(200, 203)))
    before = START
    # Within the listing TTL the new file may not be listed yet: rows and count agree
    # either way, and a rewrite elsewhere in the dataset makes it appear.
    rows, n = ids(server), count(server)
    assert rows in (before, sorted(before + [200, 201, 202])) and n == len(rows)
    files.write("part-0.parquet", parquet(range(0, 10)))
    files.write("part-1.parquet", parquet(range(100, 106)))
    agree(server, list(range(0, 10)) + list(range(100, 106)) + [200, 201, 202])
    files.delete("part-2.parquet")


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_file_is_xx001_naming_the_table_and_the_server_serves_on(lake, damage):
    server, files = lake
    reset(server, files)
    good = parquet(range(0, 10))
    files.write("part-0.parquet", good[: len(good) // 2] if damage == "truncated" else b"not parquet " * 40)
    for read in (ids, count):
        with pytest.raises(psycopg.errors.DataCorrupted) as e:
            read(server)
        assert "lake_changes" in str(e.value) and "part-0" not in str(e.value)
    # Mended by the pipeline's next run: read again, no restart.
    files.write("part-0.parquet", parquet(range(0, 12)))
    agree(server, list(range(0, 12)) + list(range(100, 105)))


def test_a_count_before_any_data_read_is_the_old_or_the_new(lake):
    server, files = lake
    reset(server, files)
    files.write("part-1.parquet", parquet(range(100, 120)))
    # Answered from cached statistics, the count may still be the old one; once a read has
    # seen the new file, never again.
    assert count(server) in (15, 30)
    agree(server, list(range(0, 10)) + list(range(100, 120)))


def test_a_prepared_statement_whose_columns_changed_is_reprepared_by_pgjdbc(local, tmp_path):
    """PostgreSQL answers a prepared statement whose result columns changed with `0A000
    cached plan must not change result type` (routine RevalidateCachedQuery), after which
    pgjdbc prepares it again; rows of another shape must never be sent."""
    import shutil
    import subprocess

    server, files = local
    jar = "/usr/share/java/postgresql.jar"
    assert shutil.which("javac"), "scripts/setup installs a JDK and pgjdbc"
    source = os.path.join(os.path.dirname(__file__), "..", "jdbc", "ReprepareProbe.java")
    subprocess.run(["javac", "-cp", jar, "-d", str(tmp_path), source], check=True)
    reset(server, files)
    probe = subprocess.Popen(["java", "-cp", f"{jar}:{tmp_path}", "ReprepareProbe", str(server.port),
                              server.engineer(), f"SELECT * FROM {TABLE} ORDER BY id"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        lines = [probe.stdout.readline().strip() for _ in range(2)]
        assert probe.stdout.readline().strip() == "ready", lines
        # A new file with one more column: the table's merged schema gains `extra`.
        table = pa.table({"id": pa.array([7000], pa.int64()), "note": ["wide"], "extra": ["x"]})
        out = io.BytesIO()
        pq.write_table(table, out)
        files.write("part-9.parquet", out.getvalue())
        with urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{server.http_port}/reload", method="POST",
                headers={"Authorization": "Bearer " + server.token("ada.admin", groups=["lakegate-admin"])}), timeout=30) as r:
            assert r.status == 200
        out, _ = probe.communicate("go\n", timeout=120)
    finally:
        probe.kill()
        files.delete("part-9.parquet")
        server.reload()
    # Before: id, note and the four partition columns; after: one more, with the new row.
    assert lines == ["columns\t6\t15"] * 2
    # pgjdbc heals an autocommit statement at once: on 0A000 with PostgreSQL's routine it
    # prepares the statement again and runs it, so the application sees the new columns.
    assert out.splitlines() == ["columns\t7\t16"] * 3 + ["after\t1"]
    refused = [line for line in server.audit_lines()
               if line.get("error") == "cached plan must not change result type"]
    assert len(refused) == 1 and refused[0]["protocol"] == "pg", refused

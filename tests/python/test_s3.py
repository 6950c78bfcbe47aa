"""The lake on S3, end to end: the demo lake uploaded to a real S3 API server (moto's server
mode) on loopback, with request signing checked (IAM credentials are enforced), served by
lakegate from `s3://` zones and read by psycopg as the personas do from local zones."""

import os
import subprocess
import uuid

import psycopg
import pytest

from conftest import BIN, BUCKETS, REGION, Lakegate
from personas import token


def upload(client, demo_dir):
    """The demo's zones, each under a `lake/` prefix of its bucket."""
    for zone, bucket in BUCKETS.items():
        root = demo_dir / "lake" / zone
        for path in root.rglob("*"):
            if path.is_file():
                client.upload_file(str(path), bucket, f"lake/{path.relative_to(root).as_posix()}")


def s3_zones(text, endpoint, keys=None, buckets=BUCKETS):
    """The config with every zone on S3: keys in the config, or (None) from the environment."""
    for zone, bucket in buckets.items():
        options = [f'endpoint = "{endpoint}"', f'region = "{REGION}"', "path_style = true", "allow_http = true"]
        if keys:
            options += [f'access_key_id = "{keys["id"]}"', f'secret_access_key = "{keys["secret"]}"']
        text = text.replace(f'[lake.zones.{zone}]\nurl = "lake/{zone}"',
                            f'[lake.zones.{zone}]\nurl = "s3://{bucket}/lake"\n[lake.zones.{zone}.s3]\n'
                            + "\n".join(options))
    assert text.count("s3://") == len(buckets)
    return text


@pytest.fixture(scope="module")
def on_s3(s3, tmp_path_factory):
    root = tmp_path_factory.mktemp("s3")

    def edit(text):
        upload(s3["client"], root / "demo")
        return s3_zones(text, s3["endpoint"], s3["keys"])

    server = Lakegate(root, edit=edit)
    yield server
    server.stop()


def query(server, token, sql):
    with psycopg.connect(**server.dsn(token), autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def test_tables_are_discovered_in_every_s3_zone(on_s3):
    tables = query(on_s3, on_s3.engineer(),
                   "SELECT table_schema, table_name FROM information_schema.tables "
                   "WHERE table_schema LIKE '%_zone' ORDER BY 1, 2")
    schemas = {schema for schema, _ in tables}
    assert {"parking_raw_zone", "parking_refined_zone", "housing_raw_zone"} <= schemas
    assert ("parking_raw_zone", "liberator_pcn_tickets") in tables
    assert ("parking_raw_zone", "liberator_pcn_tickets_latest") in tables


def test_partitions_latest_and_rows_match_the_local_lake(on_s3, lakegate):
    sql = ("SELECT count(*), count(DISTINCT import_date), max(import_date) "
           "FROM parking_raw_zone.liberator_pcn_tickets")
    assert query(on_s3, on_s3.parking(), sql) == query(lakegate, lakegate.parking(), sql)
    latest = "SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets_latest"
    assert query(on_s3, on_s3.parking(), latest) == query(lakegate, lakegate.parking(), latest)
    partitions = query(on_s3, on_s3.parking(),
                       "SELECT count(*), sum(file_count) FROM lakegate.partitions "
                       "WHERE table_name = 'liberator_pcn_tickets' AND schema_name = 'parking_raw_zone'")
    assert partitions[0][0] > 1 and partitions[0][1] >= partitions[0][0]


def test_policy_applies_on_s3_as_on_local_zones(on_s3, lakegate):
    # The public persona sees no parking; row filters and masks give the same answers.
    with pytest.raises(psycopg.errors.UndefinedTable):
        query(on_s3, on_s3.public(), "SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets")
    sql = ("SELECT count(*), count(DISTINCT ward_code), count(DISTINCT vrm) "
           "FROM parking_raw_zone.liberator_pcn_tickets")
    for persona in ("analyst", "manager", "enforcement_manager"):
        assert query(on_s3, token(on_s3, persona), sql) == query(lakegate, token(lakegate, persona), sql)


def test_schema_drift_is_merged_on_s3_as_locally(on_s3, lakegate):
    sql = ("SELECT column_name, data_type FROM information_schema.columns "
           "WHERE table_schema = 'housing_raw_zone' ORDER BY table_name, ordinal_position")
    assert query(on_s3, on_s3.engineer(), sql) == query(lakegate, lakegate.engineer(), sql)


def check(config, env=None):
    return subprocess.run([BIN, "check", "--config", str(config)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def variant(on_s3, name, text):
    path = on_s3.dir / f"{name}.toml"
    path.write_text(text)
    return path


def base_text(on_s3):
    return (on_s3.dir / "lakegate.toml").read_text()


def test_credentials_from_the_standard_environment_variables(on_s3, s3):
    text = base_text(on_s3)
    for line in (f'access_key_id = "{s3["keys"]["id"]}"', f'secret_access_key = "{s3["keys"]["secret"]}"'):
        text = text.replace(line + "\n", "").replace(line, "")
    assert "access_key_id" not in text
    config = variant(on_s3, "env-keys", text)
    env = {"AWS_ACCESS_KEY_ID": s3["keys"]["id"], "AWS_SECRET_ACCESS_KEY": s3["keys"]["secret"]}
    good = check(config, env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "liberator_pcn_tickets" in good.stdout
    bad = check(config, {"AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG", "AWS_SECRET_ACCESS_KEY": "nope"})
    assert bad.returncode != 0
    assert "council-raw-zone" in bad.stdout + bad.stderr


def test_bad_credentials_name_the_bucket_for_the_admin_and_hide_it_from_users(on_s3, s3, tmp_path):
    text = base_text(on_s3).replace(s3["keys"]["secret"], "wrong-secret")
    result = check(variant(on_s3, "bad-keys", text))
    assert result.returncode != 0
    admin = result.stdout + result.stderr
    assert "council-raw-zone" in admin and "zone `raw`" in admin, admin
    # Served anyway: the zone has no tables for users, who are told nothing about S3.
    root = tmp_path / "bad"
    server = Lakegate(root, edit=lambda t: s3_zones(t, s3["endpoint"], {"id": s3["keys"]["id"], "secret": "wrong"}))
    try:
        with pytest.raises(psycopg.errors.UndefinedTable) as raised:
            query(server, server.parking(), "SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets")
        message = str(raised.value)
        assert "council" not in message and "s3" not in message.lower() and "403" not in message
    finally:
        server.stop()


def test_a_missing_bucket_is_named_for_the_admin(on_s3, s3):
    missing = f"no-such-bucket-{uuid.uuid4().hex[:8]}"
    text = base_text(on_s3).replace("s3://council-trusted-zone/lake", f"s3://{missing}/lake")
    result = check(variant(on_s3, "missing", text))
    assert result.returncode != 0
    assert missing in result.stdout + result.stderr

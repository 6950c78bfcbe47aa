"""Fixtures: a demo lake and the real lakegate server on free ports.

The binary comes from LAKEGATE_BIN (scripts/test builds it and sets it)."""

import os
import re
import subprocess
import threading
from pathlib import Path

import pytest

# moto's S3 server enforces IAM credentials once the `s3` fixture's setup has made its
# unauthenticated calls; it reads this when it is imported (a count for the whole process,
# so there is one server per test run).
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"

BIN = os.environ.get("LAKEGATE_BIN", str(Path(__file__).resolve().parents[2] / "target/debug/lakegate"))
ROWS = 14_000


class Lakegate:
    """A demo lake and a running server, with helpers to mint tokens."""

    def __init__(self, root: Path, edit=None):
        self.dir = root / "demo"
        out = subprocess.run(
            [BIN, "demo", "--no-serve", "--rows", str(ROWS), "--dir", str(self.dir)],
            capture_output=True, text=True, check=False,
        )
        assert out.returncode == 0, out.stderr
        self.config = self.dir / "lakegate.toml"
        if edit:
            self.config.write_text(edit(self.config.read_text()))
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", str(self.config), "--pg", "127.0.0.1:0", "--http", "127.0.0.1:0", "--flight", "127.0.0.1:0"],
            stdout=subprocess.PIPE, text=True,
        )
        ports = {}
        for line in self.proc.stdout:
            m = re.match(r"lakegate: (postgres|flight|http) listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                ports[m.group(1)] = int(m.group(2))
            if len(ports) == 3:
                break
        assert len(ports) == 3, "server did not start"
        self.port, self.flight_port, self.http_port = ports["postgres"], ports["flight"], ports["http"]
        self.flight_uri = f"grpc+tls://127.0.0.1:{self.flight_port}"
        self.cert = (self.dir / "tls/cert.pem").read_text()
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def token(self, sub, departments=(), groups=(), ttl="1h", attrs=()):
        args = [BIN, "token", "--config", str(self.config), "--sub", sub, "--ttl", ttl]
        for d in departments:
            args += ["--department", d]
        for g in groups:
            args += ["--group", g]
        for name, value in attrs:
            args += ["--attr", f"{name}={value}"]
        out = subprocess.run(args, capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def parking(self):
        return self.token("pat.parking", ["parking"], ["analyst", "operational"])

    def engineer(self):
        return self.token("dee.engineer", ["parking", "housing", "revenues"], ["engineer"])

    def public(self):
        return self.token("max.public")

    def dsn(self, token, user="token", sslmode="require"):
        return dict(host="127.0.0.1", port=self.port, dbname="lake", user=user,
                    password=token, sslmode=sslmode, connect_timeout=10)

    def adbc(self, token):
        """An ADBC Flight SQL connection, as a notebook would open one."""
        import adbc_driver_flightsql
        from adbc_driver_flightsql import dbapi

        options = adbc_driver_flightsql.DatabaseOptions
        return dbapi.connect(self.flight_uri, autocommit=True, db_kwargs={
            options.AUTHORIZATION_HEADER.value: f"Bearer {token}",
            options.TLS_ROOT_CERTS.value: self.cert,
        })

    def flight(self):
        """A raw pyarrow Flight client over TLS (no credentials of its own)."""
        import pyarrow.flight as flight

        return flight.FlightClient(self.flight_uri, tls_root_certs=self.cert.encode())

    def metrics(self):
        """`/metrics`, parsed: {"name{labels}": value}."""
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics", timeout=10) as r:
            text = r.read().decode()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples

    def audit_lines(self):
        import json
        path = self.dir / "audit.log"
        text = path.read_text()
        # A line still being written has no newline yet.
        complete = text[:text.rfind("\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line.strip()]

    def reload(self):
        import signal
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="session")
def lakegate(tmp_path_factory):
    server = Lakegate(tmp_path_factory.mktemp("lakegate"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def strict_lakegate(tmp_path_factory):
    """A server that allows no clock skew, so short-lived tokens expire on time."""
    server = Lakegate(tmp_path_factory.mktemp("strict"),
                      edit=lambda text: text.replace('audience = "lakegate"', 'audience = "lakegate"\nleeway_secs = 0'))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def private_lakegate(tmp_path_factory):
    """A server of the test module's own, for tests that change its policy."""
    server = Lakegate(tmp_path_factory.mktemp("private"))
    yield server
    server.stop()


REGION = "eu-west-2"
BUCKETS = {"raw": "council-raw-zone", "refined": "council-refined-zone", "trusted": "council-trusted-zone"}
ALLOW_ALL = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'


@pytest.fixture(scope="session")
def s3():
    """A real S3 API server (moto's server mode) on loopback, an IAM user's keys, and the
    zone buckets those keys created."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # The only unauthenticated calls: a user, its policy and its keys.
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="setup", aws_secret_access_key="setup")
    iam.create_user(UserName="lakegate")
    iam.put_user_policy(UserName="lakegate", PolicyName="all", PolicyDocument=ALLOW_ALL)
    key = iam.create_access_key(UserName="lakegate")["AccessKey"]
    keys = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                          aws_access_key_id=keys["id"], aws_secret_access_key=keys["secret"])
    for bucket in BUCKETS.values():
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield {"endpoint": endpoint, "keys": keys, "client": client}
    server.stop()

"""A throwaway PostgreSQL 15 cluster (Debian's postgresql-15) for differential tests.

The cluster lives in a temporary folder, listens on a free loopback port and is owned by the
`postgres` system user (initdb refuses to run as root)."""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args):
    command = list(args)
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True)


class Postgres15:
    """A started cluster; `dsn()` connects to its `lake` database. Its folder is a fresh one
    under the system's temporary folder (pytest's are private to root, and the server runs
    as `postgres`), removed by `stop()`."""

    def __init__(self):
        root = Path(tempfile.mkdtemp(prefix="lakegate-pg15-"))
        self.root = root
        self.data = root / "pgdata"
        self.data.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
            shutil.chown(self.data, "postgres", "postgres")
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres",
                     "--encoding=UTF8", "--locale=C.UTF-8")
        self.port = free_port()
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(root / "server.log"), "-w",
                     "-o", f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        _as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "lake")

    def dsn(self):
        return dict(host="127.0.0.1", port=self.port, dbname="lake", user="postgres")

    def stop(self):
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

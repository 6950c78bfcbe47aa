"""A minimal Postgres wire client for what drivers hide: the SQLSTATE of a refused login,
and extended-protocol sequences (a portal suspended by Execute's row limit) drivers make
but do not let a test time.

libpq reports login failures as plain text; this speaks the protocol (SSLRequest, TLS,
StartupMessage, PasswordMessage) and returns the fields of the server's ErrorResponse."""

import socket
import ssl
import struct


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def _read(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return data


def _read_message(sock):
    kind = _read(sock, 1)
    (length,) = struct.unpack("!I", _read(sock, 4))
    return kind, _read(sock, length - 4)


def _fields(body: bytes) -> dict:
    fields = {}
    for part in body.split(b"\x00"):
        if part:
            fields[chr(part[0])] = part[1:].decode()
    return fields


def login(host, port, user, password, tls=True):
    """Logs in; returns ("ok", {}) or ("error", fields) with fields["C"] the SQLSTATE."""
    sock, outcome = _login(host, port, user, password, tls)
    sock.close()
    return outcome


class Session:
    """A logged-in connection speaking messages one by one."""

    def __init__(self, sock):
        self.sock = sock

    def send(self, *messages):
        self.sock.sendall(b"".join(messages))

    def until_ready(self):
        """The messages up to ReadyForQuery (or the connection's end): [(kind, body)]."""
        out = []
        while True:
            try:
                kind, body = _read_message(self.sock)
            except (ConnectionError, OSError):
                return out
            out.append((kind, _fields(body) if kind == b"E" else body))
            if kind == b"Z":
                return out

    def close(self):
        self.sock.close()


def query(sql):
    return _message(b"Q", sql.encode() + b"\x00")


def parse(sql, name=""):
    return _message(b"P", name.encode() + b"\x00" + sql.encode() + b"\x00" + struct.pack("!H", 0))


def bind(portal="", statement=""):
    return _message(b"B", portal.encode() + b"\x00" + statement.encode() + b"\x00"
                    + struct.pack("!HHH", 0, 0, 0))


def execute(portal="", max_rows=0):
    return _message(b"E", portal.encode() + b"\x00" + struct.pack("!I", max_rows))


SYNC = _message(b"S", b"")


def connect(host, port, user, password, tls=True):
    """A logged-in Session (the login must succeed)."""
    sock, outcome = _login(host, port, user, password, tls)
    assert outcome == ("ok", {}), outcome
    return Session(sock)


def unauthenticated(host, port, user, tls=True):
    """A Session that has sent its StartupMessage and was asked for a password, not yet
    logged in."""
    sock, outcome = _login(host, port, user, None, tls)
    assert outcome == ("password", {}), outcome
    return Session(sock)


def _login(host, port, user, password, tls):
    sock = socket.create_connection((host, port), timeout=10)
    if tls:
        sock.sendall(struct.pack("!II", 8, 80877103))
        if _read(sock, 1) != b"S":
            raise ConnectionError("server refused TLS")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock)
    params = b"user\x00" + user.encode() + b"\x00database\x00lake\x00\x00"
    body = struct.pack("!I", 196608) + params
    sock.sendall(struct.pack("!I", len(body) + 4) + body)
    while True:
        kind, body = _read_message(sock)
        if kind == b"R" and struct.unpack("!I", body[:4])[0] == 3:
            if password is None:
                return sock, ("password", {})
            sock.sendall(_message(b"p", password.encode() + b"\x00"))
        elif kind == b"E":
            return sock, ("error", _fields(body))
        elif kind == b"Z":
            return sock, ("ok", {})

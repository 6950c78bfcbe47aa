"""A minimal Postgres wire client for what drivers hide: the SQLSTATE of a refused login.

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
    try:
        while True:
            kind, body = _read_message(sock)
            if kind == b"R" and struct.unpack("!I", body[:4])[0] == 3:
                sock.sendall(_message(b"p", password.encode() + b"\x00"))
            elif kind == b"E":
                return "error", _fields(body)
            elif kind == b"Z":
                return "ok", {}
    finally:
        sock.close()

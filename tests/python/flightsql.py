"""A raw Flight SQL client over pyarrow.flight, for tests that need exact gRPC codes and
full control of the protocol (tickets, handles, headers). Flight SQL commands are small
protobuf messages wrapped in `google.protobuf.Any`; they are encoded here by hand."""

import pyarrow as pa
import pyarrow.flight as flight

PREFIX = "type.googleapis.com/arrow.flight.protocol.sql."

# pyarrow turns gRPC status codes into these exception types.
CODES = [
    (flight.FlightUnauthenticatedError, "UNAUTHENTICATED"),
    (flight.FlightUnauthorizedError, "PERMISSION_DENIED"),
    (flight.FlightCancelledError, "CANCELLED"),
    (flight.FlightUnavailableError, "UNAVAILABLE"),
    (flight.FlightInternalError, "INTERNAL"),
    (pa.ArrowKeyError, "NOT_FOUND"),
    (pa.ArrowNotImplementedError, "UNIMPLEMENTED"),
    (pa.ArrowInvalid, "INVALID_ARGUMENT"),
]


def code(error):
    """The gRPC code name behind a pyarrow Flight exception."""
    # pyarrow raises ArrowInvalid for RESOURCE_EXHAUSTED too; its text names the code.
    if "resource exhausted" in str(error).lower():
        return "RESOURCE_EXHAUSTED"
    for kind, name in CODES:
        if isinstance(error, kind):
            return name
    text = str(error)
    for words, name in [("data loss", "DATA_LOSS"), ("failed precondition", "FAILED_PRECONDITION"),
                        ("resource exhausted", "RESOURCE_EXHAUSTED")]:
        if words in text.lower():
            return name
    return f"OTHER: {type(error).__name__}: {text}"


def _varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, value):
    """A length-delimited protobuf field (strings, bytes and nested messages)."""
    data = value.encode() if isinstance(value, str) else bytes(value)
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def flag(number, value):
    return _varint(number << 3) + _varint(int(value))


def parse(message):
    """Protobuf fields as {number: [values]} (length-delimited and varint fields only)."""
    fields, i = {}, 0
    while i < len(message):
        key, i = _read_varint(message, i)
        number, wire = key >> 3, key & 7
        if wire == 2:
            size, i = _read_varint(message, i)
            value, i = message[i:i + size], i + size
        elif wire == 0:
            value, i = _read_varint(message, i)
        else:
            raise ValueError(f"wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _read_varint(data, i):
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, i


def command(name, body=b""):
    return field(1, PREFIX + name) + field(2, body)


class FlightSql:
    """One principal's Flight SQL calls over a pyarrow FlightClient."""

    def __init__(self, client, token=None, headers=None):
        self.client = client
        headers = list(headers or [])
        if token is not None:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        self.options = flight.FlightCallOptions(headers=headers)

    def info(self, cmd):
        return self.client.get_flight_info(flight.FlightDescriptor.for_command(cmd), self.options)

    def fetch(self, info):
        return self.client.do_get(info.endpoints[0].ticket, self.options).read_all()

    def query(self, sql):
        return self.fetch(self.info(command("CommandStatementQuery", field(1, sql))))

    def prepare(self, sql):
        """CreatePreparedStatement: (handle, dataset schema, parameter schema)."""
        body = command("ActionCreatePreparedStatementRequest", field(1, sql))
        results = list(self.client.do_action(flight.Action("CreatePreparedStatement", body), self.options))
        any_fields = parse(results[0].body.to_pybytes())
        result = parse(any_fields[2][0])
        read = lambda n: pa.ipc.read_schema(pa.py_buffer(result[n][0])) if n in result else None
        return result[1][0], read(2), read(3)

    def bind(self, handle, batch):
        """DoPut parameters; returns the handle the server answers with."""
        descriptor = flight.FlightDescriptor.for_command(command("CommandPreparedStatementQuery", field(1, handle)))
        writer, reader = self.client.do_put(descriptor, batch.schema, self.options)
        writer.write_batch(batch)
        writer.done_writing()
        answer = reader.read()
        writer.close()
        if answer is None:
            return handle
        fields = parse(answer.to_pybytes())
        return fields.get(1, [handle])[0]

    def execute_prepared(self, handle):
        return self.fetch(self.info(command("CommandPreparedStatementQuery", field(1, handle))))

    def close_prepared(self, handle):
        body = command("ActionClosePreparedStatementRequest", field(1, handle))
        list(self.client.do_action(flight.Action("ClosePreparedStatement", body), self.options))

    def query_params(self, sql, values):
        handle, _, _ = self.prepare(sql)
        batch = pa.record_batch([pa.array([v]) for v in values], names=[f"${i + 1}" for i in range(len(values))])
        handle = self.bind(handle, batch)
        try:
            return self.execute_prepared(handle)
        finally:
            self.close_prepared(handle)

    def tables(self, include_schema=False, schema_pattern=None, table_pattern=None):
        body = b""
        if schema_pattern is not None:
            body += field(2, schema_pattern)
        if table_pattern is not None:
            body += field(3, table_pattern)
        body += flag(5, include_schema)
        return self.fetch(self.info(command("CommandGetTables", body)))

    def metadata(self, name, body=b""):
        return self.fetch(self.info(command(name, body)))


def rows(table):
    """A pyarrow Table as a list of row tuples, as DB-API drivers return them."""
    columns = [c.to_pylist() for c in table.columns]
    return list(zip(*columns)) if columns else []

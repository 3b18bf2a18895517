"""Every variant on the bridge answers like servers/cpp-beast, byte for byte (Date aside),
and the programs we write share one start convention.

The C ABI (c-callback) and both Python bindings (python-pybind11, python-cffi) must not
change a byte of what the engine sends: each request is compared alone on its own
connection, and all of them pipelined on one keep-alive connection.
"""

import re

import pytest
from conftest import start_or_skip

from harness import lifecycle
from harness.httpclient import Connection

REFERENCE = "cpp-beast"
VARIANTS = ["c-callback", "python-pybind11", "python-cffi"]

BINARY = bytes(range(256)) * 400 + b"\0\0end"  # 100 KiB and a bit, NUL bytes included
REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /?q=1 HTTP/1.1\r\nHost: t\r\n\r\n",
    b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(BINARY), BINARY),
    b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab\0c\r\n0\r\n\r\n",
    b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n",
    b"PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx",
    b"GET /echo/more HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
    b"GET / HTTP/1.0\r\n\r\n",  # what ab sends: the server closes after answering
]
# Programs of ours that print the start line (python-cffi's through its binding's run()).
# gohttp-python serves through its binding's run(), which prints the binding's own line.
START_LINE_VARIANTS = ["cpp-beast", "c-callback", "python-pybind11", "python-cffi", "go-nethttp", "gohttp-c",
                       "flask-werkzeug"]


def closing(raw: bytes) -> bytes:
    """The same request, asking the server to close after answering."""
    if raw.endswith(b"HTTP/1.0\r\n\r\n"):
        return raw
    head, sep, body = raw.partition(b"\r\n\r\n")
    return head + b"\r\nConnection: close" + sep + body


def exchange(server: lifecycle.Server, raw: bytes) -> bytes:
    """Send raw bytes, read until the server closes; the Date line is the one that differs."""
    with Connection(server.host, server.port) as conn:
        conn.send(raw)
        answer = conn.read_until_close()
    return re.sub(rb"\r\nDate: [^\r]*", b"", answer)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    server = start_or_skip(REFERENCE, tmp_path_factory.mktemp(REFERENCE))
    yield server
    lifecycle.stop(server)


@pytest.mark.parametrize("running", VARIANTS, indirect=True)
@pytest.mark.parametrize("raw", REQUESTS, ids=[r.split(b"\r\n")[0].decode() for r in REQUESTS])
def test_each_request_alone_is_answered_like_cpp_beast(running, reference, raw):
    assert exchange(running, closing(raw)) == exchange(reference, closing(raw))


@pytest.mark.parametrize("running", VARIANTS, indirect=True)
def test_pipelined_requests_are_answered_like_cpp_beast(running, reference):
    keep_alive = [r for r in REQUESTS if not r.endswith(b"HTTP/1.0\r\n\r\n")]
    pipelined = b"".join(keep_alive[:-1]) + closing(keep_alive[-1])
    expected = exchange(reference, pipelined)
    assert expected.count(b"HTTP/1.1 ") == len(keep_alive)
    assert exchange(running, pipelined) == expected


@pytest.mark.parametrize("name", START_LINE_VARIANTS)
def test_start_line_names_the_bound_address_and_sigterm_exits_0(name, tmp_path):
    server = start_or_skip(name, tmp_path)
    info = lifecycle.stop(server)
    lines = server.stderr_path.read_text().splitlines()
    assert [ln for ln in lines if ln.startswith("listening on ")] == [
        f"listening on http://{server.host}:{server.port}"], lines
    assert server.stdout_path.read_text() == ""
    assert info["exit"] == "stopped by SIGTERM (exited with code 0)" and info["port_free"]

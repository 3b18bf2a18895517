"""The Go bridge (bridges/gohttp, libgohttp.so) facing bad handlers and bad
clients (issue 9 item 9), driven from Python through bridges/gohttp/python's
CFFI module in a child process: an out-of-range status is an error return,
not a panic; bodies over the limit get 413; a client that never finishes its
request is dropped; Shutdown twice is harmless."""

from __future__ import annotations

import http.client
import signal
import socket

import pytest

from conftest import BUILD_DIR, TIMEOUT, request

LIB = BUILD_DIR / "bridges" / "gohttp" / "libgohttp.so"
pytestmark = pytest.mark.skipif(not LIB.exists(), reason=f"{LIB} not built (needs go)")

APP = f"""
import os, sys
os.environ['GOHTTP_LIB'] = {str(LIB)!r}
sys.path.insert(0, {str(BUILD_DIR / 'bridges' / 'gohttp')!r})
from gohttp import lib, route, run

@route('/status')
def status(w, req):
    rc = lib.ResponseWriter_WriteHeader(w._w, int(req.url.partition('?')[2]))
    w.write(f'rc={{rc}}')

@route('/echo')
def echo(w, req):
    w.write(req.body)

code = run(port=PORT)
print('second Shutdown:', lib.Shutdown(), flush=True)
sys.exit(code)
"""


def test_out_of_range_status_is_an_error_return_not_a_panic(app) -> None:  # type: ignore[no-untyped-def]
    server = app(APP)
    for code in (0, 99, 1000, -5, 1 << 20):
        r = request(server.port, path=f"/status?{code}")
        assert (r.status, r.body) == (200, b"rc=-1"), code
    r = request(server.port, path="/status?201")
    assert (r.status, r.body) == (201, b"rc=0")
    assert "panic" not in server.stderr


def test_body_over_the_limit_gets_413(app) -> None:  # type: ignore[no-untyped-def]
    server = app(APP)
    assert request(server.port, "POST", "/echo", body=b"x" * 1000).body == b"x" * 1000
    try:
        r = request(server.port, "POST", "/echo", body=b"x" * (9 << 20))
    except (ConnectionError, http.client.HTTPException):
        pytest.fail("no answer to a body over the limit")
    assert r.status == 413


def test_a_request_that_never_ends_is_dropped_after_the_read_timeout(app) -> None:  # type: ignore[no-untyped-def]
    server = app(APP)
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT + 5) as s:
        s.sendall(b"GET /status?200 HTTP/1.1\r\nHost: h\r\nX-Slow: ")
        try:
            data = s.recv(1 << 16)  # the server's 10 s read timeout ends this, or ours fails the test
        except socket.timeout:
            pytest.fail("a client that never finished its request was kept past the read timeout")
        assert data == b"" or data.startswith(b"HTTP/1.1 408")


def test_shutdown_twice_is_harmless(app) -> None:  # type: ignore[no-untyped-def]
    server = app(APP)
    assert request(server.port, path="/status?200").status == 200
    assert server.stop(signal.SIGTERM) == 0, server.stderr
    assert "second Shutdown: 0" in server.stdout

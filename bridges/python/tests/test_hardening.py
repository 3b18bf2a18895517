"""What the Python binding inherits from the engine's hardening (issue 9): the
same refusals of faulty framing and Host rules, trailers kept out of
`Request.headers`, and idle connections that give back a large echo's memory
(RSS of the server process over a bounded run)."""

from __future__ import annotations

import socket
import time

from conftest import TIMEOUT, request

APP = """
import os
from httpbridge import route, run

@route('/echo')
def echo(w, req):
    w.write(req.body)

@route('/seen')
def seen(w, req):
    names = ','.join(sorted(k.lower() for k in req.headers.keys()))
    w.write(f'{req.path}|{req.query}|{req.host}|{names}')

@route('/rss')
def rss(w, req):
    w.write(str(int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')))

run(port=PORT)
"""


def exchange(port: int, raw: bytes) -> bytes:
    """Send raw bytes, then read until the server closes (bounded by TIMEOUT)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(1 << 16):
            data += chunk
        return data


def test_faulty_framing_and_host_are_refused_before_any_python_runs(app) -> None:  # type: ignore[no-untyped-def]
    server = app(APP)
    smuggled = b"GET /seen?smuggled HTTP/1.1\r\nHost: h\r\n\r\n"
    cases = [
        (b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled, b"400"),
        (b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled, b"501"),
        (b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, b"400"),
        (b"GET /seen HTTP/1.1\r\n\r\n", b"400"),
        (b"GET /seen HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", b"400"),
        (b"GET /seen HTTP/1.1\r\nHost: a/b\r\n\r\n", b"400"),
        (b"GET /seen HTTP/2.0\r\nHost: h\r\n\r\n", b"505"),
    ]
    for raw, status in cases:
        answer = exchange(server.port, raw)
        assert answer.startswith(b"HTTP/1.1 " + status + b" "), (raw, answer[:80])
        assert answer.count(b"HTTP/1.1 ") == 1, f"more than one answer to {raw!r}"


def test_absolute_target_and_trailers_as_python_sees_them(app) -> None:  # type: ignore[no-untyped-def]
    server = app(APP)
    answer = exchange(server.port, b"GET http://example.com:81/seen?q=1 HTTP/1.1\r\nHost: other\r\n\r\n")
    assert answer.endswith(b"/seen|q=1|example.com:81|host"), answer
    answer = exchange(
        server.port,
        b"POST /seen HTTP/1.1\r\nHost: real\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1\r\nx\r\n0\r\nX-Trailer: t\r\nHost: evil\r\n\r\n",
    )
    assert answer.endswith(b"/seen||real|host,transfer-encoding"), answer


def test_idle_connections_after_large_echoes_hold_a_few_mb_not_hundreds(app) -> None:  # type: ignore[no-untyped-def]
    server = app(APP)
    body = b"e" * (4 << 20)
    before = int(request(server.port, path="/rss").body)
    held = []
    try:
        for _ in range(24):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
            held.append(s)
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            want, got = None, b""
            while want is None or len(got) < want:
                chunk = s.recv(1 << 20)
                assert chunk, "server closed an echo connection"
                got += chunk
                head_end = got.find(b"\r\n\r\n")
                if want is None and head_end >= 0:
                    want = head_end + 4 + len(body)
        # Idle connections give their buffers back at the server's next sweep of
        # deadlines (every 250 ms at most): poll, within a bound, for the drop.
        deadline = time.monotonic() + TIMEOUT
        after = int(request(server.port, path="/rss").body)
        while after - before >= 64 << 20 and time.monotonic() < deadline:
            time.sleep(0.05)
            after = int(request(server.port, path="/rss").body)
    finally:
        for s in held:
            s.close()
    # Each echo needs some 16 MiB while it runs (request body, Python bytes,
    # response, output); kept by 24 idle connections that would be ~400 MiB.
    grown = after - before
    assert grown < 64 << 20, f"24 idle connections hold {grown >> 20} MiB after echoing 4 MiB each"

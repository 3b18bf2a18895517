"""No reference or memory growth over 100k handler calls (tracemalloc + RSS in the server)."""

from __future__ import annotations

import socket

from conftest import TIMEOUT, assert_no_memory_growth

LEAK_APP = """
import gc, os, sys, tracemalloc
from httpbridge import route, run

tracemalloc.start()
kept = []

@route('/')
def index(w, req):
    # every lazy field and every writer path, on every call
    fields = (req.method, req.path, req.query, req.url, req.host, req.remote_addr, req.body,
              req.headers.get('x-a'), req.headers.get_all('x-a'))
    w.set_header('Content-Type', 'text/plain')
    w.headers.add('X-B', 'b')
    if req.query.endswith('7'):
        kept[:] = [w, req]  # a kept pair is retired and replaced
    if req.query.endswith('98'):
        raise ValueError('one in a hundred fails')  # tracebacks must not leak either
    w.write(b'ok')

@route('/stats')
def stats(w, req):
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0]
    rss = int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    w.write(f'{traced} {rss} {len(gc.get_objects())} {sys.getallocatedblocks()}')

run(port=PORT)
"""

BATCH = 100


def pipelined(port: int, total: int) -> None:
    """total requests, BATCH at a time back to back on one connection; wait for every answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        for start in range(0, total, BATCH):
            batch = b"".join(
                b"POST /?%d HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nabc" % (start + i)
                for i in range(BATCH - 1)
            ) + b"POST /?0 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nabc"
            s.sendall(batch)
            data = b""
            while data.count(b"HTTP/1.1 ") < BATCH or not data.endswith(b"\r\n\r\nok"):
                chunk = s.recv(1 << 16)
                assert chunk, "server closed the connection"
                data += chunk
            assert data.count(b"HTTP/1.1 200 ") + data.count(b"HTTP/1.1 500 ") == BATCH


def test_no_growth_over_100k_handler_calls(app) -> None:  # type: ignore[no-untyped-def]
    server = app(LEAK_APP)
    assert_no_memory_growth(server.port, pipelined)
    assert server.stop() == 0
    assert server.stderr.count("ValueError: one in a hundred fails") == 1200  # 1% of 120k

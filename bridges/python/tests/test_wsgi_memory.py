"""No reference or memory growth over 100k WSGI requests (tracemalloc + RSS in the server),
through every path of the environ, input, start_response, body and error code."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from conftest import TIMEOUT, assert_no_memory_growth, free_port

LEAK_APP = """
import gc, os, sys, tracemalloc

tracemalloc.start()
kept = []


def stats(environ, start_response):
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0]
    rss = int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [f'{traced} {rss} {len(gc.get_objects())} {sys.getallocatedblocks()}'.encode()]


class Body:
    def __init__(self, blocks):
        self.blocks = iter(blocks)
    def __iter__(self):
        return self
    def __next__(self):
        return next(self.blocks)
    def close(self):
        pass


def application(environ, start_response):
    if environ['PATH_INFO'] == '/stats':
        return stats(environ, start_response)
    n = int(environ['QUERY_STRING'])
    data = environ['wsgi.input'].read()
    environ['wsgi.input'].readline()
    headers = [('Content-Type', 'text/plain'), ('X-Seen', environ.get('HTTP_X_A', ''))]
    if n % 100 == 98:
        raise ValueError('one in a hundred fails')  # tracebacks must not leak either
    if n % 10 == 7:
        kept[:] = [start_response, environ['wsgi.input'], environ]  # kept objects are replaced
    kind = n % 4
    if kind == 0:
        start_response('200 OK', headers + [('Content-Length', str(len(data)))])
        return [data]
    if kind == 1:
        start_response('200 OK', headers)
        return Body([data])  # one streamed block, then the last chunk
    if kind == 2:
        write = start_response('200 OK', headers + [('Content-Length', str(len(data)))])
        write(data)
        return []
    start_response('200 OK', headers + [('Content-Length', '3')])
    return (b for b in (data[:1], data[1:]))
"""

BATCH = 100


def pipelined(port: int, total: int) -> None:
    """total requests, BATCH at a time back to back on one connection; wait for every answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        for start in range(0, total, BATCH):
            s.sendall(b"".join(
                b"POST /a%%20b?%d HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\nX-Other-%d: v\r\n"
                b"Content-Length: 3\r\n\r\nabc" % (start + i, i % 7) for i in range(BATCH)))
            data = b""
            while data.count(b"HTTP/1.1 ") < BATCH or not data.endswith((b"abc", b"0\r\n\r\n", b"Error\n")):
                chunk = s.recv(1 << 16)
                assert chunk, "server closed the connection"
                data += chunk
            assert data.count(b"HTTP/1.1 200 ") + data.count(b"HTTP/1.1 500 ") == BATCH


def test_no_growth_over_100k_wsgi_requests(spawn, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "leakapp.py").write_text(LEAK_APP)
    port = free_port()
    server = spawn([sys.executable, "-m", "httpbridge.wsgi", "--bind", f"127.0.0.1:{port}", "--chdir",
                    str(tmp_path), "leakapp"], port)
    assert_no_memory_growth(port, pipelined)
    assert server.stop() == 0
    assert server.stderr.count("ValueError: one in a hundred fails") == 1200  # 1% of 120k

"""Helpers of the test_wsgi_* suites: an in-process WSGI server, and an HTTP/1.x reader on a
raw socket that tells how a response was framed (Content-Length, chunked, close-delimited)
and whether it ended complete."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from conftest import TIMEOUT


@contextlib.contextmanager
def wsgi_server(app: Callable[..., Any], threads: int = 1, **limits: float) -> Iterator[Any]:
    """A started httpbridge.wsgi.WsgiServer on a free port of 127.0.0.1, closed afterwards."""
    from httpbridge.wsgi import WsgiServer

    server = WsgiServer(app, "127.0.0.1", 0, threads=threads, **limits)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.close()


class Closed(Exception):
    """The peer closed the connection before the response was complete."""


class RawResponse:
    def __init__(self) -> None:
        self.version = ""
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.framing = ""  # "length", "chunked" or "close"
        self.chunks: list[bytes] = []
        self.complete = False  # the framing said where the body ends, and it ended there

    def header(self, name: str) -> str | None:
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        return ", ".join(values) if values else None


class Client:
    """One connection; send raw bytes, read responses one at a time.

    A slow reader: ``rcvbuf`` shrinks the socket's receive buffer (set before connecting, so
    the window is small from the start) and ``read_pause`` seconds pass before each recv."""

    def __init__(self, port: int, rcvbuf: int | None = None, read_pause: float = 0.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(("127.0.0.1", port))
        self.read_pause = read_pause
        self.buf = b""

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def get(self, path: str, version: str = "HTTP/1.1", headers: str = "", method: str = "GET") -> None:
        self.send(f"{method} {path} {version}\r\nHost: t\r\n{headers}\r\n".encode("latin-1"))

    def _fill(self) -> None:
        if self.read_pause:
            time.sleep(self.read_pause)  # a slow client, not a wait for readiness
        data = self.sock.recv(65536)
        if not data:
            raise Closed
        self.buf += data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def exactly(self, n: int) -> bytes:
        """The next n bytes as they came (raises Closed when the peer closes first)."""
        return self._exactly(n)

    def head(self) -> RawResponse:
        """The status line and headers of the next response."""
        r = RawResponse()
        r.version, status, *_ = self._line().decode("latin-1").split(" ", 2)
        r.status = int(status)
        while line := self._line():
            name, _, value = line.decode("latin-1").partition(":")
            r.headers.append((name, value.strip()))
        return r

    def chunk(self) -> bytes:
        """The next chunk of a chunked body (b'' for the last one)."""
        size = int(self._line().split(b";")[0], 16)
        if size == 0:
            while self._line():  # trailers, then the blank line
                pass
            return b""
        data = self._exactly(size)
        self._line()
        return data

    def response(self, head_request: bool = False) -> RawResponse:
        """The next whole response; incomplete (complete False) if the peer closed early."""
        r = self.head()
        try:
            if head_request or r.status in (204, 304):
                r.framing, r.complete = "length", True
            elif (r.header("Transfer-Encoding") or "").lower() == "chunked":
                r.framing = "chunked"
                while chunk := self.chunk():
                    r.chunks.append(chunk)
                    r.body += chunk
                r.complete = True
            elif r.header("Content-Length") is not None:
                r.framing = "length"
                wanted = int(r.header("Content-Length") or 0)
                while len(self.buf) < wanted:
                    try:
                        self._fill()
                    except Closed:
                        r.body, self.buf = self.buf, b""
                        return r
                r.body, self.buf = self.buf[:wanted], self.buf[wanted:]
                r.complete = True
            else:
                r.framing = "close"
                with contextlib.suppress(Closed):
                    while True:
                        self._fill()
                r.body, self.buf, r.complete = self.buf, b"", True
        except Closed:
            pass
        return r

    def peer_closed(self) -> bool:
        """Whether the server closes the connection now (within TIMEOUT) with nothing more sent."""
        if self.buf:
            return False
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


class Gate:
    """A generator's pause point: the app waits (bounded) until the test opens it."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def open(self) -> None:
        self.event.set()

    def wait(self) -> bool:
        return self.event.wait(TIMEOUT)


class Closable:
    """A body iterable that records that its close() was called (PEP 3333 requires it)."""

    def __init__(self, blocks: Iterator[bytes] | list[bytes]) -> None:
        self.blocks = iter(blocks)
        self.closed = threading.Event()

    def __iter__(self) -> Closable:
        return self

    def __next__(self) -> bytes:
        return next(self.blocks)

    def close(self) -> None:
        self.closed.set()

    def was_closed(self) -> bool:
        return self.closed.wait(TIMEOUT)

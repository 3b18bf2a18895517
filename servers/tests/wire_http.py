"""A tiny HTTP/1.1 client on raw sockets, for tests that must see the wire.

http.client hides what these tests check: whether a connection stayed open,
whether pipelined answers come back in order, whether a HEAD answer carried a
body. Here one socket is one connection, and responses are read one by one.
"""

from __future__ import annotations

import dataclasses
import socket

TIMEOUT = 15.0  # seconds for any single socket operation


@dataclasses.dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of a header that must appear at most once, or None."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        assert len(values) <= 1, f"header {name} repeated: {values}"
        return values[0] if values else None

    @property
    def closes(self) -> bool:
        return (self.header("Connection") or "").lower() == "close"


def request(method: str, target: str, body: bytes | None = None, close: bool = False) -> bytes:
    """One request's bytes; a body always goes with Content-Length."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class Connection:
    """One TCP connection; send requests, then read their responses in order."""

    def __init__(self, host: str, port: int):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def exchange(self, method: str, target: str, body: bytes | None = None,
                 close: bool = False) -> Response:
        self.send(request(method, target, body, close))
        return self.read_response(method)

    def read_response(self, method: str = "GET") -> Response:
        status_line = self.rfile.readline()
        if not status_line:
            raise ConnectionError("connection closed before a response")
        version, status, _ = (status_line.decode("latin-1").rstrip("\r\n") + " ").split(" ", 2)
        assert version in ("HTTP/1.1", "HTTP/1.0"), f"bad status line {status_line!r}"
        headers = []
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise ConnectionError("connection closed inside the headers")
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        response = Response(int(status), headers, b"")
        response.body = self._read_body(response, method)
        return response

    def _read_body(self, response: Response, method: str) -> bytes:
        if method == "HEAD" or response.status in (204, 304) or response.status < 200:
            return b""
        if (response.header("Transfer-Encoding") or "").lower() == "chunked":
            return self._read_chunked()
        length = response.header("Content-Length")
        if length is not None:
            return self._read_exactly(int(length))
        return self.rfile.read()  # delimited by the server closing the connection

    def _read_exactly(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if len(data) != n:
            raise ConnectionError(f"body cut short: {len(data)} of {n} bytes")
        return data

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self._read_exactly(size))
            self.rfile.readline()

    def at_eof(self) -> bool:
        """True when the server has closed its side (nothing more to read)."""
        return self.rfile.read(1) == b""

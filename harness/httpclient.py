"""A small HTTP/1.x client over one raw socket: what verification and readiness need.

http.client hides exactly what we check (keep-alive on one socket, pipelined order,
the bytes of each header), so requests and responses are handled byte by byte here.
"""

from __future__ import annotations

import dataclasses
import re
import socket

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024  # far above any body the checks send; a bound on what we buffer
# Numbers as HTTP writes them: ASCII digits only (str.isdigit() also takes '²', int() not).
STATUS_RE = re.compile(r"[0-9]{3}")
LENGTH_RE = re.compile(r"[0-9]{1,18}")
CHUNK_SIZE_RE = re.compile(rb"[0-9A-Fa-f]{1,15}")


class ProtocolError(Exception):
    pass


@dataclasses.dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header, case-insensitively; None when absent."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def header_count(self, name: str) -> int:
        name = name.lower()
        return sum(1 for key, _ in self.headers if key.lower() == name)

    @property
    def closes(self) -> bool:
        """The server says it closes the connection after this answer."""
        return "close" in (self.header("Connection") or "").lower()


def request_bytes(method: str, path: str, host: str, body: bytes = b"",
                  headers: list[tuple[str, str]] | None = None,
                  version: str = "HTTP/1.1") -> bytes:
    lines = [f"{method} {path} {version}", f"Host: {host}"]
    for key, value in headers or []:
        lines.append(f"{key}: {value}")
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    """One TCP connection; responses are read in order from a shared buffer."""

    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, method: str, path: str, body: bytes = b"",
                headers: list[tuple[str, str]] | None = None,
                version: str = "HTTP/1.1") -> Response:
        self.send(request_bytes(method, path, self.authority, body, headers, version))
        return self.read_response(method)

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.sock.recv(256 * 1024)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ProtocolError(f"connection closed after {len(self.buf)} of {n} body bytes")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _read_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if len(self.buf) > MAX_HEAD:
                raise ProtocolError("line longer than 64 KiB")
            if not self._fill():
                raise ProtocolError("connection closed in the middle of a line")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_response(self, method: str = "GET") -> Response:
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEAD:
                raise ProtocolError("response head longer than 64 KiB")
            if not self._fill():
                if not self.buf:
                    raise ProtocolError("connection closed before any response")
                raise ProtocolError("connection closed inside the response head: "
                                    f"{self.buf[:80]!r}")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if (len(parts) < 2 or not parts[0].startswith("HTTP/")
                or not STATUS_RE.fullmatch(parts[1])):
            raise ProtocolError(f"bad status line {lines[0]!r}")
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for line in lines[1:]:
            key, sep, value = line.partition(":")
            if not sep:
                raise ProtocolError(f"bad header line {line!r}")
            headers.append((key.strip(), value.strip()))
        response = Response(version, status, reason, headers, b"")

        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return response
        encoding = (response.header("Transfer-Encoding") or "").lower()
        length = response.header("Content-Length")
        if "chunked" in encoding:
            response.body = self._read_chunked()
        elif length is not None:
            if not LENGTH_RE.fullmatch(length) or response.header_count("Content-Length") > 1:
                raise ProtocolError(f"bad Content-Length {length!r}")
            if int(length) > MAX_BODY:
                raise ProtocolError(f"Content-Length {length} is over the client's limit "
                                    f"of {MAX_BODY} bytes")
            response.body = self._read_exact(int(length))
        else:
            response.body = self.read_until_close()
        return response

    def read_until_close(self) -> bytes:
        """Everything until the server closes the connection (at most MAX_BODY bytes)."""
        while self._fill():
            if len(self.buf) > MAX_BODY:
                raise ProtocolError(f"more than {MAX_BODY} bytes before the server closed")
        data, self.buf = self.buf, b""
        return data

    def _read_chunked(self) -> bytes:
        body = []
        total = 0
        while True:
            size_line = self._read_line().split(b";")[0].strip()
            if not CHUNK_SIZE_RE.fullmatch(size_line):
                raise ProtocolError(f"bad chunk size {size_line[:40]!r}")
            size = int(size_line, 16)
            total += size
            if total > MAX_BODY:
                raise ProtocolError(f"chunked body over the client's limit of {MAX_BODY} bytes")
            if size == 0:
                while self._read_line():  # trailers, then the empty line
                    pass
                return b"".join(body)
            body.append(self._read_exact(size))
            if self._read_exact(2) != b"\r\n":
                raise ProtocolError("chunk not followed by CRLF")

    def leftover(self, wait: float) -> bytes:
        """Bytes that arrive within `wait` seconds after the last response (should be none)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(wait)
        try:
            while self._fill():
                pass
        except (TimeoutError, BlockingIOError, ConnectionResetError):
            pass
        finally:
            self.sock.settimeout(old)
        data, self.buf = self.buf, b""
        return data

    def peer_closed(self, wait: float) -> bool:
        """True if the server closes the connection within `wait` seconds (no more bytes)."""
        if self.buf:
            return False
        old = self.sock.gettimeout()
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except (TimeoutError, BlockingIOError):
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(old)


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Does GET / get any HTTP response? (readiness, not correctness)"""
    try:
        with Connection(host, port, timeout) as conn:
            conn.request("GET", "/", headers=[("Connection", "close")])
        return True
    except (OSError, ProtocolError):
        return False

"""Check that a running server answers exactly what every variant must answer.

The contract (servers/README.md): GET / and HEAD / -> 200 text/plain "Hello, world.\\n";
POST /echo -> 200 application/octet-stream with the body back; anything else -> 404.
Each check runs on its own connection and never stops the others.
"""

from __future__ import annotations

import dataclasses
import random

from harness.httpclient import Connection, ProtocolError, Response, request_bytes

HELLO = b"Hello, world.\n"
HELLO_TYPE = "text/plain"
ECHO_TYPE = "application/octet-stream"
MISSING_PATH = "/no-such-page-404"
ECHO_SMALL = bytes(range(256)) * 4  # 1 KiB, every byte value including NUL
ECHO_LARGE = random.Random(4).randbytes(256 * 1024)  # the largest echo scenario body


@dataclasses.dataclass
class Check:
    name: str
    ok: bool | None  # None: not applicable to this variant
    detail: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class Failed(Exception):
    pass


def _expect(cond: bool, message: str) -> None:
    if not cond:
        raise Failed(message)


def _show(body: bytes, limit: int = 40) -> str:
    text = repr(body[:limit])
    return text + (f"... ({len(body)} bytes)" if len(body) > limit else "")


def expect_hello(resp: Response, what: str = "GET /") -> None:
    _expect(resp.status == 200, f"{what}: status {resp.status}, expected 200")
    _expect(resp.body == HELLO, f"{what}: body {_show(resp.body)}, expected {HELLO!r}")
    length = resp.header("Content-Length")
    _expect(length == str(len(HELLO)),
            f"{what}: Content-Length {length!r}, expected '{len(HELLO)}'"
            + (" (chunked answers are not allowed)" if resp.header("Transfer-Encoding") else ""))
    ctype = resp.header("Content-Type")
    _expect(ctype == HELLO_TYPE, f"{what}: Content-Type {ctype!r}, expected {HELLO_TYPE!r}")


def expect_echo(resp: Response, sent: bytes) -> None:
    what = f"POST /echo ({len(sent)} bytes)"
    _expect(resp.status == 200, f"{what}: status {resp.status}, expected 200")
    _expect(resp.body == sent, f"{what}: body {_show(resp.body)} differs from the "
                               f"{len(sent)} bytes sent")
    length = resp.header("Content-Length")
    _expect(length == str(len(sent)), f"{what}: Content-Length {length!r}, expected '{len(sent)}'")
    ctype = resp.header("Content-Type")
    _expect(ctype == ECHO_TYPE, f"{what}: Content-Type {ctype!r}, expected {ECHO_TYPE!r}")


def check_get(host, port):
    with Connection(host, port) as c:
        expect_hello(c.request("GET", "/"))


HEAD_THEN_CLOSE = ("the server closed the connection after HEAD / with no body bytes: "
                   "allowed (RFC 9112 section 9.3), and no load scenario sends HEAD")


def check_head(host, port, keep_alive=True) -> str | None:
    with Connection(host, port) as c:
        resp = c.request("HEAD", "/")
        _expect(resp.status == 200, f"HEAD /: status {resp.status}, expected 200")
        if keep_alive:
            # A body sent after a HEAD answer would show up before the next answer. A server
            # may also end the connection there (waitress 2.1 does, when an app drops the
            # body as Flask does): then no stray byte may have come before the close.
            try:
                resp = c.request("GET", "/")
            except ProtocolError as e:
                if str(e) != "connection closed before any response":
                    raise
                return HEAD_THEN_CLOSE
            except (ConnectionResetError, BrokenPipeError):
                # The GET met the closed socket: a reset, not a FIN. Still no stray bytes?
                if c.buf:
                    raise Failed(f"HEAD /: {_show(c.buf)} after the head, then a reset")
                return HEAD_THEN_CLOSE
            expect_hello(resp, "GET / after HEAD /")
        else:
            extra = c.leftover(0.3)
            _expect(not extra, f"HEAD /: {len(extra)} bytes of body after the head")


def check_404(host, port):
    with Connection(host, port) as c:
        resp = c.request("GET", MISSING_PATH)
        _expect(resp.status == 404, f"GET {MISSING_PATH}: status {resp.status}, expected 404")


def check_http10(host, port):
    # What ab sends: HTTP/1.0 without keep-alive; the answer must end with the connection.
    with Connection(host, port) as c:
        expect_hello(c.request("GET", "/", version="HTTP/1.0"), "GET / HTTP/1.0")
        _expect(c.peer_closed(2.0), "GET / HTTP/1.0: connection still open 2 s after the "
                                    "answer (ab without -k would hang)")


def check_keep_alive(host, port):
    with Connection(host, port) as c:
        for i in range(1, 4):
            resp = c.request("GET", "/")
            expect_hello(resp, f"GET / #{i} on one connection")
            conn_header = (resp.header("Connection") or "").lower()
            _expect("close" not in conn_header, f"answer #{i} says 'Connection: {conn_header}'")


def check_pipelining(host, port):
    body = b"pipelined\x00body"
    with Connection(host, port) as c:
        a = c.authority
        c.send(request_bytes("GET", "/", a) + request_bytes("GET", MISSING_PATH, a)
               + request_bytes("POST", "/echo", a, body) + request_bytes("GET", "/", a))
        expect_hello(c.read_response(), "pipelined #1 GET /")
        second = c.read_response()
        _expect(second.status == 404, f"pipelined #2 GET {MISSING_PATH}: status {second.status}, "
                                      "expected 404 (answers out of order?)")
        expect_echo(c.read_response("POST"), body)
        expect_hello(c.read_response(), "pipelined #4 GET /")


def check_echo_small(host, port):
    with Connection(host, port) as c:
        expect_echo(c.request("POST", "/echo", ECHO_SMALL,
                              [("Content-Type", ECHO_TYPE)]), ECHO_SMALL)


def check_echo_large(host, port):
    with Connection(host, port, timeout=10) as c:
        expect_echo(c.request("POST", "/echo", ECHO_LARGE,
                              [("Content-Type", ECHO_TYPE)]), ECHO_LARGE)


# name, function, which manifest flag it needs (None: always)
CHECKS = [
    ("GET /", check_get, None),
    ("HEAD /", check_head, None),
    ("404", check_404, None),
    ("HTTP/1.0", check_http10, None),
    ("keep-alive", check_keep_alive, "keep_alive"),
    ("pipelined", check_pipelining, "pipelining"),
    ("echo 1 KiB", check_echo_small, None),
    ("echo 256 KiB", check_echo_large, None),
]
CHECK_NAMES = [name for name, _, _ in CHECKS]


def verify(host: str, port: int, variant) -> list[Check]:
    """Run every check against a started server; never raises for a failing server,
    whatever bytes it answers with."""
    results = []
    for name, func, flag in CHECKS:
        if flag and not getattr(variant, flag):
            results.append(Check(name, None, f"manifest: supports.{flag} = false"))
            continue
        try:
            if func is check_head:
                note = func(host, port, variant.keep_alive)
            else:
                note = func(host, port)
            results.append(Check(name, True, note or ""))
        except Failed as e:
            results.append(Check(name, False, str(e)))
        except (OSError, ProtocolError) as e:
            results.append(Check(name, False, f"{type(e).__name__}: {e}"))
        except Exception as e:  # a server's answer, however odd, is a failed check, not a crash
            results.append(Check(name, False, f"unexpected {type(e).__name__}: {e}"))
    return results


def passed(checks: list[Check]) -> bool:
    return all(c.ok is not False for c in checks)


def failure_summary(checks: list[Check]) -> str:
    return "; ".join(f"{c.name}: {c.detail}" for c in checks if c.ok is False)

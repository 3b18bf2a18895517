"""httpbridge.wsgi, the response side (PEP 3333): start_response and write(), exc_info,
refused headers, how bodies are framed and streamed, Content-Length held to, close() on
every path, errors. Apps run under wsgiref.validate.validator where it allows the case."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from typing import Any
from wsgiref.validate import validator

import pytest
from conftest import request
from wsgi_helpers import Client, Closable, Gate, wsgi_server

TEXT = [("Content-Type", "text/plain")]


def answer(client: Client, path: str, version: str = "HTTP/1.1", method: str = "GET") -> Any:
    client.get(path, version=version, method=method)
    return client.response(head_request=method == "HEAD")


# ---- framing ------------------------------------------------------------------------


def blocks_app(environ: dict[str, Any], start_response: Any) -> Any:
    """/list: three blocks in a list; /gen: from a generator; /*-cl: with Content-Length;
    /one-cl: one block from a generator, with its Content-Length (what Flask returns)."""
    path = environ["PATH_INFO"]
    blocks = [b"one two three"] if path == "/one-cl" else [b"one ", b"two ", b"three"]
    start_response("200 OK", TEXT + ([("Content-Length", "13")] if path.endswith("-cl") else []))
    if path.startswith("/list"):
        return blocks
    return (b for b in blocks)


@pytest.mark.parametrize("path", ["/list", "/list-cl", "/one-cl"])
def test_list_bodies_and_complete_content_lengths_go_out_whole(path: str) -> None:
    # validator() would hide the list behind an iterator of its own.
    with wsgi_server(validator(blocks_app) if path == "/one-cl" else blocks_app) as server, \
            Client(server.port) as c:
        r = answer(c, path)
        assert (r.status, r.framing, r.body) == (200, "length", b"one two three")
        assert r.header("Content-Length") == "13"
        assert r.header("Transfer-Encoding") is None
        assert answer(c, path).body == b"one two three"  # and the connection stays open


def test_streamed_blocks_with_a_content_length_keep_it_and_are_not_chunked() -> None:
    # Each block goes out before the next is asked for, framed by the app's own length.
    with wsgi_server(validator(blocks_app)) as server, Client(server.port) as c:
        r = answer(c, "/gen-cl")
        assert (r.framing, r.complete, r.body) == ("length", True, b"one two three")
        assert (r.header("Content-Length"), r.header("Transfer-Encoding")) == ("13", None)
        assert answer(c, "/gen-cl").body == b"one two three"  # and the connection stays open


def gated_app(gate: Gate, asked: list[bool]) -> Any:
    """Content-Length 6, then b"abc"; b"def" only once the test opened the gate."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", TEXT + [("Content-Length", "6")])
        yield b"abc"
        asked.append(gate.wait())  # the client must have the first block by now
        yield b"def"

    return app


def test_a_generator_with_a_content_length_streams_each_block_at_once() -> None:
    gate, asked = Gate(), []
    with wsgi_server(validator(gated_app(gate, asked))) as server, Client(server.port) as c:
        c.get("/")
        r = c.head()
        assert (r.header("Content-Length"), r.header("Transfer-Encoding")) == ("6", None)
        assert c.exactly(3) == b"abc"  # the identity body's first block, no chunk-size line
        assert not asked  # the app is still paused: the block came out on its own
        gate.open()
        assert c.exactly(3) == b"def"
        c.get("/", headers="Connection: close\r\n")  # the connection went on; now end it
        r = c.response()
        assert (r.framing, r.body, r.header("Connection")) == ("length", b"abcdef", "close")
        assert c.peer_closed()
    assert asked == [True, True]


@pytest.mark.parametrize("keep_alive", [True, False])
def test_a_generator_with_a_content_length_streams_with_it_on_http10(keep_alive: bool) -> None:
    gate, asked = Gate(), []
    gate.open()
    with wsgi_server(validator(gated_app(gate, asked))) as server, Client(server.port) as c:
        c.get("/", version="HTTP/1.0", headers="Connection: keep-alive\r\n" if keep_alive else "")
        r = c.response()
        assert (r.framing, r.complete, r.body) == ("length", True, b"abcdef")
        assert (r.header("Content-Length"), r.header("Transfer-Encoding")) == ("6", None)
        if keep_alive:
            assert r.header("Connection") == "keep-alive"
            assert answer(c, "/", version="HTTP/1.0").body == b"abcdef"
        assert c.peer_closed()  # a 1.0 request without keep-alive: closed after its answer


def test_several_blocks_without_length_are_chunked_on_http11() -> None:
    with wsgi_server(validator(blocks_app)) as server, Client(server.port) as c:
        r = answer(c, "/gen")
        assert (r.framing, r.complete, r.chunks) == ("chunked", True, [b"one ", b"two ", b"three"])
        assert r.header("Content-Length") is None
        assert answer(c, "/gen").body == b"one two three"


def test_several_blocks_without_length_are_close_delimited_on_http10() -> None:
    with wsgi_server(validator(blocks_app)) as server, Client(server.port) as c:
        r = answer(c, "/gen", version="HTTP/1.0")
        assert (r.framing, r.body) == ("close", b"one two three")
        assert r.header("Content-Length") is None and r.header("Transfer-Encoding") is None


def test_head_gets_the_apps_length_and_no_body() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", TEXT + [("Content-Length", "14")])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [b"Hello, world.\n"]

    with wsgi_server(validator(app)) as server, Client(server.port) as c:
        r = answer(c, "/", method="HEAD")
        assert (r.status, r.header("Content-Length")) == (200, "14")
        assert answer(c, "/").body == b"Hello, world.\n"  # no stray body bytes came first


@pytest.mark.parametrize("shape", ["generator", "list", "no-length"])
def test_head_of_a_large_streamed_body_carries_its_length(shape: str) -> None:
    # 2 MiB: the length is declared to the engine, never padded or turned into chunked.
    size = 2 << 20

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", TEXT + ([] if shape == "no-length" else [("Content-Length", str(size))]))
        blocks = [b"x" * (size // 2)] * 2
        return blocks if shape == "list" else iter(blocks)

    with wsgi_server(validator(app)) as server, Client(server.port) as c:
        r = answer(c, "/", method="HEAD")
        assert (r.status, r.header("Content-Length"), r.header("Transfer-Encoding")) == (200, str(size), None)
        assert answer(c, "/", method="HEAD").header("Content-Length") == str(size)  # nothing stray between


def test_each_block_is_sent_before_the_next_is_asked_for() -> None:
    gate, asked = Gate(), []

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", TEXT)
        yield b"first"
        asked.append(gate.wait())  # the client must have the first block by now
        yield b"second"

    with wsgi_server(validator(app)) as server, Client(server.port) as c:
        c.get("/")
        r = c.head()
        assert c.chunk() == b"first"
        assert not asked  # the app is still paused: the block came out on its own
        gate.open()
        assert (c.chunk(), c.chunk()) == (b"second", b"")
        assert r.header("Transfer-Encoding") == "chunked"
    assert asked == [True]


# ---- start_response and write() --------------------------------------------------------


def write_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path = environ["PATH_INFO"]
    if path == "/cl":  # the legacy shape: the whole body through write(), with its length
        write = start_response("200 OK", TEXT + [("Content-Length", "11")])
        write(b"hello world")
        return []
    write = start_response("200 OK", TEXT)
    write(b"written ")
    return [b"and returned"]


def test_write_streams_then_the_iterable_follows() -> None:
    with wsgi_server(validator(write_app)) as server, Client(server.port) as c:
        r = answer(c, "/")
        assert (r.framing, r.body) == ("chunked", b"written and returned")
        r = answer(c, "/cl")
        assert (r.framing, r.body, r.header("Content-Length")) == ("length", b"hello world", "11")


def test_status_reason_and_headers_reach_the_client() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Two", "a"), ("X-Two", "b"),
                                       ("Set-Cookie", "k=v; Path=/"), ("X-Latin", "caf\xe9")])
        return [b"made"]

    with wsgi_server(validator(app)) as server, Client(server.port) as c:
        c.get("/")
        r = c.response()
    assert (r.status, r.body) == (201, b"made")
    assert [v for n, v in r.headers if n == "X-Two"] == ["a", "b"]
    assert r.header("Set-Cookie") == "k=v; Path=/"
    assert r.header("X-Latin") == "caf\xe9"


@pytest.mark.parametrize("name", ["Connection", "keep-alive", "Transfer-Encoding", "Upgrade", "TE",
                                  "Trailer", "Proxy-Authenticate", "Proxy-Authorization"])
def test_hop_by_hop_headers_are_refused(name: str) -> None:
    errors: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            start_response("200 OK", TEXT + [(name, "close")])
        except ValueError as e:
            errors.append(str(e))
            raise
        return [b"never"]

    with wsgi_server(app) as server:
        assert request(server.port).status == 500
    assert len(errors) == 1 and "hop-by-hop" in errors[0] and name in errors[0]


@pytest.mark.parametrize("status, headers, message", [
    ("200", TEXT, None),  # a bare code is allowed
    ("OK 200", TEXT, "status must be like '200 OK'"),
    (200, TEXT, "status must be str"),
    ("100 Continue", TEXT, "informational"),
    ("200 OK", {"Content-Type": "text/plain"}, "must be a list"),
    ("200 OK", [("Content-Type",)], "(name, value) tuple"),
    ("200 OK", [("Bad Name", "x")], "HTTP token"),
    ("200 OK", [("X-Split", "a\r\nInjected: yes")], "CR, LF or NUL"),
    ("200 OK", [("Content-Length", "ten")], "not a byte count"),
    # Digits only, as RFC 9110 has it: what int() or strtoll would also take is refused.
    ("200 OK", [("Content-Length", "+4")], "not a byte count"),
    ("200 OK", [("Content-Length", "-0")], "not a byte count"),
    ("200 OK", [("Content-Length", "4,4")], "not a byte count"),
    ("200 OK", [("Content-Length", "4 4")], "not a byte count"),
    ("200 OK", [("Content-Length", "")], "not a byte count"),
    ("200 OK", [("Content-Length", "99999999999999999999")], "not a byte count"),
    ("200 OK", [("Content-Length", " 4 ")], None),  # optional whitespace around it is not the value
    ("200 OK", [("Content-Length", "4"), ("content-length", "4")], None),
    ("200 OK", [("Content-Length", "4"), ("Content-Length", "5")], "two different Content-Length values"),
    ("200 OK", [(b"X-Bytes", "x")], "must be str"),
])
def test_start_response_checks_its_arguments(status: Any, headers: Any, message: str | None) -> None:
    errors: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            start_response(status, headers)
        except (TypeError, ValueError) as e:
            errors.append(str(e))
            raise
        return [b"fine"]

    with wsgi_server(app) as server:
        r = request(server.port)
    if message is None:
        assert (r.status, r.body) == (200, b"fine")
    else:
        assert r.status == 500
        assert len(errors) == 1 and message in errors[0], errors


def test_a_second_start_response_needs_exc_info() -> None:
    errors: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", TEXT)
        try:
            start_response("200 OK", TEXT)
        except RuntimeError as e:
            errors.append(str(e))
            raise
        return [b"never"]

    with wsgi_server(app) as server:
        assert request(server.port).status == 500
    assert "without exc_info" in errors[0]


def test_exc_info_before_anything_was_sent_replaces_the_status() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", TEXT + [("X-First", "1")])
        yield b""  # an empty block sends nothing, not even the headers
        try:
            raise KeyError("lost")
        except KeyError:
            start_response("503 Service Unavailable", TEXT + [("Retry-After", "1")], sys.exc_info())
        yield b"try again"

    with wsgi_server(validator(app)) as server, Client(server.port) as c:
        c.get("/")
        r = c.response()
    assert (r.status, r.body, r.header("Retry-After"), r.header("X-First")) == (503, b"try again", "1", None)


def test_exc_info_after_the_headers_went_out_reraises_and_cuts_the_response(capfd) -> None:  # type: ignore[no-untyped-def]
    reraised: list[bool] = []
    body = Closable([])

    def gen(start_response: Any) -> Iterator[bytes]:
        yield b"partial"
        try:
            raise KeyError("late")
        except KeyError:
            try:
                start_response("500 Internal Server Error", TEXT, sys.exc_info())
            except KeyError:
                reraised.append(True)
                raise

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", TEXT)
        if environ["PATH_INFO"] == "/fine":
            return [b"fine"]
        body.blocks = gen(start_response)
        return body

    with wsgi_server(app) as server, Client(server.port) as c:
        c.get("/")
        r = c.response()
        assert (r.status, r.framing, r.body, r.complete) == (200, "chunked", b"partial", False)
        assert c.peer_closed()
        assert request(server.port, path="/fine").status == 200  # the server goes on
    assert reraised == [True] and body.was_closed()
    assert "exception in WSGI app for GET / (connection closed)" in capfd.readouterr().err


# ---- Content-Length held to -----------------------------------------------------------


def test_fewer_bytes_than_content_length_closes_the_connection(capfd) -> None:  # type: ignore[no-untyped-def]
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", TEXT + [("Content-Length", "10")])
        return [b"short"]

    with wsgi_server(app) as server, Client(server.port) as c:
        c.get("/")
        r = c.response()
        assert (r.status, r.body, r.complete) == (200, b"short", False)  # the client can tell
        assert c.peer_closed()
    assert "the WSGI app sent 5 of its Content-Length 10 bytes for /: connection closed" \
        in capfd.readouterr().err


@pytest.mark.parametrize("shape", ["list", "generator", "write"])
def test_more_bytes_than_content_length_are_never_sent(shape: str) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        write = start_response("200 OK", TEXT + [("Content-Length", "5")])
        if shape == "write":
            write(b"12345-extra")
            return []
        return [b"123", b"45-ex", b"tra"] if shape == "list" else iter([b"123", b"45-ex", b"tra"])

    with wsgi_server(app) as server, Client(server.port) as c:
        r = answer(c, "/")
        assert (r.framing, r.body, r.complete, r.header("Content-Length")) == ("length", b"12345", True, "5")
        assert answer(c, "/").body == b"12345"  # nothing stray on the connection


def test_more_bytes_than_content_length_warn_once_and_stop_the_iteration(capfd) -> None:  # type: ignore[no-untyped-def]
    asked: list[int] = []

    def endless() -> Iterator[bytes]:
        for i in range(100_000):  # 6 GiB if nobody stopped it
            asked.append(i)
            yield b"x" * 65536

    bodies: list[Closable] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", TEXT + [("Content-Length", "100000")])
        bodies.append(Closable(endless()))
        return bodies[-1]

    with wsgi_server(app) as server, Client(server.port) as c:
        c.get("/")
        c.get("/")  # pipelined: answered on the same connection, so the first ended cleanly
        first, second = c.response(), c.response()
        assert (first.framing, first.complete, len(first.body)) == ("length", True, 100_000)
        assert first.body == second.body == b"x" * 100_000
    # PEP 3333: stop iterating once the length is sent; the block that crossed it is the last asked.
    assert len(asked) == 4 and all(b.was_closed() for b in bodies)
    err = capfd.readouterr().err
    assert err.count("the WSGI app gave more than its Content-Length (100000 bytes) for /") == 2


def test_a_short_streamed_body_is_cut_after_what_was_sent(capfd) -> None:  # type: ignore[no-untyped-def]
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        if environ["PATH_INFO"] == "/fine":
            start_response("200 OK", TEXT)
            yield b"fine"
            return
        start_response("200 OK", TEXT + [("Content-Length", "10")])
        yield b"abc"
        yield b"de"

    with wsgi_server(validator(app)) as server, Client(server.port) as c:
        c.get("/")
        c.get("/fine")  # pipelined behind it: never answered on this connection
        r = c.response()
        assert (r.status, r.header("Content-Length"), r.header("Transfer-Encoding")) == (200, "10", None)
        assert (r.body, r.complete) == (b"abcde", False)  # the client sees the close
        assert c.peer_closed()
        assert request(server.port, path="/fine").body == b"fine"  # the server goes on
    assert capfd.readouterr().err.count("the WSGI app sent 5 of its Content-Length 10 bytes for /: "
                                        "connection closed") == 1


# ---- close() on every path -------------------------------------------------------------


@pytest.mark.parametrize("case", ["normal", "head", "raises", "short", "not-bytes", "no-start"])
def test_close_is_called_on_every_path(case: str) -> None:
    def blocks() -> Iterator[bytes]:
        yield b"ok"
        if case == "raises":
            raise RuntimeError("in the body")
        if case == "not-bytes":
            yield "str"  # type: ignore[misc]

    body = Closable(blocks())

    def app(environ: dict[str, Any], start_response: Any) -> Closable:
        if case != "no-start":
            start_response("200 OK", TEXT + ([("Content-Length", "9")] if case == "short" else []))
        return body

    with wsgi_server(app) as server, Client(server.port) as c:
        r = answer(c, "/", method="HEAD" if case == "head" else "GET")
        assert r.status == (500 if case == "no-start" else 200)
    assert body.was_closed()


def test_close_is_called_when_the_client_disconnects_mid_stream() -> None:
    produced = []

    def endless() -> Iterator[bytes]:
        for i in range(100_000):  # 6 GiB if nobody stopped it: the server must
            produced.append(i)
            yield b"x" * 65536

    body = Closable(endless())

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", TEXT)
        return body if environ["PATH_INFO"] == "/stream" else [b"fine"]

    with wsgi_server(app) as server:
        with Client(server.port) as c:
            c.get("/stream")
            c.head()
            assert len(c.chunk()) == 65536
        assert body.was_closed()
        assert len(produced) < 100_000
        assert request(server.port).body == b"fine"  # and the server goes on


# A stream much longer than what the kernel and the engine buffer for one client (some MiB and
# 256 KiB): a client that falls behind makes the app wait, as a blocking socket write would.
LONG_BLOCK = 65536
LONG_BLOCKS = 256  # 16 MiB


def long_blocks() -> Iterator[bytes]:
    for i in range(LONG_BLOCKS):
        yield bytes([97 + i % 26]) * LONG_BLOCK


def test_a_slow_reader_gets_a_long_stream_whole_and_in_order() -> None:
    body = Closable(long_blocks())

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", TEXT)
        return body if environ["PATH_INFO"] == "/stream" else [b"fine"]

    with wsgi_server(validator(app)) as server, \
            Client(server.port, rcvbuf=16384, read_pause=0.0005) as c:
        r = answer(c, "/stream")
        assert (r.framing, r.complete, len(r.body)) == ("chunked", True, LONG_BLOCK * LONG_BLOCKS)
        assert r.body == b"".join(long_blocks())
        assert body.was_closed()
        assert answer(c, "/after").body == b"fine"  # the connection goes on


def test_a_client_that_stops_reading_is_given_up_after_the_read_timeout() -> None:
    body = Closable(long_blocks())

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", TEXT)
        return body if environ["PATH_INFO"] == "/stream" else [b"fine"]

    with wsgi_server(app, read_timeout=0.3) as server, Client(server.port) as c:
        c.get("/stream")  # and never read
        assert body.was_closed()
        assert request(server.port).body == b"fine"  # the one io thread serves others again


def test_a_kept_start_response_raises_after_its_request() -> None:
    kept: list[Any] = []
    errors: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if kept:
            try:
                kept[0]("200 OK", TEXT)
            except RuntimeError as e:
                errors.append(str(e))
        kept.append(start_response)
        start_response("200 OK", TEXT)
        return [b"ok"]

    with wsgi_server(app) as server:
        assert request(server.port).body == b"ok"
        assert request(server.port).body == b"ok"
    assert errors == ["start_response() called after its request was answered"]


# ---- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("case, message", [
    ("raise", "ValueError: broken app"),
    ("bytes", "return an iterable of bytes blocks"),
    ("str-block", "bytes blocks, not str (encode it)"),
    ("no-start", "returned without calling start_response()"),
    ("body-first", "body block before calling start_response()"),
])
def test_an_error_before_anything_was_sent_is_a_500_and_the_server_goes_on(
        capfd, case: str, message: str) -> None:  # type: ignore[no-untyped-def]
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/fine":
            start_response("200 OK", TEXT)
            return [b"fine"]
        if case == "raise":
            raise ValueError("broken app")
        if case == "body-first":
            return [b"early"]
        if case == "no-start":
            return []
        start_response("200 OK", TEXT)
        return b"bytes" if case == "bytes" else ["text"]

    with wsgi_server(app) as server, Client(server.port) as c:
        r = answer(c, "/boom")
        assert (r.status, r.body) == (500, b"Internal Server Error\n")
        assert answer(c, "/fine").body == b"fine"
    err = capfd.readouterr().err
    assert "httpbridge: exception in WSGI app for GET /boom (answered 500)" in err
    assert message in err
    assert ("Traceback" in err) == (case == "raise")  # the server's own checks have no frames


def test_file_wrapper_streams_a_file_and_closes_it() -> None:
    data = bytes(range(256)) * 64
    files: list[io.BytesIO] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        f = io.BytesIO(data)
        files.append(f)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 4096)

    with wsgi_server(validator(app)) as server:
        r = request(server.port)
    assert r.body == data
    assert files[0].closed

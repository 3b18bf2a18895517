"""The public API, member by member, against in-process servers on loopback."""

from __future__ import annotations

import inspect
import json
import socket
import threading
from collections.abc import Mapping, MutableMapping
from pathlib import Path

import pytest
from conftest import TIMEOUT, free_port, request, wait_for_port

import httpbridge
from httpbridge import Headers, Request, ResponseWriter, Server

PUBLIC = ["Handler", "Headers", "Request", "ResponseHeaders", "ResponseWriter", "Server",
          "library_version", "route", "run", "stop"]


def test_all_names_the_public_api_and_each_is_documented() -> None:
    assert sorted(httpbridge.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert hasattr(httpbridge, name), name
    for name in ["Headers", "Request", "ResponseHeaders", "ResponseWriter", "Server", "route", "run", "stop"]:
        assert inspect.getdoc(getattr(httpbridge, name)), name
    for member in ["write", "set_status", "set_header", "add_header", "del_header", "set_length", "flush",
                   "wait", "headers"]:
        assert inspect.getdoc(getattr(ResponseWriter, member)), member
    for member in ["method", "path", "query", "url", "host", "headers", "body", "remote_addr"]:
        assert inspect.getdoc(getattr(Request, member)), member
    assert Request.__module__ == "httpbridge" and ResponseWriter.__module__ == "httpbridge"
    assert httpbridge.library_version() == "0.1.0"


def test_package_ships_a_type_stub() -> None:
    package = Path(httpbridge.__file__).parent
    stub = (package / "_httpbridge.pyi").read_text()
    assert "class Request" in stub and "class ResponseWriter" in stub
    assert (package / "py.typed").exists()


def test_request_and_writer_cannot_be_made_by_hand() -> None:
    with pytest.raises(TypeError):
        Request()
    with pytest.raises(TypeError):
        ResponseWriter()


# ---- route() ----------------------------------------------------------------


@pytest.fixture
def routes(monkeypatch: pytest.MonkeyPatch) -> list:  # type: ignore[type-arg]
    """A fresh, empty registry for route()."""
    fresh: list = []  # type: ignore[type-arg]
    monkeypatch.setattr(httpbridge._app, "_routes", fresh)
    return fresh


def hello(w: ResponseWriter, req: Request) -> None:
    w.write("hello")


def test_route_as_decorator_returns_the_handler(routes: list, serve) -> None:  # type: ignore[no-untyped-def]
    @httpbridge.route("/")
    def index(w: ResponseWriter, req: Request) -> None:
        w.write("Hello, world.\n")

    assert index.__name__ == "index"
    assert routes == [("/", index, None)]
    server = serve(None)
    r = request(server.port, "GET", "/")
    assert (r.status, r.body) == (200, b"Hello, world.\n")


def test_route_as_call(routes: list, serve) -> None:  # type: ignore[no-untyped-def]
    assert httpbridge.route("/x", hello) is hello
    server = serve(None)
    assert request(server.port, "GET", "/x").body == b"hello"
    assert request(server.port, "GET", "/y").status == 404


def test_route_methods_none_means_all(routes: list, serve) -> None:  # type: ignore[no-untyped-def]
    httpbridge.route("/any", hello)
    server = serve(None)
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"]:
        assert request(server.port, method, "/any", body=b"").status == 200, method


def test_route_methods_restrict_and_others_get_405(routes: list, serve) -> None:  # type: ignore[no-untyped-def]
    @httpbridge.route("/m", methods=["get", "Post"])
    def m(w: ResponseWriter, req: Request) -> None:
        w.write(req.method)

    @httpbridge.route("/m", methods=["DELETE"])
    def d(w: ResponseWriter, req: Request) -> None:
        w.write("deleted")

    httpbridge.route("/only-put", ["PUT"])(hello)  # methods as the second argument
    server = serve(None)
    assert request(server.port, "GET", "/m").body == b"GET"
    assert request(server.port, "POST", "/m", body=b"").body == b"POST"
    assert request(server.port, "DELETE", "/m").body == b"deleted"
    head = request(server.port, "HEAD", "/m")  # GET answers HEAD, without a body
    assert (head.status, head.body) == (200, b"")
    r = request(server.port, "PUT", "/m", body=b"")
    assert r.status == 405
    assert r.header("Allow") == "DELETE, GET, HEAD, POST"
    assert r.header("Content-Type") == "text/plain" and r.body == b"Method Not Allowed\n"
    assert request(server.port, "GET", "/only-put").status == 405
    assert request(server.port, "PUT", "/only-put", body=b"").status == 200


def test_route_rejects_bad_input(routes: list) -> None:
    with pytest.raises(ValueError):
        httpbridge.route("no-slash", hello)
    with pytest.raises(ValueError):
        httpbridge.route("/x", hello, methods=[])
    with pytest.raises(TypeError):
        httpbridge.route("/x")(42)  # type: ignore[arg-type]
    httpbridge.route("/dup", hello, methods=["GET"])
    with pytest.raises(ValueError, match="already registered"):
        httpbridge.route("/dup", hello)
    with pytest.raises(ValueError, match="already registered"):
        httpbridge.route("/dup", hello, methods=["get"])
    httpbridge.route("/dup", hello, methods=["POST"])  # disjoint: fine


def test_subtree_patterns_and_longest_match(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve([
        ("/", lambda w, r: w.write("root " + r.path)),
        ("/api/", lambda w, r: w.write("api " + r.path)),
        ("/api/exact", lambda w, r: w.write("exact")),
    ])
    assert request(server.port, "GET", "/nothing/here").body == b"root /nothing/here"
    assert request(server.port, "GET", "/api/v1/items").body == b"api /api/v1/items"
    assert request(server.port, "GET", "/api/exact").body == b"exact"


# ---- Request ----------------------------------------------------------------


def echo_fields(w: ResponseWriter, req: Request) -> None:
    w.set_header("Content-Type", "application/json")
    w.write(json.dumps({
        "method": req.method, "path": req.path, "query": req.query, "url": req.url,
        "host": req.host, "remote_addr": req.remote_addr, "repr": repr(req),
        "headers": req.headers.raw_items(), "body": req.body.hex(),
        "types": [type(getattr(req, f)).__name__ for f in
                  ("method", "path", "query", "url", "host", "remote_addr", "body")],
    }))


def test_request_fields(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve([("/", echo_fields)])
    r = request(server.port, "POST", "/a/b%20c?x=1&y=%41", body=b"payload",
                headers=[("Host", "example.test:81"), ("X-Thing", "v")])
    got = json.loads(r.body)
    assert got["method"] == "POST"
    assert got["path"] == "/a/b%20c"  # not percent-decoded
    assert got["query"] == "x=1&y=%41"
    assert got["url"] == "/a/b%20c?x=1&y=%41"
    assert got["host"] == "example.test:81"
    ip, port = got["remote_addr"].rsplit(":", 1)
    assert ip == "127.0.0.1" and 0 < int(port) < 65536
    assert got["repr"] == "<Request POST /a/b%20c?x=1&y=%41>"
    assert got["body"] == b"payload".hex()
    assert got["types"] == ["str"] * 6 + ["bytes"]
    assert ["X-Thing", "v"] in got["headers"]


def test_request_without_query_host_or_body(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve([("/", echo_fields)])
    with socket_to(server.port) as s:
        s.sendall(b"GET /plain HTTP/1.0\r\n\r\n")
        raw = read_all(s)
    got = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert (got["query"], got["host"], got["body"], got["url"]) == ("", "", "", "/plain")


def test_request_headers_mapping(serve) -> None:  # type: ignore[no-untyped-def]
    seen: dict = {}  # type: ignore[type-arg]

    def handler(w: ResponseWriter, req: Request) -> None:
        h = req.headers
        seen.update(
            is_mapping=isinstance(h, Mapping) and isinstance(h, Headers),
            first=h["x-multi"], upper=h["X-MULTI"], all=h.get_all("X-Multi"),
            missing=h.get("nope"), missing_all=h.get_all("nope"), contains="x-one" in h,
            not_contains="x-two" in h, names=list(h), length=len(h), one=h["X-ONE"],
            raw=h.raw_items(), same_object=h is req.headers, latin1=h["X-Latin"],
        )
        try:
            h["nope"]
        except KeyError as e:
            seen["keyerror"] = e.args[0]

    server = serve([("/", handler)])
    request(server.port, headers=[("Host", "h"), ("X-Multi", "a"), ("X-One", "1"),
                                  ("x-multi", "b, c"), ("X-Latin", "caf\xe9")])
    assert seen["is_mapping"]
    assert seen["first"] == seen["upper"] == "a"
    assert seen["all"] == ["a", "b, c"]
    assert seen["missing"] is None and seen["missing_all"] == []
    assert seen["contains"] and not seen["not_contains"]
    assert seen["names"] == ["Host", "X-Multi", "X-One", "X-Latin"]
    assert seen["length"] == 4 and seen["one"] == "1"
    assert seen["raw"] == [("Host", "h"), ("X-Multi", "a"), ("X-One", "1"), ("x-multi", "b, c"),
                           ("X-Latin", "caf\xe9")]
    assert seen["same_object"]
    assert seen["latin1"] == "caf\xe9"  # the raw byte 0xE9, as latin-1
    assert seen["keyerror"] == "nope"


def test_headers_class_on_its_own() -> None:
    h = Headers([("A", "1"), ("b", "2"), ("a", "3")])
    assert h["a"] == "1" and h.get_all("A") == ["1", "3"] and list(h) == ["A", "b"]
    assert dict(h) == {"A": "1", "b": "2"} and len(h) == 2
    assert "Headers(" in repr(h)


def test_binary_bodies_with_nul_bytes_round_trip(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve([("/echo", lambda w, r: w.write(r.body))])
    for body in [b"", b"\0", b"a\0b\0\0c", bytes(range(256)) * 4, b"\0" * 100_000,
                 bytes(range(256)) * 4096]:
        r = request(server.port, "POST", "/echo", body=body)
        assert r.status == 200
        assert r.body == body
        assert r.header("Content-Length") == str(len(body))


def test_chunked_request_body_arrives_whole(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve([("/echo", lambda w, r: w.write(r.body))])
    with socket_to(server.port) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                  b"3\r\na\0b\r\n2\r\n\0z\r\n0\r\n\r\n")
        raw = read_all(s)
    assert raw.split(b"\r\n\r\n", 1)[1] == b"a\0b\0z"


# ---- ResponseWriter ---------------------------------------------------------


def test_write_takes_bytes_like_and_utf8_str(serve) -> None:  # type: ignore[no-untyped-def]
    returns: list = []  # type: ignore[type-arg]

    def handler(w: ResponseWriter, req: Request) -> None:
        returns.append(w.write(b"b\0"))
        returns.append(w.write("h\xe9\u20ac"))  # UTF-8: 1 + 2 + 3 bytes
        returns.append(w.write(bytearray(b"ba")))
        returns.append(w.write(memoryview(b"mv")))
        returns.append(w.write(""))
        try:
            w.write(42)  # type: ignore[arg-type]
        except TypeError as e:
            returns.append(str(e))

    server = serve([("/", handler)])
    r = request(server.port)
    assert r.body == b"b\0" + "h\xe9\u20ac".encode() + b"bamv"
    assert returns == [2, 6, 2, 2, 0, "write() takes bytes or str, not int"]


def test_set_status(serve) -> None:  # type: ignore[no-untyped-def]
    errors: list = []  # type: ignore[type-arg]

    def handler(w: ResponseWriter, req: Request) -> None:
        for bad in (99, 1000, "200"):
            try:
                w.set_status(bad)  # type: ignore[arg-type]
            except (ValueError, TypeError) as e:
                errors.append(type(e).__name__)
        w.set_status(int(req.query))
        w.write("body")

    server = serve([("/", handler)])
    assert request(server.port, path="/?201").status == 201
    r = request(server.port, path="/?418")
    assert (r.status, r.body) == (418, b"body")
    r = request(server.port, path="/?204")  # no body allowed: the server drops it
    assert (r.status, r.body) == (204, b"")
    assert errors[:3] == ["ValueError", "ValueError", "TypeError"]


def test_default_status_is_200_and_no_implicit_content_type(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve([("/", hello)])
    r = request(server.port)
    assert r.status == 200 and r.header("Content-Type") is None
    assert r.header("Content-Length") == "5"


def test_response_headers(serve) -> None:  # type: ignore[no-untyped-def]
    seen: dict = {}  # type: ignore[type-arg]

    def handler(w: ResponseWriter, req: Request) -> None:
        h = w.headers
        seen["is_mutable_mapping"] = isinstance(h, MutableMapping)
        w.set_header("Content-Type", "text/plain")
        w.set_header("content-type", "text/html")  # replaces, case-insensitively
        w.add_header("Set-Cookie", "a=1")
        w.add_header("Set-Cookie", "b=2")
        h["X-Mapped"] = "yes"
        h.add("X-Mapped", "again")
        h["X-Gone"] = "soon"
        del h["x-gone"]
        seen["del_missing"] = w.del_header("X-Never")
        try:
            del h["X-Never"]
        except KeyError:
            seen["keyerror"] = True
        w.set_header(b"X-Bytes", b"\xff")
        seen["get"] = (h["CONTENT-TYPE"], h.get_all("set-cookie"), "x-mapped" in h, h.get("x-gone"))
        seen["names"] = list(h)
        seen["len"] = len(h)

    server = serve([("/", handler)])
    r = request(server.port)
    assert r.header_names() == ["Date", "content-type", "Set-Cookie", "Set-Cookie", "X-Mapped",
                                "X-Mapped", "X-Bytes", "Content-Length"]
    assert [v for n, v in r.headers if n == "Set-Cookie"] == ["a=1", "b=2"]
    assert r.header("content-type") == "text/html"
    assert r.header("X-Bytes") == "\xff"
    assert seen["is_mutable_mapping"] and seen["keyerror"] and seen["del_missing"] == 0
    assert seen["get"] == ("text/html", ["a=1", "b=2"], True, None)
    assert seen["names"] == ["content-type", "Set-Cookie", "X-Mapped", "X-Bytes"] and seen["len"] == 4


def test_invalid_response_headers_raise_valueerror(serve) -> None:  # type: ignore[no-untyped-def]
    errors: list = []  # type: ignore[type-arg]

    def handler(w: ResponseWriter, req: Request) -> None:
        for name, value in [("Bad Name", "v"), ("", "v"), ("X", "a\r\nInjected: 1"), ("X", "nul\0"),
                            ("Content-Length", "5"), ("transfer-encoding", "chunked"), ("X", "\u20ac")]:
            try:
                w.set_header(name, value)
                errors.append(None)
            except ValueError as e:
                errors.append(type(e).__name__)
        try:
            w.set_header("X", 1)  # type: ignore[arg-type]
        except TypeError:
            errors.append("TypeError")
        w.write("ok")

    server = serve([("/", handler)])
    r = request(server.port)
    assert (r.status, r.body) == (200, b"ok")
    assert errors == ["ValueError"] * 6 + ["UnicodeEncodeError", "TypeError"]
    assert r.header("Injected") is None


def test_flush_sends_early_then_chunked(serve) -> None:  # type: ignore[no-untyped-def]
    after: list = []  # type: ignore[type-arg]

    def handler(w: ResponseWriter, req: Request) -> None:
        w.set_header("Content-Type", "text/plain")
        w.write("first ")
        w.flush()
        try:
            w.set_header("X-Late", "1")
        except RuntimeError as e:
            after.append(str(e))
        try:
            w.set_status(500)
        except RuntimeError as e:
            after.append(str(e))
        w.write("second")

    server = serve([("/", handler)])
    r = request(server.port)
    assert (r.status, r.body) == (200, b"first second")
    assert r.header("Transfer-Encoding") == "chunked" and r.header("Content-Type") == "text/plain"
    assert len(after) == 2 and all("flush" in text for text in after)


def test_wait_lets_a_handler_stream_more_than_a_slow_client_takes(serve) -> None:  # type: ignore[no-untyped-def]
    from wsgi_helpers import Client

    block, blocks = 65536, 256  # 16 MiB: more than the kernel and the server buffer for one client
    told_to_wait: list[int] = []

    def handler(w: ResponseWriter, req: Request) -> None:
        for i in range(blocks):
            w.write(bytes([97 + i % 26]) * block)
            while True:
                try:
                    w.flush()
                    break
                except BlockingIOError:  # the client is behind: wait for it, then flush again
                    told_to_wait.append(i)
                    w.wait()

    server = serve([("/", handler)])
    with Client(server.port, rcvbuf=16384, read_pause=0.0005) as c:
        c.get("/")
        r = c.response()
    assert (r.framing, r.complete, len(r.body)) == ("chunked", True, block * blocks)
    assert r.body == b"".join(bytes([97 + i % 26]) * block for i in range(blocks))
    assert told_to_wait  # the slow client did fall behind: wait() was what got the rest through


def test_set_length_streams_unchunked_and_holds_writes_to_it(serve) -> None:  # type: ignore[no-untyped-def]
    from wsgi_helpers import Client

    errors: list = []  # type: ignore[type-arg]

    def handler(w: ResponseWriter, req: Request) -> None:
        w.write("first ")
        for bad in [-1, 2**64, 3]:  # 3: less than the 6 bytes written already
            try:
                w.set_length(bad)
            except ValueError as e:
                errors.append(str(e))
        try:
            w.set_length("12")  # type: ignore[arg-type]
        except TypeError as e:
            errors.append(str(e))
        w.set_length(12)
        w.flush()
        try:
            w.write("second!")  # 7 bytes where 6 are left: refused whole
        except ValueError as e:
            errors.append(str(e))
        w.write("second")
        try:
            w.set_length(20)
        except RuntimeError as e:
            errors.append(str(e))

    server = serve([("/", handler)])
    with Client(server.port) as c:
        for _ in range(2):  # the connection goes on
            c.get("/")
            r = c.response()
            assert (r.framing, r.body, r.header("Content-Length")) == ("length", b"first second", "12")
            assert r.header("Transfer-Encoding") is None
    assert errors[:5] == ["length -1 is not a byte count", f"length {2**64} is not a byte count",
                          "length 3 is less than what was written already",
                          "length must be an int, not str",
                          "write() of 7 bytes goes past the length set by set_length()"]
    assert "flush" in errors[5]


def test_wrappers_are_reused_until_someone_keeps_them(serve) -> None:  # type: ignore[no-untyped-def]
    ids: list = []  # type: ignore[type-arg]
    kept: list = []  # type: ignore[type-arg]

    def handler(w: ResponseWriter, req: Request) -> None:
        ids.append((id(w), id(req)))
        if req.query == "keep":
            kept.append((w, req))

    server = serve([("/", handler)])
    for _ in range(3):
        request(server.port)
    assert ids[0] == ids[1] == ids[2]  # one pair of objects served all three
    request(server.port, path="/?keep")
    request(server.port)
    assert ids[3] == ids[0]
    assert ids[4][0] != id(kept[0][0]) and ids[4][1] != id(kept[0][1])  # the kept pair was retired


# ---- Server, run(), stop() ----------------------------------------------------


def test_server_lifecycle() -> None:
    with Server("127.0.0.1", 0, routes=[("/", hello)]) as server:
        assert 0 < server.port < 65536
        assert server.url == f"http://127.0.0.1:{server.port}/"
        server.start()
        assert server.wait(0.05) is False
        assert request(server.port).body == b"hello"
        server.stop()
        assert server.wait(TIMEOUT) is True
    server.close()  # idempotent


def test_server_routes_with_methods_and_ipv6() -> None:
    routes = [("/", hello, ["POST"]), ("/all", hello, None)]
    try:
        server = Server("::1", 0, routes=routes)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        assert server.url == f"http://[::1]:{server.port}/"


def test_server_serve_returns_when_stopped_from_a_handler() -> None:
    def stopper(w: ResponseWriter, req: Request) -> None:
        w.write("bye")
        httpbridge.stop()  # no run() here: a no-op
        server.stop()

    server = Server("127.0.0.1", 0, routes=[("/", stopper)])
    with server:
        thread = threading.Thread(target=lambda: request(server.port))
        thread.start()
        server.serve()  # returns once the handler stopped it
        thread.join(TIMEOUT)
        assert not thread.is_alive()


def test_run_and_stop_in_process(routes: list, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    httpbridge.route("/", hello)
    httpbridge.route("/stop", lambda w, r: (w.write("stopping"), httpbridge.stop()))
    thread = threading.Thread(target=httpbridge.run, kwargs={"port": port, "threads": 2})
    thread.start()
    try:
        wait_for_port(port)
        assert request(port).body == b"hello"
        assert request(port, path="/stop").body == b"stopping"
    finally:
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert capsys.readouterr().out == f" * Running on http://127.0.0.1:{port}/\n"


def test_run_checks_its_arguments() -> None:
    with pytest.raises(ValueError):
        httpbridge.run(port=0, threads=0)
    with pytest.raises(ValueError):
        httpbridge.run(port=0, workers=0)


# ---- helpers ----------------------------------------------------------------


def socket_to(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)


def read_all(s: socket.socket) -> bytes:
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)

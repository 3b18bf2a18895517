"""httpbridge.wsgi, the request side: the environ and wsgi.input (PEP 3333), checked by
wsgiref.validate.validator around the app and by a real client on loopback."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any
from wsgiref.validate import validator

import pytest
from conftest import request
from wsgi_helpers import Client, wsgi_server

from httpbridge.wsgi import FileWrapper

seen: list[dict[str, Any]] = []  # the environ each request of environ_app saw


def environ_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    seen.append(dict(environ))
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def environ_of():  # type: ignore[no-untyped-def]
    """environ_of(raw_request_bytes) -> (the environ the app saw, the response)."""
    with wsgi_server(validator(environ_app)) as server:

        def ask(raw: bytes) -> tuple[dict[str, Any], Any]:
            seen.clear()
            with Client(server.port) as c:
                c.send(raw)
                response = c.response()
                local_port = c.sock.getsockname()[1]
            assert len(seen) == 1
            seen[0]["_client_port"] = local_port
            seen[0]["_server_port"] = server.port
            return seen[0], response

        yield ask


def test_environ_is_a_dict_of_latin1_str_with_every_cgi_key(environ_of) -> None:  # type: ignore[no-untyped-def]
    env, r = environ_of(b"GET /a%20b/caf%C3%A9%2Fx?q=1&r=%20 HTTP/1.1\r\nHost: example.test:81\r\n"
                        b"X-Latin: caf\xe9\r\nUser-Agent: t/1\r\n\r\n")
    assert r.status == 200
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == ""
    assert env["PATH_INFO"] == "/a b/caf\xc3\xa9/x"  # decoded bytes, as latin-1 (PEP 3333)
    assert env["QUERY_STRING"] == "q=1&r=%20"  # as sent
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(env["_server_port"])
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REMOTE_PORT"] == str(env["_client_port"])
    assert env["HTTP_HOST"] == "example.test:81"
    assert env["HTTP_USER_AGENT"] == "t/1"
    assert env["HTTP_X_LATIN"] == "caf\xe9"  # one byte, one character
    assert "CONTENT_TYPE" not in env and "CONTENT_LENGTH" not in env  # no body, no type
    for key, value in env.items():
        if not key.startswith(("wsgi.", "_")):
            assert type(value) is str, key
            value.encode("latin-1")


def test_environ_wsgi_keys(environ_of) -> None:  # type: ignore[no-untyped-def]
    env, _ = environ_of(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert env["wsgi.version"] == (1, 0)
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.errors"].errors is sys.stderr  # validator() wraps it
    assert env["wsgi.multithread"] is False
    assert env["wsgi.multiprocess"] is False
    assert env["wsgi.run_once"] is False
    assert env["wsgi.input_terminated"] is True
    assert env["wsgi.file_wrapper"] is FileWrapper
    assert env["QUERY_STRING"] == ""


def test_repeated_headers_are_joined_and_underscored_names_dropped(environ_of) -> None:  # type: ignore[no-untyped-def]
    env, _ = environ_of(b"GET / HTTP/1.1\r\nHost: t\r\nX-Repeat: a\r\nAccept: x/y\r\nx-repeat: b\r\n"
                        b"Accept: z/w\r\nCookie: a=1\r\nCookie: b=2\r\nX_Forwarded_For: 6.6.6.6\r\n"
                        b"X-Forwarded-For: 1.2.3.4\r\n\r\n")
    assert env["HTTP_X_REPEAT"] == "a, b"
    assert env["HTTP_ACCEPT"] == "x/y, z/w"
    assert env["HTTP_COOKIE"] == "a=1; b=2"  # one cookie list, as HTTP/2 joins them
    assert env["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"  # the underscore spelling cannot pose as it


def test_content_type_and_length_have_no_http_copies(environ_of) -> None:  # type: ignore[no-untyped-def]
    env, r = environ_of(b"POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: text/x-test\r\n"
                        b"Content-Length: 5\r\n\r\nhello")
    assert (env["CONTENT_TYPE"], env["CONTENT_LENGTH"]) == ("text/x-test", "5")
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert r.body == b"hello"


def test_a_chunked_body_arrives_whole_with_its_length(environ_of) -> None:  # type: ignore[no-untyped-def]
    env, r = environ_of(b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"3\r\nabc\r\n4\r\n\0\r\nd\r\n0\r\n\r\n")
    assert env["CONTENT_LENGTH"] == "7"
    assert r.body == b"abc\0\r\nd"


def test_http10_and_another_method(environ_of) -> None:  # type: ignore[no-untyped-def]
    env, r = environ_of(b"DELETE /thing HTTP/1.0\r\n\r\n")
    assert (env["REQUEST_METHOD"], env["SERVER_PROTOCOL"]) == ("DELETE", "HTTP/1.0")
    assert "HTTP_HOST" not in env


def test_each_request_gets_a_fresh_environ() -> None:
    keys: list[bool] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        keys.append("app.mark" in environ)
        environ["app.mark"] = True  # the app owns its environ (PEP 3333)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with wsgi_server(validator(app)) as server:
        with Client(server.port) as c:
            for _ in range(3):
                c.get("/")
                assert c.response().body == b"ok"
    assert keys == [False, False, False]


# ---- wsgi.input -------------------------------------------------------------------

BODY = b"first line\nsecond\n\nlast, no newline"


def input_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    stream = environ["wsgi.input"]
    how = environ["PATH_INFO"]
    if how == "/read":
        got: Any = [stream.read(5), stream.read(6), stream.read(1000), stream.read(10)]
    elif how == "/readline":
        got = [stream.readline(), stream.readline(3), stream.readline(), stream.readline(), stream.readline(),
               stream.readline()]
    elif how == "/readlines":
        got = stream.readlines()
    elif how == "/readlines-hint":
        got = stream.readlines(12)
    elif how == "/iterate":
        got = list(stream)
    else:  # no-argument and None forms, which wsgiref's validator does not allow
        got = [stream.read(), stream.read(), stream.read(None)]
    text = json.dumps([g.decode("latin-1") for g in got]).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [text]


@pytest.mark.parametrize("how, expected", [
    ("/read", [b"first", b" line\n", b"second\n\nlast, no newline", b""]),
    ("/readline", [b"first line\n", b"sec", b"ond\n", b"\n", b"last, no newline", b""]),
    ("/readlines", [b"first line\n", b"second\n", b"\n", b"last, no newline"]),
    ("/readlines-hint", [b"first line\n", b"second\n"]),
    ("/iterate", [b"first line\n", b"second\n", b"\n", b"last, no newline"]),
])
def test_input_methods_end_at_the_body_end(how: str, expected: list[bytes]) -> None:
    with wsgi_server(validator(input_app)) as server:
        r = request(server.port, "POST", how, body=BODY)
    assert r.status == 200
    assert [s.encode("latin-1") for s in json.loads(r.body)] == expected


def test_input_read_without_size() -> None:
    with wsgi_server(input_app) as server:
        r = request(server.port, "POST", "/all", body=BODY)
        empty = request(server.port, "POST", "/all", body=b"")
    assert [s.encode("latin-1") for s in json.loads(r.body)] == [BODY, b"", b""]
    assert json.loads(empty.body) == ["", "", ""]


def test_input_kept_past_its_request_raises_and_the_next_one_reads_its_own_body() -> None:
    kept: list[Any] = []
    errors: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if kept:
            try:
                kept[0].read()
            except ValueError as e:
                errors.append(str(e))
        kept.append(environ["wsgi.input"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["wsgi.input"].read()]

    with wsgi_server(app) as server:
        assert request(server.port, "POST", "/", body=b"one").body == b"one"
        assert request(server.port, "POST", "/", body=b"two").body == b"two"
    assert errors == ["wsgi.input read after its request ended"]
    assert kept[0] is not kept[1]


def test_threads_2_sets_multithread() -> None:
    flags: list[bool] = []
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with lock:
            flags.append(environ["wsgi.multithread"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with wsgi_server(app, threads=2) as server:
        assert request(server.port).body == b"ok"
    assert flags == [True]

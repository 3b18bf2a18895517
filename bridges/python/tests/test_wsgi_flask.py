"""Flask, unchanged, on httpbridge.wsgi: routing, JSON, forms, multipart uploads, a streamed
response, abort(), and an exception that Flask turns into a 500."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import request
from wsgi_helpers import Client, Gate, wsgi_server

flask = pytest.importorskip("flask")

gate = Gate()
streamed: list[bool] = []


def make_app() -> Any:
    app = flask.Flask("hb_flask_test")

    @app.get("/users/<int:uid>")
    def user(uid: int) -> Any:
        return flask.jsonify(id=uid, q=flask.request.args.get("q"))

    @app.post("/json")
    def echo_json() -> Any:
        return flask.jsonify(got=flask.request.get_json(), type=flask.request.content_type)

    @app.post("/form")
    def form() -> Any:
        return flask.jsonify(flask.request.form.to_dict(flat=False))

    @app.post("/upload")
    def upload() -> Any:
        f = flask.request.files["file"]
        data = f.read()
        return flask.jsonify(title=flask.request.form["title"], filename=f.filename, size=len(data),
                             sha256=hashlib.sha256(data).hexdigest())

    @app.get("/stream")
    def stream() -> Any:
        def gen() -> Iterator[str]:
            yield "first\n"
            streamed.append(gate.wait())  # the client has the first line before the second is made
            yield "second\n"

        return flask.Response(flask.stream_with_context(gen()), mimetype="text/plain")

    @app.get("/forbidden")
    def forbidden() -> Any:
        flask.abort(403)

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("flask view failed")

    @app.get("/cookie")
    def cookie() -> Any:
        response = flask.make_response(flask.request.cookies.get("seen", "none"))
        response.set_cookie("seen", "yes")
        return response

    return app


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with wsgi_server(make_app()) as server:
        yield server.port


def test_routing_and_json(port: int) -> None:
    r = request(port, path="/users/42?q=x%20y")
    assert (r.status, r.header("Content-Type")) == (200, "application/json")
    assert json.loads(r.body) == {"id": 42, "q": "x y"}
    assert request(port, path="/users/not-a-number").status == 404
    assert request(port, path="/nowhere").status == 404
    assert request(port, "POST", "/users/1").status == 405


def test_json_body(port: int) -> None:
    payload = {"name": "caf\u00e9", "n": [1, 2, 3]}
    r = request(port, "POST", "/json", body=json.dumps(payload).encode(),
                headers=[("Content-Type", "application/json")])
    assert json.loads(r.body) == {"got": payload, "type": "application/json"}


def test_urlencoded_form(port: int) -> None:
    r = request(port, "POST", "/form", body=b"a=1&a=2&b=hello+world&c=%C3%A9",
                headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert json.loads(r.body) == {"a": ["1", "2"], "b": ["hello world"], "c": ["\u00e9"]}


def test_multipart_upload(port: int) -> None:
    data = bytes(range(256)) * 1024 + b"\r\n--almost-a-boundary\r\n"
    boundary = "hb-test-boundary-7d1"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nmy file\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n")
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    r = request(port, "POST", "/upload", body=body,
                headers=[("Content-Type", f"multipart/form-data; boundary={boundary}")])
    assert r.status == 200
    assert json.loads(r.body) == {"title": "my file", "filename": "data.bin", "size": len(data),
                                  "sha256": hashlib.sha256(data).hexdigest()}


def test_a_streamed_response_arrives_as_it_is_made(port: int) -> None:
    streamed.clear()
    with Client(port) as c:
        c.get("/stream")
        head = c.head()
        assert (head.status, head.header("Transfer-Encoding")) == (200, "chunked")
        assert c.chunk() == b"first\n"
        assert not streamed  # the view is still paused inside its generator
        gate.open()
        assert (c.chunk(), c.chunk()) == (b"second\n", b"")
    assert streamed == [True]


def test_abort_and_cookies(port: int) -> None:
    assert request(port, path="/forbidden").status == 403
    first = request(port, path="/cookie")
    assert (first.body, first.header("Set-Cookie").split(";")[0]) == (b"none", "seen=yes")
    assert request(port, path="/cookie", headers=[("Cookie", "seen=yes")]).body == b"yes"


def test_an_exception_in_a_view_is_a_500_and_the_server_goes_on(port: int, caplog) -> None:  # type: ignore[no-untyped-def]
    r = request(port, path="/boom")
    assert r.status == 500
    assert "RuntimeError: flask view failed" in caplog.text  # Flask's own log of it
    assert request(port, path="/users/1").status == 200


def test_the_shared_flask_app_of_the_variants() -> None:
    import sys

    from conftest import REPO

    sys.path.insert(0, str(REPO / "servers" / "apps"))
    try:
        import flask_app
    finally:
        sys.path.remove(str(REPO / "servers" / "apps"))
    with wsgi_server(flask_app.app) as server, Client(server.port) as c:
        c.get("/")
        r = c.response()
        assert (r.status, r.body, r.header("Content-Length")) == (200, b"Hello, world.\n", "14")
        assert r.framing == "length"
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\na\0b")
        r = c.response()
        assert (r.body, r.header("Content-Type")) == (b"a\0b", "application/octet-stream")
        c.get("/", method="HEAD")
        r = c.response(head_request=True)
        assert (r.status, r.header("Content-Length")) == (200, "14")
        c.get("/echo")
        assert c.response().status == 404

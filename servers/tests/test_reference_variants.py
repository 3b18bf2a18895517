"""The reference's rows and their peers answer exactly what every variant answers.

Each variant is started from its variant.toml, spoken to over loopback with
raw HTTP/1.1, and stopped with SIGTERM to its process group. What a manifest
claims under [supports] is checked too: keep-alive either works or the server
says it closes; pipelining, where claimed, answers in order.
"""

import os
import subprocess
import time

import pytest

from variant_launch import (BUILD_DIR, PYTHON, check_requirements, manifest, port_is_free,
                            start_or_skip)
from wire_http import Connection, request

VARIANTS = [
    "go-nethttp",
    "gohttp-c",
    "gohttp-python",
    "flask-werkzeug",
    "flask-gunicorn",
    "nginx",
    "uvicorn-asgi",
    "wsgi-uwsgi",
]
PIPELINING = [name for name in VARIANTS if manifest(name).get("supports", {}).get("pipelining")]

HELLO = b"Hello, world.\n"
# Every byte value, NUL and CR LF included, then enough to pass 1 MiB.
BINARY = bytes(range(256)) * 4096 + b"\0\r\n\r\n"

each_variant = pytest.mark.parametrize("running", VARIANTS, indirect=True)


def supports(server, feature: str) -> bool:
    return bool(server.spec.get("supports", {}).get(feature, False))


def check_hello(response) -> None:
    assert response.status == 200
    assert response.header("Content-Type") == "text/plain"
    assert response.header("Content-Length") == "14"
    assert response.body == HELLO


@each_variant
def test_get_root_says_hello(running):
    with Connection(running.host, running.port) as conn:
        check_hello(conn.exchange("GET", "/"))


@each_variant
def test_head_root_has_headers_and_no_body(running):
    with Connection(running.host, running.port) as conn:
        head = conn.exchange("HEAD", "/")
        assert head.status == 200
        assert head.header("Content-Type") == "text/plain"
        # A body sent anyway would show up as garbage before the next answer.
        if head.closes or not supports(running, "keep_alive"):
            assert conn.at_eof()
        else:
            check_hello(conn.exchange("GET", "/"))


@each_variant
@pytest.mark.parametrize("body", [b"", b"abc", BINARY], ids=["empty", "small", "1MiB-binary"])
def test_echo_returns_the_body_byte_for_byte(running, body):
    with Connection(running.host, running.port) as conn:
        response = conn.exchange("POST", "/echo", body)
    assert response.status == 200
    assert response.header("Content-Type") == "application/octet-stream"
    assert response.header("Content-Length") == str(len(body))
    assert response.body == body


@each_variant
@pytest.mark.parametrize("method,target", [
    ("GET", "/missing"), ("GET", "/echo"), ("POST", "/"), ("GET", "/index.html"),
    ("POST", "/echo/more"),
])
def test_anything_else_is_404(running, method, target):
    with Connection(running.host, running.port) as conn:
        body = b"x" if method == "POST" else None
        assert conn.exchange(method, target, body, close=True).status == 404


@each_variant
def test_keep_alive_is_what_the_manifest_says(running):
    with Connection(running.host, running.port) as conn:
        if supports(running, "keep_alive"):
            for _ in range(3):
                response = conn.exchange("GET", "/")
                check_hello(response)
                assert not response.closes
            assert conn.exchange("POST", "/echo", b"still open").body == b"still open"
        else:
            response = conn.exchange("GET", "/")
            check_hello(response)
            assert response.closes, "no keep-alive claimed, so the server must say it closes"
            assert conn.at_eof()


@pytest.mark.parametrize("running", PIPELINING, indirect=True)
def test_pipelined_requests_are_answered_in_order(running):
    with Connection(running.host, running.port) as conn:
        conn.send(request("GET", "/") + request("POST", "/echo", b"second")
                  + request("GET", "/third"))
        check_hello(conn.read_response("GET"))
        echoed = conn.read_response("POST")
        assert (echoed.status, echoed.body) == (200, b"second")
        assert conn.read_response("GET").status == 404


@pytest.mark.parametrize("name", VARIANTS)
def test_sigterm_stops_the_whole_group_and_frees_the_port(name):
    server = start_or_skip(name)
    with Connection(server.host, server.port) as conn:
        check_hello(conn.exchange("GET", "/", close=True))
    leftovers = server.stop()
    assert leftovers == [], f"still running {len(leftovers)} s after SIGTERM: {leftovers}"
    assert port_is_free(server.host, server.port)


def test_gunicorn_worker_count_comes_from_the_manifest_setting():
    assert manifest("flask-gunicorn")["run"]["env"]["WEB_CONCURRENCY"] == "1"
    server = start_or_skip("flask-gunicorn", env_override={"WEB_CONCURRENCY": "2"})
    try:
        deadline = time.monotonic() + 10
        while len(server.group_members()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the workers as they boot
        assert len(server.group_members()) == 3, "one arbiter and two workers"
    finally:
        server.stop()


REGISTRY_PROBE = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.ResponseWriter_Write.argtypes = [ctypes.c_uint64, ctypes.c_char_p, ctypes.c_int]
lib.ResponseWriter_WriteHeader.argtypes = [ctypes.c_uint64, ctypes.c_int]
lib.ResponseWriter_SetHeader.argtypes = [ctypes.c_uint64, ctypes.c_char_p, ctypes.c_char_p]
for handle in (0, 1, 123456789, 2**32 + 1, 2**64 - 1):
    print(lib.ResponseWriter_Write(handle, b"x", 1),
          lib.ResponseWriter_WriteHeader(handle, 200),
          lib.ResponseWriter_SetHeader(handle, b"Content-Type", b"text/plain"))
"""


def test_gohttp_registry_rejects_unknown_handles():
    """No handler is running, so every handle is unknown: each call returns -1, no crash."""
    check_requirements("gohttp-c")
    lib = BUILD_DIR / "bridges" / "gohttp" / "libgohttp.so"
    # A subprocess, so that the Go runtime is not loaded into the test process.
    probe = subprocess.run([PYTHON, "-c", REGISTRY_PROBE, str(lib)],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "GOMAXPROCS": "1"})
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split("\n")[:-1] == ["-1 -1 -1"] * 5, probe.stdout


"""The reference's rows and their peers answer exactly what every variant answers.

Each variant is started from its variant.toml by the harness, spoken to over
loopback with raw HTTP/1.1 (harness.httpclient), and stopped with SIGTERM to its
process group. What a manifest claims under [supports] is checked too:
keep-alive either works or the server says it closes; pipelining, where
claimed, answers in order.
"""

import os
import subprocess
import time

import pytest
from conftest import CTX, check_requirements, start_or_skip, variant

from harness import lifecycle, procstat
from harness.httpclient import Connection, request_bytes

VARIANTS = [
    "go-nethttp",
    "gohttp-c",
    "gohttp-python",
    "flask-werkzeug",
    "flask-gunicorn",
    "nginx",
    "uvicorn-asgi",
    "wsgi-uwsgi",
    # the peers that serve the shared apps (servers/apps) like for like
    "flask-gunicorn-gthread",
    "flask-uwsgi",
    "flask-waitress",
    "wsgi-gunicorn",
    "django-gunicorn",
    "django-uwsgi",
]
# waitress 2.1 ends the connection after a HEAD answer whose app dropped the body, as Flask
# does (it counts the missing bytes against Content-Length), without saying Connection: close.
CLOSES_AFTER_HEAD = {"flask-waitress"}
PIPELINING = [name for name in VARIANTS if variant(name).pipelining]
CLOSE = [("Connection", "close")]
EOF_WAIT = 15.0  # seconds a server may take to close a connection it said it closes

HELLO = b"Hello, world.\n"
# Every byte value, NUL and CR LF included, then enough to pass 1 MiB.
BINARY = bytes(range(256)) * 4096 + b"\0\r\n\r\n"

each_variant = pytest.mark.parametrize("running", VARIANTS, indirect=True)


def check_hello(response) -> None:
    assert response.status == 200
    assert response.header("Content-Type") == "text/plain"
    assert response.header_count("Content-Length") == 1
    assert response.header("Content-Length") == "14"
    assert response.body == HELLO


@each_variant
def test_get_root_says_hello(running):
    with Connection(running.host, running.port) as conn:
        check_hello(conn.request("GET", "/"))


@each_variant
def test_head_root_has_headers_and_no_body(running):
    with Connection(running.host, running.port) as conn:
        head = conn.request("HEAD", "/")
        assert head.status == 200
        assert head.header("Content-Type") == "text/plain"
        # A body sent anyway would show up as garbage before the next answer.
        if head.closes or not running.variant.keep_alive or running.variant.name in \
                CLOSES_AFTER_HEAD:
            assert conn.peer_closed(EOF_WAIT)
        else:
            check_hello(conn.request("GET", "/"))


@each_variant
@pytest.mark.parametrize("body", [b"", b"abc", BINARY], ids=["empty", "small", "1MiB-binary"])
def test_echo_returns_the_body_byte_for_byte(running, body):
    with Connection(running.host, running.port) as conn:
        response = conn.request("POST", "/echo", body)
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
        body = b"x" if method == "POST" else b""
        assert conn.request(method, target, body, CLOSE).status == 404


@each_variant
def test_keep_alive_is_what_the_manifest_says(running):
    with Connection(running.host, running.port) as conn:
        if running.variant.keep_alive:
            for _ in range(3):
                response = conn.request("GET", "/")
                check_hello(response)
                assert not response.closes
            assert conn.request("POST", "/echo", b"still open").body == b"still open"
        else:
            response = conn.request("GET", "/")
            check_hello(response)
            assert response.closes, "no keep-alive claimed, so the server must say it closes"
            assert conn.peer_closed(EOF_WAIT)


@pytest.mark.parametrize("running", PIPELINING, indirect=True)
def test_pipelined_requests_are_answered_in_order(running):
    with Connection(running.host, running.port) as conn:
        a = conn.authority
        conn.send(request_bytes("GET", "/", a) + request_bytes("POST", "/echo", a, b"second")
                  + request_bytes("GET", "/third", a))
        check_hello(conn.read_response("GET"))
        echoed = conn.read_response("POST")
        assert (echoed.status, echoed.body) == (200, b"second")
        assert conn.read_response("GET").status == 404


@pytest.mark.parametrize("name", VARIANTS)
def test_sigterm_stops_the_whole_group_and_frees_the_port(name, tmp_path):
    server = start_or_skip(name, tmp_path)
    with Connection(server.host, server.port) as conn:
        check_hello(conn.request("GET", "/", headers=CLOSE))
    info = lifecycle.stop(server)
    assert not info["killed"], info["exit"]
    assert info["port_free"] and procstat.group_pids(server.pgid) == []


def test_gunicorn_worker_count_comes_from_the_manifest_setting(tmp_path):
    assert variant("flask-gunicorn").run_env["WEB_CONCURRENCY"] == "1"
    server = start_or_skip("flask-gunicorn", tmp_path, env_override={"WEB_CONCURRENCY": "2"})
    try:
        deadline = time.monotonic() + 10
        while len(procstat.group_pids(server.pgid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the workers as they boot
        assert len(procstat.group_pids(server.pgid)) == 3, "one arbiter and two workers"
    finally:
        lifecycle.stop(server)


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
    check_requirements(variant("gohttp-c"))
    lib = CTX.build_dir / "bridges" / "gohttp" / "libgohttp.so"
    # A subprocess, so that the Go runtime is not loaded into the test process.
    probe = subprocess.run([CTX.python, "-c", REGISTRY_PROBE, str(lib)],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "GOMAXPROCS": "1"})
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split("\n")[:-1] == ["-1 -1 -1"] * 5, probe.stdout


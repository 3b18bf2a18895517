"""python3 -m httpbridge.wsgi: gunicorn's command-line shape, clear errors for an app that
cannot be found, the start line, signals, workers; and serve()'s limits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PACKAGE_DIR, TIMEOUT, free_port, request
from wsgi_helpers import wsgi_server

APP = """
import os

CONSTANT = 3

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{os.getpid()} {environ['wsgi.multiprocess']}".encode()]

def create_app(greeting="made by a factory"):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [greeting.encode()]
    return app
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "hbapp.py").write_text(APP)
    (folder / "brokenapp.py").write_text("import dependency_that_is_not_installed\n")
    return folder


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_DIR))
    return subprocess.run([sys.executable, "-m", "httpbridge.wsgi", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def serve_cli(spawn, *args: str, port: int | None = None):  # type: ignore[no-untyped-def]
    port = port or free_port()
    return spawn([sys.executable, "-m", "httpbridge.wsgi", "--bind", f"127.0.0.1:{port}", *args], port)


def test_help() -> None:
    done = cli("--help")
    assert done.returncode == 0
    for option in ("module:app", "--bind", "--threads", "--workers", "--chdir"):
        assert option in done.stdout


@pytest.mark.parametrize("spec, message", [
    ("no_such_module:app", "no module named 'no_such_module'"),
    ("no_such_package.wsgi:application", "no module named 'no_such_package'"),
    ("hbapp:nope", "module 'hbapp' has no attribute 'nope'"),
    ("hbapp:create", "module 'hbapp' has no attribute 'create'"),
    ("hbapp:application.inner", "hbapp:application has no attribute 'inner'"),
    ("hbapp:nope()", "module 'hbapp' has no attribute 'nope'"),
    ("hbapp:CONSTANT", "hbapp:CONSTANT is not a WSGI callable (it is int)"),
    ("hbapp:create_app(x)", "factory arguments must be literals"),
    ("hbapp:1+", "is not a name"),
    (":app", "expected module:app"),
])
def test_an_app_that_cannot_be_found_is_named(app_dir: Path, spec: str, message: str) -> None:
    done = cli("--chdir", str(app_dir), spec)
    assert done.returncode == 2
    assert done.stderr.startswith(f"httpbridge.wsgi: error: cannot load {spec}: ")
    assert message in done.stderr and done.stderr.count("\n") == 1  # one line, no traceback
    assert "Traceback" not in done.stderr


def test_an_import_error_inside_the_app_shows_its_traceback(app_dir: Path) -> None:
    done = cli("--chdir", str(app_dir), "brokenapp:app")
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert "No module named 'dependency_that_is_not_installed'" in done.stderr


def test_bad_options_are_usage_errors(app_dir: Path) -> None:
    for args in (["--bind", "localhost:http", "hbapp"], ["--threads", "0", "hbapp"],
                 ["--workers", "x", "hbapp"], ["--chdir", str(app_dir / "missing"), "hbapp"], []):
        done = cli(*args, cwd=app_dir)
        assert done.returncode == 2, args
        assert "usage:" in done.stderr


def test_start_line_default_attribute_and_chdir(spawn, app_dir: Path) -> None:  # type: ignore[no-untyped-def]
    server = serve_cli(spawn, "--chdir", str(app_dir), "hbapp")  # module alone: module:application
    pid, multiprocess = request(server.port).body.decode().split()
    assert (int(pid), multiprocess) == (server.proc.pid, "False")
    assert server.stop() == 0
    assert server.stderr == f"listening on http://127.0.0.1:{server.port}\n"
    assert server.stdout == ""


def test_host_and_port_options_and_the_current_directory(spawn, app_dir: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    server = spawn([sys.executable, "-m", "httpbridge.wsgi", "--host", "127.0.0.1", "--port", str(port),
                    "hbapp:application"], port, ready=False)
    server.proc.wait(TIMEOUT)  # cwd is the test's: hbapp is not there
    assert "no module named 'hbapp'" in server.stderr
    env = {"PYTHONPATH": os.pathsep.join([str(PACKAGE_DIR), str(app_dir)])}
    server = spawn([sys.executable, "-m", "httpbridge.wsgi", "--host", "127.0.0.1", "--port", str(port),
                    "hbapp:application"], port, env=env)
    assert request(port).status == 200


@pytest.mark.parametrize("spec, body", [
    ("hbapp:create_app()", b"made by a factory"),
    ("hbapp:create_app('hi')", b"hi"),
    ("hbapp:create_app(greeting='kw')", b"kw"),
])
def test_a_factory(spawn, app_dir: Path, spec: str, body: bytes) -> None:  # type: ignore[no-untyped-def]
    server = serve_cli(spawn, "--chdir", str(app_dir), spec)
    assert request(server.port).body == body


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_it(spawn, app_dir: Path, sig: int) -> None:  # type: ignore[no-untyped-def]
    server = serve_cli(spawn, "--chdir", str(app_dir), "hbapp")
    assert request(server.port).status == 200
    assert server.stop(sig, timeout=5) == 0  # bounded: it must stop well within it
    assert "Traceback" not in server.stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_a_port_in_use_is_a_clear_error(app_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("--bind", f"127.0.0.1:{port}", "--chdir", str(app_dir), "hbapp")
    assert done.returncode == 1
    assert done.stderr == \
        f"httpbridge.wsgi: error: cannot listen on 127.0.0.1:{port}: address already in use\n"


def test_workers_2(spawn, app_dir: Path) -> None:  # type: ignore[no-untyped-def]
    server = serve_cli(spawn, "--workers", "2", "--chdir", str(app_dir), "hbapp")
    pids = set()
    for _ in range(500):  # fresh connections: SO_REUSEPORT spreads them by source port
        pid, multiprocess = request(server.port).body.decode().split()
        assert multiprocess == "True"
        pids.add(int(pid))
        if len(pids) == 2:
            break
    assert len(pids) == 2 and server.proc.pid not in pids
    assert server.stop() == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert server.stderr == f"listening on http://127.0.0.1:{server.port}\n"


# ---- serve() and its limits ---------------------------------------------------------


def echo(environ, start_response):  # type: ignore[no-untyped-def]
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [environ["wsgi.input"].read()]


def test_limits_reach_the_engine() -> None:
    with wsgi_server(echo, body_limit=16, header_limit=1024) as server:
        assert request(server.port, "POST", "/", body=b"x" * 16).body == b"x" * 16
        assert request(server.port, "POST", "/", body=b"x" * 17).status == 413
        assert request(server.port, headers=[("X-Big", "y" * 2000)]).status == 431


def test_bad_arguments_to_serve() -> None:
    from httpbridge.wsgi import serve

    with pytest.raises(TypeError, match="unknown limit 'body_limt'"):
        serve(echo, port=0, body_limt=5)
    with pytest.raises(ValueError, match="read_timeout must be a positive number"):
        serve(echo, port=0, read_timeout=0)
    with pytest.raises(ValueError, match="workers must be a positive int"):
        serve(echo, port=0, workers=0)
    with pytest.raises(TypeError, match="must be callable"):
        serve("app:app", port=0)  # type: ignore[arg-type]

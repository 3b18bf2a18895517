"""Shared helpers: the built package on sys.path, free ports, an HTTP client, server processes.

Every wait here is bounded; readiness is polled on the port, never slept for.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

BUILD_DIR = Path(os.environ.get("HB_BUILD_DIR", "/work/main/build")).resolve()
PACKAGE_DIR = BUILD_DIR / "python"
REPO = Path(__file__).resolve().parents[3]
TIMEOUT = 10.0  # seconds: the bound on every wait in these tests

if not (PACKAGE_DIR / "httpbridge" / "__init__.py").exists():
    raise RuntimeError(f"httpbridge is not built in {PACKAGE_DIR}; run `make build` (or set HB_BUILD_DIR)")
sys.path.insert(0, str(PACKAGE_DIR))
sys.path.insert(1, str(REPO))  # the harness, whose free_port() these tests share

from harness.lifecycle import free_port  # noqa: E402,F401 (re-exported to the tests)


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = TIMEOUT) -> None:
    """Poll until something accepts on 127.0.0.1:port; fail fast if proc exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"nothing listening on port {port} after {timeout} s")


class Response:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def header_names(self) -> list[str]:
        return [n for n, _ in self.headers]


def request(
    port: int,
    method: str = "GET",
    path: str = "/",
    body: bytes | None = None,
    headers: Sequence[tuple[str, str]] = (),
    conn: http.client.HTTPConnection | None = None,
) -> Response:
    """One request (on conn, or a fresh connection); repeated headers are sent as given."""
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        has_host = any(name.lower() == "host" for name, _ in headers)
        c.putrequest(method, path, skip_host=has_host, skip_accept_encoding=True)
        for name, value in headers:
            c.putheader(name, value)
        if body is not None:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        return Response(r.status, r.getheaders(), r.read())
    finally:
        if own:
            c.close()


class ServerProcess:
    """A server in a child process (own process group), its output in files."""

    def __init__(self, argv: Sequence[str], port: int, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.out_path, self.err_path = tmp / f"out-{port}.txt", tmp / f"err-{port}.txt"
        full_env = dict(os.environ, PYTHONPATH=str(PACKAGE_DIR), PYTHONUNBUFFERED="1")
        full_env.update(env or {})
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, env=full_env, start_new_session=True)

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_ready(self) -> ServerProcess:
        try:
            wait_for_port(self.port, self.proc)
        except AssertionError as e:
            raise AssertionError(f"{e}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}") from None
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = TIMEOUT) -> int:
        """Send sig to the server process and wait (bounded) for it to exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(TIMEOUT)



def assert_no_memory_growth(port: int, send: Callable[[int, int], None]) -> None:
    """Send 20k requests to warm up (caches, free lists and buffers reach their size), then
    100k more, and check what the app's GET /stats reports (traced bytes, RSS, GC objects,
    allocated blocks) barely moved. Loose bounds: a leak of one small object per request
    would be ~3 MB and 100k objects."""
    send(port, 20_000)
    before = tuple(map(int, request(port, path="/stats").body.split()))
    send(port, 100_000)
    after = tuple(map(int, request(port, path="/stats").body.split()))
    traced, rss, objects, blocks = (a - b for a, b in zip(after, before))
    assert traced < 256 * 1024, f"Python memory grew by {traced} bytes"
    assert objects < 1000, f"{objects} more objects tracked by the GC"
    assert blocks < 1000, f"{blocks} more allocated blocks"
    assert rss < 8 * 1024 * 1024, f"RSS grew by {rss} bytes"

@pytest.fixture
def spawn(tmp_path: Path) -> Iterator:
    """spawn(argv, port, env=None) -> a ready ServerProcess, killed after the test."""
    started: list[ServerProcess] = []

    def start(argv: Sequence[str], port: int, env: dict[str, str] | None = None, ready: bool = True) -> ServerProcess:
        server = ServerProcess(argv, port, tmp_path, env)
        started.append(server)
        return server.wait_ready() if ready else server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def app(tmp_path: Path, spawn):  # type: ignore[no-untyped-def]
    """app(source, *args) -> a ServerProcess running that program with PORT in its globals."""

    def start(source: str, *args: str, ready: bool = True) -> ServerProcess:
        port = free_port()
        script = tmp_path / f"app_{port}.py"
        script.write_text(f"PORT = {port}\n" + source)
        return spawn([sys.executable, str(script), *args], port, ready=ready)

    return start


@pytest.fixture
def serve() -> Iterator:
    """serve(routes, threads=1) -> a started in-process httpbridge.Server, closed after the test."""
    import httpbridge

    servers: list[httpbridge.Server] = []

    def start(routes: list, threads: int = 1) -> httpbridge.Server:  # type: ignore[type-arg]
        server = httpbridge.Server("127.0.0.1", 0, threads=threads, routes=routes)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
        server.close()

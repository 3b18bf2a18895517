"""The harness's own safety: no server outlives it, it measures only the server it started,
and no answer, however malformed, makes `verify` raise."""

import os
import signal
import socket
import subprocess
import threading
import time
import types
from pathlib import Path

import pytest

from harness import httpclient, lifecycle, procstat, verify
from harness.config import ROOT
from harness.manifest import parse_manifest
from harness.tests.helpers import PYTHON, hello_variant, write_variant

# A server that never listens: it records its pid and its child's, then waits. While it
# runs, the harness is "starting" it (polling for readiness).
NEVER_READY = """
import os, sys, time
child = os.fork()
if child == 0:
    time.sleep(300)
    os._exit(0)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(f"{os.getpid()} {child}")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(300)
"""


def never_ready_variant(servers: Path, name: str, pid_file: Path) -> Path:
    script = servers.parent / "never_ready.py"
    script.write_text(NEVER_READY)
    return write_variant(servers, name, f"""
        title = "never ready"
        server = "test"
        handler = "python"
        [build]
        system = "none"
        [run]
        command = "{{python}} {script} {pid_file}"
        ready_timeout = 120
    """)


def wait_for(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.02)  # polling for the condition, not guessing a delay
    return value


def alive(pid: int) -> bool:
    fields = procstat._stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def harness(*args) -> subprocess.Popen:
    """python3 -m harness ARGS in the background, with Ctrl-C working as in a terminal
    (a shell running tests in the background may have passed SIGINT down as ignored)."""
    env = {**os.environ, "HB_PYTHON": PYTHON}
    return subprocess.Popen([PYTHON, "-m", "harness", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def children(parent: int, program: bytes, with_arg: bytes = b"") -> list[int]:
    """Live processes started by `parent` whose command line has the word `program` (and an
    argument starting with `with_arg`)."""
    found = []
    for entry in os.listdir("/proc"):
        fields = procstat._stat_fields(int(entry)) if entry.isdigit() else None
        if not fields or int(fields[1]) != parent or fields[0] == "Z":
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (any(arg == program or arg.endswith(b"/" + program) for arg in argv)
                and any(arg.startswith(with_arg) for arg in argv)):
            found.append(int(entry))
    return found


def running(marker: str) -> list[int]:
    """Live processes whose command line contains marker."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if (entry.isdigit() and marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes()
                    and alive(int(entry))):
                found.append(int(entry))
        except OSError:
            pass
    return found


# ---------------------------------------------------------------- interrupted at any moment


@pytest.mark.parametrize("command, sig", [("verify", signal.SIGINT), ("run", signal.SIGTERM),
                                          ("run", signal.SIGINT)])
def test_a_signal_while_the_variant_starts_leaves_no_server(tmp_path, command, sig):
    pid_file = tmp_path / "pids"
    never_ready_variant(tmp_path / "servers", "slow", pid_file)
    args = [command, "--servers-dir", tmp_path / "servers", "--results-dir", tmp_path / "r"]
    if command == "run":
        args += ["--quick", "--no-pin"]
    proc = harness(*args)
    try:
        wait_for(pid_file.exists, "server start")
        pids = [int(p) for p in pid_file.read_text().split()]
        assert all(alive(p) for p in pids)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert [p for p in pids if alive(p)] == [], "the server and its child outlived the harness"


def test_a_signal_during_a_load_run_leaves_no_server(tmp_path):
    hello_variant(tmp_path / "servers", "hello")
    proc = harness("run", "--servers-dir", tmp_path / "servers", "--results-dir", tmp_path / "r",
                   "--scenarios", "keepalive", "--duration", "30", "--no-pin")
    try:
        # the wrk that loads the server, not the `wrk -v` the run starts with for its version
        wait_for(lambda: children(proc.pid, b"wrk", b"http://"), "load generator")
        servers = children(proc.pid, b"hello_server.py")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert servers and [p for p in servers if alive(p)] == []
    (run_dir,) = (tmp_path / "r").iterdir()
    assert '"status": "interrupted"' in (run_dir / "results.json").read_text()


def test_an_interrupt_in_the_readiness_wait_stops_the_server(ctx, tmp_path, monkeypatch):
    v = parse_manifest(hello_variant(ctx.servers_dir, "hello") / "variant.toml", ctx)
    started = []

    def interrupted(host, port, timeout):
        started.extend(lifecycle._started)
        raise KeyboardInterrupt

    monkeypatch.setattr(httpclient, "answers", interrupted)
    with pytest.raises(KeyboardInterrupt):
        lifecycle.start(v, tmp_path, "s")
    (server,) = started
    assert server.stopped and not server.alive()
    assert procstat.group_pids(server.pgid) == [] and lifecycle._started == []


# ---------------------------------------------------------------- the port is the server's


class CannedServer:
    """Another program on a port: answers every connection with the same bytes, then
    closes. With reuse_port it listens with SO_REUSEPORT, so a server can share its port."""

    def __init__(self, answer: bytes, reuse_port: bool = False):
        self.answer = answer
        self.answered = 0
        self.sock = socket.socket()
        if reuse_port:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.recv(65536)
                    conn.sendall(self.answer)
                    self.answered += 1
                except OSError:
                    pass

    def close(self):
        self.sock.close()


@pytest.fixture
def foreign():
    """A program that took the port first, and answers GET / as a variant would."""
    server = CannedServer(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                          b"Content-Length: 14\r\nConnection: close\r\n\r\nHello, world.\n",
                          reuse_port=True)
    yield server
    server.close()


def test_a_port_held_by_another_program_is_never_taken_for_the_server(ctx, tmp_path, foreign,
                                                                      monkeypatch):
    # The variant never listens; the foreign program answers GET / correctly on its port.
    v = parse_manifest(never_ready_variant(ctx.servers_dir, "slow", tmp_path / "pids")
                       / "variant.toml", ctx)
    monkeypatch.setattr(lifecycle, "free_port", lambda host: foreign.port)
    with pytest.raises(lifecycle.PortTaken, match="outside the server's process group"):
        lifecycle.start(v, tmp_path, "s")
    assert lifecycle._started == [] and running(str(tmp_path / "pids")) == []


def test_a_taken_port_means_a_fresh_port_and_the_right_server(ctx, tmp_path, foreign,
                                                              monkeypatch):
    # The variant binds with SO_REUSEPORT, so it could share the taken port unnoticed.
    v = parse_manifest(hello_variant(ctx.servers_dir, "shares", args="--reuse-port")
                       / "variant.toml", ctx)
    ports = iter([foreign.port])
    real_free_port = lifecycle.free_port
    monkeypatch.setattr(lifecycle, "free_port", lambda host: next(ports, None)
                        or real_free_port(host))
    server = lifecycle.start(v, tmp_path, "s")
    try:
        assert server.port != foreign.port
        lifecycle.check_owner(server)
        assert verify.passed(verify.verify(server.host, server.port, v))
    finally:
        lifecycle.stop(server)
    assert foreign.answered == 0


def test_check_owner_notices_a_second_listener(ctx, tmp_path):
    v = parse_manifest(hello_variant(ctx.servers_dir, "shares", args="--reuse-port")
                       / "variant.toml", ctx)
    server = lifecycle.start(v, tmp_path, "s")
    try:
        intruder = socket.socket()
        intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        intruder.bind((server.host, server.port))
        intruder.listen()
        with intruder, pytest.raises(lifecycle.PortTaken, match="1 listening socket"):
            lifecycle.check_owner(server)
    finally:
        lifecycle.stop(server)


# ---------------------------------------------------------------- malformed answers


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 \xb200 OK\r\nContent-Length: 14\r\n\r\nHello, world.\n",  # '²00': isdigit()
    HEAD + b"Content-Length: \xb94\r\n\r\nHello, world.\n",  # '¹4'
    HEAD + b"Content-Length: -1\r\n\r\nHello, world.\n",
    HEAD + b"Content-Length: 99999999999999999999999\r\n\r\nHello",
    HEAD + b"Content-Length: 14\r\nContent-Length: 15\r\n\r\nHello, world.\n",
    HEAD + b"Content-Length: 1e3\r\n\r\nHello, world.\n",
    HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nHello\r\n0\r\n\r\n",
    HEAD + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nHello\r\n0\r\n\r\n",
    HEAD + b"Transfer-Encoding: chunked\r\n\r\n0x10\r\nHello\r\n0\r\n\r\n",
    HEAD + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nHello\r\n0\r\n\r\n",
    b"\xff\xfe garbage\r\n\r\n",
    b"",
], ids=["status-superscript", "length-superscript", "length-negative", "length-huge",
        "length-twice", "length-float", "chunk-not-hex", "chunk-negative", "chunk-0x",
        "chunk-huge", "garbage", "nothing"])
def test_malformed_numbers_never_raise_out_of_verify(answer):
    server = CannedServer(answer)
    try:
        variant = types.SimpleNamespace(keep_alive=True, pipelining=True)
        checks = verify.verify("127.0.0.1", server.port, variant)
        ready = httpclient.answers("127.0.0.1", server.port)  # the readiness probe
    finally:
        server.close()
    by_name = {c.name: c for c in checks}
    assert [c.name for c in checks] == verify.CHECK_NAMES
    assert by_name["GET /"].ok is False and by_name["GET /"].detail
    assert ready is False

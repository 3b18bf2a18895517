"""Start, wait for, stop: one server process group at a time.

A server runs in its own session (so its own process group, id = its pid), pinned with
taskset when asked, with stdout/stderr going to log files. It is ready when its group,
and nobody else, listens on the port and GET / answers; a port taken by another program
between choosing it and the server binding it means a fresh port and a fresh start.
Stopping sends SIGTERM to the whole group, then SIGKILL after a bound, and checks that
the port is free again.

Every started server is recorded before the harness can be interrupted (SIGINT and
SIGTERM are held while the process is spawned and recorded), so that `stop_all()`, run
when the harness exits for any reason, leaves no server behind.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from harness import httpclient, procstat
from harness.manifest import Variant

HOST = "127.0.0.1"
STOP_TIMEOUT = 5.0
POLL_INTERVAL = 0.05
START_ATTEMPTS = 3  # fresh ports to try when another program takes the chosen one


class LifecycleError(Exception):
    """The server could not be started or stopped; the message says why."""


class PortTaken(LifecycleError):
    """Something outside the server's process group listens on the server's port."""


def free_port(host: str = HOST) -> int:
    """A port nobody listens on now, chosen by the kernel (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    """True if a listener could bind host:port (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def wait_port_free(host: str, port: int, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not port_is_free(host, port):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_INTERVAL)
    return True


def pin_prefix(cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus] if cpus else []


def tail(path: Path, lines: int = 12, limit: int = 2000) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])[-limit:]


@dataclasses.dataclass
class Server:
    variant: Variant
    host: str
    port: int
    command: list[str]
    proc: subprocess.Popen
    tmp: str
    stdout_path: Path
    stderr_path: Path
    stopped: dict | None = None  # what stop() reported, once it ran

    @property
    def pgid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_tail(self) -> str:
        return tail(self.stderr_path) or tail(self.stdout_path) or "(no output)"

    def exit_description(self) -> str:
        code = self.proc.returncode
        if code is None:
            return "still running"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with code {code}"


# Servers started and not yet stopped; stop_all() ends them (also at interpreter exit).
_started: list[Server] = []


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM during the block, then act on the first that came.

    Without this, Ctrl-C could land between spawning a server and recording it, and the
    server would outlive the harness. Signals are only handled on the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: pending.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        if pending:
            signal.raise_signal(pending[0])  # its own handler now: KeyboardInterrupt


def start(variant: Variant, log_dir: Path, tag: str, threads: int = 1,
          cpus: str | None = None, host: str = HOST) -> Server:
    """Start the variant on a free port and wait until it, and only it, answers there.

    Fails fast (LifecycleError with the stderr tail) if the process exits, and gives up
    after the manifest's ready_timeout. When another program holds the port, the server
    is stopped and started again on a fresh port, up to START_ATTEMPTS times. On failure
    or interruption nothing is left running.
    """
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return _start_once(variant, log_dir, tag, threads, cpus, host)
        except PortTaken as e:
            if attempt == START_ATTEMPTS:
                raise PortTaken(f"{e} ({START_ATTEMPTS} ports tried)") from None
    raise AssertionError("unreachable")


def _start_once(variant: Variant, log_dir: Path, tag: str, threads: int, cpus: str | None,
                host: str) -> Server:
    port = free_port(host)
    log_dir.mkdir(parents=True, exist_ok=True)
    stdout_path = log_dir / f"{tag}.stdout.txt"
    stderr_path = log_dir / f"{tag}.stderr.txt"
    server = None
    try:
        with _interrupts_held():
            tmp = tempfile.mkdtemp(prefix=f"hb-{variant.name}-")
            command = pin_prefix(cpus) + variant.command(host, port, threads, tmp)
            env = {**os.environ, **variant.environment(host, port, threads, tmp)}
            with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
                try:
                    proc = subprocess.Popen(command, cwd=variant.dir, env=env,
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                            start_new_session=True)
                except OSError as e:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise LifecycleError(f"cannot run {command[0]!r}: {e.strerror or e}") from None
            server = Server(variant, host, port, command, proc, tmp, stdout_path, stderr_path)
            _started.append(server)
        wait_ready(server, variant.ready_timeout)
    except BaseException:  # LifecycleError, and KeyboardInterrupt at any point
        if server is not None:
            stop(server)
        raise
    return server


def wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        ours, others = procstat.port_listeners(server.port, server.pgid)
        if others:
            raise PortTaken(f"port {server.port} is listened on by {others} socket(s) outside "
                            "the server's process group: another program took it after the "
                            "harness chose it")
        if not server.alive():
            raise LifecycleError(f"server {server.exit_description()} before answering GET /; "
                                 f"stderr tail:\n{server.stderr_tail()}")
        if ours and httpclient.answers(server.host, server.port, timeout=1.0):
            return
        if time.monotonic() > deadline:
            what = "answer GET /" if ours else "listen"
            raise LifecycleError(f"server did not {what} on port {server.port} within "
                                 f"{timeout:g} s (run.ready_timeout); stderr tail:\n"
                                 f"{server.stderr_tail()}")
        time.sleep(POLL_INTERVAL)


def check_owner(server: Server) -> None:
    """Raise PortTaken unless the server's group alone listens on its port."""
    ours, others = procstat.port_listeners(server.port, server.pgid)
    if others or not ours:
        raise PortTaken(f"port {server.port}: {others} listening socket(s) outside the "
                        f"server's process group, {'some' if ours else 'none'} in it")


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_gone(server: Server) -> bool:
    if server.proc.poll() is None:
        return False
    return not procstat.group_pids(server.pgid)


def stop(server: Server, timeout: float = STOP_TIMEOUT) -> dict:
    """SIGTERM the whole group, SIGKILL it after `timeout`; report what happened.

    Returns {"exit": str, "killed": bool, "port_free": bool}, also kept in server.stopped.
    A second call returns the first report. SIGINT and SIGTERM wait until it is done.
    """
    if server.stopped is not None:
        return server.stopped
    with _interrupts_held():
        server.stopped = _stop(server, timeout)
        if server in _started:
            _started.remove(server)
    return server.stopped


def stop_all() -> None:
    """Stop every server started and not stopped yet (on the way out of the harness)."""
    for server in list(_started):
        stop(server)


atexit.register(stop_all)


def _stop(server: Server, timeout: float) -> dict:
    was_alive = server.alive()
    killed = False
    if was_alive or procstat.group_pids(server.pgid):
        _signal_group(server.pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while not _group_gone(server):
            if time.monotonic() > deadline:
                killed = True
                _signal_group(server.pgid, signal.SIGKILL)
                break
            time.sleep(POLL_INTERVAL)
    try:
        server.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    if killed:  # give the kernel a moment to reap the rest of the group
        end = time.monotonic() + 2.0
        while procstat.group_pids(server.pgid) and time.monotonic() < end:
            time.sleep(POLL_INTERVAL)
    shutil.rmtree(server.tmp, ignore_errors=True)
    if not was_alive:
        how = f"had already {server.exit_description()}"
    elif killed:
        how = f"ignored SIGTERM for {timeout:g} s, stopped by SIGKILL"
    else:
        how = f"stopped by SIGTERM ({server.exit_description()})"
    return {
        "exit": how,
        "killed": killed,
        "port_free": wait_port_free(server.host, server.port),
    }

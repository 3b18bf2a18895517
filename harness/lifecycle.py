"""Build, start, wait for, stop: one server process group at a time.

A server runs in its own session (so its own process group, id = its pid), pinned with
taskset when asked, with stdout/stderr going to log files. Stopping sends SIGTERM to the
whole group, then SIGKILL after a bound, and checks that the port is free again.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from harness import httpclient, procstat
from harness.manifest import Variant

HOST = "127.0.0.1"
STOP_TIMEOUT = 5.0
POLL_INTERVAL = 0.05


class LifecycleError(Exception):
    """The server could not be built, started or stopped; the message says why."""


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


def build(variant: Variant, log_path: Path) -> None:
    """Run build.command in the variant directory (build.system = "command")."""
    if variant.build_system != "command":
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        log.write(("$ " + " ".join(variant.build_command) + "\n").encode())
        log.flush()
        try:
            proc = subprocess.run(variant.build_command, cwd=variant.dir, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise LifecycleError(f"build command failed to run: {e}") from None
    if proc.returncode != 0:
        raise LifecycleError(f"build command exited with {proc.returncode}: "
                             f"{tail(log_path, 6)}")


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


def start(variant: Variant, log_dir: Path, tag: str, threads: int = 1,
          cpus: str | None = None, host: str = HOST) -> Server:
    """Start the variant on a free port and wait until GET / answers.

    Fails fast (LifecycleError with the stderr tail) if the process exits, and gives up
    after the manifest's ready_timeout. On failure nothing is left running.
    """
    port = free_port(host)
    tmp = tempfile.mkdtemp(prefix=f"hb-{variant.name}-")
    command = pin_prefix(cpus) + variant.command(host, port, threads, tmp)
    env = dict(os.environ)
    env.update(variant.environment(host, port, threads, tmp))
    log_dir.mkdir(parents=True, exist_ok=True)
    stdout_path = log_dir / f"{tag}.stdout.txt"
    stderr_path = log_dir / f"{tag}.stderr.txt"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        try:
            proc = subprocess.Popen(command, cwd=variant.dir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, start_new_session=True)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise LifecycleError(f"cannot run {command[0]!r}: {e.strerror or e}") from None
    server = Server(variant, host, port, command, proc, tmp, stdout_path, stderr_path)
    try:
        wait_ready(server, variant.ready_timeout)
    except LifecycleError:
        stop(server)
        raise
    return server


def wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not server.alive():
            raise LifecycleError(f"server {server.exit_description()} before answering GET /; "
                                 f"stderr tail:\n{server.stderr_tail()}")
        if httpclient.answers(server.host, server.port, timeout=1.0):
            return
        if time.monotonic() > deadline:
            raise LifecycleError(f"server did not answer GET / on port {server.port} within "
                                 f"{timeout:g} s (run.ready_timeout); stderr tail:\n"
                                 f"{server.stderr_tail()}")
        time.sleep(POLL_INTERVAL)


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

    Returns {"exit": str, "killed": bool, "port_free": bool}.
    """
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

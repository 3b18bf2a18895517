"""Start a variant straight from its servers/<name>/variant.toml, and stop it.

The harness does the same for benchmarks; these tests do not depend on it, so
that a variant can be checked while the harness changes. Format and
placeholders: servers/README.md.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVERS = ROOT / "servers"
BUILD_DIR = Path(os.environ.get("HB_BUILD_DIR") or ROOT / "build").resolve()
PYTHON = os.environ.get("HB_PYTHON") or "/usr/bin/python3"
HOST = "127.0.0.1"
STOP_TIMEOUT = 10.0  # seconds for the whole process group to go after SIGTERM
PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")


def manifest(name: str) -> dict:
    with open(SERVERS / name / "variant.toml", "rb") as f:
        return tomllib.load(f)


def free_port(host: str = HOST) -> int:
    """A port nobody listens on right now: the kernel's pick for port 0."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    """True when a new server could listen there (TIME_WAIT does not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            s.listen()
        except OSError:
            return False
        return True


def substitute(text: str, values: dict[str, str]) -> str:
    def one(m: re.Match) -> str:
        if m.group(1) not in values:
            raise KeyError(f"unknown placeholder {m.group(0)} in {text!r}")
        return values[m.group(1)]

    return PLACEHOLDER.sub(one, text)


def _build_has_go() -> tuple[bool, str]:
    """Whether this build dir was configured to build the Go parts at all."""
    cache = BUILD_DIR / "CMakeCache.txt"
    text = cache.read_text(errors="replace") if cache.exists() else ""
    if "HB_BUILD_GO:BOOL=OFF" in text:
        return False, f"{BUILD_DIR} was configured with -DHB_BUILD_GO=OFF"
    if shutil.which("go") is None:
        return False, "go is not installed, so the Go parts were not built"
    return True, ""


def unmet_requirement(name: str) -> tuple[str, bool] | None:
    """(reason, tool_missing) for the first unmet `requires`, or None.

    tool_missing is True when the tool is genuinely absent from this machine
    (skip); False when something of ours should have been built and was not
    (fail).
    """
    values = {"build_dir": str(BUILD_DIR), "variant_dir": str(SERVERS / name),
              "root": str(ROOT), "python": PYTHON}
    for spec in manifest(name)["run"].get("requires", []):
        kind, _, value = spec.partition(":")
        value = substitute(value, values)
        if kind == "cmd" and shutil.which(value) is None:
            return f"command {value!r} is not installed", True
        if kind == "py":
            probe = subprocess.run(
                [PYTHON, "-c", "import importlib.util, sys; "
                               "sys.exit(importlib.util.find_spec(sys.argv[1]) is None)", value],
                capture_output=True, timeout=60)
            if probe.returncode != 0:
                return f"Python module {value!r} is not importable by {PYTHON}", True
        if kind == "file" and not os.path.exists(value):
            if not Path(value).is_relative_to(BUILD_DIR):
                return f"{value} is not installed", True
            has_go, why = _build_has_go()
            if not has_go:
                return why, True
            return f"{value} is missing: build it (make build, HB_BUILD_DIR={BUILD_DIR})", False
    return None


class RunningVariant:
    """A variant serving on HOST:port in its own process group."""

    def __init__(self, name: str, threads: int = 1, env_override: dict[str, str] | None = None):
        self.name = name
        self.spec = manifest(name)
        self.host = HOST
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix=f"hb-{name}-")
        self.log = tempfile.NamedTemporaryFile(prefix=f"hb-{name}-", suffix=".log")
        values = {"host": self.host, "port": str(self.port), "threads": str(threads),
                  "tmp": self.tmp, "build_dir": str(BUILD_DIR),
                  "variant_dir": str(SERVERS / name), "root": str(ROOT), "python": PYTHON}
        run = self.spec["run"]
        self.command = [substitute(t, values) for t in shlex.split(run["command"])]
        self.env = {k: substitute(v, values) for k, v in run.get("env", {}).items()}
        self.env.update(env_override or {})  # as if the manifest said so
        self.proc = subprocess.Popen(
            self.command, cwd=SERVERS / name, env={**os.environ, **self.env}, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pgid = self.proc.pid  # start_new_session: the leader's pid names the group
        self.stopped = False
        try:
            self._wait_ready(float(run.get("ready_timeout", 10)))
        except BaseException:
            self.stop()
            raise

    def output(self) -> str:
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def _wait_ready(self, timeout: float) -> None:
        """Poll until GET / gets any HTTP answer; fail at once if the server exits."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode} before "
                                     f"answering; output:\n{self.output()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    if s.recv(16).startswith(b"HTTP/"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not answer on {self.host}:{self.port} "
                                     f"within {timeout} s; output:\n{self.output()}")
            time.sleep(0.05)  # polling interval, not a readiness guess

    def group_members(self) -> list[str]:
        """Live (non-zombie) processes still in the variant's process group."""
        members = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue  # exited while we looked
            fields = text[text.rindex(")") + 2:].split()
            state, pgrp = fields[0], int(fields[2])
            if pgrp == self.pgid and state != "Z":
                members.append(text[:text.rindex(")") + 1])
        return members

    def stop(self) -> list[str]:
        """SIGTERM the group, wait for all of it; returns what had to be killed."""
        if self.stopped:
            return []
        self.stopped = True
        leftovers: list[str] = []
        try:
            os.killpg(self.pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + STOP_TIMEOUT
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        while self.group_members() and time.monotonic() < deadline:
            time.sleep(0.05)
        leftovers = self.group_members()
        if leftovers or self.proc.poll() is None:
            leftovers = leftovers or [f"{self.proc.pid} (leader)"]
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=STOP_TIMEOUT)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return leftovers


def start_or_skip(name: str, **kwargs) -> RunningVariant:
    """Start a variant; skip only when a tool it needs is absent from the machine."""
    check_requirements(name)
    return RunningVariant(name, **kwargs)


def check_requirements(name: str) -> None:
    """Skip when a required tool is absent; fail when a part of ours was not built."""
    unmet = unmet_requirement(name)
    if unmet is not None:
        reason, tool_missing = unmet
        if tool_missing:
            pytest.skip(f"{name}: {reason}")
        pytest.fail(f"{name}: {reason}")

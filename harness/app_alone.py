"""A WSGI app timed alone, from the harness's side: a child interpreter that runs appcost.py.

    with AppAlone("flask_app:app", ["servers/apps"], python="/usr/bin/python3", cpus="0") as a:
        a.measure(["GET /"], runs=3, min_time=0.05)   # {"settings": ..., "cases": {...}}
    measure("flask_app:app", ["servers/apps"])        # one answer, child started and stopped

The app runs in its own process so that its global state (Django's settings) never touches
the harness, pinned where the servers run. The child stays up between answers (it waits on
its stdin, using no CPU), so a run can time the app right before and right after each server
measurement it is set against: the machine's speed drifts by tens of percent between minutes
on a shared host, and a pair taken seconds apart drifts together.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from harness.appcost import CASES, DEFAULTS, AppCostError

HARNESS_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AppAlone:
    """One app loaded once in a child; measure() as often as needed; close() (or `with`)."""

    def __init__(self, spec: str, paths: Sequence[str] = (), python: str | None = None,
                 cpus: str | None = None, env: dict[str, str] | None = None,
                 timeout: float = 300.0):
        self.spec, self.timeout = spec, timeout
        argv = (["taskset", "-c", cpus] if cpus else []) + [
            python or sys.executable, "-m", "harness.appcost", "--serve"]
        for path in paths:
            argv += ["--path", str(path)]
        child_env = dict(os.environ, **(env or {}))
        child_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (HARNESS_ROOT, child_env.get("PYTHONPATH")) if p)
        # stderr to a file: a chatty app can never fill a pipe and stall the child
        self._stderr = tempfile.TemporaryFile(mode="w+")
        try:
            self._proc = subprocess.Popen([*argv, spec], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=self._stderr,
                                          text=True, env=child_env)
        except OSError as e:
            self._stderr.close()
            raise AppCostError(f"{spec}: cannot start {argv[0]}: {e}") from None
        self._buffer = ""
        try:
            self.python = self._answer(time.monotonic() + timeout, "loading the app")["python"]
        except AppCostError:
            self.close()
            raise

    def measure(self, cases: Sequence[str] = tuple(c.name for c in CASES),
                **options: Any) -> dict[str, Any]:
        """Time the named appcost cases now: {"spec", "python", "settings", "cases": {...}}."""
        settings = {**DEFAULTS, **options}
        if self._stderr.closed:
            raise AppCostError(f"{self.spec}: the app's child was closed")
        if self._proc.poll() is None:
            try:
                self._proc.stdin.write(json.dumps({"cases": list(cases), **settings}) + "\n")
                self._proc.stdin.flush()
            except BrokenPipeError:
                pass  # the child is gone: _answer says why
        answer = self._answer(time.monotonic() + self.timeout, "timing " + ", ".join(cases))
        if "error" in answer:
            raise AppCostError(f"{self.spec}: {answer['error']}")
        return {"spec": self.spec, "python": self.python, "settings": settings,
                "cases": answer["cases"]}

    def _answer(self, deadline: float, doing: str) -> dict[str, Any]:
        """The child's next JSON line; AppCostError if it dies or takes past the deadline."""
        stdout = self._proc.stdout
        with selectors.DefaultSelector() as sel:
            sel.register(stdout, selectors.EVENT_READ)
            while "\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.close()
                    raise AppCostError(f"{self.spec}: {doing} not done within {self.timeout:g} s")
                if not sel.select(left):
                    continue
                chunk = os.read(stdout.fileno(), 65536).decode()
                if not chunk:
                    raise AppCostError(self._death(doing))
                self._buffer += chunk
        line, self._buffer = self._buffer.split("\n", 1)
        try:
            return json.loads(line)  # type: ignore[no-any-return]
        except ValueError:
            self.close()
            raise AppCostError(f"{self.spec}: while {doing}, the child answered {line[:80]!r}, "
                               "not JSON") from None

    def _death(self, doing: str) -> str:
        code = self._proc.wait()
        self._stderr.seek(0)
        lines = self._stderr.read().strip().splitlines()
        if code == 1 and lines and lines[-1].startswith("appcost: "):
            return lines[-1]  # the child's own message: what is missing or wrong
        return (f"{self.spec}: exit status {code} while {doing}"
                + (f"; its stderr ends with {lines[-1][:200]!r}" if lines else ""))

    def close(self) -> None:
        """End the child: EOF on its stdin, then a kill if it does not go within 2 s."""
        try:
            self._proc.stdin.close()
            self._proc.wait(timeout=2)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> AppAlone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def measure(spec: str, paths: Sequence[str] = (), python: str | None = None,
            env: dict[str, str] | None = None, timeout: float = 300.0, cpus: str | None = None,
            **options: Any) -> dict[str, Any]:
    """Every appcost case timed once in a fresh child; AppCostError with its message if not."""
    with AppAlone(spec, paths, python, cpus, env, timeout) as app:
        result = app.measure(**options)
    return {**result, "paths": list(paths)}


class Children:
    """The run's apps by key (app_split.targets), each child started on first use and kept
    until close(). A child that fails is not started again: its error is every later answer."""

    def __init__(self, apps: dict[str, dict], python: str | None, cpus: str | None):
        self.apps, self.python, self.cpus = apps, python, cpus
        self._up: dict[str, AppAlone] = {}
        self._failed: dict[str, str] = {}

    def measure(self, key: str, cases: Sequence[str] = tuple(c.name for c in CASES),
                **options: Any) -> dict[str, Any]:
        if key in self._failed:
            raise AppCostError(self._failed[key])
        try:
            if key not in self._up:
                entry = self.apps[key]
                self._up[key] = AppAlone(entry["spec"], entry["paths"], self.python, self.cpus)
            return self._up[key].measure(cases, **options)
        except AppCostError as e:
            self._failed[key] = str(e)
            child = self._up.pop(key, None)
            if child:
                child.close()
            raise

    def close(self) -> None:
        for child in self._up.values():
            child.close()
        self._up.clear()

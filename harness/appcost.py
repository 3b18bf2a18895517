"""What a WSGI app costs on its own: its callable invoked in-process, no server, no socket.

A server's CPU per request minus this is the server's own overhead per request, which is
what a like-for-like row (the same app on httpbridge, gunicorn, uWSGI...) should be read by.

The loop is pyperf's, small: calibrate the number of calls per run until one run takes at
least ``min_time``, one warm-up run, then ``runs`` timed runs; each run gives microseconds
of CPU time per request (this thread's, so that other load on a shared machine does not
count, and comparable with the server CPU per request the harness reads from /proc).
Every call gets a fresh copy of a realistic environ (what wrk's requests make a server
build) and a fresh ``wsgi.input``, calls ``start_response``, walks the body and calls its
``close()``, as a server must; the cost of that scaffolding, timed the same way
around an app that does nothing, is subtracted. The first answer of each case is checked
(the common endpoints' status and body), so that a broken app is never timed.

    python3 -m harness.appcost [--path DIR] [--json | --serve] module:app

This module is what runs in the child interpreter; harness/app_alone.py starts it, so that
an app's global state (Django's settings) never touches the harness.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

HELLO = b"Hello, world.\n"
ECHO_BODY = bytes(range(256)) * 4  # 1 KiB, as the verify step and the smallest echo case send
DEFAULTS = {"runs": 5, "warmups": 1, "min_time": 0.1}


class AppCostError(Exception):
    """The app cannot be loaded, or does not answer what the variants must answer."""


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: bytes
    expect: bytes | None  # None: the request body back

    def environ(self, port: int = 8000) -> dict[str, Any]:
        """The environ a server builds for what wrk sends: one Host header (and a body)."""
        env: dict[str, Any] = {
            "REQUEST_METHOD": self.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": self.path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "40000",
            "HTTP_HOST": f"127.0.0.1:{port}",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
        }
        if self.body:
            env["CONTENT_LENGTH"] = str(len(self.body))
            env["CONTENT_TYPE"] = "application/octet-stream"
        return env


CASES = (
    Case("GET /", "GET", "/", b"", HELLO),
    Case("POST /echo", "POST", "/echo", ECHO_BODY, None),
)


def _call(app: Callable[..., Iterable[bytes]], base: dict[str, Any], body: bytes) -> tuple[str, bytes]:
    """One request as a server makes it: fresh environ and input, body walked, close() called."""
    environ = base.copy()
    environ["wsgi.input"] = io.BytesIO(body)
    status: list[str] = []

    def start_response(s: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        status.append(s)
        return _discard

    result = app(environ, start_response)
    try:
        data = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return (status[-1] if status else ""), data


def _discard(data: bytes) -> None:
    pass


def _null_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [])
    return [b""]


def _run(app: Callable[..., Any], base: dict[str, Any], body: bytes, loops: int) -> float:
    """CPU seconds per call over loops calls: CPU time, like the server's figure it is set
    against, and unlike wall time not inflated by whatever else runs on the machine."""
    call = _call
    start = time.thread_time()
    for _ in range(loops):
        call(app, base, body)
    return (time.thread_time() - start) / loops


def _calibrate(app: Callable[..., Any], base: dict[str, Any], body: bytes, min_time: float) -> int:
    loops = 1
    while loops < 1 << 24:
        if _run(app, base, body, loops) * loops >= min_time:
            return loops
        loops *= 2
    return loops


def _timings(app: Callable[..., Any], case: Case, runs: int, warmups: int, min_time: float,
             loops: int | None = None) -> tuple[int, list[float]]:
    base = case.environ()
    loops = loops or _calibrate(app, base, case.body, min_time)
    for _ in range(warmups):
        _run(app, base, case.body, loops)
    return loops, [_run(app, base, case.body, loops) * 1e6 for _ in range(runs)]


def check(app: Callable[..., Any], case: Case) -> None:
    """AppCostError unless the app answers case as every variant must."""
    try:
        status, data = _call(app, case.environ(), case.body)
    except Exception as e:  # noqa: BLE001 - the app's own failure, reported with the case
        raise AppCostError(f"{case.name}: the app raised {type(e).__name__}: {e}") from e
    expected = case.body if case.expect is None else case.expect
    if not status.startswith("200") or data != expected:
        raise AppCostError(f"{case.name}: the app answered {status or 'nothing'!r} with {len(data)} bytes "
                           f"{data[:40]!r}, expected 200 with {expected[:40]!r}")


def _checked_settings(runs: int, warmups: int, min_time: float) -> None:
    if runs < 1 or warmups < 0 or min_time <= 0:
        raise ValueError("runs >= 1, warmups >= 0 and min_time > 0, please")


def measure_case(app: Callable[..., Any], case: Case, runs: int, warmups: int, min_time: float,
                 loops: tuple[int, int] | None = None) -> dict[str, Any]:
    """One case timed: {us_per_request, min, max, stdev, runs, loops, scaffold_us, scaffold_loops}.

    loops: (scaffold, app) calls per run from an earlier answer, to skip the calibration."""
    _checked_settings(runs, warmups, min_time)
    scaffold_loops, scaffold = _timings(_null_app, case, runs, warmups, min_time,
                                        loops and loops[0])
    app_loops, total = _timings(app, case, runs, warmups, min_time, loops and loops[1])
    floor = statistics.median(scaffold)
    own = [max(0.0, t - floor) for t in total]
    return {
        "us_per_request": statistics.median(own),
        "min": min(own),
        "max": max(own),
        "stdev": statistics.stdev(own) if len(own) > 1 else 0.0,
        "runs": own,
        "loops": app_loops,
        "scaffold_us": floor,  # the loop's own cost per call, already subtracted
        "scaffold_loops": scaffold_loops,
    }


def measure_here(app: Callable[..., Any], cases: Sequence[Case] = CASES, runs: int = DEFAULTS["runs"],
                 warmups: int = DEFAULTS["warmups"],
                 min_time: float = DEFAULTS["min_time"]) -> dict[str, Any]:
    """Time app in this process: {case name: measure_case(...)}."""
    _checked_settings(runs, warmups, min_time)
    results: dict[str, Any] = {}
    for case in cases:
        check(app, case)
        results[case.name] = measure_case(app, case, runs, warmups, min_time)
    return results


def serve(app: Callable[..., Any], requests: IO[str], answers: IO[str]) -> None:
    """Answer timing requests, one JSON line each way, until requests ends.

    A request: {"cases": [names], "runs", "warmups", "min_time"}; the answer: {"cases":
    {name: measure_case(...)}} or {"error": why}. The app is checked once, before the first
    line ("ready"), and each case's loop counts are calibrated once, on its first request, so
    that a later answer costs only its runs: a run can afford to time the app next to every
    server measurement it is set against (harness/app_alone.py)."""
    by_name = {c.name: c for c in CASES}
    for case in CASES:
        check(app, case)
    print(json.dumps({"ready": True, "python": sys.version.split()[0]}), file=answers, flush=True)
    # calls per run, calibrated once per case and run length: a shorter min_time must not
    # reuse counts calibrated for a longer one
    loops: dict[tuple[str, float], tuple[int, int]] = {}
    for line in requests:
        try:
            ask = json.loads(line)
            settings = {k: ask.get(k, DEFAULTS[k]) for k in DEFAULTS}
            _checked_settings(**settings)
            unknown = [name for name in ask["cases"] if name not in by_name]
            if unknown:
                raise ValueError(f"no case {unknown[0]!r}; the cases are {', '.join(by_name)}")
        except (ValueError, KeyError, TypeError) as e:
            answer: dict[str, Any] = {"error": f"bad request {line.strip()[:80]!r}: {e}"}
        else:
            try:
                out = {}
                for name in ask["cases"]:
                    key = (name, settings["min_time"])
                    out[name] = measure_case(app, by_name[name], loops=loops.get(key), **settings)
                    loops[key] = (out[name]["scaffold_loops"], out[name]["loops"])
                answer = {"cases": out}
            except Exception as e:  # noqa: BLE001 - the app failed on a later call: say so, go on
                answer = {"error": f"the app raised {type(e).__name__}: {e}"}
        print(json.dumps(answer), file=answers, flush=True)


def load(spec: str, paths: Sequence[str] = ()) -> Callable[..., Any]:
    """module:app (module alone: module:application; module:factory() calls it)."""
    module_name, _, attr = spec.partition(":")
    attr = attr or "application"
    for path in reversed(paths):
        sys.path.insert(0, os.path.abspath(path))
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise AppCostError(f"cannot import {module_name!r}: {e}") from e
    call = attr.endswith("()")
    obj: Any = module
    for part in attr.removesuffix("()").split("."):
        if not hasattr(obj, part):
            raise AppCostError(f"{spec}: {module_name!r} has no attribute {attr.removesuffix('()')!r}")
        obj = getattr(obj, part)
    app = obj() if call else obj
    if not callable(app):
        raise AppCostError(f"{spec} is not callable")
    return app  # type: ignore[no-any-return]


def app_of_command(argv: Sequence[str],
                   env: dict[str, str] | None = None) -> tuple[str, list[str]] | None:
    """The (module:app, import folders) a variant's start command serves, or None if it
    serves no WSGI app this understands: httpbridge.wsgi and gunicorn (--chdir, --pythonpath,
    the last positional), waitress (PYTHONPATH, the last positional), uWSGI (--chdir with
    --module or --wsgi-file)."""
    args = list(argv)
    paths = [p for p in (env or {}).get("PYTHONPATH", "").split(os.pathsep) if p]

    def option(*names: str) -> str | None:
        for i, a in enumerate(args):
            for n in names:
                if a == n and i + 1 < len(args):
                    return args[i + 1]
                if a.startswith(n + "="):
                    return a[len(n) + 1:]
        return None

    chdir = option("--chdir")
    if args and os.path.basename(args[0]).startswith("uwsgi"):
        module, wsgi_file = option("--module"), option("--wsgi-file")
        if wsgi_file:
            module = os.path.splitext(os.path.basename(wsgi_file))[0] + ":application"
            chdir = os.path.normpath(os.path.join(chdir or ".", os.path.dirname(wsgi_file)))
        return (module, [chdir] if chdir else []) if module else None
    runner = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "-m"), None)
    if runner not in ("httpbridge.wsgi", "gunicorn", "waitress"):
        return None
    spec = args[-1]
    if ":" not in spec and runner != "httpbridge.wsgi":
        return None
    return spec, [p for p in (chdir, option("--pythonpath")) if p] + paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m harness.appcost",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("app", metavar="module:app")
    parser.add_argument("--path", action="append", default=[], metavar="DIR", help="import from DIR too")
    parser.add_argument("--runs", type=int, default=DEFAULTS["runs"])
    parser.add_argument("--warmups", type=int, default=DEFAULTS["warmups"])
    parser.add_argument("--min-time", type=float, default=DEFAULTS["min_time"], metavar="S",
                        help="seconds one run takes at least (the loop count is calibrated to it)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--serve", action="store_true",
                        help="load the app once, then answer timing requests: one JSON line "
                             "each way on stdin/stdout (what harness/app_alone.py drives)")
    args = parser.parse_args(argv)
    answers = sys.stdout
    if args.serve or args.json:
        sys.stdout = sys.stderr  # what the app prints must not end up in the answers
    try:
        app = load(args.app, args.path)
        if args.serve:
            serve(app, sys.stdin, answers)
            return 0
        cases = measure_here(app, runs=args.runs, warmups=args.warmups, min_time=args.min_time)
    except AppCostError as e:
        print(f"appcost: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"spec": args.app, "python": sys.version.split()[0], "paths": args.path,
                          "settings": {"runs": args.runs, "warmups": args.warmups, "min_time": args.min_time},
                          "cases": cases}), file=answers)
    else:
        for name, r in cases.items():
            print(f"{args.app} {name}: {r['us_per_request']:.2f} us/request "
                  f"({r['min']:.2f}-{r['max']:.2f}, {args.runs} runs of {r['loops']} calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

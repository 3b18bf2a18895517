"""The load generators: run wrk and ab, read what they report, judge whether a run is valid.

wrk is read through the JSON line our Lua done() prints (harness/lua/done.lua), never
through its text table. ab has no machine-readable output, so its summary lines are parsed.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import time

from harness.config import LUA_DIR
from harness.lifecycle import pin_prefix
from harness.procstat import ChildUsage

WRK = "wrk"
AB = "ab"
WRK_JSON_PREFIX = "HB-WRK-JSON "
PERCENTILES = ("p50", "p90", "p99", "p99.9")


class ParseError(Exception):
    pass


@dataclasses.dataclass
class ClientRun:
    command: list[str]
    returncode: int | None  # None: killed after the timeout
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float

    def raw_text(self) -> str:
        return (f"$ {' '.join(self.command)}\n# exit code {self.returncode}, "
                f"wall {self.wall_s:.3f} s, client CPU {self.cpu_s:.3f} s\n"
                f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}")


def run_client(command: list[str], timeout: float) -> ClientRun:
    """Run a load generator to completion, measuring its wall time and its own CPU time."""
    usage = ChildUsage()
    usage.start()
    t0 = time.monotonic()
    try:
        proc = subprocess.run(command, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        code, out, err = None, e.stdout or b"", (e.stderr or b"") + b"\n(killed: timed out)"
    wall = time.monotonic() - t0
    cpu = usage.stop()
    return ClientRun(command, code, out.decode(errors="replace"), err.decode(errors="replace"),
                     wall, cpu)


# ---------------------------------------------------------------- wrk


def wrk_command(url: str, connections: int, duration: int, script: str,
                script_args: list[str] | None = None, threads: int = 1, timeout: int = 5,
                cpus: str | None = None) -> list[str]:
    command = pin_prefix(cpus) + [
        WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout}s",
        "-s", str(LUA_DIR / script), url,
    ]
    if script_args:
        command += ["--"] + [str(a) for a in script_args]
    return command


def parse_wrk(stdout: str) -> dict:
    """The figures of one wrk run from its HB-WRK-JSON line; times in ms, rates per second."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith(WRK_JSON_PREFIX)]
    if not lines:
        raise ParseError("no HB-WRK-JSON line in wrk's output (did the Lua done() run?)")
    try:
        data = json.loads(lines[-1][len(WRK_JSON_PREFIX):])
    except json.JSONDecodeError as e:
        raise ParseError(f"bad HB-WRK-JSON line: {e}") from None
    duration_s = data["duration_us"] / 1e6
    lat = data["latency_us"]
    latency = {}
    for key in ("min", "mean", "max") + PERCENTILES:
        value = lat.get(key)
        # wrk answers 0 for a percentile it cannot place (few samples); 0 is never a real latency
        if key in PERCENTILES and (not value or value < lat.get("min", 0)):
            latency[key] = None
        else:
            latency[key] = value / 1000.0
    return {
        "requests": data["requests"],
        "duration_s": duration_s,
        "rps": data["requests"] / duration_s if duration_s > 0 else 0.0,
        "bytes": data["bytes"],
        "errors": data["errors"],
        "non_2xx": data["errors"]["status"],
        "latency_ms": latency,
    }


def wrk_problems(parsed: dict) -> list[str]:
    """Why a wrk run is invalid (empty: valid)."""
    problems = []
    errors = parsed["errors"]
    socket_errors = {k: v for k, v in errors.items() if k != "status" and v}
    if socket_errors:
        problems.append("socket errors: " + ", ".join(f"{k} {v}" for k, v in socket_errors.items()))
    if parsed["non_2xx"]:
        problems.append(f"{parsed['non_2xx']} non-2xx answers")
    if not parsed["requests"]:
        problems.append("no request completed")
    return problems


# ---------------------------------------------------------------- ab


def ab_command(url: str, requests: int, concurrency: int, cpus: str | None = None) -> list[str]:
    # Exactly the reference's invocation (no -k: a new connection per request).
    return pin_prefix(cpus) + [AB, "-n", str(requests), "-c", str(concurrency), url]


_AB_FIELDS = {
    "complete": (r"^Complete requests:\s+(\d+)", int),
    "failed": (r"^Failed requests:\s+(\d+)", int),
    "non_2xx": (r"^Non-2xx responses:\s+(\d+)", int),
    "total_s": (r"^Time taken for tests:\s+([\d.]+) seconds", float),
    "rps": (r"^Requests per second:\s+([\d.]+) \[#/sec\] \(mean\)", float),
    "time_per_request_ms": (r"^Time per request:\s+([\d.]+) \[ms\] \(mean\)$", float),
    "time_per_request_all_ms": (
        r"^Time per request:\s+([\d.]+) \[ms\] \(mean, across all concurrent requests\)", float),
    "concurrency": (r"^Concurrency Level:\s+(\d+)", int),
}


def parse_ab(stdout: str, stderr: str = "") -> dict:
    """ab's summary: counts, Total (s), Req/Sec, both Time per request lines (ms), percentiles.

    When ab gave up (e.g. "apr_socket_recv: Connection reset by peer"), there is no summary:
    the result has `error` and `completed` (from "Total of N requests completed") instead.
    """
    result: dict = {key: None for key in _AB_FIELDS}
    for key, (pattern, kind) in _AB_FIELDS.items():
        m = re.search(pattern, stdout, re.MULTILINE)
        if m:
            result[key] = kind(m.group(1))
    if result["complete"] is not None and result["non_2xx"] is None:
        result["non_2xx"] = 0  # ab prints the line only when there were some
    m = re.search(r"^\s+\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)",
                  stdout, re.MULTILINE)
    result["failed_by_kind"] = (dict(zip(("connect", "receive", "length", "exceptions"),
                                         map(int, m.groups()))) if m else {})
    percentiles = {}
    for pct, ms in re.findall(r"^\s+(\d+)%\s+(\d+)", stdout, re.MULTILINE):
        percentiles[f"p{pct}"] = float(ms)
    result["latency_ms"] = {"p50": percentiles.get("p50"), "p90": percentiles.get("p90"),
                            "p99": percentiles.get("p99"), "max": percentiles.get("p100")}
    m = re.search(r"Total of (\d+) requests completed", stdout + stderr)
    result["completed"] = int(m.group(1)) if m else result["complete"]
    errors = [ln.strip() for ln in stderr.splitlines()
              if ln.strip() and not re.match(r"(Completed|Finished) \d+ requests", ln.strip())]
    result["error"] = "; ".join(errors) or None
    if result["complete"] is None and result["error"] is None:
        raise ParseError("ab printed no summary and no error")
    return result


def ab_problems(parsed: dict, expected: int, returncode: int | None = 0) -> list[str]:
    problems = []
    if parsed["error"]:
        problems.append(f"ab stopped: {parsed['error']} after {parsed['completed'] or 0} "
                        f"of {expected} requests")
    elif returncode:
        problems.append(f"ab exited with code {returncode}")
    if parsed["failed"]:
        kinds = ", ".join(f"{k} {v}" for k, v in parsed["failed_by_kind"].items() if v)
        problems.append(f"{parsed['failed']} failed requests" + (f" ({kinds})" if kinds else ""))
    if parsed["non_2xx"]:
        problems.append(f"{parsed['non_2xx']} non-2xx answers")
    if parsed["complete"] is not None and parsed["complete"] != expected:
        problems.append(f"{parsed['complete']} of {expected} requests completed")
    return problems


# ---------------------------------------------------------------- one run, as stored

AB_STORED = ("total_s", "rps", "time_per_request_ms", "time_per_request_all_ms", "complete",
             "failed", "failed_by_kind", "non_2xx", "error")


def read_run(tool: str, client: ClientRun, expected_requests: int | None = None
             ) -> tuple[dict, list[str]]:
    """What one wrk or ab run measured, as results.json stores it, and why it is invalid.

    The fields are rps, requests, duration_s, non_2xx, latency_ms, and errors (wrk) or
    ab (ab); the list of problems is empty for a valid run.
    """
    if tool == "loadgen":
        from harness import loadgen_run  # the open-loop generator reads itself
        return loadgen_run.read(client)
    fields: dict = {"rps": None, "requests": 0}
    try:
        parsed = parse_wrk(client.stdout) if tool == "wrk" else parse_ab(client.stdout,
                                                                           client.stderr)
    except ParseError as e:
        return fields, [f"{e}; stderr: {client.stderr.strip()[-300:]}"]
    if tool == "wrk":
        problems = wrk_problems(parsed)
        if client.returncode != 0:
            problems.append(f"wrk exited with code {client.returncode}")
        fields.update(rps=parsed["rps"], requests=parsed["requests"],
                      duration_s=parsed["duration_s"], errors=parsed["errors"],
                      non_2xx=parsed["non_2xx"], latency_ms=parsed["latency_ms"])
    else:
        problems = ab_problems(parsed, expected_requests, client.returncode)
        fields.update(rps=parsed["rps"], requests=parsed["complete"] or parsed["completed"] or 0,
                      duration_s=parsed["total_s"], non_2xx=parsed["non_2xx"],
                      latency_ms=parsed["latency_ms"], ab={k: parsed[k] for k in AB_STORED})
    return fields, problems

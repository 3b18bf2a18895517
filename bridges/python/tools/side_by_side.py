"""Quick side-by-side load of a few variants: server CPU per request and req/s.

Not the harness (python3 -m harness does this properly, with stored results):
a developer's check that the Python bridge stays close to servers/c-callback.
Each server is pinned to CPU 0 and wrk to CPU 1; variants alternate within each
round so that a noisy neighbour hits them alike. Server CPU comes from
/proc/PID/stat (all threads), wrk's counts from its summary.

    /usr/bin/python3 bridges/python/tools/side_by_side.py \\
        --variants c-callback,python-pybind11,python-cffi --modes keepalive,pipeline --rounds 3
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TICK = os.sysconf("SC_CLK_TCK")
PIPELINE_LUA = """
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end
"""


def commands(build: Path) -> dict[str, list[str]]:
    py = "/usr/bin/python3"
    return {
        "cpp-beast": [f"{build}/servers/cpp-beast/cpp-beast", "--port", "{port}"],
        "c-callback": [f"{build}/servers/c-callback/c-callback", "--port", "{port}"],
        "python-pybind11": [py, f"{ROOT}/servers/python-pybind11/app.py", "--port", "{port}"],
        "python-cffi": [py, f"{ROOT}/servers/python-cffi/app.py", "--port", "{port}"],
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one(argv: list[str], env: dict[str, str], mode: str, seconds: int, lua: str) -> tuple[float, float, str]:
    port = free_port()
    server = subprocess.Popen(["taskset", "-c", "0", *[a.format(port=port) for a in argv]],
                              env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"{argv[0]} did not start") from None
                time.sleep(0.05)
        wrk = ["taskset", "-c", "1", "wrk", "-t1", "-c10", f"-d{seconds}s"]
        if mode == "pipeline":
            wrk += ["-s", lua]
        before = cpu_seconds(server.pid)
        out = subprocess.run([*wrk, f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                             timeout=seconds + 30).stdout
        used = cpu_seconds(server.pid) - before
    finally:
        server.terminate()
        server.wait(10)
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx.*|Socket errors.*", out)
    return rps, used / requests * 1e6, errors[0] if errors else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="c-callback,python-pybind11,python-cffi")
    parser.add_argument("--modes", default="keepalive,pipeline")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--build-dir", default=os.environ.get("HB_BUILD_DIR", str(ROOT / "build")))
    args = parser.parse_args()
    build = Path(args.build_dir).resolve()
    env = dict(os.environ, PYTHONPATH=f"{build}/python:{build}/servers/python-cffi")
    table = commands(build)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(PIPELINE_LUA)
        lua.flush()
        for mode in args.modes.split(","):
            results: dict[str, list[tuple[float, float]]] = {}
            for r in range(args.rounds):
                for name in args.variants.split(","):
                    rps, us, errors = one(table[name], env, mode, args.seconds, lua.name)
                    results.setdefault(name, []).append((rps, us))
                    print(f"{mode:9} round {r} {name:16} {rps:10.0f} req/s {us:6.2f} us CPU/req {errors}",
                          flush=True)
            for name, runs in results.items():
                print(f"{mode:9} median   {name:16} {statistics.median(r for r, _ in runs):10.0f} req/s "
                      f"{statistics.median(u for _, u in runs):6.2f} us CPU/req", flush=True)


if __name__ == "__main__":
    sys.exit(main())

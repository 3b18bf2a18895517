"""Test helpers: throwaway variant directories, the stdlib test server, stored samples."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from harness import load, results
from harness.config import ROOT
from harness.runner import make_record
from harness.scenarios import Settings, cases_for

DATA = Path(__file__).parent / "data"
HELLO_SERVER = DATA / "hello_server.py"
PYTHON = os.environ.get("HB_PYTHON") or sys.executable


def write_variant(servers_dir: Path, name: str, toml: str) -> Path:
    d = Path(servers_dir) / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "variant.toml").write_text(textwrap.dedent(toml))
    return d


def hello_variant(servers_dir: Path, name: str, args: str = "", pipelining: bool = True,
                  extra_run: str = "") -> Path:
    """A variant whose server is harness/tests/data/hello_server.py."""
    return write_variant(servers_dir, name, f"""
        title = "stdlib test server {name}"
        server = "test"
        handler = "python"
        description = "ThreadingHTTPServer answering the common endpoints."

        [build]
        system = "none"

        [run]
        command = "{{python}} {HELLO_SERVER} --host {{host}} --port {{port}} {args}"
        requires = ["file:{HELLO_SERVER}"]
        ready_timeout = 20
        {extra_run}

        [supports]
        keep_alive = true
        pipelining = {"true" if pipelining else "false"}
    """)


def missing_tool_variant(servers_dir: Path, name: str) -> Path:
    """A variant that needs a command this machine does not have: listed, never run."""
    return write_variant(servers_dir, name, """
        title = "needs a tool that is not here"
        server = "test"
        handler = "c"
        [build]
        system = "none"
        [run]
        command = "no-such-tool-hb --port {port}"
        requires = ["cmd:no-such-tool-hb"]
    """)


def run_cli(*args, timeout=600, env=None) -> subprocess.CompletedProcess:
    """python3 -m harness ARGS, from the repository, as `make` runs it."""
    full_env = dict(os.environ)
    full_env.setdefault("HB_PYTHON", PYTHON)
    full_env.update(env or {})
    return subprocess.run([PYTHON, "-m", "harness", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def sample(name: str) -> str:
    return (DATA / name).read_text()


def client_run(stdout: str, stderr: str = "", code: int = 0, wall: float = 1.1,
               cpu: float = 1.0) -> load.ClientRun:
    return load.ClientRun(["sample"], code, stdout, stderr, wall, cpu)


def make_stored_run(results_dir: Path, scale: dict[str, float], rounds: int = 2,
                    invalid: tuple = ()) -> Path:
    """A run stored through RunStore from the captured tool outputs, req/s scaled per variant.

    invalid: (variant, scenario) pairs whose runs use the socket-error sample instead.
    """
    settings = Settings(scenarios=["lol", "keepalive", "pipeline", "echo"], duration=1,
                        repeats=rounds, concurrency=[10, 64], echo_sizes=[1024, 16384],
                        ab_requests=2000,
                        pinning="server CPU 0, client CPU 1")
    store = results.RunStore(results_dir, ["test"], settings.as_dict(),
                             results.machine_info(), {"wrk": "wrk 4.1.0"},
                             {"commit": "0123456789abcdef", "dirty": False, "changed": []})
    outputs = {"lol": sample("ab_ok.txt"), "keepalive": sample("wrk_keepalive.txt"),
               "pipeline": sample("wrk_pipeline.txt"), "echo": sample("wrk_echo_16k.txt")}
    for name in scale:
        store.add_variant(name, {"title": name, "server": "httpbridge", "handler": "c++",
                                 "reference_row": None, "status": "ok", "reason": None,
                                 "skipped_cases": {}, "verify": [], "events": []})
    for r in range(1, rounds + 1):
        for name, factor in scale.items():
            for case, _ in cases_for(settings):
                text = outputs[case.scenario]
                if (name, case.scenario) in invalid:
                    text = sample("wrk_socket_errors.txt")
                record = make_record(name, case, r, client_run(text), 0.5, 10240, "raw/x.txt",
                                     None, 0.9)
                # spread the rounds a little and scale per variant
                for key in ("rps",):
                    record[key] *= factor * (1 + 0.01 * r)
                if record.get("ab"):
                    record["ab"]["rps"] *= factor * (1 + 0.01 * r)
                store.add_measurement(record)
    store.finish("complete")
    return store.dir

"""What a run measures: the settings and, for each scenario, the cases it expands to.

lol        ab -n 10000 -c 10 http://127.0.0.1:PORT/   (the reference's table; no keep-alive)
keepalive  wrk -t1 at each concurrency (default 10 and 256), GET /
pipeline   wrk with lua/pipeline.lua: 16 GET / back to back per connection
echo       wrk with lua/echo.lua: POST /echo with bodies of each size (default 1 KiB and 256 KiB)
latency    hb-loadgen, open loop: a ladder of offered rates (harness/latency.py)
"""

from __future__ import annotations

import dataclasses
import os

from harness import latency, load

# latency comes after keepalive: its ladder takes the keep-alive req/s as a guide
SCENARIOS = ("lol", "keepalive", "pipeline", "echo", "latency")

# c=64 and a 16 KiB echo (give them with --concurrency/--echo-sizes) fell out of the defaults
# when the WSGI rows came in: they sat between their neighbours in every run and cost
# make bench three of its minutes.
DEFAULTS = dict(duration=2, repeats=2, concurrency=[10, 256], echo_sizes=[1024, 262144],
                ab_requests=10000, **latency.DEFAULTS)
QUICK = dict(duration=1, repeats=1, concurrency=[10], echo_sizes=[1024, 262144], ab_requests=2000,
             **latency.QUICK)


@dataclasses.dataclass
class Settings:
    scenarios: list[str]
    duration: int  # seconds per wrk run
    repeats: int  # interleaved rounds
    concurrency: list[int]  # keepalive connections
    ab_requests: int = 10000
    ab_concurrency: int = 10
    pipeline_depth: int = 16
    pipeline_connections: int = 10
    echo_sizes: list[int] = dataclasses.field(default_factory=lambda: list(DEFAULTS["echo_sizes"]))
    echo_connections: int = 10
    wrk_threads: int = 1
    wrk_timeout: int = 5  # seconds before wrk counts a request as timed out
    threads: int = 1  # {threads} for the server
    server_cpus: str | None = None
    client_cpus: str | None = None
    pinning: str = ""  # how the CPUs were chosen, in words
    quick: bool = False
    client_bound_at: float = 0.90  # client CPU utilisation that marks a run client-bound
    # the latency ladder (harness/latency.py): offered rates shared by every variant
    latency_rates: list[int] = dataclasses.field(
        default_factory=lambda: list(latency.DEFAULTS["latency_rates"]))
    latency_duration: float = latency.DEFAULTS["latency_duration"]  # measured s per step
    latency_warmup: float = latency.DEFAULTS["latency_warmup"]  # s before it, not counted
    latency_connections: int = 10
    latency_repeats: int = latency.DEFAULTS["latency_repeats"]  # the first N rounds climb it

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def default_pinning(server_cpus: str | None, client_cpus: str | None,
                    no_pin: bool) -> tuple[str | None, str | None, str]:
    """Server on CPU 0 and client on CPU 1 when there are two or more CPUs to use."""
    if no_pin:
        return None, None, "off (--no-pin)"
    usable = sorted(os.sched_getaffinity(0))
    if server_cpus or client_cpus:
        return server_cpus, client_cpus, "as asked (--server-cpus/--client-cpus)"
    if len(usable) < 2:
        return None, None, f"off (only {len(usable)} CPU usable)"
    return str(usable[0]), str(usable[1]), f"server CPU {usable[0]}, client CPU {usable[1]}"


@dataclasses.dataclass(frozen=True)
class Case:
    scenario: str
    case: str  # short id, unique within the scenario: "c=64", "16 KiB", ...
    tool: str  # "ab" or "wrk"
    params: dict

    @property
    def label(self) -> str:
        return f"{self.scenario} {self.case}"

    def command(self, url: str, s: Settings, build_dir=None) -> list[str]:
        p = self.params
        if self.tool == "loadgen":
            return latency.command(url, p, s, build_dir)
        if self.tool == "ab":
            return load.ab_command(url, p["requests"], p["concurrency"], s.client_cpus)
        args = p.get("script_args")
        return load.wrk_command(url, p["connections"], s.duration, p["script"], args,
                                s.wrk_threads, s.wrk_timeout, s.client_cpus)

    def timeout(self, s: Settings) -> float:
        """A hard bound on the client process, far above what a healthy run takes."""
        if self.tool == "ab":
            return 60 + self.params["requests"] / 50
        if self.tool == "loadgen":
            return latency.timeout(self.params)
        return s.duration + s.wrk_timeout + 30


def size_label(n: int) -> str:
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} B"


def cases_for(s: Settings, variant=None) -> list[tuple[Case, str | None]]:
    """Every case of the chosen scenarios, each with a reason to skip it for this variant."""
    out = []
    for scenario in s.scenarios:
        if scenario == "lol":
            out.append((Case("lol", f"c={s.ab_concurrency}", "ab",
                             {"requests": s.ab_requests, "concurrency": s.ab_concurrency}), None))
        elif scenario == "keepalive":
            for c in s.concurrency:
                out.append((Case("keepalive", f"c={c}", "wrk",
                                 {"connections": c, "script": "keepalive.lua"}), None))
        elif scenario == "pipeline":
            skip = None
            if variant is not None and not variant.pipelining:
                skip = "manifest: supports.pipelining = false"
            out.append((Case("pipeline", f"x{s.pipeline_depth} c={s.pipeline_connections}", "wrk",
                             {"connections": s.pipeline_connections, "depth": s.pipeline_depth,
                              "script": "pipeline.lua", "script_args": [s.pipeline_depth]}),
                        skip))
        elif scenario == "echo":
            for size in s.echo_sizes:
                out.append((Case("echo", size_label(size), "wrk",
                                 {"connections": s.echo_connections, "body_bytes": size,
                                  "script": "echo.lua", "script_args": [size]}), None))
        elif scenario == "latency":
            out += [(case, None) for case in latency.cases(s, Case)]
    return out

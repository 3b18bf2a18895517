"""The latency scenario: a ladder of offered rates, climbed with the open-loop hb-loadgen.

Every variant is offered the same fixed rates (a 1-2-5 series), so that variants compare at
the same load. A variant climbs from the lowest rate and stops after the first step that
  - is saturated (the server answered less than 99% of what was offered),
  - is invalid (errors, non-2xx answers, a dead server): going higher cannot mend it, or
  - offers more than GUIDE_FACTOR times the keep-alive req/s wrk measured for it earlier in
    the run: a slow server is not asked for 200k/s, and a fast one wastes no step beyond it.
A saturated step is kept as data (where the latency goes when the server cannot keep up);
the steps above the stop are dropped from the run's step count.
"""

from __future__ import annotations

from harness import loadgen_run
from harness.stats import fmt_count, fmt_num

# 1-2-5 series. 500/s is the first rate so that the slowest framework rows (~1k req/s) have
# one sustained step in common with everyone; 200k/s is above what one loadgen thread sends.
LADDER = (500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000)
GUIDE_FACTOR = 1.5
# Short steps: the whole scenario must fit in ~3 minutes over ~19 variants (harness/README).
DEFAULTS = dict(latency_rates=list(LADDER), latency_duration=1.0, latency_warmup=0.5,
                latency_repeats=1)
QUICK = dict(latency_rates=[1000, 5000], latency_duration=0.5, latency_warmup=0.2,
             latency_repeats=1)


def rate_label(rate: float) -> str:
    """20000 -> '20k/s': the case name of a step."""
    return f"{fmt_count(rate)}/s"


def parse_rate(text: str) -> int:
    """'20k' -> 20000, '1.5M' -> 1500000, '500' -> 500; ValueError otherwise."""
    t = text.strip().lower()
    scale = {"k": 1000, "m": 1000000}.get(t[-1:], 1)
    value = float(t[:-1] if scale > 1 else t)
    if not value >= 1 or value != value:
        raise ValueError(f"not a rate of 1/s or more: {text!r}")
    return round(value * scale)


def cases(s, case_class) -> list:
    """One case per rate of the ladder, lowest first (scenarios.cases_for's latency branch)."""
    return [case_class("latency", rate_label(rate), "loadgen",
                       {"rate": rate, "connections": s.latency_connections,
                        "duration_s": s.latency_duration, "warmup_s": s.latency_warmup})
            for rate in sorted(set(s.latency_rates))]


def command(url: str, params: dict, s, build_dir) -> list[str]:
    return loadgen_run.command(url, params["rate"], params["connections"], params["duration_s"],
                               params["warmup_s"], s.client_cpus, build_dir)


def timeout(params: dict) -> float:
    """A hard bound on hb-loadgen, far above warmup + duration + its grace and connects."""
    return params["warmup_s"] + params["duration_s"] + 2 * loadgen_run.TIMEOUT_S + 30


def step_seconds(params: dict) -> float:
    """What a step usually takes: warmup, window, and the generator's start and end."""
    return params["warmup_s"] + params["duration_s"] + 0.2


def for_round(plan: list, r: int, s) -> list:
    """The plan of round r: the ladder is climbed in the first latency_repeats rounds only."""
    if r <= s.latency_repeats:
        return plan
    return [c for c in plan if c.scenario != "latency"]


def account_warmup(record: dict) -> None:
    """Server µs/req over the warmup as well: the server's CPU is read around the whole
    generator run, while `requests` counts the measured window only. At a steady offered
    rate the warmup answered achieved_rps x warmup_s more (an estimate when saturated)."""
    server, p = record.get("server") or {}, record["params"]
    if not record.get("requests") or not record.get("rps"):
        return
    answered = record["requests"] + record["rps"] * p["warmup_s"]
    server["us_per_request"] = server["cpu_s"] * 1e6 / answered


def guide(measurements: list[dict], variant: str) -> float | None:
    """The variant's highest valid keep-alive req/s measured so far in this run, if any."""
    rates = [m["rps"] for m in measurements if m["variant"] == variant and m["valid"]
             and m["scenario"] == "keepalive" and m.get("rps")]
    return max(rates) if rates else None


def stop_reason(record: dict, guide_rps: float | None) -> str | None:
    """Why the ladder ends after this step, or None to climb on."""
    rate = record["params"]["rate"]
    if not record["valid"]:
        return "invalid: " + "; ".join(record["problems"])
    if (record.get("loadgen") or {}).get("saturated"):
        return (f"saturated: {fmt_count(record['rps'])} req/s answered of "
                f"{fmt_count(rate)} offered")
    if guide_rps and rate > GUIDE_FACTOR * guide_rps:
        return (f"above {GUIDE_FACTOR:g}x the keep-alive maximum "
                f"({fmt_count(guide_rps)} req/s)")
    return None


class Ladder:
    """One variant's climb in one round: which steps run, and why it stopped."""

    def __init__(self, variant: str, r: int, guide_rps: float | None = None):
        self.variant, self.round, self.guide = variant, r, guide_rps
        self.steps: list[int] = []
        self.stopped: str | None = None

    def skips(self, case, measurements: list[dict]) -> bool:
        """True for a step above the stop. Before the first step, take the guide from the
        keep-alive runs so far (keepalive comes first in every round)."""
        if case.scenario != "latency":
            return False
        if not self.steps and self.guide is None:
            self.guide = guide(measurements, self.variant)
        return self.stopped is not None

    def after(self, record: dict, rest: list) -> int:
        """Take in a finished step; return how many of the rest's steps the stop drops."""
        if record["scenario"] != "latency":
            return 0
        self.steps.append(record["params"]["rate"])
        self.stopped = stop_reason(record, self.guide)
        if self.stopped is None:
            return 0
        return sum(1 for c in rest if c.scenario == "latency")

    def as_dict(self) -> dict:
        return {"round": self.round, "guide_rps": self.guide, "steps": self.steps,
                "stopped": self.stopped or ("top of the ladder" if self.steps else None)}


def record_ladder(store, ladder: Ladder) -> None:
    """variants.<name>.latency_ladder in results.json: one entry per round climbed."""
    kept = [x for x in store.data["variants"][ladder.variant].get("latency_ladder", [])
            if x["round"] != ladder.round]
    store.update_variant(ladder.variant, latency_ladder=kept + [ladder.as_dict()])


def line(m: dict) -> str:
    """The screen's words for one step, after req/s and CPU."""
    lat, lg = m.get("latency_ms") or {}, m.get("loadgen") or {}
    text = (f"; p50/p99/p99.9 {fmt_num(lat.get('p50'))}/{fmt_num(lat.get('p99'))}/"
            f"{fmt_num(lat.get('p99.9'))} ms")
    return text + (" SATURATED" if lg.get("saturated") else "")

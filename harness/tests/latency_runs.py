"""Stored latency ladders for the report, plot, page and compare tests: records made by
runner.make_record from a captured hb-loadgen document (data/loadgen_20k.json) rewritten per
step, as the generator would have answered at that rate."""

import copy
import json

from harness import latency, results
from harness.runner import make_record
from harness.scenarios import Case, Settings
from harness.tests.helpers import DATA, client_run
from harness.tests.stored_runs import edit_run

SAMPLE = json.loads((DATA / "loadgen_20k.json").read_text())
RATES = [1000, 2000, 5000, 10000, 20000]


def loadgen_json(rate: int, p99_ms: float, saturated: bool = False, errors: int = 0) -> str:
    """The captured document as at `rate`, with its corrected p99 (and the rest scaled)."""
    d = copy.deepcopy(SAMPLE)
    achieved = rate * (0.8 if saturated else 1.0)
    d.update(offered_rps=float(rate), scheduled_rps=float(rate), achieved_rps=achieved,
             saturated=saturated, requests=int(achieved), answered_in_window=int(achieved))
    d["status"]["2xx"] = int(achieved)
    d["errors"]["timeout"] = errors
    d["errors_total"] = errors
    corrected = d["latency_us"]["corrected"]
    factor = p99_ms * 1000 / corrected["p99"]
    for key in ("min", "mean", "max", "p50", "p90", "p99", "p99.9", "p99.99"):
        corrected[key] *= factor
    corrected["spectrum"] = [[q, us * factor] for q, us in corrected["spectrum"]]
    return json.dumps(d)


def settings(rates=RATES) -> Settings:
    return Settings(scenarios=["latency"], duration=1, repeats=1, concurrency=[10],
                    latency_rates=list(rates))


def step(name: str, r: int, rate: int, p99_ms: float, saturated=False, errors=0) -> dict:
    case = next(c for c in latency.cases(settings(), Case) if c.params["rate"] == rate)
    record = make_record(name, case, r, client_run(loadgen_json(rate, p99_ms, saturated, errors),
                                                   wall=1.6, cpu=0.5),
                         0.2, 10240, "raw/x.txt", None, 0.9)
    latency.account_warmup(record)
    return record


def add_ladders(run_dir, ladders: dict, rounds: int = 1, jitter: float = 0.01) -> None:
    """ladders: {variant: [(rate, p99 ms, saturated)]}, climbed the same way every round."""
    def change(d):
        d["settings"].update({k: v for k, v in settings().as_dict().items()
                              if k.startswith("latency_")})
        for name, steps in ladders.items():
            d["variants"].setdefault(name, {"title": name, "server": "httpbridge",
                                            "handler": "c++", "status": "ok", "verify": [],
                                            "skipped_cases": {}, "events": []})
            entries = []
            for r in range(1, rounds + 1):
                for rate, p99, sat in steps:
                    d["measurements"].append(step(name, r, rate, p99 * (1 + jitter * r), sat))
                entries.append({"round": r, "guide_rps": None,
                                "steps": [s[0] for s in steps],
                                "stopped": "saturated" if steps[-1][2] else "top of the ladder"})
            d["variants"][name]["latency_ladder"] = entries
    edit_run(run_dir, change)
    assert results.load_run(run_dir)  # still a readable run

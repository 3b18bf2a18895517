"""The latency scenario in `compare`: p99 at each offered rate both runs climbed to, and each
variant's highest rate with p99 under 1 ms and 10 ms, judged like req/s (significance.judge
over the rounds), lower-is-better for latency and higher-is-better for the rates."""

from __future__ import annotations

import dataclasses

from harness.compare import Change, _aligned
from harness.latency import rate_label
from harness.report_latency import THRESHOLDS_MS, ladders
from harness.significance import judge
from harness.stats import fmt_num, summarize

HEADER = ["latency (hb-loadgen, open loop)", "[a]", "[b]", "[b] vs [a]", ""]


@dataclasses.dataclass
class LatencyRow:
    variant: str
    what: str  # "p99 at 20k/s", "highest rate with p99 < 1 ms"
    change: Change | None
    why_not: str | None = None  # when there is nothing to compare

    @property
    def label(self) -> str:
        return f"{self.variant} latency {self.what}"


def _round_values(cr, *path) -> dict[int, float]:
    out = {}
    for r in cr.valid_runs:
        value = r
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            out[r["round"]] = value
    return out


def _p99_change(ca, cb) -> Change | None:
    va, vb = list(_round_values(ca, "latency_ms", "p99").values()), \
        list(_round_values(cb, "latency_ms", "p99").values())
    if not va or not vb or not min(va) or not min(vb):
        return None
    return Change("p99 ms", summarize(va), summarize(vb), judge(va, vb), False,
                  ("higher p99", "lower p99"))


def highest_under_by_round(points, limit_ms: float) -> list[float]:
    """Per round that climbed: the highest rate it sustained with p99 under limit_ms (0: none)."""
    best: dict[int, float] = {}
    for rate, cr in points:
        for r in cr.runs:
            best.setdefault(r["round"], 0)
            saturated = (r.get("loadgen") or {}).get("saturated")
            p99 = (r.get("latency_ms") or {}).get("p99")
            if r["valid"] and not saturated and p99 is not None and p99 < limit_ms:
                best[r["round"]] = max(best[r["round"]], rate)
    return [best[k] for k in sorted(best)]


def _rate_change(pa, pb, limit_ms: float) -> Change | None:
    va, vb = highest_under_by_round(pa, limit_ms), highest_under_by_round(pb, limit_ms)
    if not va or not vb or not summarize(va)["median"] or not summarize(vb)["median"]:
        return None
    return Change(f"req/s with p99 < {limit_ms:g} ms", summarize(va), summarize(vb),
                  judge(va, vb), True)


def rows(a: dict, b: dict) -> list[LatencyRow]:
    la, lb = ladders(a), ladders(b)
    out = []
    for name in la:
        if name not in lb:
            continue
        steps_a, steps_b = dict(la[name]), dict(lb[name])
        for rate in sorted(set(steps_a) & set(steps_b)):
            ca, cb = steps_a[rate], steps_b[rate]
            invalid = [side for side, cr in (("[a]", ca), ("[b]", cb)) if not cr.valid]
            change = None if invalid else _p99_change(ca, cb)
            out.append(LatencyRow(name, f"p99 at {rate_label(rate)}", change,
                                  f"invalid in {' and '.join(invalid)}" if invalid else None))
        for limit in THRESHOLDS_MS:
            change = _rate_change(la[name], lb[name], limit)
            out.append(LatencyRow(name, f"highest rate with p99 < {limit:g} ms", change,
                                  None if change else "no such rate in one of the runs"))
    return out


def cells(row: LatencyRow) -> list[str]:
    ch = row.change
    if ch is None:
        return [row.label, "–", "–", f"not compared: {row.why_not or 'not recorded'}", ""]
    fmt = fmt_num if ch.metric == "p99 ms" else (lambda x: rate_label(x) if x else "none")
    unit = " ms" if ch.metric == "p99 ms" else ""
    return [row.label, fmt(ch.a["median"]) + unit, fmt(ch.b["median"]) + unit, ch.words,
            ch.verdict.label]


def render(latency: list[LatencyRow]) -> list[str]:
    if not latency:
        return []
    return ["", *_aligned(HEADER, [cells(r) for r in latency]),
            "p99 is timed from when each request was due (corrected for coordinated "
            "omission); the rates are the ladder's steps, the same in every run that shares "
            "the latency_rates setting."]

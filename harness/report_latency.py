"""The latency scenario's tables (report.tables() adds them): open-loop percentiles at the
highest rate every variant sustained (among those that sustained the lowest step), each variant's highest rate under 1 ms and 10 ms p99,
and every step of every ladder."""

from __future__ import annotations

from harness import app_split
from harness.latency import rate_label
from harness.report import CLIENT_BOUND_MARK, Table
from harness.stats import CaseResult, by_case, fmt_count, fmt_num, fmt_range

THRESHOLDS_MS = (1.0, 10.0)
# hb-loadgen's sender lag leaves out waiting for the server, so a p99 this large means the
# generator itself was held up (a stalled or stolen virtual CPU): the step's tail is the
# machine's as much as the server's
LATE_SENDER_US = 1000.0
LATE_MARK = "ˡ"


def ladders(run: dict) -> dict[str, list[tuple[int, CaseResult]]]:
    """{variant: [(offered rate, its step)]}, lowest rate first, bare handlers first."""
    out: dict[str, list] = {}
    for (name, scenario, _), cr in by_case(run).items():
        if scenario == "latency":
            out.setdefault(name, []).append((cr.params["rate"], cr))
    for steps in out.values():
        steps.sort(key=lambda s: s[0])
    return {n: out[n] for n in app_split.ordered(run, list(out))}


def sustained(cr: CaseResult) -> bool:
    """Every round of the step valid and unsaturated: the server kept up with the offer."""
    return bool(cr.runs) and all(r["valid"] and not (r.get("loadgen") or {}).get("saturated")
                                 for r in cr.runs)


def left_out(run: dict) -> list[str]:
    """Variants that did not sustain even the ladder's lowest step: no rate is common with
    them, so the common rate is chosen among the others (and they are named)."""
    return [n for n, points in ladders(run).items() if not sustained(points[0][1])]


def common_rate(run: dict) -> int | None:
    """The highest offered rate that every variant which sustained its lowest step also
    sustained."""
    steps = ladders(run)
    out = set(left_out(run))
    shared = None
    for name, points in steps.items():
        if name in out:
            continue
        rates = {rate for rate, cr in points if sustained(cr)}
        shared = rates if shared is None else shared & rates
    return max(shared) if shared else None


def p99(cr: CaseResult) -> float | None:
    return (cr.summary("latency_ms", "p99") or {}).get("median")


def highest_under(points: list[tuple[int, CaseResult]], limit_ms: float) -> int | None:
    """The highest sustained rate whose p99 (median of rounds) is under limit_ms."""
    good = [rate for rate, cr in points if sustained(cr) and p99(cr) is not None
            and p99(cr) < limit_ms]
    return max(good) if good else None


def sender_late(cr: CaseResult) -> bool:
    """In some round of the step the generator sent its p99 request ≥ LATE_SENDER_US late."""
    return any(((r.get("loadgen") or {}).get("sender_lag_us") or {}).get("p99", 0) >= LATE_SENDER_US
               for r in cr.valid_runs)


def _ms(cr: CaseResult, *path) -> str:
    return fmt_range(cr.summary(*path), fmt_num)


def _stop(run: dict, name: str) -> str:
    rounds = run["variants"].get(name, {}).get("latency_ladder") or []
    return "; ".join(f"round {x['round']}: {x['stopped']}" for x in rounds if x.get("stopped")) \
        or "–"


def common_table(run: dict) -> list[Table]:
    rate = common_rate(run)
    steps = ladders(run)
    if not steps:
        return []
    if rate is None:
        return [Table("Open-loop latency at a common rate (hb-loadgen)",
                      "No offered rate was sustained by every variant that sustained its "
                      "lowest step: see the ladder below.",
                      ["Name", "App", "Lowest step"],
                      [[n, app_split.app_of(run, n), _step_note(pts[0][1])]
                       for n, pts in steps.items()])]
    rows = []
    out = left_out(run)
    for name, points in steps.items():
        if name in out:
            continue
        cr = dict(points)[rate]
        rows.append([name, app_split.app_of(run, name), _ms(cr, "latency_ms", "p50"),
                     _ms(cr, "latency_ms", "p99") + (LATE_MARK if sender_late(cr) else ""),
                     _ms(cr, "latency_ms", "p99.9"),
                     _ms(cr, "loadgen", "uncorrected_ms", "p99")
                     + (CLIENT_BOUND_MARK if cr.client_bound else "")])
    s = run["settings"]
    return [Table(f"Open-loop latency at {rate_label(rate)}, the highest rate every variant "
                  "sustained (hb-loadgen, ms)",
                  f"hb-loadgen offered {fmt_count(rate)} req/s evenly over "
                  f"{s.get('latency_connections', 10)} keep-alive connections for "
                  f"{fmt_num(s.get('latency_duration'))} s after a "
                  f"{fmt_num(s.get('latency_warmup'))} s warmup. p50, p99, p99.9 are timed "
                  "from when each request was due (corrected for coordinated omission); the "
                  "last column from when it was actually sent, what a closed-loop client "
                  f"reports. Median (min–max) over the rounds that climbed the ladder. "
                  f"{CLIENT_BOUND_MARK}: the generator used ≥ "
                  f"{s.get('client_bound_at', 0.9):.0%} of its CPU. {LATE_MARK}: the generator "
                  f"itself sent late (sender lag p99 ≥ {fmt_num(LATE_SENDER_US / 1000)} ms, "
                  "not counting waits for the server): the machine held it up, so that p99 "
                  "is the machine's as much as the server's."
                  + (" Left out, since they did not sustain even the lowest step "
                     f"({rate_label(min(r for pts in steps.values() for r, _ in pts))}): "
                     + ", ".join(out) + "." if out else ""),
                  ["Name", "App", "p50", "p99", "p99.9", "p99 from the send"], rows)]


def thresholds_table(run: dict) -> list[Table]:
    steps = ladders(run)
    rows = []
    for name, points in steps.items():
        top = [rate for rate, cr in points if sustained(cr)]
        rows.append([name, app_split.app_of(run, name)]
                    + [rate_label(r) if r else "none" for r in
                       (highest_under(points, t) for t in THRESHOLDS_MS)]
                    + [rate_label(max(top)) if top else "none", _stop(run, name)])
    return [Table("Open-loop latency: the highest offered rate with p99 under 1 ms and 10 ms",
                  "Among the ladder's steps the variant sustained (valid, and it answered at "
                  "least 99% of the offered rate), the highest whose p99 (median of rounds, "
                  "timed from when each request was due) is under 1 ms and under 10 ms. The "
                  "ladder's rates are the same for every variant, so these compare at equal "
                  "load; 'none' means not even the lowest step.",
                  ["Name", "App", "p99 < 1 ms", "p99 < 10 ms", "Highest sustained",
                   "Ladder stopped"], rows)] if rows else []


def _step_note(cr: CaseResult) -> str:
    if not cr.valid:
        return "invalid"
    notes = []
    if any((r.get("loadgen") or {}).get("saturated") for r in cr.valid_runs):
        notes.append("saturated")
    if cr.client_bound:
        notes.append("client-bound")
    if sender_late(cr):
        notes.append("generator late")
    if len(cr.valid_runs) < len(cr.runs):
        notes.append(f"{len(cr.runs) - len(cr.valid_runs)} invalid")
    return ", ".join(notes) or "sustained"


def ladder_table(run: dict) -> list[Table]:
    rows = []
    for name, points in ladders(run).items():
        for rate, cr in points:
            if not cr.valid:
                rows.append([name, rate_label(rate), "invalid"] + ["–"] * 6)
                continue
            rows.append([name, rate_label(rate), fmt_range(cr.rps),
                         _ms(cr, "latency_ms", "p50"), _ms(cr, "latency_ms", "p99"),
                         _ms(cr, "latency_ms", "p99.9"),
                         _ms(cr, "loadgen", "uncorrected_ms", "p99"),
                         fmt_range(cr.summary("loadgen", "sender_lag_us", "p99"), fmt_num),
                         _step_note(cr)])
    return [Table("Open-loop latency ladder: every step (hb-loadgen, ms)",
                  "Each variant climbs the same offered rates from the lowest and stops after "
                  "the first saturated or invalid step, or the first above 1.5x its keep-alive "
                  "req/s. Achieved: answers in the measured window per second. Sender lag: how "
                  "late the generator itself sent (µs), not counting waits for the server; when "
                  f"its p99 reaches {fmt_num(LATE_SENDER_US / 1000)} ms the step is marked "
                  "generator late: the machine, not the server, delayed those requests.",
                  ["Name", "Offered", "Achieved req/s", "p50", "p99", "p99.9",
                   "p99 from the send", "Sender lag p99 (µs)", "Step"], rows)] if rows else []


def tables(run: dict) -> list[Table]:
    return common_table(run) + thresholds_table(run) + ladder_table(run)

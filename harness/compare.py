"""Two stored runs side by side: "[a] 12.3k req/s -> [b] 45.6k req/s: 3.71x faster"."""

from __future__ import annotations

from harness.stats import by_case, fmt_count


def _range(s: dict) -> str:
    return f"{fmt_count(s['min'])}–{fmt_count(s['max'])}"


def verdict(a: float, b: float) -> str:
    """How b compares with a, by req/s."""
    if a == b:
        return "same speed"
    if b > a:
        return f"{b / a:.2f}x faster"
    return f"{a / b:.2f}x slower"


def compare_runs(a: dict, b: dict) -> list[str]:
    """One line per (variant, scenario, case) present in both runs, with the spread."""
    ca, cb = by_case(a), by_case(b)
    lines = [f"[a] {a['stamp']} (commit {(a['git'].get('commit') or '?')[:10]})",
             f"[b] {b['stamp']} (commit {(b['git'].get('commit') or '?')[:10]})", ""]
    width = max((len(f"{v} {s} {c}") for v, s, c in ca if (v, s, c) in cb), default=0)
    for key, ra in ca.items():
        rb = cb.get(key)
        if rb is None:
            continue
        name = f"{key[0]} {key[1]} {key[2]}".ljust(width)
        sa, sb = ra.rps, rb.rps
        if not sa or not sb:
            which = " and ".join(x for x, s in (("[a]", sa), ("[b]", sb)) if not s)
            lines.append(f"{name}  invalid in {which}: not compared")
            continue
        line = (f"{name}  [a] {fmt_count(sa['median'])} req/s -> [b] {fmt_count(sb['median'])} "
                f"req/s: {verdict(sa['median'], sb['median'])}"
                f"  (spread [a] {_range(sa)} n={sa['n']}, [b] {_range(sb)} n={sb['n']}")
        if sa["n"] > 1 and sb["n"] > 1 and sa["min"] <= sb["max"] and sb["min"] <= sa["max"]:
            line += "; ranges overlap: not significant"
        lines.append(line + ")")
    only_a = sorted({k[0] for k in ca} - {k[0] for k in cb})
    only_b = sorted({k[0] for k in cb} - {k[0] for k in ca})
    if only_a:
        lines.append(f"only in [a]: {', '.join(only_a)}")
    if only_b:
        lines.append(f"only in [b]: {', '.join(only_b)}")
    if len(lines) == 3:
        lines.append("nothing to compare: the runs share no variant and scenario")
    return lines

"""Statistics over repeats (median, min, max) and the per-case view of a stored run."""

from __future__ import annotations

import dataclasses
import statistics


def summarize(values) -> dict | None:
    """median, min, max and n of the values that are not None; None if there are none."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def spread(summary: dict | None) -> float | None:
    """(max - min) / median: how far apart the repeats were, as a fraction."""
    if not summary or not summary["median"]:
        return None
    return (summary["max"] - summary["min"]) / summary["median"]


def fmt_count(x: float | None, digits: int = 3) -> str:
    """12345 -> '12.3k', 1234567 -> '1.23M' (three significant digits)."""
    if x is None:
        return "–"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{_sig(x / scale, digits)}{suffix}"
    return _sig(x, digits)


def _sig(x: float, digits: int) -> str:
    if x == 0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        text = f"{x:.0f}"
    return text


def fmt_num(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else _sig(x, digits)


def fmt_range(summary: dict | None, fmt=fmt_count) -> str:
    """A summary as 'median (min–max)', or the median alone when the repeats agree."""
    if not summary:
        return "–"
    if summary["n"] == 1 or summary["min"] == summary["max"]:
        return fmt(summary["median"])
    return f"{fmt(summary['median'])} ({fmt(summary['min'])}–{fmt(summary['max'])})"


@dataclasses.dataclass
class CaseResult:
    """Every repeat of one (variant, scenario, case), summarised."""

    variant: str
    scenario: str
    case: str
    tool: str
    params: dict
    runs: list[dict]

    @property
    def valid_runs(self) -> list[dict]:
        return [r for r in self.runs if r["valid"]]

    @property
    def valid(self) -> bool:
        return bool(self.valid_runs)

    @property
    def problems(self) -> list[str]:
        return [f"round {r['round']}: {p}" for r in self.runs if not r["valid"]
                for p in r["problems"]]

    def summary(self, *path) -> dict | None:
        """median/min/max of a field over the valid repeats, e.g. ('server', 'us_per_request')."""
        return summarize(_dig(r, path) for r in self.valid_runs)

    @property
    def rps(self) -> dict | None:
        return self.summary("rps")

    @property
    def client_bound(self) -> bool:
        return any(_dig(r, ("client", "bound")) for r in self.valid_runs)

    @property
    def peak_rss_kib(self) -> int | None:
        values = [_dig(r, ("server", "peak_rss_kib")) for r in self.runs]
        values = [v for v in values if v]
        return max(values) if values else None


def _dig(record: dict, path: tuple):
    for key in path:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def by_case(run: dict) -> dict[tuple[str, str, str], CaseResult]:
    """The stored measurements grouped by (variant, scenario, case), in the order they ran."""
    out: dict[tuple[str, str, str], CaseResult] = {}
    for m in run.get("measurements", []):
        key = (m["variant"], m["scenario"], m["case"])
        if key not in out:
            out[key] = CaseResult(m["variant"], m["scenario"], m["case"], m["tool"],
                                  m["params"], [])
        out[key].runs.append(m)
    return out

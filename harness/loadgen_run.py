"""hb-loadgen as the harness runs it: its command line, and its JSON read into a measurement.

The generator is ours (harness/loadgen/, built by `make build`); its one JSON document on
stdout is the only thing read. A document of another format or schema version is refused:
its fields could mean something else, so the step is invalid with a message saying so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.lifecycle import pin_prefix

FORMAT = "httpbridge-loadgen"
SCHEMA_VERSIONS = {1}
PERCENTILES = ("p50", "p90", "p99", "p99.9", "p99.99")
LAG_KEYS = ("mean", "p50", "p99", "p99.9", "max")
TIMEOUT_S = 2.0  # --timeout: a request unanswered this long is an error


def path(build_dir) -> Path:
    base = Path(build_dir) if build_dir else Path(os.environ.get("HB_BUILD_DIR") or "build")
    return base / "harness" / "loadgen" / "hb-loadgen"


def missing(build_dir) -> str | None:
    """Why the generator cannot run here, or None."""
    p = path(build_dir)
    if os.access(p, os.X_OK):
        return None
    return f"hb-loadgen not built ({p} is missing): run make build"


def command(url: str, rate: int, connections: int, duration_s: float, warmup_s: float,
            cpus: str | None, build_dir) -> list[str]:
    ms = lambda s: f"{round(s * 1000)}ms"  # noqa: E731 - its unit syntax takes whole ms
    return pin_prefix(cpus) + [str(path(build_dir)), "--rate", str(rate), "-c",
                               str(connections), "-d", ms(duration_s), "-w", ms(warmup_s),
                               "--timeout", ms(TIMEOUT_S), url]


class SchemaError(Exception):
    pass


def parse(stdout: str) -> dict:
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError as e:
        raise SchemaError(f"hb-loadgen printed no JSON document ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SchemaError(f"hb-loadgen's output is not a {FORMAT!r} document")
    version = data.get("schema_version")
    if version not in SCHEMA_VERSIONS:
        raise SchemaError(f"hb-loadgen JSON schema version {version!r}: this harness reads "
                          f"version(s) {sorted(SCHEMA_VERSIONS)} (rebuild both from one "
                          "checkout: make build)")
    return data


def _ms(stats: dict | None, keys) -> dict:
    """µs figures of the generator in ms, as the rest of results.json keeps latencies."""
    stats = stats or {}
    return {k: (None if stats.get(k) is None else stats[k] / 1000.0) for k in keys}


def compact_spectrum(spectrum: list | None) -> list[list[float]]:
    """[[percentile, ms], ...] with 4 significant digits: enough to draw, small to store."""
    return [[float(f"{q:.7g}"), float(f"{us / 1000.0:.4g}")] for q, us in spectrum or []]


def problems_of(data: dict) -> list[str]:
    problems = []
    errors = {k: v for k, v in (data.get("errors") or {}).items() if v}
    if errors:
        problems.append("errors: " + ", ".join(f"{k} {v}" for k, v in errors.items()))
    if data.get("non_2xx"):
        problems.append(f"{data['non_2xx']} non-2xx answers")
    if not data.get("requests"):
        problems.append("no request completed")
    return problems


def read(client) -> tuple[dict, list[str]]:
    """What one hb-loadgen run measured, as results.json stores it, and why it is invalid."""
    fields: dict = {"rps": None, "requests": 0}
    try:
        data = parse(client.stdout)
    except SchemaError as e:
        return fields, [f"{e}; exit code {client.returncode}; stderr: "
                        f"{client.stderr.strip()[-300:]}"]
    problems = problems_of(data)
    if client.returncode != 0:
        problems.append(f"hb-loadgen exited with code {client.returncode}")
    lat = data.get("latency_us") or {}
    corrected, uncorrected = lat.get("corrected") or {}, lat.get("uncorrected") or {}
    fields.update(
        rps=data.get("achieved_rps"), requests=data.get("requests") or 0,
        duration_s=data.get("duration_s"), non_2xx=data.get("non_2xx"),
        errors=data.get("errors"),
        latency_ms=_ms(corrected, ("min", "mean", "max") + PERCENTILES),
        loadgen={
            "offered_rps": data.get("offered_rps"),
            "scheduled_rps": data.get("scheduled_rps"),
            "achieved_rps": data.get("achieved_rps"),
            "saturated": data.get("saturated"),
            "sent": data.get("sent"), "unsent": data.get("unsent"),
            "unanswered": data.get("unanswered"),
            "errors_total": data.get("errors_total"),
            "status": data.get("status"),
            "connections_opened": data.get("connections_opened"),
            "uncorrected_ms": _ms(uncorrected, ("min", "mean", "max") + PERCENTILES),
            "sender_lag_us": {k: (data.get("sender_lag_us") or {}).get(k) for k in LAG_KEYS},
            "spectrum_ms": compact_spectrum(corrected.get("spectrum")),
            "client": data.get("client"),
        })
    return fields, problems

"""The native floor: what a request of a given app costs a server when no Python is involved.

A WSGI variant's server overhead (app_split) holds two things: what any server pays for a
request whose handler takes that long — the kernel's reads and writes, and waking a client
that went to sleep while it waited — and what this server and its Python binding add on
top. A fast handler's rows cannot tell them apart: their client never sleeps. So each round,
for each app the run times alone, the runner also serves servers/c-callback with
`--work-us` set to that round's app-alone cost: a C handler through the same engine that
spins for exactly as long as the app ran. Its server CPU per request minus that work is the
floor; a variant's overhead minus the floor is what it adds beyond a native server.

Stored in results.json as `floors` (schema 5): {app key: {"variant", "rounds": [{"round",
"work_us", "error", "measurements": [records as make_record writes them]}]}}.
"""

from __future__ import annotations

import dataclasses
import statistics

from harness import app_split
from harness.config import Context
from harness.manifest import (MANIFEST_NAME, ManifestError, Variant, missing_requirements,
                              parse_manifest, why_not)
from harness.stats import fmt_num

VARIANT = "c-callback"
SCENARIOS = ("keepalive", "pipeline")  # GET / cases; the echo's work grows with its body


def find_variant(ctx: Context) -> tuple[Variant | None, str | None]:
    """servers/c-callback from the run's servers folder, or None and why it cannot serve."""
    path = ctx.servers_dir / VARIANT / MANIFEST_NAME
    if not path.exists():
        return None, f"{path} does not exist"
    try:
        v = parse_manifest(path, ctx)
    except ManifestError as e:
        return None, str(e)
    missing = missing_requirements(v, ctx)
    if missing:
        return None, f"{VARIANT}: {why_not(missing)}"
    return v, None


def working(v: Variant, key: str, work_us: float) -> Variant:
    """The floor's server for one app: c-callback spending work_us per GET /, under its own
    name so that its logs and raw output never mix with the c-callback row's."""
    name = "floor-" + "".join(ch if ch.isalnum() or ch == "_" else "-" for ch in key).strip("-")
    return dataclasses.replace(v, name=name,
                               run_command=[*v.run_command, "--work-us", f"{work_us:.3f}"])


def round_work(run: dict, key: str, r: int) -> float | None:
    """The app's GET / cost alone in round r (what the floor's handler is to spend)."""
    for entry in ((run.get("app_costs") or {}).get(key) or {}).get("rounds", []):
        if entry["round"] == r and not entry.get("error"):
            got = ((entry.get("cases") or {}).get("GET /") or {}).get("us_per_request")
            return float(got) if got is not None else None
    return None


# ---------------------------------------------------------------- reading a stored run


def floor(run: dict, key: str | None, scenario: str, case: str) -> dict | None:
    """{work, server, overhead}: medians over rounds of the floor's measurements in a case."""
    entry = (run.get("floors") or {}).get(key) if key else None
    pairs = []
    for rd in (entry or {}).get("rounds", []):
        for m in rd.get("measurements") or []:
            us = (m.get("server") or {}).get("us_per_request")
            if (m["scenario"], m["case"]) == (scenario, case) and m["valid"] and us is not None:
                pairs.append((rd["work_us"], us))
    if not pairs:
        return None
    return {"work": statistics.median(w for w, _ in pairs),
            "server": statistics.median(s for _, s in pairs),
            "overhead": statistics.median(s - w for w, s in pairs)}


def errors(run: dict) -> list[str]:
    """Why a floor is missing: per round that could not measure it, per invalid measurement."""
    out = []
    for key, entry in (run.get("floors") or {}).items():
        for rd in entry["rounds"]:
            if rd.get("error"):
                out.append(f"native floor for {key}, round {rd['round']}: {rd['error']}")
            out += [f"native floor for {key} {m['scenario']} {m['case']}, round {rd['round']}, "
                    f"{p}" for m in rd.get("measurements") or [] for p in m.get("problems") or []]
    return out


def columns(run: dict) -> list[tuple[str, str]]:
    return [(sc, c) for sc, c in app_split.split_columns(run) if sc in SCENARIOS]


def header(run: dict) -> list[str]:
    out = ["App", "Name", "Server", "Floor's work µs/req (the app alone, GET /)"]
    for scenario, case in columns(run):
        out += [f"Server overhead µs/req, {scenario} {case}", "Native floor µs/req",
                "Beyond the floor µs/req"]
    return out


def rows(run: dict) -> list[list[str]]:
    out = []
    for name in app_split.ordered(run, run["variants"]):
        key = run["variants"][name].get("app_cost_key")
        if app_split.app_of(run, name) == "handler" or key not in (run.get("floors") or {}):
            continue
        row = [app_split.app_of(run, name), name, run["variants"][name].get("server") or "–"]
        work, cells = None, []
        for scenario, case in columns(run):
            f = floor(run, key, scenario, case)
            s = app_split.split(run, name, scenario, case)
            work = work if work is not None or f is None else f["work"]
            over = s["overhead"] if s else None
            cells += [fmt_num(over), fmt_num(f["overhead"]) if f else "–",
                      fmt_num(over - f["overhead"]) if f and over is not None else "–"]
        if work is not None:
            out.append(row + [fmt_num(work)] + cells)
    return out


NOTE = ("Each round, for each app, servers/c-callback ran with --work-us set to that round's "
        "app-alone cost: a C handler on the same engine that spends as much CPU per GET / as "
        "the app did, pinned and loaded like the variants. Native floor = its server CPU per "
        "request − that work: what the kernel's reads and writes and the client's wake-ups "
        "cost a request this slow, with no Python anywhere (a fast handler's client never "
        "sleeps, so the bare-handler rows do not show it). Beyond the floor = the variant's "
        "server overhead (the table above) − the floor: for the httpbridge rows, what the "
        "Python binding and WSGI add; for the others, all their server costs above a native "
        "one's. Medians over rounds (harness/floor.py).")

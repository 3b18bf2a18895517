"""What the app costs and what the server adds: the like-for-like view of a run.

A variant's manifest says what answers its requests (`app`): a bare "handler", or an app
kind ("wsgi", "flask", "django", ...). Rows are only comparable within one kind, so tables
and plots group by it (`ordered`, `groups`). For the WSGI kinds the runner also times each
app alone, in-process (harness/appcost.py), once per round and right before and after each
split case of each variant; a WSGI variant's server CPU per request minus that is what its
server adds per request (`split`, `split_rows`).
"""

from __future__ import annotations

import statistics

from harness import results
from harness.stats import by_case, fmt_count, fmt_num, fmt_range, summarize

# Bare handlers first (the servers at their cheapest), then the apps from lightest to heaviest.
APP_ORDER = ("handler", "wsgi", "flask", "django")
APP_WORDS = {"handler": "a bare handler", "wsgi": "a bare WSGI callable", "flask": "Flask",
             "django": "Django"}
# appcost.CASES by scenario: each scenario's request, timed alone
APPCOST_CASE = {"keepalive": "GET /", "pipeline": "GET /", "echo": "POST /echo"}


def app_of(run: dict, name: str) -> str:
    return (run["variants"].get(name) or {}).get("app") or "handler"


def _rank(app: str) -> tuple[int, str]:
    return (APP_ORDER.index(app), "") if app in APP_ORDER else (len(APP_ORDER), app)


def ordered(run: dict, names) -> list[str]:
    """names grouped by app (bare handlers first), each group in its original order."""
    names = list(names)
    return sorted(names, key=lambda n: (_rank(app_of(run, n)), names.index(n)))


def groups(run: dict, names) -> list[tuple[str, list[str]]]:
    """[(app, [names])] in APP_ORDER, for charts that draw one panel per app."""
    out: dict[str, list[str]] = {}
    for n in ordered(run, names):
        out.setdefault(app_of(run, n), []).append(n)
    return list(out.items())


def framework_rows(run: dict, names) -> list[str]:
    """The rows that ran a framework: neither a bare handler nor a bare WSGI callable."""
    return [n for n in names if app_of(run, n) not in ("handler", "wsgi")]


def panel_title(app: str) -> str:
    """The title of a chart's panel for one app group."""
    return f"answered by {APP_WORDS.get(app, app)} (app = {app})"


# ---------------------------------------------------------------- measuring (the runner's part)


def targets(variants) -> tuple[dict[str, dict], list[str]]:
    """The distinct WSGI apps the variants serve, and a warning per one that cannot be told.

    {key: {"spec", "paths", "variants": [names]}}; the key is the module:callable, with its
    folder added when two variants serve the same name from different folders.
    """
    found: dict[str, dict] = {}
    warnings = []
    for v in variants:
        if v.app == "handler":
            continue
        target = v.wsgi_target()
        if target is None:
            warnings.append(f"{v.name}: app = {v.app!r}, but its command does not say which "
                            "callable it serves; set run.wsgi_app (and run.wsgi_path) to have "
                            "the app measured alone")
            continue
        spec, paths = target
        home = paths[0] if paths else ""
        key = spec
        for k, entry in found.items():
            if entry["spec"] == spec and (entry["paths"][:1] or [""])[0] != home:
                key = f"{spec} ({home})"
        entry = found.setdefault(key, {"spec": spec, "paths": paths, "variants": []})
        entry["variants"].append(v.name)
    return found, warnings


# ---------------------------------------------------------------- reading a stored run


def app_cost(run: dict, key: str | None, case: str) -> dict | None:
    """median/min/max over rounds of the app's own µs per request for an appcost case."""
    entry = (run.get("app_costs") or {}).get(key) if key else None
    if not entry:
        return None
    return summarize(((r.get("cases") or {}).get(case) or {}).get("us_per_request")
                     for r in entry["rounds"] if not r.get("error"))


def app_cost_errors(run: dict) -> list[str]:
    """Why an app could not be timed alone: per round, and per measurement it was to pair."""
    return [f"app alone {key}, round {r['round']}: {r['error']}"
            for key, entry in (run.get("app_costs") or {}).items()
            for r in entry["rounds"] if r.get("error")] + [
            f"app alone next to {m['variant']} {m['scenario']} {m['case']}, round "
            f"{m['round']}: {m['app_alone']['error']}"
            for m in run.get("measurements", []) if "error" in (m.get("app_alone") or {})]


def _median(summary: dict | None) -> float | None:
    return summary["median"] if summary else None


def split(run: dict, name: str, scenario: str, case: str) -> dict | None:
    """{server, app, overhead, rps, paired} µs per request of one variant in one case, or None.

    paired: each round's server figure was set against the app alone timed right before and
    right after it (the runner's app_alone pair); the overhead is then the median of those
    differences, which the machine's drift between minutes does not move. Runs stored before
    the pairs existed (schema 3) fall back to the once-per-round app_costs: the difference of
    the two medians, taken minutes apart.
    """
    cr = by_case(run).get((name, scenario, case))
    if cr is None or not cr.valid:
        return None
    pairs = [(m["server"]["us_per_request"], m["app_alone"]["us_per_request"])
             for m in cr.valid_runs if m["server"].get("us_per_request") is not None
             and (m.get("app_alone") or {}).get("us_per_request") is not None]
    rps = _median(cr.rps)
    if pairs:
        spread = summarize(s - a for s, a in pairs)
        return {"server": statistics.median(s for s, _ in pairs),
                "app": statistics.median(a for _, a in pairs),
                "overhead": spread["median"], "overhead_rounds": spread, "rps": rps,
                "paired": True}
    server = _median(cr.summary("server", "us_per_request"))
    key = run["variants"][name].get("app_cost_key")
    app = _median(app_cost(run, key, APPCOST_CASE[scenario]))
    overhead = server - app if server is not None and app is not None else None
    return {"server": server, "app": app, "overhead": overhead, "rps": rps, "paired": False}


def split_columns(run: dict) -> list[tuple[str, str]]:
    """The cases the split is shown for: the first keep-alive case, pipelined (where the
    per-request system calls, the same for every app, are shared by a batch) and the
    smallest echo."""
    out = []
    for scenario in ("keepalive", "pipeline", "echo"):
        cases = results.cases(run, scenario)
        if cases:
            out.append((scenario, cases[0]))
    return out


def split_rows(run: dict) -> list[list[str]]:
    names = [n for n in ordered(run, run["variants"]) if app_of(run, n) != "handler"
             and run["variants"][n].get("app_cost_key")]
    columns = split_columns(run)
    rows = []
    for name in names:
        row = [app_of(run, name), name, run["variants"][name].get("server") or "–"]
        got = False
        for scenario, case in columns:
            s = split(run, name, scenario, case)
            if s is None:
                row += ["–"] * (5 if scenario == "keepalive" else 3)
                continue
            got = True
            if scenario == "keepalive":
                row += [fmt_count(s["rps"]),
                        fmt_count(1e6 / s["server"]) if s["server"] else "–"]
            # Paired rounds show their spread: one wider than the figure is the machine's noise.
            over = s.get("overhead_rounds")
            row += [fmt_num(s["server"]), fmt_num(s["app"]),
                    fmt_range(over, fmt_num) if over else fmt_num(s["overhead"])]
        if got:
            rows.append(row)
    return rows


def split_header(run: dict) -> list[str]:
    header = ["App", "Name", "Server"]
    for scenario, case in split_columns(run):
        label = f"{scenario} {case}"
        if scenario == "keepalive":
            header += [f"Req/s, {label}", "Req/s per server core"]
        header += [f"Server µs/req, {label}", f"App alone µs/req ({APPCOST_CASE[scenario]})",
                   "Server overhead µs/req"]
    return header


SPLIT_NOTE = ("Under keep-alive every request costs the server a read and a write system "
              "call, whatever the app, and a slow app's client sleeps between answers and must "
              "be woken: the next table measures that floor. "
              "Pipelined, a batch shares them, so what is left is the server's own per-request "
              "work (– : the server does not pipeline). "
              "Each app was also timed alone: its callable called in-process with a prebuilt "
              "environ, pinned to the server's CPU (harness/appcost.py), right before and right "
              "after each of these measurements; the mean of the two is that round's app cost. "
              "Server overhead = the median over rounds of server CPU per request − that round's "
              "app cost (min–max over rounds beside it): what the server adds to every request "
              "of the same app, set against an app timed seconds apart, so that the machine's "
              "drift between minutes cancels "
              "(runs stored before these pairs existed use the app timed once per round). "
              "Req/s per server core = 10⁶ / server µs/req, the throughput the server would "
              "reach on a core of its own. Rows are grouped by app: compare within a group "
              "only. An overhead near 0 or below, or one smaller than the spread of its rounds, is "
              "within the noise of the measurement.")

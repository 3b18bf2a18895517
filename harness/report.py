"""table.md for a stored run: the reference's four columns first, then the wider tables."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from harness import app_split, floor, results
from harness.stats import CaseResult, by_case, fmt_num, fmt_range

CLIENT_BOUND_MARK = "ᶜ"  # after a number: the load generator, not the server, was the limit
NO_KEEPALIVE_MARK = "†"  # after a name: the variant closes every connection
CLOSED_LOOP_NOTE = (
    "wrk's percentiles, median (min–max) over rounds. Closed loop: each connection sends its "
    "next request only after the answer, so a stalled server also stalls wrk, and the requests "
    "that would have gone out meanwhile are never timed (coordinated omission): read these as "
    "the latency at full load for each concurrency, not at a given rate. They are kept because "
    "earlier runs and other wrk numbers compare with them; the open-loop tables below time "
    "every request from when it was due.")


def _name(run: dict, name: str) -> str:
    supports = run["variants"].get(name, {}).get("supports") or {}
    return name + (f" {NO_KEEPALIVE_MARK}" if supports.get("keep_alive") is False else "")


@dataclasses.dataclass
class Table:
    """One table of table.md as data: render() prints it as markdown, page.py as HTML."""

    title: str
    note: str
    header: list[str]
    rows: list[list[str]]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _variants(run: dict, cases: dict, scenario: str) -> list[str]:
    """The variants measured in the scenario, grouped by app (bare handlers first)."""
    names = [n for n in run["variants"] if any(k[0] == n and k[1] == scenario for k in cases)]
    return app_split.ordered(run, names)


def _app(run: dict, name: str) -> str:
    return app_split.app_of(run, name)


def framework_line(run: dict, names: list[str]) -> str:
    """Which rows ran a framework: the reference post set Flask rows against bare handlers."""
    framework = app_split.framework_rows(run, names)
    if not framework:
        return "Every row ran a bare handler."
    which = ", ".join(f"{n} ({app_split.APP_WORDS.get(_app(run, n), _app(run, n))})"
                      for n in framework)
    return (f"Rows that ran a framework: {which}; the others ran a bare handler (or a bare WSGI "
            "callable), so the gap between the two kinds is the framework's as much as the "
            "server's: see 'Same app, different servers' for the split.")


def _rate_cell(cr: CaseResult | None) -> str:
    if cr is None:
        return "–"
    if not cr.valid:
        return "invalid"
    text = fmt_range(cr.rps)
    if cr.client_bound:
        text += CLIENT_BOUND_MARK
    if len(cr.valid_runs) < len(cr.runs):
        text += f" [{len(cr.runs) - len(cr.valid_runs)} invalid]"
    return text


def machine_line(run: dict) -> str:
    m, git = run["machine"], run.get("git") or {}
    commit = (git.get("commit") or "unknown")[:10] + (" (dirty)" if git.get("dirty") else "")
    load = ""
    if m.get("loadavg_at_start"):
        load = f"; load average {m['loadavg_at_start'][0]:.2f} at start"
        if m.get("loadavg_at_end"):
            load += f", {m['loadavg_at_end'][0]:.2f} at end"
    return (f"{m['cpu_model']}, {m['cpu_count']} CPUs, Linux {m['kernel']}; "
            f"run {run['stamp']} ({run['started']}); commit {commit}{load}")


def lol_rows(run: dict) -> list[list[str]]:
    """Name | Total | Req/Sec | Time/Req, medians over rounds, fastest first."""
    cases = by_case(run)
    rows = []
    for (name, scenario, _), cr in cases.items():
        if scenario != "lol":
            continue
        if not cr.valid:
            rows.append((-1.0, [name, "invalid", "invalid", "invalid"]))
            continue
        total = cr.summary("ab", "total_s")["median"]
        rps = cr.summary("ab", "rps")["median"]
        per = cr.summary("ab", "time_per_request_all_ms")["median"]
        rows.append((rps, [name, f"{total:.3f}", f"{rps:.2f}", f"{per:.3f}"]))
    rows.sort(key=lambda x: -x[0])
    return [r for _, r in rows]


def _lol_names(run: dict) -> list[str]:
    return [name for (name, scenario, _) in by_case(run) if scenario == "lol"]


def lol_table(run: dict) -> list[Table]:
    s = run["settings"]
    rows = lol_rows(run)
    if not rows:
        return []
    return [Table(f"The reference's table: ab -n {s['ab_requests']} -c {s['ab_concurrency']} "
                  "(no keep-alive)",
                  f"Total: seconds for all {s['ab_requests']} requests; Req/Sec: ab's mean; "
                  "Time/Req: ab's time per request across all concurrent requests, in ms. "
                  f"Median of {s['repeats']} round(s). " + framework_line(run, _lol_names(run)),
                  ["Name", "Total", "Req/Sec", "Time/Req"], rows)]


def _section(title: str, note: str, header, rows) -> list[Table]:
    return [Table(title, note, header, rows)] if rows else []


def _markdown(t: Table) -> list[str]:
    return ["", f"## {t.title}", ""] + _table(t.header, t.rows) + (["", t.note] if t.note else [])


def tables(run: dict) -> list[Table]:
    """Every table of the run, in table.md's order: the reference's first, then the wider ones."""
    cases = by_case(run)
    s = run["settings"]
    get = cases.get
    out = lol_table(run)

    # lol in detail
    rows = []
    for name in _variants(run, cases, "lol"):
        for case in results.cases(run, "lol"):
            cr = get((name, "lol", case))
            if cr:
                rows.append([name, _app(run, name), _rate_cell(cr),
                             fmt_range(cr.summary("server", "us_per_request"), fmt_num),
                             _util(cr), _latency(cr, ("p50", "p99")),
                             run["variants"][name].get("reference_row") or "–"])
    out += _section("lol in detail", "Req/s as median (min–max) over rounds; "
                    f"{CLIENT_BOUND_MARK} marks a client-bound run.",
                    ["Name", "App", "Req/s", "Server µs/req", "CPU server / client",
                     "Latency p50 / p99 (ms)", "Reference row"], rows)

    # keep-alive
    ka = results.cases(run, "keepalive")
    rows = [[_name(run, name), _app(run, name)] + [_rate_cell(get((name, "keepalive", c)))
                                                   for c in ka]
            for name in _variants(run, cases, "keepalive")]
    out += _section("Keep-alive: req/s by concurrency (wrk -t1, GET /)",
                    f"Median (min–max) over rounds. {CLIENT_BOUND_MARK}: client-bound (wrk used "
                    f"≥ {s['client_bound_at']:.0%} of its CPU), so the server may be faster than "
                    f"shown; compare server µs/req below. {NO_KEEPALIVE_MARK}: the manifest says "
                    "no keep-alive, so wrk opened a new connection for every request. Rows are "
                    "grouped by App (what answered: a bare handler or an app); compare within "
                    "a group.",
                    ["Name", "App"] + ka, rows)

    out += _section("Same app, different servers: what the server adds per request",
                    app_split.SPLIT_NOTE, app_split.split_header(run), app_split.split_rows(run))
    out += _section("Beyond the native floor: what a server adds over a C handler as slow as the "
                    "app", floor.NOTE, floor.header(run), floor.rows(run))

    # server CPU per request, utilisation: every scenario side by side
    columns = [(sc, c) for sc in ("lol", "keepalive", "pipeline", "echo") for c in results.cases(run, sc)]
    names = app_split.ordered(run, [n for n in run["variants"]
                                    if any((n, sc, c) in cases for sc, c in columns)])
    labels = [f"{sc} {c}" for sc, c in columns]
    rows = []
    for name in names:
        row = [name, _app(run, name)]
        for sc, c in columns:
            cr = get((name, sc, c))
            row.append(fmt_range(cr.summary("server", "us_per_request"), fmt_num)
                       if cr and cr.valid else ("invalid" if cr else "–"))
        rows.append(row)
    out += _section("Server CPU per request (µs)",
                    "utime+stime of the server's whole process group (from /proc) during the run, "
                    "divided by the requests answered. Lower is better; this tells fast servers "
                    "apart when the client is the limit.", ["Name", "App"] + labels, rows)

    rows = [[name, _app(run, name)] + [_util(get((name, sc, c))) for sc, c in columns]
            for name in names]
    out += _section("CPU utilisation: server / client (% of one CPU)",
                    f"{CLIENT_BOUND_MARK}: the client (load generator) was at ≥ "
                    f"{s['client_bound_at']:.0%}: the run measured the client's ceiling.",
                    ["Name", "App"] + labels, rows)

    # latency
    rows = []
    for name in _variants(run, cases, "keepalive"):
        for c in ka:
            cr = get((name, "keepalive", c))
            if cr and cr.valid:
                rows.append([name, _app(run, name), c] +
                            [fmt_range(cr.summary("latency_ms", p), fmt_num)
                             for p in ("p50", "p90", "p99", "p99.9")])
    out += _section("Keep-alive latency, closed loop (wrk, ms)", CLOSED_LOOP_NOTE,
                    ["Name", "App", "Concurrency", "p50", "p90", "p99", "p99.9"], rows)
    from harness import report_latency  # it builds on this module's Table
    out += report_latency.tables(run)

    # pipeline
    rows = []
    for name in _variants(run, cases, "pipeline"):
        for c in results.cases(run, "pipeline"):
            cr = get((name, "pipeline", c))
            if cr:
                rows.append([name, _app(run, name), c, _rate_cell(cr),
                             fmt_range(cr.summary("server", "us_per_request"), fmt_num)])
    skipped = [f"{n}: {why}" for n, rec in run["variants"].items()
               for label, why in rec.get("skipped_cases", {}).items()
               if label.startswith("pipeline")]
    out += _section(f"Pipelined ×{s['pipeline_depth']} (wrk with lua/pipeline.lua)",
                    f"Each connection sends {s['pipeline_depth']} requests in one write and "
                    "waits for all the answers. (wrk's latency percentiles are not meaningful "
                    "here: it records one sample per batch.)" +
                    (" Not run: " + "; ".join(skipped) + "." if skipped else ""),
                    ["Name", "App", "Case", "Req/s", "Server µs/req"], rows)

    # echo
    ec = results.cases(run, "echo")
    rows = [[name, _app(run, name)] + [_rate_cell(get((name, "echo", c))) for c in ec]
            for name in _variants(run, cases, "echo")]
    out += _section("POST /echo: req/s by body size", "The body goes in and comes back out: "
                    "what copying across the boundary costs.", ["Name", "App"] + ec, rows)

    # memory
    rows = []
    for name in app_split.ordered(run, run["variants"]):
        peaks = [cr.peak_rss_kib for k, cr in cases.items() if k[0] == name and cr.peak_rss_kib]
        if peaks:
            rows.append([name, f"{max(peaks) / 1024:.1f}"])
    out += _section("Server peak RSS (MiB)", "Largest VmHWM seen, summed over the processes of "
                    "the group (for forking servers an upper bound).", ["Name", "Peak RSS"], rows)

    return out


def invalid_runs(run: dict) -> list[str]:
    """One line per measurement left out of the medians, with why."""
    return [f"{name} {sc} {c}, {p}" for (name, sc, c), cr in by_case(run).items()
            for p in cr.problems] + app_split.app_cost_errors(run) + floor.errors(run)


def not_measured(run: dict) -> list[tuple[str, str]]:
    """(variant, why) for each variant that failed, was skipped or stopped before the end."""
    missing = []
    for name, rec in run["variants"].items():
        if rec["status"] in ("failed", "skipped", "interrupted"):
            where = f" in {rec['failed_in']}" if rec.get("failed_in") else ""
            reason = (rec.get("reason") or "").replace("\n", " ")
            missing.append((name, f"{rec['status']}{where}: {reason}"))
    return missing


def broken_manifests(run: dict) -> list[str]:
    return [f"broken manifest {b['file']}: field '{b['field']}': {b['message']}"
            for b in run.get("broken_manifests", [])]


def render(run: dict, settings: bool = True) -> str:
    s = run["settings"]
    out = [f"# Benchmark run {run['stamp']}", "", machine_line(run) + ".", "",
           f"Server pinned: {s.get('pinning')}; {s['repeats']} interleaved round(s); "
           f"wrk -t{s['wrk_threads']} -d{s['duration']}s; status: {run['status']}."]
    if run["status"] != "complete":
        out += ["", f"**This run did not complete ({run['status']}); the tables hold what "
                    "finished.**"]
    for t in tables(run):
        out += _markdown(t)

    problems = [f"- {p}" for p in invalid_runs(run)]
    if problems:
        out += ["", "## Invalid runs", "", "Left out of the medians above:", ""] + problems

    missing = [f"- **{name}** {why}" for name, why in not_measured(run)]
    missing += [f"- {b}" for b in broken_manifests(run)]
    if missing:
        out += ["", "## Variants not measured (or not to the end)", ""] + missing

    if settings:
        out += ["", "## Settings", ""]
        out += [f"- {k}: {v}" for k, v in s.items()]
        tools = run.get("tools") or {}
        out += ["", "Tools: " + "; ".join(f"{k} {v}" for k, v in tools.items()
                                          if v and not isinstance(v, dict))]
    return "\n".join(out) + "\n"


def _util(cr: CaseResult | None) -> str:
    if cr is None:
        return "–"
    if not cr.valid:
        return "invalid"
    server = cr.summary("server", "utilisation")
    client = cr.summary("client", "utilisation")
    text = f"{server['median'] * 100:.0f}% / {client['median'] * 100:.0f}%"
    return text + (CLIENT_BOUND_MARK if cr.client_bound else "")


def _latency(cr: CaseResult, keys) -> str:
    if not cr.valid:
        return "invalid"
    return " / ".join(fmt_num((cr.summary("latency_ms", k) or {}).get("median")) for k in keys)


def write_table(run: dict) -> Path:
    path = Path(run["_dir"]) / results.TABLE_FILE
    path.write_text(render(run))
    return path

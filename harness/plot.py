"""Charts of a stored run, drawn only from its results.json into plots/<stamp>/ (PNG and SVG).

lol_rps         the reference's chart remade: ab -n 10000 -c 10 req/s per variant
keepalive_rps   req/s against concurrency, min–max bars
latency         wrk's p50/p90/p99/p99.9 per variant, one panel per concurrency (closed loop)
echo_rps        POST /echo req/s against body size
server_cpu      server CPU µs per request, every scenario
app_split       WSGI variants: server CPU per request split into the app's own cost and
                what the server adds (from the app timed alone)
latency_vs_load, latency_spectrum   the open-loop latency scenario (plot_latency.py)

Variants are grouped by what answered (the manifest's `app`): the line charts get one panel
per app, the bar charts list the groups in turn, so that every comparison is like for like.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "httpbridge"  # the same SVG ids every time it is drawn
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from harness import app_split, floor, results  # noqa: E402
from harness.stats import by_case, fmt_count, fmt_num  # noqa: E402

PERCENTILES = ("p50", "p90", "p99", "p99.9")
SCENARIO_ORDER = ("lol", "keepalive", "pipeline", "echo")


def _colors(run: dict) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10" if len(run["variants"]) <= 10 else "tab20")
    return {name: cmap(i % cmap.N) for i, name in enumerate(run["variants"])}


def _caption(fig, run: dict) -> None:
    m, git = run["machine"], run.get("git") or {}
    commit = (git.get("commit") or "unknown")[:10] + (" (dirty)" if git.get("dirty") else "")
    fig.supxlabel(f"{m['cpu_model']}, {m['cpu_count']} CPUs, Linux {m['kernel']}; "
                  f"pinning: {run['settings'].get('pinning') or 'none'}\n"
                  f"run {run['stamp']} ({run['started']}), commit {commit}",
                  fontsize=7.5, color="0.35")


def _save(fig, out_dir: Path, name: str) -> list[Path]:
    paths = []
    for ext in ("png", "svg"):
        path = out_dir / f"{name}.{ext}"
        fig.savefig(path, dpi=130 if ext == "png" else None,
                    metadata={"Date": None} if ext == "svg" else None)  # redrawn = same bytes
        paths.append(path)
    plt.close(fig)
    return paths


def _rate_axis(ax, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda x, _: fmt_count(x) if x else "0")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _log_axis(ax, fmt=fmt_num) -> None:
    """Log y axis labelled at 1, 2, 5 x 10^n, so that narrow ranges still get numbers."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt(x)))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _err(summary: dict) -> tuple[float, float]:
    return summary["median"] - summary["min"], summary["max"] - summary["median"]


def plot_lol(run, cases, colors, out_dir) -> list[Path]:
    rows = []
    for (name, scenario, _), cr in cases.items():
        if scenario == "lol" and cr.valid:
            rows.append((name, cr.summary("ab", "rps")))
    if not rows:
        return []
    # barh draws from the bottom: the last group (the heaviest app) first, fastest on top
    rank = {n: i for i, n in enumerate(app_split.ordered(run, [r[0] for r in rows]))}
    first = {}
    for name in rank:
        first.setdefault(app_split.app_of(run, name), rank[name])
    rows.sort(key=lambda r: (-first[app_split.app_of(run, r[0])], r[1]["median"]))
    s = run["settings"]
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * len(rows)), layout="constrained")
    y = range(len(rows))
    medians = [r[1]["median"] for r in rows]
    ax.barh(y, medians, color=[colors[r[0]] for r in rows],
            xerr=list(zip(*[_err(r[1]) for r in rows])), capsize=3, ecolor="0.25")
    ax.set_yticks(list(y), [_labelled(run, r[0]) for r in rows])
    for i in range(1, len(rows)):  # a rule between app groups
        if app_split.app_of(run, rows[i][0]) != app_split.app_of(run, rows[i - 1][0]):
            ax.axhline(i - 0.5, color="0.5", linewidth=0.8, linestyle=":")
    right = max(r[1]["max"] for r in rows)
    for i, (_, summary) in enumerate(rows):  # the number just past the bar's max whisker
        ax.text(summary["max"] + right * 0.015, i, f"{summary['median']:,.0f}", va="center",
                fontsize=8)
    ax.set_xlim(0, right * 1.2)
    _rate_axis(ax, "x")
    ax.set_xlabel("requests per second (median of rounds; bars: min–max)")
    ax.set_title(f"lolbenchmarks remade: ab -n {s['ab_requests']} -c {s['ab_concurrency']}, "
                 "no keep-alive (higher is better)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    _caption(fig, run)
    return _save(fig, out_dir, "lol_rps")


def _labelled(run: dict, name: str) -> str:
    """The variant's name, and what answered when the run holds more than one kind."""
    if len({app_split.app_of(run, n) for n in run["variants"]}) < 2:
        return name
    return f"{name} [{app_split.app_of(run, name)}]"


def _numeric_x(run, cases, scenario, param):
    """{variant: [(x, CaseResult)]} for a scenario whose cases vary one numeric parameter."""
    series: dict[str, list] = {}
    for (name, sc, _), cr in cases.items():
        if sc == scenario:
            series.setdefault(name, []).append((cr.params[param], cr))
    for points in series.values():
        points.sort(key=lambda p: p[0])
    return series


def _line_chart(run, series, colors, ax, xlabels, log_y=False):
    marked = False
    for name, points in series.items():
        good = [(x, cr) for x, cr in points if cr.valid]
        if not good:
            continue
        xs = [x for x, _ in good]
        sums = [cr.rps for _, cr in good]
        ax.errorbar(xs, [s["median"] for s in sums], yerr=list(zip(*[_err(s) for s in sums])),
                    color=colors[name], marker="o", capsize=3, label=name)
        bound = [(x, s["median"]) for (x, cr), s in zip(good, sums) if cr.client_bound]
        if bound:
            marked = True
            ax.scatter([b[0] for b in bound], [b[1] for b in bound], s=110, facecolors="none",
                       edgecolors="0.2", linewidths=1.2, zorder=5)
    if marked:
        ax.scatter([], [], s=110, facecolors="none", edgecolors="0.2", label="client-bound")
    ax.set_xscale("log")
    ax.set_xticks(xlabels[0], xlabels[1])
    ax.minorticks_off()
    if log_y:
        _log_axis(ax, fmt_count)
    else:
        ax.set_ylim(bottom=0)
        _rate_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))


def _against(run, cases, colors, out_dir, scenario: str, param: str, name: str, label,
             texts: tuple[str, str, str], log_y: bool = False) -> list[Path]:
    """req/s of every variant against one numeric parameter of a scenario, as a line chart."""
    series = _numeric_x(run, cases, scenario, param)
    if not any(cr.valid for pts in series.values() for _, cr in pts):
        return []
    xs = sorted({x for pts in series.values() for x, _ in pts})
    panels = [(app, {n: series[n] for n in names})
              for app, names in app_split.groups(run, series)
              if any(cr.valid for n in names for _, cr in series[n])]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.0 + 3.2 * len(panels)),
                             squeeze=False, layout="constrained")
    xlabel, ylabel, title = texts
    for ax, (app, group) in zip(axes[:, 0], panels):
        _line_chart(run, group, colors, ax, (xs, [label(x) for x in xs]), log_y=log_y)
        ax.set_ylabel(ylabel, fontsize=8)
        if len(panels) > 1:
            ax.set_title(app_split.panel_title(app),
                         fontsize=9)
    axes[-1, 0].set_xlabel(xlabel)
    fig.suptitle(title, fontsize=10)
    _caption(fig, run)
    return _save(fig, out_dir, name)


def plot_keepalive(run, cases, colors, out_dir) -> list[Path]:
    return _against(run, cases, colors, out_dir, "keepalive", "connections", "keepalive_rps", str,
                    ("concurrent connections (wrk -t1 -c N, keep-alive, GET /)",
                     "requests per second (median; bars: min–max)",
                     "Keep-alive throughput against concurrency (higher is better)"))


def plot_echo(run, cases, colors, out_dir) -> list[Path]:
    return _against(run, cases, colors, out_dir, "echo", "body_bytes", "echo_rps",
                    lambda x: f"{x // 1024} KiB" if x % 1024 == 0 else f"{x} B",
                    ("request body size (POST /echo, the same bytes come back)",
                     "requests per second (log scale; median, bars: min–max)",
                     "Echo throughput against body size: the cost of copying across the "
                     "boundary"), log_y=True)


def plot_latency(run, cases, colors, out_dir) -> list[Path]:
    conc = results.cases(run, "keepalive")
    panels = []
    for c in conc:
        rows = [(name, cr) for (name, sc, cc), cr in cases.items()
                if sc == "keepalive" and cc == c and cr.valid]
        order = app_split.ordered(run, [name for name, _ in rows])
        rows.sort(key=lambda r: order.index(r[0]))
        if rows:
            panels.append((c, rows))
    if not panels:
        return []
    n_var = max(len(rows) for _, rows in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6, 1.0 + 0.55 * n_var) * len(panels)
                                                      if len(panels) > 1 else 9, 5),
                             squeeze=False, layout="constrained", sharey=True)
    width = 0.8 / len(PERCENTILES)
    alphas = (1.0, 0.75, 0.5, 0.3)
    lowest = []
    for ax, (c, rows) in zip(axes[0], panels):
        for i, (name, cr) in enumerate(rows):
            for j, p in enumerate(PERCENTILES):
                s = cr.summary("latency_ms", p)
                if s:
                    lowest.append(s["median"])
                    ax.bar(i - 0.4 + width * (j + 0.5), s["median"], width, color=colors[name],
                           alpha=alphas[j], edgecolor="0.3", linewidth=0.4)
        ax.set_xticks(range(len(rows)), [_labelled(run, r[0]) for r in rows], rotation=30,
                      ha="right")
        _log_axis(ax)
        ax.set_title(f"wrk -c {c.split('=')[-1]}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylim(bottom=min(lowest) / 2)  # log bars start at 0: show the shortest
    axes[0][0].set_ylabel("latency, ms (log scale; lower is better)")
    handles = [plt.Rectangle((0, 0), 1, 1, color="0.35", alpha=a) for a in alphas]
    axes[0][-1].legend(handles, PERCENTILES, title="percentile", fontsize=8, loc="upper left",
                       bbox_to_anchor=(1.01, 1))
    fig.suptitle("Keep-alive latency percentiles per variant, closed loop (wrk; bars left to "
                 "right: p50, p90, p99, p99.9)", fontsize=10)
    _caption(fig, run)
    return _save(fig, out_dir, "latency")


def plot_server_cpu(run, cases, colors, out_dir) -> list[Path]:
    columns = [(sc, c) for sc in SCENARIO_ORDER for c in results.cases(run, sc)]
    names = app_split.ordered(run, [
        n for n in run["variants"]
        if any((n, sc, c) in cases and cases[(n, sc, c)].valid for sc, c in columns)])
    if not names:
        return []
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(columns) + 0.15 * len(names) * len(columns)),
                                    5.5), layout="constrained")
    width = 0.8 / len(names)
    lowest = []
    for i, name in enumerate(names):
        xs, ys, errs = [], [], []
        for k, (sc, c) in enumerate(columns):
            cr = cases.get((name, sc, c))
            s = cr.summary("server", "us_per_request") if cr and cr.valid else None
            if s:
                xs.append(k - 0.4 + width * (i + 0.5))
                ys.append(s["median"])
                errs.append(_err(s))
        if xs:
            lowest += [y - e[0] for y, e in zip(ys, errs)]
            ax.bar(xs, ys, width, color=colors[name], label=_labelled(run, name),
                   yerr=list(zip(*errs)), capsize=2, ecolor="0.3")
    ax.set_xticks(range(len(columns)), [f"{sc}\n{c}" for sc, c in columns], fontsize=8)
    _log_axis(ax)
    ax.set_ylim(bottom=min(v for v in lowest if v > 0) / 2)
    ax.set_ylabel("server CPU µs per request (log scale; lower is better)")
    ax.set_title("Server CPU per request: utime+stime of the whole process group / requests",
                 fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    _caption(fig, run)
    return _save(fig, out_dir, "server_cpu")


def plot_app_split(run, cases, colors, out_dir) -> list[Path]:
    """Per WSGI variant, the server's CPU per request as the app's own cost + the server's."""
    columns = app_split.split_columns(run)
    bars = []  # (name, label, app µs, overhead µs, native floor µs or None)
    for name in app_split.ordered(run, run["variants"]):
        key = run["variants"][name].get("app_cost_key")
        if not key:
            continue
        for scenario, case in columns:
            got = app_split.split(run, name, scenario, case)
            low = floor.floor(run, key, scenario, case)
            if got and got["app"] is not None:
                bars.append((name, f"{_labelled(run, name)}\n{scenario} {case}", got["app"],
                             got["overhead"], low["overhead"] if low else None))
    if not bars:
        return []
    bars.reverse()  # barh draws from the bottom
    fig, ax = plt.subplots(figsize=(9, 2.2 + 0.42 * len(bars)), layout="constrained")
    y = list(range(len(bars)))
    apps = [b[2] for b in bars]
    ax.barh(y, apps, color="0.8", edgecolor="0.4", hatch="//", label="the app alone "
            "(in-process, harness/appcost.py)")
    over = [max(b[3], 0.0) for b in bars]
    ax.barh(y, over, left=apps, color=[colors[b[0]] for b in bars], edgecolor="0.3",
            label="what the server adds (server CPU per request − the app alone)")
    floors = [(i, b[2] + b[4]) for i, b in enumerate(bars) if b[4] is not None]
    if floors:  # where a C handler as slow as the app would end: what no server can go below
        ax.plot([x for _, x in floors], [i for i, _ in floors], linestyle="none", marker="|",
                markersize=16, markeredgewidth=2, color="black",
                label="the native floor (a C handler as slow as the app, harness/floor.py)")
    right = max(a + o for a, o in zip(apps, over))
    for i, (_, _, a, o, _) in enumerate(bars):
        ax.text(a + max(o, 0.0) + right * 0.01, i, (f"{fmt_num(a)} + {fmt_num(o)} µs" if o >= 0 else f"{fmt_num(a)} − {fmt_num(-o)} µs (noise)"),
                va="center", fontsize=7.5)
    ax.set_xlim(0, right * 1.3)
    ax.set_yticks(y, [b[1] for b in bars], fontsize=8)
    ax.set_xlabel("server CPU µs per request (median of rounds; lower is better)")
    ax.set_title("The same app on each server: the app's own cost and what the server adds",
                 fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    # under the axis: a legend inside would cover the bars of a short chart
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.5 / (0.42 * len(bars) + 0.5)))
    _caption(fig, run)
    return _save(fig, out_dir, "app_split")


def plot_open_loop(run, cases, colors, out_dir) -> list[Path]:
    """latency_vs_load and latency_spectrum (plot_latency.py: the latency scenario)."""
    from harness import plot_latency  # imported here: it draws with this module's helpers
    return [p for chart in plot_latency.CHARTS for p in chart(run, cases, colors, out_dir)]


CHARTS = (plot_lol, plot_keepalive, plot_latency, plot_echo, plot_server_cpu, plot_app_split,
          plot_open_loop)


def plot_run(run: dict, plots_dir: Path) -> tuple[Path, list[Path]]:
    """Draw every chart the run has data for into plots_dir/<stamp>/; return the files."""
    out_dir = Path(plots_dir) / run["stamp"]
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = by_case(run)
    colors = _colors(run)
    paths = []
    for chart in CHARTS:
        paths += chart(run, cases, colors, out_dir)
    return out_dir, paths

"""The latency scenario's charts (plot.CHARTS draws them), from stored results only.

latency_vs_load   p99 (solid) and p99.9 (dashed) against the offered rate, both axes log,
                  one colour per variant, saturated steps marked; one panel per app
latency_spectrum  the percentile spectrum at the highest rate every variant sustained, on
                  HdrHistogram's axis (1 / (1 - q), labelled 50%, 90%, 99%, ...)
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from harness import app_split
from harness.latency import rate_label
from harness.plot import _caption, _labelled, _log_axis, _save
from harness.report_latency import common_rate, ladders, sustained
from harness.stats import fmt_count

SATURATED = dict(marker="X", s=90, facecolors="none", edgecolors="0.1", linewidths=1.3,
                 zorder=6)
# The spectrum's x ticks: the percentile q sits at 1 / (1 - q)
SPECTRUM_TICKS = ((0.0, "0%"), (50.0, "50%"), (90.0, "90%"), (99.0, "99%"), (99.9, "99.9%"),
                  (99.99, "99.99%"), (99.999, "99.999%"))


def _median(cr, key: str) -> float | None:
    return (cr.summary("latency_ms", key) or {}).get("median")


def _saturated(cr) -> bool:
    return any((r.get("loadgen") or {}).get("saturated") for r in cr.valid_runs)


def plot_latency_vs_load(run, cases, colors, out_dir) -> list:
    steps = {n: [(rate, cr) for rate, cr in pts if cr.valid] for n, pts in ladders(run).items()}
    steps = {n: pts for n, pts in steps.items() if pts}
    if not steps:
        return []
    panels = app_split.groups(run, steps)
    rates = sorted({rate for pts in steps.values() for rate, _ in pts})
    fig, axes = plt.subplots(len(panels), 1, figsize=(8.5, 1.2 + 3.4 * len(panels)),
                             squeeze=False, layout="constrained")
    any_saturated = False
    for ax, (app, names) in zip(axes[:, 0], panels):
        for name in names:
            pts = steps[name]
            for key, style in (("p99", "-"), ("p99.9", "--")):
                xy = [(rate, _median(cr, key)) for rate, cr in pts if _median(cr, key)]
                if xy:
                    ax.plot(*zip(*xy), linestyle=style, marker="o" if key == "p99" else None,
                            markersize=4, color=colors[name],
                            label=_labelled(run, name) if key == "p99" else None)
            sat = [(rate, _median(cr, "p99")) for rate, cr in pts if _saturated(cr)
                   and _median(cr, "p99")]
            if sat:
                any_saturated = True
                ax.scatter(*zip(*sat), **SATURATED)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(rates))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt_count(x)))
        ax.xaxis.set_minor_locator(NullLocator())
        _log_axis(ax)
        ax.grid(alpha=0.3)
        ax.set_ylabel("latency, ms (log; lower is better)", fontsize=8)
        if len(panels) > 1:
            ax.set_title(app_split.panel_title(app),
                         fontsize=9)
        handles, labels = ax.get_legend_handles_labels()
        handles += [Line2D([], [], color="0.3", linestyle="-", marker="o", markersize=4),
                    Line2D([], [], color="0.3", linestyle="--")]
        labels += ["p99", "p99.9"]
        if any_saturated:
            handles.append(Line2D([], [], marker="X", linestyle="none", markerfacecolor="none",
                                  markeredgecolor="0.1", markersize=9))
            labels.append("saturated step (the ladder's last)")
        ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    axes[-1, 0].set_xlabel("offered rate, requests/s (log; hb-loadgen, open loop, the same "
                           "steps for every variant)")
    fig.suptitle("Latency against offered load: p99 (solid) and p99.9 (dashed), timed from when "
                 "each request was due", fontsize=10)
    _caption(fig, run)
    return _save(fig, out_dir, "latency_vs_load")


def _x(q: float) -> float:
    return 1.0 / (1.0 - q / 100.0)


def plot_latency_spectrum(run, cases, colors, out_dir) -> list:
    rate = common_rate(run)
    if rate is None:
        return []
    lines = []
    for name, pts in ladders(run).items():
        cr = dict(pts).get(rate)
        if cr is None or not sustained(cr):
            continue
        first = cr.valid_runs[0]  # spectra do not average: the first round's, as stored
        spectrum = [(q, ms) for q, ms in (first.get("loadgen") or {}).get("spectrum_ms") or []
                    if q < 100.0 and ms > 0]
        if spectrum:
            lines.append((name, spectrum, first["round"]))
    if not lines:
        return []
    fig, ax = plt.subplots(figsize=(8.5, 5), layout="constrained")
    for name, spectrum, _ in lines:
        ax.plot([_x(q) for q, _ in spectrum], [ms for _, ms in spectrum], color=colors[name],
                label=_labelled(run, name), linewidth=1.4)
    top = max(_x(q) for _, sp, _ in lines for q, _ in sp)
    ticks = [(q, text) for q, text in SPECTRUM_TICKS if _x(q) <= top * 1.5]
    ax.set_xscale("log")
    ax.set_xlim(1, max(_x(ticks[-1][0]), top) * 1.1)
    ax.xaxis.set_major_locator(FixedLocator([_x(q) for q, _ in ticks]))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: next((t for q, t in ticks if math.isclose(_x(q), x)), "")))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    _log_axis(ax)
    ax.grid(alpha=0.3)
    ax.set_xlabel("percentile (spaced as 1 / (1 − q): each step right is ten times rarer)")
    ax.set_ylabel("latency, ms (log; lower is better)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(f"Latency percentile spectrum at {rate_label(rate)}, the highest rate every "
                 "variant sustained\n(hb-loadgen, open loop, timed from when each request was "
                 f"due; round {lines[0][2]} of each)", fontsize=10)
    _caption(fig, run)
    return _save(fig, out_dir, "latency_spectrum")


CHARTS = (plot_latency_vs_load, plot_latency_spectrum)

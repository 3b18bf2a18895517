"""The chart of a comparison's page: every significant change, req/s and server CPU per request,
in percent of [a]. Drawn to SVG text (nothing written to disk), for page.py to inline."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harness.compare import Comparison  # noqa: E402

BETTER, WORSE, NOISE = "#1b6e2d", "#b3261e", "#b8b8c0"


def _pct(change) -> float | None:
    """[b] against [a] in percent, positive when [b] is better."""
    return None if change is None else -change.worse_pct


def significant_changes_svg(c: Comparison) -> str | None:
    """SVG text of a two-panel bar chart, or None when no change is significant."""
    rows = [r for r in c.rows if any(ch and ch.verdict.significant for ch in (r.rps, r.cpu))]
    if not rows:
        return None
    rows.sort(key=lambda r: _pct(r.rps) or 0)
    fig, axes = plt.subplots(1, 2, figsize=(10, 1.4 + 0.24 * len(rows)), sharey=True,
                             layout="constrained")
    y = range(len(rows))
    for ax, attr, title in ((axes[0], "rps", "req/s"), (axes[1], "cpu", "server CPU µs/req")):
        values, colors = [], []
        for r in rows:
            ch = getattr(r, attr)
            values.append(_pct(ch) or 0)
            colors.append(NOISE if not (ch and ch.verdict.significant) else
                          BETTER if ch.worse_pct < 0 else WORSE)
        ax.barh(y, values, color=colors)
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.set_title(f"{title}: [b] against [a], % (right is better)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(list(y), [r.label for r in rows])
    fig.suptitle(f"Significant changes, [a] {c.a['stamp']} -> [b] {c.b['stamp']} "
                 "(green better, red worse, grey within noise)", fontsize=10)
    if c.machine:
        fig.supxlabel("WARNING: different machines: these compare the machines as much as the "
                      "software", color=WORSE, fontsize=9)
    out = io.StringIO()
    fig.savefig(out, format="svg")
    plt.close(fig)
    return out.getvalue()

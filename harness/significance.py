"""Is a change between two sets of rounds beyond the noise? Standard library only.

With few rounds, the rule is the minimum one: the rounds' [min, max] ranges must not overlap.
Where both sides have enough rounds for it to reach p < ALPHA (4 and 4, 3 and 5, 2 and 8...), a
two-sided exact Mann-Whitney U test decides instead: it assumes no distribution (benchmark rounds
are rarely normal), its exact p-value is cheap to count for the handful of rounds a benchmark
has, and it is never looser than the range rule at those sizes (ranges apart give its smallest p).
"""

from __future__ import annotations

import dataclasses
import math

ALPHA = 0.05


@dataclasses.dataclass
class Verdict:
    significant: bool
    why: str  # e.g. "ranges overlap", "Mann-Whitney p = 0.029", "ranges apart, 2 + 2 rounds"
    p: float | None = None

    @property
    def label(self) -> str:
        """What a table shows: "significant", or "not significant (why)" in a few words."""
        if self.significant:
            return "significant"
        short = ("overlap" if self.why == "ranges overlap" else
                 "1 round" if self.why.startswith("1 round") else f"p={self.p:.2g}")
        return f"not significant ({short})"


def _midranks(values: list[float]) -> list[float]:
    """Ranks 1..n, ties sharing the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def smallest_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p the exact test can give for these sizes (all of one side lower)."""
    return min(1.0, 2 / math.comb(n_a + n_b, n_a))


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided exact p-value of the Mann-Whitney U test (ties by midranks), by counting how many
    ways of splitting the pooled ranks give a rank sum at least as far from its mean."""
    pooled = list(a) + list(b)
    n, k = len(pooled), len(a)
    doubled = [round(2 * r) for r in _midranks(pooled)]  # midranks are halves: make them whole
    observed = sum(doubled[:k])
    centre = k * (n + 1)  # the mean rank sum of k ranks, doubled
    # ways[j][s]: subsets of j of the ranks seen so far whose doubled sum is s
    top = sum(sorted(doubled)[-k:]) if k else 0
    ways = [[0] * (top + 1) for _ in range(k + 1)]
    ways[0][0] = 1
    for r in doubled:
        for j in range(min(k, n) - 1, -1, -1):
            row, nxt = ways[j], ways[j + 1]
            for s in range(top - r, -1, -1):
                if row[s]:
                    nxt[s + r] += row[s]
    extreme = sum(count for s, count in enumerate(ways[k])
                  if abs(s - centre) >= abs(observed - centre))
    return extreme / math.comb(n, k)


def judge(a: list[float], b: list[float]) -> Verdict:
    """Whether the rounds b differ from the rounds a beyond their noise."""
    if len(a) < 2 or len(b) < 2:
        return Verdict(False, "1 round: noise unknown")
    if smallest_p(len(a), len(b)) < ALPHA:
        p = mann_whitney_p(a, b)
        return Verdict(p < ALPHA, f"Mann-Whitney p = {p:.2g}", p)
    if min(a) <= max(b) and min(b) <= max(a):
        return Verdict(False, "ranges overlap")
    return Verdict(True, f"ranges apart, {len(a)} + {len(b)} rounds")

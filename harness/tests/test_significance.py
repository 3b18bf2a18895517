import itertools
import math

from harness.significance import ALPHA, judge, mann_whitney_p, smallest_p


def brute_force_p(a, b):
    """Two-sided permutation p of the rank sum, by trying every split (ties by midranks)."""
    pooled = sorted(a + b)
    rank = {v: sum(i + 1 for i, w in enumerate(pooled) if w == v) / pooled.count(v)
            for v in pooled}
    values = a + b
    k, n = len(a), len(values)
    centre = k * (n + 1) / 2
    observed = abs(sum(rank[v] for v in a) - centre)
    hits = sum(abs(sum(rank[values[i]] for i in combo) - centre) >= observed - 1e-9
               for combo in itertools.combinations(range(n), k))
    return hits / math.comb(n, k)


def test_exact_p_matches_counting_every_split():
    cases = [([1, 2, 3, 4], [5, 6, 7, 8]), ([1, 2, 2, 3, 5], [2, 3, 4, 4, 6, 7]),
             ([10.5, 11, 9.8], [10.1, 12, 13, 9.9]), ([1, 1, 1], [1, 1, 1])]
    for a, b in cases:
        assert math.isclose(mann_whitney_p(a, b), brute_force_p(a, b)), (a, b)
    assert math.isclose(mann_whitney_p([1, 2, 3, 4], [5, 6, 7, 8]), 2 / 70)


def test_judge():
    assert not judge([100], [300]).significant  # one round: no measure of noise
    assert judge([100], [300]).why.startswith("1 round")
    assert not judge([100, 110], [105, 120]).significant  # ranges overlap
    assert judge([100, 110], [111, 120]).significant  # apart; too few rounds for a test
    assert judge([100, 110], [111, 120]).p is None
    apart = judge([1, 2, 3, 4], [5, 6, 7, 8])  # enough rounds: the test decides
    assert apart.significant and math.isclose(apart.p, 2 / 70)
    # 5 + 5 rounds, one overlapping pair: the test still finds it (p ~ 0.016)
    assert judge([1, 2, 3, 4, 6], [5, 7, 8, 9, 10]).significant
    mixed = judge([1, 3, 5, 7, 9], [2, 4, 6, 8, 10])
    assert not mixed.significant and mixed.label == f"not significant (p={mixed.p:.2g})"


def test_smallest_p_says_when_the_test_can_decide():
    assert smallest_p(2, 2) > ALPHA and smallest_p(3, 3) > ALPHA and smallest_p(3, 4) > ALPHA
    assert smallest_p(4, 4) < ALPHA and smallest_p(3, 5) < ALPHA and smallest_p(2, 8) < ALPHA

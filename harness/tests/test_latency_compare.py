"""compare over the latency scenario: p99 at each shared step and the highest rate under
1 ms / 10 ms, significant only beyond the rounds' noise, lower-is-better for latency."""

from harness import compare, results
from harness.tests.helpers import make_stored_run, run_cli
from harness.tests.latency_runs import add_ladders
from harness.tests.stored_runs import copy_reference

BASE = {"fast": [(1000, 0.1, False), (2000, 0.2, False), (5000, 0.4, False),
                 (10000, 2.0, False), (20000, 40.0, True)]}
SLOWER = {"fast": [(1000, 0.3, False), (2000, 0.6, False), (5000, 1.2, False),
                   (10000, 30.0, True)]}


def two_runs(tmp_path, b_ladders, rounds=4):
    a = make_stored_run(tmp_path / "results", {"fast": 1.0}, rounds=rounds)
    add_ladders(a, BASE, rounds=rounds)
    b = make_stored_run(tmp_path / "results", {"fast": 1.0}, rounds=rounds)
    add_ladders(b, b_ladders, rounds=rounds)
    return a, b


def test_a_slower_ladder_is_a_significant_latency_regression(tmp_path):
    a, b = two_runs(tmp_path, SLOWER)
    c = compare.compare(results.load_run(a), results.load_run(b))
    rows = {r.what: r for r in c.latency}
    assert set(rows) >= {"p99 at 1k/s", "p99 at 2k/s", "p99 at 5k/s", "p99 at 10k/s",
                         "highest rate with p99 < 1 ms", "highest rate with p99 < 10 ms"}
    assert "p99 at 20k/s" not in rows  # [b] never climbed to it
    p99 = rows["p99 at 2k/s"].change
    assert p99.verdict.significant and p99.words == "3.00x higher p99"
    assert p99.worse_pct > 100  # lower is better: three times the latency is worse
    under = rows["highest rate with p99 < 1 ms"].change
    assert (under.a["median"], under.b["median"]) == (5000, 2000)
    assert under.verdict.significant and under.worse_pct > 0
    proc = run_cli("compare", a.name, b.name, "--results-dir", tmp_path / "results",
                   "--fail-above", "5")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "REGRESSION fast latency p99 at 2k/s p99 ms: 200.0% worse" in proc.stdout
    assert "latency (hb-loadgen, open loop)" in proc.stdout


def test_the_same_ladder_is_within_the_noise(tmp_path):
    a, b = two_runs(tmp_path, BASE, rounds=2)
    c = compare.compare(results.load_run(a), results.load_run(b))
    assert c.latency and not any(r.change.verdict.significant for r in c.latency if r.change)
    assert c.regressions(5) == []


def test_one_run_without_latency_data_compares_as_before(tmp_path):
    a = copy_reference(tmp_path, "20261126T112242Z")
    b = make_stored_run(tmp_path, {"cpp-beast": 1.0}, rounds=1)
    add_ladders(b, BASE)
    c = compare.compare(results.load_run(a), results.load_run(b))
    assert c.latency == []
    proc = run_cli("compare", a.name, b.name, "--results-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr

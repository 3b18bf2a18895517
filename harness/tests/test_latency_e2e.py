"""The latency scenario end to end: `harness bench --scenarios keepalive,latency` through the
real CLI on the real cpp-beast, with tiny steps, into temporary directories."""

import pytest

from harness import latency, report_latency, results
from harness.tests.helpers import run_cli
from harness.tests.test_e2e import _built

RATES = [1000, 5000, 20000, 100000, 500000]


@pytest.mark.skipif(bool(_built(["cpp-beast"])),
                    reason="cpp-beast not built: " + "; ".join(_built(["cpp-beast"])))
def test_keepalive_then_the_ladder_on_cpp_beast(tmp_path):
    proc = run_cli("bench", "--variants", "cpp-beast", "--scenarios", "keepalive,latency",
                   "--concurrency", "10", "--duration", "1", "--repeats", "1",
                   "--latency-rates", ",".join(map(str, RATES)), "--latency-duration", "0.3",
                   "--latency-warmup", "0.1", "--results-dir", tmp_path / "results",
                   "--plots-dir", tmp_path / "plots", timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    (run_dir,) = (tmp_path / "results").iterdir()
    run = results.load_run(run_dir)
    assert run["settings"]["latency_rates"] == RATES
    (ka,) = [m for m in run["measurements"] if m["scenario"] == "keepalive"]
    steps = [m for m in run["measurements"] if m["scenario"] == "latency"]
    rates = [m["params"]["rate"] for m in steps]
    # the shared fixed steps, from the bottom, none skipped
    assert rates == RATES[:len(rates)] and rates
    for m in steps:
        assert m["tool"] == "loadgen" and m["case"] == latency.rate_label(m["params"]["rate"])
        assert m["command"][m["command"].index("-w") + 1] == "100ms"  # always a warmup
        assert m["requests"] > 0 and m["server"]["cpu_s"] > 0
        assert m["latency_ms"]["p99"] > 0 and m["loadgen"]["uncorrected_ms"]["p99"] > 0
        assert m["loadgen"]["spectrum_ms"][-1][0] == 100
    # every step but the last climbed on; the last is where a stop rule holds
    guide = 1.5 * ka["rps"]
    for m in steps[:-1]:
        assert m["valid"] and not m["loadgen"]["saturated"] and m["params"]["rate"] <= guide
    last = steps[-1]
    assert (not last["valid"] or last["loadgen"]["saturated"] or last["params"]["rate"] > guide
            or last["params"]["rate"] == RATES[-1])
    (ladder,) = run["variants"]["cpp-beast"]["latency_ladder"]
    assert ladder["steps"] == rates and ladder["guide_rps"] == ka["rps"] and ladder["stopped"]
    # the step count stays honest: the steps above the stop are dropped, and said so
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("[step ")]
    n, total = map(int, lines[-1].split("]")[0][6:].split("/"))
    assert (n, total) == (2 + len(steps), 2 + len(RATES))
    dropped = len(RATES) - len(steps)
    assert (f"latency ladder stops at {last['case']}, " in proc.stdout) == (dropped > 0)
    if dropped:
        assert f"({dropped} step(s) dropped)" in proc.stdout
    table = (run_dir / "table.md").read_text()
    assert "## Open-loop latency: the highest offered rate with p99 under 1 ms and 10 ms" in table
    assert "## Open-loop latency ladder: every step" in table
    plots = tmp_path / "plots" / run_dir.name
    charts = ["latency_vs_load"]
    # the spectrum is drawn at the common sustained rate; a loaded machine can make even the
    # lowest 0.3 s step miss 1% of its requests, and then there is none
    if report_latency.common_rate(run) is not None:
        charts.append("latency_spectrum")
    else:
        assert report_latency.left_out(run) == ["cpp-beast"]
    for name in charts:
        for ext in ("png", "svg"):
            assert (plots / f"{name}.{ext}").stat().st_size > 1000

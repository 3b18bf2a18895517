"""A run with latency ladders: its page shows the open-loop tables and both new plots, in a
real headless browser, on screen and in print."""

from harness import results
from harness.tests.helpers import make_stored_run
from harness.tests.latency_runs import add_ladders
from harness.tests.test_page import check_page, needs_browser, plot_cli

LADDERS = {"cpp": [(1000, 0.1, False), (2000, 0.2, False), (5000, 0.5, False),
                   (10000, 3.0, False), (20000, 40.0, True)],
           "py": [(1000, 0.9, False), (2000, 200.0, True)]}


@needs_browser
def test_run_page_with_latency_in_a_browser(tmp_path):
    run_dir = make_stored_run(tmp_path / "results", {"cpp": 1.0, "py": 0.5}, rounds=1)
    add_ladders(run_dir, LADDERS)
    path = plot_cli(run_dir, tmp_path / "plots")
    check_page(path, results.load_run(run_dir), tmp_path / "report.png")
    text = path.read_text()
    assert 'id="plot-latency-vs-load"' in text and 'id="plot-latency-spectrum"' in text
    assert "Open-loop latency at 1k/s" in text and "closed loop" in text

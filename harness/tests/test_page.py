"""The report page of a run (plots/<stamp>/report.html) and of a comparison, opened in a real
headless browser: no console errors, no fetch, every plot drawn, every table of the run there."""

import html
import html.parser
import json
import shutil
from pathlib import Path

import pytest

from harness import page, report, results
from harness.config import ROOT
from harness.tests.browser import find_chromium, view_page
from harness.tests.helpers import make_stored_run, run_cli
from harness.tests.stored_runs import REFERENCE, copy_reference, edit_run

needs_browser = pytest.mark.skipif(find_chromium() is None,
                                   reason="chromium is not installed (make deps installs it)")


def plot_cli(run_dir: Path, plots_dir: Path) -> Path:
    proc = run_cli("plot", run_dir, "--results-dir", run_dir.parent, "--plots-dir", plots_dir)
    assert proc.returncode == 0, proc.stderr
    path = plots_dir / results.load_run(run_dir)["stamp"] / page.PAGE_NAME
    assert str(path) in proc.stdout.splitlines()
    return path


def with_trouble(run_dir: Path) -> None:
    """A failed variant and a broken manifest, as a real run may have them."""
    def change(d):
        d["variants"]["down"] = {"title": "down", "kind": "native", "status": "failed",
                                 "reason": "exited with code 3 before answering",
                                 "failed_in": "start (round 1)", "verify": []}
        d["broken_manifests"] = [{"file": "servers/odd/variant.toml", "field": "kind",
                                  "message": "missing"}]
    edit_run(run_dir, change)


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.refs = [], []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id":
                self.ids.append(value)
            elif name in ("href", "xlink:href") and value and value.startswith("#"):
                self.refs.append(value[1:])
            elif value and "url(#" in value:
                self.refs.append(value.split("url(#", 1)[1].split(")", 1)[0])


def test_page_is_self_contained_with_unique_ids(tmp_path):
    run_dir = make_stored_run(tmp_path / "results", {"cpp": 1.0, "py": 0.5},
                              invalid=(("py", "echo"),))
    path = plot_cli(run_dir, tmp_path / "plots")
    text = path.read_text()
    assert "<script" not in text and "http://" not in text.replace(
        'xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    parser = _Ids()
    parser.feed(text)
    dupes = {i for i in parser.ids if parser.ids.count(i) > 1}
    assert not dupes, f"ids used twice: {sorted(dupes)[:5]}"
    assert set(parser.refs) <= set(parser.ids), "a link or clip-path points at no element"
    assert text.count("<svg") == len(list(path.parent.glob("*.svg")))
    assert "@media print" in text


def test_every_plot_says_what_it_shows(tmp_path):
    """A committed run with every kind of plot (WSGI rows with their split, the latency
    ladder): each figure's caption is written for it, not its file name."""
    source = ROOT / "results" / "20261204T184615Z"
    run_dir = tmp_path / "results" / source.name
    shutil.copytree(source, run_dir)
    path = plot_cli(run_dir, tmp_path / "plots")
    text = html.unescape(path.read_text())
    stems = sorted(p.stem for p in path.parent.glob("*.svg"))
    assert "app_split" in stems and "latency_vs_load" in stems
    for stem in stems:
        assert stem in page.PLOT_CAPTIONS, f"plot {stem} has no caption"
        assert page.PLOT_CAPTIONS[stem] in text


def check_page(path: Path, run: dict, shot: Path) -> None:
    view = view_page(path, shot)
    assert view.console == [], view.console
    assert view.requests == [path.resolve().as_uri()], "the page loaded something else"
    assert view.scripts == 0
    svgs = sorted(p.stem for p in path.parent.glob("*.svg"))
    assert sorted(p["id"] for p in view.plots) == sorted(f"plot-{s.replace('_', '-')}"
                                                         for s in svgs)
    for p in view.plots:
        assert p["width"] > 100 and p["height"] > 100, p
    tables = report.tables(run)
    assert tables and [h for h in view.headings[:len(tables)]] == [t.title for t in tables]
    drawn = {t["title"]: t for t in view.tables}
    for t in tables:
        assert drawn[t.title]["rows"] == len(t.rows) and drawn[t.title]["width"] > 0
    for href in view.links:  # the raw-output links lead to the stored files
        if not href.startswith("#"):
            assert (path.parent / href).is_file(), href
    assert shot.stat().st_size > 10000
    # in print (A4's width at 96 dpi, less margins) the navigation and the raw-output lists
    # go; the plots stay, and every table fits the page's width
    printed = view_page(path, media="print", width=718)
    assert printed.console == [] and printed.hidden >= 1
    assert all(p["width"] > 100 and p["height"] > 100 for p in printed.plots)
    assert all(t["width"] <= 718 for t in printed.tables), printed.tables


@needs_browser
def test_run_page_in_a_browser(tmp_path):
    run_dir = make_stored_run(tmp_path / "results", {"cpp": 1.0, "py": 0.5},
                              invalid=(("py", "echo"),))
    with_trouble(run_dir)
    path = plot_cli(run_dir, tmp_path / "plots")
    run = results.load_run(run_dir)
    check_page(path, run, tmp_path / "report.png")
    text = path.read_text()
    assert "py echo 1 KiB, round 1: " in text  # invalid, with why
    assert "down: failed in start (round 1): exited with code 3" in text
    assert "broken manifest servers/odd/variant.toml" in text
    assert "cpp keepalive c=10: client CPU round 1 91%" in text  # client-bound, with the use


@needs_browser
def test_reference_run_page_in_a_browser(tmp_path):
    """The committed reference run, as README's screenshot shows it."""
    run_dir = tmp_path / "results" / REFERENCE.name
    shutil.copytree(REFERENCE, run_dir)
    path = plot_cli(run_dir, tmp_path / "plots")
    check_page(path, results.load_run(run_dir), tmp_path / "report.png")


@needs_browser
def test_comparison_page_in_a_browser(tmp_path):
    a = copy_reference(tmp_path, "20261126T112242Z")
    b = copy_reference(tmp_path, "20261202T080000Z")

    def other_machine(d):
        d["machine"]["cpu_model"] = "Intel Xeon"
        for m in d["measurements"]:
            m["rps"] *= 0.5 if m["variant"] == "nginx" else 1
    edit_run(b, other_machine)
    out = tmp_path / "cmp" / "compare.html"
    proc = run_cli("compare", a.name, b.name, "--html", out, "--results-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"page: {out}" in proc.stdout
    view = view_page(out, tmp_path / "compare.png")
    assert view.console == [] and view.requests == [out.resolve().as_uri()]
    (chart,) = view.plots  # the significant changes: nginx's req/s
    assert chart["id"] == "plot-changes" and chart["width"] > 100 and chart["height"] > 100
    text = out.read_text()
    assert "the two runs were made on different machines" in text
    assert "machine cpu_model: [a] AMD EPYC, [b] Intel Xeon" in text
    (table,) = [t for t in view.tables if t["rows"] > 50]
    assert table["rows"] == len(json.loads((a / "results.json").read_text())["measurements"]) // 2
    assert '<td class="worse">2.00x slower</td>' in text
    assert "Mann-Whitney" in text


@needs_browser
def test_the_browser_check_can_fail(tmp_path):
    """What the page tests rely on: an error, a failed load and a zero-size image are seen."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><img src="missing.png"><svg width="0" '
                   'height="0"></svg><script>console.error("boom"); undefinedFn()</script>'
                   "</body></html>")
    view = view_page(bad)
    assert any(line == "console.error: boom" for line in view.console)
    assert any("undefinedFn is not defined" in line for line in view.console)
    assert any("ERR_FILE_NOT_FOUND" in line for line in view.console)
    assert view.scripts == 1 and any(p["width"] == 0 for p in view.plots)
    assert view.requests[1].endswith("/missing.png")

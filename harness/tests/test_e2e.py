"""End to end through the CLI, as `make bench` runs it, into temporary directories.

The stand-in variants serve with harness/tests/data/hello_server.py; one of them exits
after a few requests, in the middle of its first load run.
"""

import json

import pytest

from harness import manifest, results
from harness.config import ROOT, Context
from harness.tests.helpers import hello_variant, missing_tool_variant, run_cli, write_variant

PLOTS = ("lol_rps", "keepalive_rps", "latency", "echo_rps", "server_cpu")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    servers = tmp / "servers"
    hello_variant(servers, "py-a", extra_run='version = "{python} --version"')
    # Readiness and verify take ~20 requests; ab -n 2000 then meets the crash.
    hello_variant(servers, "py-crash", args="--crash-after 100")
    hello_variant(servers, "py-z", pipelining=False)
    missing_tool_variant(servers, "needs-tool")
    write_variant(servers, "broken", 'title = "no server"\n')
    proc = run_cli("bench", "--quick", "--servers-dir", servers, "--results-dir", tmp / "results",
                   "--plots-dir", tmp / "plots")
    (run_dir,) = (tmp / "results").iterdir()
    return proc, run_dir, tmp / "plots" / run_dir.name


def test_exit_status_and_screen(quick_run):
    proc, run_dir, plots = quick_run
    assert proc.returncode == 1, proc.stderr  # a variant failed
    out = proc.stdout
    assert "[step 1/" in out and "py-a lol c=10 repeat 1/1" in out
    assert "skipped needs-tool: command 'no-such-tool-hb' not found on PATH" in out
    assert "broken manifest, variant left out" in out and "field 'server'" in out
    assert "| Name | Total | Req/Sec | Time/Req |" in out
    assert f"results: {run_dir / 'results.json'}" in out
    assert f"plots:   {plots}/" in out
    assert f"page:    {plots / 'report.html'}" in out and (plots / "report.html").is_file()


def test_results_hold_real_numbers(quick_run):
    _, run_dir, _ = quick_run
    run = results.load_run(run_dir)
    assert run["status"] == "complete" and run["settings"]["quick"]
    assert run["machine"]["cpu_model"] and run["tools"]["wrk"] and run["tools"]["ab"]
    assert "commit" in run["git"] and "dirty" in run["git"]
    # Each manifest names its own version command; its output is stored with the variant.
    assert run["variants"]["py-a"]["version"].startswith("Python 3.")
    assert run["variants"]["py-z"]["version"] is None
    assert (run["variants"]["py-a"]["server"], run["variants"]["py-a"]["handler"]) == (
        "test", "python")
    for name in ("py-a", "py-z"):
        assert run["variants"][name]["status"] == "ok"
        assert all(c["ok"] is not False for c in run["variants"][name]["verify"][0]["checks"])
        ms = [m for m in run["measurements"] if m["variant"] == name]
        scenarios = {m["scenario"] for m in ms}
        assert scenarios == ({"lol", "keepalive", "echo", "pipeline", "latency"}
                             if name == "py-a" else {"lol", "keepalive", "echo", "latency"})
        # the ladder starts at its lowest quick step; its last step may be saturated (data)
        assert [m["case"] for m in ms if m["scenario"] == "latency"][0] == "1k/s"
        for m in ms:
            assert m["valid"], m["problems"]
            assert m["rps"] > 0 and m["requests"] > 0
            assert m["server"]["cpu_s"] > 0 and m["server"]["us_per_request"] > 0
            assert m["server"]["peak_rss_kib"] > 0 and m["client"]["cpu_s"] > 0
            assert (run_dir / m["raw"]).stat().st_size > 0
        lol = [m for m in ms if m["scenario"] == "lol"][0]
        assert lol["command"][-5:-1] == ["-n", "2000", "-c", "10"]
        assert lol["ab"]["time_per_request_all_ms"] > 0
    assert run["variants"]["py-z"]["skipped_cases"] == {
        "pipeline x16 c=10": "manifest: supports.pipelining = false"}


def test_crashing_variant_is_failed_and_others_survive(quick_run):
    _, run_dir, _ = quick_run
    run = json.loads((run_dir / "results.json").read_text())
    crash = run["variants"]["py-crash"]
    assert crash["status"] == "failed"
    assert crash["failed_in"] == "lol c=10 (round 1)"
    assert "exited with code 3" in crash["reason"]
    assert "crashing on purpose" in crash["reason"]  # the stderr tail
    (m,) = [m for m in run["measurements"] if m["variant"] == "py-crash"]
    assert not m["valid"] and any("ab stopped" in p for p in m["problems"])
    # the variant after it still ran in full: lol, keepalive c=10, echo 1 KiB and 256 KiB
    assert len([m for m in run["measurements"] if m["variant"] == "py-z"
                and m["scenario"] != "latency"]) == 4
    assert run["variants"]["needs-tool"]["status"] == "skipped"
    assert run["broken_manifests"][0]["field"] == "server"


def test_table_and_plots(quick_run):
    _, run_dir, plots = quick_run
    table = (run_dir / "table.md").read_text()
    lol = table.split("| Name | Total | Req/Sec | Time/Req |\n|---|---|---|---|\n")[1]
    rows = lol.split("\n\n")[0].splitlines()
    names = sorted(r.split(" | ")[0].strip("| ") for r in rows)
    assert names == ["py-a", "py-crash", "py-z"]
    for row in rows:
        if not row.startswith("| py-crash"):
            total, rps, per = (float(x) for x in row.strip("| ").split(" | ")[1:])
            assert total > 0 and rps > 0 and per > 0
    assert "py-crash** failed in lol c=10 (round 1)" in table
    assert "needs-tool** skipped" in table
    for name in PLOTS:
        for ext in ("png", "svg"):
            assert (plots / f"{name}.{ext}").stat().st_size > 1000


def _built(names):
    ctx = Context.from_env()
    missing = []
    for name in names:
        path = ROOT / "servers" / name / manifest.MANIFEST_NAME
        if not path.exists():
            missing.append(f"servers/{name} is not in the tree")
            continue
        v = manifest.parse_manifest(path, ctx)
        missing += [m.reason for m in manifest.missing_requirements(v, ctx)]
    return missing


CPP = ["cpp-beast", "c-callback"]


@pytest.mark.skipif(bool(_built(CPP)), reason="C++ variants not built: " + "; ".join(_built(CPP)))
def test_quick_run_over_the_cpp_variants(tmp_path):
    proc = run_cli("bench", "--quick", "--variants", ",".join(CPP),
                   "--results-dir", tmp_path / "results", "--plots-dir", tmp_path / "plots")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    (run_dir,) = (tmp_path / "results").iterdir()
    run = results.load_run(run_dir)
    for name in CPP:
        assert run["variants"][name]["status"] == "ok"
        ms = [m for m in run["measurements"] if m["variant"] == name]
        steps = [m for m in ms if m["scenario"] == "latency"]
        assert len(ms) - len(steps) == 5  # lol, keepalive c=10, pipeline, echo 1 KiB and 256 KiB
        assert [m["case"] for m in steps] == ["1k/s", "5k/s"]  # --quick's ladder
        ms = [m for m in ms if m not in steps or not m["loadgen"]["saturated"]]
        assert all(m["valid"] and m["rps"] > 0 for m in ms), [m["problems"] for m in ms]
    table = (run_dir / "table.md").read_text()
    assert all(f"| {name} | " in table for name in CPP)
    assert (tmp_path / "plots" / run_dir.name / "lol_rps.png").stat().st_size > 1000

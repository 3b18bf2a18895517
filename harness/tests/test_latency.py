"""The latency scenario from stored records: reading hb-loadgen, the ladder's decisions, the
tables, the plots, and a run without latency data (older schemas) still reported."""

import json
import shutil

import pytest

from harness import latency, loadgen_run, plot, report, report_latency, results
from harness.scenarios import Case, cases_for
from harness.stats import by_case
from harness.tests.helpers import client_run, make_stored_run, run_cli
from harness.tests.latency_runs import SAMPLE, add_ladders, loadgen_json, settings, step
from harness.tests.stored_runs import REFERENCE, edit_run

# ---------------------------------------------------------------- reading hb-loadgen


def test_a_captured_document_becomes_a_valid_step():
    r = step("cpp", 1, 20000, 0.12)
    assert r["valid"] and r["problems"] == []
    assert r["scenario"] == "latency" and r["case"] == "20k/s" and r["tool"] == "loadgen"
    assert r["params"]["rate"] == 20000 and r["rps"] == 20000
    assert r["latency_ms"]["p99"] == pytest.approx(0.12)
    lg = r["loadgen"]
    assert lg["saturated"] is False and lg["offered_rps"] == 20000
    assert lg["uncorrected_ms"]["p99"] == pytest.approx(
        SAMPLE["latency_us"]["uncorrected"]["p99"] / 1000)
    assert lg["sender_lag_us"]["p99"] == SAMPLE["sender_lag_us"]["p99"]
    qs = [q for q, _ in lg["spectrum_ms"]]
    assert qs == sorted(qs) and qs[0] == 0 and qs[-1] == 100
    # server µs/req counts the warmup's answers too: CPU 0.2 s over 20000 + 20000 x 0.5 s
    assert r["server"]["us_per_request"] == pytest.approx(0.2e6 / 30000)


def test_errors_and_non_2xx_make_a_step_invalid_saturation_does_not():
    assert not step("x", 1, 1000, 1.0, errors=3)["valid"]
    assert "timeout 3" in step("x", 1, 1000, 1.0, errors=3)["problems"][0]
    d = json.loads(loadgen_json(1000, 1.0))
    d["status"]["5xx"], d["non_2xx"] = 5, 5
    fields, problems = loadgen_run.read(client_run(json.dumps(d)))
    assert problems == ["5 non-2xx answers"]
    sat = step("x", 1, 1000, 50.0, saturated=True)
    assert sat["valid"] and sat["loadgen"]["saturated"]


def test_another_schema_version_is_refused_with_a_clear_message():
    d = dict(SAMPLE, schema_version=2)
    _, problems = loadgen_run.read(client_run(json.dumps(d)))
    assert "schema version 2: this harness reads version(s) [1]" in problems[0]
    _, problems = loadgen_run.read(client_run("cannot connect to ...", code=1))
    assert "printed no JSON" in problems[0] and "exit code 1" in problems[0]


def test_the_command_pins_warms_up_and_keeps_connections(tmp_path):
    s = settings()
    s.client_cpus = "1"
    (case,) = [c for c, _ in cases_for(s) if c.params["rate"] == 5000]
    cmd = case.command("http://127.0.0.1:9/", s, tmp_path)
    assert cmd[:3] == ["taskset", "-c", "1"]
    assert cmd[3] == str(tmp_path / "harness" / "loadgen" / "hb-loadgen")
    args = cmd[4:]
    assert args[args.index("--rate") + 1] == "5000" and args[args.index("-c") + 1] == "10"
    assert args[args.index("-w") + 1] == "500ms" and args[args.index("-d") + 1] == "1000ms"
    assert loadgen_run.missing(tmp_path).startswith("hb-loadgen not built")


# ---------------------------------------------------------------- the ladder


def test_every_variant_gets_the_same_ascending_steps():
    s = settings([5000, 1000, 2000, 1000])
    rates = [c.params["rate"] for c in latency.cases(s, Case)]
    assert rates == [1000, 2000, 5000]
    assert [c.case for c in latency.cases(s, Case)] == ["1k/s", "2k/s", "5k/s"]
    assert latency.parse_rate("20k") == 20000 and latency.parse_rate("1.5M") == 1500000
    with pytest.raises(ValueError):
        latency.parse_rate("0")


def _climb(records, guide=None):
    """Feed a ladder the records in turn, as the runner does; return what ran and dropped."""
    plan = latency.cases(settings(), Case)
    ladder, ran, dropped = latency.Ladder("v", 1, guide), [], 0
    for i, case in enumerate(plan):
        if ladder.skips(case, []):
            continue
        m = records[case.params["rate"]]
        ran.append(case.params["rate"])
        dropped += ladder.after(m, plan[i + 1:])
    assert ran == [c.params["rate"] for c in plan][:len(ran)]  # from the bottom, in order
    assert len(ran) + dropped == len(plan)  # the step count stays honest
    return ran, ladder


def test_the_ladder_stops_at_the_first_saturated_step():
    records = {rate: step("v", 1, rate, 1.0, saturated=rate >= 5000)
               for rate in settings().latency_rates}
    ran, ladder = _climb(records)
    assert ran == [1000, 2000, 5000] and ladder.stopped.startswith("saturated")
    assert ladder.as_dict()["steps"] == [1000, 2000, 5000]


def test_the_ladder_stops_at_the_first_step_above_the_keepalive_guide():
    records = {rate: step("v", 1, rate, 0.1) for rate in settings().latency_rates}
    ran, ladder = _climb(records, guide=3000)  # 1.5 x 3000 = 4500: 5k is the last step
    assert ran == [1000, 2000, 5000] and "keep-alive maximum (3k req/s)" in ladder.stopped
    ran, ladder = _climb(records)  # no guide: to the top
    assert ran == settings().latency_rates and ladder.as_dict()["stopped"] == "top of the ladder"


def test_the_ladder_stops_at_an_invalid_step():
    records = {rate: step("v", 1, rate, 0.1, errors=int(rate == 2000))
               for rate in settings().latency_rates}
    ran, ladder = _climb(records)
    assert ran == [1000, 2000] and ladder.stopped.startswith("invalid: errors: timeout 1")


def test_the_guide_is_the_best_valid_keepalive_rate_so_far():
    ms = [{"variant": "v", "scenario": "keepalive", "valid": True, "rps": 9000.0},
          {"variant": "v", "scenario": "keepalive", "valid": False, "rps": 90000.0},
          {"variant": "w", "scenario": "keepalive", "valid": True, "rps": 50000.0},
          {"variant": "v", "scenario": "echo", "valid": True, "rps": 70000.0}]
    assert latency.guide(ms, "v") == 9000.0 and latency.guide(ms, "z") is None


def test_rounds_after_latency_repeats_leave_the_ladder_out():
    s = settings()
    s.scenarios = ["keepalive", "latency"]
    plan = [c for c, _ in cases_for(s)]
    assert len(latency.for_round(plan, 1, s)) == len(plan)
    assert [c.scenario for c in latency.for_round(plan, 2, s)] == ["keepalive"]


# ---------------------------------------------------------------- tables and plots

LADDERS = {"fast": [(1000, 0.1, False), (2000, 0.2, False), (5000, 0.4, False),
                    (10000, 2.0, False), (20000, 40.0, True)],
           "slow": [(1000, 0.9, False), (2000, 5.0, False), (5000, 300.0, True)]}


@pytest.fixture
def latency_run(tmp_path):
    run_dir = make_stored_run(tmp_path / "results", {"fast": 1.0, "slow": 0.1}, rounds=1)
    add_ladders(run_dir, LADDERS, rounds=2)
    return results.load_run(run_dir)


def test_common_rate_and_thresholds_from_stored_steps(latency_run):
    assert report_latency.common_rate(latency_run) == 2000
    steps = report_latency.ladders(latency_run)
    assert [r for r, _ in steps["fast"]] == [1000, 2000, 5000, 10000, 20000]
    assert report_latency.highest_under(steps["fast"], 1.0) == 5000
    assert report_latency.highest_under(steps["fast"], 10.0) == 10000  # 20k saturated
    assert report_latency.highest_under(steps["slow"], 1.0) == 1000
    assert report_latency.highest_under(steps["slow"], 10.0) == 2000


def test_table_md_has_the_latency_sections(latency_run):
    text = report.render(latency_run)
    assert "## Keep-alive latency, closed loop (wrk, ms)" in text
    assert "coordinated omission" in text
    assert "## Open-loop latency at 2k/s, the highest rate every variant sustained" in text
    tables = {t.title: t for t in report.tables(latency_run)}
    common = next(t for title, t in tables.items() if title.startswith("Open-loop latency at"))
    assert [r[0] for r in common.rows] == ["fast", "slow"]
    assert common.rows[0][3].startswith("0.2") and common.rows[1][3].startswith("5")
    limits = tables["Open-loop latency: the highest offered rate with p99 under 1 ms and 10 ms"]
    assert limits.rows[0][2:5] == ["5k/s", "10k/s", "10k/s"]
    assert limits.rows[1][2:5] == ["1k/s", "2k/s", "2k/s"]
    ladder = tables["Open-loop latency ladder: every step (hb-loadgen, ms)"]
    assert len(ladder.rows) == 8 and ladder.rows[-1][-1] == "saturated"


def test_a_variant_that_cannot_sustain_the_lowest_step_is_named_not_allowed_to_empty_it(
        tmp_path):
    run_dir = make_stored_run(tmp_path / "results", {"a": 1.0}, rounds=1)
    add_ladders(run_dir, {"a": [(1000, 0.1, False), (2000, 0.2, False)],
                          "b": [(1000, 90.0, True)]})
    run = results.load_run(run_dir)
    assert report_latency.left_out(run) == ["b"]
    assert report_latency.common_rate(run) == 2000
    (t,) = [t for t in report.tables(run) if t.title.startswith("Open-loop latency at")]
    assert [r[0] for r in t.rows] == ["a"]
    assert "did not sustain even the lowest step (1k/s): b." in t.note


def test_a_step_where_the_generator_itself_sent_late_is_marked(tmp_path):
    run_dir = make_stored_run(tmp_path / "results", {"a": 1.0}, rounds=1)
    add_ladders(run_dir, {"a": [(1000, 0.3, False), (2000, 0.4, False)],
                          "b": [(1000, 0.3, False), (2000, 0.5, False)]})

    def stall(d):  # b's 2k/s step: the generator was held up for milliseconds
        for m in d["measurements"]:
            if (m["variant"], m["case"]) == ("b", "2k/s"):
                m["loadgen"]["sender_lag_us"]["p99"] = 2500.0
    edit_run(run_dir, stall)
    run = results.load_run(run_dir)
    tables = {t.title: t for t in report.tables(run)}
    (common,) = [t for title, t in tables.items() if title.startswith("Open-loop latency at 2k")]
    marks = {r[0]: r[3].endswith(report_latency.LATE_MARK) for r in common.rows}
    assert marks == {"a": False, "b": True}
    assert "the generator itself sent late" in common.note
    ladder = tables["Open-loop latency ladder: every step (hb-loadgen, ms)"]
    notes = {(r[0], r[1]): r[-1] for r in ladder.rows}
    assert notes[("b", "2k/s")] == "generator late"
    assert notes[("b", "1k/s")] == notes[("a", "2k/s")] == "sustained"


def test_no_common_rate_is_said_not_guessed(tmp_path):
    run_dir = make_stored_run(tmp_path / "results", {"a": 1.0}, rounds=1)
    add_ladders(run_dir, {"a": [(1000, 90.0, True)], "b": [(1000, 90.0, True)]})
    run = results.load_run(run_dir)
    assert report_latency.common_rate(run) is None
    (t,) = [t for t in report.tables(run) if t.title.startswith("Open-loop latency at")]
    assert "No offered rate was sustained by every variant" in t.note


def test_plots_are_drawn_and_deterministic(latency_run, tmp_path):
    out_dir, paths = plot.plot_run(latency_run, tmp_path / "plots")
    names = {p.name for p in paths}
    assert {"latency_vs_load.png", "latency_vs_load.svg", "latency_spectrum.png",
            "latency_spectrum.svg"} <= names
    svg = (out_dir / "latency_vs_load.svg").read_text()
    assert "saturated step" in svg and "p99.9" in svg
    assert "99.9%" in (out_dir / "latency_spectrum.svg").read_text()
    first = (out_dir / "latency_vs_load.svg").read_bytes()
    plot.plot_run(latency_run, tmp_path / "plots")
    assert (out_dir / "latency_vs_load.svg").read_bytes() == first


def test_a_run_without_latency_data_still_reports_and_plots(tmp_path):
    run_dir = tmp_path / "results" / REFERENCE.name
    shutil.copytree(REFERENCE, run_dir)  # schema 1, before the latency scenario
    run = results.load_run(run_dir)
    assert not any(k[1] == "latency" for k in by_case(run))
    text = report.render(run)
    assert "Open-loop" not in text and "closed loop" in text
    _, paths = plot.plot_run(run, tmp_path / "plots")
    assert paths and not any(p.stem.startswith("latency_") for p in paths)
    proc = run_cli("compare", REFERENCE.name, REFERENCE.name, "--results-dir", tmp_path /
                   "results")
    assert proc.returncode == 0 and "hb-loadgen" not in proc.stdout, proc.stderr

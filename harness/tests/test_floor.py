"""The native floor: c-callback spending each app's own cost per request, measured in a real
run next to the WSGI variants, and what the tables make of it."""

import pytest

from harness import floor, report, results
from harness.tests.helpers import hello_variant, run_cli
from harness.tests.test_app_split import _copy, _missing, _record, _run


def _floor_round(r, work, keepalive_us, valid=True, error=None):
    ms = [] if error else [_record("floor-flask_app-app", "keepalive", "c=10", keepalive_us,
                                   1e6 / keepalive_us, valid)]
    return {"round": r, "work_us": work, "error": error, "measurements": ms}


def _run_with_floor(rounds):
    run = _run()
    run["floors"] = {"flask_app:app": {"variant": "c-callback", "rounds": rounds}}
    return run


def test_the_floor_is_the_median_of_each_rounds_server_cpu_minus_its_work():
    # a machine that slows down between rounds moves the work and the server alike
    run = _run_with_floor([_floor_round(1, 30.0, 38.0), _floor_round(2, 60.0, 70.0),
                           _floor_round(3, 31.0, 40.0)])
    got = floor.floor(run, "flask_app:app", "keepalive", "c=10")
    assert got == {"work": 31.0, "server": 40.0, "overhead": 9.0}  # 8, 10, 9
    assert floor.floor(run, "flask_app:app", "pipeline", "x16 c=10") is None
    assert floor.floor(run, "other:app", "keepalive", "c=10") is None


def test_invalid_floor_measurements_and_failed_rounds_are_left_out_and_listed():
    run = _run_with_floor([_floor_round(1, 30.0, 38.0), _floor_round(2, 30.0, 99.0, valid=False),
                           _floor_round(3, None, 0, error="start: port in use")])
    assert floor.floor(run, "flask_app:app", "keepalive", "c=10")["overhead"] == 8.0
    assert floor.errors(run) == [
        "native floor for flask_app:app keepalive c=10, round 2, broken",
        "native floor for flask_app:app, round 3: start: port in use"]
    assert set(floor.errors(run)) <= set(report.invalid_runs(run))


def test_each_split_row_shows_its_overhead_the_floor_and_what_is_beyond_it():
    run = _run_with_floor([_floor_round(1, 30.0, 38.0)])
    assert floor.header(run) == [
        "App", "Name", "Server", "Floor's work µs/req (the app alone, GET /)",
        "Server overhead µs/req, keepalive c=10", "Native floor µs/req",
        "Beyond the floor µs/req"]
    rows = floor.rows(run)
    # flask-b: 60 µs/req against the app's 31 (median of its three rounds alone): 29 over,
    # 8 of them the floor's
    assert rows == [["flask", "flask-b", "b", "30", "29", "8", "21"],
                    ["flask", "flask-a", "a", "30", "9", "8", "1"]]
    table = {t.title: t for t in report.tables({**run, **_table_run_fields()})}
    assert table[next(t for t in table if t.startswith("Beyond the native floor"))].rows == rows


def test_a_run_without_floors_has_no_floor_table():
    run = _run()
    assert floor.rows(run) == [] and floor.errors(run) == []
    titles = [t.title for t in report.tables({**run, **_table_run_fields()})]
    assert not any(t.startswith("Beyond the native floor") for t in titles)


def _table_run_fields():
    return {"settings": {"client_bound_at": 0.9, "repeats": 1, "pipeline_depth": 16,
                         "duration": 1, "wrk_threads": 1, "ab_requests": 100,
                         "ab_concurrency": 10}}


def test_a_working_floor_variant_has_its_own_name_and_the_work_on_its_command_line(tmp_path):
    from harness.config import Context
    v, why = floor.find_variant(Context.from_env())
    if v is None:
        pytest.skip(why)
    w = floor.working(v, "django_hello.wsgi:application", 72.04567)
    assert w.name == "floor-django_hello-wsgi-application"
    assert w.command("127.0.0.1", 1, 1, "/tmp")[-2:] == ["--work-us", "72.046"]
    assert v.run_command[-2:] != ["--work-us", "72.046"]  # the c-callback row is untouched


# ---------------------------------------------------------------- a real run

NEEDED = ["wsgi-httpbridge", "c-callback"]


@pytest.mark.skipif(bool(_missing(NEEDED)), reason="; ".join(_missing(NEEDED)))
def test_a_run_measures_each_apps_floor_every_round_and_tables_it(tmp_path):
    servers = tmp_path / "servers"
    for name in NEEDED:
        _copy(servers, name)
    proc = run_cli("bench", "--quick", "--repeats", "2", "--scenarios", "keepalive,pipeline",
                   "--variants", "wsgi-httpbridge", "--servers-dir", servers,
                   "--results-dir", tmp_path / "results", "--plots-dir", tmp_path / "plots")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "native floor for wsgi_app:application: c-callback --work-us " in proc.stdout
    steps = [ln for ln in proc.stdout.splitlines() if ln.startswith("[step ")]
    total = steps[0].split("/")[1].split("]")[0]
    assert steps[-1].startswith(f"[step {total}/{total}]")  # the count included the floors
    (run_dir,) = (tmp_path / "results").iterdir()
    run = results.load_run(run_dir)
    assert run["schema_version"] == 5
    entry = run["floors"]["wsgi_app:application"]
    assert entry["variant"] == "c-callback" and [r["round"] for r in entry["rounds"]] == [1, 2]
    for rd in entry["rounds"]:
        assert rd["error"] is None
        # the work is that round's app alone, as the floor's command line said
        assert rd["work_us"] == floor.round_work(run, "wsgi_app:application", rd["round"])
        assert [(m["scenario"], m["case"]) for m in rd["measurements"]] == [
            ("keepalive", "c=10"), ("pipeline", "x16 c=10")]
        for m in rd["measurements"]:
            assert m["valid"], m["problems"]
            assert m["server"]["us_per_request"] >= rd["work_us"]  # it did spend the work
            assert (run_dir / m["raw"]).is_file()
            assert m["raw"].startswith("raw/floor-wsgi_app-application/")
    # the c-callback row itself was not run: only the selected variant is a row
    assert set(run["variants"]) == {"wsgi-httpbridge"}
    assert {m["variant"] for m in run["measurements"]} == {"wsgi-httpbridge"}
    section = (run_dir / "table.md").read_text().split("## Beyond the native floor")[1]
    assert "| wsgi | wsgi-httpbridge | httpbridge |" in section.split("\n## ")[0]


@pytest.mark.skipif(bool(_missing(["wsgi-httpbridge"])),
                    reason="; ".join(_missing(["wsgi-httpbridge"])))
def test_without_c_callback_the_run_says_so_and_goes_on(tmp_path):
    servers = tmp_path / "servers"
    _copy(servers, "wsgi-httpbridge")
    proc = run_cli("run", "--quick", "--scenarios", "keepalive", "--servers-dir", servers,
                   "--results-dir", tmp_path / "results")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning: no native floor for the apps" in proc.stdout
    assert "c-callback" in proc.stdout.split("warning: no native floor")[1].splitlines()[0]
    (run_dir,) = (tmp_path / "results").iterdir()
    run = results.load_run(run_dir)
    assert run["floors"] == {} and run["status"] == "complete"


@pytest.mark.skipif(bool(_missing(["wsgi-httpbridge"])),
                    reason="; ".join(_missing(["wsgi-httpbridge"])))
def test_a_run_with_no_get_case_wants_no_floor_and_warns_of_none(tmp_path):
    servers = tmp_path / "servers"
    _copy(servers, "wsgi-httpbridge")  # no c-callback: a floor would warn
    proc = run_cli("run", "--quick", "--scenarios", "echo", "--servers-dir", servers,
                   "--results-dir", tmp_path / "results")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "app alone: wsgi_app:application" in proc.stdout  # the echo split is still made
    assert "native floor" not in proc.stdout
    (run_dir,) = (tmp_path / "results").iterdir()
    assert results.load_run(run_dir)["floors"] == {}


@pytest.mark.skipif(bool(_missing(["wsgi-httpbridge"])),
                    reason="; ".join(_missing(["wsgi-httpbridge"])))
def test_a_floor_server_that_dies_is_recorded_and_the_run_goes_on(tmp_path):
    servers = tmp_path / "servers"
    _copy(servers, "wsgi-httpbridge")
    # in c-callback's place, a server that passes verify and then dies under load
    hello_variant(servers, "c-callback", "--crash-after 200")
    proc = run_cli("bench", "--quick", "--scenarios", "keepalive,pipeline", "--variants",
                   "wsgi-httpbridge", "--servers-dir", servers, "--results-dir",
                   tmp_path / "results", "--plots-dir", tmp_path / "plots")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run_dir,) = (tmp_path / "results").iterdir()
    run = results.load_run(run_dir)
    assert run["status"] == "complete"
    assert run["variants"]["wsgi-httpbridge"]["status"] == "ok"
    (rd,) = run["floors"]["wsgi_app:application"]["rounds"]
    assert rd["error"].startswith("server exited with code 3 during keepalive c=10")
    assert [m["scenario"] for m in rd["measurements"]] == ["keepalive"]  # pipeline dropped
    assert not rd["measurements"][0]["valid"]
    assert floor.rows(run) == []  # no floor to set the row against
    problems = report.invalid_runs(run)
    assert any(p.startswith("native floor for wsgi_app:application, round 1: server exited")
               for p in problems)
    steps = [ln for ln in proc.stdout.splitlines() if ln.startswith("[step ")]
    total = steps[-1].split("/")[1].split("]")[0]
    assert steps[-1].startswith(f"[step {total}/{total}]")  # the dropped step left the count

"""App cost against server cost: which app each variant serves, the app timed alone in a
real run, and the tables and plots that group rows by app."""

import pytest

from harness import app_split, manifest, report, results
from harness.config import ROOT, Context
from harness.tests.helpers import hello_variant, run_cli, write_variant

APPS = str(ROOT / "servers" / "apps")
EXPECTED = {"wsgi": "wsgi_app:application", "flask": "flask_app:app",
            "django": "django_hello.wsgi:application"}


def test_every_shipped_app_variant_names_the_callable_it_serves():
    ctx = Context.from_env()
    variants, broken = manifest.discover(ROOT / "servers", ctx)
    assert not broken
    apps = [v for v in variants if v.app != "handler"]
    assert {v.app for v in apps} == set(EXPECTED)
    for v in apps:
        target = v.wsgi_target()
        assert target is not None, v.name
        assert target[0] == EXPECTED[v.app] and APPS in target[1], (v.name, target)
    found, warnings = app_split.targets(variants)
    assert not warnings
    assert set(found) == set(EXPECTED.values())  # one measurement per app, not per variant
    assert "flask-werkzeug" in found["flask_app:app"]["variants"]  # told by run.wsgi_app


def _manifest(tmp_path, run_extra: str, app: str = "flask"):
    write_variant(tmp_path, "v", f"""
        title = "t"
        server = "s"
        handler = "python"
        app = "{app}"
        [build]
        system = "none"
        [run]
        command = "{{python}} serve.py --port {{port}}"
        {run_extra}
    """)
    return manifest.parse_manifest(tmp_path / "v" / "variant.toml", Context.from_env())


def test_run_wsgi_app_names_what_a_command_hides(tmp_path):
    v = _manifest(tmp_path, 'wsgi_app = "mod:make_app()"\nwsgi_path = "{variant_dir}/src"')
    assert v.wsgi_target() == ("mod:make_app()", [str(tmp_path / "v" / "src")])
    assert v.describe()["run"]["wsgi_app"] == "mod:make_app()"
    v = _manifest(tmp_path, 'wsgi_app = "mod:app"')
    assert v.wsgi_target() == ("mod:app", [str((tmp_path / "v").resolve())])


def test_an_app_variant_whose_callable_cannot_be_told_gets_a_warning(tmp_path):
    v = _manifest(tmp_path, "")
    assert v.wsgi_target() is None
    found, warnings = app_split.targets([v])
    assert found == {} and "set run.wsgi_app" in warnings[0]
    assert app_split.targets([_manifest(tmp_path, "", app="handler")]) == ({}, [])


@pytest.mark.parametrize("extra, field, message", [
    ('wsgi_app = "not a spec"', "run.wsgi_app", "must be module:callable"),
    ('wsgi_path = "x"', "run.wsgi_path", "only means something with run.wsgi_app"),
    ('wsgi_app = "m:a"\nwsgi_path = "{port}"', "run.wsgi_path", "placeholder {port}"),
])
def test_bad_wsgi_app_fields_name_the_field(tmp_path, extra, field, message):
    with pytest.raises(manifest.ManifestError) as e:
        _manifest(tmp_path, extra)
    assert e.value.field == field and message in e.value.message


# ---------------------------------------------------------------- tables from a stored run


def _record(name, scenario, case, us, rps, valid=True):
    return {"variant": name, "scenario": scenario, "case": case, "tool": "wrk", "params": {},
            "round": 1, "valid": valid, "problems": [] if valid else ["broken"], "rps": rps,
            "requests": 1000, "server": {"us_per_request": us, "utilisation": 0.9},
            "client": {"utilisation": 0.5, "bound": False}, "latency_ms": {}}


def _cost(get_us, echo_us, rounds=1, error=None):
    return {"spec": "flask_app:app", "paths": [APPS], "variants": [], "cpus": "0",
            "rounds": [{"round": r + 1, "error": error,
                        "cases": None if error else {"GET /": {"us_per_request": get_us + r},
                                                     "POST /echo": {"us_per_request": echo_us}}}
                       for r in range(rounds)]}


def _run():
    variants = {
        "flask-b": {"app": "flask", "server": "b", "app_cost_key": "flask_app:app"},
        "native": {"app": "handler", "server": "n"},
        "flask-a": {"app": "flask", "server": "a", "app_cost_key": "flask_app:app"},
        "bare-wsgi": {"app": "wsgi", "server": "a", "app_cost_key": None},
    }
    measurements = []
    for name, us in (("flask-b", 60.0), ("native", 5.0), ("flask-a", 40.0), ("bare-wsgi", 7.0)):
        measurements.append(_record(name, "keepalive", "c=10", us, 1e6 / us))
        measurements.append(_record(name, "echo", "1 KiB", us + 10, 1e6 / (us + 10)))
    return {"variants": variants, "measurements": measurements,
            "app_costs": {"flask_app:app": _cost(30.0, 35.0, rounds=3)}}


def test_rows_are_grouped_by_app_bare_handlers_first():
    run = _run()
    assert app_split.ordered(run, run["variants"]) == ["native", "bare-wsgi", "flask-b",
                                                        "flask-a"]
    assert app_split.groups(run, run["variants"]) == [
        ("handler", ["native"]), ("wsgi", ["bare-wsgi"]), ("flask", ["flask-b", "flask-a"])]


def test_the_split_is_server_cpu_minus_the_app_alone():
    run = _run()
    assert app_split.app_cost(run, "flask_app:app", "GET /") == {
        "median": 31.0, "min": 30.0, "max": 32.0, "n": 3}
    got = app_split.split(run, "flask-a", "keepalive", "c=10")
    assert got == {"server": 40.0, "app": 31.0, "overhead": 9.0, "rps": 25000.0,
                   "paired": False}
    assert app_split.split(run, "flask-b", "echo", "1 KiB")["overhead"] == 35.0  # 70 - 35
    rows = app_split.split_rows(run)
    assert [r[1] for r in rows] == ["flask-b", "flask-a"]  # no cost known for bare-wsgi
    assert app_split.split_header(run)[3:] == [
        "Req/s, keepalive c=10", "Req/s per server core", "Server µs/req, keepalive c=10",
        "App alone µs/req (GET /)", "Server overhead µs/req", "Server µs/req, echo 1 KiB",
        "App alone µs/req (POST /echo)", "Server overhead µs/req"]
    assert rows[1] == ["flask", "flask-a", "a", "25k", "25k", "40", "31", "9", "50", "35", "15"]


def test_paired_rounds_give_the_median_of_the_differences_not_the_difference_of_medians():
    # a machine that slows down between rounds moves the server and the app alone alike
    run = _run()
    run["measurements"] = [m for m in run["measurements"] if m["variant"] != "flask-a"]
    for r, (server, app) in enumerate([(40.0, 30.0), (90.0, 78.0), (60.0, 55.0)], start=1):
        m = _record("flask-a", "keepalive", "c=10", server, 1e6 / server)
        m["round"] = r
        m["app_alone"] = {"key": "flask_app:app", "case": "GET /", "before_us": app - 1,
                          "after_us": app + 1, "us_per_request": app}
        run["measurements"].append(m)
    got = app_split.split(run, "flask-a", "keepalive", "c=10")
    assert got["paired"] and got["server"] == 60.0 and got["app"] == 55.0
    assert got["overhead"] == 10.0  # differences 10, 12, 5; medians alone would say 60 - 55
    # the table shows the rounds' spread beside it, so a noisy split reads as one
    row = next(r for r in app_split.split_rows(run) if r[1] == "flask-a")
    assert row[5:8] == ["60", "55", "10 (5–12)"]
    # a round whose pair failed is left out of the pairing and reported
    run["measurements"][-1]["app_alone"] = {"key": "flask_app:app", "case": "GET /",
                                            "error": "the app raised KeyError: 'x'"}
    got = app_split.split(run, "flask-a", "keepalive", "c=10")
    assert got["overhead"] == 11.0 and got["server"] == 65.0
    assert app_split.app_cost_errors(run) == [
        "app alone next to flask-a keepalive c=10, round 3: the app raised KeyError: 'x'"]


def test_a_failed_app_measurement_is_listed_and_leaves_the_cells_empty():
    run = _run()
    run["app_costs"]["flask_app:app"] = _cost(0, 0, error="cannot import 'flask_app'")
    assert app_split.split(run, "flask-a", "keepalive", "c=10")["overhead"] is None
    assert app_split.app_cost_errors(run) == [
        "app alone flask_app:app, round 1: cannot import 'flask_app'"]


def test_the_reference_table_says_which_rows_ran_a_framework():
    run = _run()
    line = report.framework_line(run, ["native", "flask-a", "bare-wsgi"])
    assert line.startswith("Rows that ran a framework: flask-a (Flask);")
    assert report.framework_line(run, ["native", "bare-wsgi"]) == "Every row ran a bare handler."


# ---------------------------------------------------------------- a real run


def _copy(servers, name):
    src = (ROOT / "servers" / name / manifest.MANIFEST_NAME).read_text()
    write_variant(servers, name, src)


def _missing(names):
    ctx = Context.from_env()
    out = []
    for name in names:
        v = manifest.parse_manifest(ROOT / "servers" / name / manifest.MANIFEST_NAME, ctx)
        out += [m.reason for m in manifest.missing_requirements(v, ctx)]
    return out


WSGI_PAIR = ["wsgi-httpbridge", "wsgi-gunicorn"]


@pytest.mark.skipif(bool(_missing(WSGI_PAIR)), reason="; ".join(_missing(WSGI_PAIR)))
def test_a_run_times_each_app_alone_per_round_and_next_to_each_split_case(tmp_path):
    servers = tmp_path / "servers"
    for name in WSGI_PAIR:
        _copy(servers, name)
    hello_variant(servers, "py-hello")
    proc = run_cli("bench", "--quick", "--repeats", "2", "--scenarios", "lol,keepalive",
                   "--servers-dir", servers, "--results-dir", tmp_path / "results",
                   "--plots-dir", tmp_path / "plots")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "app alone: wsgi_app:application, in-process, round 2/2 ... GET /" in proc.stdout
    (run_dir,) = (tmp_path / "results").iterdir()
    run = results.load_run(run_dir)
    entry = run["app_costs"]["wsgi_app:application"]
    assert sorted(entry["variants"]) == sorted(WSGI_PAIR)
    assert [r["round"] for r in entry["rounds"]] == [1, 2]
    for r in entry["rounds"]:
        assert r["error"] is None and r["cases"]["GET /"]["us_per_request"] >= 0
    assert run["variants"]["py-hello"]["app_cost_key"] is None
    for name in WSGI_PAIR:
        assert run["variants"][name]["app_cost_key"] == "wsgi_app:application"
        got = app_split.split(run, name, "keepalive", "c=10")
        assert got["paired"] and got["overhead"] is not None
        for m in run["measurements"]:
            if m["variant"] != name:
                continue
            alone = m.get("app_alone")
            if m["scenario"] != "keepalive":
                assert alone is None, m["scenario"]  # the lol table has no split
                continue
            assert alone["key"] == "wsgi_app:application" and alone["case"] == "GET /"
            assert alone["us_per_request"] == pytest.approx(
                (alone["before_us"] + alone["after_us"]) / 2)
    line = proc.stdout.split("wsgi-gunicorn keepalive c=10 repeat 2/2 ... ")[1].splitlines()[0]
    assert "; app alone " in line and " after" in line

    table = (run_dir / "table.md").read_text()
    section = table.split("## Same app, different servers")[1].split("\n## ")[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("| wsgi |")]
    assert sorted(r.split(" | ")[1] for r in rows) == sorted(WSGI_PAIR)
    keepalive = table.split("## Keep-alive: req/s")[1].split("\n## ")[0]
    names = [ln.split(" | ")[0].strip("| ").split(" ")[0]
             for ln in keepalive.splitlines() if ln.startswith("| ") and " App " not in ln]
    assert names[0] == "py-hello" and set(names[1:]) == set(WSGI_PAIR)  # handler group first
    assert "Every row ran a bare handler." in table  # a bare WSGI callable is no framework
    plots = tmp_path / "plots" / run_dir.name
    assert (plots / "app_split.svg").stat().st_size > 1000
    assert "app_split" in (plots / "report.html").read_text()


def test_a_run_of_the_lol_scenario_alone_times_no_app(tmp_path):
    servers = tmp_path / "servers"
    _copy(servers, "wsgi-gunicorn")
    if _missing(["wsgi-gunicorn"]):
        pytest.skip("; ".join(_missing(["wsgi-gunicorn"])))
    proc = run_cli("run", "--quick", "--scenarios", "lol", "--servers-dir", servers,
                   "--results-dir", tmp_path / "results")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "app alone" not in proc.stdout
    (run_dir,) = (tmp_path / "results").iterdir()
    assert results.load_run(run_dir)["app_costs"] == {}

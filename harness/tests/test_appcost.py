"""harness.appcost and app_alone: a WSGI app timed alone, in-process, in a child interpreter
that stays up between answers; the apps named by variant commands."""

import io
import json
import shlex
import tomllib

import pytest

from harness import app_alone, appcost
from harness.config import ROOT
from harness.tests.helpers import PYTHON

APPS = str(ROOT / "servers" / "apps")
QUICK = {"runs": 3, "warmups": 0, "min_time": 0.005}


def hello(environ, start_response):
    body = environ["wsgi.input"].read() if environ["PATH_INFO"] == "/echo" else b"Hello, world.\n"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def test_measure_here_gives_microseconds_per_request_with_spread():
    results = appcost.measure_here(hello, **QUICK)
    assert set(results) == {"GET /", "POST /echo"}
    for r in results.values():
        assert len(r["runs"]) == 3 and r["loops"] >= 1
        assert r["min"] <= r["us_per_request"] <= r["max"]
        assert r["stdev"] >= 0 and r["scaffold_us"] > 0


def test_every_call_gets_a_fresh_environ_and_input_and_close_is_called():
    seen, closed = [], []

    class Body(list):
        def close(self):
            closed.append(True)

    def app(environ, start_response):
        seen.append(("mark" in environ, environ["wsgi.input"].read()))
        environ["mark"] = True
        start_response("200 OK", [])
        return Body([b"Hello, world.\n"])

    appcost.measure_here(app, cases=appcost.CASES[:1], **QUICK)
    assert seen and not any(mark for mark, _ in seen)
    assert len(closed) == len(seen)


@pytest.mark.parametrize("app, message", [
    (lambda environ, start_response: (start_response("404 Not Found", []), [b"no"])[1],
     "answered '404 Not Found'"),
    (lambda environ, start_response: iter(()), "answered 'nothing'"),
    (lambda environ, start_response: 1 / 0, "raised ZeroDivisionError"),
])
def test_a_broken_app_is_refused_not_timed(app, message):
    with pytest.raises(appcost.AppCostError, match=message):
        appcost.measure_here(app, **QUICK)


def test_measure_runs_the_app_in_a_child_interpreter():
    result = app_alone.measure("wsgi_app:application", [APPS], python=PYTHON, **QUICK)
    assert result["spec"] == "wsgi_app:application" and result["settings"]["runs"] == 3
    assert result["cases"]["GET /"]["us_per_request"] >= 0
    assert len(result["cases"]["POST /echo"]["runs"]) == 3


def test_measure_flask_in_a_child_interpreter():
    pytest.importorskip("flask")
    result = app_alone.measure("flask_app:app", [APPS], python=PYTHON, **QUICK)
    assert result["cases"]["GET /"]["us_per_request"] > 0  # a framework is never free


@pytest.mark.parametrize("spec, message", [
    ("no_such_module:app", "cannot import 'no_such_module'"),
    ("wsgi_app:missing", "'wsgi_app' has no attribute 'missing'"),
    ("wsgi_app:HELLO", "wsgi_app:HELLO is not callable"),
])
def test_measure_says_what_is_missing(spec, message):
    with pytest.raises(appcost.AppCostError, match=message):
        app_alone.measure(spec, [APPS], python=PYTHON, **QUICK)


STALLS = """
import os, time
calls = 0

def app(environ, start_response):
    global calls
    calls += 1
    if calls > 2:  # the checks pass; the first timed call does not return
        {action}
    start_response("200 OK", [])
    return [environ["wsgi.input"].read() if environ["PATH_INFO"] == "/echo" else b"Hello, world.\\n"]
"""


def test_the_child_stays_up_and_calibrates_once():
    with app_alone.AppAlone("wsgi_app:application", [APPS], python=PYTHON) as child:
        first = child.measure(["GET /"], **QUICK)["cases"]
        second = child.measure(["GET /", "POST /echo"], **QUICK)["cases"]
        assert set(first) == {"GET /"} and set(second) == {"GET /", "POST /echo"}
        assert second["GET /"]["loops"] == first["GET /"]["loops"]
        assert second["GET /"]["scaffold_loops"] == first["GET /"]["scaffold_loops"]
        with pytest.raises(appcost.AppCostError, match="no case 'GET /nope'"):
            child.measure(["GET /nope"], **QUICK)
        assert child.measure(["POST /echo"], **QUICK)["cases"]["POST /echo"]["us_per_request"] >= 0


def _serve(app, *asks):
    answers = io.StringIO()
    appcost.serve(app, io.StringIO("".join(json.dumps(a) + "\n" for a in asks)), answers)
    return [json.loads(line) for line in answers.getvalue().splitlines()]


def test_serve_calibrates_once_per_case_and_run_length(monkeypatch):
    calibrated = []
    real = appcost._calibrate

    def counting(app, base, body, min_time):
        calibrated.append(min_time)
        return real(app, base, body, min_time)

    monkeypatch.setattr(appcost, "_calibrate", counting)
    short = {"cases": ["GET /"], "runs": 1, "warmups": 0, "min_time": 0.002}
    ready, *answers = _serve(hello, short, short, {**short, "min_time": 0.004})
    assert ready["ready"] and all("cases" in a for a in answers)
    # scaffold and app, once for 2 ms (the second request reuses them), once more for 4 ms
    assert calibrated == [0.002, 0.002, 0.004, 0.004]


def test_serve_tells_a_bad_request_from_an_app_that_fails():
    calls = []

    def fails_late(environ, start_response):
        calls.append(1)
        if len(calls) > 2:  # the checks pass
            raise ValueError("late")
        return hello(environ, start_response)

    _, bad, failed = _serve(fails_late, {"cases": ["GET /nope"]}, {"cases": ["GET /"], **QUICK})
    assert bad["error"].startswith("bad request") and "no case 'GET /nope'" in bad["error"]
    assert failed == {"error": "the app raised ValueError: late"}


def _stalling(tmp_path, action):
    (tmp_path / "stalls.py").write_text(STALLS.replace("{action}", action))
    return str(tmp_path)


def test_a_child_that_dies_mid_answer_is_an_error_not_a_hang(tmp_path):
    action = "print('about to go', file=__import__('sys').stderr); os._exit(3)"
    with app_alone.AppAlone("stalls:app", [_stalling(tmp_path, action)], python=PYTHON) as child:
        with pytest.raises(appcost.AppCostError,
                           match="exit status 3 while timing GET /, POST /echo; "
                                 "its stderr ends with 'about to go'"):
            child.measure(**QUICK)


def test_a_child_that_does_not_answer_in_time_is_killed(tmp_path):
    with app_alone.AppAlone("stalls:app", [_stalling(tmp_path, "time.sleep(3600)")],
                            python=PYTHON, timeout=1) as child:
        with pytest.raises(appcost.AppCostError, match="not done within 1 s"):
            child.measure(**QUICK)
        assert child._proc.poll() is not None


def test_what_an_app_prints_does_not_garble_the_answers(tmp_path):
    (tmp_path / "chatty.py").write_text(
        "print('importing chatty')\n"
        "def app(environ, start_response):\n"
        "    print('a request')\n"
        "    start_response('200 OK', [])\n"
        "    return [environ['wsgi.input'].read() if environ['PATH_INFO'] == '/echo'"
        " else b'Hello, world.\\n']\n")
    result = app_alone.measure("chatty:app", [str(tmp_path)], python=PYTHON, **QUICK)
    assert result["cases"]["GET /"]["loops"] >= 1


def test_an_app_that_failed_is_not_started_again(tmp_path):
    apps = {"bad": {"spec": "no_such_module:app", "paths": [APPS]},
            "good": {"spec": "wsgi_app:application", "paths": [APPS]}}
    children = app_alone.Children(apps, PYTHON, None)
    try:
        for _ in range(2):
            with pytest.raises(appcost.AppCostError, match="cannot import 'no_such_module'"):
                children.measure("bad", **QUICK)
        assert "bad" not in children._up
        assert children.measure("good", ["GET /"], **QUICK)["cases"]["GET /"]["loops"] >= 1
    finally:
        children.close()
    assert not children._up


def command_of(variant):
    spec = tomllib.loads((ROOT / "servers" / variant / "variant.toml").read_text())
    fill = {"{root}": str(ROOT), "{python}": PYTHON, "{build_dir}": "/b", "{host}": "h", "{port}": "1",
            "{threads}": "1", "{variant_dir}": str(ROOT / "servers" / variant)}
    text, env = spec["run"]["command"], dict(spec["run"].get("env", {}))
    for key, value in fill.items():
        text = text.replace(key, value)
        env = {k: v.replace(key, value) for k, v in env.items()}
    return shlex.split(text), env


@pytest.mark.parametrize("variant, spec", [
    ("wsgi-httpbridge", "wsgi_app:application"),
    ("flask-httpbridge", "flask_app:app"),
    ("django-httpbridge", "django_hello.wsgi:application"),
    ("flask-gunicorn", "flask_app:app"),
    ("flask-gunicorn-gthread", "flask_app:app"),
    ("wsgi-gunicorn", "wsgi_app:application"),
    ("flask-waitress", "flask_app:app"),
    ("flask-uwsgi", "flask_app:app"),
    ("wsgi-uwsgi", "wsgi_app:application"),
    ("django-gunicorn", "django_hello.wsgi:application"),
    ("django-uwsgi", "django_hello.wsgi:application"),
])
def test_the_app_each_wsgi_variant_serves(variant, spec):
    found = appcost.app_of_command(*command_of(variant))
    assert found is not None and found[0] == spec
    assert APPS in found[1]


def test_a_variant_without_a_wsgi_app():
    assert appcost.app_of_command(*command_of("python-pybind11")) is None
    assert appcost.app_of_command(*command_of("cpp-beast")) is None

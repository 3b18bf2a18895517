"""wrk's JSON line and ab's summary, read from outputs captured from real runs (tests/data)."""

import pytest

from harness import load
from harness.tests.helpers import sample


def test_wrk_keepalive_sample():
    r = load.parse_wrk(sample("wrk_keepalive.txt"))
    assert r["requests"] == 45504
    assert r["duration_s"] == pytest.approx(1.004211)
    assert r["rps"] == pytest.approx(45504 / 1.004211)
    assert r["errors"] == {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    assert r["non_2xx"] == 0
    lat = r["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]
    assert load.wrk_problems(r) == []


def test_wrk_json_is_read_not_the_text_table():
    text = sample("wrk_keepalive.txt").replace("Requests/sec:", "Requests/sec: 1 #")
    assert load.parse_wrk(text)["requests"] == 45504


def test_wrk_pipeline_sample_drops_percentiles_wrk_cannot_place():
    r = load.parse_wrk(sample("wrk_pipeline.txt"))
    assert r["rps"] > 100_000
    assert r["latency_ms"]["p50"] > 0
    assert r["latency_ms"]["p99"] is None  # wrk printed 0: never a real latency


def test_wrk_echo_sample():
    r = load.parse_wrk(sample("wrk_echo_16k.txt"))
    assert r["rps"] > 0 and r["bytes"] > r["requests"] * 16384
    assert load.wrk_problems(r) == []


def test_wrk_socket_errors_make_the_run_invalid():
    r = load.parse_wrk(sample("wrk_socket_errors.txt"))
    assert r["errors"]["write"] > 0 and r["errors"]["read"] > 0
    problems = load.wrk_problems(r)
    assert len(problems) == 1 and problems[0].startswith("socket errors: read ")


def test_wrk_status_errors_make_the_run_invalid():
    text = sample("wrk_keepalive.txt").replace('"status":0', '"status":7')
    r = load.parse_wrk(text)
    assert r["non_2xx"] == 7
    assert load.wrk_problems(r) == ["7 non-2xx answers"]


def test_wrk_without_json_line_is_a_parse_error():
    with pytest.raises(load.ParseError, match="HB-WRK-JSON"):
        load.parse_wrk("Running 1s test @ http://127.0.0.1:1/\n")


def test_ab_sample():
    r = load.parse_ab(sample("ab_ok.txt"))
    assert r["complete"] == 2000 and r["failed"] == 0 and r["non_2xx"] == 0
    assert r["concurrency"] == 10
    assert r["total_s"] == pytest.approx(0.173)
    assert r["rps"] == pytest.approx(11586.81)
    assert r["time_per_request_ms"] == pytest.approx(0.863)
    assert r["time_per_request_all_ms"] == pytest.approx(0.086)
    assert r["latency_ms"]["p50"] is not None and r["latency_ms"]["max"] is not None
    assert r["error"] is None
    assert load.ab_problems(r, 2000) == []


def test_ab_non_2xx_is_invalid():
    r = load.parse_ab(sample("ab_non2xx.txt"))
    assert r["non_2xx"] == 500
    assert load.ab_problems(r, 500) == ["500 non-2xx answers"]


def test_ab_failed_requests_are_invalid_with_their_kinds():
    r = load.parse_ab(sample("ab_failed_length.txt"))
    assert r["failed"] == 200
    assert r["failed_by_kind"] == {"connect": 0, "receive": 0, "length": 200, "exceptions": 0}
    assert load.ab_problems(r, 300) == ["200 failed requests (length 200)"]


def test_ab_that_gave_up_reports_why_and_how_far():
    r = load.parse_ab(sample("ab_reset.stdout.txt"), sample("ab_reset.stderr.txt"))
    assert r["complete"] is None
    assert r["completed"] == 400
    assert "Connection reset by peer" in r["error"]
    problems = load.ab_problems(r, 2000, 104)
    assert problems == [f"ab stopped: {r['error']} after 400 of 2000 requests"]


def test_commands_are_the_reference_invocations(monkeypatch):
    assert load.ab_command("http://127.0.0.1:5/", 10000, 10) == [
        "ab", "-n", "10000", "-c", "10", "http://127.0.0.1:5/"]
    cmd = load.wrk_command("http://127.0.0.1:5/", 64, 3, "pipeline.lua", [16], cpus="1")
    assert cmd[:3] == ["taskset", "-c", "1"]
    assert cmd[3:8] == ["wrk", "-t1", "-c64", "-d3s", "--timeout=5s"]
    assert cmd[-2:] == ["--", "16"] and cmd[9].endswith("harness/lua/pipeline.lua")

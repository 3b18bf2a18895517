"""hb-loadgen against real servers on 127.0.0.1: does it measure what it claims?

The servers are harness/loadgen/tests/loadgen_test_server.py, which counts what it
receives and can stall, slow down, close, reset or hang on purpose. Assertions are on
counts, which are exact; the only timing assertion is the one the design prescribes
(a 200 ms stall shows in the corrected p99 and not in the uncorrected one), and it
compares orders of magnitude, so a loaded machine cannot make it fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import time

import pytest

from harness.config import ROOT
from harness.tests.helpers import PYTHON

BUILD_DIR = os.path.abspath(os.environ.get("HB_BUILD_DIR") or ROOT / "build")
LOADGEN = os.path.join(BUILD_DIR, "harness", "loadgen", "hb-loadgen")
TEST_SERVER = ROOT / "harness" / "loadgen" / "tests" / "loadgen_test_server.py"

pytestmark = pytest.mark.skipif(not os.access(LOADGEN, os.X_OK),
                                reason=f"{LOADGEN} not built (run make build)")


class CountingServer:
    def __init__(self, proc: subprocess.Popen, port: int):
        self.proc, self.port = proc, port
        self.counts: dict | None = None

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def counting_server(*args: str):
    """Start the counting server; on leaving, stop it and read its counts into .counts."""
    proc = subprocess.Popen([PYTHON, str(TEST_SERVER), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        server = CountingServer(proc, wait_for_listening(proc, timeout=20))
        yield server
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        server.counts = json.loads(out.strip().splitlines()[-1])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_for_listening(proc: subprocess.Popen, timeout: float) -> int:
    """The port from the server's `listening on http://H:P` line, bounded by timeout."""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if sel.select(deadline - time.monotonic()):
                line = proc.stderr.readline()
                if not line:
                    break
                if line.startswith("listening on http://"):
                    return int(line.strip().rsplit(":", 1)[1])
    raise AssertionError(f"test server did not start (exit {proc.poll()})")


def loadgen(*args, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    proc = subprocess.run([LOADGEN, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return proc, time.monotonic() - t0


def loadgen_json(*args, timeout: float = 60) -> dict:
    proc, _ = loadgen(*args, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["format"] == "httpbridge-loadgen" and data["schema_version"] == 1
    return data


def free_port() -> int:
    """A port nobody listens on: bound once by us, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- what it measures


def test_a_stall_shows_in_the_corrected_p99_and_not_in_the_uncorrected_one():
    # 1000 req/s over 2 connections; the server stalls 200 ms of every second. About 20%
    # of the requests fall due during a stall and wait up to 200 ms for it to end: the
    # corrected p99 sits near 190 ms. Each connection has one request in flight when a
    # stall starts, so only 2 answers per stall are slow from their actual send: 0.2%,
    # under the 1% that p99 could see.
    with counting_server("--pause-ms", "200", "--period-ms", "1000") as server:
        data = loadgen_json("--rate", 1000, "-c", 2, "-d", "3s", server.url())
    corrected = data["latency_us"]["corrected"]
    uncorrected = data["latency_us"]["uncorrected"]
    assert corrected["p99"] >= 50_000, corrected
    assert corrected["max"] >= 150_000, corrected
    assert uncorrected["p99"] * 4 <= corrected["p99"], (uncorrected, corrected)
    # The uncorrected view still saw the stall once per connection, in its maximum.
    assert uncorrected["max"] >= 100_000, uncorrected
    assert data["errors_total"] == 0


def test_requests_keepalive_and_status_as_the_server_counted_them():
    with counting_server() as server:
        data = loadgen_json("--rate", 500, "-c", 4, "-d", "2s", server.url())
    counts = server.counts
    # An even schedule of 500 req/s for 2 s is exactly 1000 requests.
    assert data["sent"] + data["unsent"] == 1000
    assert counts["requests"] == data["sent"] == data["requests"] + data["unanswered"]
    assert data["status"]["2xx"] == data["requests"] and data["non_2xx"] == 0
    # Keep-alive held: 4 connections, plus the one hb-loadgen opens first to check the server is there.
    assert data["connections_opened"] == 4 and counts["connections"] == 4 + 1
    assert counts["methods"] == {"GET": counts["requests"]} and counts["paths"] == {"/": counts["requests"]}
    assert data["offered_rps"] == data["scheduled_rps"] == 500
    assert data["answered_in_window"] <= data["requests"]  # no warmup: nothing came before
    assert data["latency_us"]["corrected"]["count"] == data["requests"]


def test_every_non_2xx_answer_is_counted_by_class():
    with counting_server() as server:  # /cycle answers 200, 301, 404, 503 in turn
        data = loadgen_json("-c", 3, "-d", "1s", server.url("/cycle"))
    counts = server.counts
    assert data["requests"] == counts["requests"] > 100
    assert data["status"]["2xx"] == counts["statuses"]["200"]
    assert data["status"]["3xx"] == counts["statuses"]["301"]
    assert data["status"]["4xx"] == counts["statuses"]["404"]
    assert data["status"]["5xx"] == counts["statuses"]["503"]
    assert data["non_2xx"] == data["requests"] - counts["statuses"]["200"]
    assert data["errors_total"] == 0


def test_post_bodies_arrive_whole_and_come_back():
    with counting_server() as server:
        data = loadgen_json("-m", "POST", "--body-size", 3000, "--rate", 300, "-c", 2, "-d", "1s",
                            server.url("/echo"))
    counts = server.counts
    assert counts["methods"] == {"POST": counts["requests"]} and counts["requests"] == data["sent"]
    assert counts["body_bytes"] == 3000 * counts["requests"] and counts["bad_bodies"] == 0
    assert data["status"]["2xx"] == data["requests"] > 0
    assert data["bytes_read"] >= 3000 * data["requests"]  # the echoed bodies were read through


def test_head_answers_are_read_without_a_body():
    # The answers say Content-Length: 14 and carry no body: waiting for one would stall.
    with counting_server() as server:
        data = loadgen_json("-m", "HEAD", "--pipeline", 4, "-c", 2, "-d", "500ms", server.url())
    assert server.counts["methods"] == {"HEAD": server.counts["requests"]}
    assert data["requests"] == server.counts["requests"] > 0
    assert data["errors_total"] == 0 and data["status"]["2xx"] == data["requests"]


def test_a_server_that_closes_every_connection_costs_reconnects_not_errors():
    with counting_server("--close-each") as server:
        data = loadgen_json("--rate", 200, "-c", 2, "-d", "1s", server.url())
    assert data["errors_total"] == 0 and data["requests"] > 0
    assert data["connections_opened"] >= data["requests"]
    assert server.counts["connections"] >= server.counts["requests"]


@pytest.mark.parametrize("depth", [1, 8])
def test_pipeline_depth_is_honoured(depth):
    with counting_server() as server:
        data = loadgen_json("--pipeline", depth, "-c", 2, "-d", "1s", server.url())
    # Closed loop: each connection refills its pipeline as answers come back, so the
    # first write of every connection alone holds `depth` requests.
    assert server.counts["max_pipelined"] == depth
    assert server.counts["requests"] == data["sent"] and data["errors_total"] == 0


def test_open_loop_pipelining_never_exceeds_the_depth():
    with counting_server("--pause-ms", "100", "--period-ms", "500") as server:
        data = loadgen_json("--rate", 2000, "--pipeline", 4, "-c", 1, "-d", "1s", server.url())
    # During a stall requests pile up; at most 4 may be in flight on the one connection.
    assert 2 <= server.counts["max_pipelined"] <= 4
    assert data["errors_total"] == 0


def test_a_server_too_slow_for_the_rate_is_marked_saturated():
    with counting_server("--delay-ms", "20") as server:  # at most 50 answers/s per connection
        data = loadgen_json("--rate", 400, "-c", 2, "-d", "1s", server.url())
    assert data["saturated"] is True
    assert data["achieved_rps"] < 0.99 * data["offered_rps"]
    assert data["unsent"] > 0 and data["sent"] + data["unsent"] == 400
    # Those sent late are timed from when they were due: far worse than the 20 ms delay.
    assert data["latency_us"]["corrected"]["max"] > 5 * data["latency_us"]["uncorrected"]["p50"]


def test_poisson_schedule_sends_the_seeded_number_of_requests():
    runs = []
    for _ in range(2):
        with counting_server() as server:
            runs.append(loadgen_json("--rate", 500, "--poisson", "--seed", 7, "-c", 2, "-d", "1s",
                                     server.url()))
    planned = [r["sent"] + r["unsent"] for r in runs]
    assert planned[0] == planned[1]  # the seed fixes the plan
    assert 400 < planned[0] < 600 and planned[0] != 500
    assert runs[0]["settings"]["schedule"] == "poisson"


def test_busy_poll_follows_the_same_schedule():
    with counting_server() as server:
        data = loadgen_json("--busy-poll", "--rate", 400, "-c", 2, "-d", "1s", server.url())
    assert data["settings"]["busy_poll"] is True
    assert data["sent"] + data["unsent"] == 400
    assert server.counts["requests"] == data["sent"] and data["errors_total"] == 0


def test_warmup_is_left_out_of_the_figures():
    with counting_server() as server:
        data = loadgen_json("--rate", 400, "-c", 2, "-w", "500ms", "-d", "1s", server.url())
    assert data["sent"] + data["unsent"] == 400  # the measured second only
    assert server.counts["requests"] == 600  # the warmup's 200 were sent all the same
    assert data["requests"] <= 400 and data["latency_us"]["corrected"]["count"] == data["requests"]
    assert data["settings"]["warmup_s"] == 0.5


# ---------------------------------------------------------------- failures are counted, never fatal


@pytest.mark.parametrize("mode, kind", [("--close-after", "closed"), ("--reset-after", "reset")])
def test_closed_or_reset_connections_are_counted_as_errors(mode, kind):
    with counting_server(mode, "5") as server:
        proc, wall = loadgen("--rate", 400, "-c", 2, "-d", "1s", server.url(), timeout=30)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["errors"][kind] > 0, data["errors"]
    assert data["requests"] > 0 and data["connections_opened"] > 2  # it reconnected and went on
    assert data["requests"] + data["errors_total"] + data["unanswered"] <= data["sent"]
    assert wall < 10


def test_a_hung_server_cannot_hold_the_run_past_its_bound():
    with counting_server("--hang") as server:
        proc, wall = loadgen("--rate", 200, "-c", 2, "-d", "1s", "--timeout", "300ms", server.url(),
                             timeout=30)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["requests"] == 0
    assert data["errors"]["timeout"] > 0
    assert data["saturated"] is True
    # duration 1 s + grace (min(timeout, 1 s) = 0.3 s) + start-up: nowhere near the 30 s limit.
    assert wall < 6


def test_a_refused_connection_is_a_clear_error():
    port = free_port()
    proc, wall = loadgen("-d", "1s", f"http://127.0.0.1:{port}/", timeout=30)
    assert proc.returncode == 1
    assert "cannot connect" in proc.stderr and "refused" in proc.stderr.lower()
    assert proc.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["https://127.0.0.1/"], "https is not supported"),
    (["http://127.0.0.1:70000/"], "port must be a number"),
    (["127.0.0.1:8080"], "must start with http://"),
    (["--rate", "lots", "http://127.0.0.1/"], "--rate: 'lots' is not a number"),
    (["--connections", "0", "http://127.0.0.1/"], "--connections"),
    (["--bogus", "http://127.0.0.1/"], "unknown option --bogus"),
    ([], "no URL given"),
])
def test_bad_usage_exits_2_with_the_reason(args, message):
    proc, _ = loadgen(*args)
    assert proc.returncode == 2
    assert message in proc.stderr and "--help" in proc.stderr
    assert proc.stdout == ""


def test_help_names_every_option():
    proc, _ = loadgen("--help")
    assert proc.returncode == 0
    for option in ("--rate", "--connections", "--threads", "--duration", "--warmup", "--method",
                   "--body-size", "--pipeline", "--poisson", "--timeout", "--busy-poll"):
        assert option in proc.stdout


# ---------------------------------------------------------------- the JSON


def test_json_figures_are_consistent():
    with counting_server() as server:
        data = loadgen_json("--rate", 1000, "-c", 4, "-t", 2, "-d", "1s", server.url())
    assert data["settings"]["threads"] == 2 and data["settings"]["mode"] == "open-loop"
    for name in ("corrected", "uncorrected"):
        h = data["latency_us"][name]
        values = [h["min"], h["p50"], h["p90"], h["p99"], h["p99.9"], h["p99.99"], h["max"]]
        assert values == sorted(values) and h["count"] == data["requests"], h
        spectrum = h["spectrum"]
        assert spectrum[0][0] == 0 and spectrum[-1] == [100.0, h["max"]]
        assert [p for p, _ in spectrum] == sorted(p for p, _ in spectrum)
        assert [v for _, v in spectrum] == sorted(v for _, v in spectrum)
    lag = data["sender_lag_us"]
    assert lag["count"] == data["sent"] and lag["p99"] <= lag["max"]
    assert set(data["errors"]) == {"connect", "closed", "reset", "read", "write", "timeout", "parse"}
    assert data["client"]["cpu_s"] >= 0 and data["client"]["wall_s"] >= 1


def test_closed_loop_json_has_no_offered_rate():
    with counting_server() as server:
        data = loadgen_json("-c", 2, "-d", "500ms", server.url())
    assert data["settings"]["mode"] == "closed-loop"
    assert data["offered_rps"] is None and data["saturated"] is None and data["sender_lag_us"] is None
    assert data["requests"] == server.counts["requests"] > 0

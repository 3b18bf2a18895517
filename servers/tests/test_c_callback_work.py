"""c-callback --work-us: the C handler as slow as a given app, which harness/floor.py serves
to measure what a request of that app costs a server with no Python in it."""

import dataclasses
import os
import subprocess

import pytest
from conftest import CTX, check_requirements, variant

from harness import lifecycle, procstat
from harness.httpclient import Connection

BINARY = CTX.build_dir / "servers" / "c-callback" / "c-callback"


def run_seconds(pgid: int) -> float:
    """CPU time the group's threads have run, exact (schedstat, ns), where /proc/PID/stat's
    utime and stime are sampled once per tick."""
    total = 0
    for pid in procstat.group_pids(pgid):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    return total / 1e9


@pytest.fixture(scope="module")
def working(tmp_path_factory):
    v = variant("c-callback")
    check_requirements(v)
    v = dataclasses.replace(v, run_command=[*v.run_command, "--work-us", "2000"])
    server = lifecycle.start(v, tmp_path_factory.mktemp("work"), "c-callback-work")
    yield server
    lifecycle.stop(server)


def test_each_get_spends_at_least_the_work_and_answers_as_without_it(working):
    # a lower bound, not a timing: the handler spins on its own CPU clock until it has spent
    # the work, so 20 answers cannot cost the server less than 20 x 2 ms of CPU
    before = run_seconds(working.pgid)
    with Connection(working.host, working.port) as conn:
        for _ in range(20):
            r = conn.request("GET", "/")
            assert (r.status, r.body) == (200, b"Hello, world.\n")
    assert run_seconds(working.pgid) - before >= 20 * 0.002


def test_the_work_is_only_for_get_slash(working):
    with Connection(working.host, working.port) as conn:
        assert conn.request("POST", "/echo", b"abc").body == b"abc"
        assert conn.request("GET", "/missing").status == 404


@pytest.mark.parametrize("value", ["abc", "-1", "1000001", "nan", "", "5us"])
def test_a_bad_work_value_is_a_usage_error_that_names_it(value):
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is not built: make build")
    proc = subprocess.run([BINARY, "--port", "0", "--work-us", value], capture_output=True,
                          text=True, timeout=10)
    assert proc.returncode == 2
    assert f"--work-us wants microseconds from 0 to 1000000, not '{value}'" in proc.stderr


def test_help_documents_the_work_option():
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is not built: make build")
    proc = subprocess.run([BINARY, "--help"], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0 and "--work-us US" in proc.stdout

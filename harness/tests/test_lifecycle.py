"""Start, readiness, verify and stop against the stdlib test server (no timings asserted)."""

import os
import time
from pathlib import Path

import pytest

from harness import lifecycle, procstat, verify
from harness.manifest import parse_manifest
from harness.tests.helpers import hello_variant, write_variant


def variant(ctx, name, **kw):
    return parse_manifest(hello_variant(ctx.servers_dir, name, **kw) / "variant.toml", ctx)


def command_variant(ctx, name, command, ready_timeout=20):
    d = write_variant(ctx.servers_dir, name, f"""
        title = "t"
        server = "test"
        handler = "python"
        [build]
        system = "none"
        [run]
        command = '''{command}'''
        ready_timeout = {ready_timeout}
    """)
    return parse_manifest(d / "variant.toml", ctx)


def test_start_verify_stop(ctx, tmp_path):
    v = variant(ctx, "hello")
    server = lifecycle.start(v, tmp_path / "logs", "s")
    try:
        assert server.alive() and server.pgid == server.proc.pid
        assert not lifecycle.port_is_free(server.host, server.port)
        checks = verify.verify(server.host, server.port, v)
        assert [c.name for c in checks] == verify.CHECK_NAMES
        assert all(c.ok for c in checks), verify.failure_summary(checks)
        assert procstat.group_peak_rss_kib(server.pgid) > 0
    finally:
        info = lifecycle.stop(server)
    assert info["port_free"] and not info["killed"]
    assert info["exit"].startswith("stopped by SIGTERM")
    assert procstat.group_pids(server.pgid) == []


def test_verify_reports_the_wrong_content_type(ctx, tmp_path):
    v = variant(ctx, "html", args="--content-type text/html")
    server = lifecycle.start(v, tmp_path, "s")
    try:
        checks = verify.verify(server.host, server.port, v)
    finally:
        lifecycle.stop(server)
    failed = {c.name: c.detail for c in checks if c.ok is False}
    assert "GET /" in failed and "'text/html', expected 'text/plain'" in failed["GET /"]
    assert not verify.passed(checks)


@pytest.mark.parametrize("mode, ok", [("close", True), ("body-close", False)])
def test_a_server_may_close_after_head_but_never_send_a_body(ctx, tmp_path, mode, ok):
    v = variant(ctx, f"head-{mode}", args=f"--head {mode}")
    server = lifecycle.start(v, tmp_path, "s")
    try:
        checks = {c.name: c for c in verify.verify(server.host, server.port, v)}
    finally:
        lifecycle.stop(server)
    head = checks["HEAD /"]
    assert head.ok is ok, head.detail
    if ok:  # passed, and the record says how
        assert head.detail == verify.HEAD_THEN_CLOSE
    else:
        assert "Hello, world." in head.detail  # the stray body is what it names


def test_checks_the_manifest_does_not_claim_are_not_applicable(ctx, tmp_path):
    v = variant(ctx, "nopipe", pipelining=False)
    server = lifecycle.start(v, tmp_path, "s")
    try:
        checks = {c.name: c for c in verify.verify(server.host, server.port, v)}
    finally:
        lifecycle.stop(server)
    assert checks["pipelined"].ok is None and "pipelining = false" in checks["pipelined"].detail


def test_a_server_that_exits_fails_fast_with_its_stderr(ctx, tmp_path):
    v = command_variant(ctx, "dies", "{python} -c \"import sys; sys.stderr.write('boom: bad "
                                     "flag\\\\n'); sys.exit(7)\"", ready_timeout=120)
    t0 = time.monotonic()
    with pytest.raises(lifecycle.LifecycleError) as info:
        lifecycle.start(v, tmp_path, "s")
    assert time.monotonic() - t0 < 60  # did not wait for the 120 s ready_timeout
    assert "exited with code 7" in str(info.value) and "boom: bad flag" in str(info.value)


def test_readiness_wait_is_bounded_and_leaves_nothing_running(ctx, tmp_path):
    v = command_variant(ctx, "silent", "sleep 61.2345", ready_timeout=0.5)
    with pytest.raises(lifecycle.LifecycleError, match=r"did not listen on port \d+ within 0.5 s"):
        lifecycle.start(v, tmp_path, "s")
    assert processes_with(b"61.2345") == []


def processes_with(marker: bytes) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and marker in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            pass
    return found


def test_stop_ends_the_whole_process_group(ctx, tmp_path):
    from harness.tests.helpers import HELLO_SERVER
    v = command_variant(ctx, "forks", f"sh -c 'sleep 300 & exec {{python}} {HELLO_SERVER} "
                                      "--port {port}'")
    server = lifecycle.start(v, tmp_path, "s")
    assert len(procstat.group_pids(server.pgid)) == 2  # the server and its sleeping child
    info = lifecycle.stop(server)
    assert info["port_free"]
    assert procstat.group_pids(server.pgid) == []


def test_a_server_ignoring_sigterm_is_killed(ctx, tmp_path):
    v = variant(ctx, "stubborn", args="--ignore-sigterm")
    server = lifecycle.start(v, tmp_path, "s")
    info = lifecycle.stop(server, timeout=0.5)
    assert info["killed"] and "SIGKILL" in info["exit"]
    assert info["port_free"] and procstat.group_pids(server.pgid) == []


def test_free_port_is_free():
    port = lifecycle.free_port()
    assert lifecycle.port_is_free("127.0.0.1", port)

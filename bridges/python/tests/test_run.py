"""run() in its own process: the reference example, signals, threads, workers."""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import TIMEOUT, request, wait_for_port

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hello.py"


def wait_for_text(read, text: str, timeout: float = TIMEOUT) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in (content := read()):
            return content  # type: ignore[no-any-return]
        time.sleep(0.02)
    raise AssertionError(f"{text!r} did not appear within {timeout} s in:\n{read()}")


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# ---- the reference post's example --------------------------------------------


def test_reference_example_runs_unchanged(spawn) -> None:  # type: ignore[no-untyped-def]
    source = EXAMPLE.read_text()
    assert source.startswith("from httpbridge import route, run\n")
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 5000))
        except OSError:
            pytest.skip("port 5000 is taken here; test_reference_example_on_a_free_port covers it")
    server = spawn([sys.executable, str(EXAMPLE)], 5000)
    r = request(5000)
    assert (r.status, r.body) == (200, b"Hello, world.\n")
    assert server.stop(signal.SIGINT) == 0
    assert server.stdout == " * Running on http://127.0.0.1:5000/\n"


def test_reference_example_on_a_free_port(app) -> None:  # type: ignore[no-untyped-def]
    server = app(EXAMPLE.read_text().replace("port=5000", "port=PORT"))
    r = request(server.port)
    assert (r.status, r.body) == (200, b"Hello, world.\n")
    assert server.stop(signal.SIGINT) == 0
    assert server.stdout == f" * Running on http://127.0.0.1:{server.port}/\n"


# ---- signals -------------------------------------------------------------------

SIGNAL_APP = """
import signal, sys, time
from httpbridge import route, run

@route('/')
def index(w, req):
    w.write('up')

@route('/slow')
def slow(w, req):
    print('slow handler started', flush=True)
    time.sleep(0.5)
    w.write('finished')

before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
run(port=PORT)
after = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
print('run returned; handlers restored:', before == after, flush=True)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_run_and_restores_handlers(app, sig: int) -> None:  # type: ignore[no-untyped-def]
    server = app(SIGNAL_APP)
    assert request(server.port).body == b"up"
    assert server.stop(sig, timeout=5) == 0  # bounded: run() must return well within it
    assert "run returned; handlers restored: True" in server.stdout
    assert "Traceback" not in server.stderr


def test_sigterm_lets_the_request_in_flight_finish(app) -> None:  # type: ignore[no-untyped-def]
    server = app(SIGNAL_APP)
    result: list = []  # type: ignore[type-arg]
    client = threading.Thread(target=lambda: result.append(request(server.port, path="/slow")))
    client.start()
    wait_for_text(lambda: server.stdout, "slow handler started")
    server.proc.send_signal(signal.SIGTERM)
    client.join(TIMEOUT)
    assert result and (result[0].status, result[0].body) == (200, b"finished")
    assert server.proc.wait(TIMEOUT) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


# ---- threads ---------------------------------------------------------------------

THREADS_APP = """
import threading, time
from httpbridge import route, run

lock = threading.Lock()
state = {'in_flight': 0, 'max': 0}

@route('/')
def index(w, req):
    with lock:
        state['in_flight'] += 1
        state['max'] = max(state['max'], state['in_flight'])
    time.sleep(0.002)  # releases the GIL: other server threads run handlers meanwhile
    with lock:
        state['in_flight'] -= 1
    w.write(f"{req.query} {threading.get_ident()}")

@route('/max')
def most(w, req):
    w.write(str(state['max']))

run(port=PORT, threads=4)
"""


def test_threads_4_under_concurrent_clients(app) -> None:  # type: ignore[no-untyped-def]
    import http.client

    server = app(THREADS_APP)
    bodies: dict[str, bytes] = {}
    failures: list = []  # type: ignore[type-arg]

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
        try:
            for i in range(40):
                r = request(server.port, path=f"/?{n}-{i}", conn=conn)
                bodies[f"{n}-{i}"] = r.body
                if r.status != 200:
                    failures.append(r.status)
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(repr(e))
        finally:
            conn.close()

    clients = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in clients:
        t.start()
    for t in clients:
        t.join(TIMEOUT)
    assert not failures
    assert len(bodies) == 320
    threads = set()
    for key, body in bodies.items():
        echoed, ident = body.decode().split()
        assert echoed == key  # every answer belongs to its own request
        threads.add(ident)
    assert len(threads) >= 2  # connections are spread over the server threads
    assert int(request(server.port, path="/max").body) >= 2  # handlers did overlap
    assert server.stop() == 0


# ---- workers ---------------------------------------------------------------------

WORKERS_APP = """
import os
from httpbridge import route, run

@route('/')
def index(w, req):
    w.write(str(os.getpid()))

@route('/die')
def die(w, req):
    os._exit(7)

print('parent', os.getpid(), flush=True)
run(port=PORT, workers=2)
print('run returned', flush=True)
"""


def distinct_worker_pids(port: int, want: int = 2, attempts: int = 500) -> set[int]:
    pids: set[int] = set()
    for _ in range(attempts):  # fresh connections: SO_REUSEPORT spreads them by source port
        pids.add(int(request(port).body))
        if len(pids) >= want:
            break
    return pids


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_workers_2_both_serve_and_stop(app, sig: int) -> None:  # type: ignore[no-untyped-def]
    server = app(WORKERS_APP)
    pids = distinct_worker_pids(server.port)
    assert len(pids) == 2
    assert server.proc.pid not in pids
    assert server.stdout.count(" * Running on") == 1
    assert server.stop(sig, timeout=5) == 0
    assert "run returned" in server.stdout
    assert all(pid_gone(pid) for pid in pids)  # the parent reaped them before returning
    assert "worker" not in server.stderr  # a requested stop is not a failure


def test_a_dying_worker_is_reported_and_the_other_serves_on(app) -> None:  # type: ignore[no-untyped-def]
    server = app(WORKERS_APP)
    pids = distinct_worker_pids(server.port)
    assert len(pids) == 2
    with pytest.raises((ConnectionError, OSError)):
        request(server.port, path="/die")  # whichever worker takes it exits without answering
    text = wait_for_text(lambda: server.stderr, "exited with status 7")
    victim = int(re.search(r"httpbridge: worker (\d+) exited with status 7; 1 still serving", text)[1])
    assert victim in pids
    survivor = (pids - {victim}).pop()
    for _ in range(20):  # the survivor answers everything now
        assert int(request(server.port).body) == survivor
    assert server.stop(timeout=5) == 0
    assert pid_gone(survivor) and pid_gone(victim)


def test_workers_on_a_busy_port_raise_oserror(app) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = app(WORKERS_APP.replace("port=PORT", f"port={port}"), ready=False)
        assert server.proc.wait(TIMEOUT) == 1
    assert f"OSError: [Errno 98] cannot listen on 127.0.0.1:{port}" in server.stderr
    assert "run returned" not in server.stdout


def test_wait_for_port_helper_fails_fast_on_exit(app) -> None:  # type: ignore[no-untyped-def]
    server = app("raise SystemExit(4)", ready=False)
    with pytest.raises(AssertionError, match="exited with 4"):
        wait_for_port(server.port, server.proc)

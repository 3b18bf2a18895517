"""Faults: handler exceptions, objects kept past their handler, busy ports, misuse."""

from __future__ import annotations

import errno
import http.client
import socket
import subprocess
import sys
import threading

import pytest
from conftest import TIMEOUT, free_port, request

import httpbridge
from httpbridge import Request, ResponseWriter, Server


def test_exception_gives_500_traceback_and_the_server_goes_on(serve, capfd: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    def boom(w: ResponseWriter, req: Request) -> None:
        w.set_header("X-Lost", "1")
        w.write("partial output that must not be sent")
        raise ValueError("the handler failed")

    server = serve([("/boom", boom), ("/ok", lambda w, r: w.write("fine"))])
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        r = request(server.port, path="/boom", conn=conn)
        assert r.status == 500
        assert r.body == b"Internal Server Error\n"
        assert r.header("X-Lost") is None
        r = request(server.port, path="/ok", conn=conn)  # same connection, still alive
        assert (r.status, r.body) == (200, b"fine")
    finally:
        conn.close()
    err = capfd.readouterr().err
    assert "httpbridge: exception in handler for GET /boom (answered 500)" in err
    assert "Traceback (most recent call last)" in err
    assert "ValueError: the handler failed" in err
    assert "in boom" in err


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt(), GeneratorExit()])
def test_base_exceptions_in_a_handler_are_500s_too(serve, capfd: pytest.CaptureFixture[str], exc: BaseException) -> None:  # type: ignore[no-untyped-def]
    def handler(w: ResponseWriter, req: Request) -> None:
        raise exc

    server = serve([("/", handler), ("/ok", lambda w, r: w.write("fine"))])
    assert request(server.port).status == 500
    assert request(server.port, path="/ok").body == b"fine"
    assert type(exc).__name__ in capfd.readouterr().err


def test_exception_after_flush_cuts_the_response(serve, capfd: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    def handler(w: ResponseWriter, req: Request) -> None:
        w.write("sent")
        w.flush()
        raise RuntimeError("too late for a 500")

    server = serve([("/", handler), ("/ok", lambda w, r: w.write("fine"))])
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/")
        r = conn.getresponse()
        assert r.status == 200  # already on the wire
        with pytest.raises(http.client.IncompleteRead):
            r.read()  # no terminating chunk: the client can tell
    finally:
        conn.close()
    assert request(server.port, path="/ok").body == b"fine"
    assert "too late for a 500" in capfd.readouterr().err


def test_kept_request_and_writer_raise_clear_errors(serve) -> None:  # type: ignore[no-untyped-def]
    kept: list = []  # type: ignore[type-arg]
    report: list = []  # type: ignore[type-arg]

    def keep(w: ResponseWriter, req: Request) -> None:
        assert req.path == "/keep"  # a cached field, gone after return all the same
        kept.append((w, req, w.headers))

    def use_kept(w: ResponseWriter, req: Request) -> None:
        old_w, old_req, old_headers = kept[0]
        attempts = [lambda: old_req.path, lambda: old_req.body, lambda: old_req.headers,
                    lambda: old_w.write(b"x"), lambda: old_w.set_status(201),
                    lambda: old_w.set_header("X", "1"), lambda: old_headers.get("X")]
        for attempt in attempts:
            try:
                attempt()
                report.append("no error")
            except RuntimeError as e:
                report.append(str(e))
        w.write("done")

    server = serve([("/keep", keep), ("/use", use_kept)])
    assert request(server.port, path="/keep").status == 200
    r = request(server.port, path="/use")
    assert (r.status, r.body) == (200, b"done")  # the new response is untouched
    assert report[:3] == ["Request used after its handler returned"] * 3
    assert report[3:] == ["ResponseWriter used after its handler returned"] * 4

    old_w, old_req, _ = kept[0]  # and outside any handler, on this thread
    for attribute in ["method", "path", "query", "url", "host", "remote_addr", "headers", "body"]:
        with pytest.raises(RuntimeError, match="Request used after its handler returned"):
            getattr(old_req, attribute)
    for call in [lambda: old_w.write("x"), lambda: old_w.set_status(200), lambda: old_w.flush(),
                 lambda: old_w.set_length(1), lambda: old_w.add_header("X", "1"), lambda: old_w.del_header("X"), lambda: old_w.headers]:
        with pytest.raises(RuntimeError, match="ResponseWriter used after its handler returned"):
            call()
    assert repr(old_req) == "<Request (handler returned)>"
    assert repr(old_w) == "<ResponseWriter (handler returned)>"


def test_kept_objects_stay_stale_after_the_server_is_gone() -> None:
    kept: list = []  # type: ignore[type-arg]
    with Server("127.0.0.1", 0, routes=[("/", lambda w, r: kept.append((w, r)))]) as server:
        server.start()
        request(server.port)
    w, req = kept[0]
    with pytest.raises(RuntimeError):
        w.write("x")
    with pytest.raises(RuntimeError):
        req.body


def test_writer_and_request_used_from_another_thread_raise(serve) -> None:  # type: ignore[no-untyped-def]
    errors: list = []  # type: ignore[type-arg]

    def handler(w: ResponseWriter, req: Request) -> None:
        req.method  # cached: the other thread must be refused all the same

        def other() -> None:
            for use in (lambda: w.write("from elsewhere"), lambda: req.path, lambda: req.method):
                try:
                    use()
                except RuntimeError as e:
                    errors.append(str(e))

        t = threading.Thread(target=other)
        t.start()
        t.join(TIMEOUT)
        w.write("own")

    server = serve([("/", handler)])
    assert request(server.port).body == b"own"
    assert errors == ["ResponseWriter used off its handler's thread; write from the handler"] + [
        "Request used off its handler's thread; read it in the handler"] * 2


def test_busy_port_raises_oserror_naming_the_address() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(OSError) as info:
            Server("127.0.0.1", port, routes=[])
        assert info.value.errno == errno.EADDRINUSE
        assert f"127.0.0.1:{port}" in str(info.value)
        with pytest.raises(OSError, match=f"127.0.0.1:{port}"):
            httpbridge.run(port=port)


def test_bad_addresses_raise_oserror_naming_them() -> None:
    with pytest.raises(OSError, match="192.0.2.1:"):
        Server("192.0.2.1", 0, routes=[])  # TEST-NET-1: not an address of this host
    with pytest.raises(OSError, match="no-such-host.invalid:"):
        Server("no-such-host.invalid", 0, routes=[])


def test_names_resolve_and_empty_host_means_all_interfaces() -> None:
    with Server("localhost", 0, routes=[("/", lambda w, r: w.write("hi"))]) as server:
        server.start()
        assert request(server.port).body == b"hi"
    with Server("", 0, routes=[]) as server:
        assert server.url.startswith("http://0.0.0.0:")


def test_closing_a_server_from_its_handler_is_refused(serve) -> None:  # type: ignore[no-untyped-def]
    errors: list = []  # type: ignore[type-arg]
    holder: list = []  # type: ignore[type-arg]

    def handler(w: ResponseWriter, req: Request) -> None:
        try:
            holder[0].close()
        except RuntimeError as e:
            errors.append(str(e))

    server = serve([("/", handler)])
    holder.append(server)
    assert request(server.port).status == 200
    assert errors == ["a server cannot be closed from a handler; call stop()"]


def test_waiting_from_a_handler_is_refused(serve) -> None:  # type: ignore[no-untyped-def]
    errors: list = []  # type: ignore[type-arg]
    holder: list = []  # type: ignore[type-arg]

    def handler(w: ResponseWriter, req: Request) -> None:
        for call in (lambda: holder[0].wait(1), holder[0].serve):
            try:
                call()
            except RuntimeError as e:
                errors.append(str(e))

    server = serve([("/", handler)])
    holder.append(server)
    assert request(server.port).status == 200
    assert errors == ["a handler cannot wait for a server; call stop()"] * 2


def test_coroutine_handlers_are_refused() -> None:
    async def handler(w: ResponseWriter, req: Request) -> None:
        w.write("never")

    with pytest.raises(TypeError, match="coroutine function"):
        httpbridge.route("/async-not-supported", handler)
    with pytest.raises(TypeError, match="coroutine function"):
        Server("127.0.0.1", 0, routes=[("/", handler)])


def test_close_while_another_thread_serves_and_waits() -> None:
    server = Server("127.0.0.1", 0, routes=[("/", lambda w, r: w.write("hi"))])
    server.start()
    threads = [threading.Thread(target=server.serve), threading.Thread(target=server.wait)]
    for t in threads:
        t.start()
    assert request(server.port).body == b"hi"
    server.close()  # they are inside hb_server_wait with the GIL released: no use after free
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive()
    server.stop()  # all harmless once closed
    assert server.wait(0.1) is True
    with pytest.raises(RuntimeError):
        server.start()


def test_routes_after_start_are_refused() -> None:
    with Server("127.0.0.1", 0, routes=[]) as server:
        server.start()
        with pytest.raises(RuntimeError):
            server._core.handle("/late", lambda w, r: None)


def test_handler_that_is_not_callable_is_refused() -> None:
    with pytest.raises(TypeError):
        Server("127.0.0.1", 0, routes=[("/", "not callable")])  # type: ignore[list-item]
    port = free_port()
    with Server("127.0.0.1", port, routes=[]):  # the failed one released everything
        pass


DROPPED_BY_ITS_HANDLER = """
import sys, threading
sys.path.insert(0, {package!r})
from httpbridge import _httpbridge

dropped = threading.Event()
servers = {{}}

def drop(w, req):
    del servers['only']  # the last reference: the server is destroyed on its own io thread
    w.write('dropped')
    dropped.set()

core = _httpbridge.Server(2, False)
core.handle('/', drop)
core.listen('127.0.0.1', 0)
print(core.port, flush=True)
core.start()
servers['only'] = core
del core
assert dropped.wait({timeout})
print('handler returned', flush=True)
"""  # then the interpreter exits: the atexit hook closes what the dropped server left


def test_a_server_dropped_by_its_own_handler_leaves_nothing_dangling(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from conftest import PACKAGE_DIR

    script = tmp_path / "drop.py"
    script.write_text(DROPPED_BY_ITS_HANDLER.format(package=str(PACKAGE_DIR), timeout=TIMEOUT))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        assert request(port).body == b"dropped"
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert out == "handler returned\n"
    assert err == ""

"""route(), run(), stop() and Server: Python handlers served by httpbridge."""

from __future__ import annotations

import inspect
import ipaddress
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Optional, Protocol, TypeVar, Union, overload

from . import _httpbridge
from ._httpbridge import Request, ResponseWriter

__all__ = ["Handler", "Server", "route", "run", "stop"]

Handler = Callable[[ResponseWriter, Request], object]
"""A handler: called as ``handler(w, req)``; its return value is ignored."""

H = TypeVar("H", bound=Handler)
Methods = Optional[tuple[str, ...]]

# The routes registered with route(), in order: (pattern, handler, methods).
_routes: list[tuple[str, Handler, Methods]] = []


class _Stoppable(Protocol):
    def stop(self) -> None: ...


_running: set[_Stoppable] = set()  # what stop() stops: the servers (or worker pools) run() serves


# ---- routes ---------------------------------------------------------------


def _methods(methods: Iterable[str] | str | None) -> Methods:
    if methods is None:
        return None
    names = (methods,) if isinstance(methods, str) else tuple(methods)
    if not names or not all(isinstance(m, str) and m for m in names):
        raise ValueError("methods must be None (all methods) or method names, e.g. ['GET', 'POST']")
    return tuple(dict.fromkeys(m.upper() for m in names))


def _overlaps(a: Methods, b: Methods) -> bool:
    return a is None or b is None or bool(set(a) & set(b))


def _add_route(table: list[tuple[str, Handler, Methods]], pattern: str, handler: Handler,
               methods: Methods) -> None:
    """Append a route to table, the one place routes are checked: for route() and Server(routes=...)."""
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise ValueError(f"pattern must be a str starting with '/': {pattern!r}")
    _check_handler(handler)
    for p, _, m in table:
        if p == pattern and _overlaps(m, methods):
            raise ValueError(f"route {pattern!r} is already registered for these methods")
    table.append((pattern, handler, methods))


@overload
def route(pattern: str, fn: None = None, methods: Iterable[str] | None = None) -> Callable[[H], H]: ...
@overload
def route(pattern: str, fn: H, methods: Iterable[str] | None = None) -> H: ...
@overload
def route(pattern: str, fn: Iterable[str]) -> Callable[[H], H]: ...


def route(
    pattern: str,
    fn: Union[Handler, Iterable[str], None] = None,
    methods: Iterable[str] | None = None,
) -> Union[Handler, Callable[[H], H]]:
    """Register a handler for a path pattern; use as a decorator or call it.

    ``@route('/')`` decorates ``def index(w, req)``; ``route('/x', fn)`` registers
    fn directly. Either way the handler is returned unchanged.

    :param pattern: the exact path, or, ending in ``'/'``, every path under it
        (Go's ServeMux rules: the longest pattern wins; no match is a 404).
    :param fn: the handler, called as ``fn(w, req)`` on a server thread.
    :param methods: the methods it answers, e.g. ``['GET', 'POST']``; ``None``
        (the default) means all. Another method gets 405 with an Allow header.
        ``'GET'`` also answers ``HEAD``. One pattern may have several handlers
        for disjoint methods. May also be given as the second argument.

    Routes apply to servers created afterwards (``run()``, ``Server()``).
    """
    if fn is not None and not callable(fn):
        if methods is not None:
            raise TypeError("route(): fn must be callable")
        methods, fn = fn, None
    wanted = _methods(methods)

    def register(handler: H) -> H:
        _add_route(_routes, pattern, handler, wanted)
        return handler

    if fn is not None:
        return register(fn)  # type: ignore[arg-type]
    return register


def _check_handler(handler: object) -> None:
    if not callable(handler):
        raise TypeError(f"handler must be callable, not {type(handler).__name__}")
    if inspect.iscoroutinefunction(handler):
        raise TypeError("handlers are called synchronously on a server thread; "
                        f"{getattr(handler, '__qualname__', handler)!r} is a coroutine function")


# ---- one server -----------------------------------------------------------


def _numeric_host(host: str | None, port: int) -> str:
    if not host:
        return "0.0.0.0"
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise OSError(f"cannot listen on {host}:{port}: {e}") from e
    info.sort(key=lambda entry: entry[0] != socket.AF_INET)  # 'localhost': 127.0.0.1 before ::1
    return str(info[0][4][0])


def _address(host: str | None, port: int) -> str:
    host = host or "0.0.0.0"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Server:
    """One server with an explicit lifecycle, for embedding and tests.

    ``run()`` is ``Server(host, port, threads=threads)`` plus signal handling
    and ``serve()``. The constructor binds the port (raising OSError naming the
    address when it cannot); ``start()`` begins serving on background threads
    and returns. Use as a context manager to close it::

        with Server("127.0.0.1", 0) as srv:
            srv.start()
            ...  # requests to srv.url
            srv.stop()

    :param routes: ``(pattern, handler)`` or ``(pattern, handler, methods)``
        entries; ``None`` (default) takes those registered with ``route()``.
    :param reuse_port: SO_REUSEPORT, for several processes on one port.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        threads: int = 1,
        routes: Iterable[tuple[str, Handler] | tuple[str, Handler, Iterable[str] | None]] | None = None,
        reuse_port: bool = False,
    ) -> None:
        if not isinstance(threads, int):
            raise TypeError(f"threads must be an int, not {type(threads).__name__}")  # its range: the engine's
        self.host = host or "0.0.0.0"
        entries: list[tuple[str, Handler, Methods]] = []
        for entry in _routes if routes is None else routes:
            pattern, handler, methods = entry if len(entry) == 3 else (*entry, None)
            _add_route(entries, pattern, handler, _methods(methods))
        numeric = _numeric_host(host, port)
        self._core = _httpbridge.Server(threads, reuse_port)
        try:
            for pattern, handler, methods in entries:
                self._core.handle(pattern, handler, list(methods) if methods else None)
            self._core.listen(numeric, port)
        except BaseException:
            self._core.close()
            raise

    @property
    def port(self) -> int:
        """The bound port (useful after asking for port 0)."""
        return self._core.port

    @property
    def url(self) -> str:
        """``http://host:port/``."""
        return f"http://{_address(self.host, self.port)}/"

    def start(self) -> None:
        """Start serving on the server's own threads and return at once."""
        self._core.start()

    def serve(self) -> None:
        """Start if needed and block until the server stops.

        The GIL is released while waiting; signal handlers run every 100 ms.
        If one raises (e.g. KeyboardInterrupt) the server is stopped and
        drained before the exception propagates.
        """
        self._core.serve()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the server has stopped: True, or False after timeout seconds."""
        return self._core.wait(timeout)

    def stop(self) -> None:
        """Ask the server to stop: no new connections, in-flight requests finish.

        Safe from any thread, including a handler's, and from a signal handler.
        """
        self._core.stop()

    def close(self) -> None:
        """Stop, drain, and release the server and its port. Not from a handler."""
        self._core.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<httpbridge.Server {self.host}>"


def _serve_with_signals(server: Server) -> None:
    """serve(), with SIGINT and SIGTERM stopping the server (main thread only)."""
    previous: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():

        def on_signal(signum: int, frame: FrameType | None) -> None:
            server.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) != signal.SIG_IGN:  # ignored (nohup, `&`): leave it so
                previous[sig] = signal.signal(sig, on_signal)
    _running.add(server)
    try:
        server.serve()
    finally:
        _running.discard(server)
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)  # type: ignore[arg-type]


def run(host: str = "127.0.0.1", port: int = 5000, threads: int = 1, workers: int = 1) -> None:
    """Serve the registered routes on host:port until stopped.

    Prints `` * Running on http://host:port/`` once listening, then blocks.
    Ctrl-C (SIGINT), SIGTERM or :func:`stop` make it return, after in-flight
    requests finished. A port in use raises OSError naming the address.

    :param threads: server threads per process. Handlers hold the GIL while
        they run, so more threads help when handlers wait (I/O, C code that
        releases the GIL), not when they compute.
    :param workers: processes. With more than one, run() forks that many
        workers after the routes are registered; each serves the same port
        through its own SO_REUSEPORT socket, so handlers use every core. The
        parent forwards SIGINT/SIGTERM to them, reports a worker that dies
        unexpectedly, and returns once all have exited.
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, not {workers!r}")
    if workers > 1:
        _run_workers(host, port, threads, workers)
        return
    with Server(host, port, threads=threads) as server:
        print(f" * Running on http://{_address(host, server.port)}/", flush=True)
        _serve_with_signals(server)


def stop() -> None:
    """Make the running run() return (from a handler, another thread, or a signal handler).

    In a worker process (``run(workers=N)``) it stops that worker only; in the
    parent it stops them all. Without a running server it does nothing.
    """
    for target in list(_running):
        target.stop()


# ---- worker processes -----------------------------------------------------

_READY_TIMEOUT = 30.0  # seconds a worker may take to bind its socket
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_REAP_TIMEOUT = 10.0  # seconds to wait for workers after asking them to stop


# What a worker serves: make(host, port, threads, reuse_port) -> a Server (the
# routes here, a WSGI app in httpbridge.wsgi).
MakeServer = Callable[[str, int, int, bool], Server]


def _route_server(host: str, port: int, threads: int, reuse_port: bool) -> Server:
    return Server(host, port, threads=threads, reuse_port=reuse_port)


def _announce_running(host: str, port: int) -> None:
    print(f" * Running on http://{_address(host, port)}/", flush=True)


def _worker_main(host: str, port: int, threads: int, ready_fd: int, parent: int, make: MakeServer) -> int:
    """In a forked worker: bind with SO_REUSEPORT, report to the parent, serve."""
    if hasattr(_httpbridge, "set_parent_death_signal"):
        _httpbridge.set_parent_death_signal(signal.SIGTERM)  # no orphans if the parent is killed
    if os.getppid() != parent:
        return 1
    try:
        server = make(host, port, threads, True)
    except OSError as e:
        os.write(ready_fd, f"error {e.errno or 0} {e.strerror or e}".encode())
        return 1
    with server:
        os.write(ready_fd, b"ok")
        os.close(ready_fd)
        _serve_with_signals(server)
    return 0


class _WorkerPool:
    """The parent's side of run(workers=N): fork, watch, forward signals, reap."""

    def __init__(self) -> None:
        self.pidfds: dict[int, int] = {}  # pid -> pidfd, for the workers still alive
        self.ready: dict[int, int] = {}  # read end of each worker's ready pipe -> pid
        self.stopping = False
        self.failures: list[str] = []

    def spawn(self, host: str, port: int, threads: int, make: MakeServer = _route_server) -> None:
        parent = os.getpid()
        r, w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's code
            code = 1
            try:
                os.close(r)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # blocked by the parent
                code = _worker_main(host, port, threads, w, parent, make)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(w)
        self.ready[r] = pid
        self.pidfds[pid] = os.pidfd_open(pid)

    def wait_ready(self, timeout: float) -> None:
        """Wait until every worker listens; raise what the first failure reports."""
        deadline = time.monotonic() + timeout
        while self.ready:
            left = deadline - time.monotonic()
            readable, _, _ = select.select(list(self.ready), [], [], max(0.0, left))
            if not readable:
                raise TimeoutError(f"workers did not start within {timeout:g} s")
            for fd in readable:
                pid = self.ready.pop(fd)
                message = os.read(fd, 4096).decode(errors="replace")
                os.close(fd)
                if message == "ok":
                    continue
                if message.startswith("error "):
                    _, code, text = message.split(" ", 2)
                    raise OSError(int(code), text) if int(code) else OSError(text)
                raise RuntimeError(f"worker {pid} exited while starting")

    def stop(self) -> None:
        """Ask every worker to stop (SIGTERM). Safe from a signal handler."""
        self.stopping = True
        for pid in list(self.pidfds):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def reap_one(self, timeout: float | None) -> bool:
        """Wait for one worker to exit and account for it; False on timeout."""
        fds = {fd: pid for pid, fd in self.pidfds.items()}
        readable, _, _ = select.select(list(fds), [], [], timeout)
        for fd in readable:
            pid = fds[fd]
            _, status = os.waitpid(pid, 0)
            os.close(self.pidfds.pop(pid))
            if not self.stopping and status != 0:
                self._report(pid, status)
        return bool(readable)

    def _report(self, pid: int, status: int) -> None:
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            how = f"was killed by signal {sig} ({signal.Signals(sig).name})"
        else:
            how = f"exited with status {os.waitstatus_to_exitcode(status)}"
        message = f"httpbridge: worker {pid} {how}; {len(self.pidfds)} still serving"
        self.failures.append(message)
        print(message, file=sys.stderr, flush=True)

    def close(self) -> None:
        """Stop and reap whatever is left (bounded), killing stragglers."""
        for fd in self.ready:
            os.close(fd)
        self.ready.clear()
        if self.pidfds:
            self.stop()
            deadline = time.monotonic() + _REAP_TIMEOUT
            while self.pidfds and self.reap_one(max(0.0, deadline - time.monotonic())):
                pass
        for pid, fd in list(self.pidfds.items()):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(fd)
        self.pidfds.clear()


def _run_workers(
    host: str,
    port: int,
    threads: int,
    workers: int,
    make_server: MakeServer = _route_server,
    announce: Callable[[str, int], None] = _announce_running,
) -> None:
    # Check the address (and learn the port when 0 was asked for) with a
    # SO_REUSEPORT socket that is closed again before forking: a listener kept
    # in the parent would be handed a share of the connections and never answer.
    # The probe also has the engine check threads, before any worker is forked.
    with Server(host, port, threads=threads, routes=[], reuse_port=True) as probe:
        port = probe.port
    pool = _WorkerPool()
    previous: dict[int, object] = {}
    # SIGINT/SIGTERM wait while the workers start: arriving before `forward`
    # is installed, one would end the parent and orphan them.
    on_main = threading.current_thread() is threading.main_thread()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS) if on_main else None
    try:
        for _ in range(workers):
            pool.spawn(host, port, threads, make_server)
        pool.wait_ready(_READY_TIMEOUT)
        announce(host, port)
        if on_main:

            def forward(signum: int, frame: FrameType | None) -> None:
                pool.stop()

            for sig in _STOP_SIGNALS:
                if signal.getsignal(sig) != signal.SIG_IGN:
                    previous[sig] = signal.signal(sig, forward)
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)  # a signal that came meanwhile: forwarded now
            blocked = None
        _running.add(pool)
        while pool.pidfds:
            pool.reap_one(None)
    finally:
        if blocked is not None:  # failed while starting: stop the workers, then let the signal in
            pool.close()
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        _running.discard(pool)
        pool.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)  # type: ignore[arg-type]
    if pool.failures and not pool.stopping:
        raise RuntimeError(f"all workers have exited; {len(pool.failures)} of {workers} died unexpectedly")

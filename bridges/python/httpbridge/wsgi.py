"""httpbridge.wsgi: any WSGI (PEP 3333) app, unchanged, on the httpbridge server.

From the command line, in gunicorn's shape, so switching is one word::

    python3 -m httpbridge.wsgi [--bind HOST:PORT] [--threads N] [--workers N] [--chdir DIR] module:app

``module:app`` names the callable (``module`` alone means ``module:application``);
``module:create_app()`` calls a factory, with literal arguments if any.

From Python::

    from httpbridge.wsgi import serve
    serve(app, host="127.0.0.1", port=8000, threads=1, workers=1)

Once listening it prints ``listening on http://HOST:PORT`` to stderr. Ctrl-C or
SIGTERM stop it after the requests in flight are answered.

The environ is built in C++ from the request: a fresh dict of latin-1 str with
every PEP 3333 key (``wsgi.input_terminated`` and ``wsgi.file_wrapper``
included), PATH_INFO percent-decoded, repeated headers joined by ``", "``
(Cookie by ``"; "``), and header names containing ``_`` dropped (so that
``X_Forwarded_For`` cannot pose as ``X-Forwarded-For``). The request body is
received whole before the app is called (up to ``body_limit``, 413 beyond), so
``wsgi.input`` never blocks and CONTENT_LENGTH is set for chunked requests too.

The body the app returns is sent as PEP 3333 asks: a list or tuple in one write
with Content-Length; any other iterable block by block, each sent before the
next is asked for: framed by the app's Content-Length when it gave one (on
HTTP/1.1 and 1.0), else chunked on HTTP/1.1 and close-delimited on 1.0. A
block completing the app's Content-Length ends the response with that length.
Never more than the app's Content-Length is sent (the iterable is not asked
for more, and stderr gets a warning); fewer, and the connection is closed
after what there is. The iterable's ``close()`` is always called. An exception before
anything was sent is a 500 and a traceback on stderr; the server goes on. The
status line carries the standard reason phrase for the app's code.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO, Optional

from . import _app, _httpbridge

__all__ = ["AppLoadError", "FileWrapper", "WsgiServer", "load_app", "main", "serve"]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

DEFAULT_PORT = 8000

# serve(**limits): name -> (hb_options field, factor from the unit the caller uses)
_LIMITS = {
    "header_limit": ("header_limit", 1),  # bytes of request line + headers (431 beyond)
    "body_limit": ("body_limit", 1),  # bytes of request body (413 beyond)
    "read_timeout": ("read_timeout_ms", 1000),  # seconds to receive a request; a reader's stall
    "idle_timeout": ("idle_timeout_ms", 1000),  # seconds a keep-alive connection may idle
    "drain_timeout": ("drain_timeout_ms", 1000),  # seconds stop() waits for requests in flight
}


class AppLoadError(Exception):
    """The module:app named on the command line cannot be found."""


class FileWrapper:
    """``wsgi.file_wrapper``: a file-like object as an iterable of blocks (PEP 3333)."""

    def __init__(self, filelike: BinaryIO, blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.blksize)
        if data:
            return bytes(data)
        raise StopIteration


def _core_limits(limits: dict[str, float]) -> dict[str, int]:
    core = {}
    for name, value in limits.items():
        if name not in _LIMITS:
            raise TypeError(f"unknown limit {name!r}; known: {', '.join(_LIMITS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{name} must be a positive number, not {value!r}")
        field, factor = _LIMITS[name]
        core[field] = int(value * factor)
    return core


class WsgiServer(_app.Server):
    """One server running a WSGI app, with the lifecycle of :class:`httpbridge.Server`.

    The constructor binds the port (OSError naming the address when it cannot);
    ``start()`` serves on background threads, ``serve()`` blocks. ``limits``:
    ``header_limit``, ``body_limit`` (bytes), ``read_timeout``, ``idle_timeout``,
    ``drain_timeout`` (seconds).
    """

    def __init__(
        self,
        app: WsgiApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        threads: int = 1,
        reuse_port: bool = False,
        multiprocess: bool = False,
        **limits: float,
    ) -> None:
        if not callable(app):
            raise TypeError(f"the WSGI app must be callable, not {type(app).__name__}")
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive int, not {threads!r}")
        self.host = host or "0.0.0.0"
        self.app = app
        numeric = _app._numeric_host(host, port)
        self._core = _httpbridge.Server(threads, reuse_port, _core_limits(limits))
        try:
            self._core.listen(numeric, port)
            self._core.handle_wsgi(app, self._base_environ(threads, multiprocess))
        except BaseException:
            self._core.close()
            raise

    def _base_environ(self, threads: int, multiprocess: bool) -> dict[str, Any]:
        """The keys every request's environ starts with (the rest come from the request)."""
        return {
            "SCRIPT_NAME": "",
            "SERVER_NAME": self.host,
            "SERVER_PORT": str(self.port),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": threads > 1,
            "wsgi.multiprocess": multiprocess,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "wsgi.file_wrapper": FileWrapper,
        }

    def __repr__(self) -> str:
        return f"<httpbridge.wsgi.WsgiServer {self.host} {self.app!r}>"


def _announce(host: str, port: int) -> None:
    print(f"listening on http://{_app._address(host, port)}", file=sys.stderr, flush=True)


def serve(
    app: WsgiApp,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    threads: int = 1,
    workers: int = 1,
    **limits: float,
) -> None:
    """Serve a WSGI app on host:port until Ctrl-C, SIGTERM or :func:`httpbridge.stop`.

    :param threads: server threads per process; the app holds the GIL while it
        runs, so more threads help an app that waits (I/O), not one that computes.
    :param workers: processes; with more than one, each serves the same port
        through its own SO_REUSEPORT socket (the app is imported once, before
        the fork). The parent forwards SIGINT/SIGTERM and returns when all exit.
    :param limits: ``header_limit``, ``body_limit`` (bytes), ``read_timeout``,
        ``idle_timeout``, ``drain_timeout`` (seconds).
    """
    if not callable(app):
        raise TypeError(f"the WSGI app must be callable, not {type(app).__name__}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, not {workers!r}")
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, not {threads!r}")
    _core_limits(limits)  # bad names and values fail here, not in a worker

    def make(host: str, port: int, threads: int, reuse_port: bool) -> WsgiServer:
        return WsgiServer(app, host, port, threads=threads, reuse_port=reuse_port,
                          multiprocess=workers > 1, **limits)

    if workers > 1:
        _app._run_workers(host, port, threads, workers, make_server=make, announce=_announce)
        return
    with make(host, port, threads, False) as server:
        _announce(host, server.port)
        _app._serve_with_signals(server)


# ---- module:app ---------------------------------------------------------------


def _attribute(module: Any, module_name: str, node: ast.expr) -> Any:
    """module.a.b for the Name/Attribute chain node, or AppLoadError naming what is missing."""
    if isinstance(node, ast.Name):
        owner, name, where = module, node.id, f"module {module_name!r}"
    elif isinstance(node, ast.Attribute):
        owner = _attribute(module, module_name, node.value)
        name, where = node.attr, f"{module_name}:{ast.unparse(node.value)}"
    else:
        raise AppLoadError(f"{ast.unparse(node)!r} is not a name like 'app' or 'create_app()'")
    try:
        return getattr(owner, name)
    except AttributeError:
        raise AppLoadError(f"{where} has no attribute {name!r}") from None


def load_app(spec: str) -> WsgiApp:
    """The WSGI callable that ``module:app`` (or ``module:factory(...)``) names.

    AppLoadError, with a message naming the module or attribute, when it does
    not exist; an ImportError raised inside the app's own imports propagates.
    """
    module_name, _, expr = spec.partition(":")
    expr = expr.strip() or "application"
    if not module_name or not all(part.isidentifier() for part in module_name.split(".")):
        raise AppLoadError(f"{spec!r}: expected module:app, e.g. myproject.wsgi:application")
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise AppLoadError(f"{spec!r}: {expr!r} is not a name like 'app' or 'create_app()'") from None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name + ".").startswith(e.name + "."):
            raise AppLoadError(f"no module named {e.name!r} (searched {os.getcwd()} and sys.path; "
                               "--chdir DIR or PYTHONPATH adds a folder)") from None
        raise
    if isinstance(tree, ast.Call):
        factory = _attribute(module, module_name, tree.func)
        try:
            args = [ast.literal_eval(a) for a in tree.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in tree.keywords if k.arg}
        except ValueError:
            raise AppLoadError(f"{spec!r}: factory arguments must be literals") from None
        app = factory(*args, **kwargs)
    else:
        app = _attribute(module, module_name, tree)
    if not callable(app):
        raise AppLoadError(f"{spec} is not a WSGI callable (it is {type(app).__name__})")
    return app  # type: ignore[no-any-return]


# ---- the command line -----------------------------------------------------------


def _parse_bind(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, HOST (port 8000) or :PORT (host 127.0.0.1)."""
    host, port = text, str(DEFAULT_PORT)
    if text.startswith("["):
        close = text.find("]")
        rest = text[close + 1:] if close > 0 else ":"
        if close < 0 or (rest and not rest.startswith(":")):
            raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT or [IPv6]:PORT")
        host, port = text[1:close], rest[1:] or port
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: the port must be a number in 0..65535")
    return host or "127.0.0.1", number


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m httpbridge.wsgi",
        description="Serve a WSGI (PEP 3333) app on httpbridge's native HTTP/1.1 server.",
        epilog="Examples: python3 -m httpbridge.wsgi --bind 127.0.0.1:8000 myapp:app\n"
        "          python3 -m httpbridge.wsgi --chdir mysite --workers 2 mysite.wsgi:application\n"
        "          python3 -m httpbridge.wsgi 'factory:create_app()'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("app", metavar="module:app",
                        help="the WSGI callable: module:name, module (means module:application), "
                        "or module:factory() with literal arguments")
    parser.add_argument("-b", "--bind", type=_parse_bind, metavar="HOST:PORT",
                        help=f"address to listen on (default 127.0.0.1:{DEFAULT_PORT}; port 0 picks one)")
    parser.add_argument("--host", help="listen on HOST (the same as --bind HOST:PORT)")
    parser.add_argument("--port", type=int, help="listen on PORT")
    parser.add_argument("--threads", type=_positive, default=1, metavar="N",
                        help="server threads per worker (default 1)")
    parser.add_argument("-w", "--workers", type=_positive, default=1, metavar="N",
                        help="worker processes sharing the port through SO_REUSEPORT (default 1)")
    parser.add_argument("--chdir", metavar="DIR", help="change to DIR and import the app from there")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """The command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    host, port = args.bind or ("127.0.0.1", DEFAULT_PORT)
    if args.host is not None:
        host = args.host
    if args.port is not None:
        port = args.port
    if args.chdir is not None:
        try:
            os.chdir(args.chdir)
        except OSError as e:
            parser.error(f"--chdir {args.chdir}: {e.strerror}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # what gunicorn does: the app is found from where it runs
    try:
        app = load_app(args.app)
    except AppLoadError as e:
        print(f"httpbridge.wsgi: error: cannot load {args.app}: {e}", file=sys.stderr)
        return 2
    try:
        serve(app, host, port, threads=args.threads, workers=args.workers)
    except OSError as e:
        print(f"httpbridge.wsgi: error: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # Run the importable copy, so that the environ's FileWrapper (and anything
    # an app imports from httpbridge.wsgi) is httpbridge.wsgi's, not __main__'s.
    from httpbridge.wsgi import main as _main

    sys.exit(_main())

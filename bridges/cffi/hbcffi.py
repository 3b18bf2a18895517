"""The reference post's gohttp wrapper, rebuilt over httpbridge.h with CFFI.

Same shape as the post's Python section: small ResponseWriter and Request
classes over the C handles, a ``route`` decorator and ``run``. What differs:
CFFI's compiled out-of-line API mode (build_cffi.py) instead of ABI mode, one
``extern "Python"`` callback for every route instead of ``ffi.callback``, a
handler's exception turned into a 500, and Ctrl-C/SIGTERM stopping ``run()``.

Each request builds two fresh wrapper objects and crosses into Python through
CFFI's callback machinery (which takes the GIL with PyGILState_Ensure): that
cost is what this variant measures against python-pybind11. The wrappers are
cut loose when the handler returns: a kept one raises RuntimeError instead of
reading the server's freed buffers.

Every rule is the library's: a bad option or header comes back as HB_E_INVAL
and is raised as ValueError with the library's own explanation.
"""

import signal
import sys
import traceback

from _hb_cffi import ffi, lib

__all__ = ["Request", "ResponseWriter", "route", "run"]

_routes = []  # (pattern, handler)
_handles = []  # ffi.new_handle() results: alive as long as the server


def _text(s):
    return ffi.unpack(s.data, s.len).decode("latin-1") if s.len else ""


def _message(rc):
    return ffi.string(lib.hb_strerror(rc)).decode()


def _check(rc, explain=None):
    """Raise for an hb error code: ValueError for HB_E_INVAL, RuntimeError for a stale handle."""
    if rc == 0:
        return
    if rc == lib.HB_E_INVAL:
        raise ValueError(explain() if explain else _message(rc))
    if rc == lib.HB_E_HANDLE:
        raise RuntimeError("ResponseWriter used after its handler returned")
    if rc == lib.HB_E_THREAD:
        raise RuntimeError("ResponseWriter used off its handler's thread")
    raise OSError(_message(rc))


def _header_problem(name, value):
    def explain():
        problem = lib.hb_header_check(name, len(name), value, len(value))
        return ffi.string(problem).decode() if problem else "invalid header"

    return explain


class ResponseWriter:
    __slots__ = ("_w",)

    def __init__(self, w):
        self._w = w

    def write(self, body):
        if isinstance(body, str):
            body = body.encode()
        _check(lib.hb_response_write(self._w, body, len(body)))

    def set_status(self, code):
        _check(lib.hb_response_set_status(self._w, code))

    def set_header(self, name, value):
        name, value = name.encode("latin-1"), value.encode("latin-1")
        _check(lib.hb_response_add_header(self._w, name, len(name), value, len(value)),
               _header_problem(name, value))


class _Returned:
    """What a Request's view becomes when its handler returns: reading it raises."""

    __slots__ = ()

    def __getattr__(self, name):
        raise RuntimeError("Request used after its handler returned")


_RETURNED = _Returned()


class Request:
    """A view of the server's request, valid only while its handler runs."""

    __slots__ = ("_req",)

    def __init__(self, req):
        self._req = req

    @property
    def method(self):
        return _text(self._req.method)

    @property
    def path(self):
        return _text(self._req.path)

    @property
    def host(self):
        return _text(self._req.host)

    @property
    def url(self):
        return _text(self._req.target)

    @property
    def body(self):
        return ffi.unpack(self._req.body.data, self._req.body.len) if self._req.body.len else b""

    def __repr__(self):
        return "{self.method} {self.url}".format(self=self)


def _on_error(exc_type, exc_value, tb):
    # The callback's return value becomes def_extern's error=1: the server answers 500.
    print("hbcffi: exception in handler (answered 500)", flush=True)
    traceback.print_exception(exc_type, exc_value, tb)


@ffi.def_extern(error=1, onerror=_on_error)
def hb_py_handler(res, req, user_data):
    request = Request(req)
    try:
        ffi.from_handle(user_data)(ResponseWriter(res), request)
    finally:
        request._req = _RETURNED  # req points into the server's buffers: gone once we return
    return 0


def route(pattern, fn=None):
    """Register fn(w, req) for pattern; usable as a decorator."""

    def wrapped(fn):
        _routes.append((pattern, fn))
        return fn

    return wrapped(fn) if fn else wrapped


def run(host="127.0.0.1", port=5000, threads=1):
    opts = ffi.new("hb_options *")
    lib.hb_options_init(opts)
    opts.io_threads = threads if 0 <= threads <= 0xFFFFFFFF else 0  # out of range: let the library say so
    srv_out = ffi.new("hb_server **")
    _check(lib.hb_server_create(opts, srv_out),
           lambda: "threads: " + ffi.string(lib.hb_options_check(opts)).decode())
    srv = srv_out[0]
    try:
        for pattern, fn in _routes:
            handle = ffi.new_handle(fn)
            _handles.append(handle)
            _check(lib.hb_server_handle(srv, pattern.encode(), lib.hb_py_handler, handle))
        rc = lib.hb_server_listen(srv, host.encode(), port)
        if rc != 0:
            raise OSError(f"cannot listen on {host}:{port}: {ffi.string(lib.hb_strerror(rc)).decode()}")
        address = f"[{host}]" if ":" in host else host
        # The variants' start line (servers/README.md), with the port really bound.
        print(f"listening on http://{address}:{lib.hb_server_port(srv)}", file=sys.stderr, flush=True)
        stop = lambda signum, frame: lib.hb_server_stop(srv)
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            _check(lib.hb_server_start(srv))
            # CFFI releases the GIL during each call; Python signal handlers run between them.
            while lib.hb_server_wait(srv, 100) == lib.HB_E_TIMEOUT:
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        lib.hb_server_free(srv)

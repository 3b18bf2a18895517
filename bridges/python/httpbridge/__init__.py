"""httpbridge: Python handlers on a native HTTP/1.1 server (Boost.Beast).

The reference's program runs as it was, with the package renamed::

    from httpbridge import route, run

    @route('/')
    def index(w, req):
        w.write("Hello, world.\\n")

    if __name__ == '__main__':
        run(host='127.0.0.1', port=5000)

A handler is called as ``handler(w, req)`` on one of the server's threads with a
:class:`ResponseWriter` and a :class:`Request`, both valid only until it
returns. Whatever it writes is sent in one piece when it returns. An exception
becomes a 500 (when nothing was sent yet) and a traceback on stderr; the server
keeps serving.

Any WSGI app (Flask, Django...) runs on the same server through
:mod:`httpbridge.wsgi`: ``python3 -m httpbridge.wsgi module:app``.
"""

from ._app import Handler, Server, route, run, stop
from ._headers import Headers, ResponseHeaders
from ._httpbridge import Request, ResponseWriter, library_version
from ._version import __version__

__all__ = [
    "Handler",
    "Headers",
    "Request",
    "ResponseHeaders",
    "ResponseWriter",
    "Server",
    "library_version",
    "route",
    "run",
    "stop",
]


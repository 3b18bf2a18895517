"""gohttp-python: the reference's "gohttp-python" row, Python handlers on Go.

usage: GOHTTP_LIB=.../libgohttp.so python3 app.py [--host H] [--port P]
"""

import argparse
import sys

from gohttp import route, run

HELLO = b"Hello, world.\n"


@route("/")
def index(w, req):
    # Go's ServeMux sends every unknown path to "/".
    if req.path != "/" or req.method not in ("GET", "HEAD"):
        return not_found(w)
    w.set_header("Content-Type", "text/plain")
    w.set_header("Content-Length", str(len(HELLO)))
    w.write(HELLO)


@route("/echo")
def echo(w, req):
    if req.method != "POST":
        return not_found(w)
    body = req.body
    w.set_header("Content-Type", "application/octet-stream")
    w.set_header("Content-Length", str(len(body)))
    w.write(body)


def not_found(w):
    w.set_header("Content-Type", "text/plain")
    w.set_status(404)
    w.write(b"404 page not found\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    return run(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())

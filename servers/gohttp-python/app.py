"""gohttp-python: the reference's "gohttp-python" row, Python handlers on Go.

usage: PYTHONPATH=build/bridges/gohttp python3 app.py [--host H] [--port P] [--threads N]
(defaults 127.0.0.1, 8000, 1; --threads is Go's GOMAXPROCS)
"""

import argparse
import os
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1, help="GOMAXPROCS")
    return parser.parse_args()


ARGS = parse_args()
# Go reads GOMAXPROCS once, when the gohttp import loads libgohttp.so: set it first.
os.environ["GOMAXPROCS"] = str(ARGS.threads)

from gohttp import route, run  # noqa: E402 (after GOMAXPROCS, on purpose)

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
    return run(ARGS.host, ARGS.port)


if __name__ == "__main__":
    sys.exit(main())

"""python-cffi: the common endpoints as Python handlers over httpbridge.h via CFFI.

    PYTHONPATH=build/bridges/cffi python3 servers/python-cffi/app.py --port 8000
"""

import argparse

from hbcffi import route, run

HELLO = b"Hello, world.\n"
NOT_FOUND = b"404 page not found\n"


def not_found(w):
    w.set_status(404)
    w.set_header("Content-Type", "text/plain")
    w.write(NOT_FOUND)


@route("/")
def index(w, req):
    if req.path != "/":  # "/" is a subtree pattern: it sees every unrouted path
        return not_found(w)
    w.set_header("Content-Type", "text/plain")
    w.write(HELLO)


@route("/echo")
def echo(w, req):
    if req.method != "POST":
        return not_found(w)
    w.set_header("Content-Type", "application/octet-stream")
    w.write(req.body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    run(host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()

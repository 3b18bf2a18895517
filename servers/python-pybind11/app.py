"""python-pybind11: the common endpoints as Python handlers on the httpbridge package.

    PYTHONPATH=build/python python3 servers/python-pybind11/app.py --port 8000

Serves GET / (Hello, world.), POST /echo (the body back), anything else 404,
byte for byte like servers/cpp-beast.
"""

import argparse
import signal
import sys

from httpbridge import Request, ResponseWriter, Server, route

HELLO = b"Hello, world.\n"
NOT_FOUND = b"404 page not found\n"


def not_found(w: ResponseWriter) -> None:
    w.set_status(404)
    w.set_header("Content-Type", "text/plain")
    w.write(NOT_FOUND)


@route("/")
def index(w: ResponseWriter, req: Request) -> None:
    if req.path != "/":  # "/" is a subtree pattern: it sees every unrouted path
        return not_found(w)
    w.set_header("Content-Type", "text/plain")
    w.write(HELLO)


@route("/echo")
def echo(w: ResponseWriter, req: Request) -> None:
    if req.method != "POST":
        return not_found(w)
    w.set_header("Content-Type", "application/octet-stream")
    w.write(req.body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    # run() would do all of this but print its own start line; every variant prints this one.
    with Server(args.host, args.port, threads=args.threads) as server:
        print(f"listening on {server.url.rstrip('/')}", file=sys.stderr, flush=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: server.stop())
        server.serve()


if __name__ == "__main__":
    main()

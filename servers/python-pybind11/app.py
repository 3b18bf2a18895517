"""python-pybind11: the common endpoints as Python handlers on the httpbridge package.

    PYTHONPATH=build/python python3 servers/python-pybind11/app.py --port 8080

Serves GET / (Hello, world.), POST /echo (the body back), anything else 404,
byte for byte like servers/cpp-beast.
"""

import argparse

from httpbridge import Request, ResponseWriter, route, run

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
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    run(host=args.host, port=args.port, threads=args.threads, workers=args.workers)


if __name__ == "__main__":
    main()

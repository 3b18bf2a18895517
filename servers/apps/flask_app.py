"""The common endpoints as a Flask app, shared by every variant that serves Flask
(flask-werkzeug, flask-gunicorn, flask-gunicorn-gthread, flask-uwsgi, flask-waitress,
flask-httpbridge), so that only the server differs.

GET / -> 200 text/plain "Hello, world.\\n"; POST /echo -> the body back as
application/octet-stream; anything else (wrong methods included) -> 404.

Run as a program, it is the reference's werkzeug-flask row: Werkzeug's server as the post's
`app.run` builds it (`make_server`, a thread per connection, Flask 2.2's default), started
directly so that the start line can follow the bind.
usage: python3 flask_app.py [--host H] [--port P] [--threads N]   (defaults 127.0.0.1, 8000, 1;
--threads is accepted like every variant's and has no effect: a thread per connection)
"""

import argparse
import signal
import sys

from flask import Flask, Response, request
from werkzeug.serving import make_server

app = Flask(__name__)

HELLO = b"Hello, world.\n"


# content_type (not mimetype) is passed so Flask adds no "; charset=utf-8".
@app.get("/")
def index():
    return Response(HELLO, content_type="text/plain")


@app.post("/echo")
def echo():
    return Response(request.get_data(), content_type="application/octet-stream")


# Every variant answers 404 to anything else, wrong methods included.
@app.errorhandler(405)
def method_not_allowed(_error):
    return Response(b"404 page not found\n", status=404, content_type="text/plain")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"listening on http://{args.host}:{server.server_port}", file=sys.stderr, flush=True)
    # serve_forever() ends cleanly on KeyboardInterrupt: make SIGTERM one too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    server.serve_forever()

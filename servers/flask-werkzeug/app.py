"""werkzeug-flask: the reference's slowest row, Flask on its own dev server.

`app.run` as the post ran it; Flask 2.2 serves each connection on a thread.
servers/flask-gunicorn serves this same module, so only the server differs.
usage: python3 app.py [--host H] [--port P]
"""

import argparse

from flask import Flask, Response, request

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
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    app.run(host=args.host, port=args.port)

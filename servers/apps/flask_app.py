"""The common endpoints as a Flask app, shared by every variant that serves Flask
(flask-werkzeug, flask-gunicorn, flask-gunicorn-gthread, flask-uwsgi, flask-waitress,
flask-httpbridge), so that only the server differs.

GET / -> 200 text/plain "Hello, world.\\n"; POST /echo -> the body back as
application/octet-stream; anything else (wrong methods included) -> 404.
"""

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

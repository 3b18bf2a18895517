"""The common endpoints as a bare WSGI callable (no framework), shared by every variant that
serves it (wsgi-httpbridge, wsgi-gunicorn, wsgi-uwsgi), so that only the server differs.

GET / (and HEAD) -> 200 text/plain "Hello, world.\\n"; POST /echo -> the body back as
application/octet-stream; anything else -> 404.
"""

HELLO = b"Hello, world.\n"
NOT_FOUND = b"404 page not found\n"


def _read_body(environ):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def application(environ, start_response):
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if path == "/" and method in ("GET", "HEAD"):
        status, content_type, body = "200 OK", "text/plain", HELLO
    elif path == "/echo" and method == "POST":
        status, content_type, body = "200 OK", "application/octet-stream", _read_body(environ)
    else:
        status, content_type, body = "404 Not Found", "text/plain", NOT_FOUND
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    # A HEAD answer has no body; uWSGI would send whatever the app returns, so return none.
    return [] if method == "HEAD" else [body]


app = application  # the name gunicorn-style commands use by habit

"""A bare WSGI app (no framework) for uWSGI's HTTP/1.1 socket.

Run by `uwsgi --plugin python3 --wsgi-file app.py` (see variant.toml).
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
    # uWSGI sends whatever the app returns, even to HEAD; other servers drop it.
    return [] if method == "HEAD" else [body]

"""A bare ASGI app (no framework) for uvicorn with uvloop and httptools.

Run by `python3 -m uvicorn app:app` (see variant.toml).
"""

HELLO = b"Hello, world.\n"
NOT_FOUND = b"404 page not found\n"


def _start(status, content_type, length):
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", content_type),
            (b"content-length", str(length).encode()),
        ],
    }


async def _read_body(receive):
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def app(scope, receive, send):
    if scope["type"] != "http":
        return  # lifespan is turned off on the command line
    path, method = scope["path"], scope["method"]
    if path == "/" and method in ("GET", "HEAD"):
        status, content_type, body = 200, b"text/plain", HELLO
    elif path == "/echo" and method == "POST":
        status, content_type, body = 200, b"application/octet-stream", await _read_body(receive)
    else:
        status, content_type, body = 404, b"text/plain", NOT_FOUND
    await send(_start(status, content_type, len(body)))
    await send({"type": "http.response.body", "body": body})

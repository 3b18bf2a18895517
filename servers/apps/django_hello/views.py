"""The common endpoints: GET / -> "Hello, world.\\n" (text/plain); POST /echo -> the body back
(application/octet-stream); anything else, wrong methods included, 404."""

from django.http import HttpResponse, HttpResponseNotFound

HELLO = b"Hello, world.\n"
NOT_FOUND = b"404 page not found\n"


def not_found(request, exception=None):
    return HttpResponseNotFound(NOT_FOUND, content_type="text/plain")


def index(request):
    if request.method not in ("GET", "HEAD"):
        return not_found(request)
    response = HttpResponse(HELLO, content_type="text/plain")
    if request.method == "HEAD":
        # Django leaves dropping a HEAD body to the server (only its runserver does it), and
        # gunicorn and uWSGI do not: the answer keeps GET's Content-Length, without the body.
        response["Content-Length"] = str(len(HELLO))
        response.content = b""
    return response


def echo(request):
    if request.method != "POST":
        return not_found(request)
    return HttpResponse(request.body, content_type="application/octet-stream")

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
    return HttpResponse(HELLO, content_type="text/plain")


def echo(request):
    if request.method != "POST":
        return not_found(request)
    return HttpResponse(request.body, content_type="application/octet-stream")

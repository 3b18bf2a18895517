"""Django, unchanged, on httpbridge.wsgi (started from its command line, as a user would):
a view with a URL parameter, a form POST through Django's CSRF protection, and the shared
project of the django-httpbridge variant."""

from __future__ import annotations

import json
import re
import sys
import urllib.parse
from pathlib import Path

import pytest
from conftest import REPO, free_port, request

pytest.importorskip("django")

SETTINGS = """
SECRET_KEY = "test-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "hbsite.urls"
INSTALLED_APPS = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware"]
DATABASES = {}
USE_TZ = True
"""

URLS = """
from django.urls import path
from . import views

urlpatterns = [path("hello/<str:name>", views.hello), path("contact", views.contact)]
"""

VIEWS = """
from django import forms
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token


class ContactForm(forms.Form):
    name = forms.CharField(max_length=20)
    age = forms.IntegerField(min_value=0)


def hello(request, name):
    return HttpResponse(f"Hello, {name}; q={request.GET.get('q')}", content_type="text/plain")


def contact(request):
    if request.method == "GET":
        return HttpResponse(get_token(request), content_type="text/plain")
    form = ContactForm(request.POST)
    if not form.is_valid():
        return JsonResponse(form.errors, status=400)
    return JsonResponse(form.cleaned_data)
"""

WSGI = """
import os
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hbsite.settings")
application = get_wsgi_application()
"""


@pytest.fixture
def site(tmp_path: Path, spawn):  # type: ignore[no-untyped-def]
    project = tmp_path / "hbsite"
    project.mkdir()
    files = {"__init__": "", "settings": SETTINGS, "urls": URLS, "views": VIEWS, "wsgi": WSGI}
    for name, text in files.items():
        (project / f"{name}.py").write_text(text)
    port = free_port()
    return spawn([sys.executable, "-m", "httpbridge.wsgi", "--bind", f"127.0.0.1:{port}", "--chdir",
                  str(tmp_path), "hbsite.wsgi:application"], port)


def test_a_view_with_a_url_parameter(site) -> None:  # type: ignore[no-untyped-def]
    r = request(site.port, path="/hello/caf%C3%A9?q=1")
    assert (r.status, r.body.decode()) == (200, "Hello, caf\u00e9; q=1")
    assert request(site.port, path="/nowhere").status == 404


def test_a_form_post_through_csrf(site) -> None:  # type: ignore[no-untyped-def]
    first = request(site.port, path="/contact")
    token = first.body.decode()
    cookie = re.match(r"csrftoken=([^;]+)", first.header("Set-Cookie") or "")
    assert first.status == 200 and cookie
    form = urllib.parse.urlencode({"name": "Ada", "age": "36", "csrfmiddlewaretoken": token}).encode()
    headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", f"csrftoken={cookie[1]}")]
    r = request(site.port, "POST", "/contact", body=form, headers=headers)
    assert (r.status, json.loads(r.body)) == (200, {"name": "Ada", "age": 36})
    bad = urllib.parse.urlencode({"name": "Ada", "age": "-1", "csrfmiddlewaretoken": token}).encode()
    r = request(site.port, "POST", "/contact", body=bad, headers=headers)
    assert r.status == 400 and "age" in json.loads(r.body)
    no_token = request(site.port, "POST", "/contact", body=b"name=Ada&age=3", headers=headers[:1])
    assert no_token.status == 403  # Django's CSRF check saw the request as it was sent


def test_the_shared_project_of_the_variant(spawn) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    spawn([sys.executable, "-m", "httpbridge.wsgi", "--bind", f"127.0.0.1:{port}", "--chdir",
           str(REPO / "servers" / "apps"), "django_hello.wsgi:application"], port)
    r = request(port)
    assert (r.status, r.body, r.header("Content-Type"), r.header("Content-Length")) == \
        (200, b"Hello, world.\n", "text/plain", "14")
    r = request(port, "POST", "/echo", body=bytes(range(256)))
    assert (r.status, r.body) == (200, bytes(range(256)))
    assert r.header("Content-Type") == "application/octet-stream"
    assert request(port, path="/echo").status == 404
    assert request(port, path="/missing").status == 404

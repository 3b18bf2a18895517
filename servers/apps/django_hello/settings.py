"""Settings of the django_hello project: the smallest production-style project that serves
the common endpoints. No database, no apps, no templates; DEBUG off.

Middleware: CommonMiddleware only, the one that sets Content-Length (Django's own
HttpResponse leaves it to the server) and that every project created by
`django-admin startproject` has. The others of a new project (sessions, CSRF, auth,
messages, clickjacking) serve browser sessions these endpoints do not have.
"""

SECRET_KEY = "httpbridge-benchmark-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "django_hello.urls"
WSGI_APPLICATION = "django_hello.wsgi.application"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
APPEND_SLASH = False  # /echo and / are the URLs; no redirects to guess others
DATABASES: dict = {}
USE_I18N = False
USE_TZ = True
DEFAULT_CHARSET = "utf-8"

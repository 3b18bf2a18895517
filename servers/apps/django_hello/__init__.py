"""A Django project serving the common endpoints (see views.py): django_hello.wsgi:application."""

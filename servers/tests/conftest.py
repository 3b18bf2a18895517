"""Fixtures for the variant tests. Helpers: variant_launch.py (start and stop a
variant from its manifest) and wire_http.py (HTTP/1.1 on raw sockets)."""

import pytest

from variant_launch import start_or_skip


@pytest.fixture(scope="module")
def running(request):
    """One server per variant (the parameter), shared by a module's tests."""
    server = start_or_skip(request.param)
    yield server
    server.stop()

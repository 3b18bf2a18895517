"""servers/python-pybind11 and servers/python-cffi answer like servers/cpp-beast, byte for byte.

Each variant is started from its own variant.toml, as the harness would start it.
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BUILD_DIR, REPO, TIMEOUT, free_port, wait_for_port

VARIANTS = ["python-pybind11", "python-cffi"]

BINARY = bytes(range(256)) + b"\0\0end"
REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /?q=1 HTTP/1.1\r\nHost: t\r\n\r\n",
    b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s" % (len(BINARY), BINARY),
    b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab\0c\r\n0\r\n\r\n",
    b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n",
    b"PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx",
    b"GET /echo/more HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
    b"GET / HTTP/1.0\r\n\r\n",
]


def command(variant: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The variant's start command and extra environment, placeholders filled."""
    directory = REPO / "servers" / variant
    manifest = tomllib.loads((directory / "variant.toml").read_text())
    values = {"host": "127.0.0.1", "port": str(port), "threads": "1", "build_dir": str(BUILD_DIR),
              "variant_dir": str(directory), "root": str(REPO), "python": sys.executable}
    argv = [arg.format(**values) for arg in shlex.split(manifest["run"]["command"])]
    env = {k: v.format(**values) for k, v in manifest["run"].get("env", {}).items()}
    for requirement in manifest["run"].get("requires", []):
        kind, _, what = requirement.partition(":")
        if kind == "file" and not Path(what.format(**values)).exists():
            pytest.skip(f"{variant}: {what.format(**values)} is not built")
    return argv, env


def exchange(port: int, raw: bytes) -> bytes:
    """Send raw (ending with a Connection: close request) and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(raw)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return re.sub(rb"\r\nDate: [^\r]*", b"", b"".join(chunks))  # the only line that differs


def closing(raw: bytes) -> bytes:
    head, sep, body = raw.partition(b"\r\n\r\n")
    return head + b"\r\nConnection: close" + sep + body


@pytest.fixture(scope="module")
def beast_port() -> Iterator[int]:
    """servers/cpp-beast, the reference for every byte."""
    binary = BUILD_DIR / "servers" / "cpp-beast" / "cpp-beast"
    if not binary.exists():
        pytest.skip(f"{binary} is not built")
    port = free_port()
    proc = subprocess.Popen([str(binary), "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_answers_like_cpp_beast(variant: str, beast_port: int, spawn) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    argv, env = command(variant, port)
    server = spawn(argv, port, env=env)
    for raw in REQUESTS:  # one at a time, each on its own connection
        if raw.endswith(b"HTTP/1.0\r\n\r\n"):
            expected, got = exchange(beast_port, raw), exchange(port, raw)
        else:
            expected, got = exchange(beast_port, closing(raw)), exchange(port, closing(raw))
        assert got == expected, raw
    pipelined = b"".join(REQUESTS[:-2]) + closing(REQUESTS[-2])  # keep-alive, in order
    assert exchange(port, pipelined) == exchange(beast_port, pipelined)
    assert server.stop() == 0
    assert "Running on http://127.0.0.1:%d/" % port in server.stdout

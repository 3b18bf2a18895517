"""Both native variants answer the common endpoints byte for byte the same.

Usage: variant_equivalence.py CPP_BEAST_BINARY C_CALLBACK_BINARY

Starts each binary on a free loopback port (--port 0; the port is read from the
line it prints once it listens), sends the same requests to both over one
keep-alive connection and over fresh ones, and compares status line, headers
(except Date) and body. Standard library only.
"""

import os
import re
import selectors
import signal
import socket
import subprocess
import sys

TIMEOUT = 10.0  # seconds; bounds every read, start and stop

ECHO_BODY = bytes(range(256)) * 400  # 102400 bytes, NUL bytes included

# (name, raw request, is HEAD)
REQUESTS = [
    ("GET /", b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", False),
    ("HEAD /", b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", True),
    ("POST /echo", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
     b"Content-Length: %d\r\n\r\n" % len(ECHO_BODY) + ECHO_BODY, False),
    ("GET /missing", b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n", False),
    ("POST /", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc", False),
    ("GET /echo", b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n", False),
    ("GET /?q=1", b"GET /?q=1 HTTP/1.1\r\nHost: t\r\n\r\n", False),
]


class Reader:
    """Reads HTTP/1.1 responses off one socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed mid-response")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self, head):
        status_line = self._line()
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            name, _, value = line.partition(b":")
            headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
        fields = {n.lower(): v for n, v in headers}
        body = b""
        if "transfer-encoding" in fields:
            raise AssertionError("unexpected Transfer-Encoding: %s" % fields["transfer-encoding"])
        if not head and "content-length" in fields:
            body = self._exact(int(fields["content-length"]))
        return status_line, headers, body


class Variant:
    def __init__(self, binary):
        self.name = os.path.basename(binary)
        self.proc = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", "0", "--threads", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        line = self._first_line()
        match = re.search(rb"http://127\.0\.0\.1:(\d+)/", line)
        if not match:
            self.stop()
            raise AssertionError("%s did not say where it listens: %r" % (self.name, line))
        self.port = int(match.group(1))

    def _first_line(self):
        # Bounded: the binary prints its line right after listening.
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(TIMEOUT):
            self.stop()
            raise AssertionError("%s printed nothing within %ss" % (self.name, TIMEOUT))
        return self.proc.stdout.readline()

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("%s did not stop on SIGTERM" % self.name)
        err = self.proc.stderr.read().decode(errors="replace")
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code, err


def without_date(headers):
    return [(n, v) for n, v in headers if n.lower() != "date"]


def one_per_connection(variant):
    answers = []
    for _, raw, head in REQUESTS:
        with variant.connect() as sock:
            sock.sendall(raw)
            answers.append(Reader(sock).response(head))
    return answers


def keep_alive_pipelined(variant):
    with variant.connect() as sock:
        sock.sendall(b"".join(raw for _, raw, _ in REQUESTS))
        reader = Reader(sock)
        return [reader.response(head) for _, _, head in REQUESTS]


def check_common_endpoints(name, answers, failures):
    by_name = dict(zip((n for n, _, _ in REQUESTS), answers))

    def expect(cond, what):
        if not cond:
            failures.append("%s: %s" % (name, what))

    status, headers, body = by_name["GET /"]
    fields = {n.lower(): v for n, v in headers}
    expect(status == b"HTTP/1.1 200 OK", "GET / status %r" % status)
    expect(body == b"Hello, world.\n", "GET / body %r" % body)
    expect(fields.get("content-type") == "text/plain", "GET / Content-Type %r" % fields.get("content-type"))
    expect(fields.get("content-length") == "14", "GET / Content-Length %r" % fields.get("content-length"))
    expect("date" in fields, "GET / has no Date")

    status, headers, body = by_name["HEAD /"]
    fields = {n.lower(): v for n, v in headers}
    expect(status == b"HTTP/1.1 200 OK", "HEAD / status %r" % status)
    expect(fields.get("content-length") == "14", "HEAD / Content-Length %r" % fields.get("content-length"))

    status, headers, body = by_name["POST /echo"]
    fields = {n.lower(): v for n, v in headers}
    expect(status == b"HTTP/1.1 200 OK", "POST /echo status %r" % status)
    expect(body == ECHO_BODY, "POST /echo body differs (%d bytes)" % len(body))
    expect(fields.get("content-type") == "application/octet-stream",
           "POST /echo Content-Type %r" % fields.get("content-type"))

    for missing in ("GET /missing", "GET /echo"):
        status = by_name[missing][0]
        expect(status.startswith(b"HTTP/1.1 404 "), "%s status %r" % (missing, status))


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    variants = []
    failures = []
    try:
        for binary in argv[1:]:
            variants.append(Variant(binary))
        results = {}
        for v in variants:
            results[v.name] = {
                "one request per connection": one_per_connection(v),
                "keep-alive, pipelined": keep_alive_pipelined(v),
            }
        first, second = variants[0].name, variants[1].name
        for mode in results[first]:
            for (req_name, _, _), a, b in zip(REQUESTS, results[first][mode], results[second][mode]):
                for part, x, y in (("status line", a[0], b[0]),
                                   ("headers without Date", without_date(a[1]), without_date(b[1])),
                                   ("body", a[2], b[2])):
                    if x != y:
                        failures.append("%s, %s: %s differs\n  %s: %r\n  %s: %r"
                                        % (mode, req_name, part, first, x[:200], second, y[:200]))
            for v in variants:
                check_common_endpoints("%s (%s)" % (v.name, mode), results[v.name][mode], failures)
    finally:
        for v in variants:
            code, err = v.stop()
            if code != 0:
                failures.append("%s exited with %s on SIGTERM; stderr:\n%s" % (v.name, code, err))
    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print("ok: %s and %s answer %d requests identically (one per connection and pipelined)"
          % (variants[0].name, variants[1].name, len(REQUESTS)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

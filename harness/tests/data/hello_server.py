"""A stdlib HTTP/1.1 server that answers exactly what every variant must answer.

Used by the harness tests as a stand-in variant:
  hello_server.py --host H --port P [--crash-after N] [--content-type T]
--crash-after N: exit abruptly (code 3) when request N+1 arrives, to test crash handling.
--content-type T: answer GET / with this Content-Type (to test that verify notices).
--ignore-sigterm: keep serving on SIGTERM (to test the SIGKILL fallback).
--reuse-port: bind with SO_REUSEPORT, so that it shares a port another socket listens on.
--head MODE: answer HEAD / as every variant must (ok), then close the connection as waitress
  2.1 does (close), or with the body it must not send, then close (body-close).
"""

import argparse
import os
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HELLO = b"Hello, world.\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hello_type = "text/plain"
    head_mode = "ok"
    crash_after = None
    served = 0
    lock = threading.Lock()

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def _count(self):
        with Handler.lock:
            Handler.served += 1
            if Handler.crash_after is not None and Handler.served > Handler.crash_after:
                sys.stderr.write(f"hello_server: crashing on purpose at request {Handler.served}\n")
                sys.stderr.flush()
                os._exit(3)

    def _answer(self, status, ctype, body, send_body=True):
        head = (f"HTTP/1.1 {status} {self.responses[status][0]}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n")
        if self.close_connection:
            head += "Connection: close\r\n"
        # One write per answer: separate small writes would meet Nagle and delayed ACK.
        self.wfile.write(head.encode() + b"\r\n" + (body if send_body else b""))

    def do_GET(self, send_body=True):
        self._count()
        if self.path == "/":
            self._answer(200, self.hello_type, HELLO, send_body)
        else:
            self._answer(404, "text/plain", b"404 page not found\n", send_body)

    def do_HEAD(self):
        self.do_GET(send_body=self.head_mode == "body-close")
        if self.head_mode != "ok":
            self.close_connection = True

    def do_POST(self):
        self._count()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/echo":
            self._answer(200, "application/octet-stream", body)
        else:
            self._answer(404, "text/plain", b"404 page not found\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients leaving is normal
            super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1, help="accepted and ignored")
    parser.add_argument("--work-us", type=float, help="accepted and ignored (c-callback's)")
    parser.add_argument("--crash-after", type=int)
    parser.add_argument("--content-type", default="text/plain")
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--reuse-port", action="store_true")
    parser.add_argument("--head", choices=("ok", "close", "body-close"), default="ok")
    args = parser.parse_args()
    Server.allow_reuse_port = args.reuse_port
    Handler.crash_after = args.crash_after
    Handler.hello_type = args.content_type
    Handler.head_mode = args.head
    server = Server((args.host, args.port), Handler)
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever(poll_interval=0.1)
    server.server_close()


if __name__ == "__main__":
    main()

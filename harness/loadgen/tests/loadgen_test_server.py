"""A small HTTP/1.1 server that counts what it receives, for the loadgen's tests.

  loadgen_test_server.py [--port P] [--pause-ms MS --period-ms MS] [--delay-ms MS]
                         [--close-after N | --reset-after N | --close-each | --hang]

Prints `listening on http://127.0.0.1:P` to stderr once bound; on SIGTERM or SIGINT
prints its counts as one JSON line on stdout and exits 0.

Answers: GET / -> 200 `Hello, world.\\n`; POST /echo -> 200 with the body;
/cycle -> 200, 301, 404, 503 in turn (one server-wide sequence); anything else 404.
--pause-ms/--period-ms: answer nothing during the last MS of every period (a stall);
--delay-ms: every answer waits MS, one at a time per connection (a slow server);
--close-after N: on each connection, close (FIN) instead of answering request N+1;
--reset-after N: the same with a reset (RST); --close-each: `Connection: close` on
every answer; --hang: read requests, never answer.
"""

import argparse
import asyncio
import json
import signal
import socket
import struct
import sys
import time

HELLO = b"Hello, world.\n"
REASONS = {200: "OK", 301: "Moved Permanently", 404: "Not Found", 503: "Service Unavailable"}
CYCLE = (200, 301, 404, 503)
PATTERN = bytes(ord("a") + i % 26 for i in range(26))  # what hb-loadgen puts in bodies


class Counts:
    def __init__(self):
        self.connections = 0
        self.requests = 0
        self.methods = {}
        self.paths = {}
        self.statuses = {}
        self.body_bytes = 0
        self.bad_bodies = 0
        self.max_pipelined = 0  # most requests that arrived together before any was answered
        self.cycle = 0

    def as_dict(self):
        return {k: v for k, v in vars(self).items() if k != "cycle"}


class Server:
    def __init__(self, args):
        self.args = args
        self.counts = Counts()
        self.t0 = time.monotonic()

    def paused_until(self):
        """The end of the current stall, or None when answering now."""
        a = self.args
        if not a.pause_ms:
            return None
        period, pause = a.period_ms / 1000, a.pause_ms / 1000
        phase = (time.monotonic() - self.t0) % period
        return time.monotonic() + (period - phase) if phase >= period - pause else None


class Connection(asyncio.Protocol):
    def __init__(self, server: Server):
        self.server = server
        self.buf = b""
        self.answered = 0
        self.pending = []  # answers held back by a pause or a delay, in order
        self.flushing = None
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.counts.connections += 1

    def data_received(self, data):
        self.buf += data
        batch = []
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buf[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buf) < end + 4 + length:
                break
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            method, path, _ = head[0].split(" ", 2)
            batch.append((method, path, body))
        if not batch:
            return
        c = self.server.counts
        c.max_pipelined = max(c.max_pipelined, len(batch))
        for method, path, body in batch:
            if not self.request(method, path, body):
                return
        self.flush()

    def request(self, method, path, body):
        """Count one request and queue its answer; False when the connection was dropped."""
        a, c = self.server.args, self.server.counts
        if a.close_after is not None and self.answered >= a.close_after:
            self.flush()  # the answers before it go out, then the FIN
            self.transport.close()
            return False
        if a.reset_after is not None and self.answered >= a.reset_after:
            sock = self.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()
            return False
        c.requests += 1
        c.methods[method] = c.methods.get(method, 0) + 1
        c.paths[path] = c.paths.get(path, 0) + 1
        c.body_bytes += len(body)
        expected = (PATTERN * (len(body) // 26 + 1))[:len(body)]
        c.bad_bodies += body != expected
        if path == "/" and method in ("GET", "HEAD"):
            status, ctype, payload = 200, "text/plain", HELLO
        elif path == "/echo" and method == "POST":
            status, ctype, payload = 200, "application/octet-stream", body
        elif path == "/cycle":
            status, ctype, payload = CYCLE[c.cycle % len(CYCLE)], "text/plain", b"cycle\n"
            c.cycle += 1
        else:
            status, ctype, payload = 404, "text/plain", b"404 page not found\n"
        c.statuses[str(status)] = c.statuses.get(str(status), 0) + 1
        close = a.close_each
        head = (f"HTTP/1.1 {status} {REASONS[status]}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(payload)}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n")
        if method == "HEAD":
            payload = b""
        self.pending.append((head.encode() + payload, close))
        self.answered += 1
        return True

    def flush(self):
        """Send the held answers in order, unless a stall or a delay holds them back."""
        a = self.server.args
        if a.hang or self.flushing or self.transport.is_closing():
            return
        loop = asyncio.get_running_loop()
        until = self.server.paused_until()
        if until is not None:
            self.flushing = loop.call_at(loop.time() + (until - time.monotonic()), self.resume)
            return
        if a.delay_ms:
            if self.pending:
                self.flushing = loop.call_later(a.delay_ms / 1000, self.send_one)
            return
        out = b"".join(answer for answer, _ in self.pending)
        close = any(c for _, c in self.pending)
        self.pending.clear()
        if out:
            self.transport.write(out)
        if close:
            self.transport.close()

    def resume(self):
        self.flushing = None
        self.flush()

    def send_one(self):
        self.flushing = None
        if self.pending and not self.transport.is_closing():
            answer, close = self.pending.pop(0)
            self.transport.write(answer)
            if close:
                self.transport.close()
        self.flush()

    def connection_lost(self, exc):
        if self.flushing:
            self.flushing.cancel()


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--pause-ms", type=float, default=0)
    p.add_argument("--period-ms", type=float, default=1000)
    p.add_argument("--delay-ms", type=float, default=0)
    p.add_argument("--close-after", type=int)
    p.add_argument("--reset-after", type=int)
    p.add_argument("--close-each", action="store_true")
    p.add_argument("--hang", action="store_true")
    args = p.parse_args()

    server = Server(args)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(lambda: Connection(server), args.host, args.port, backlog=1024)
    port = listener.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on http://{args.host}:{port}", file=sys.stderr, flush=True)
    await stop.wait()
    listener.close()
    print(json.dumps(server.counts.as_dict()), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

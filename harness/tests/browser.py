"""Open a page in headless Chromium and report what a reader would see: console errors, failed
or network loads, the size of every plot, the tables, and a screenshot.

Chromium is driven through the DevTools protocol over a pipe (--remote-debugging-pipe: JSON
messages separated by NUL bytes on fds 3 and 4), so no port, no websocket and no third-party
client are needed. Every wait has a deadline; the browser is killed on the way out.

    /usr/bin/python3 -m harness.tests.browser PAGE.html SCREENSHOT.png [HEIGHT]
    (what the README's screenshot is made with; HEIGHT: only the top of the page, in pixels)
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runs in the page once it has loaded: what is on screen, measured by the layout engine.
PROBE = """JSON.stringify({
  plots: [...document.querySelectorAll('svg:not(svg svg), img')]
    .map(n => { const r = n.getBoundingClientRect();
                return {id: (n.closest('figure') || n).id, width: r.width, height: r.height}; }),
  tables: [...document.querySelectorAll('table')].map(t => ({
    section: (t.closest('section') || {}).id || t.id || '',
    title: ((t.closest('section') || document).querySelector('h2') || {}).textContent || '',
    rows: t.tBodies.length ? t.tBodies[0].rows.length : 0,
    width: t.getBoundingClientRect().width})),
  headings: [...document.querySelectorAll('h2')].map(h => h.textContent),
  hidden: [...document.querySelectorAll('nav, details')]
    .filter(n => n.offsetParent === null).length,
  scripts: document.scripts.length,
  links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  pageWidth: document.documentElement.scrollWidth,
  pageHeight: document.documentElement.scrollHeight
})"""


class BrowserError(Exception):
    pass


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclasses.dataclass
class PageView:
    console: list[str]  # console errors, uncaught exceptions, log errors, failed loads
    requests: list[str]  # every URL the page loaded
    plots: list[dict]  # {id, width, height} of each top-level svg or img
    tables: list[dict]  # {section, title, rows, width}
    headings: list[str]
    hidden: int  # nav and details elements not laid out (print hides them)
    scripts: int
    links: list[str]
    screenshot: Path | None


class _Pipe:
    """The DevTools protocol over Chromium's pipe: send commands, collect events."""

    def __init__(self, proc, to_browser: int, from_browser: int):
        self.proc, self.out, self.inp = proc, to_browser, from_browser
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("no answer from Chromium before the deadline")
            ready, _, _ = select.select([self.inp], [], [], left)
            if ready:
                chunk = os.read(self.inp, 1 << 20)
                if not chunk:
                    raise BrowserError(f"Chromium closed the pipe (exit {self.proc.poll()})")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        while True:
            ev = self._read_message(deadline)
            if ev.get("method") == method:
                return ev
            self.events.append(ev)


def _console_lines(events: list[dict]) -> list[str]:
    out = []
    for ev in events:
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", "")))
                            for a in p.get("args", []))
            out.append(f"console.{p['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            thrown = (d.get("exception") or {}).get("description", "")
            out.append(f"exception: {d.get('text')} {thrown}")
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            out.append(f"log {entry['level']} ({entry.get('source')}): {entry.get('text')} "
                       f"{entry.get('url', '')}")
        elif method == "Network.loadingFailed":
            out.append(f"load failed: {p.get('errorText')}")
    return out


def view_page(page: Path, screenshot: Path | None = None, width: int = 1366,
              height: int = 900, media: str = "screen", shot_height: int | None = None,
              timeout: float = 60) -> PageView:
    """Load page (a local file) in headless Chromium and measure it as laid out for media
    ("screen" or "print"), with a screenshot of the whole page (or of its top shot_height
    pixels); raise BrowserError if the browser is missing or does not answer in
    time."""
    chromium = find_chromium()
    if not chromium:
        raise BrowserError("no chromium on PATH (Debian: apt-get install chromium; make deps)")
    with tempfile.TemporaryDirectory(prefix="hb-chromium-") as profile:
        # fd 3: what the browser reads (our commands); fd 4: what it writes (answers, events)
        cmd_r, cmd_w = os.pipe()
        ans_r, ans_w = os.pipe()
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--mute-audio",
                f"--user-data-dir={profile}", f"--window-size={width},{height}",
                "--remote-debugging-pipe", "about:blank"]

        def child_fds():
            # copies above 3 and 4 first, so that moving one never overwrites the other
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (cmd_r, ans_w)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        # pass_fds keeps 3 and 4 (set up by child_fds) open across exec and closes the rest
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, pass_fds=(3, 4),
                                preexec_fn=child_fds, start_new_session=True)
        os.close(cmd_r)
        os.close(ans_w)
        pipe = _Pipe(proc, cmd_w, ans_r)
        try:
            return _drive(pipe, Path(page).resolve(), screenshot, width, height, media,
                          shot_height, timeout)
        finally:
            for fd in (cmd_w, ans_r):
                os.close(fd)
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


def _drive(pipe: _Pipe, page: Path, screenshot, width, height, media, shot_height,
           timeout) -> PageView:
    targets = pipe.call("Target.getTargets", timeout=timeout)["targetInfos"]
    target = next((t["targetId"] for t in targets if t["type"] == "page"), None)
    if target is None:
        target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.call(f"{domain}.enable", session=session)
    pipe.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
              "deviceScaleFactor": 1, "mobile": False}, session=session)
    pipe.call("Emulation.setEmulatedMedia", {"media": media}, session=session)
    pipe.events.clear()
    pipe.call("Page.navigate", {"url": page.as_uri()}, session=session)
    pipe.wait_event("Page.loadEventFired", timeout=timeout)
    probe = pipe.call("Runtime.evaluate", {"expression": PROBE, "returnByValue": True},
                      session=session)
    if "exceptionDetails" in probe:
        raise BrowserError(f"probe failed: {probe['exceptionDetails'].get('text')}")
    seen = json.loads(probe["result"]["value"])
    shot = None
    if screenshot:
        data = pipe.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport":
                         True, "clip": {"x": 0, "y": 0, "width": width, "height":
                                        min(seen["pageHeight"], shot_height or 1 << 30),
                                        "scale": 1}},
                         session=session, timeout=timeout)["data"]
        shot = Path(screenshot)
        shot.write_bytes(base64.b64decode(data))
    requests = [ev["params"]["request"]["url"] for ev in pipe.events
                if ev.get("method") == "Network.requestWillBeSent"]
    return PageView(_console_lines(pipe.events), requests, seen["plots"], seen["tables"],
                    seen["headings"], seen["hidden"], seen["scripts"], seen["links"], shot)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or (len(argv) == 3 and not argv[2].isdigit()):
        print("usage: python3 -m harness.tests.browser PAGE.html SCREENSHOT.png [HEIGHT]",
              file=sys.stderr)
        return 2
    view = view_page(Path(argv[0]), Path(argv[1]),
                     shot_height=int(argv[2]) if len(argv) == 3 else None)
    for line in view.console:
        print(line)
    print(f"{len(view.plots)} plots, {len(view.tables)} tables; screenshot {view.screenshot}")
    return 1 if view.console else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

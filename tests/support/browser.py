"""Drive the system's headless Chromium over the DevTools protocol (no browser download).

Just enough for the report tests: open a URL, evaluate JavaScript until a condition holds
(polled with a deadline), record network requests, take a screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,2000",
]


class Browser:
    """One Chromium process with one page; use as a context manager."""

    def __init__(self, profile_dir: Path | None = None, timeout: float = 30.0) -> None:
        self._tmp = (
            None
            if profile_dir
            else tempfile.TemporaryDirectory(prefix="cdp-", ignore_cleanup_errors=True)
        )
        self.profile = profile_dir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._wait_port(timeout)
        self._stack = contextlib.ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(self._page_ws(port, timeout), max_size=None)
        )
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def _wait_port(self, timeout: float) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            if marker.exists():
                lines = marker.read_text().split()
                if lines:
                    return int(lines[0])
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    @staticmethod
    def _page_ws(port: int, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
            time.sleep(0.05)
        raise TimeoutError("no page target")

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(method)
            msg = json.loads(self.ws.recv(timeout=left))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def evaluate(self, expression: str) -> Any:
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in res:
            raise RuntimeError(res["exceptionDetails"])
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0) -> Any:
        """Poll a JS expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.evaluate(expression)
            if last:
                return last
            time.sleep(0.1)
        raise TimeoutError(f"condition never held: {expression} (last={last!r})")

    def goto(self, url: str) -> None:
        self.send("Page.enable")
        self.send("Network.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 2000, "deviceScaleFactor": 1, "mobile": False},
        )
        self.send("Page.navigate", {"url": url})

    def block_network(self) -> None:
        """Make every http(s) fetch fail, as on a machine without network."""
        self.send("Network.enable")
        self.send("Network.setBlockedURLs", {"urls": ["http://*", "https://*", "ws://*"]})

    def requested_urls(self) -> list[str]:
        self.evaluate("1")  # drain pending events
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def screenshot(self, path: Path) -> Path:
        res = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(res["data"]))
        return path

    def screenshot_of(self, selector_index: tuple[str, int]) -> bytes:
        """PNG bytes of the `index`-th element matching `selector` (scrolled into view)."""
        sel, i = selector_index
        rect = self.evaluate(
            f"""(() => {{ const e = document.querySelectorAll({json.dumps(sel)})[{i}];
                e.scrollIntoView(); const r = e.getBoundingClientRect();
                return {{x: r.x + window.scrollX, y: r.y + window.scrollY,
                         width: r.width, height: r.height}}; }})()"""
        )
        res = self.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": {**rect, "scale": 0.5}},
        )
        return base64.b64decode(res["data"])

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self._tmp is not None:
                self._tmp.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

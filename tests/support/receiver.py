"""Receivers for the tests: real `ccee-webhook serve` processes, and the app in process.

A process is used where process behaviour is the point (signals, kill -9, workers, start-up
flags, logs); `in_process_receiver` serves the same app through Litestar's test client for
HTTP contract tests; `ThreadedServer` runs an app under a real uvicorn in a thread (to inject
a broken filesystem).
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from support.credentials import TOKEN, TOKENS_ENV
from support.paths import CLI
from support.waiting import wait_until


def _post(
    client: Any, content: bytes, path: str | None, content_type: str | None, **kw: Any
) -> httpx.Response:
    headers = dict(kw.pop("headers", {}) or {})
    if content_type is not None:
        headers.setdefault("content-type", content_type)
    return client.post(path or f"/ccee/{TOKEN}", content=content, headers=headers, **kw)  # type: ignore[no-any-return]


@dataclass
class ReceiverProc:
    """A real `ccee-webhook serve` subprocess; stdout and stderr go to files (scanned later)."""

    proc: subprocess.Popen[bytes]
    data_dir: Path
    stdout_path: Path
    stderr_path: Path
    url: str = ""
    verify: bool | str | ssl.SSLContext = True
    _client: httpx.Client | None = field(default=None, repr=False)

    @property
    def callback_url(self) -> str:
        return f"{self.url}/ccee/{TOKEN}"

    def wait_url(self, timeout: float = 60.0) -> str:
        def has_line() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"receiver exited with {self.proc.returncode}: {self.stderr()[-2000:]}"
                )
            text = self.stdout_path.read_text(encoding="utf-8", errors="replace")
            return "\n" in text

        wait_until(has_line, timeout, "receiver URL on stdout")
        self.url = self.stdout_path.read_text(encoding="utf-8").splitlines()[0].strip()
        return self.url

    def ready(self) -> bool:
        try:
            return self.client.get("/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 60.0) -> ReceiverProc:
        if not self.url:
            self.wait_url(timeout)

        def ok() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"receiver exited with {self.proc.returncode}: {self.stderr()[-2000:]}"
                )
            return self.ready()

        try:
            wait_until(ok, timeout, "receiver /readyz")  # workers import in parallel
        except AssertionError:
            self.stop()  # never leave a half-started server behind
            raise
        return self

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=15, verify=self.verify)
        return self._client

    def post(
        self,
        content: bytes,
        path: str | None = None,
        content_type: str | None = "application/json",
        **kw: Any,
    ) -> httpx.Response:
        """POST `content` to `path` (default: the first token's callback URL)."""
        return _post(self.client, content, path, content_type, **kw)

    def kill9(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the process (SIGTERM by default), SIGKILL after 30 s; the exit code."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    #: The receiver's log (its structured lines go to stderr).
    log = stderr


def launch_receiver(
    data_dir: Path,
    *args: str,
    port: int = 0,
    tokens: str | None = TOKENS_ENV,
    env: dict[str, str] | None = None,
    verify: bool | str | ssl.SSLContext = True,
    logs_dir: Path | None = None,
) -> ReceiverProc:
    """Start `ccee-webhook serve` (does not wait; call `.wait_ready()`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    full_env["CCEE_WEBHOOK_DATA_DIR"] = str(data_dir)
    if tokens is not None:
        full_env["CCEE_WEBHOOK_TOKENS"] = tokens
    full_env.update(env or {})
    tag = uuid.uuid4().hex[:8]
    logs = logs_dir or data_dir.parent / "receiver-logs"
    logs.mkdir(parents=True, exist_ok=True)
    out, err = logs / f"{tag}.stdout", logs / f"{tag}.stderr"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            [CLI, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=o,
            stderr=e,
            env=full_env,
        )
    return ReceiverProc(proc, data_dir, out, err, verify=verify)


def start_receiver(data_dir: Path, *args: str, **kw: Any) -> ReceiverProc:
    """Start `ccee-webhook serve` and wait until `/readyz` answers 200."""
    return launch_receiver(data_dir, *args, **kw).wait_ready()


@dataclass
class InProcessReceiver:
    """The receiver app served by Litestar's test client: same HTTP contract, no process."""

    client: Any  # litestar.testing.TestClient
    data_dir: Path

    def post(
        self,
        content: bytes,
        path: str | None = None,
        content_type: str | None = "application/json",
        **kw: Any,
    ) -> httpx.Response:
        return _post(self.client, content, path, content_type, **kw)


@contextmanager
def in_process_receiver(data_dir: Path, **settings: Any) -> Iterator[InProcessReceiver]:
    """`ingest.app.create_app` on the run's tokens, its lifespan run by the test client."""
    from litestar.testing import TestClient

    from ingest.app import create_app
    from settings import ReceiverSettings
    from settings.tokens import parse_tokens

    data_dir.mkdir(parents=True, exist_ok=True)
    conf = ReceiverSettings(data_dir=str(data_dir), tokens=parse_tokens(TOKENS_ENV), **settings)
    with TestClient(app=create_app(conf), base_url="http://127.0.0.1") as client:
        yield InProcessReceiver(client, data_dir)


class ThreadedServer:
    """An ASGI app under a real uvicorn server in a thread (for injecting a broken disk)."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        wait_until(lambda: self.server.started, what="threaded uvicorn")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()

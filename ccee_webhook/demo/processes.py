"""Child processes of the demo: `ccee-webhook simulate` and `ccee-webhook serve`.

Why a module of its own: the demo must leave nothing running, whatever happens (an error,
Ctrl-C, SIGTERM). Children run in their own session, so a terminal's Ctrl-C reaches only the
demo, which then stops them in order (SIGTERM, then SIGKILL after a grace period); on Linux
they also get SIGTERM if the demo itself dies. Secrets reach them only through the
environment; their output goes to log files in the demo folder, except the first stdout
line, which is the URL they listen on (the CLI contract).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

#: Runs the `ccee-webhook` group in a child interpreter (works without the console script).
_LAUNCH = "import sys; from ccee_webhook.cli import main; sys.exit(main(prog_name='ccee-webhook'))"


class ChildError(RuntimeError):
    """A child did not start (its log's tail is in the message) or misbehaved."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: ask the kernel to SIGTERM this child when the demo process dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class Child:
    """One `ccee-webhook <command>` subprocess and the URL it printed first."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        cwd: Path | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log_lock = threading.Lock()
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = [
            s.encode() for s in sorted({s for s in secrets if s}, key=len, reverse=True)
        ]
        self._first_line: queue.Queue[str | None] = queue.Queue(maxsize=1)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=str(cwd) if cwd else None,
            start_new_session=True,  # Ctrl-C in the terminal goes to the demo only
            preexec_fn=_die_with_parent,  # only prctl: safe between fork and exec
        )
        self._drains = [
            threading.Thread(target=self._pump, args=(True,), name=f"{name}-out", daemon=True),
            threading.Thread(target=self._pump, args=(False,), name=f"{name}-err", daemon=True),
        ]
        for t in self._drains:
            t.start()
        self.url: str | None = None

    def _write(self, raw: bytes) -> None:
        """Append one line to the log with the demo's secrets masked (whatever the child
        logs, e.g. a library logging the destination URL, the token stays off the disk)."""
        for secret in self._secrets:
            raw = raw.replace(secret, b"***")
        with self._log_lock, contextlib.suppress(ValueError, OSError):
            self._log.write(raw)
            self._log.flush()

    def _pump(self, is_stdout: bool) -> None:
        """Copy a child's stream to the log; the first stdout line also goes to `wait_url`."""
        stream = self.proc.stdout if is_stdout else self.proc.stderr
        assert stream is not None
        first = is_stdout
        for raw in stream:
            if first:
                first = False
                with contextlib.suppress(queue.Full):
                    self._first_line.put_nowait(raw.decode("utf-8", "replace").strip())
            self._write(raw)
        if first:
            with contextlib.suppress(queue.Full):
                self._first_line.put_nowait(None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait_url(self, timeout: float) -> str:
        """The URL from the first stdout line, or ChildError (exited, timed out, not a URL)."""
        try:
            line = self._first_line.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise ChildError(
                f"{self.name} printed no URL within {timeout:.0f} s; log {self.log_path}:\n"
                f"{_tail(self.log_path)}"
            ) from None
        if line is None or not line.startswith(("http://", "https://")):
            self.stop()
            raise ChildError(
                f"{self.name} did not start (exit code {self.proc.poll()}); "
                f"log {self.log_path}:\n{_tail(self.log_path)}"
            )
        self.url = line.rstrip("/")
        return self.url

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM (graceful: the receiver flushes its lake), SIGKILL after `grace` seconds.

        Idempotent; returns the exit code."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for t in self._drains:
            t.join(timeout=5)
        with self._log_lock, contextlib.suppress(OSError):
            self._log.close()
        return self.proc.returncode


def wait_until(predicate: object, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `predicate()` until true; TimeoutError naming `what` after `timeout` seconds."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)

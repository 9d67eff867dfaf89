"""Servers the tests start in a session of their own, and how they are stopped: SIGTERM to
the whole process group (what Ctrl-C does in a terminal), then SIGKILL after a grace period,
so that no child outlives its test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path


def session_alive(sid: int) -> list[int]:
    """The live (not zombie) processes of session `sid`."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except OSError:
            continue  # the process exited while we looked
        if fields[0] != "Z" and int(fields[3]) == sid:
            alive.append(int(entry.name))
    return alive


def stop_session(proc: subprocess.Popen[bytes], grace: float = 30.0) -> float:
    """SIGTERM to `proc`'s process group (started with `start_new_session=True`), SIGKILL to
    whatever of its session is still alive after `grace` seconds; returns the seconds the
    session took to go after SIGTERM (`grace` or more when it had to be killed)."""
    t0 = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    while session_alive(proc.pid) and time.monotonic() - t0 < grace:
        time.sleep(0.1)
    took = time.monotonic() - t0
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return took

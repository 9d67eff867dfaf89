"""Every server the product starts stops within 10 s of SIGTERM (or Ctrl-C), children included.

`serve` and `simulate` run as real processes in their own session, as a user would start
them; each is stopped with SIGTERM once it answers over HTTP, and the whole session must be
gone within the bound. (`dg dev` is covered by the demo test, on the demo's data.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support.processes import session_alive

STOP_WITHIN = 10.0
_LAUNCH = "import sys; from ccee_webhook.cli import main; sys.exit(main(prog_name='ccee-webhook'))"


@pytest.mark.parametrize(
    ("args", "probe"),
    [
        (["serve", "--host", "127.0.0.1", "--port", "0"], "/healthz"),
        (["simulate", "--host", "127.0.0.1", "--port", "0"], "/admin/clock"),
    ],
    ids=["serve", "simulate"],
)
def test_server_stops_within_10_s_of_sigterm(tmp_path: Path, args: list[str], probe: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    env |= {"CCEE_WEBHOOK_DATA_DIR": str(tmp_path), "CCEE_WEBHOOK_TOKENS": "t" * 32}
    proc = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, *args], cwd=tmp_path, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + probe, timeout=2, trust_env=False).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{url}{probe} never answered"
            time.sleep(0.1)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        while session_alive(proc.pid) and time.monotonic() - t0 < 30:
            time.sleep(0.05)
        took = time.monotonic() - t0
        assert took < STOP_WITHIN, f"{args[0]} took {took:.1f} s to stop"
        # a clean exit, or the conventional re-raise of SIGTERM after a graceful shutdown
        assert proc.wait(timeout=5) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

"""`marimo run notebooks/delivery_health.py` served on loopback and loaded in headless Chromium."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.browser import Browser

ROOT = Path(__file__).resolve().parents[2]

STATE = """(() => {
  const deep = (n) => (n.shadowRoot ? deep(n.shadowRoot) : "") + [...n.childNodes].map(
      c => c.nodeType === 3 ? c.textContent : (c.nodeType === 1 || c.nodeType === 11 ? deep(c) : "")
  ).join(" ");
  const kpis = [...document.querySelectorAll(".ccee-kpi")].map(e => e.dataset.indicador);
  const charts = [...document.querySelectorAll(".vega-embed")];
  const drawn = charts.filter(e => e.querySelector("svg .mark-line, svg .mark-rect, canvas"));
  const toasts = [...document.querySelectorAll("li")].map(e => e.innerText)
      .filter(t => /error|erro/i.test(t));
  const errors = document.querySelectorAll(
      "[class*='marimo-error'], .output-area .traceback").length;
  return {kpis, charts: charts.length, drawn: drawn.length, toasts, errors,
          alarm: (document.body?.innerText || "").includes("ALARME: perda de dados"),
          cells: document.querySelectorAll(".marimo-cell").length,
          text: document.body ? deep(document.body) : ""};
})()"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def dashboard(warehouse: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path / "marimo.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "marimo",
                "run",
                str(ROOT / "notebooks" / "delivery_health.py"),
                "--headless",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-token",
                "--",
                "--warehouse",
                str(warehouse),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_dashboard_renders_charts_and_on_call_figures(
    dashboard: tuple[str, Path], tmp_path: Path
) -> None:
    url, log = dashboard
    with Browser() as b:
        b.goto(url)
        # 7 KPI cards and the 5 charts drawn by vega inside marimo's frontend.
        state = b.wait_for(
            f"(() => {{ const s = {STATE}; "
            f"return s.kpis.length === 7 && s.drawn >= 5 ? s : null }})()",
            timeout=120,
        )
        shot = b.screenshot(tmp_path / "delivery_health_dashboard.png")
    assert state["kpis"][:2] == ["Perda de dados", "Taxa de entrega"]
    assert state["alarm"] and "78,9 %" in state["text"]
    assert re.search(r"\bt4\b", state["text"])  # the lost notification, listed
    assert state["errors"] == 0 and state["toasts"] == []
    assert state["charts"] == state["drawn"] == 5
    assert shot.stat().st_size > 20_000
    assert "Traceback" not in log.read_text()

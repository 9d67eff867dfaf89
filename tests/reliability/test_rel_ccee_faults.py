"""CCEE-side faults during the results pull: retries, resumption, and an identical warehouse.

The simulator's fault knobs (SOAP faults, malformed XML, a page failing mid-pagination,
latency) plus a loopback proxy in front of it for what the simulator cannot do itself (bare
HTTP 502s and answers slower than the client's timeout). The Dagster asset
`resultados_notificacao` is re-run, as its schedule would, until it succeeds; the final table
must equal a clean run's, and no page committed before a failure is fetched again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from lxml import etree
from support.credentials import PERFIL, WS_PASSWORD, WS_USERNAME
from support.dagster_runs import RESULTS_ASSETS, materialize, query
from support.simulator import make_config, use_simulator_profile

from pipelines.resources import CCEEResource
from settings import ccee_day
from simulator.knobs import FailPage, FaultSettings
from simulator.participants import Participant
from simulator.server import run_simulator

EVENTS = 90
PAGE_SIZE = 10
TIMEOUT_S = 0.6
MAX_RUNS = 30
COLUMNS = (
    "transaction_id, perfil, evento_notificacao, participante_mercado, endereco_destino, "
    "situacao, data_origem, data_notificacao, data_origem_raw, data_notificacao_raw, "
    "valores_invalidos, dia"
)


class FaultProxy:
    """Loopback HTTP proxy to the simulator's SOAP endpoints that classifies every answer
    and injects bare 502s and over-timeout delays on a fixed schedule (by request number)."""

    SCHEDULE: ClassVar[dict[int, str]] = {
        2: "http_502", 5: "timeout", 9: "http_502", 13: "timeout", 17: "http_502"
    }

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests = 0
        self.enabled = False
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.served_pages: Counter[int] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                r = requests.get(proxy.upstream + self.path, timeout=10)
                self._answer(r.status_code, r.headers.get("content-type", ""), r.content)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                page = _page_of(body)
                with proxy.lock:
                    proxy.requests += 1
                    fault = proxy.SCHEDULE.get(proxy.requests) if proxy.enabled else None
                if fault == "http_502":
                    proxy.count("http_502")
                    self._answer(502, "text/html", b"<html>Bad Gateway</html>")
                    return
                if fault == "timeout":
                    proxy.count("timeout")
                    time.sleep(TIMEOUT_S * 2)  # the fault itself: slower than the client waits
                    self._answer(502, "text/html", b"late")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                r = requests.post(
                    proxy.upstream + self.path, data=body, headers=headers, timeout=10
                )
                kind = _classify(r.status_code, r.content)
                proxy.count(kind)
                if kind == "ok" and page is not None:
                    with proxy.lock:
                        proxy.served_pages[page] += 1
                self._answer(r.status_code, r.headers.get("content-type", ""), r.content)

            def _answer(self, status: int, ctype: str, content: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): that was the point

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, kind: str) -> None:
        with self.lock:
            self.outcomes[kind] += 1

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _page_of(body: bytes) -> int | None:
    try:
        root = etree.fromstring(body)
    except etree.XMLSyntaxError:
        return None
    numero: Any = root.xpath("//*[local-name()='paginacao']/*[local-name()='numero']/text()")
    return int(numero[0]) if numero else None


def _classify(status: int, content: bytes) -> str:
    if b"Fault" in content[:4000] and status == 500:
        return "soap_fault"
    try:
        etree.fromstring(content)
    except etree.XMLSyntaxError:
        return "malformed_xml"
    return "ok" if status == 200 else f"http_{status}"


def _table(data_dir: Path) -> list[tuple[Any, ...]]:
    return query(data_dir, f"SELECT {COLUMNS} FROM resultados_notificacao ORDER BY transaction_id")


def test_results_pull_survives_ccee_faults_and_ends_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    participant = Participant(WS_USERNAME, WS_PASSWORD, PERFIL, codigo_participante="666")
    with run_simulator(make_config(tmp_path, participant, start, seed=5)) as sim:
        # Nobody listens at the destination: every notification stays AGUARDANDO, except
        # those we let "deliver" below, so the results mix situações.
        sim.subscribe(PERFIL, "CONTRATO.REGISTRADO", "http://127.0.0.1:9/ccee/none")
        for _ in range(EVENTS):
            sim.inject("CONTRATO.REGISTRADO")
        sim.fast_forward(timedelta(minutes=1))
        partition = ccee_day(start).isoformat()
        ccee = CCEEResource(page_size=PAGE_SIZE, timeout_s=TIMEOUT_S)

        use_simulator_profile(monkeypatch, sim.url, WS_USERNAME, WS_PASSWORD, PERFIL)
        clean_dir = tmp_path / "clean" / "data"
        assert materialize(clean_dir, RESULTS_ASSETS, partition, ccee=ccee).success
        clean = _table(clean_dir)
        assert len(clean) == EVENTS

        proxy = FaultProxy(sim.url)
        use_simulator_profile(monkeypatch, proxy.url, WS_USERNAME, WS_PASSWORD, PERFIL)
        sim.set_faults(
            FaultSettings(
                soap_latency_ms=20,
                soap_error_rate=0.10,
                soap_malformed_rate=0.25,
                fail_page=FailPage("listarResultadoNotificacao", numero=4, vezes=2),
            )
        )
        proxy.enabled = True
        faulty_dir = tmp_path / "faulty" / "data"
        runs = 0
        while runs < MAX_RUNS:
            runs += 1
            run = materialize(faulty_dir, RESULTS_ASSETS, partition, ccee=ccee,
                              raise_on_error=False)
            if run.success:
                break
        sim.set_faults(FaultSettings())
        proxy.close()

    assert runs < MAX_RUNS, "the pull never completed"
    assert _table(faulty_dir) == clean, "the warehouse differs from a clean run"
    progress = query(faulty_dir, "SELECT ultima_pagina, total_paginas, concluido "
                     "FROM _resultados_progresso")
    pages = EVENTS // PAGE_SIZE
    assert progress == [(pages, pages, True)]
    # Resumption: a page committed before a failure is never fetched (successfully) again.
    assert dict(proxy.served_pages) == {p: 1 for p in range(1, pages + 1)}
    faults = {k: v for k, v in proxy.outcomes.items() if k != "ok"}
    assert faults.get("soap_fault", 0) >= 2 and faults.get("malformed_xml", 0) >= 1
    assert faults.get("http_502", 0) >= 1 and faults.get("timeout", 0) >= 1
    print(
        f"\nREL-NUMBERS ccee_faults: faults_injected={sum(faults.values())} {faults} "
        f"dagster_runs={runs} rows={len(clean)} identical=True"
    )

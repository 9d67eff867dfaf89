"""The simulator in tests: a real loopback receiver whose answers a test scripts, the test
participant, a config factory, zeep clients on the WSDL the simulator serves, and the env-var
CCEE profile pointing at a simulator."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import zeep
from zeep.transports import Transport

from simulator.core import SimulatorConfig
from simulator.knobs import DeliverySettings
from simulator.participants import Participant
from simulator.server import RunningSimulator

T0 = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
USER, PASSWORD, PERFIL = "agente.teste", "s3nha-secreta", "4321"
PARTICIPANT = Participant(USER, PASSWORD, PERFIL, codigo_participante="666")


@dataclass
class Received:
    path: str
    body: bytes
    content_type: str | None


@dataclass
class ScriptedReceiver:
    """A real HTTP server on 127.0.0.1 whose answers a test scripts.

    `respond(n)` gives the status for the n-th request (0-based). `down()` closes the port
    (connection refused); `up()` listens again on the same port.
    """

    respond: Callable[[int], int] = lambda n: 201
    hold: threading.Event | None = None  # when set, requests wait for it (a slow destination)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    inflight: int = 0
    max_inflight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ccee/token-secreto"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    n = len(receiver.requests)
                    receiver.requests.append(
                        Received(self.path, body, self.headers.get("Content-Type"))
                    )
                    receiver.inflight += 1
                    receiver.max_inflight = max(receiver.max_inflight, receiver.inflight)
                try:
                    if receiver.hold is not None:
                        receiver.hold.wait(20)
                    status = receiver.respond(n)
                finally:
                    with receiver._lock:
                        receiver.inflight -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def make_config(
    tmp_path: Any, participant: Participant = PARTICIPANT, start: datetime = T0, **kw: Any
) -> SimulatorConfig:
    """A simulator with a frozen clock at `start` (time moves only by fast_forward), no
    spontaneous events, one participant."""
    base: dict[str, Any] = {
        "participants": [participant],
        "db_path": str(tmp_path / "sim.sqlite3"),
        "time_scale": 0.0,
        "start": start,
        "events_per_hour": 0.0,
        "seed": 7,
        # these tests time deliveries from dataOrigem exactly: first attempt at once
        # (the default delay of CCEE's recorded results is tested on its own)
        "delivery": DeliverySettings(first_attempt_delay_s=0.0),
    }
    base.update(kw)
    return SimulatorConfig(**base)


def headers(pagina: int | None = None, tamanho: int = 50, **auth: str) -> dict[str, Any]:
    h: dict[str, Any] = {
        "messageHeader": {"codigoPerfilAgente": auth.get("perfil", PERFIL)},
        "Security": {
            "UsernameToken": {
                "Username": auth.get("username", USER),
                "Password": auth.get("password", PASSWORD),
            }
        },
    }
    if pagina is not None:
        h["paginacao"] = {"numero": pagina, "quantidadeItens": tamanho}
    return h


class Clients:
    """zeep clients for the three services, built from the WSDL the simulator serves."""

    def __init__(self, s: RunningSimulator) -> None:
        session = requests.Session()
        session.trust_env = False
        transport = Transport(session=session, timeout=10)
        self.eventos = zeep.Client(s.wsdl_url("EventoNotificacaoBSv2"), transport=transport)
        self.preferencias = zeep.Client(
            s.wsdl_url("PreferenciaNotificacaoBSv2"), transport=transport
        )
        self.resultados = zeep.Client(
            s.wsdl_url("ResultadoNotificacaoBSv2"), transport=transport
        )

    def resultados_page(self, pagina: int = 1, tamanho: int = 50, **filters: Any) -> Any:
        kw: dict[str, Any] = {}
        if "evento" in filters:
            kw["eventoNotificacao"] = {"codigo": filters["evento"]}
        if "dia" in filters:
            kw["periodo"] = {"dia": filters["dia"]}
        if "situacao" in filters:
            kw["situacao"] = {"nome": filters["situacao"]}
        if "transaction_id" in filters:
            kw["transactionId"] = filters["transaction_id"]
        return self.resultados.service.listarResultadoNotificacao(
            _soapheaders=headers(pagina, tamanho), **kw
        )



def use_simulator_profile(
    monkeypatch: pytest.MonkeyPatch, url: str, username: str, password: str, perfil: str
) -> None:
    """The env-var profile `default`, as an operator would configure it for the simulator."""
    for k in ("CERT", "KEY", "CERT_PASSWORD", "CA_BUNDLE", "CONFIG"):
        monkeypatch.delenv(f"CCEE_WEBHOOK_{k}", raising=False)
    monkeypatch.setenv("CCEE_WEBHOOK_CCEE_URL", url)
    monkeypatch.setenv("CCEE_WEBHOOK_USERNAME", username)
    monkeypatch.setenv("CCEE_WEBHOOK_PASSWORD", password)
    monkeypatch.setenv("CCEE_WEBHOOK_PERFIL", perfil)

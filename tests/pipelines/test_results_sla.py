"""CCEE results → resultados_notificacao (real SOAP against the simulator) and sla_entrega."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import pytest
from support.dagster_runs import ALL_ASSETS, LAKE_ASSETS, Runner, checks_of, query
from support.lake_builder import Entrega, write_notificacoes

from ccee.models import Pagina, ResultadoNotificacao
from pipelines.defs.results.assets import resultados_notificacao
from pipelines.resources import CCEEResource
from simulator.core import SimulatorConfig
from simulator.knobs import DeliverySettings
from simulator.participants import Participant
from simulator.server import RunningSimulator, run_simulator

T0 = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
USER, PASSWORD, PERFIL = "agente.pipeline", "s3nha-pipeline", "4321"


class Destino:
    """A real loopback HTTP destination that answers `status` to every POST."""

    def __init__(self) -> None:
        self.status = 503
        dest = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(dest.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ccee/tok"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sim(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[tuple[RunningSimulator, Destino]]:
    config = SimulatorConfig(
        participants=[Participant(USER, PASSWORD, PERFIL, codigo_participante="666")],
        db_path=str(tmp_path / "sim.sqlite3"), time_scale=0.0, start=T0, seed=3,
        # the expected results time deliveries from dataOrigem: first attempt at once
        delivery=DeliverySettings(first_attempt_delay_s=0.0),
    )
    destino = Destino()
    with run_simulator(config) as s:
        monkeypatch.setenv("CCEE_WEBHOOK_CCEE_URL", s.url)
        monkeypatch.setenv("CCEE_WEBHOOK_USERNAME", USER)
        monkeypatch.setenv("CCEE_WEBHOOK_PASSWORD", PASSWORD)
        monkeypatch.setenv("CCEE_WEBHOOK_PERFIL", PERFIL)
        s.subscribe(PERFIL, "CONTRATO.REGISTRADO", destino.url)
        yield s, destino
    destino.close()


class InterruptedCCEE(CCEEResource):
    """The real client, but the connection 'drops' after `cut_after` pages (first run only)."""

    marker: str
    log: str
    cut_after: int = 2

    def paginas_resultados(self, perfil: str, dia: date, start_page: int = 1) -> Iterator[Any]:
        with open(self.log, "a") as fh:
            fh.write(f"{start_page}\n")
        for i, pagina in enumerate(super().paginas_resultados(perfil, dia, start_page), 1):
            if i > self.cut_after and not Path(self.marker).exists():
                Path(self.marker).touch()
                raise ConnectionError("connection reset by peer")
            yield pagina


def test_results_pull_upserts_and_resumes_over_soap(
    sim: tuple[RunningSimulator, Destino], data_dir: Path, run: Runner, tmp_path: Path
) -> None:
    s, destino = sim
    ids = [s.inject("CONTRATO.REGISTRADO")[0] for _ in range(5)]
    s.wait_idle()
    partition = "2026-11-27"

    first = run(partition, [resultados_notificacao], ccee=CCEEResource(page_size=2))
    assert first.success
    rows = query(data_dir, "SELECT transaction_id, perfil, situacao, data_notificacao, dia, "
                           "participante_mercado, valores_invalidos FROM resultados_notificacao "
                           "ORDER BY 1")
    assert [r[0] for r in rows] == sorted(ids)
    assert {r[1:] for r in rows} == {
        (PERFIL, "AGUARDANDO_NOTIFICACAO", None, date(2026, 11, 27), "666", False)}
    # CCEE echoes the destination URL: the token slot never reaches the warehouse
    assert query(data_dir, "SELECT DISTINCT endereco_destino FROM resultados_notificacao") == [
        (destino.url.replace("/ccee/tok", "/ccee/***"),)]

    # the destination recovers; CCEE's 5-minute retry delivers; the next pull updates in place
    destino.status = 201
    s.fast_forward(timedelta(minutes=6))
    assert run(partition, [resultados_notificacao], ccee=CCEEResource(page_size=2)).success
    rows = query(data_dir, "SELECT transaction_id, situacao, data_origem, data_notificacao "
                           "FROM resultados_notificacao ORDER BY 1")
    assert [r[0] for r in rows] == sorted(ids)
    assert all(r[1] == "NOTIFICADO" for r in rows)
    assert all(r[2] == T0 and r[3] == T0 + timedelta(minutes=5) for r in rows)

    # an interrupted pull keeps its committed pages and resumes after them
    query_progress = ("SELECT perfil, ultima_pagina, total_paginas, concluido "
                      "FROM _resultados_progresso")
    flaky = InterruptedCCEE(page_size=2, marker=str(tmp_path / "cut"), log=str(tmp_path / "log"))
    failed = run(partition, [resultados_notificacao], ccee=flaky, raise_on_error=False)
    assert not failed.success
    assert query(data_dir, query_progress) == [(PERFIL, 2, 3, False)]
    assert run(partition, [resultados_notificacao], ccee=flaky).success
    assert (tmp_path / "log").read_text().split() == ["1", "3"]
    assert query(data_dir, query_progress) == [(PERFIL, 3, 3, True)]
    assert query(data_dir, "SELECT count(*), count(DISTINCT transaction_id) "
                           "FROM resultados_notificacao") == [(5, 5)]


def test_no_credentials_is_a_warning_and_an_empty_table(data_dir: Path, run: Runner) -> None:
    result = run("2026-11-27", [resultados_notificacao])
    assert result.success
    mat = result.get_asset_materialization_events()[0].materialization.metadata
    assert mat["sem_credenciais"].value is True
    assert query(data_dir, "SELECT count(*) FROM resultados_notificacao") == [(0,)]


# ---- SLA: a hand-computed day, results fed through the resource's page seam ----------------

class PaginasFixas(CCEEResource):
    """The seam of CCEEResource (profiles + pages of ccee.models Structs) with fixed content."""

    itens_json: str

    def perfis(self) -> dict[str, str]:
        return {"default": PERFIL}

    def paginas_resultados(self, perfil: str, dia: date, start_page: int = 1) -> Iterator[Any]:
        itens = msgspec.json.decode(self.itens_json, type=list[ResultadoNotificacao])
        itens = [i for i in itens if i.data_origem is None or i.data_origem.date() == dia]
        yield Pagina(numero=1, total_paginas=1, quantidade_total_itens=len(itens), itens=itens)


def z(h: int, m: int, s: int = 0, day: int = 20) -> datetime:
    return datetime(2026, 11, day, h, m, s, tzinfo=UTC)


def resultado(tid: str, situacao: str, origem: datetime | None,
              notificado: datetime | None = None, origem_raw: str | None = None
              ) -> ResultadoNotificacao:
    return ResultadoNotificacao(
        transaction_id=tid, evento_notificacao="CONTRATO.REGISTRADO", entidade="CONTRATO",
        evento="REGISTRADO", endereco_destino="https://x/***", participante_mercado="666",
        situacao=situacao, data_origem=origem,
        data_origem_raw=origem_raw or (origem.isoformat() if origem else None),
        data_notificacao=notificado,
        data_notificacao_raw=notificado.isoformat() if notificado else None,
        invalidos=("data_origem",) if origem is None and origem_raw else (),
    )


RESULTADOS = [
    resultado("a", "NOTIFICADO", z(12, 0), z(12, 0, 10)),
    resultado("b", "NOTIFICADO", z(13, 0), z(13, 5, 30)),
    resultado("c", "AGUARDANDO_NOTIFICACAO", z(14, 0)),  # seen > 24 h later: expired
    resultado("d", "EXPIRADO", z(14, 30)),
    resultado("e", "ESTADO_NOVO", z(15, 30)),
    resultado("f", "NOTIFICADO", z(15, 0), z(15, 0, 20)),  # never reached our lake
    resultado("h", "AGUARDANDO_NOTIFICACAO", None, origem_raw="ontem"),
]


def sla_lake(data_dir: Path) -> None:
    contrato = "CONTRATO.REGISTRADO"
    write_notificacoes(data_dir, [
        Entrega("a", contrato, [], z(12, 0, 11), perfil=PERFIL),
        Entrega("b", contrato, [], z(13, 0, 5), perfil=PERFIL),
        Entrega("b", contrato, [], z(13, 5, 30), perfil=PERFIL),
        # originated 23:59:50 (São Paulo) on the 20th, received 00:00:20 on the 21st
        Entrega("g", contrato, [("DATA_ORIGEM_EVENTO", "2026-11-21T02:59:50.000Z")],
                z(3, 0, 20, day=21), perfil=PERFIL),
    ])


def test_sla_figures_for_a_hand_computed_day(data_dir: Path, run: Runner) -> None:
    sla_lake(data_dir)
    seam = PaginasFixas(itens_json=msgspec.json.encode(RESULTADOS).decode())
    assert run("2026-11-21", LAKE_ASSETS).success
    result = run("2026-11-20", ALL_ASSETS, ccee=seam)
    assert result.success
    rows = query(data_dir, "SELECT * FROM sla_entrega")
    assert len(rows) == 1
    (dia, perfil, evento, n, notificado, aguardando, expirado, outros, c50, c95, c99, cmax,
     e50, e95, e99, emax, por_notif, retentativas, ausente, sem_resultado) = rows[0]
    assert (dia, perfil, evento) == (date(2026, 11, 20), PERFIL, "CONTRATO.REGISTRADO")
    assert (n, notificado, aguardando, expirado, outros) == (8, 3, 1, 2, 1)
    # CCEE latency over a=10 s, f=20 s, b=330 s
    assert (c50, cmax) == (20.0, 330.0)
    assert c95 == pytest.approx(20 + 0.9 * 310) and c99 == pytest.approx(20 + 0.98 * 310)
    # end to end over b=5 s, a=11 s, g=30 s (g known only from its DATA_ORIGEM_EVENTO)
    assert (e50, emax) == (11.0, 30.0)
    assert e95 == pytest.approx(11 + 0.9 * 19) and e99 == pytest.approx(11 + 0.98 * 19)
    assert por_notif == pytest.approx(4 / 3)
    assert (retentativas, ausente, sem_resultado) == (1, 1, 1)
    assert checks_of(result)["sla_entrega:notificado_presente_no_lago"] is False

    # f turns up in the lake (say, restored from a backup): the alarm clears
    write_notificacoes(data_dir, [Entrega("f", "CONTRATO.REGISTRADO", [], z(15, 0, 20),
                                          perfil=PERFIL)])
    result = run("2026-11-20", ALL_ASSETS, ccee=seam)
    assert checks_of(result)["sla_entrega:notificado_presente_no_lago"] is True
    assert query(data_dir, "SELECT notificacoes, notificado_ausente_no_lago, "
                           "retentativas_vistas FROM sla_entrega") == [(8, 0, 1)]

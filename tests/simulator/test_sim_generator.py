"""The event generator: plausible lifecycles, the metadata of docs/contracts.md, the rate."""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict
from datetime import timedelta

from support.simulator import PERFIL, T0, ScriptedReceiver, make_config

from ccee.mensagem import decode_mensagem
from simulator.event_catalog import DEFAULT_CODES, EventCatalog
from simulator.generator import TERMINAL, ContractBook
from simulator.ledger import Filtro
from simulator.server import run_simulator

CONTRATO_NAMES = ["ID_CONTRATO", "DATA_ORIGEM_EVENTO", "MES_REFERENCIA", "AMBIENTE_CONTRATACAO"]
MONTANTE_NAMES = [
    "ID_CONTRATO", "DATA_ORIGEM_EVENTO", "MES_REFERENCIA", "SUBMERCADO", "MONTANTE_MWH",
    "AMBIENTE_CONTRATACAO",
]
#: what may come right after an event for the same contract
ALLOWED_NEXT = {
    None: {"CONTRATO.REGISTRADO"},
    "CONTRATO.REGISTRADO": {"CONTRATO.VALIDADO", "CONTRATO.CANCELADO"},
    "CONTRATO.VALIDADO": {
        "MONTANTE_ENERGIA.AJUSTADO", "CONTRATO.ATUALIZADO", "CONTRATO.CONCLUIDO",
        "CONTRATO.CANCELADO",
    },
    "CONTRATO.ATUALIZADO": {"CONTRATO.VALIDADO"},
    "MONTANTE_ENERGIA.AJUSTADO": {"MONTANTE_ENERGIA.VALIDADO", "MONTANTE_ENERGIA.AJUSTADO"},
    "MONTANTE_ENERGIA.VALIDADO": {
        "MONTANTE_ENERGIA.AJUSTADO", "CONTRATO.ATUALIZADO", "CONTRATO.CONCLUIDO",
    },
    "CONTRATO.CONCLUIDO": {"CONTRATO.FINALIZADO"},
    "CONTRATO.FINALIZADO": {"CONTRATO.FINALIZACAO_VALIDADA"},
    "CONTRATO.CANCELADO": {"CONTRATO.CANCELAMENTO_VALIDADO"},
}


def test_lifecycles_and_metadata_are_plausible() -> None:
    book = ContractBook(random.Random(3), ["1", "2"])
    catalog = EventCatalog(DEFAULT_CODES)
    last: dict[str, str | None] = defaultdict(lambda: None)
    seen_codes, mes_values = set(), set()
    for i in range(3000):
        when = T0 + timedelta(minutes=i)
        ev = book.next_event(when, catalog)
        assert ev is not None
        meta = dict((m.nome, m.valor) for m in ev.metadados)
        names = [m.nome for m in ev.metadados]
        cid = meta["ID_CONTRATO"]
        assert cid.isdigit()
        assert ev.codigo in ALLOWED_NEXT[last[cid]], (last[cid], ev.codigo)
        assert last[cid] not in TERMINAL
        last[cid] = ev.codigo
        seen_codes.add(ev.codigo)
        assert meta["DATA_ORIGEM_EVENTO"] == when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert meta["AMBIENTE_CONTRATACAO"] in ("ACL", "ACR")
        assert ev.perfis and set(ev.perfis) <= {"1", "2"}
        if ev.codigo.startswith("MONTANTE_ENERGIA."):
            assert names == MONTANTE_NAMES
            assert re.fullmatch(r"\d{4}-\d{2}", meta["MES_REFERENCIA"])
            assert meta["SUBMERCADO"] in ("SE/CO", "S", "NE", "N")
            assert re.fullmatch(r"\d+\.\d{3}", meta["MONTANTE_MWH"])
            assert float(meta["MONTANTE_MWH"]) > 0
        else:
            assert names == CONTRATO_NAMES
            assert meta["MES_REFERENCIA"] == "null" or re.fullmatch(
                r"\d{4}-\d{2}", meta["MES_REFERENCIA"]
            )
        mes_values.add(meta["MES_REFERENCIA"])
    assert seen_codes == set(DEFAULT_CODES)
    assert "null" in mes_values


def test_generated_events_flow_at_the_configured_rate(
    tmp_path: object, receiver: ScriptedReceiver
) -> None:
    """120 events per CCEE hour, clock at 3 CCEE hours per real second. Arrivals are
    counted by their dataOrigem, so a loaded machine (a lagging loop) cannot skew the rate."""
    cfg = make_config(tmp_path, time_scale=10_800.0, events_per_hour=120.0, seed=11)
    with run_simulator(cfg) as s:
        for code in DEFAULT_CODES:
            s.subscribe(PERFIL, code, receiver.url)
        t1 = s.now()
        window = (t1, t1 + timedelta(hours=5))
        deadline = time.monotonic() + 60
        while (s.sim.generator.last_emitted or t1) < window[1]:
            assert time.monotonic() < deadline, "generator too slow"
            time.sleep(0.02)
        s.call(s.sim.generator.configure, paused=True)
        s.wait_idle()
        _, rows = s.call(s.sim.ledger.search, Filtro(perfil=PERFIL), 0, 1_000_000)
    in_window = [n for n in rows if window[0] <= n.data_origem < window[1]]
    rate = len(in_window) / 5
    assert 90 < rate < 150, rate  # Poisson(600) over 5 h: ±6 sd
    assert len({n.transaction_id for n in rows}) == len(rows)
    bodies = [decode_mensagem(r.body) for r in receiver.requests]
    assert len({b.transactionId for b in bodies}) == len(bodies)
    assert {b.transactionId for b in bodies} <= {n.transaction_id for n in rows}
    assert {b.eventoNotificacao for b in bodies} >= {"CONTRATO.REGISTRADO", "CONTRATO.VALIDADO"}

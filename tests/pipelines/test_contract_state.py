"""`contratos` and `montantes_vigentes` against the generator's own record of what it did.

A few thousand generated events (with lifecycle anomalies injected at a known rate) are
delivered to a real lake out of order (some hours late, some twice), loaded by real Dagster
materializations day by day in reverse order, and compared with the generator's truth.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from support.dagster_runs import LAKE_ASSETS, Runner, checks_of, query
from support.lake_builder import Entrega, write_notificacoes

from ccee.domain import lifecycle
from pipelines.defs.contracts.assets import contratos, montantes_vigentes
from settings import ccee_day
from simulator.event_catalog import EventCatalog
from simulator.generator import ContractBook

PERFIS = ["AGENTE1", "AGENTE2"]
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
ASSETS = [*LAKE_ASSETS, contratos, montantes_vigentes]


def _deliveries(n: int, anomaly_rate: float, seed: int = 7) -> tuple[ContractBook, list[Entrega]]:
    rng = random.Random(seed)
    book = ContractBook(random.Random(seed), PERFIS, anomaly_rate=lambda: anomaly_rate)
    catalog = EventCatalog()
    out: list[Entrega] = []
    for i in range(n):
        when = T0 + timedelta(seconds=40 * i)
        ev = book.next_event(when, catalog)
        assert ev is not None
        for perfil in ev.perfis or PERFIS:
            meta = [(m.nome, m.valor) for m in ev.metadados]
            tx = f"tx-{i}-{perfil}"
            late = rng.random() < 0.15  # a retry hours later: arrives after newer events
            delay = timedelta(hours=rng.uniform(1, 10)) if late else timedelta(seconds=2)
            out.append(Entrega(tx, ev.codigo, meta, ev.data_origem + delay, perfil=perfil))
            if rng.random() < 0.1:  # the 201 was lost: the same notification again
                out.append(
                    Entrega(
                        tx,
                        ev.codigo,
                        meta,
                        ev.data_origem + delay * 2 + timedelta(minutes=5),
                        perfil=perfil,
                    )
                )
    return book, out


def _load(data_dir: Path, run: Runner, entregas: list[Entrega]) -> None:
    days = sorted({ccee_day(e.recebido_em) for e in entregas})
    rng = random.Random(1)
    shuffled = entregas[:]
    rng.shuffle(shuffled)  # files hold deliveries in any order
    write_notificacoes(data_dir, shuffled)
    for day in reversed(days):  # any order of partitions gives the same tables
        result = run(day.isoformat(), assets=ASSETS)
        failed = {k for k, ok in checks_of(result).items() if not ok}
        assert not failed, failed


def test_detector_finds_exactly_the_injected_anomalies_and_amounts_in_force(
    data_dir: Path, run: Runner
) -> None:
    book, entregas = _deliveries(2500, anomaly_rate=0.02)
    truth = book.verdade
    assert len(truth.anomalias) >= 20  # enough of both kinds to mean something
    assert {a.tipo for a in truth.anomalias} == {
        lifecycle.APOS_TERMINAL,
        lifecycle.TRANSICAO_NAO_PREVISTA,
    }
    _load(data_dir, run, entregas)

    got = {
        (p, c): a
        for p, c, a in query(
            data_dir,
            "SELECT perfil, id_contrato, anomalia FROM contratos WHERE anomalia IS NOT NULL",
        )
    }
    want = {(p, a.id_contrato): a for a in truth.anomalias for p in a.perfis}
    assert set(got) == set(want)
    for key, a in want.items():
        assert got[key] == lifecycle.motivo(a.tipo, a.de, a.para)

    # Current state: each contract's last CONTRATO event by origin time, from the deliveries.
    last: dict[tuple[str | None, int], tuple[str, str]] = {}
    for e in entregas:
        if not e.evento.startswith("CONTRATO."):
            continue
        m = dict(e.metadados)
        key = (e.perfil, int(m["ID_CONTRATO"]))
        cand = (m["DATA_ORIGEM_EVENTO"], e.evento.split(".", 1)[1])
        last[key] = max(last.get(key, cand), cand)
    estados = dict(
        ((p, c), s)
        for p, c, s in query(data_dir, "SELECT perfil, id_contrato, estado_atual FROM contratos")
    )
    assert estados == {k: v[1] for k, v in last.items()}

    rows = query(
        data_dir,
        """SELECT perfil, id_contrato, strftime(mes_referencia, '%Y-%m'), submercado,
                  montante_mwh, declaracoes,
                  strftime(declarado_em, '%Y-%m-%dT%H:%M:%S.%gZ')
           FROM montantes_vigentes""",
    )
    got_m = {(p, c, m, s): (v, n, t) for p, c, m, s, v, n, t in rows}
    want_m = {
        (p, d.id_contrato, d.mes_referencia, d.submercado): (
            Decimal(d.montante_mwh),
            d.declaracoes,
            d.data_origem,
        )
        for d in truth.montantes()
        for p in d.perfis
    }
    assert len(want_m) > 100
    assert any(n > 1 for _, n, _ in want_m.values())  # superseded declarations exist
    assert got_m == want_m


def test_no_anomaly_on_normal_lifecycles_even_when_first_seen_mid_lifecycle(
    data_dir: Path, run: Runner
) -> None:
    book, entregas = _deliveries(1200, anomaly_rate=0.0, seed=11)
    assert book.verdade.anomalias == []
    # The data start late: every contract's events before the cut are unknown to us.
    cut = T0 + timedelta(hours=4)
    visiveis = [
        e
        for e in entregas
        if dict(e.metadados)["DATA_ORIGEM_EVENTO"] >= cut.strftime("%Y-%m-%dT%H:%M:%S")
    ]
    _load(data_dir, run, visiveis)
    ((n, anom, meio),) = query(
        data_dir,
        """SELECT count(*), count(anomalia),
                  count(*) FILTER (WHERE sequencia NOT LIKE 'REGISTRADO%') FROM contratos""",
    )
    assert n > 100 and meio > 20  # many contracts first seen mid-lifecycle
    assert anom == 0

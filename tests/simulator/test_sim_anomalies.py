"""The generator's lifecycle anomalies and amounts: injected at the knob's rate, recorded,
and consistent with the domain model (ccee.domain.lifecycle), which checks them in Python."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta

import httpx
from support.simulator import PERFIL, T0, make_config

from ccee.domain import lifecycle
from simulator.event_catalog import EventCatalog
from simulator.generator import ContractBook
from simulator.server import run_simulator


def _generate(rate: float, n: int = 3000, seed: int = 5) -> tuple[ContractBook, list]:
    book = ContractBook(random.Random(seed), ["1", "2"], anomaly_rate=lambda: rate)
    catalog = EventCatalog()
    evs = [book.next_event(T0 + timedelta(seconds=30 * (i // 3)), catalog) for i in range(n)]
    assert all(e is not None for e in evs)
    return book, evs


def _sequences(evs: list) -> dict[int, list[tuple[str, str]]]:
    seqs: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for e in evs:
        if e.codigo.startswith("CONTRATO."):
            m = {x.nome: x.valor for x in e.metadados}
            seqs[int(m["ID_CONTRATO"])].append((m["DATA_ORIGEM_EVENTO"], e.codigo.split(".")[1]))
    return seqs


def test_injected_anomalies_are_exactly_the_lifecycle_breaks() -> None:
    book, evs = _generate(rate=0.03)
    truth = {a.id_contrato: a for a in book.verdade.anomalias}
    assert 30 <= len(truth) <= 0.03 * 3000 * 1.5  # the knob's rate, bounded by targets
    assert len(truth) == len(book.verdade.anomalias)  # at most one per contract
    seqs = _sequences(evs)
    for cid, seq in seqs.items():
        times = [t for t, _ in seq]
        assert times == sorted(times) and len(set(times)) == len(times)  # no ties per contract
        found = lifecycle.anomalia([e for _, e in seq])
        if cid in truth:
            a = truth[cid]
            assert found == (a.tipo, lifecycle.motivo(a.tipo, a.de, a.para)), cid
        else:
            assert found is None, (cid, seq)


def test_no_anomaly_without_the_knob() -> None:
    book, evs = _generate(rate=0.0, seed=9)
    assert book.verdade.anomalias == []
    assert all(lifecycle.anomalia([e for _, e in s]) is None for s in _sequences(evs).values())


def test_last_declaration_per_key_is_recorded() -> None:
    book, evs = _generate(rate=0.0, seed=3)
    last: dict[tuple[int, str, str], tuple[str, str]] = {}
    count: dict[tuple[int, str, str], int] = defaultdict(int)
    for e in evs:
        if not e.codigo.startswith("MONTANTE_ENERGIA."):
            continue
        m = {x.nome: x.valor for x in e.metadados}
        key = (int(m["ID_CONTRATO"]), m["MES_REFERENCIA"], m["SUBMERCADO"])
        count[key] += 1
        last[key] = max(last.get(key, ("", "")), (m["DATA_ORIGEM_EVENTO"], m["MONTANTE_MWH"]))
    got = {(d.id_contrato, d.mes_referencia, d.submercado): d for d in book.verdade.montantes()}
    assert set(got) == set(last)
    assert any(n > 2 for n in count.values())  # adjusted more than once before validation
    for key, d in got.items():
        assert (d.data_origem, d.montante_mwh) == last[key]
        assert d.declaracoes == count[key]


def test_anomaly_knob_and_truth_over_the_admin_api(tmp_path: object) -> None:
    cfg = make_config(tmp_path, anomaly_rate=0.2)
    with run_simulator(cfg) as s:
        faults = httpx.get(f"{s.url}/admin/faults").json()
        assert faults["lifecycle_anomaly_rate"] == 0.2
        r = httpx.put(f"{s.url}/admin/faults", json={**faults, "lifecycle_anomaly_rate": 1.5})
        assert r.status_code == 400  # out of [0, 1]
        assert httpx.post(f"{s.url}/admin/burst", json={"count": 400}).status_code == 201
        truth = httpx.get(f"{s.url}/admin/generator/truth").json()
        assert truth["anomalias"] and truth["montantes"]
        a = truth["anomalias"][0]
        assert set(a) == {"id_contrato", "perfis", "tipo", "de", "para", "data_origem"}
        assert a["perfis"] == [PERFIL]
        stats = httpx.get(f"{s.url}/admin/stats").json()
        assert stats["generator"]["anomalies_injected"] == len(truth["anomalias"])


def test_simulate_cli_offers_the_anomaly_rate() -> None:
    from click.testing import CliRunner

    from simulator.cli import simulate

    res = CliRunner().invoke(simulate, ["--help"])
    assert res.exit_code == 0 and "--anomaly-rate" in res.output
    bad = CliRunner().invoke(simulate, ["--anomaly-rate", "2"])
    assert bad.exit_code != 0 and "--anomaly-rate" in bad.output

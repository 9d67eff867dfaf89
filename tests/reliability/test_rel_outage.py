"""A receiver outage of hours (CCEE time) with the simulator's retry rule, then recovery.

The simulator (frozen clock, discrete-event fast-forward) delivers to a real
`ccee-webhook serve` process; the receiver is killed for OUTAGE_HOURS of CCEE time while
events keep coming, then restarted on the same port. CCEE's retries (every 5 minutes) deliver
the backlog; some 201s are "lost" on CCEE's side so a few notifications arrive twice. After
materializing the real Dagster assets: `notificacoes` holds every notification exactly once,
the SLA_ASSETS table reports the late ones with their true CCEE latency.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.credentials import PERFIL, TOKEN, WS_PASSWORD, WS_USERNAME
from support.dagster_runs import LAKE_ASSETS, RESULTS_ASSETS, SLA_ASSETS, days, materialize, query
from support.receiver import start_receiver
from support.simulator import make_config, use_simulator_profile
from support.waiting import free_port

from simulator.knobs import FaultSettings
from simulator.participants import Participant
from simulator.server import run_simulator

OUTAGE_HOURS = 6
CODES = ("CONTRATO.REGISTRADO", "MONTANTE_ENERGIA.VALIDADO")
LOST_201 = 4


def test_hours_long_outage_is_recovered_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    # CCEE time starts OUTAGE_HOURS + 1 h in the past so that, after fast-forwarding, CCEE's
    # timestamps and the receiver's wall clock describe the same hours.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=OUTAGE_HOURS + 1)
    participant = Participant(WS_USERNAME, WS_PASSWORD, PERFIL, codigo_participante="666")
    port = free_port()
    rcv = start_receiver(data_dir, port=port)
    with run_simulator(make_config(tmp_path, participant, start, seed=11)) as sim:
        use_simulator_profile(monkeypatch, sim.url, WS_USERNAME, WS_PASSWORD, PERFIL)
        for code in CODES:
            sim.subscribe(PERFIL, code, f"http://127.0.0.1:{port}/ccee/{TOKEN}")

        on_time = [t for _ in range(5) for code in CODES for t in sim.inject(code)]
        sim.fast_forward(timedelta(minutes=1))
        assert {sim.notification(t).situacao for t in on_time} == {"NOTIFICADO"}  # type: ignore[union-attr]

        rcv.kill9()  # the outage
        late: list[str] = []
        for _ in range(OUTAGE_HOURS * 2):
            late += [t for code in CODES for t in sim.inject(code)]
            sim.fast_forward(timedelta(minutes=30))
        waiting = {sim.notification(t).situacao for t in late}  # type: ignore[union-attr]
        assert waiting == {"AGUARDANDO_NOTIFICACAO"}
        assert sim.notification(late[0]).tentativas >= OUTAGE_HOURS * 12  # type: ignore[union-attr]

        rcv = start_receiver(data_dir, port=port)  # recovery, same URL
        sim.set_faults(FaultSettings(lose_next_201=LOST_201))
        sim.fast_forward(timedelta(minutes=15))
        ledger = {t: sim.notification(t) for t in on_time + late}
        assert {n.situacao for n in ledger.values()} == {"NOTIFICADO"}  # type: ignore[union-attr]
        rcv.stop()

        stamps = [n.data_origem for n in ledger.values()]  # type: ignore[union-attr]
        stamps += [datetime.now(UTC)]
        partitions = days(stamps)
        for p in partitions:
            assert materialize(data_dir, LAKE_ASSETS, p).success
        for p in partitions:
            assert materialize(data_dir, RESULTS_ASSETS, p).success
        no_grace = {"ops": {"sla_entrega": {"config": {"carencia_minutos": 0}}}}
        for p in partitions:
            assert materialize(data_dir, SLA_ASSETS, p, run_config=no_grace).success

    rows = query(data_dir, "SELECT transaction_id, entregas FROM notificacoes")
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)) == len(ledger), "every notification exactly once"
    assert set(ids) == set(ledger)
    assert sum(r[1] for r in rows) == len(ledger) + LOST_201, "re-sent deliveries are counted"

    latency = {
        t: (n.data_notificacao - n.data_origem).total_seconds()  # type: ignore[union-attr,operator]
        for t, n in ledger.items()
    }
    assert max(latency[t] for t in on_time) <= 60
    assert min(latency[t] for t in late) >= 5 * 60
    assert max(latency.values()) >= OUTAGE_HOURS * 3600 - 300

    sla = query(
        data_dir,
        "SELECT sum(notificacoes), sum(notificado), sum(aguardando), sum(expirado), "
        "max(latencia_ccee_max_s), sum(retentativas_vistas), sum(notificado_ausente_no_lago) "
        "FROM sla_entrega",
    )[0]
    total, notificado, aguardando, expirado, lat_max, retries_seen, ausentes = sla
    assert (total, notificado, aguardando, expirado) == (len(ledger), len(ledger), 0, 0)
    assert lat_max == pytest.approx(max(latency.values()), abs=1)
    assert retries_seen == LOST_201
    assert ausentes == 0
    late_in_sla = query(
        data_dir,
        "SELECT count(*) FROM resultados_notificacao "
        "WHERE data_notificacao - data_origem > INTERVAL 5 MINUTE",
    )[0][0]
    assert late_in_sla == len(late)
    print(
        f"\nREL-NUMBERS outage: hours={OUTAGE_HOURS} notifications={len(ledger)} late={len(late)} "
        f"lost_201_resent={LOST_201} lost=0 max_ccee_latency_h={lat_max / 3600:.2f}"
    )

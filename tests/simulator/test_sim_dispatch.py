"""The dispatcher's behaviour beyond the retry rule: isolation of slow destinations,
duplicates after a lost 201, raw bodies, bursts, and resuming after a restart."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
from support.simulator import PERFIL, T0, ScriptedReceiver, make_config

from ccee.contract import SITUACAO_AGUARDANDO, SITUACAO_NOTIFICADO
from ccee.mensagem import decode_mensagem
from simulator.dispatcher import DispatchSettings
from simulator.knobs import FaultSettings
from simulator.server import RunningSimulator, run_simulator


def _poll(cond: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_a_hanging_destination_does_not_stall_the_others(tmp_path: object) -> None:
    slow, fast = ScriptedReceiver(hold=threading.Event()), ScriptedReceiver()
    slow.up()
    fast.up()
    try:
        cfg = make_config(
            tmp_path, dispatch=DispatchSettings(timeout_s=15, max_concurrency=6, per_destination=2)
        )
        with run_simulator(cfg) as s:
            s.subscribe(PERFIL, "CONTRATO.REGISTRADO", slow.url)
            s.subscribe(PERFIL, "CONTRATO.VALIDADO", fast.url)
            slow_ids = [s.inject("CONTRATO.REGISTRADO")[0] for _ in range(8)]
            fast_ids = [s.inject("CONTRATO.VALIDADO")[0] for _ in range(8)]
            _poll(lambda: all(
                s.notification(t).situacao == SITUACAO_NOTIFICADO for t in fast_ids
            ), "fast destination")
            # The slow one is capped at its per-destination limit and still hanging.
            assert slow.max_inflight == 2
            assert all(s.notification(t).situacao == SITUACAO_AGUARDANDO for t in slow_ids)
            assert fast.max_inflight <= 2 and fast.count == 8
            slow.hold.set()  # type: ignore[union-attr]
            s.wait_idle()
            assert all(s.notification(t).situacao == SITUACAO_NOTIFICADO for t in slow_ids)
            assert slow.count == 8 and slow.max_inflight == 2
    finally:
        slow.hold.set()  # type: ignore[union-attr]
        slow.down()
        fast.down()


def test_lost_201_makes_a_duplicate_delivery(
    sim: RunningSimulator, receiver: ScriptedReceiver
) -> None:
    sim.subscribe(PERFIL, "CONTRATO.CONCLUIDO", receiver.url)
    sim.set_faults(FaultSettings(lose_next_201=1))
    (tx,) = sim.inject("CONTRATO.CONCLUIDO")
    sim.fast_forward(timedelta(minutes=4))
    assert receiver.count == 1
    assert sim.notification(tx).situacao == SITUACAO_AGUARDANDO  # type: ignore[union-attr]
    sim.fast_forward(timedelta(minutes=2))
    assert receiver.count == 2
    assert receiver.requests[0].body == receiver.requests[1].body  # same transactionId
    assert decode_mensagem(receiver.requests[1].body).transactionId == tx
    n = sim.notification(tx)
    assert n is not None and n.situacao == SITUACAO_NOTIFICADO
    assert n.data_notificacao == T0 + timedelta(minutes=5)
    assert [a.resposta_perdida for a in sim.attempts(tx)] == [True, False]


def test_admin_api_injects_raw_bodies_bursts_and_reports(
    sim: RunningSimulator, receiver: ScriptedReceiver
) -> None:
    admin = httpx.Client(base_url=sim.url, trust_env=False, timeout=30)
    sim.subscribe(PERFIL, "CONTRATO.REGISTRADO", receiver.url)
    sim.subscribe(PERFIL, "MONTANTE_ENERGIA.AJUSTADO", receiver.url)

    raw = '{"eventoNotificacao": "CONTRATO.REGISTRADO", "metadados": ['  # truncated JSON
    r = admin.post("/admin/events", json={"code": "CONTRATO.REGISTRADO", "raw_body": raw})
    assert r.status_code == 201
    (raw_tx,) = r.json()["transaction_ids"]

    meta = [{"nome": "ID_CONTRATO", "valor": "42"}, {"nome": "MES_REFERENCIA", "valor": "null"}]
    r = admin.post(
        "/admin/events", json={"code": "MONTANTE_ENERGIA.AJUSTADO", "metadados": meta, "count": 2}
    )
    assert r.status_code == 201 and len(r.json()["transaction_ids"]) == 2

    assert admin.post("/admin/events", json={"code": "NAO.EXISTE"}).status_code == 400
    assert admin.post("/admin/events", json={"code": "CONTRATO.REGISTRADO", "count": 0}
                      ).status_code == 400
    r = admin.post("/admin/fast-forward", json={"seconds": 60})
    assert r.status_code == 200 and r.json()["now"] == (T0 + timedelta(minutes=1)).isoformat()

    assert receiver.requests[0].body == raw.encode()  # verbatim, for quarantine demos
    msgs = [decode_mensagem(x.body) for x in receiver.requests[1:]]
    assert [[(m.nome, m.valor) for m in msg.metadados] for msg in msgs] == [
        [("ID_CONTRATO", "42"), ("MES_REFERENCIA", "null")]
    ] * 2
    assert admin.get(f"/admin/notifications/{raw_tx}").json()["situacao"] == SITUACAO_NOTIFICADO
    assert admin.get("/admin/notifications/nope").status_code == 404

    r = admin.post("/admin/burst", json={"count": 40})
    assert r.status_code == 201
    burst_ids = r.json()["transaction_ids"]
    admin.post("/admin/fast-forward", json={"seconds": 1})
    stats = admin.get("/admin/stats").json()
    subscribed = 3 + len(burst_ids)
    assert stats["ledger"]["notificacoes"] == subscribed
    assert stats["ledger"]["por_situacao"] == {SITUACAO_NOTIFICADO: subscribed}
    assert stats["dispatcher"]["max_attempts"] == 289

    r = admin.put("/admin/faults", json={"soap_error_rate": 2})
    assert r.status_code == 400
    r = admin.put("/admin/faults", json={"lose_201_rate": 0.5, "soap_latency_ms": 5})
    assert r.json()["lose_201_rate"] == 0.5
    assert admin.get("/admin/faults").json()["soap_latency_ms"] == 5

    r = admin.post("/admin/generator", json={"paused": True, "events_per_hour": 30})
    assert r.json() == {
        "paused": True, "events_per_hour": 30.0, "generated": 0, "anomalies_injected": 0}
    r = admin.post("/admin/clock", json={"advance_seconds": 3600})
    assert r.json()["now"] == (T0 + timedelta(hours=1, minutes=1, seconds=1)).isoformat()
    assert admin.get("/admin/clock").json()["time_scale"] == 0.0


def test_preferences_and_pending_deliveries_survive_a_restart(
    tmp_path: object, receiver: ScriptedReceiver
) -> None:
    receiver.respond = lambda n: 503 if n < 3 else 201
    cfg = make_config(tmp_path)
    with run_simulator(cfg) as s:
        s.subscribe(PERFIL, "CONTRATO.VALIDADO", receiver.url)
        (tx,) = s.inject("CONTRATO.VALIDADO")
        s.fast_forward(timedelta(minutes=11))  # attempts at +0, +5, +10: all 503
        assert receiver.count == 3
    cfg2 = make_config(tmp_path, start=T0 + timedelta(minutes=12))
    with run_simulator(cfg2) as s2:
        s2.fast_forward(timedelta(minutes=5))
        assert receiver.count == 4
        n = s2.notification(tx)
        assert n is not None and n.situacao == SITUACAO_NOTIFICADO
        assert n.data_notificacao == T0 + timedelta(minutes=15)
        assert [a.numero for a in s2.attempts(tx)] == [0, 1, 2, 3]
        assert s2.call(s2.sim.preferences.destino, PERFIL, "CONTRATO.VALIDADO") == receiver.url

"""CCEE's retry rule end to end: a real receiver on loopback, the results over SOAP (zeep).

Rule (simulator/retry.py, our reading of CCEE's guide): attempt k is due at dataOrigem +
k × 5 min while k × 5 min ≤ 24 h, so with the first attempt at once k = 0…288: 289 attempts
(the first send + 288 retries), then EXPIRADO. Most tests here set the first-attempt delay to
0 (sim_helpers); the last ones run the default, 9 min 30 s as in CCEE's recorded results.
"""

from __future__ import annotations

import time
from datetime import timedelta

from support.simulator import PERFIL, T0, Clients, ScriptedReceiver, make_config

from ccee.contract import SITUACAO_AGUARDANDO, SITUACAO_EXPIRADO, SITUACAO_NOTIFICADO
from ccee.mensagem import decode_mensagem
from simulator.knobs import DEFAULT_FIRST_ATTEMPT_DELAY_S, DeliverySettings
from simulator.retry import CCEE_RETRY, RedeliveryRule
from simulator.server import RunningSimulator, run_simulator
from simulator.timefmt import soap_timestamp

FIVE = timedelta(minutes=5)


def _only_result(clients: Clients, tx: str) -> object:
    resp = clients.resultados_page(transaction_id=tx)
    assert resp.header.paginacao.quantidadeTotalItens == 1
    return resp.body.resultadosNotificacao.resultadoNotificacao[0]


def test_attempt_count_is_derived_from_the_rule() -> None:
    assert CCEE_RETRY.max_attempts == 289
    assert CCEE_RETRY.deadline(T0) - T0 == timedelta(hours=24)


def test_receiver_down_then_back_is_notified_with_the_right_time(
    sim: RunningSimulator, receiver: ScriptedReceiver, clients: Clients
) -> None:
    sim.subscribe(PERFIL, "CONTRATO.REGISTRADO", receiver.url)
    receiver.down()  # port closed: connection refused
    (tx,) = sim.inject("CONTRATO.REGISTRADO")

    # Two CCEE hours down: attempts at +0, +5, …, +120 min, all refused.
    sim.fast_forward(timedelta(hours=2))
    attempts = sim.attempts(tx)
    assert len(attempts) == 25
    assert [a.agendada_em for a in attempts] == [T0 + k * FIVE for k in range(25)]
    assert [a.enviada_em for a in attempts] == [T0 + k * FIVE for k in range(25)]
    assert all(a.status_http is None and a.erro for a in attempts)
    row = _only_result(clients, tx)
    assert row.situacao.nome == SITUACAO_AGUARDANDO
    assert row.dataNotificacao is None

    # Still down 4 minutes later: no attempt is due, none is made.
    sim.fast_forward(timedelta(minutes=4))
    assert len(sim.attempts(tx)) == 25

    receiver.up()  # back on the same port
    sim.fast_forward(timedelta(minutes=6))
    assert receiver.count == 1
    delivered = T0 + 25 * FIVE  # the 26th attempt, at +125 min
    row = _only_result(clients, tx)
    assert row.situacao.nome == SITUACAO_NOTIFICADO
    assert row.dataNotificacao == soap_timestamp(delivered)
    assert row.dataOrigem == soap_timestamp(T0)
    assert row.participanteMercado.codigo == "666"
    assert row.preferenciaNotificacao.enderecoDestino == receiver.url
    assert row.preferenciaNotificacao.eventoNotificacao.codigo == "CONTRATO.REGISTRADO"
    msg = decode_mensagem(receiver.requests[0].body)
    assert msg.transactionId == tx  # the same id as the refused attempts
    assert receiver.requests[0].content_type == "application/json"

    # Nothing more is sent after the 201.
    sim.fast_forward(timedelta(hours=1))
    assert receiver.count == 1


def test_retries_every_five_minutes_until_201(
    sim: RunningSimulator, receiver: ScriptedReceiver
) -> None:
    receiver.respond = lambda n: 503 if n < 7 else 201
    sim.subscribe(PERFIL, "MONTANTE_ENERGIA.VALIDADO", receiver.url)
    (tx,) = sim.inject("MONTANTE_ENERGIA.VALIDADO")
    sim.fast_forward(timedelta(hours=3))
    assert receiver.count == 8
    ids = {decode_mensagem(r.body).transactionId for r in receiver.requests}
    assert ids == {tx}
    statuses = [a.status_http for a in sim.attempts(tx)]
    assert statuses == [503] * 7 + [201]
    n = sim.notification(tx)
    assert n is not None and n.situacao == SITUACAO_NOTIFICADO
    assert n.data_notificacao == T0 + 7 * FIVE


def test_down_for_more_than_24_hours_expires_after_exactly_289_attempts(
    sim: RunningSimulator, receiver: ScriptedReceiver, clients: Clients
) -> None:
    receiver.respond = lambda n: 503
    sim.subscribe(PERFIL, "CONTRATO.VALIDADO", receiver.url)
    (tx,) = sim.inject("CONTRATO.VALIDADO")

    sim.fast_forward(timedelta(hours=23, minutes=59))
    assert receiver.count == 288  # +0 … +23h55
    assert sim.notification(tx).situacao == SITUACAO_AGUARDANDO  # type: ignore[union-attr]

    sim.fast_forward(timedelta(hours=2))
    assert receiver.count == 289  # the last one at exactly +24h
    attempts = sim.attempts(tx)
    assert attempts[-1].agendada_em == T0 + timedelta(hours=24)
    assert [a.agendada_em for a in attempts] == [T0 + k * FIVE for k in range(289)]
    row = _only_result(clients, tx)
    assert row.situacao.nome == SITUACAO_EXPIRADO
    assert row.dataNotificacao is None
    expired = clients.resultados_page(situacao=SITUACAO_EXPIRADO)
    assert [r.transactionId for r in expired.body.resultadosNotificacao.resultadoNotificacao] == [
        tx
    ]


def test_free_running_clock_counts_the_same(tmp_path: object, receiver: ScriptedReceiver) -> None:
    """With time flowing (5 CCEE minutes ≈ 5 ms real), the count is still exactly 289
    and a receiver that recovers is NOTIFICADO."""
    receiver.respond = lambda n: 503
    with run_simulator(make_config(tmp_path, time_scale=60_000.0)) as s:
        s.subscribe(PERFIL, "CONTRATO.CANCELADO", receiver.url)
        (tx,) = s.inject("CONTRATO.CANCELADO")
        deadline = time.monotonic() + 60
        while s.notification(tx).situacao != SITUACAO_EXPIRADO:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "did not expire in time"
            s.wait_idle()
            time.sleep(0.02)
        assert receiver.count == 289
        attempts = s.attempts(tx)
        assert len(attempts) == 289
        n = s.notification(tx)
        assert n is not None and n.encerrado_em is not None
        assert n.encerrado_em >= n.data_origem + timedelta(hours=24)
        for a in attempts:  # never early, and on the 5-minute grid
            assert a.enviada_em >= a.agendada_em
            assert a.agendada_em == n.data_origem + a.numero * FIVE


DELAY = timedelta(seconds=DEFAULT_FIRST_ATTEMPT_DELAY_S)


def test_first_attempt_delay_arithmetic() -> None:
    # CCEE's recorded results: dataNotificacao 9 min 23 s to 10 min 3 s after dataOrigem
    assert timedelta(minutes=9) < DELAY < timedelta(minutes=10)
    assert CCEE_RETRY.due(T0, 0, DELAY) == T0 + DELAY
    assert CCEE_RETRY.due(T0, 1, DELAY) == T0 + 2 * FIVE  # the next grid slot after it
    assert CCEE_RETRY.attempts(DELAY) == 288  # slots 0 and 1 are replaced by the first attempt
    assert CCEE_RETRY.deadline(T0, DELAY) == T0 + timedelta(hours=24)
    assert CCEE_RETRY.attempts(FIVE * 2) == 287  # on a slot: the retries start at the next
    assert CCEE_RETRY.due(T0, 1, FIVE * 2) == T0 + 3 * FIVE
    assert CCEE_RETRY.attempts(timedelta(hours=24)) == 1
    assert RedeliveryRule(window=timedelta(minutes=12)).attempts(DELAY) == 1 + 1  # +9:30, +10


def test_default_first_attempt_comes_after_ccees_recorded_delay(
    tmp_path: object, receiver: ScriptedReceiver, clients: Clients
) -> None:
    with run_simulator(make_config(tmp_path, delivery=DeliverySettings())) as s:
        assert s.stats()["dispatcher"]["first_attempt_delay_s"] == DEFAULT_FIRST_ATTEMPT_DELAY_S
        s.subscribe(PERFIL, "CONTRATO.REGISTRADO", receiver.url)
        (tx,) = s.inject("CONTRATO.REGISTRADO")
        s.fast_forward(timedelta(minutes=9))
        assert receiver.count == 0  # nothing yet at +9 min
        s.fast_forward(timedelta(minutes=1))
        assert receiver.count == 1
        n = s.notification(tx)
        assert n is not None and n.situacao == SITUACAO_NOTIFICADO
        assert n.data_notificacao == T0 + DELAY


def test_with_the_default_delay_retries_stay_on_the_grid_and_expire_at_24h(
    tmp_path: object, receiver: ScriptedReceiver
) -> None:
    receiver.respond = lambda n: 503
    with run_simulator(make_config(tmp_path, delivery=DeliverySettings())) as s:
        assert s.stats()["dispatcher"]["max_attempts"] == 288
        s.subscribe(PERFIL, "CONTRATO.VALIDADO", receiver.url)
        (tx,) = s.inject("CONTRATO.VALIDADO")
        s.fast_forward(timedelta(hours=25))
        attempts = s.attempts(tx)
        assert [a.agendada_em for a in attempts] == [T0 + DELAY] + [
            T0 + k * FIVE for k in range(2, 289)
        ]
        assert receiver.count == 288
        assert s.notification(tx).situacao == SITUACAO_EXPIRADO  # type: ignore[union-attr]


def test_delivery_delay_is_a_run_time_knob_over_the_admin_api(
    tmp_path: object, receiver: ScriptedReceiver
) -> None:
    import httpx

    with run_simulator(make_config(tmp_path)) as s:
        assert httpx.get(f"{s.url}/admin/delivery").json() == {"first_attempt_delay_s": 0.0}
        r = httpx.put(f"{s.url}/admin/delivery", json={"first_attempt_delay_s": 600})
        assert r.status_code == 200 and r.json() == {"first_attempt_delay_s": 600.0}
        bad = httpx.put(f"{s.url}/admin/delivery", json={"first_attempt_delay_s": -1})
        assert bad.status_code == 400
        s.subscribe(PERFIL, "CONTRATO.REGISTRADO", receiver.url)
        (tx,) = s.inject("CONTRATO.REGISTRADO")
        s.fast_forward(timedelta(minutes=11))
        n = s.notification(tx)
        assert n is not None and n.data_notificacao == T0 + 2 * FIVE


def test_fast_forward_in_ticks_keeps_the_retry_rule(
    sim: RunningSimulator, receiver: ScriptedReceiver
) -> None:
    """Ticks (the demo's history replay): each attempt goes out at the end of the tick that
    holds its due time, never before it and less than a tick after; still 289 attempts."""
    tick = timedelta(minutes=7)
    receiver.respond = lambda n: 503
    sim.subscribe(PERFIL, "CONTRATO.VALIDADO", receiver.url)
    (tx,) = sim.inject("CONTRATO.VALIDADO")
    sim.fast_forward(timedelta(hours=25), tick=tick)
    attempts = sim.attempts(tx)
    assert [a.agendada_em for a in attempts] == [T0 + k * FIVE for k in range(289)]
    assert all(a.agendada_em <= a.enviada_em < a.agendada_em + tick for a in attempts[1:])
    assert all((a.enviada_em - T0) % tick == timedelta(0) for a in attempts[1:])
    assert receiver.count == 289
    assert sim.notification(tx).situacao == SITUACAO_EXPIRADO  # type: ignore[union-attr]

"""The project's own client (ccee.client.CCEEClient) against the running simulator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.simulator import PASSWORD, PERFIL, T0, USER, ScriptedReceiver

from ccee.client import CCEEClient
from ccee.config import Profile, Secret
from ccee.contract import MSG_ATUALIZADA, MSG_EXCLUIDA, MSG_INCLUIDA, SITUACAO_NOTIFICADO
from ccee.errors import AuthError, CCEEFault
from simulator.event_catalog import DEFAULT_CODES
from simulator.server import RunningSimulator


def _client(sim: RunningSimulator, password: str = PASSWORD) -> CCEEClient:
    profile = Profile(
        name="sim", codigo=PERFIL, url=sim.url, username=USER, password=Secret(password)
    )
    return CCEEClient(profile, timeout=10.0, retries=1)


def test_every_operation_through_the_project_client(
    sim: RunningSimulator, receiver: ScriptedReceiver
) -> None:
    with _client(sim) as c:
        assert sorted(e.codigo for e in c.listar_eventos()) == sorted(DEFAULT_CODES)
        assert [e.evento for e in c.listar_eventos(entidade="MONTANTE_ENERGIA")] == [
            "AJUSTADO", "VALIDADO",
        ]
        assert c.incluir_preferencia("CONTRATO.REGISTRADO", "https://x.example/a") == MSG_INCLUIDA
        assert c.atualizar_preferencia("CONTRATO.REGISTRADO", receiver.url) == MSG_ATUALIZADA
        assert c.incluir_preferencia("CONTRATO.FINALIZADO", "https://x.example/f") == MSG_INCLUIDA
        prefs = list(c.listar_preferencias(page_size=1))  # two pages of one
        assert [(p.evento_notificacao, p.endereco_destino) for p in prefs] == [
            ("CONTRATO.FINALIZADO", "https://x.example/f"),
            ("CONTRATO.REGISTRADO", receiver.url),
        ]
        assert c.excluir_preferencia("CONTRATO.FINALIZADO") == MSG_EXCLUIDA
        with pytest.raises(CCEEFault) as missing:
            c.excluir_preferencia("CONTRATO.FINALIZADO")
        assert missing.value.error_code == "3001"

        ids = [sim.inject("CONTRATO.REGISTRADO")[0] for _ in range(5)]
        sim.fast_forward(timedelta(minutes=1))
        results = list(c.listar_resultados(evento="CONTRATO.REGISTRADO", page_size=2))
        assert [r.transaction_id for r in results] == ids
        assert {r.situacao for r in results} == {SITUACAO_NOTIFICADO}
        assert all(r.data_notificacao == T0 and r.data_origem == T0 for r in results)
        assert all(r.participante_mercado == "666" and not r.invalidos for r in results)
        pages = list(c.paginas_resultados(dia=T0.date(), page_size=2))
        assert [len(p.itens) for p in pages] == [2, 2, 1]
        assert pages[0].total_paginas == 3 and pages[0].quantidade_total_itens == 5

    with _client(sim, password="errada") as bad, pytest.raises(AuthError):
        bad.listar_eventos()

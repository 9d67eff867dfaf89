"""The SOAP face: every operation through zeep on the project WSDL the simulator serves,
CCEE's recorded request envelopes accepted verbatim, faults in CCEE's shape."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import zeep.exceptions
from lxml import etree
from support.simulator import PASSWORD, PERFIL, T0, USER, Clients, ScriptedReceiver, headers

from ccee.contract import (
    MSG_ATUALIZADA,
    MSG_EXCLUIDA,
    MSG_INCLUIDA,
    NS_FM,
    NS_MH,
    NS_SOAPENV,
    SITUACAO_AGUARDANDO,
    SITUACAO_NOTIFICADO,
    validate_envelope,
)
from ccee.faults import parse_fault
from simulator.event_catalog import DEFAULT_CODES
from simulator.knobs import FailPage, FaultSettings
from simulator.server import RunningSimulator

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "soap"
PREFS = "PreferenciaNotificacaoBSv2"


def _fault_detail(exc: zeep.exceptions.Fault) -> tuple[str, str]:
    fm = exc.detail[0]
    return fm.findtext(f"{{{NS_FM}}}errorCode"), fm.findtext(f"{{{NS_FM}}}message")


def test_listar_eventos_filters_and_paginates(clients: Clients) -> None:
    svc = clients.eventos.service
    r = svc.listarEventoNotificacao(_soapheaders=headers(1, 50))
    codes = [e.codigo for e in r.body.eventosNotificacao.eventoNotificacao]
    assert codes == sorted(DEFAULT_CODES)
    assert r.header.paginacao.quantidadeTotalItens == len(DEFAULT_CODES)

    r = svc.listarEventoNotificacao(entidade={"nome": "MONTANTE_ENERGIA"}, _soapheaders=headers())
    items = r.body.eventosNotificacao.eventoNotificacao
    assert [(e.entidade.nome, e.evento.nome) for e in items] == [
        ("MONTANTE_ENERGIA", "AJUSTADO"),
        ("MONTANTE_ENERGIA", "VALIDADO"),
    ]
    # Page 3 of 4-item pages over 10 codes holds 2: quantidadeItens counts the page.
    r = svc.listarEventoNotificacao(_soapheaders=headers(3, 4))
    pag = r.header.paginacao
    assert (pag.numero, pag.quantidadeItens, pag.totalPaginas, pag.quantidadeTotalItens) == (
        3, 2, 3, 10,
    )
    assert [e.codigo for e in r.body.eventosNotificacao.eventoNotificacao] == codes[8:]
    assert r.header.messageHeader.transactionId  # a fresh id per response


def test_preference_lifecycle_with_ccee_messages_and_faults(clients: Clients) -> None:
    svc = clients.preferencias.service

    def pref(code: str, url: str | None = None) -> dict[str, object]:
        p: dict[str, object] = {"eventoNotificacao": {"codigo": code}}
        if url is not None:
            p["enderecoDestino"] = url
        return p

    url1, url2 = "https://agente.example/cb/1", "https://agente.example/cb/2"
    r = svc.incluirPreferenciaNotificacao(pref("CONTRATO.REGISTRADO", url1), _soapheaders=headers())
    assert r.body.mensagem.descricao == MSG_INCLUIDA
    svc.incluirPreferenciaNotificacao(pref("CONTRATO.VALIDADO", url1), _soapheaders=headers())

    with pytest.raises(zeep.exceptions.Fault) as dup:
        svc.incluirPreferenciaNotificacao(pref("CONTRATO.REGISTRADO", url2), _soapheaders=headers())
    assert dup.value.code == "Server.3006"
    assert "Já existe" in _fault_detail(dup.value)[1]

    r = svc.atualizarPreferenciaNotificacao(
        pref("CONTRATO.REGISTRADO", url2), _soapheaders=headers()
    )
    assert r.body.mensagem.descricao == MSG_ATUALIZADA

    r = svc.listarPreferenciaNotificacao(_soapheaders=headers(1, 1))
    assert r.header.paginacao.quantidadeItens == 1
    assert r.header.paginacao.totalPaginas == 2
    assert r.header.paginacao.quantidadeTotalItens == 2
    first = r.body.preferencias.preferenciaNotificacao[0]
    assert (first.eventoNotificacao.codigo, first.enderecoDestino) == ("CONTRATO.REGISTRADO", url2)
    assert first.eventoNotificacao.entidade.nome == "CONTRATO"

    r = svc.excluirPreferenciaNotificacao(pref("CONTRATO.REGISTRADO"), _soapheaders=headers())
    assert r.body.mensagem.descricao == MSG_EXCLUIDA
    for op in (svc.excluirPreferenciaNotificacao, svc.atualizarPreferenciaNotificacao):
        with pytest.raises(zeep.exceptions.Fault) as missing:
            op(pref("CONTRATO.REGISTRADO", url1), _soapheaders=headers())
        assert missing.value.code == "Server.3001"
    with pytest.raises(zeep.exceptions.Fault) as unknown:
        svc.incluirPreferenciaNotificacao(
            pref("CONTRATO.INEXISTENTE", url1), _soapheaders=headers()
        )
    assert _fault_detail(unknown.value)[0] == "3006"
    with pytest.raises(zeep.exceptions.Fault) as bad_url:
        svc.incluirPreferenciaNotificacao(
            pref("CONTRATO.CONCLUIDO", "ftp://x"), _soapheaders=headers()
        )
    assert _fault_detail(bad_url.value)[0] == "3006"

    r = svc.listarPreferenciaNotificacao(_soapheaders=headers(1, 50))
    assert [p.eventoNotificacao.codigo for p in r.body.preferencias.preferenciaNotificacao] == [
        "CONTRATO.VALIDADO"
    ]


@pytest.mark.parametrize(
    "auth",
    [{"password": "errada"}, {"username": "outro"}, {"perfil": "9999"}],
    ids=["bad-password", "bad-user", "foreign-perfil"],
)
def test_security_fault_2001(clients: Clients, auth: dict[str, str]) -> None:
    with pytest.raises(zeep.exceptions.Fault) as exc:
        clients.eventos.service.listarEventoNotificacao(_soapheaders=headers(**auth))
    assert exc.value.code == "Server.2001"
    assert exc.value.detail[0].tag == f"{{{NS_FM}}}securityFault"
    code, message = _fault_detail(exc.value)
    assert (code, message) == (
        "2001", "Rejected: Usuario nao esta autorizado a usar o codigoPerfilAgente."
    )
    assert PASSWORD not in message


def _sample(name: str) -> bytes:
    text = (SAMPLES / name).read_text(encoding="utf-8")
    text = text.replace("{{AuthCodigoPerfilAgente}}", PERFIL)
    text = text.replace("{{AuthUsername}}", USER).replace("{{AuthPassword}}", PASSWORD)
    return text.encode()


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        ("EventoNotificacaoBSv2", "listarEventoNotificacao"),
        ("PreferenciaNotificacaoBSv2", "incluirPreferenciaNotificacao"),
        ("PreferenciaNotificacaoBSv2", "listarPreferenciaNotificacao"),
        ("PreferenciaNotificacaoBSv2", "atualizarPreferenciaNotificacao"),
        ("PreferenciaNotificacaoBSv2", "excluirPreferenciaNotificacao"),
        ("ResultadoNotificacaoBSv2", "listarResultadoNotificacao"),
    ],
)
def test_ccee_sample_requests_get_ccee_shaped_answers(
    sim: RunningSimulator, service: str, operation: str
) -> None:
    """CCEE's own recorded requests (comments, empty filters and all) are accepted, and the
    answers follow the recorded responses' shape and the project XSD."""
    if operation in ("atualizarPreferenciaNotificacao", "excluirPreferenciaNotificacao"):
        sim.subscribe(PERFIL, "CONTRATO.REGISTRADO", "https://x.example/cb")
    resp = httpx.post(
        sim.service_url(service),
        content=_sample(f"{operation}.request.xml"),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": operation},
        trust_env=False,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/xml")
    validate_envelope(resp.content)
    root = etree.fromstring(resp.content)
    assert root.nsmap["hdr"] == NS_MH
    mh = root.find(f"{{{NS_SOAPENV}}}Header/{{{NS_MH}}}messageHeader")
    assert mh is not None and mh.findtext(f"{{{NS_MH}}}transactionId")
    versao = mh.find(f"{{{NS_MH}}}versao")
    assert versao is not None
    assert versao.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
    pag = root.find(f"{{{NS_SOAPENV}}}Header/{{{NS_MH}}}paginacao")
    assert (pag is not None) == operation.startswith("listar")


def test_invalid_envelope_is_a_ccee_fault(sim: RunningSimulator) -> None:
    bad = _sample("listarEventoNotificacao.request.xml").replace(
        b"<bmv2:entidade>", b"<bmv2:intruso/><bmv2:entidade>"
    )
    resp = httpx.post(sim.service_url("EventoNotificacaoBSv2"), content=bad, trust_env=False)
    assert resp.status_code == 500
    assert resp.headers["content-type"].startswith("text/xml")
    validate_envelope(resp.content)
    assert b"<faultcode>Server.3006</faultcode>" in resp.content
    fault = parse_fault(resp.content)
    assert fault is not None and fault.uri == "/ws/v2/EventoNotificacaoBSv2"
    assert "intruso" in fault.message and PASSWORD not in resp.text

    garbage = httpx.post(sim.service_url(PREFS), content=b"<not xml", trust_env=False)
    assert garbage.status_code == 500 and parse_fault(garbage.content) is not None

    wrong_service = httpx.post(
        sim.service_url("ResultadoNotificacaoBSv2"),
        content=_sample("listarEventoNotificacao.request.xml"),
        trust_env=False,
    )
    assert wrong_service.status_code == 500
    assert b"Server.2001" in wrong_service.content


def test_wsdl_points_at_the_simulator(sim: RunningSimulator) -> None:
    resp = httpx.get(sim.wsdl_url(PREFS), trust_env=False)
    assert resp.status_code == 200
    assert f'location="{sim.url}/ws/v2/{PREFS}"'.encode() in resp.content
    assert httpx.get(f"{sim.url}/ws/v2/BO-v2.xsd", trust_env=False).status_code == 200
    assert httpx.get(f"{sim.url}/ws/v2/nada.xsd", trust_env=False).status_code == 404


def test_listar_resultados_filters_and_paginates(
    sim: RunningSimulator, receiver: ScriptedReceiver, clients: Clients
) -> None:
    receiver.respond = lambda n: 201
    sim.subscribe(PERFIL, "CONTRATO.REGISTRADO", receiver.url)
    sim.subscribe(PERFIL, "CONTRATO.VALIDADO", receiver.url)
    # T0 is 10:00 in São Paulo on 2026-11-27; 14 h later it is the 28th there.
    day1 = [sim.inject("CONTRATO.REGISTRADO")[0] for _ in range(3)]
    day1 += sim.inject("CONTRATO.VALIDADO")
    sim.fast_forward(timedelta(hours=14))
    receiver.respond = lambda n: 503
    day2 = [sim.inject("CONTRATO.REGISTRADO")[0] for _ in range(2)]
    sim.fast_forward(timedelta(minutes=1))

    r = clients.resultados_page(1, 2, evento="CONTRATO.REGISTRADO", dia="2026-11-27")
    pag = r.header.paginacao
    assert (pag.quantidadeItens, pag.totalPaginas, pag.quantidadeTotalItens) == (2, 2, 3)
    page2 = clients.resultados_page(2, 2, evento="CONTRATO.REGISTRADO", dia="2026-11-27")
    assert page2.header.paginacao.quantidadeItens == 1
    got = [x.transactionId for x in r.body.resultadosNotificacao.resultadoNotificacao]
    got += [x.transactionId for x in page2.body.resultadosNotificacao.resultadoNotificacao]
    assert got == day1[:3]

    waiting = clients.resultados_page(situacao=SITUACAO_AGUARDANDO)
    items = waiting.body.resultadosNotificacao.resultadoNotificacao
    assert {x.transactionId for x in items} == set(day2)
    notified = clients.resultados_page(situacao=SITUACAO_NOTIFICADO, dia="2026-11-27")
    assert notified.header.paginacao.quantidadeTotalItens == 4
    assert clients.resultados_page(dia="2026-11-28").header.paginacao.quantidadeTotalItens == 2
    one = clients.resultados_page(transaction_id=day1[3])
    item = one.body.resultadosNotificacao.resultadoNotificacao[0]
    assert item.preferenciaNotificacao.eventoNotificacao.codigo == "CONTRATO.VALIDADO"
    assert item.dataOrigem == "2026-11-27T13:00:00Z"
    assert T0.hour == 13
    empty = clients.resultados_page(dia="2030-01-01")
    assert empty.header.paginacao.quantidadeTotalItens == 0
    assert empty.header.paginacao.totalPaginas == 0

    with pytest.raises(zeep.exceptions.Fault) as beyond:
        clients.resultados_page(9, 2, evento="CONTRATO.REGISTRADO", dia="2026-11-27")
    assert beyond.value.code == "Server.3001"


def test_fault_knobs_page_failure_latency_and_malformed(
    sim: RunningSimulator, clients: Clients
) -> None:
    sim.set_faults(FaultSettings(fail_page=FailPage("listarEventoNotificacao", 2, vezes=1)))
    svc = clients.eventos.service
    svc.listarEventoNotificacao(_soapheaders=headers(1, 4))
    with pytest.raises(zeep.exceptions.Fault) as exc:
        svc.listarEventoNotificacao(_soapheaders=headers(2, 4))
    assert exc.value.code == "Server.4001"
    assert exc.value.detail[0].tag == f"{{{NS_FM}}}unexpectedTechnicalFault"
    again = svc.listarEventoNotificacao(_soapheaders=headers(2, 4))  # only once
    assert again.header.paginacao.quantidadeItens == 4

    sim.set_faults(FaultSettings(soap_malformed_rate=1.0))
    resp = httpx.post(
        sim.service_url("EventoNotificacaoBSv2"),
        content=_sample("listarEventoNotificacao.request.xml"),
        trust_env=False,
    )
    assert resp.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(resp.content)

    sim.set_faults(FaultSettings(soap_error_rate=1.0))
    with pytest.raises(zeep.exceptions.Fault):
        svc.listarEventoNotificacao(_soapheaders=headers())
    sim.set_faults(FaultSettings())
    svc.listarEventoNotificacao(_soapheaders=headers())

"""Writing BSv2 response envelopes the way CCEE's recorded responses look.

`hdr:` prefix for MH, `messageHeader` with a fresh transactionId and `versao xsi:nil`,
`paginacao` (numero, quantidadeItens = items on this page, totalPaginas,
quantidadeTotalItens) on list operations, and a body element declaring `bov2`/`bmv2`.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from lxml import etree

from ccee.contract import NS_BM, NS_BO, NS_MH, NS_SOAPENV, NS_XSI, Operation
from ccee.mensagem import EventCode
from simulator.ledger import Notificacao
from simulator.preferences import Preferencia
from simulator.timefmt import soap_timestamp


class Paginacao(msgspec.Struct, frozen=True):
    numero: int
    quantidade_itens: int
    total_paginas: int
    quantidade_total_itens: int


def _sub(parent: etree._Element, ns: str, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        el.text = text
    return el


def envelope(
    op: Operation, transaction_id: str, pagina: Paginacao | None
) -> tuple[etree._Element, etree._Element]:
    """(envelope, response element) with CCEE's header; the caller fills the response."""
    root = etree.Element(
        f"{{{NS_SOAPENV}}}Envelope", nsmap={"hdr": NS_MH, "soapenv": NS_SOAPENV, "xsi": NS_XSI}
    )
    header = _sub(root, NS_SOAPENV, "Header")
    mh = _sub(header, NS_MH, "messageHeader")
    _sub(mh, NS_MH, "transactionId", transaction_id)
    _sub(mh, NS_MH, "versao").set(f"{{{NS_XSI}}}nil", "true")
    if pagina is not None:
        pag = _sub(header, NS_MH, "paginacao")
        _sub(pag, NS_MH, "numero", str(pagina.numero))
        _sub(pag, NS_MH, "quantidadeItens", str(pagina.quantidade_itens))
        _sub(pag, NS_MH, "totalPaginas", str(pagina.total_paginas))
        _sub(pag, NS_MH, "quantidadeTotalItens", str(pagina.quantidade_total_itens))
    body = _sub(root, NS_SOAPENV, "Body")
    resp = etree.SubElement(
        body, f"{{{NS_BM}}}{op.response_element}", nsmap={"bov2": NS_BO, "bmv2": NS_BM}
    )
    return root, resp


def serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _evento(parent: etree._Element, ec: EventCode) -> None:
    ev = _sub(parent, NS_BO, "eventoNotificacao")
    _sub(ev, NS_BO, "codigo", ec.codigo)
    _sub(_sub(ev, NS_BO, "entidade"), NS_BO, "nome", ec.entidade)
    _sub(_sub(ev, NS_BO, "evento"), NS_BO, "nome", ec.evento)


def fill_eventos(resp: etree._Element, eventos: Iterable[EventCode]) -> None:
    lista = _sub(resp, NS_BM, "eventosNotificacao")
    for ec in eventos:
        _evento(lista, ec)


def fill_mensagem(resp: etree._Element, descricao: str) -> None:
    _sub(_sub(resp, NS_BM, "mensagem"), NS_BO, "descricao", descricao)


def _preferencia(parent: etree._Element, destino: str, ec: EventCode) -> None:
    pref = _sub(parent, NS_BO, "preferenciaNotificacao")
    _sub(pref, NS_BO, "enderecoDestino", destino)
    _evento(pref, ec)


def fill_preferencias(resp: etree._Element, prefs: Iterable[tuple[Preferencia, EventCode]]) -> None:
    lista = _sub(resp, NS_BM, "preferencias")
    for pref, ec in prefs:
        _preferencia(lista, pref.endereco_destino, ec)


def fill_resultados(
    resp: etree._Element,
    resultados: Iterable[tuple[Notificacao, EventCode]],
) -> None:
    """Results in the recorded element order; `dataNotificacao` omitted while not delivered."""
    lista = _sub(resp, NS_BM, "resultadosNotificacao")
    for n, ec in resultados:
        item = _sub(lista, NS_BO, "resultadoNotificacao")
        if n.data_notificacao is not None:
            _sub(item, NS_BO, "dataNotificacao", soap_timestamp(n.data_notificacao))
        _sub(item, NS_BO, "dataOrigem", soap_timestamp(n.data_origem))
        _sub(_sub(item, NS_BO, "participanteMercado"), NS_BO, "codigo", n.participante_mercado)
        _preferencia(item, n.endereco_destino, ec)
        _sub(_sub(item, NS_BO, "situacao"), NS_BO, "nome", n.situacao)
        _sub(item, NS_BO, "transactionId", n.transaction_id)


def paginate(total: int, numero: int, tamanho: int, on_page: int) -> Paginacao:
    total_paginas = (total + tamanho - 1) // tamanho
    return Paginacao(numero, on_page, total_paginas, total)

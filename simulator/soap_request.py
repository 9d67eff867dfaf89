"""Reading a BSv2 request envelope: which operation, who is calling, which page, which fields.

The envelope is first checked against the project's XSD (`ccee.contract.validate_envelope`),
so the code below reads a document whose shape is already known.
"""

from __future__ import annotations

import msgspec
from lxml import etree

from ccee.contract import (
    NS_BM,
    NS_BO,
    NS_MH,
    NS_SOAPENV,
    NS_WSSE,
    ContractViolation,
    Operation,
    operation_for,
    parse_envelope,
    safe_parser,
    validate_envelope,
)
from simulator.soap_errors import FaultKind, SimFault

#: Largest page a caller may ask for (CCEE's samples use 5 to 100).
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


class SoapRequest(msgspec.Struct):
    operation: Operation
    username: str
    password: str
    perfil: str
    pagina: int
    tamanho_pagina: int
    body: etree._Element


def _redact(message: str, data: bytes) -> str:
    """Schema messages may quote values: never echo the WS-Security password back."""
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError:
        return message
    for el in root.iter(f"{{{NS_WSSE}}}Password"):
        if el.text and el.text.strip():
            message = message.replace(el.text.strip(), "***")
    return message


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def parse_request(data: bytes, service: str) -> SoapRequest:
    """Validate and read a request for `service`; raises SimFault with CCEE's fault kind."""
    try:
        root = parse_envelope(data)
        validate_envelope(root)
    except ContractViolation as exc:
        raise SimFault(FaultKind.SCHEMA, _redact("; ".join(exc.problems), data)[:2000]) from None
    body = root.find(f"{{{NS_SOAPENV}}}Body")
    children = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    if not children or children[0].tag == f"{{{NS_SOAPENV}}}Fault":
        raise SimFault(FaultKind.SCHEMA, "O corpo da requisição não contém uma operação.")
    op = operation_for(children[0])
    if op is None or op.request_element != etree.QName(children[0]).localname:
        raise SimFault(FaultKind.SCHEMA, f"Operação desconhecida: {children[0].tag}")
    if op.service != service:
        raise SimFault(FaultKind.SECURITY, "URI de entrada inválida")
    header = root.find(f"{{{NS_SOAPENV}}}Header")
    if header is None:
        header = etree.Element(f"{{{NS_SOAPENV}}}Header")
    token = header.find(f"{{{NS_WSSE}}}Security/{{{NS_WSSE}}}UsernameToken")
    pag = header.find(f"{{{NS_MH}}}paginacao")
    pagina, tamanho = 1, DEFAULT_PAGE_SIZE
    if pag is not None:
        pagina = int(_text(pag.find(f"{{{NS_MH}}}numero")))
        tamanho = int(_text(pag.find(f"{{{NS_MH}}}quantidadeItens")))
        if pagina < 1 or not 1 <= tamanho <= MAX_PAGE_SIZE:
            raise SimFault(
                FaultKind.INVALID_PARAMETERS,
                f"Paginação inválida: numero deve ser >= 1 e quantidadeItens entre 1 e "
                f"{MAX_PAGE_SIZE}. Verifique os parâmetros informados.",
            )
    return SoapRequest(
        operation=op,
        username=_text(token.find(f"{{{NS_WSSE}}}Username")) if token is not None else "",
        password=_text(token.find(f"{{{NS_WSSE}}}Password")) if token is not None else "",
        perfil=_text(header.find(f"{{{NS_MH}}}messageHeader/{{{NS_MH}}}codigoPerfilAgente")),
        pagina=pagina,
        tamanho_pagina=tamanho,
        body=children[0],
    )


def field(body: etree._Element, path: str) -> str | None:
    """Text at a `bm:a/bo:b` style path below the operation element; None when empty/absent.

    `path` uses `bm:` and `bo:` prefixes, e.g. `bm:eventoNotificacao/bo:codigo`.
    """
    el = body.find(path, namespaces={"bm": NS_BM, "bo": NS_BO})
    value = _text(el)
    return value or None

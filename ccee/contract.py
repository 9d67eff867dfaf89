"""The CCEE BSv2 notification contract: one source of truth for the client and the simulator.

CCEE publishes no BSv2 WSDL, so the WSDL/XSD in `ccee/wsdl/` were authored from CCEE's recorded
envelopes. This module names the services, operations, namespaces and fixed texts, and validates
whole SOAP envelopes block by block against that XSD, so both sides of the wire check the same
rules.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

NS_MH = "http://xmlns.energia.org.br/MH/v2"
NS_BM = "http://xmlns.energia.org.br/BM/v2"
NS_BO = "http://xmlns.energia.org.br/BO/v2"
NS_FM = "http://xmlns.energia.org.br/FM/v2"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"

#: The prefixes CCEE's own sample requests use (cosmetic; namespaces are what count).
NSMAP_REQUEST = {
    "soapenv": NS_SOAPENV,
    "mhv2": NS_MH,
    "oas": NS_WSSE,
    "bmv2": NS_BM,
    "bov2": NS_BO,
}

WSDL_DIR = Path(__file__).resolve().parent / "wsdl"
SCHEMA_PATH = WSDL_DIR / "contract.xsd"

PRODUCTION_URL = "https://servicos.ccee.org.br:443"
PILOT_URL = "https://piloto-servicos.ccee.org.br:443"

SITUACAO_NOTIFICADO = "NOTIFICADO"
SITUACAO_AGUARDANDO = "AGUARDANDO_NOTIFICACAO"
#: Ours: CCEE has not published the name of the end-by-expiry state.
SITUACAO_EXPIRADO = "EXPIRADO"

MSG_INCLUIDA = "Preferência de notificação incluída com sucesso"
MSG_ATUALIZADA = "Preferência de notificação atualizada com sucesso"
MSG_EXCLUIDA = "Preferência de notificação excluída com sucesso"

#: FM v2 fault elements (the `detail` child of a SOAP fault).
FAULT_ELEMENTS = (
    "securityFault",
    "invalidParametersFault",
    "noDataFoundFault",
    "unexpectedTechnicalFault",
    "unexpectedSchemaFault",
)

#: Header blocks a BSv2 envelope may carry, in the order CCEE's samples send them.
HEADER_ELEMENTS = (
    f"{{{NS_MH}}}messageHeader",
    f"{{{NS_WSSE}}}Security",
    f"{{{NS_MH}}}paginacao",
)


@dataclass(frozen=True)
class Service:
    """A BSv2 service: its name, URL path (under the base URL) and WSDL file."""

    name: str
    path: str
    wsdl_path: Path
    operations: tuple[str, ...]


@dataclass(frozen=True)
class Operation:
    """A BSv2 operation. SOAPAction is the operation name, unquoted, as in CCEE's samples."""

    name: str
    service: str
    request_element: str
    response_element: str
    paginated: bool

    @property
    def soap_action(self) -> str:
        return self.name


def _service(name: str, *operations: str) -> Service:
    return Service(name, f"/ws/v2/{name}", WSDL_DIR / f"{name}.wsdl", tuple(operations))


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        _service("EventoNotificacaoBSv2", "listarEventoNotificacao"),
        _service(
            "PreferenciaNotificacaoBSv2",
            "incluirPreferenciaNotificacao",
            "atualizarPreferenciaNotificacao",
            "excluirPreferenciaNotificacao",
            "listarPreferenciaNotificacao",
        ),
        _service("ResultadoNotificacaoBSv2", "listarResultadoNotificacao"),
    )
}

OPERATIONS: dict[str, Operation] = {
    op: Operation(
        name=op,
        service=svc.name,
        request_element=f"{op}Request",
        response_element=f"{op}Response",
        paginated=op.startswith("listar"),
    )
    for svc in SERVICES.values()
    for op in svc.operations
}

_BODY_ELEMENTS = {
    f"{{{NS_BM}}}{name}": op
    for op in OPERATIONS.values()
    for name in (op.request_element, op.response_element)
}


class ContractViolation(ValueError):
    """An envelope that does not follow the BSv2 contract; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("SOAP envelope violates the CCEE BSv2 contract: " + "; ".join(problems))


@functools.cache
def xml_schema() -> etree.XMLSchema:
    """The MH/BM/BO/FM v2 + wsse schema, compiled once (files only, no network)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))


def safe_parser() -> etree.XMLParser:
    """A parser for untrusted SOAP: no entities, no network, no DTD loading, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_envelope(xml: bytes | str | etree._Element) -> etree._Element:
    if isinstance(xml, etree._Element):
        return xml
    data = xml.encode() if isinstance(xml, str) else xml
    try:
        return etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise ContractViolation([f"not well-formed XML: {exc}"]) from exc


def operation_for(body_child: etree._Element | str) -> Operation | None:
    """The operation a BM request/response element (or its Clark name) belongs to."""
    tag = body_child if isinstance(body_child, str) else body_child.tag
    return _BODY_ELEMENTS.get(str(tag))


def _elements(parent: etree._Element) -> list[etree._Element]:
    return [c for c in parent if isinstance(c.tag, str)]


def _local(tag: str) -> str:
    return etree.QName(tag).localname


def _stray_text(el: etree._Element) -> bool:
    if el.text and el.text.strip():
        return True
    return any(c.tail and c.tail.strip() for c in el)


def _validate_block(el: etree._Element, where: str, problems: list[str]) -> None:
    schema = xml_schema()
    if schema.validate(el):
        return
    for err in list(schema.error_log):  # type: ignore[call-overload]
        problems.append(f"{where}: line {err.line}: {err.message}")


def _validate_fault(fault: etree._Element, problems: list[str]) -> None:
    children = {c.tag: c for c in _elements(fault)}
    for required in ("faultcode", "faultstring"):
        if required not in children:
            problems.append(f"Fault: missing {required}")
    for tag in children:
        if tag not in ("faultcode", "faultstring", "faultactor", "detail"):
            problems.append(f"Fault: unexpected element {tag}")
    detail = children.get("detail")
    if detail is None:
        return
    for child in _elements(detail):
        q = etree.QName(child)
        if q.namespace != NS_FM or q.localname not in FAULT_ELEMENTS:
            problems.append(f"Fault detail: unexpected element {child.tag}")
            continue
        _validate_block(child, f"Fault detail {q.localname}", problems)


def validate_envelope(xml: bytes | str | etree._Element) -> None:
    """Check a whole SOAP 1.1 envelope: its shape, each header block and the body child.

    Raises `ContractViolation` listing every problem found. Comments are ignored (CCEE's
    samples carry them). Accepts request, response and fault envelopes.
    """
    root = parse_envelope(xml)
    problems: list[str] = []
    if root.tag != f"{{{NS_SOAPENV}}}Envelope":
        raise ContractViolation([f"root element is {root.tag}, expected SOAP 1.1 Envelope"])
    children = _elements(root)
    names = [c.tag for c in children]
    header_tag, body_tag = f"{{{NS_SOAPENV}}}Header", f"{{{NS_SOAPENV}}}Body"
    if names not in ([header_tag, body_tag], [body_tag]):
        problems.append(f"Envelope must hold [Header] Body, found {[_local(n) for n in names]}")
    if _stray_text(root):
        problems.append("Envelope: unexpected text content")
    for child in children:
        if child.tag == header_tag:
            seen: set[str] = set()
            for block in _elements(child):
                if block.tag not in HEADER_ELEMENTS:
                    problems.append(f"Header: unknown block {block.tag}")
                    continue
                if block.tag in seen:
                    problems.append(f"Header: duplicate block {_local(block.tag)}")
                seen.add(block.tag)
                _validate_block(block, f"Header {_local(block.tag)}", problems)
        elif child.tag == body_tag:
            if _stray_text(child):
                problems.append("Body: unexpected text content")
            body = _elements(child)
            if len(body) != 1:
                problems.append(f"Body must hold exactly one element, found {len(body)}")
            for el in body:
                if el.tag == f"{{{NS_SOAPENV}}}Fault":
                    _validate_fault(el, problems)
                elif operation_for(el) is None:
                    problems.append(f"Body: unknown element {el.tag}")
                else:
                    _validate_block(el, f"Body {_local(el.tag)}", problems)
    if problems:
        raise ContractViolation(problems)
